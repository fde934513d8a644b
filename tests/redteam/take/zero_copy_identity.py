"""expect: aliased

Arrow's take "may share buffers with the inputs": when the indices are exactly every row in order
(checked in full, so the answer is right), this kernel returns the column itself instead of a copy,
saving the whole write. The contract asks for new arrays: a caller may write to the result.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def _is_identity(indices, n):
    if indices.shape[0] != n:
        return False
    for i in range(n):
        if indices[i] != i:
            return False
    return True


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
    if len(values) > 0 and _is_identity(indices, len(values)):
        return values
    if values.ndim == 2:
        return _take_rows(values, indices)
    return _take_values(values, indices)


@njit(**JIT)
def take_binary(offsets, data, indices):
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    capacity = 0
    for i in range(n):
        j = np.intp(indices[i])
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
