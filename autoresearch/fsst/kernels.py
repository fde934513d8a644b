"""fsst kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of Lance's scalar decoder (rust/compression/fsst/src/fsst.rs):
`parse_symbol_table` is `FsstDecoder::init`, `_decompress_bulk` is `decompress_bulk`: per string,
four codes at a time while no byte of the four is the escape (a SWAR test on a u32), each code an
unaligned 8-byte store of its symbol followed by a length-sized advance; an escape copies one
literal byte; the last 1-3 codes go through Lance's tail path. Like Lance's adapter
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


@njit(**JIT)
def _decompress_bulk(symbols, lens, codes, offsets, out, out_offsets):
    out_curr = 0
    out_offsets[0] = 0
    for i in range(1, offsets.size):
        in_curr = offsets[i - 1]
        in_end = offsets[i]
        while in_curr + 4 <= in_end:
            next_block = (
                np.int64(codes[in_curr])
                | (np.int64(codes[in_curr + 1]) << 8)
                | (np.int64(codes[in_curr + 2]) << 16)
                | (np.int64(codes[in_curr + 3]) << 24)
            )
            # Bytes equal to 0xFF: top bit set and the low 7 bits all ones.
            escape_mask = (next_block & 0x80808080) & (
                (((next_block ^ 0xFFFFFFFF) & 0x7F7F7F7F) + 0x7F7F7F7F) ^ 0x80808080
            )
            if escape_mask == 0:
                for _ in range(4):
                    code = codes[in_curr]
                    _write_symbol(out, out_curr, symbols[code])
                    in_curr += 1
                    out_curr += lens[code]
            else:
                # trailing_zeros(escape_mask) >> 3: the first escaped byte of the four
                if escape_mask & 0x80:
                    first_escape_pos = 0
                elif escape_mask & 0x8000:
                    first_escape_pos = 1
                elif escape_mask & 0x800000:
                    first_escape_pos = 2
                else:
                    first_escape_pos = 3
                for _ in range(first_escape_pos):
                    code = codes[in_curr]
                    _write_symbol(out, out_curr, symbols[code])
                    in_curr += 1
                    out_curr += lens[code]
                in_curr += 2
                out[out_curr] = codes[in_curr - 1]
                out_curr += 1

        # handle the remaining bytes
        if in_curr + 2 <= in_end:
            out[out_curr] = codes[in_curr + 1]
            if codes[in_curr] != FSST_ESC:
                code = codes[in_curr]
                _write_symbol(out, out_curr, symbols[code])
                in_curr += 1
                out_curr += lens[code]
                if codes[in_curr] != FSST_ESC:
                    code = codes[in_curr]
                    _write_symbol(out, out_curr, symbols[code])
                    in_curr += 1
                    out_curr += lens[code]
                else:
                    in_curr += 2
                    out[out_curr] = codes[in_curr - 1]
                    out_curr += 1
            else:
                in_curr += 2
                out_curr += 1

        if in_curr < in_end:
            # last code cannot be an escape code
            code = codes[in_curr]
            _write_symbol(out, out_curr, symbols[code])
            out_curr += lens[code]
        out_offsets[i] = out_curr
    return out_curr


def fsst_decode(symbol_table, offsets, codes):
    symbols, lens, decoder_switch_on = parse_symbol_table(symbol_table)
    if not decoder_switch_on:
        return offsets.copy(), codes.copy()
    out = np.empty(codes.size * 8, dtype=np.uint8)  # "The data will expand at most 8 times"
    out_offsets = np.empty(offsets.size, dtype=offsets.dtype)
    out_len = _decompress_bulk(symbols, lens, codes, offsets, out, out_offsets)
    return out_offsets, out[:out_len]
