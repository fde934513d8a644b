"""posting_intersect kernels: the only file the optimizing agent edits (see program.md).

Starting point: a faithful port of how Lance walks an AND query (lance-index
src/scalar/inverted/wand.rs, `Operator::And`): the iterators are kept sorted by current doc, the
pivot is the last one (the largest current doc), `check_pivot_aligned` moves every iterator, last
to first, onto the pivot's doc with `PostingIterator::next`, re-sorting with `bubble_up` when one
overshoots; an aligned doc is emitted and `move_preceding` steps every iterator past it. `next` is
the compressed-list one: skip whole 128-doc blocks while the next block's first doc is <= the
target, then scan linearly inside the block. The walk ends when any list runs out.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

BLOCK_SIZE = 128  # Lance's posting block (BitPacker4x::BLOCK_LEN)


@njit(**JIT)
def _next(values, start, stop, index, least_id):
    """PostingIterator::next (compressed list): the first position >= index of the list
    values[start:stop] whose doc is >= least_id; whole blocks skipped by their first doc."""
    n = stop - start
    num_blocks = (n + BLOCK_SIZE - 1) // BLOCK_SIZE
    block = (index - start) // BLOCK_SIZE
    while block + 1 < num_blocks and np.int64(values[start + (block + 1) * BLOCK_SIZE]) <= least_id:
        block += 1
    index = max(index, start + block * BLOCK_SIZE)
    while index < stop and np.int64(values[index]) < least_id:
        index += 1
    return index


@njit(**JIT)
def _before(values, index, a, b):
    """PostingIterator::cmp for live iterators: current doc, then list position."""
    da, db = values[index[a]], values[index[b]]
    if da != db:
        return da < db
    return a < b


@njit(**JIT)
def _bubble_up(values, index, order, i):
    for j in range(i + 1, order.shape[0]):
        if not _before(values, index, order[j], order[j - 1]):
            break
        order[j - 1], order[j] = order[j], order[j - 1]


@njit(**JIT)
def _sort(values, index, order):
    for i in range(1, order.shape[0]):
        j = i
        while j > 0 and _before(values, index, order[j], order[j - 1]):
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1


@njit(**JIT)
def _intersect(values, offsets):
    num_lists = offsets.shape[0] - 1
    shortest = offsets[1] - offsets[0]
    for t in range(num_lists):
        shortest = min(shortest, offsets[t + 1] - offsets[t])
    out = np.empty(shortest, dtype=np.uint32)
    count = 0
    if shortest == 0:
        return out
    index = offsets[:-1].copy()
    stop = offsets[1:]
    order = np.arange(num_lists)
    _sort(values, index, order)
    while True:
        # find_pivot_term (And): the pivot is the last iterator, i.e. the largest current doc.
        pivot_doc = np.int64(values[index[order[num_lists - 1]]])
        aligned = True
        for i in range(num_lists - 1, -1, -1):  # check_pivot_aligned
            t = order[i]
            index[t] = _next(values, offsets[t], stop[t], index[t], pivot_doc)
            if index[t] >= stop[t]:
                return out[:count]  # a list ran out: no further doc can be in all of them
            if np.int64(values[index[t]]) != pivot_doc:
                _bubble_up(values, index, order, i)
                aligned = False
                break
            _bubble_up(values, index, order, i)
        if not aligned:
            continue
        out[count] = pivot_doc
        count += 1
        for i in range(num_lists):  # move_preceding: every iterator past this doc
            t = order[i]
            index[t] = _next(values, offsets[t], stop[t], index[t], pivot_doc + 1)
            if index[t] >= stop[t]:
                return out[:count]
        _sort(values, index, order)


def intersect(lists):
    # One buffer + offsets: numba indexes a tuple of arrays at run time through a switch, which
    # made the same walk 4-10x slower than this copy costs.
    offsets = np.concatenate([[0], np.cumsum([a.shape[0] for a in lists])]).astype(np.int64)
    values = np.concatenate([np.empty(0, dtype=np.uint32), *lists]).astype(np.uint32, copy=False)
    return _intersect(values, offsets)
