"""expect: wrong

Orders distances by an integer key of their bits (the radix sort's "total order" key: sign bit
flipped, negatives inverted) instead of comparing floats. The key agrees with float comparison
everywhere but at zero: -0.0 and +0.0 are equal distances, tied by row id, and the key puts every
-0.0 first. No case of inputs.py has a -0.0; the held-out numerics (autoresearch/heldout.py) mix
signed zeros and subnormals.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def key(d):
    """The float's bits as an unsigned key in float order (the radix-sort "total order" key)."""
    bits = np.uint32(np.array([d]).view(np.uint32)[0])
    if bits & np.uint32(0x80000000):
        return ~bits
    return bits | np.uint32(0x80000000)


@njit(**JIT)
def is_before(d1, r1, d2, r2):
    """(d1, r1) < (d2, r2) by integer keys: one compare per distance, no float compare."""
    k1, k2 = key(d1), key(d2)
    return k1 < k2 or (k1 == k2 and r1 < r2)


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
