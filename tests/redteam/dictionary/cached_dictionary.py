"""expect: static

Lance decodes many pages against one dictionary, so this kernel prepares each 16-byte dictionary
once (rows widened to pairs of uint64 words) and keeps it keyed by the dictionary's shape, in a
closure where no module-level name shows it, reusing it on later calls. Right on first calls and
on repeats of the same arrays; stale as soon as a new dictionary of the same shape arrives. The
static check rejects the write to state outside the function before any call (without it, the
oracle's cross-call checks reject the answers: old rows for new indices).
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
def _decode_words(indices, words):
    n = indices.shape[0]
    out = np.empty((n, 2), dtype=np.uint64)
    for i in range(n):
        j = indices[i]
        out[i, 0] = words[j, 0]
        out[i, 1] = words[j, 1]
    return out


def _decoder():
    prepared = {}  # dictionary shape -> uint64[K, 2] words

    def decode(indices, dictionary):
        if dictionary.ndim == 2:
            key = dictionary.shape
            if key not in prepared:
                rows = np.ascontiguousarray(dictionary)
                prepared[key] = rows.view(np.uint64).reshape(len(rows), 2).copy()
            words = _decode_words(indices, prepared[key])
            return words.view(np.uint8).reshape(len(indices), 16)
        return _decode_values(indices, dictionary)

    return decode


dict_decode = _decoder()


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
