"""ivf_select kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful, straightforward port of Lance's `kmeans_find_partitions`
(rust/lance-index/src/vector/kmeans.rs): the float32 distance from the query to every centroid,
then a sort of all of them (Lance: arrow `sort_to_indices` with a limit, which sorts everything
when nprobes == P, the usual v2 case) and the first nprobes ids with their distances.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}
# The distance sums are reductions: reassoc lets LLVM split each into SIMD lanes, contract fuses
# the multiply-adds (float32 sums in any order are within the tolerance).
DIST_JIT = {**JIT, "fastmath": {"reassoc": True, "contract": True}}


def find_partitions(query, centroids, nprobes, metric):
    # The metric is a Python string: dispatch here, so the jitted code never handles unicode.
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r}")


@njit(**DIST_JIT)
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


@njit(**DIST_JIT)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        dists[p] = np.float32(1.0) - total
    return take_smallest(dists, nprobes)


# Below this many candidates per kept id a full sort is as cheap as the insertion pass.
SELECT_RATIO = 2


@njit(**JIT)
def take_smallest(dists, nprobes):
    """The n smallest, ascending. Few of many (n * SELECT_RATIO <= P): one pass keeping the n best
    so far sorted by insertion (a new one enters only below the current n-th, rarely once the
    buffer is full); otherwise, or on a NaN, a full argsort."""
    total = dists.shape[0]
    n = min(nprobes, total)
    if n == 0 or n * SELECT_RATIO > total:
        order = np.argsort(dists)[:n]
        return order.astype(np.uint32), dists[order]
    best = np.empty(n, dtype=np.float32)
    ids = np.empty(n, dtype=np.uint32)
    count = 0
    for p in range(total):
        d = dists[p]
        if d != d:  # NaN: argsort's order (NaN last) is the contract's
            order = np.argsort(dists)[:n]
            return order.astype(np.uint32), dists[order]
        if count == n:
            if d >= best[n - 1]:
                continue
            j = n - 1
        else:
            j = count
            count += 1
        while j > 0 and best[j - 1] > d:
            best[j] = best[j - 1]
            ids[j] = ids[j - 1]
            j -= 1
        best[j] = d
        ids[j] = p
    return ids, best
