"""fsst kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of Lance's scalar decoder (rust/compression/fsst/src/fsst.rs):
`parse_symbol_table` is `FsstDecoder::init`, `_decompress_bulk` is `decompress_bulk`: per string,
four codes at a time while no byte of the four is the escape (a SWAR test on a u32), each code an
unaligned 8-byte store of its symbol followed by a length-sized advance; an escape copies one
literal byte; the last 1-3 codes go through Lance's tail path. (Since 2026-12-05: one code at a
time, no block test.) Like Lance's adapter
(physical/fsst.rs) the output is allocated at 8x the codes and truncated afterwards. numba has no
unaligned u64 store: the 8-byte store is written as 8 byte stores of the symbol's bytes.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

SYMBOL_TABLE_SIZE = 8 + 256 * 8 + 256
FSST_MAGIC = 0x46535354 << 32
FSST_CORRUPT = 32774747032022883
FSST_ESC = 255
# _LOW_BYTES[n]: the low n bytes of a uint64 set (n = 0..8)
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)


def parse_symbol_table(buf):
    if buf.size != SYMBOL_TABLE_SIZE:
        raise ValueError("the symbol table buffer for FSST decoder must have size 2312")
    table = np.ascontiguousarray(buf)
    st_info = int.from_bytes(table[:8].tobytes(), "little")
    if st_info & FSST_MAGIC != FSST_MAGIC:
        raise ValueError("the input buffer is not a valid FSST compressed data")
    symbol_num = st_info & 255
    symbols = np.full(256, FSST_CORRUPT, dtype=np.uint64)
    lens = np.zeros(256, dtype=np.uint8)
    ends = 8 + 8 * symbol_num
    symbols[:symbol_num] = table[8:ends].copy().view("<u8")
    lens[:symbol_num] = table[ends : ends + symbol_num]
    return symbols, lens, (st_info & (1 << 24)) != 0


@njit(**JIT)
def _write_symbol(out, pos, symbol):
    """Lance's `ptr::write_unaligned(out + pos, symbols[code])`: all 8 bytes, little-endian."""
    for b in range(8):
        out[pos + b] = (symbol >> np.uint64(8 * b)) & np.uint64(0xFF)


_0 = np.uint64(0)
_1 = np.uint64(1)
_2 = np.uint64(2)
_3 = np.uint64(3)
_7 = np.uint64(7)
_8 = np.uint64(8)
_63 = np.uint64(63)


@njit(**JIT)
def _decompress_bulk(symbols, lens, codes, offsets, out, out_offsets):
    """One code at a time into aligned 8-byte words: numba has no unaligned 8-byte store, and a
    symbol written as eight byte stores cost ~5 ns per code. The pending bytes sit in `acc` (its
    low `fill` bytes); a symbol (its bytes past its length masked off) is ORed in above them and
    the word is stored every time (to the same aligned slot until it fills); when it fills, the
    index moves on and `acc` keeps the symbol's bytes that did not fit. No branch but the escape.
    Every index and count is unsigned: numba wraps a signed index around when negative, two
    instructions per array access in a loop of about thirty."""
    acc = _0
    fill = _0
    word = _0
    out_offsets[0] = 0
    in_curr = np.uint64(offsets[0])
    for i in range(1, offsets.size):
        in_end = np.uint64(offsets[i])
        while in_curr < in_end:
            code = codes[in_curr]
            if code != FSST_ESC:
                sym = symbols[code]
                size = np.uint64(lens[code])
                in_curr += _1
            else:
                sym = np.uint64(codes[in_curr + _1])
                size = _1
                in_curr += _2
            shift = _8 * fill
            acc |= sym << shift
            out[word] = acc
            total = fill + size
            carry = total >> _3
            fill = total & _7
            word += carry
            # the bytes of sym past the word: sym >> (64 - shift), as two shifts (shift may be
            # 0); 63 - shift is shift ^ 63 (shift is a multiple of 8 below 64)
            rest = (sym >> (shift ^ _63)) >> _1
            acc = rest if carry else acc
        out_offsets[i] = _8 * word + fill
    out[word] = acc
    return _8 * word + fill


def fsst_decode(symbol_table, offsets, codes):
    symbols, lens, decoder_switch_on = parse_symbol_table(symbol_table)
    if not decoder_switch_on:
        return offsets.copy(), codes.copy()
    # At most 8 bytes per code ("the data will expand at most 8 times"), as whole words, plus one.
    words = np.empty(int(offsets[-1]) - int(offsets[0]) + 1, dtype=np.uint64)
    out_offsets = np.empty(offsets.size, dtype=offsets.dtype)
    masked = symbols & _LOW_BYTES[lens]  # bytes past a symbol's length: zero
    out_len = int(_decompress_bulk(masked, lens, codes, offsets, words, out_offsets))
    return out_offsets, words.view(np.uint8)[:out_len]
