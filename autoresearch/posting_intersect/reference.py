"""posting_intersect reference: naive scalar loops, the oracle (do not edit).

The documents every posting list contains: what a full-text AND query keeps. Lance never
materializes this set on its own; it runs AND through WAND with the pivot fixed at the last term
(lance-index src/scalar/inverted/wand.rs `find_pivot_term` for `Operator::And`,
`check_pivot_aligned`, `PostingIterator::next`), scoring each document as it aligns. The
materialized intersection is the same walk with the scoring taken out.

Definition: walk the first list; keep a value when every other list contains it, found by a
cursor per list that only moves forward (all lists are sorted and free of duplicates).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def _intersect(values, offsets):
    num_lists = offsets.shape[0] - 1
    first = values[offsets[0] : offsets[1]]
    out = np.empty(first.shape[0], dtype=np.uint32)
    cursor = offsets[:-1].copy()
    count = 0
    for v in first:
        in_all = True
        for j in range(1, num_lists):
            while cursor[j] < offsets[j + 1] and values[cursor[j]] < v:
                cursor[j] += 1
            if cursor[j] == offsets[j + 1] or values[cursor[j]] != v:
                in_all = False
        if in_all:
            out[count] = v
            count += 1
    return out[:count].copy()


def intersect(lists):
    """uint32[m]: the sorted values present in every list.

    lists: a list (or tuple) of 1 or more sorted, duplicate-free uint32 arrays (the API's range
    is 2 to 5). The reference concatenates them (values + offsets) for one jitted walk.
    """
    arrays = [np.asarray(a, dtype=np.uint32) for a in lists]
    offsets = np.concatenate([[0], np.cumsum([a.shape[0] for a in arrays])]).astype(np.int64)
    values = np.concatenate([np.empty(0, dtype=np.uint32), *arrays])
    return _intersect(values, offsets)
