"""dictionary kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of Lance's dictionary decode (rust/lance-encoding/src/data.rs,
`DictionaryDataBlock::decode_helper`): one `append(dictionary, idx..idx + 1)` per index.
Fixed width: copy the value (a 16-byte value byte by byte, as `extend_from_slice` of one value's
bytes). Strings: `VariableWidthDataBlockBuilder` appends the value's bytes to a buffer sized by
Lance's estimate (the dictionary's bytes scaled to n values, as if indices were uniform), which
doubles when a skewed index distribution outgrows it, and pushes the running end offset.
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
    # Lance dispatches on the block's bits_per_value; here on the dictionary's layout.
    if dictionary.ndim == 2:
        return _decode_rows(indices, dictionary)
    return _decode_values(indices, dictionary)


@njit(**JIT)
def dict_decode_binary(indices, dict_offsets, dict_data):
    n = indices.shape[0]
    num_strings = dict_offsets.shape[0] - 1
    offsets = np.empty(n + 1, dtype=dict_offsets.dtype)
    offsets[0] = 0
    if n == 0:
        return offsets, np.empty(0, dtype=np.uint8)
    # DataBlockBuilder::with_capacity_estimate: data_size * (n + K - 1) / K.
    capacity = dict_data.shape[0] * (n + num_strings - 1) // num_strings
    data = np.empty(max(capacity, 1), dtype=np.uint8)
    length = 0
    for i in range(n):
        j = indices[i]
        start = dict_offsets[j]
        size = dict_offsets[j + 1] - start
        if length + size > data.shape[0]:  # Vec growth: double (or more) and move
            grown = np.empty(max(2 * data.shape[0], length + size), dtype=np.uint8)
            grown[:length] = data[:length]
            data = grown
        for b in range(size):
            data[length + b] = dict_data[start + b]
        length += size
        offsets[i + 1] = length
    return offsets, data[:length]
