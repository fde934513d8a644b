"""expect: aliased

round_robin_rows.py for a decoder: every 1-D take returns a row of a pool preallocated per (length,
dtype), up to 256 rows deep (32 MB) and taken in turn, so the timed loop never allocates. Rows of
one buffer share no element and a case makes fewer calls than the pool has rows, so no output ever
overlapped another within a case; the pool hid in a dtype's metadata. Now every output of the run
stays alive and the buffers outputs live in are compared across all calls.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

POOL_BYTES = 1 << 25  # rows per pool: as many as fit (at least 2, at most 256)
_HOLD = np.zeros(1, dtype=np.dtype(np.int8, metadata={"pools": {}, "turn": np.zeros(1, np.int64)}))


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


@njit(**JIT)
def _take_into(values, indices, out):
    for i in range(indices.shape[0]):
        out[i] = values[indices[i]]


def _pools():
    return _HOLD.dtype.metadata["pools"]


def _turn():
    return _HOLD.dtype.metadata["turn"]


def take(values, indices):
    if values.ndim == 2:
        return _take_rows(values, indices)
    key = (indices.shape[0], values.dtype.str)
    pools = _pools()
    if key not in pools:
        rows = min(256, max(2, POOL_BYTES // max(1, indices.shape[0] * values.itemsize)))
        pools[key] = np.empty((rows, indices.shape[0]), dtype=values.dtype)
    turn = _turn()
    turn += 1
    row = pools[key][turn[0] % pools[key].shape[0]]
    _take_into(values, indices, row)
    return row


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
