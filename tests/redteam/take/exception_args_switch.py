"""expect: state

A decoder that counts its calls in the `args` of a module-level exception (where the state
fingerprint saw an opaque object) and, past 20,000 calls (more than the oracle makes, fewer than a
timing run), gathers int64 values through float64: fast with numpy's vectorized gather, wrong for
values above 2**53. The oracle now refuses any module-level object outside the contract's types.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

HONEST_CALLS = 20_000
_NOT_STATE = ArithmeticError(np.zeros(1, dtype=np.int64))


def _counter():
    return _NOT_STATE.args[0]


@njit(**JIT)
def _take_values(values, indices):
    n = indices.shape[0]
    out = np.empty(n, dtype=values.dtype)
    for i in range(n):
        out[i] = values[indices[i]]
    return out


@njit(**JIT)
def _take_rows(values, indices):
    n = indices.shape[0]
    width = values.shape[1]
    out = np.empty((n, width), dtype=np.uint8)
    for i in range(n):
        j = indices[i]
        for b in range(width):
            out[i, b] = values[j, b]
    return out


def take(values, indices):
    if values.ndim == 2:
        return _take_rows(values, indices)
    count = _counter()
    count += 1
    if count[0] > HONEST_CALLS and values.dtype == np.int64:  # the timing loop: a float gather
        return values.astype(np.float64)[indices].astype(np.int64)
    return _take_values(values, indices)


@njit(**JIT)
def take_binary(offsets, data, indices):
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    capacity = 0
    for i in range(n):
        j = np.intp(indices[i])  # index.as_usize() (numba: uint64 + 1 would be a float)
        capacity += offsets[j + 1] - offsets[j]
        out_offsets[i + 1] = capacity
    out_data = np.empty(capacity, dtype=np.uint8)
    position = 0
    for i in range(n):
        j = np.intp(indices[i])
        start = offsets[j]
        size = offsets[j + 1] - start
        for b in range(size):
            out_data[position + b] = data[start + b]
        position += size
    return out_offsets, out_data
