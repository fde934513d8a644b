"""dictionary kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Lance's dictionary decode (rust/lance-encoding/src/data.rs, `DictionaryDataBlock::decode_helper`):
`values[i] = dictionary[indices[i]]`, strings concatenated with running end offsets. Outputs are
allocated by numpy in the Python wrappers (numpy asks for transparent huge pages on large arrays;
numba's allocator faults in 4 KiB pages, ~20,000 per 80 MB output) and filled by jitted loops.
16-byte values move as two 8-byte words; strings take one pass (offsets and bytes together: every
string's first 32 bytes as one 32-byte vector move, longer strings' rest in 16-byte chunks) into a
data buffer sized from the dictionary's mean length, grown if the selected strings outrun it.
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
HEAD = 32  # every string's first HEAD bytes are copied without a test (one _move32)


@njit(**JIT)
def _fill_values(indices, dictionary, out):
    for i in range(indices.shape[0]):
        out[i] = dictionary[np.uint64(indices[i])]


@njit(**JIT)
def _fill_values_paired(words, indices, dictionary, out):
    """out[2k], out[2k + 1] = dictionary[low half of words[k]], dictionary[high half]. The plain
    gather is 2 loads and a store per value, bound by the 3 load ports (~0.67 cycle a value); one
    index load per two values is 1.5 loads a value, the halves split by a mask and a shift (one
    ALU op each, on ports the loop leaves idle; the shift count is a register: shrx, one uop)."""
    half = np.uint64(4 * words.itemsize)  # bits per index
    mask = (_ONE << half) - _ONE
    for k in range(words.shape[0]):
        w = np.uint64(words[k])
        out[2 * k] = dictionary[w & mask]
        out[2 * k + 1] = dictionary[w >> half]
    n = indices.shape[0]
    if n % 2:
        out[n - 1] = dictionary[np.uint64(indices[n - 1])]


@njit(**JIT)
def _fill_pairs(indices, words, out):
    """16-byte values as two uint64 words, flat: out[2i], out[2i + 1] = words[2j], words[2j + 1].
    Both words are loaded before either is stored: numba's arrays carry no no-alias information,
    so a store to out[2i] may change words[2j + 1] as far as LLVM knows, and load, store, load,
    store stays four scalar moves; loaded first, the pair is one 16-byte vector load and store."""
    for i in range(indices.shape[0]):
        j = np.uint64(indices[i]) * _TWO
        lo = words[j]
        hi = words[j + _ONE]
        out[2 * i] = lo
        out[2 * i + 1] = hi


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
    size = indices.dtype.itemsize
    if size <= 4 and n >= 2 and indices.flags.c_contiguous:
        # Contiguous indices of 1, 2 or 4 bytes viewed as unsigned words holding two of them
        # (little-endian x86: index 2k is the low half of word k). Indices are never negative
        # (the contract), so an int32 index read as the unsigned half of a uint64 is the same.
        words = indices[: n - n % 2].view(f"u{2 * size}")
        _fill_values_paired(words, indices, dictionary, out)
    else:
        _fill_values(indices, dictionary, out)
    return out


@njit(**JIT)
def _move16(src, s, dst, d):
    """dst[d:d + 16] = src[s:s + 16] (uint64 positions), all 16 loads before any store. numba's
    arrays carry no no-alias information, so in a byte loop every store may change the next load
    and LLVM keeps 16 byte moves (what the old chunk loop compiled to); loaded first, the bytes
    become one 16-byte vector load and one store."""
    b0 = src[s]
    b1 = src[s + np.uint64(1)]
    b2 = src[s + np.uint64(2)]
    b3 = src[s + np.uint64(3)]
    b4 = src[s + np.uint64(4)]
    b5 = src[s + np.uint64(5)]
    b6 = src[s + np.uint64(6)]
    b7 = src[s + np.uint64(7)]
    b8 = src[s + np.uint64(8)]
    b9 = src[s + np.uint64(9)]
    b10 = src[s + np.uint64(10)]
    b11 = src[s + np.uint64(11)]
    b12 = src[s + np.uint64(12)]
    b13 = src[s + np.uint64(13)]
    b14 = src[s + np.uint64(14)]
    b15 = src[s + np.uint64(15)]
    dst[d] = b0
    dst[d + np.uint64(1)] = b1
    dst[d + np.uint64(2)] = b2
    dst[d + np.uint64(3)] = b3
    dst[d + np.uint64(4)] = b4
    dst[d + np.uint64(5)] = b5
    dst[d + np.uint64(6)] = b6
    dst[d + np.uint64(7)] = b7
    dst[d + np.uint64(8)] = b8
    dst[d + np.uint64(9)] = b9
    dst[d + np.uint64(10)] = b10
    dst[d + np.uint64(11)] = b11
    dst[d + np.uint64(12)] = b12
    dst[d + np.uint64(13)] = b13
    dst[d + np.uint64(14)] = b14
    dst[d + np.uint64(15)] = b15


@njit(**JIT)
def _move32(src, s, dst, d):
    """dst[d:d + 32] = src[s:s + 32] (uint64 positions), all 32 loads before any store: one 32-byte
    vector load and store (ymm) where two 16-byte moves took two of each. Fewer memory uops a
    string, and the bytes of an unaligned 32-byte access span at most two cache lines either way."""
    b0 = src[s]
    b1 = src[s + np.uint64(1)]
    b2 = src[s + np.uint64(2)]
    b3 = src[s + np.uint64(3)]
    b4 = src[s + np.uint64(4)]
    b5 = src[s + np.uint64(5)]
    b6 = src[s + np.uint64(6)]
    b7 = src[s + np.uint64(7)]
    b8 = src[s + np.uint64(8)]
    b9 = src[s + np.uint64(9)]
    b10 = src[s + np.uint64(10)]
    b11 = src[s + np.uint64(11)]
    b12 = src[s + np.uint64(12)]
    b13 = src[s + np.uint64(13)]
    b14 = src[s + np.uint64(14)]
    b15 = src[s + np.uint64(15)]
    b16 = src[s + np.uint64(16)]
    b17 = src[s + np.uint64(17)]
    b18 = src[s + np.uint64(18)]
    b19 = src[s + np.uint64(19)]
    b20 = src[s + np.uint64(20)]
    b21 = src[s + np.uint64(21)]
    b22 = src[s + np.uint64(22)]
    b23 = src[s + np.uint64(23)]
    b24 = src[s + np.uint64(24)]
    b25 = src[s + np.uint64(25)]
    b26 = src[s + np.uint64(26)]
    b27 = src[s + np.uint64(27)]
    b28 = src[s + np.uint64(28)]
    b29 = src[s + np.uint64(29)]
    b30 = src[s + np.uint64(30)]
    b31 = src[s + np.uint64(31)]
    dst[d] = b0
    dst[d + np.uint64(1)] = b1
    dst[d + np.uint64(2)] = b2
    dst[d + np.uint64(3)] = b3
    dst[d + np.uint64(4)] = b4
    dst[d + np.uint64(5)] = b5
    dst[d + np.uint64(6)] = b6
    dst[d + np.uint64(7)] = b7
    dst[d + np.uint64(8)] = b8
    dst[d + np.uint64(9)] = b9
    dst[d + np.uint64(10)] = b10
    dst[d + np.uint64(11)] = b11
    dst[d + np.uint64(12)] = b12
    dst[d + np.uint64(13)] = b13
    dst[d + np.uint64(14)] = b14
    dst[d + np.uint64(15)] = b15
    dst[d + np.uint64(16)] = b16
    dst[d + np.uint64(17)] = b17
    dst[d + np.uint64(18)] = b18
    dst[d + np.uint64(19)] = b19
    dst[d + np.uint64(20)] = b20
    dst[d + np.uint64(21)] = b21
    dst[d + np.uint64(22)] = b22
    dst[d + np.uint64(23)] = b23
    dst[d + np.uint64(24)] = b24
    dst[d + np.uint64(25)] = b25
    dst[d + np.uint64(26)] = b26
    dst[d + np.uint64(27)] = b27
    dst[d + np.uint64(28)] = b28
    dst[d + np.uint64(29)] = b29
    dst[d + np.uint64(30)] = b30
    dst[d + np.uint64(31)] = b31


@njit(**JIT)
def _string_fill(indices, dict_offsets, padded, offsets, data, i, pos):
    """From index i, whose string starts at byte `pos`: offsets[i + 1] and the string's bytes in one
    pass (the two-pass decode loaded each index and its two dictionary offsets twice and read the
    offsets back). Each string's first HEAD bytes move in one 32-byte move whatever its length,
    the rest of a longer one in 16-byte chunks; `padded` holds the dictionary's bytes plus HEAD,
    and a string is written only if its end plus HEAD fits in `data`, so the bytes moved past its
    end stay inside the buffers (the next string overwrites them). Returns where it stopped: the
    index (n when done) and the byte position."""
    base = dict_offsets[0]
    room = data.shape[0] - HEAD
    k = np.uint64(i)  # unsigned, like every position here
    n = np.uint64(indices.shape[0])
    while k < n:
        j = np.uint64(indices[k])
        size = dict_offsets[j + _ONE] - dict_offsets[j]
        if pos + size > room:  # the estimate fell short: the wrapper grows `data`
            break
        start = np.uint64(dict_offsets[j] - base)
        dst = np.uint64(pos)
        _move32(padded, start, data, dst)
        for chunk in range(HEAD, size, CHUNK):
            at = np.uint64(chunk)
            _move16(padded, start + at, data, dst + at)
        pos += size
        offsets[k + _ONE] = pos
        k += _ONE
    return np.int64(k), pos


def dict_decode_binary(indices, dict_offsets, dict_data):
    n = indices.shape[0]
    offsets = np.empty(n + 1, dtype=dict_offsets.dtype)
    offsets[0] = 0
    first, last = int(dict_offsets[0]), int(dict_offsets[-1])
    # Twice the bytes of n strings of the dictionary's mean length: skewed indices select a mix
    # whose mean differs from the dictionary's; should they select more, `data` doubles.
    estimate = 2 * n * (last - first) // (len(dict_offsets) - 1)
    data = np.empty(estimate + HEAD, dtype=np.uint8)
    padded = np.zeros(last - first + HEAD, dtype=np.uint8)
    padded[: last - first] = dict_data[first:last]
    i, pos = _string_fill(indices, dict_offsets, padded, offsets, data, 0, 0)
    while i < n:
        grown = np.empty(2 * data.shape[0], dtype=np.uint8)
        grown[:pos] = data[:pos]
        data = grown
        i, pos = _string_fill(indices, dict_offsets, padded, offsets, data, i, pos)
    return offsets, data[:pos]
