"""dictionary kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Lance's dictionary decode (rust/lance-encoding/src/data.rs, `DictionaryDataBlock::decode_helper`):
`values[i] = dictionary[indices[i]]`, strings concatenated with running end offsets. Outputs are
allocated by numpy in the Python wrappers (numpy asks for transparent huge pages on large arrays;
numba's allocator faults in 4 KiB pages, ~20,000 per 80 MB output) and filled by jitted loops.
16-byte values move as two 8-byte words; strings take two passes (lengths -> offsets, then the
bytes in 16-byte chunks), so the data buffer is allocated once, with 16 bytes of slack.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

# Indices and positions are used unsigned: numba wraps a signed index around when negative (a
# compare and a select per access), which also kept LLVM from merging a chunk's byte moves.
_ONE = np.uint64(1)
_TWO = np.uint64(2)
CHUNK = 16  # strings are copied in chunks of this many bytes (over-reading into padding)


@njit(**JIT)
def _fill_values(indices, dictionary, out):
    for i in range(indices.shape[0]):
        out[i] = dictionary[np.uint64(indices[i])]


@njit(**JIT)
def _fill_pairs(indices, words, out):
    """16-byte values as two uint64 words, flat: out[2i], out[2i + 1] = words[2j], words[2j + 1]."""
    for i in range(indices.shape[0]):
        j = np.uint64(indices[i]) * _TWO
        out[2 * i] = words[j]
        out[2 * i + 1] = words[j + _ONE]


@njit(**JIT)
def _fill_words(indices, dictionary, out):
    """Rows of `dictionary.shape[1]` uint64 words."""
    width = dictionary.shape[1]
    for i in range(indices.shape[0]):
        j = np.uint64(indices[i])
        for w in range(width):
            out[i, w] = dictionary[j, w]


@njit(**JIT)
def _fill_bytes(indices, dictionary, out):
    width = dictionary.shape[1]
    for i in range(indices.shape[0]):
        j = np.uint64(indices[i])
        for b in range(width):
            out[i, b] = dictionary[j, b]


def dict_decode(indices, dictionary):
    n = indices.shape[0]
    if dictionary.ndim == 2:
        width = dictionary.shape[1]
        out = np.empty((n, width), dtype=np.uint8)
        if width == 16 and dictionary.flags.c_contiguous and n:
            _fill_pairs(
                indices, dictionary.view(np.uint64).reshape(-1), out.view(np.uint64).reshape(-1)
            )
        elif width % 8 == 0 and dictionary.flags.c_contiguous and n:
            _fill_words(indices, dictionary.view(np.uint64), out.view(np.uint64))
        else:
            _fill_bytes(indices, dictionary, out)
        return out
    out = np.empty(n, dtype=dictionary.dtype)
    _fill_values(indices, dictionary, out)
    return out


@njit(**JIT)
def _string_offsets(indices, dict_offsets, offsets):
    """offsets[i + 1] = the selected strings' running length; returns the total."""
    total = 0
    offsets[0] = 0
    for i in range(indices.shape[0]):
        j = np.uint64(indices[i])
        total += dict_offsets[j + _ONE] - dict_offsets[j]
        offsets[i + 1] = total
    return total


@njit(**JIT)
def _string_bytes(indices, dict_offsets, padded, offsets, data):
    """Each string in whole 16-byte chunks (a constant-trip loop: one vector load and store);
    `padded` holds the dictionary's bytes plus CHUNK, `data` has CHUNK bytes of slack, so the
    chunk past a string's end reads and writes inside the buffers, and the next string (or the
    slack) overwrites what it wrote."""
    base = dict_offsets[0]
    for i in range(indices.shape[0]):
        j = np.uint64(indices[i])
        start = np.uint64(dict_offsets[j] - base)
        size = dict_offsets[j + _ONE] - dict_offsets[j]
        dst = np.uint64(offsets[i])
        for chunk in range(0, size, CHUNK):
            at = np.uint64(chunk)
            for b in range(CHUNK):
                data[dst + at + np.uint64(b)] = padded[start + at + np.uint64(b)]


def dict_decode_binary(indices, dict_offsets, dict_data):
    n = indices.shape[0]
    offsets = np.empty(n + 1, dtype=dict_offsets.dtype)
    total = int(_string_offsets(indices, dict_offsets, offsets))
    data = np.empty(total + CHUNK, dtype=np.uint8)
    if total:
        first, last = int(dict_offsets[0]), int(dict_offsets[-1])
        padded = np.zeros(last - first + CHUNK, dtype=np.uint8)
        padded[: last - first] = dict_data[first:last]
        _string_bytes(indices, dict_offsets, padded, offsets, data)
    return offsets, data[:total]
