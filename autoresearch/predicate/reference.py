"""predicate reference: naive scalar loops, the oracle (do not edit).

Mirrors the comparison Lance's filters run: `LanceFilterExec` (lance io/exec/filter.rs) wraps
DataFusion's FilterExec, whose BinaryExpr calls arrow-rs's comparison kernels (arrow-ord
src/cmp.rs `lt`, `lt_eq`, `gt`, `gt_eq`, `eq`, `neq`), and DataFusion plans `x BETWEEN lo AND hi`
as `x >= lo AND x <= hi` (datafusion physical-expr src/planner.rs, `Expr::Between`). The filter
keeps a row only where the predicate is true, so a null row gives 0 (FilterExec treats null as
false).

Float semantics are Lance's filter's (pylance 14.0.2, checked by `python -m autoresearch.fidelity
predicate`): arrow-rs's total order with the two zeros made one. cmp.rs compares through
`ArrowNativeTypeOp::is_lt`, which for f32/f64 is `total_cmp` (arrow-array src/arithmetic.rs
`native_type_float_op!`: `compare` = `total_cmp`, `is_eq` = bit equality): a NaN with the sign bit
clear is above +inf, one with it set is below -inf, NaN == NaN exactly when the bits agree. But
Lance's planner widens a zero literal to cover both zeros before those kernels run (`x < 0.0`
becomes `x < -0.0`, `x = 0.0` becomes `x IN (-0.0, 0.0)`: the scanner's explain_plan), so -0.0 ==
+0.0 in every comparison and BETWEEN. Here: -0.0 is read as +0.0 (column and scalars), then
total order.

Output: an Arrow LSB-first bitmap, uint8[ceil(n / 8)], bit i = byte i // 8, bit i % 8; the unused
high bits of the last byte are 0.
"""

import numpy as np
from numba import njit

OPS = ("lt", "le", "gt", "ge", "eq", "ne")
OP_CODES = {name: code for code, name in enumerate(OPS)}


@njit(cache=True)
def _order_key(bits, width):
    """IEEE 754 totalOrder as a signed integer (Rust's `total_cmp`): flip the magnitude bits of
    negative values so that signed integer order is total order. `width` is 32 or 64."""
    sign = bits >> (width - 1)  # arithmetic shift: -1 for a set sign bit, else 0
    mask = ~(np.int64(-1) << (width - 1))  # every bit below the sign bit
    return bits ^ (sign & mask)


@njit(cache=True)
def _holds(code, x, s):
    if code == 0:
        return x < s
    if code == 1:
        return x <= s
    if code == 2:
        return x > s
    if code == 3:
        return x >= s
    if code == 4:
        return x == s
    return x != s


@njit(cache=True)
def _is_valid(validity, has_validity, i):
    return not has_validity or (validity[i >> 3] >> (i & 7)) & 1 == 1


@njit(cache=True)
def _compare_keys(keys, code, key, validity, has_validity):
    n = keys.shape[0]
    out = np.zeros((n + 7) // 8, dtype=np.uint8)
    for i in range(n):
        bit = _is_valid(validity, has_validity, i) & _holds(code, keys[i], key)
        out[i >> 3] |= np.uint8(bit) << np.uint8(i & 7)
    return out


@njit(cache=True)
def _between_keys(keys, lo, hi, validity, has_validity):
    n = keys.shape[0]
    out = np.zeros((n + 7) // 8, dtype=np.uint8)
    for i in range(n):
        bit = _is_valid(validity, has_validity, i) & (lo <= keys[i]) & (keys[i] <= hi)
        out[i >> 3] |= np.uint8(bit) << np.uint8(i & 7)
    return out


def _keys(values: np.ndarray) -> np.ndarray:
    """int64 keys whose signed order and equality are Lance's: arrow-rs's total order for floats,
    with -0.0 and +0.0 one key (0)."""
    if values.dtype.kind == "f":
        width = values.dtype.itemsize * 8
        bits = values.view(np.int32 if width == 32 else np.int64).astype(np.int64)
        return _total_order_keys(bits, width)
    return values.astype(np.int64)


@njit(cache=True)
def _total_order_keys(bits, width):
    negative_zero = np.int64(-1) << (width - 1)  # -0.0: only the sign bit set
    out = np.empty(bits.shape[0], dtype=np.int64)
    for i in range(bits.shape[0]):
        b = bits[i]
        if b == negative_zero:  # Lance's filter compares -0.0 equal to +0.0: read it as +0.0
            b = np.int64(0)
        out[i] = _order_key(b, width)
    return out


def _validity(validity):
    if validity is None:
        return np.zeros(1, dtype=np.uint8), False
    return validity, True


def compare_scalar(values, op, scalar, validity):
    """uint8[ceil(n/8)]: bit i = validity[i] and (values[i] op scalar), Lance's filter semantics.

    values: int32/int64/float32/float64[n]; op: one of OPS; scalar: a 0-d array of values' dtype;
    validity: uint8[ceil(n/8)] LSB-first (1 = valid) or None (no nulls).
    """
    keys = _keys(values)
    key = _keys(np.asarray(scalar, dtype=values.dtype).reshape(1))[0]
    return _compare_keys(keys, OP_CODES[op], key, *_validity(validity))


def between(values, lo, hi, validity):
    """uint8[ceil(n/8)]: bit i = validity[i] and lo <= values[i] <= hi (SQL BETWEEN, inclusive)."""
    keys = _keys(values)
    lo_key = _keys(np.asarray(lo, dtype=values.dtype).reshape(1))[0]
    hi_key = _keys(np.asarray(hi, dtype=values.dtype).reshape(1))[0]
    return _between_keys(keys, lo_key, hi_key, *_validity(validity))
