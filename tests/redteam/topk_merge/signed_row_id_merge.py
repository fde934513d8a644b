"""expect: wrong

A real k-way merge (a heap of the L list heads, popped k times: O(k log L) instead of the
starting kernel's O(L W log k)) that compares row ids as signed int64, one key type for the heap.
Right whenever row ids stay below 2**63, as they do in the speed workload; the held-out case with
row ids at or above 2**63 (Lance's row addresses use the high bits for the fragment id) must
reject it.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def is_before(d1, r1, d2, r2):
    """(d1, r1) < (d2, r2): by distance, then by row id."""
    return d1 < d2 or (d1 == d2 and r1 < r2)


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
    # A k-way merge of the sorted lists: a min-heap of list heads, popped k times. Row ids are
    # compared as int64 (one signed key type for the heap), which is wrong for ids >= 2**63.
    num_lists, width = dists.shape
    signed = row_ids.view(np.int64) if row_ids.flags.c_contiguous else row_ids.astype(np.int64)
    pos = np.zeros(num_lists, dtype=np.int64)
    heap = np.empty(num_lists, dtype=np.int64)  # list indices, ordered by their head entry
    size = 0
    for i in range(num_lists):
        if width > 0:
            heap[size] = i
            size += 1
            j = size - 1
            while j > 0:
                parent = (j - 1) // 2
                a, b = heap[parent], heap[j]
                if (dists[b, 0], signed[b, 0]) < (dists[a, 0], signed[a, 0]):
                    heap[parent], heap[j] = b, a
                    j = parent
                else:
                    break
    out_d = np.empty(k, dtype=np.float32)
    out_r = np.empty(k, dtype=np.uint64)
    for n in range(k):
        top = heap[0]
        out_d[n] = dists[top, pos[top]]
        out_r[n] = row_ids[top, pos[top]]
        pos[top] += 1
        if pos[top] == width:
            size -= 1
            heap[0] = heap[size]
        j = 0
        while True:
            child = 2 * j + 1
            if child >= size:
                break
            c2 = child + 1
            if c2 < size and (dists[heap[c2], pos[heap[c2]]], signed[heap[c2], pos[heap[c2]]]) < (
                dists[heap[child], pos[heap[child]]],
                signed[heap[child], pos[heap[child]]],
            ):
                child = c2
            h, c = heap[j], heap[child]
            if (dists[c, pos[c]], signed[c, pos[c]]) < (dists[h, pos[h]], signed[h, pos[h]]):
                heap[j], heap[child] = c, h
                j = child
            else:
                break
    return out_d, out_r
