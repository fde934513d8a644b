"""expect: wrong

Classifies every code byte on its own, as a vectorized decoder is tempted to: 0xFF is an escape,
the byte after a 0xFF is a literal, anything else a symbol code. Exact on every stream without an
escaped literal 0xFF; an escaped 0xFF (255 255) swallows the literal and turns the next code into
a literal.
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
        for k in range(offsets[i - 1], offsets[i]):
            if codes[k] == FSST_ESC:
                continue  # an escape emits nothing itself
            if k > offsets[i - 1] and codes[k - 1] == FSST_ESC:
                out[out_curr] = codes[k]  # the byte after an escape is a literal
                out_curr += 1
            else:
                _write_symbol(out, out_curr, symbols[codes[k]])
                out_curr += lens[codes[k]]
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
