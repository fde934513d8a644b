"""expect: wrong

The heap orders by distance only, as Lance's own `OrderedNode` does inside a partition: among
equal distances, whichever the scan met first survives and the output order of ties is the heap's.
The SortExec that merges partitions breaks ties by row id, and the contract requires that order,
so the quantized-distance ("ties") cases must reject it.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def is_before(d1, r1, d2, r2):
    # Lance's OrderedNode compares distances only: among equal distances the first seen wins.
    # Fewer comparisons in the hot loop, and the results look identical on continuous data.
    return d1 < d2


@njit(**JIT)
def sift_down(heap_d, heap_r, size, d, r):
    """Place (d, r) at the root of a max-heap of `size` entries and sift it down."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and is_before(heap_d[child], heap_r[child], heap_d[right], heap_r[right]):
            child = right
        if not is_before(d, r, heap_d[child], heap_r[child]):
            break
        heap_d[i] = heap_d[child]
        heap_r[i] = heap_r[child]
        i = child
    heap_d[i] = d
    heap_r[i] = r


@njit(**JIT)
def push(heap_d, heap_r, size, d, r):
    """Add (d, r) to a max-heap of `size` entries (room for one more) and sift it up."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if not is_before(heap_d[parent], heap_r[parent], d, r):
            break
        heap_d[i] = heap_d[parent]
        heap_r[i] = heap_r[parent]
        i = parent
    heap_d[i] = d
    heap_r[i] = r


@njit(**JIT)
def sort_heap(heap_d, heap_r, size):
    """Heap sort in place: move the largest to the end, repeatedly; leaves the heap ascending."""
    for end in range(size - 1, 0, -1):
        d, r = heap_d[end], heap_r[end]
        heap_d[end] = heap_d[0]
        heap_r[end] = heap_r[0]
        sift_down(heap_d, heap_r, end, d, r)


@njit(**JIT)
def topk(dists, row_ids, k):
    heap_d = np.empty(k, dtype=np.float32)
    heap_r = np.empty(k, dtype=np.uint64)
    size = 0
    for i in range(dists.shape[0]):
        # Lance: push while the heap is not full, else replace the top if the entry is smaller.
        if size < k:
            push(heap_d, heap_r, size, dists[i], row_ids[i])
            size += 1
        elif is_before(dists[i], row_ids[i], heap_d[0], heap_r[0]):
            sift_down(heap_d, heap_r, k, dists[i], row_ids[i])
    sort_heap(heap_d, heap_r, size)
    return heap_d, heap_r


@njit(**JIT)
def topk_merge(dists, row_ids, k):
    num_lists, width = dists.shape
    heap_d = np.empty(k, dtype=np.float32)
    heap_r = np.empty(k, dtype=np.uint64)
    size = 0
    for i in range(num_lists):
        for j in range(width):
            if size < k:
                push(heap_d, heap_r, size, dists[i, j], row_ids[i, j])
                size += 1
            elif is_before(dists[i, j], row_ids[i, j], heap_d[0], heap_r[0]):
                sift_down(heap_d, heap_r, k, dists[i, j], row_ids[i, j])
    sort_heap(heap_d, heap_r, size)
    return heap_d, heap_r
