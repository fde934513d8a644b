"""expect: wrong

The predicate kernel as it was before the contract followed Lance on signed zeros: arrow-rs's
total order taken literally (`total_cmp`, bit equality), so -0.0 < +0.0 and -0.0 != +0.0. Lance
14.0.2's filter compares the two zeros as equal (its planner widens a zero literal: `x < 0.0`
runs as `x < -0.0`, `x = 0.0` as `x IN (-0.0, 0.0)`), and so does the contract now. The held-out
cases with a zero scalar or zero bounds on a column holding both zeros must reject it; integer
cases, NaNs and every other float still pass.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

_EMPTY = (1, 0)  # an interval no key is in


# Interval shapes: which bounds a row's key is tested against (one compare where one suffices).
BELOW, ABOVE, EQUAL, INSIDE = 0, 1, 2, 3


@njit(inline="always", **JIT)  # inlined into _scan in numba IR: one loop nest for LLVM
def _word(data, base, shape, mag, sh, lo, hi):
    """Bits of rows base .. base + 63, one per row (LSB first).

    The shape is tested once per word, outside the row loop, so each shape's 64-row loop
    vectorizes on its own. (Passing a test function as a jitted argument did the same, but
    numba's on-disk cache cannot save an index holding dispatcher-typed signatures written by
    another process: "ReferenceError: underlying object has vanished" in asv.)
    """
    word = np.uint64(0)
    if shape == BELOW:
        for j in range(64):  # a constant trip count: LLVM unrolls and vectorizes it
            x = data[base + j]
            word |= np.uint64((x ^ ((x >> sh) & mag)) <= hi) << np.uint64(j)
    elif shape == ABOVE:
        for j in range(64):
            x = data[base + j]
            word |= np.uint64((x ^ ((x >> sh) & mag)) >= lo) << np.uint64(j)
    elif shape == EQUAL:
        for j in range(64):
            x = data[base + j]
            word |= np.uint64((x ^ ((x >> sh) & mag)) == lo) << np.uint64(j)
    else:
        for j in range(64):
            x = data[base + j]
            k = x ^ ((x >> sh) & mag)
            word |= np.uint64((k >= lo) & (k <= hi)) << np.uint64(j)
    return word


@njit(**JIT)
def _scan(data, shape, mag, lo, hi, flip, validity, has_validity):
    """Bit i = (key(data[i]) in the interval) XOR flip, AND validity bit i; padding bits 0."""
    n = data.shape[0]
    sh = data.itemsize * 8 - 1
    full = n // 64
    words = np.zeros((n + 63) // 64, dtype=np.uint64)  # calloc: fresh pages come zeroed
    for w in range(full):
        words[w] = _word(data, w * 64, shape, mag, sh, lo, hi) ^ flip
    if full < words.shape[0]:  # the last n % 64 rows: the two-bound test holds for every shape
        base = full * 64
        word = np.uint64(0)
        for j in range(n - base):
            x = data[base + j]
            k = x ^ ((x >> sh) & mag)
            word |= np.uint64((k >= lo) & (k <= hi)) << np.uint64(j)
        words[full] = (word ^ flip) & ((np.uint64(1) << np.uint64(n - base)) - np.uint64(1))
    out = words.view(np.uint8)[: (n + 7) // 8]
    if has_validity:
        for i in range(out.shape[0]):
            out[i] &= validity[i]
    return out


def _keys(values, *scalars):
    """The column as integers (floats by their bits), its key mask, and the scalars' keys."""
    width = values.dtype.itemsize * 8
    if values.dtype.kind == "f":
        as_int = np.int32 if width == 32 else np.int64
        data, mag = values.view(as_int), (1 << (width - 1)) - 1
        keys = []
        for s in scalars:
            bits = int(np.asarray(s, dtype=values.dtype).reshape(1).view(as_int)[0])
            keys.append(bits ^ ((bits >> (width - 1)) & mag))
    else:
        data, mag = values, 0
        keys = [int(s) for s in scalars]
    return data, data.dtype.type(mag), keys, width


def _interval(op, s, width):
    """(lo, hi, negate) of `key op s` over signed keys of `width` bits."""
    lowest, highest = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if op == "lt":
        return (lowest, s - 1, False) if s > lowest else (*_EMPTY, False)
    if op == "le":
        return lowest, s, False
    if op == "gt":
        return (s + 1, highest, False) if s < highest else (*_EMPTY, False)
    if op == "ge":
        return s, highest, False
    if op == "eq":
        return s, s, False
    if op == "ne":
        return s, s, True
    raise ValueError(f"unknown op {op!r}")


def _run(values, mag, lo, hi, negate, validity):
    t = values.dtype.type
    has_validity = validity is not None
    v = validity if has_validity else np.empty(0, dtype=np.uint8)
    flip = np.uint64(0xFFFFFFFFFFFFFFFF if negate else 0)
    width = values.dtype.itemsize * 8
    if lo == -(1 << (width - 1)):
        shape = BELOW  # lt, le: the lower bound is the lowest key
    elif hi == (1 << (width - 1)) - 1:
        shape = ABOVE  # gt, ge
    elif lo == hi:
        shape = EQUAL  # eq, ne: one equality instead of two bounds
    else:
        shape = INSIDE
    return _scan(values, shape, mag, t(lo), t(hi), flip, v, has_validity)


def compare_scalar(values, op, scalar, validity):
    data, mag, (s,), width = _keys(values, scalar)
    lo, hi, negate = _interval(op, s, width)
    return _run(data, mag, lo, hi, negate, validity)


def between(values, lo, hi, validity):
    data, mag, (lo_key, hi_key), _ = _keys(values, lo, hi)
    if lo_key > hi_key:
        lo_key, hi_key = _EMPTY
    return _run(data, mag, lo_key, hi_key, False, validity)
