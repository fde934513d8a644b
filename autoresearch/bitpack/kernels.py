"""bitpack kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of Lance's scalar code. `_unpack_block` is the `unpack!` macro of
rust/compression/bitpacking/src/lib.rs (per lane: walk the T rows, take W bits from the current
packed word, spill into the next word when the field crosses it, scatter to FL_ORDER positions),
with the width a runtime value instead of Lance's per-width monomorphized functions.
`unpack` is `unpack_out_of_line` and `decode_miniblock` is `InlineBitpacking::unchunk` over
consecutive chunks (rust/lance-encoding/src/encodings/physical/bitpacking.rs): whole blocks are
unpacked into an output rounded up to 1024 values, then truncated, as Lance does.
numba compiles one specialization per word type (the Python wrappers pick T from `dtype`), and
`np.iinfo(words.dtype).bits` is a compile-time constant in it, as `<T>::T` is in Lance's macro.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

BLOCK = 1024
FL_ORDER = np.array([0, 4, 2, 6, 1, 5, 3, 7], dtype=np.int64)
WORD_TYPES = (np.uint8, np.uint16, np.uint32, np.uint64)


def _word_dtype(dtype):
    t = np.dtype(dtype)
    if t.type not in WORD_TYPES:
        raise TypeError(f"dtype must be uint8, uint16, uint32 or uint64, got {t}")
    return t


def _as_words(buffer, t):
    # Lance copies a chunk before casting it ("Copy for memory alignment"): same here when needed.
    words = np.ascontiguousarray(buffer).view(t.newbyteorder("<"))
    return np.require(words, dtype=t, requirements=["A", "C"])


@njit(**JIT)
def _mask(width, bits):
    if width == bits:
        return np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(64 - bits)
    return (np.uint64(1) << np.uint64(width % bits)) - np.uint64(1)


@njit(inline="always", **JIT)
def _row_narrow(packed, up, out, uo, lanes, ul, bits, offset, width, mask):
    """One row of a uint8/uint16/uint32 block in the word's own width: numpy's ufuncs keep uint16
    as uint16 where numba's operators widen to 64 bits, four times the lanes per vector (uint16
    W 11: 26% faster). uint32 spilling rows too: widened to 64 bits they took 4 passes of 8 lanes
    per row with 2 vpmovzxdq + vextracti128 + vshufps + vpermpd to narrow back (AVX2 has no
    vpmovqd): 18 instructions per 8 values; in uint32 lanes 4 passes of 8 lanes, 7 per 8."""
    word_t = packed.dtype.type
    shift_t = word_t(offset)
    mask_t = word_t(mask)
    if offset + width <= bits:
        for lane in range(lanes):
            i = np.uint64(lane)
            out[uo + i] = np.bitwise_and(np.right_shift(packed[up + i], shift_t), mask_t)
    else:  # spills into the lane's next word (0 < bits - offset < bits)
        low_t = word_t(bits - offset)
        for lane in range(lanes):
            i = np.uint64(lane)
            lo = np.right_shift(packed[up + i], shift_t)
            hi = np.left_shift(packed[up + ul + i], low_t)
            out[uo + i] = np.bitwise_and(np.bitwise_or(lo, hi), mask_t)


@njit(**JIT)
def _unpack_block(packed, start, width, out, out_start):
    """One block of 1024 values, row by row with the lane loop innermost.

    Lance's `unpack!` walks each lane's rows; every lane has the same (word, shift, spill) per
    row, so computing them once per row and looping over lanes inside reads LANES consecutive
    packed words and writes LANES consecutive outputs: a loop LLVM vectorizes.
    """
    bits = np.iinfo(packed.dtype).bits
    # The lane count as LLVM cannot fold it (width >> 7 is 0 for every valid width): with a
    # constant 32 or 64 it unrolled the lane loops into scalar code; with a runtime count the
    # loop vectorizer takes them (and checks that packed and out do not overlap).
    lanes = BLOCK // bits + (width >> 7)
    if width == 0:
        for i in range(BLOCK):
            out[out_start + i] = 0
        return
    if width == bits:  # stored transposed, unshifted
        for row in range(bits):
            o = out_start + FL_ORDER[row // 8] * 16 + (row % 8) * 128
            p = start + lanes * row
            uo = np.uint64(o)
            up = np.uint64(p)
            for lane in range(lanes):  # unsigned indices, no slice views per row
                i = np.uint64(lane)
                out[uo + i] = packed[up + i]
        return
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    for row in range(bits):
        first_bit = row * width
        p = start + lanes * (first_bit // bits)
        shift = np.uint64(first_bit % bits)
        o = out_start + FL_ORDER[row // 8] * 16 + (row % 8) * 128
        # Unsigned indices: numba adds no negative-index fix-up, so the lane loop vectorizes
        # without building a view per row (views cost as much as the unpacking at 32 lanes).
        uo = np.uint64(o)
        up = np.uint64(p)
        ul = np.uint64(lanes)
        if bits <= 32:  # up to uint32: shift and mask in the word's own width (above)
            _row_narrow(packed, up, out, uo, lanes, ul, bits, first_bit % bits, width, mask)
        elif first_bit % bits + width <= bits:  # the field sits in one word
            for lane in range(lanes):
                i = np.uint64(lane)
                out[uo + i] = (np.uint64(packed[up + i]) >> shift) & mask
        else:  # it spills into the lane's next word
            low_bits = np.uint64(bits - first_bit % bits)
            for lane in range(lanes):
                i = np.uint64(lane)
                lo = np.uint64(packed[up + i]) >> shift
                hi = np.uint64(packed[up + ul + i]) << low_bits
                out[uo + i] = (lo | hi) & mask


# The same block decoder inlined (in numba IR) into the miniblock chunk loop, where it gained 12%
# on uint32 pages; inlined into the page loop as well it lost 3% on uint32 W 13 and 24.
_unpack_block_inlined = njit(inline="always", **JIT)(_unpack_block.py_func)


@njit(**JIT)
def _unpack_out_of_line(words, width, num_values, out):
    bits = np.iinfo(words.dtype).bits
    words_per_chunk = (BLOCK * width + bits - 1) // bits
    num_whole_chunks = num_values // BLOCK
    tail_values = num_values % BLOCK
    expected_full_words = num_whole_chunks * words_per_chunk
    tail_is_raw = tail_values > 0 and words.size == expected_full_words + tail_values
    for chunk in range(num_whole_chunks):
        _unpack_block(words, chunk * words_per_chunk, width, out, chunk * BLOCK)
    if tail_values > 0:
        if tail_is_raw:
            for i in range(tail_values):
                out[num_whole_chunks * BLOCK + i] = words[expected_full_words + i]
        else:
            _unpack_block(words, expected_full_words, width, out, num_whole_chunks * BLOCK)


def unpack(packed, bit_width, num_values, dtype):
    t = _word_dtype(dtype)
    n = int(num_values)
    blocks = (n + BLOCK - 1) // BLOCK
    out = np.empty(blocks * BLOCK, dtype=t)  # room for a padded tail block, truncated below
    _unpack_out_of_line(_as_words(packed, t), int(bit_width), n, out)
    return out[:n]


@njit(**JIT)
def _unchunk_all(words, num_values, out):
    bits = np.iinfo(words.dtype).bits
    position = 0
    for chunk_start in range(0, num_values, BLOCK):
        width = np.int64(words[position])
        if width == 0:
            # A constant-zero chunk (skewed pages have many): the fill through unsigned indices,
            # which LLVM turns into one memset; the block decoder's signed fill kept numba's
            # negative-index fix-up, 46 instructions per 8 scalar zero stores.
            uo = np.uint64(chunk_start)
            for i in range(BLOCK):
                out[uo + np.uint64(i)] = 0
        else:
            _unpack_block_inlined(words, position + 1, width, out, chunk_start)
        position += 1 + BLOCK * width // bits


def decode_miniblock(buffer, num_values, dtype):
    t = _word_dtype(dtype)
    n = int(num_values)
    blocks = (n + BLOCK - 1) // BLOCK
    out = np.empty(blocks * BLOCK, dtype=t)
    _unchunk_all(_as_words(buffer, t), n, out)
    return out[:n]
