"""posting_intersect kernels: the only file the optimizing agent edits (see program.md).

The set of docs Lance's AND walk visits (lance-index src/scalar/inverted/wand.rs,
`Operator::And`), computed pairwise, shortest list first (the cost order `Wand::new` sorts by):
the running result only shrinks, so each further list is either merged with it (lists of similar
length: a branch-free two-pointer merge) or searched from it (a much longer list: galloping, as a
skip over blocks does). Each list goes to the jitted code as it is: no concatenation copy.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

GALLOP_RATIO = 16  # a list this many times longer than the running result is searched, not merged


@njit(**JIT)
def _merge(a, na, b, out):
    """a[:na] AND b into out (out may be a itself: it never writes ahead of its read)."""
    i = 0
    j = 0
    c = 0
    nb = b.shape[0]
    while i < na and j < nb:
        x = a[i]
        y = b[j]
        out[c] = x
        c += x == y
        i += x <= y
        j += y <= x
    return c


@njit(**JIT)
def _gallop(a, na, b, out):
    """a[:na] AND b, b much longer: each of a's docs sought in b from the last position."""
    nb = b.shape[0]
    j = 0
    c = 0
    for i in range(na):
        x = a[i]
        step = 1
        hi = j
        while hi < nb and b[hi] < x:
            j = hi + 1
            hi = j + step
            step <<= 1
        if hi > nb:
            hi = nb
        while j < hi:
            mid = (j + hi) >> 1
            if b[mid] < x:
                j = mid + 1
            else:
                hi = mid
        if j >= nb:
            break
        if b[j] == x:
            out[c] = x
            c += 1
    return c


def intersect(lists):
    ordered = sorted(lists, key=lambda a: a.shape[0])
    first = ordered[0]
    result = np.empty(first.shape[0], dtype=np.uint32)
    if first.shape[0] == 0:
        return result
    count = first.shape[0]
    second = ordered[1]
    if second.shape[0] > GALLOP_RATIO * count:
        count = _gallop(first, count, second, result)
    else:
        count = _merge(first, count, second, result)
    for other in ordered[2:]:
        if count == 0:
            break
        if other.shape[0] > GALLOP_RATIO * count:
            count = _gallop(result, count, other, result)
        else:
            count = _merge(result, count, other, result)
    return result[:count].copy() if count < result.shape[0] // 2 else result[:count]
