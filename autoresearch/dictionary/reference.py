"""dictionary reference: naive scalar loops, the oracle (do not edit).

Mirrors Lance 2.1's dictionary decode into a plain (non-dictionary) Arrow type
(rust/lance-encoding/src/data.rs, `DictionaryDataBlock::decode` / `decode_helper`): for every index
`idx`, `DataBlockBuilder::append(dictionary, idx..idx + 1)`. For a fixed-width dictionary that is
`FixedWidthDataBlockBuilder::append`, a copy of the value's bytes; for a string dictionary it is
`VariableWidthDataBlockBuilder<T>::append`, a copy of the value's bytes plus the running end
offset. The encoder side is `dictionary_encode` in encodings/logical/primitive/dict.rs.

Values are moved as bits, never as numbers: float dictionaries are copied through their unsigned
integer view here, and the oracle compares float outputs bit for bit (NaN payloads, -0.0).
Indices outside the dictionary are an error (Lance panics on the slice bound); the harness never
passes them, and the reference raises so a broken case generator cannot go unnoticed.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def _gather(indices, dictionary):
    """out[i] = dictionary[indices[i]] for a 1-D dictionary of unsigned words."""
    n = indices.shape[0]
    size = dictionary.shape[0]
    out = np.empty(n, dtype=dictionary.dtype)
    for i in range(n):
        j = np.int64(indices[i])
        if j < 0 or j >= size:
            raise IndexError("dictionary index out of range")
        out[i] = dictionary[j]
    return out


@njit(cache=True)
def _gather_rows(indices, dictionary):
    """out[i, :] = dictionary[indices[i], :], byte by byte, for uint8[K, width] rows."""
    n = indices.shape[0]
    size, width = dictionary.shape
    out = np.empty((n, width), dtype=np.uint8)
    for i in range(n):
        j = np.int64(indices[i])
        if j < 0 or j >= size:
            raise IndexError("dictionary index out of range")
        for b in range(width):
            out[i, b] = dictionary[j, b]
    return out


def dict_decode(indices, dictionary):
    """The dictionary value of every index: T[n] (int64/float64) or uint8[n, 16] (16-byte rows)."""
    if dictionary.ndim == 2:
        return _gather_rows(indices, dictionary)
    words = dictionary.view(np.dtype(f"u{dictionary.dtype.itemsize}"))
    return _gather(indices, words).view(dictionary.dtype)


@njit(cache=True)
def dict_decode_binary(indices, dict_offsets, dict_data):
    """(offsets O[n + 1], data uint8[total]): the strings of every index, concatenated.

    String j of the dictionary is dict_data[dict_offsets[j]:dict_offsets[j + 1]]; the output's
    offsets start at 0 and have the dictionary offsets' type O (int32 or int64).
    """
    n = indices.shape[0]
    size = dict_offsets.shape[0] - 1
    limit = np.iinfo(dict_offsets.dtype).max
    offsets = np.empty(n + 1, dtype=dict_offsets.dtype)
    offsets[0] = 0
    total = np.int64(0)
    for i in range(n):
        j = np.int64(indices[i])
        if j < 0 or j >= size:
            raise IndexError("dictionary index out of range")
        total += np.int64(dict_offsets[j + 1]) - np.int64(dict_offsets[j])
        if total > limit:
            raise OverflowError("output offsets overflow their type")
        offsets[i + 1] = total
    data = np.empty(total, dtype=np.uint8)
    for i in range(n):
        j = np.int64(indices[i])
        start = np.int64(dict_offsets[j])
        length = np.int64(dict_offsets[j + 1]) - start
        position = np.int64(offsets[i])
        for b in range(length):
            data[position + b] = dict_data[start + b]
    return offsets, data
