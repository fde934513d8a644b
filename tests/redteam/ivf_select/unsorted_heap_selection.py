"""expect: wrong

Selects the nprobes nearest partitions with a bounded max-heap (Lance's own "TODO: use heap") and
returns them in heap order, unsorted: the right set, cheaper than a sort, but find_partitions
promises ascending distances (the search probes partitions in that order and prunes by it).
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


def find_partitions(query, centroids, nprobes, metric):
    # The metric is a Python string: dispatch here, so the jitted code never handles unicode.
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r}")


@njit(**JIT)
def find_partitions_l2(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            diff = query[d] - centroids[p, d]
            total += diff * diff
        dists[p] = total
    return take_smallest(dists, nprobes)


@njit(**JIT)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        dists[p] = np.float32(1.0) - total
    return take_smallest(dists, nprobes)


@njit(**JIT)
def take_smallest(dists, nprobes):
    # Lance's "TODO: use heap": keep the nprobes smallest in a max-heap, and return the heap as it
    # is, since the caller probes every selected partition anyway. Ascending order is lost.
    n = min(nprobes, dists.shape[0])
    heap = np.empty(n, dtype=np.int64)
    size = 0
    for p in range(dists.shape[0]):
        if size < n:
            i = size
            size += 1
            while i > 0 and dists[heap[(i - 1) // 2]] < dists[p]:
                heap[i] = heap[(i - 1) // 2]
                i = (i - 1) // 2
            heap[i] = p
        elif n > 0 and dists[p] < dists[heap[0]]:
            i = 0
            while True:
                child = 2 * i + 1
                if child >= n:
                    break
                if child + 1 < n and dists[heap[child + 1]] > dists[heap[child]]:
                    child += 1
                if dists[heap[child]] <= dists[p]:
                    break
                heap[i] = heap[child]
                i = child
            heap[i] = p
    return heap.astype(np.uint32), dists[heap]
