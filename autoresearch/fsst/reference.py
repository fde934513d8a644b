"""fsst reference: naive scalar loops, the oracle (do not edit).

Lance's FSST decoder (rust/compression/fsst/src/fsst.rs, a port of cwida/fsst): `FsstDecoder::init`
reads the serialized symbol table, `FsstDecoder::decompress` / `decompress_bulk` expand the codes
string by string. Called from rust/lance-encoding/src/encodings/physical/fsst.rs
(`FsstPerValueDecompressor`, the miniblock FSST decompressor).

Serialized table (FSST_SYMBOL_TABLE_SIZE = 8 + 256 * 8 + 256 = 2312 bytes, little-endian here):
a u64 header `"FSST" << 32 | encoder_switch << 24 | suffix_lim << 16 | terminator << 8 | n`, then
n symbols as u64 (byte j of the symbol is bits 8j..8j+7), then n length bytes (1..8), then zeros.
Codes: byte c < 255 stands for the first lengths[c] bytes of symbols[c]; 255 escapes the next byte,
which is copied literally. A code without a symbol (c >= n) has length 0, as in Lance's decoder.
With the encoder switch off (inputs under 32 KiB) the "codes" are the raw bytes and the offsets
are returned as given.
"""

import numpy as np
from numba import njit

SYMBOL_TABLE_SIZE = 8 + 256 * 8 + 256  # FSST_SYMBOL_TABLE_SIZE
FSST_MAGIC = 0x46535354 << 32  # "FSST" in the header's high 32 bits
FSST_CORRUPT = 32774747032022883  # Lance's filler for symbols past n ("corrupt", little-endian)
ESCAPE = 255  # FSST_ESC
OFFSET_TYPES = (np.int32, np.int64)  # Arrow string / large-string offsets


def parse_symbol_table(buf):
    """(symbols uint64[256], lengths uint8[256], encoder_switch bool) from the serialized table.

    Entries past the table's n symbols hold FSST_CORRUPT and length 0, as Lance's decoder state.
    """
    if not isinstance(buf, np.ndarray) or buf.ndim != 1 or buf.dtype != np.uint8:
        raise TypeError("the symbol table must be a 1-D uint8 array")
    if buf.size != SYMBOL_TABLE_SIZE:
        raise ValueError(f"the symbol table must have {SYMBOL_TABLE_SIZE} bytes, got {buf.size}")
    header = int.from_bytes(bytes(buf[:8]), "little")
    if header & FSST_MAGIC != FSST_MAGIC:
        raise ValueError("not an FSST symbol table (magic missing)")
    n = header & 255
    symbols = np.full(256, FSST_CORRUPT, dtype=np.uint64)
    lengths = np.zeros(256, dtype=np.uint8)
    for i in range(n):
        start = 8 + 8 * i
        symbols[i] = int.from_bytes(bytes(buf[start : start + 8]), "little")
    for i in range(n):
        lengths[i] = buf[8 + 8 * n + i]
        if not 1 <= lengths[i] <= 8:
            raise ValueError(f"symbol {i} has length {lengths[i]}, not 1..8")
    return symbols, lengths, bool((header >> 24) & 1)


@njit(cache=True)
def _decoded_sizes(lengths, offsets, codes, out_offsets):
    """out_offsets[i] = bytes of strings 0..i-1 once decoded; raises on a dangling escape."""
    out_offsets[0] = 0
    total = 0
    for s in range(1, offsets.size):
        i = offsets[s - 1]
        end = offsets[s]
        while i < end:
            if codes[i] == ESCAPE:
                if i + 1 >= end:
                    raise ValueError("a string ends with an escape code")
                total += 1
                i += 2
            else:
                total += lengths[codes[i]]
                i += 1
        out_offsets[s] = total
    return total


@njit(cache=True)
def _decode(symbols, lengths, offsets, codes, data):
    pos = 0
    for s in range(1, offsets.size):
        i = offsets[s - 1]
        end = offsets[s]
        while i < end:
            code = codes[i]
            if code == ESCAPE:
                data[pos] = codes[i + 1]
                pos += 1
                i += 2
            else:
                for j in range(lengths[code]):
                    data[pos] = (symbols[code] >> np.uint64(8 * j)) & np.uint64(0xFF)
                    pos += 1
                i += 1


def fsst_decode(symbol_table, offsets, codes):
    """(offsets, data): the decoded strings of an FSST-compressed string array.

    symbol_table: uint8[2312] (Lance's serialized table); offsets: int32 or int64 [num_strings + 1]
    into `codes` (uint8), non-decreasing, need not start at 0. Returns offsets of the same dtype
    starting at 0 and the uint8 bytes of the strings offsets[0]..offsets[-1], back to back; with
    the encoder switch off, copies of `offsets` and `codes` unchanged.
    """
    symbols, lengths, encoder_switch = parse_symbol_table(symbol_table)
    if not isinstance(offsets, np.ndarray) or offsets.ndim != 1 or offsets.size < 1:
        raise TypeError("offsets must be a 1-D array with at least one entry")
    if offsets.dtype.type not in OFFSET_TYPES:
        raise TypeError(f"offsets must be int32 or int64, got {offsets.dtype}")
    if not isinstance(codes, np.ndarray) or codes.ndim != 1 or codes.dtype != np.uint8:
        raise TypeError("codes must be a 1-D uint8 array")
    if not encoder_switch:
        return offsets.copy(), codes.copy()
    if np.any(np.diff(offsets) < 0) or offsets[0] < 0 or offsets[-1] > codes.size:
        raise ValueError("offsets must be non-decreasing and within the codes")
    out_offsets = np.empty(offsets.size, dtype=offsets.dtype)
    data = np.empty(_decoded_sizes(lengths, offsets, codes, out_offsets), dtype=np.uint8)
    _decode(symbols, lengths, offsets, codes, data)
    return out_offsets, data
