"""fsst kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of Lance's scalar decoder (rust/compression/fsst/src/fsst.rs):
`parse_symbol_table` is `FsstDecoder::init`, `_decompress_bulk` is `decompress_bulk`: per string,
four codes at a time while no byte of the four is the escape (a SWAR test on a u32), each code an
unaligned 8-byte store of its symbol followed by a length-sized advance; an escape copies one
literal byte; the last 1-3 codes go through Lance's tail path. (Since 2026-12-05: one code at a
time, no block test; since session 38: the unaligned 8-byte store is real again, through a
uint64 view of the output with a 1-byte stride; the page is decoded as one stream in chunks,
the offsets read from a position log.) Like Lance's adapter (physical/fsst.rs) the
output is allocated at 8x the codes and truncated afterwards.
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


_0 = np.uint64(0)
_1 = np.uint64(1)
_2 = np.uint64(2)
# lens[255] = 0x81: bit 7 marks the escape in a pair's length test, the low bits are its 1 byte.
_ESC_BIT = np.uint64(0x80)
_LEN_BITS = np.uint64(0x7F)
# Codes decoded per chunk: the chunk's position log (2050 uint64, 16 KiB) stays in L1.
_CHUNK = np.uint64(2048)
# A chunk of whole strings aims at _FILL codes (7/8 of a chunk, so the sum of its strings' codes
# rarely passes _CHUNK); the log holds 4096 entries so a masked index stays inside it.
_FILL = np.uint64(1792)
_LOG_MASK = np.uint64(4095)
_8 = np.uint64(8)
_BYTE = np.uint64(0xFF)
# glibc maps a block above 32 MiB (its largest mmap threshold) afresh on every malloc and unmaps
# it on free, so an 8x output buffer that large (a 16 MiB page: 43-75 MB) is page-faulted by
# every call; a smaller block, once freed, raises the threshold and is reused warm from the
# heap. Such a page gets a buffer sized from a sample of its codes instead (decoded size + 1/8)
# and is decoded in segments of whole strings, each checked to fit at 8 bytes a code before it
# starts (no test in the decode loop, which sits at the 15-register limit).
_MMAP_MAX = 32 << 20
_SEGMENT = 1 << 20  # codes a segment: 8 MB of room at worst
_WINDOWS = np.uint64(16)  # the sample: 16 windows of 256 codes spread over the page
_WINDOW = np.uint64(256)


@njit(**JIT)
def _decode_chunk(symbols, lens, codes, codes16, base, n, out8, pos, log):
    """Lance's loop over the n codes from `base`, one code at a time: `out8[pos]` is the 8 bytes
    at byte `pos` of the output (a uint64 view with a 1-byte stride, made by the caller), so each
    code is one unaligned 8-byte store of its whole symbol and an advance by its length; the
    bytes past the length are overwritten by the next code's store (or lie in the slack). An
    escape stores its literal byte the same way (`lens[255]` is 1). `log[j]` keeps the output
    position where code base + j starts (a store per code instead of a loop exit per string).
    Returns the codes consumed (n, or n + 1 when the chunk ends inside an escape) and the
    position. Every index and count is unsigned: numba wraps a signed index around when
    negative.

    Two codes a step while neither is an escape (one test on their two lengths, loaded anyway:
    the escape's has bit 7 set), their four stores grouped by cache line: the two log entries
    (adjacent), then the two symbols (2-16 bytes apart). One code at a time stores log, output,
    log, output: every store a different line from the one before, and the L1 commits two
    stores a cycle only when they go to the same line. An escape (and a chunk's odd last code)
    takes the one-code step."""
    # The view's stride is a runtime value to numba, so every output store's address was
    # pos * stride: a stack reload of the stride, an imul and a mov per store (26 instructions a
    # pair). Past this test LLVM knows the stride is 1 and stores at data + pos. The caller
    # always makes it 1 (this never raises). The same for codes16, the codes' 2-byte view
    # (written as one test on both, for the code layout: see the pair step's comment).
    if out8.strides[0] != codes16.strides[0] or out8.strides[0] != 1:
        raise ValueError("out8 and codes16 must be the 1-byte-stride views")
    j = _0
    last = n - _1  # read only when n >= 1
    # The loop's only test is the pair's `j < last` (j <= n - 2 implies j < n); the chunk's end
    # is tested on the one-code path. With `while j < n` LLVM kept both compares on the pair's
    # path (j < n at its back-edge, then j < last): one fused compare-branch a pair fewer.
    while True:
        if j < last:  # two codes left at least
            # Both codes from one 2-byte load (codes16[i] is codes i and i + 1): Zen 3's three
            # AGUs serve loads and stores alike, 10 memory ops a pair (6 loads, 4 stores) for 16
            # macro-ops; 9 for one ALU op more. (Run once as 01: 1 MiB words 0.954, hex 0.933,
            # emails 0.977, urls 0.980, but numbers 16 MiB 1.084: its gather loop, one pass a
            # string and numbers has a string every 3 codes, then straddled a 64-byte line at
            # 0x300, two op-cache fetches an iteration. The stride test below is written so
            # that it sits in one: 0x2d0-0x2ea of the page-aligned function, as in the base.)
            w = np.uint64(codes16[base + j])
            c0 = w & _BYTE
            c1 = w >> _8
            l0 = np.uint64(lens[c0])
            # A plain length is 0..8 and the escape's 0x81, so the two lengths' sum is under
            # 0x80 exactly when neither code is an escape: one lea gives both the test and the
            # pair's advance (instead of mov, or, test and a second add).
            step = l0 + np.uint64(lens[c1])
            if step < _ESC_BIT:
                s0 = symbols[c0]
                s1 = symbols[c1]
                p1 = pos + l0
                log[j] = pos
                log[j + _1] = p1
                out8[pos] = s0
                out8[p1] = s1
                pos += step
                j += _2
                continue
        if j >= n:  # the chunk is done (j = n, or n + 1 when its last code was an escape)
            break
        log[j] = pos
        code = codes[base + j]
        j += _1
        sym = symbols[code]
        if code == FSST_ESC:
            log[j] = pos  # the literal's index: never where a string starts
            sym = np.uint64(codes[base + j])
            j += _1
        out8[pos] = sym
        pos += np.uint64(lens[code]) & _LEN_BITS
    log[j] = pos
    return j, pos


@njit(**JIT)
def _sampled_size(lens, codes, base, n):
    """The decoded bytes of the n codes from `base`, estimated from _WINDOWS windows of
    _WINDOW codes spread over them (or 8 bytes a code for fewer). An escape counts its 1 byte and
    its literal one code's length: an estimate only, each segment is checked to fit."""
    if n < _WINDOWS * _WINDOW:
        return np.uint64(8) * n
    gap = (n - _WINDOW) // (_WINDOWS - _1)
    total = _0
    for i in range(int(_WINDOWS)):
        start = base + np.uint64(i) * gap
        for t in range(int(_WINDOW)):
            total += np.uint64(lens[codes[start + np.uint64(t)]]) & _LEN_BITS
    return total * n // (_WINDOWS * _WINDOW)


@njit(**JIT)
def _decompress_bulk(
    symbols, lens, codes, codes16, offsets, out8, out_offsets, log, u, n_strings, pos
):
    """Strings u..n_strings (a whole page, or a segment of it) decoded from output position pos
    as one stream (no escape spans two strings, so the strings' bytes come out back to back) in
    chunks of _CHUNK codes; after each chunk the offsets of the strings ending in it are read
    from its position log. Per string this is a few loads and a store instead of an inner-loop
    exit the branch predictor misses on every string of varying length (numbers: 3 codes per
    string). Returns the output position after them."""
    out_offsets[0] = 0
    base = np.uint64(offsets[u - _1])
    stop = np.uint64(offsets[n_strings])
    # Chunks of whole strings: per_chunk strings hold about _FILL codes at the page's average
    # codes per string. Their ends are then a counted run u..v of offsets, gathered with no
    # test per string (8 instructions a string instead of 13: numbers have 3 codes a string).
    # A run that passes _CHUNK codes (or holds none) takes a chunk of _CHUNK codes whose ends
    # are scanned for, as before. One call site, so LLVM inlines the decode loop once.
    per_chunk = _1
    if stop > base:
        per_chunk = max(_1, _FILL * (n_strings - u + _1) // (stop - base))
    while base < stop:
        v = min(u + per_chunk - _1, n_strings)  # the chunk ends where string v does
        n = np.uint64(offsets[v]) - base
        whole = _0 < n <= _CHUNK
        if not whole:
            n = min(_CHUNK, stop - base)
        consumed, pos = _decode_chunk(symbols, lens, codes, codes16, base, n, out8, pos, log)
        if whole:  # the mask only keeps a malformed (decreasing) offset inside the log
            while u <= v:
                out_offsets[u] = log[(np.uint64(offsets[u]) - base) & _LOG_MASK]
                u += _1
        else:  # string ends in [base, base + n]; every earlier one was filled in before
            while u <= n_strings and np.uint64(offsets[u]) - base <= n:
                out_offsets[u] = log[np.uint64(offsets[u]) - base]
                u += _1
        base += consumed
    while u <= n_strings:  # only empty strings left (or no codes at all)
        out_offsets[u] = pos
        u += _1
    return pos


def fsst_decode(symbol_table, offsets, codes):
    symbols, lens, decoder_switch_on = parse_symbol_table(symbol_table)
    if not decoder_switch_on:
        return offsets.copy(), codes.copy()
    lens[FSST_ESC] = 0x81  # an escape writes one literal byte; bit 7 flags it (_ESC_BIT)
    # codes16[i] = codes i and i + 1 (little-endian): the 1-byte-stride trick again, read only
    # where two codes are left (i <= codes.size - 2).
    codes = np.ascontiguousarray(codes)
    codes16 = np.ndarray((max(codes.size - 1, 0),), dtype=np.uint16, buffer=codes, strides=(1,))
    out_offsets = np.empty(offsets.size, dtype=offsets.dtype)
    log = np.empty(int(_LOG_MASK) + 1, dtype=np.uint64)
    # At most 8 bytes per code ("the data will expand at most 8 times"); a store at the last
    # position writes 7 bytes past it: 8 bytes of slack.
    n_pos = 8 * (int(offsets[-1]) - int(offsets[0])) + 1
    if n_pos > _MMAP_MAX:
        return _decode_sized(symbols, lens, codes, codes16, offsets, out_offsets, log)
    buf = np.empty(n_pos + 7, dtype=np.uint8)
    # out8[p] = the 8 bytes buf[p:p + 8] as a little-endian uint64: numba has no unaligned-store
    # intrinsic we may use, but an array whose stride (1) is not its itemsize (8) gives one plain
    # 8-byte store per element. numpy checks that the view stays inside `buf`.
    out8 = np.ndarray((n_pos,), dtype=np.uint64, buffer=buf, strides=(1,))
    n_strings = np.uint64(offsets.size - 1)
    args = (out8, out_offsets, log, _1, n_strings, _0)
    out_len = int(_decompress_bulk(symbols, lens, codes, codes16, offsets, *args))
    return out_offsets, buf[:out_len]


@njit(**JIT)
def _segment_end(offsets, u, target):
    """The first string v >= u whose end offsets[v] is at or past `target` (the last string if
    none): a binary search (np.searchsorted would first convert int32 offsets to int64, a copy
    of the whole array per segment)."""
    lo = u
    hi = offsets.size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if offsets[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _decode_sized(symbols, lens, codes, codes16, offsets, out_offsets, log):
    """A page whose 8x buffer passes _MMAP_MAX: the buffer sized from a sample of its codes
    (1/8 of margin and room for one segment at 8 bytes a code), the strings decoded in segments
    of about _SEGMENT codes, each checked to fit before it starts; grown once if the sample
    fell short."""
    n_strings = offsets.size - 1
    first, stop = int(offsets[0]), int(offsets[-1])
    est = int(_sampled_size(lens, codes, np.uint64(first), np.uint64(stop - first)))
    n_pos = min(8 * (stop - first), est + est // 8 + 8 * _SEGMENT) + 1
    buf = np.empty(n_pos + 7, dtype=np.uint8)
    u, pos = 1, 0
    while u <= n_strings:
        # Strings u..v: v is the first to end _SEGMENT codes or more past their start (a string
        # longer than a segment is one on its own).
        start = int(offsets[u - 1])
        v = int(_segment_end(offsets, u, start + _SEGMENT))
        if pos + 8 * (int(offsets[v]) - start) + 1 > n_pos:  # the rest at 8 bytes a code
            n_pos = pos + 8 * (stop - start) + 1
            grown = np.empty(n_pos + 7, dtype=np.uint8)
            grown[:pos] = buf[:pos]
            buf = grown
        out8 = np.ndarray((n_pos,), dtype=np.uint64, buffer=buf, strides=(1,))
        args = (out8, out_offsets, log, np.uint64(u), np.uint64(v), np.uint64(pos))
        pos = int(_decompress_bulk(symbols, lens, codes, codes16, offsets, *args))
        u = v + 1
    return out_offsets, buf[:pos]
