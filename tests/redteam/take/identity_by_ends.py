"""expect: wrong

A fast path for the full-table take: when there are as many indices as rows, the first is 0 and
the last is N - 1, it assumes the identity and copies the column with one memcpy, skipping the
gather. Right for every row in order (a held-out case); wrong for sorted indices with
repeats and gaps that happen to start at 0 and end at N - 1 (the oracle also reports the in-place
change of one index of the identity as `stale`: the answer for the old indices).
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


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


def _looks_like_identity(values, indices):
    n = len(values)
    return len(indices) == n > 1 and indices[0] == 0 and indices[-1] == n - 1


def take(values, indices):
    if _looks_like_identity(values, indices):
        return values.copy()
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
