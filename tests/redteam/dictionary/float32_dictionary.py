"""expect: wrong

Decodes float64 dictionaries through a float32 copy of the dictionary: half the bytes per lookup
(a 65536-entry dictionary would fit in L2) and every value within 6e-8 relative, which a
tolerance-based float comparison accepts. It loses low mantissa bits and NaN payloads: a decoder
must move values bit for bit, and the dictionary oracle compares bits.
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
def _decode_narrowed(indices, narrow):
    n = indices.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = np.float64(narrow[indices[i]])
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
    if dictionary.dtype == np.float64:
        return _decode_narrowed(indices, dictionary.astype(np.float32))
    return _decode_values(indices, dictionary)


@njit(**JIT)
def dict_decode_binary(indices, dict_offsets, dict_data):
    n = indices.shape[0]
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
        start = dict_offsets[j]
        position = offsets[i]
        for b in range(dict_offsets[j + 1] - start):
            data[position + b] = dict_data[start + b]
    return offsets, data
