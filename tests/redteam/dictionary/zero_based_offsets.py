"""expect: wrong

Treats the string dictionary's data buffer as holding exactly its strings, starting at the first
offset: every string is read at `dict_offsets[j] - dict_offsets[0]`. Right whenever the offsets
start at 0 (every speed workload); wrong for an Arrow-style sliced dictionary, whose offsets start
further into the shared data buffer.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def _decode_values(indices, dictionary):
    n = indices.shape[0]
    out = np.empty(n, dtype=dictionary.dtype)
    for i in range(n):
        out[i] = dictionary[indices[i]]
    return out


@njit(**JIT)
def _decode_rows(indices, dictionary):
    n = indices.shape[0]
    width = dictionary.shape[1]
    out = np.empty((n, width), dtype=np.uint8)
    for i in range(n):
        j = indices[i]
        for b in range(width):
            out[i, b] = dictionary[j, b]
    return out


def dict_decode(indices, dictionary):
    if dictionary.ndim == 2:
        return _decode_rows(indices, dictionary)
    return _decode_values(indices, dictionary)


@njit(**JIT)
def dict_decode_binary(indices, dict_offsets, dict_data):
    n = indices.shape[0]
    base = dict_offsets[0]
    offsets = np.empty(n + 1, dtype=dict_offsets.dtype)
    offsets[0] = 0
    total = 0
    for i in range(n):
        j = indices[i]
        total += dict_offsets[j + 1] - dict_offsets[j]
        offsets[i + 1] = total
    data = np.empty(total, dtype=np.uint8)
    for i in range(n):
        j = indices[i]
        start = dict_offsets[j] - base
        position = offsets[i]
        for b in range(dict_offsets[j + 1] - dict_offsets[j]):
            data[position + b] = dict_data[start + b]
    return offsets, data
