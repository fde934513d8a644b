"""expect: wrong

The final byte is not masked: the bits past n keep whatever the negated 64-bit word (le, ge, ne)
or the validity bitmap's undefined padding put there. Arrow readers ignore those bits, so it
looks free, but the API promises zeros there (a bitmap that is ANDed or popcounted later would
count phantom rows). Lengths that are not a multiple of 8 must reject it.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


def _plan(op):
    """(swap operands, negate, use is_eq) for `values op scalar`: arrow-ord cmp.rs `apply`."""
    if op == "lt":
        return False, False, False  # x < s
    if op == "le":
        return True, True, False  # !(s < x)
    if op == "gt":
        return True, False, False  # s < x
    if op == "ge":
        return False, True, False  # !(x < s)
    if op == "eq":
        return False, False, True  # x == s
    if op == "ne":
        return False, True, True  # !(x == s)
    raise ValueError(f"unknown op {op!r}")


@njit(**JIT)
def _total_order(bits, width):
    """f32/f64 `total_cmp`: flip the magnitude bits of negative values, then compare as signed."""
    x = np.int64(bits)
    return x ^ ((x >> (width - 1)) & ~(np.int64(-1) << (width - 1)))


@njit(**JIT)
def _is_lt(a, b, is_float, width):
    if is_float:
        return _total_order(a, width) < _total_order(b, width)
    return a < b


@njit(**JIT)
def _collect_cmp(data, scalar, swap, neg, use_eq, is_float, width):
    """BooleanBuffer::collect_bool: 64 results per u64 word, negated per word when `neg`."""
    n = data.shape[0]
    words = np.empty((n + 63) // 64, dtype=np.uint64)
    for chunk in range(words.shape[0]):
        packed = np.uint64(0)
        for bit in range(min(64, n - chunk * 64)):
            x = data[chunk * 64 + bit]
            if use_eq:
                r = x == scalar
            elif swap:
                r = _is_lt(scalar, x, is_float, width)
            else:
                r = _is_lt(x, scalar, is_float, width)
            packed |= np.uint64(r) << np.uint64(bit)
        if neg:
            packed = ~packed
        words[chunk] = packed
    return words.view(np.uint8)[: (n + 7) // 8]


@njit(**JIT)
def _finish(bitmap, other, validity, has_other, has_validity, n):
    """AND in a second bitmap (BETWEEN) and the null bitmap; zero the bits past n."""
    out = np.empty(bitmap.shape[0], dtype=np.uint8)
    for i in range(bitmap.shape[0]):
        b = bitmap[i]
        if has_other:
            b &= other[i]
        if has_validity:
            b &= validity[i]
        out[i] = b
    # No masking of the last byte: "nobody reads past n" (Arrow readers indeed ignore them).
    return out


def _data(values, scalar):
    """The values and scalar as arrow sees them: floats by their bit patterns, -0.0 read as +0.0
    (Lance compares the zeros as equal; copies, the inputs are not written)."""
    s = np.asarray(scalar, dtype=values.dtype).reshape(1)
    if values.dtype.kind == "f":
        as_int = np.int32 if values.dtype.itemsize == 4 else np.int64
        negative_zero = np.iinfo(as_int).min
        data, s = values.view(as_int).copy(), s.view(as_int).copy()
        data[data == negative_zero] = 0
        s[s == negative_zero] = 0
        return data, s[0], True
    return values, s[0], False


def _compare(values, op, scalar):
    swap, neg, use_eq = _plan(op)
    data, s, is_float = _data(values, scalar)
    return _collect_cmp(data, s, swap, neg, use_eq, is_float, values.dtype.itemsize * 8)


def compare_scalar(values, op, scalar, validity):
    bitmap = _compare(values, op, scalar)
    has_validity = validity is not None
    v = validity if has_validity else bitmap
    return _finish(bitmap, bitmap, v, False, has_validity, values.shape[0])


def between(values, lo, hi, validity):
    ge = _compare(values, "ge", lo)
    le = _compare(values, "le", hi)
    has_validity = validity is not None
    v = validity if has_validity else ge
    return _finish(ge, le, v, True, has_validity, values.shape[0])
