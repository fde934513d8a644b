"""expect: contract

A jitted test function passed to the cached scan loop as an argument (numba compiles one loop per
test function: one compare for lt/le/gt/ge, an equality for eq/ne). Correct and fast in one
process, so the oracle's other checks pass it and the predicate loop kept it twice; but numba's
on-disk cache cannot re-save an index holding dispatcher-typed signatures written by another
process, and asv's benchmark processes failed intermittently with "ReferenceError: underlying
object has vanished". The oracle now rejects cached signatures that take a jitted function.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

_EMPTY = (1, 0)  # an interval no key is in


@njit(**JIT)
def _below(k, lo, hi):
    return k <= hi


@njit(**JIT)
def _above(k, lo, hi):
    return k >= lo


@njit(**JIT)
def _equal(k, lo, hi):
    return k == lo


@njit(**JIT)
def _inside(k, lo, hi):
    return (k >= lo) & (k <= hi)


@njit(**JIT)
def _scan(data, test, mag, lo, hi, flip, validity, has_validity):
    """Bit i = (lo <= key(data[i]) <= hi) XOR flip, AND validity bit i; padding bits 0."""
    n = data.shape[0]
    sh = data.itemsize * 8 - 1
    full = n // 64
    words = np.empty((n + 63) // 64, dtype=np.uint64)
    for w in range(full):
        base = w * 64
        word = np.uint64(0)
        for j in range(64):
            x = data[base + j]
            k = x ^ ((x >> sh) & mag)
            word |= np.uint64(test(k, lo, hi)) << np.uint64(j)
        words[w] = word ^ flip
    if full < words.shape[0]:
        base = full * 64
        word = np.uint64(0)
        for j in range(n - base):
            x = data[base + j]
            k = x ^ ((x >> sh) & mag)
            word |= np.uint64(test(k, lo, hi)) << np.uint64(j)
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
            if bits == -(1 << (width - 1)):  # -0.0: Lance compares it as +0.0
                bits = 0
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
    if mag:  # floats: -0.0 (key -1) on the same side of every bound as +0.0 (key 0)
        lo = -1 if lo == 0 else lo
        hi = -2 if hi == -1 else hi
    t = values.dtype.type
    has_validity = validity is not None
    v = validity if has_validity else np.empty(0, dtype=np.uint8)
    flip = np.uint64(0xFFFFFFFFFFFFFFFF if negate else 0)
    width = values.dtype.itemsize * 8
    if lo == -(1 << (width - 1)):
        test = _below  # lt, le: the lower bound is the lowest key
    elif hi == (1 << (width - 1)) - 1:
        test = _above  # gt, ge
    elif lo == hi:
        test = _equal  # eq, ne: one equality instead of two bounds
    else:
        test = _inside
    return _scan(values, test, mag, t(lo), t(hi), flip, v, has_validity)


def compare_scalar(values, op, scalar, validity):
    data, mag, (s,), width = _keys(values, scalar)
    lo, hi, negate = _interval(op, s, width)
    return _run(data, mag, lo, hi, negate, validity)


def between(values, lo, hi, validity):
    data, mag, (lo_key, hi_key), _ = _keys(values, lo, hi)
    if lo_key > hi_key:
        lo_key, hi_key = _EMPTY
    return _run(data, mag, lo_key, hi_key, False, validity)
