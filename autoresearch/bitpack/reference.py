"""bitpack reference: naive scalar loops, the oracle (do not edit).

Lance's FastLanes bit-unpacking (rust/compression/bitpacking/src/lib.rs: the `unpack!` macro behind
`BitPacking::unchecked_unpack`, a fork of spiraldb/fastlanes), as called by
rust/lance-encoding/src/encodings/physical/bitpacking.rs:
- `unpack`           = `unpack_out_of_line` (OutOfLineBitpacking): one bit width for the page; the
                       last partial block is either zero-padded to 1024 values and packed, or stored
                       raw, and the decoder tells which from the buffer length (raw wins a tie);
- `decode_miniblock` = `InlineBitpacking::unchunk` over consecutive chunks: every 1024-value chunk
                       is one T word holding its bit width, then that chunk's packed words.

The layout of one block of 1024 values of T (T_BITS = 8, 16, 32 or 64; LANES = 1024 / T_BITS):
value (row, lane) is element FL_ORDER[row // 8] * 16 + (row % 8) * 128 + lane of the block, for
row in [0, T_BITS) and lane in [0, LANES). Each lane holds its rows as one stream of W-bit fields,
least significant bit first, spread over W words of T; word w of lane l is word LANES * w + l of
the block (1024 * W / T_BITS words per block). The reference reads every value bit by bit from that
definition. Buffers are bytes (uint8), little-endian words of T, as Lance stores them.
"""

import numpy as np
from numba import njit

BLOCK = 1024  # values per FastLanes block (ELEMS_PER_CHUNK in bitpacking.rs)
FL_ORDER = np.array([0, 4, 2, 6, 1, 5, 3, 7], dtype=np.int64)  # the FastLanes row interleave
WORD_TYPES = (np.uint8, np.uint16, np.uint32, np.uint64)


def word_dtype(dtype) -> np.dtype:
    """The unsigned word type T named by `dtype` (a numpy dtype or type such as np.uint32)."""
    t = np.dtype(dtype)
    if t.type not in WORD_TYPES:
        raise TypeError(f"dtype must be uint8, uint16, uint32 or uint64, got {t}")
    return t


def as_words(buffer: np.ndarray, t: np.dtype) -> np.ndarray:
    """The little-endian words of T in a uint8 buffer, as an aligned array (copied if needed)."""
    if not isinstance(buffer, np.ndarray) or buffer.ndim != 1 or buffer.dtype != np.uint8:
        raise TypeError("buffer must be a 1-D uint8 array")
    if buffer.size % t.itemsize:
        raise ValueError(f"buffer length {buffer.size} is not a multiple of {t.itemsize}")
    words = np.ascontiguousarray(buffer).view(t.newbyteorder("<"))
    return np.require(words, dtype=t, requirements=["A", "C"])


@njit(cache=True)
def _unpack_block(words, start, bits, width, out, out_start, count):
    """Values of the block whose words start at `start`; the first `count` land at `out_start`."""
    lanes = BLOCK // bits
    for lane in range(lanes):
        for row in range(bits):
            index = FL_ORDER[row // 8] * 16 + (row % 8) * 128 + lane
            if index >= count:
                continue  # zero padding of the last block
            value = np.uint64(0)
            for b in range(width):
                position = row * width + b  # bit position in this lane's stream
                word = np.uint64(words[start + lanes * (position // bits) + lane])
                bit = (word >> np.uint64(position % bits)) & np.uint64(1)
                value |= bit << np.uint64(b)
            out[out_start + index] = value


@njit(cache=True)
def _unpack(words, bits, width, num_values, raw_tail, out):
    words_per_block = BLOCK * width // bits
    full_blocks = num_values // BLOCK
    tail = num_values - full_blocks * BLOCK
    for block in range(full_blocks):
        _unpack_block(words, block * words_per_block, bits, width, out, block * BLOCK, BLOCK)
    if tail > 0:
        start = full_blocks * words_per_block
        if raw_tail:
            for i in range(tail):
                out[full_blocks * BLOCK + i] = words[start + i]
        else:
            _unpack_block(words, start, bits, width, out, full_blocks * BLOCK, tail)


def unpack(packed, bit_width, num_values, dtype):
    """dtype[num_values] from Lance's out-of-line bitpacked page (`unpack_out_of_line`).

    packed: uint8 bytes of little-endian T words; bit_width: 0..T_BITS; dtype: np.uint8/16/32/64
    (a numpy dtype or type). Full blocks take 1024 * bit_width / T_BITS words each; a partial last
    block is either packed zero-padded (a full block's words) or raw (num_values % 1024 words of T).
    """
    t = word_dtype(dtype)
    bits = t.itemsize * 8
    width, n = int(bit_width), int(num_values)
    if not 0 <= width <= bits or n < 0:
        raise ValueError(f"bit_width must be in [0, {bits}] and num_values >= 0")
    words = as_words(packed, t)
    words_per_block = BLOCK * width // bits
    full_blocks, tail = divmod(n, BLOCK)
    padded_len = (full_blocks + (tail > 0)) * words_per_block
    raw_len = full_blocks * words_per_block + tail
    raw_tail = tail > 0 and words.size == raw_len  # Lance's `tail_is_raw`: raw wins a tie
    if not raw_tail and words.size != padded_len:
        raise ValueError(f"{words.size} words fit neither {padded_len} (padded) nor {raw_len}")
    out = np.empty(n, dtype=t)
    _unpack(words, bits, width, n, raw_tail, out)
    return out


@njit(cache=True)
def _decode_miniblock(words, bits, num_values, out):
    position = 0
    for chunk_start in range(0, num_values, BLOCK):
        if position >= words.size:
            raise ValueError("buffer ends before the last chunk")
        width = np.int64(words[position])
        if width > bits:
            raise ValueError("a chunk's bit width exceeds the word type's")
        words_per_block = BLOCK * width // bits
        if position + 1 + words_per_block > words.size:
            raise ValueError("buffer ends inside a chunk")
        count = min(BLOCK, num_values - chunk_start)
        _unpack_block(words, position + 1, bits, width, out, chunk_start, count)
        position += 1 + words_per_block
    if position != words.size:
        raise ValueError("bytes left over after the last chunk")


def decode_miniblock(buffer, num_values, dtype):
    """dtype[num_values] from Lance's inline-bitpacked miniblock chunks, concatenated.

    buffer: uint8 bytes of little-endian T words: for every 1024 values, one T word with that
    chunk's bit width W (0..T_BITS), then its 1024 * W / T_BITS packed words; the last chunk is
    zero-padded to 1024 values and holds num_values - 1024 * (chunks - 1) of them.
    """
    t = word_dtype(dtype)
    n = int(num_values)
    if n < 0:
        raise ValueError("num_values must be >= 0")
    out = np.empty(n, dtype=t)
    _decode_miniblock(as_words(buffer, t), t.itemsize * 8, n, out)
    return out
