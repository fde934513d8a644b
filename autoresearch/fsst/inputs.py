"""fsst inputs: text-like corpora, an FSST encoder that trains a real symbol table, the speed
workload and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here. The encoder is
the inputs side (never timed), written from the FSST paper (Boncz, Neumann, Leis, PVLDB 2020) and
Lance's build_symbol_table / finalize / export (rust/compression/fsst/src/fsst.rs), simplified:
- sample: whole strings drawn at random until about 16 KiB;
- rounds: greedy longest-match parse of the sample with the current table (bytes no symbol covers
  are escapes), count every code and every pair of consecutive codes (plus a code followed by the
  next code's first byte), then keep the 255 candidates of highest gain = count x length (single
  bytes x8, as Lance does), candidates being the symbols seen and their concatenations cut to 8
  bytes; the table that compressed the sample best wins;
- finalize: codes renumbered by symbol length (2..8, then 1; 2-byte symbols that prefix a longer
  one first), as Lance's `finalize` does, so code streams look like Lance's;
- encode: greedy longest match per string; 255 escapes a byte no symbol covers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import njit

from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

CORPORA = ["words", "urls", "emails", "hex_ids", "numbers"]  # what the strings look like
SIZES = [1 << 20, 16 << 20]  # uncompressed bytes per page: 1 MiB (cache-resident), 16 MiB
SPEED_SEED = 0xF5577  # the speed workload's seed (correctness uses fresh ones too)
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "FsstDecode": SpeedWorkload(
        "workload",
        {
            "corpus": CORPORA,  # what the strings look like (words, urls, emails, hex ids, numbers)
            "size": SIZES,  # uncompressed bytes of the page: 1 MiB (cache-resident) and 16 MiB
        },
    ),
}

# FSST constants (rust/compression/fsst/src/fsst.rs)
SYMBOL_TABLE_SIZE = 8 + 256 * 8 + 256
FSST_MAGIC = 0x46535354 << 32
ESCAPE = 255
MAX_SYMBOLS = 255
MAX_SYMBOL_LENGTH = 8
SAMPLE_TARGET = 1 << 14  # FSST_SAMPLETARGET: bytes of whole strings the table is trained on
LEAST_INPUT_SIZE = 32 * 1024  # FSST_LEAST_INPUT_SIZE: smaller pages are stored raw
ROUND_FRACS = (8, 38, 68, 98, 128)  # the paper's five rounds; the last one only evaluates
SINGLE_BYTE_BOOST = 8  # Lance/paper heuristic: single-byte candidates count 8x

CASE_SIZE = 48 << 10  # correctness corpora: above the sample size, small enough for tests

# ---------------------------------------------------------------------------
# Corpora (SplitMix64 only)
# ---------------------------------------------------------------------------

LETTERS = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
LETTER_WEIGHTS = np.array(
    [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0,
     1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
)  # fmt: skip
TLDS = ["com", "org", "net", "io", "de", "co.uk"]
MAIL_HOSTS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "proton.me"]
ZIPF_S = 1.1  # word-frequency exponent


def _choice(rng: SplitMix64, n: int, weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.uniform(n), side="right"), len(cdf) - 1)


def zipf_ids(rng: SplitMix64, n: int, size: int, s: float = ZIPF_S) -> np.ndarray:
    """int64[n] in [0, size), rank r drawn with weight 1 / (r + 1)**s."""
    return _choice(rng, n, 1.0 / np.arange(1, size + 1, dtype=np.float64) ** s)


def vocabulary(rng: SplitMix64, size: int, min_len: int = 2, max_len: int = 10) -> list[str]:
    """Distinct pseudo-words (letters by English frequency), most frequent rank first: ranks
    follow length plus noise, so frequent words tend to be short, as in real text."""
    words: dict[str, None] = {}  # insertion-ordered: the order words were drawn in
    while len(words) < size:
        lengths = min_len + rng.integers(size, max_len - min_len + 1)
        letters = LETTERS[_choice(rng, int(lengths.sum()), LETTER_WEIGHTS)].tobytes().decode()
        ends = np.cumsum(lengths)
        for e, k in zip(ends, lengths, strict=True):
            words.setdefault(letters[e - k : e], None)
    drawn = list(words)[:size]
    rank_key = np.array([len(w) for w in drawn]) + 4.0 * rng.uniform(size)
    return [drawn[i] for i in np.argsort(rank_key, kind="stable")]


def _numbers(rng: SplitMix64, n: int) -> list[str]:
    """Decimal numbers: log-uniform magnitudes, 10% negative, 30% with two decimals."""
    magnitude = np.floor(10.0 ** rng.uniform(n, 0.0, 9.0)).astype(np.int64)
    negative = rng.uniform(n) < 0.1
    cents = rng.integers(n, 100)
    decimal = rng.uniform(n) < 0.3
    return [
        ("-" if neg else "") + (f"{m}.{c:02d}" if dec else str(m))
        for m, neg, c, dec in zip(magnitude, negative, cents, decimal, strict=True)
    ]


def generate_strings(rng: SplitMix64, corpus: str, n: int) -> list[str]:
    """n strings of one corpus kind."""
    if corpus == "words":  # sentences of Zipf words, some capitalized (names), some commas
        vocab = vocabulary(rng, 4096, 1, 12)
        counts = 4 + rng.integers(n, 20)
        total = int(counts.sum())
        ids = zipf_ids(rng, total, len(vocab))
        style = _choice(rng, total, np.array([88.0, 6.0, 6.0]))  # plain, Capitalized, comma after
        words = [
            vocab[i].capitalize() if st == 1 else vocab[i] + "," if st == 2 else vocab[i]
            for i, st in zip(ids, style, strict=True)
        ]
        ends = np.cumsum(counts)
        return [
            " ".join(words[e - k : e]).capitalize() + "." for e, k in zip(ends, counts, strict=True)
        ]
    if corpus == "urls":
        vocab = vocabulary(rng, 2048, 3, 9)
        hosts = zipf_ids(rng, n, 400)
        tlds = _choice(rng, n, np.array([50, 15, 10, 8, 8, 9]))
        depth = 1 + rng.integers(n, 4)
        parts = zipf_ids(rng, int(depth.sum()), len(vocab))
        query = rng.uniform(n) < 0.4
        ids = rng.integers(n, 100_000)
        ends = np.cumsum(depth)
        sub = ["www.", "", "api.", "cdn."]
        subs = _choice(rng, n, np.array([60, 25, 10, 5]))
        return [
            f"https://{sub[s]}{vocab[h]}.{TLDS[t]}/"
            + "/".join(vocab[p] for p in parts[e - k : e])
            + (f"?id={i}" if q else ".html")
            for s, h, t, e, k, q, i in zip(subs, hosts, tlds, ends, depth, query, ids, strict=True)
        ]
    if corpus == "emails":
        first = vocabulary(rng, 300, 3, 7)
        last = vocabulary(rng, 1000, 4, 9)
        company = vocabulary(rng, 200, 4, 8)
        f, la = zipf_ids(rng, n, len(first)), zipf_ids(rng, n, len(last))
        digits = rng.integers(n, 10_000)
        has_digits = rng.uniform(n) < 0.35
        free = rng.uniform(n) < 0.6
        hosts = _choice(rng, n, np.array([40, 20, 20, 15, 5]))
        comp = zipf_ids(rng, n, len(company))
        return [
            f"{first[a]}.{last[b]}{d if hd else ''}@"
            + (MAIL_HOSTS[h] if fr else f"{company[c]}.com")
            for a, b, d, hd, fr, h, c in zip(
                f, la, digits, has_digits, free, hosts, comp, strict=True
            )
        ]
    if corpus == "hex_ids":  # UUID-shaped random ids
        raw = rng.u64(2 * n)
        return [
            f"{hi:016x}{lo:016x}"[:8] + "-" + f"{hi:016x}"[8:12] + "-" + f"{hi:016x}"[12:16]
            + "-" + f"{lo:016x}"[:4] + "-" + f"{lo:016x}"[4:]
            for hi, lo in zip(raw[0::2], raw[1::2], strict=True)
        ]  # fmt: skip
    if corpus == "numbers":
        return _numbers(rng, n)
    if corpus == "short":  # 0-5 bytes: empty strings and the decoder's tail paths
        letters = vocabulary(rng, 64, 1, 5)
        pick = rng.integers(n, len(letters) + 1)
        return ["" if p == len(letters) else letters[p] for p in pick]
    raise ValueError(f"unknown corpus {corpus!r}")


def corpus(rng: SplitMix64, kind: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 data, int64 offsets) of whole strings of one kind, about `size` bytes in all."""
    strings: list[str] = []
    total = 0
    while total < size:
        batch = generate_strings(rng, kind, max(64, (size - total) // 24))
        for s in batch:
            strings.append(s)
            total += len(s)
            if total >= size:
                break
    return strings_to_arrays([s.encode() for s in strings])


def strings_to_arrays(strings: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = np.frombuffer(b"".join(strings), dtype=np.uint8).copy()
    return data, offsets


# ---------------------------------------------------------------------------
# Symbol table: matching, training, serialization
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SymbolTable:
    values: np.ndarray  # uint64[n]: symbol bytes, little-endian, zero past the length
    lengths: np.ndarray  # int64[n], 1..8
    terminator: int = 0  # Lance's least frequent sample byte (header only)
    suffix_lim: int = 0  # Lance's count of 2-byte codes that prefix a longer symbol (header only)


def symbol_value(b: bytes) -> int:
    return int.from_bytes(b[:MAX_SYMBOL_LENGTH], "little")


def _match_index(values: np.ndarray, lengths: np.ndarray):
    """Symbols sorted by (first byte, longest first) with per-first-byte bucket starts."""
    first = (values & np.uint64(0xFF)).astype(np.int64)
    order = np.lexsort((-lengths, first)) if values.size else np.zeros(0, dtype=np.int64)
    starts = np.searchsorted(first[order], np.arange(257)).astype(np.int64)
    return order.astype(np.int64), starts


@njit(cache=True)
def _parse(data, offsets, values, lengths, order, starts, codes, string_of):
    """Greedy longest match of every string; codes[k] = symbol index, or -1 - byte for an escape.

    Returns the number of codes written; string_of[k] is the string code k belongs to.
    """
    k = 0
    for s in range(offsets.size - 1):
        p = offsets[s]
        end = offsets[s + 1]
        while p < end:
            avail = min(8, end - p)
            word = np.uint64(0)
            for b in range(avail):
                word |= np.uint64(data[p + b]) << np.uint64(8 * b)
            found = -1
            first = data[p]
            for j in range(starts[first], starts[first + 1]):
                sym = order[j]
                n = lengths[sym]
                if n > avail:
                    continue
                mask = np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(64 - 8 * n)
                if (word & mask) == values[sym]:
                    found = sym
                    break
            if found >= 0:
                codes[k] = found
                p += lengths[found]
            else:
                codes[k] = -1 - np.int64(first)
                p += 1
            string_of[k] = s
            k += 1
    return k


def parse(table: SymbolTable, data: np.ndarray, offsets: np.ndarray):
    """(codes, string_of): the greedy parse of every string (escapes as -1 - byte)."""
    order, starts = _match_index(table.values, table.lengths)
    span = int(offsets[-1] - offsets[0])
    codes = np.empty(span, dtype=np.int64)
    string_of = np.empty(span, dtype=np.int64)
    values = table.values if table.values.size else np.zeros(1, dtype=np.uint64)
    lengths = table.lengths if table.lengths.size else np.ones(1, dtype=np.int64)
    k = _parse(data, offsets.astype(np.int64), values, lengths, order, starts, codes, string_of)
    return codes[:k], string_of[:k]


def _symbol_of(table: SymbolTable, code: int) -> tuple[int, int]:
    """(value, length) of a parse code: a table symbol, or the single escaped byte."""
    if code < 0:
        return -1 - code, 1
    return int(table.values[code]), int(table.lengths[code])


def _concat(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    length = min(a[1] + b[1], MAX_SYMBOL_LENGTH)
    value = (a[0] | (b[0] << (8 * a[1]))) & ((1 << (8 * length)) - 1)
    return value, length


def _candidates(table: SymbolTable, codes, string_of, data, offsets, frac: int) -> dict:
    """Gain of every candidate symbol: those this parse used and their concatenations.

    Pairs are consecutive codes of one string (a, b): candidates a+b, and a + the first byte of b
    when b is longer than one byte. Strings are contiguous in `data`, so code k starts at byte
    offsets[0] + (bytes of codes 0..k-1).
    """
    min_count = 5 * frac / 128
    gains: dict[tuple[int, int], int] = {}

    def add(sym, count):
        if count >= min_count:
            gains[sym] = gains.get(sym, 0) + count * sym[1]

    def symbol(key):  # key: escaped byte 0..255, or 256 + symbol index
        return _symbol_of(table, int(key) - 256 if key >= 256 else -1 - int(key))

    keys = np.where(codes < 0, -1 - codes, 256 + codes)
    for key, count in zip(*np.unique(keys, return_counts=True), strict=True):
        sym = symbol(key)
        add(sym, int(count) * (SINGLE_BYTE_BOOST if sym[1] == 1 else 1))
    if codes.size < 2:
        return gains
    with_escape = np.concatenate([table.lengths, [1]])  # index -1: an escaped byte
    code_lengths = with_escape[np.where(codes >= 0, codes, -1)]
    starts = offsets[0] + np.concatenate([[0], np.cumsum(code_lengths)[:-1]])
    first_byte = data[starts].astype(np.int64)
    same = string_of[1:] == string_of[:-1]
    prev, curr, curr_first = keys[:-1][same], keys[1:][same], first_byte[1:][same]
    longer = code_lengths[1:][same] > 1
    for pairs in (prev * 512 + curr, (prev * 512 + curr_first)[longer]):
        for pair, count in zip(*np.unique(pairs, return_counts=True), strict=True):
            a, b = divmod(int(pair), 512)
            sa = symbol(a)
            if sa[1] < MAX_SYMBOL_LENGTH:
                add(_concat(sa, symbol(b)), int(count))
    return gains


def _compressed_size(table: SymbolTable, codes: np.ndarray) -> int:
    return int(codes.size + np.count_nonzero(codes < 0))  # an escape takes two bytes


def finalize(values: list[int], lengths: list[int], terminator: int) -> SymbolTable:
    """Codes renumbered as Lance's `finalize`: 2-byte symbols that prefix a longer one first, then
    the other 2-byte ones, then lengths 3..8, then single bytes."""
    syms = list(zip(values, lengths, strict=True))
    long_prefixes = {v & 0xFFFF for v, n in syms if n > 2}
    two_with_suffix = sorted(s for s in syms if s[1] == 2 and s[0] in long_prefixes)
    two_plain = sorted(s for s in syms if s[1] == 2 and s[0] not in long_prefixes)
    rest = sorted((s for s in syms if s[1] != 2), key=lambda s: (s[1] == 1, s[1], s[0]))
    ordered = two_with_suffix + two_plain + rest
    return SymbolTable(
        np.array([v for v, _ in ordered], dtype=np.uint64),
        np.array([n for _, n in ordered], dtype=np.int64),
        terminator,
        len(two_with_suffix),
    )


def sample_strings(rng: SplitMix64, data: np.ndarray, offsets: np.ndarray):
    """Whole strings drawn at random (with replacement) until SAMPLE_TARGET bytes (Lance's
    make_sample); the whole input when it is smaller."""
    if offsets[-1] - offsets[0] <= SAMPLE_TARGET:
        return data, offsets
    picked, total = [], 0
    count = offsets.size - 1
    while total < SAMPLE_TARGET:
        for s in rng.integers(64, count):
            piece = data[offsets[s] : offsets[s + 1]]
            picked.append(piece.tobytes())
            total += piece.size
            if total >= SAMPLE_TARGET:
                break
    return strings_to_arrays(picked)


def train(rng: SplitMix64, data: np.ndarray, offsets: np.ndarray) -> SymbolTable:
    """A symbol table for these strings (the paper's rounds over a sample)."""
    sample, sample_offsets = sample_strings(rng, data, offsets)
    histogram = np.bincount(sample, minlength=256)
    terminator = int(np.argmin(histogram))
    empty = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    table = SymbolTable(*empty)
    best, best_size = table, None
    for frac in ROUND_FRACS:
        codes, string_of = parse(table, sample, sample_offsets)
        size = _compressed_size(table, codes)
        if best_size is None or size <= best_size:
            best, best_size = table, size
        if frac == ROUND_FRACS[-1]:
            break
        gains = _candidates(table, codes, string_of, sample, sample_offsets, frac)
        chosen = sorted(gains.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:MAX_SYMBOLS]
        table = SymbolTable(
            np.array([v for (v, _), _ in chosen], dtype=np.uint64),
            np.array([n for (_, n), _ in chosen], dtype=np.int64),
        )
    return finalize(best.values.tolist(), best.lengths.tolist(), terminator)


def serialize(table: SymbolTable, encoder_switch: bool = True) -> np.ndarray:
    """uint8[2312]: Lance's `FsstEncoder::export` (little-endian)."""
    n = table.values.size
    header = (
        FSST_MAGIC
        | (int(encoder_switch) << 24)
        | ((table.suffix_lim & 255) << 16)
        | ((table.terminator & 255) << 8)
        | (n & 255)
    )
    buf = np.zeros(SYMBOL_TABLE_SIZE, dtype=np.uint8)
    buf[:8] = np.frombuffer(header.to_bytes(8, "little"), dtype=np.uint8)
    buf[8 : 8 + 8 * n] = table.values.astype("<u8").view(np.uint8)
    buf[8 + 8 * n : 8 + 9 * n] = table.lengths
    return buf


def encode(table: SymbolTable, data: np.ndarray, offsets: np.ndarray):
    """(offsets int64, codes uint8): every string compressed on its own, greedy longest match."""
    codes, string_of = parse(table, data, offsets)
    escapes = codes < 0
    out = np.empty(codes.size + int(escapes.sum()), dtype=np.uint8)
    where = np.arange(codes.size) + np.concatenate([[0], np.cumsum(escapes)[:-1]])
    out[where] = np.where(escapes, ESCAPE, codes).astype(np.uint8)
    out[where[escapes] + 1] = (-1 - codes[escapes]).astype(np.uint8)
    per_string = np.bincount(string_of, weights=1 + escapes, minlength=offsets.size - 1)
    out_offsets = np.concatenate([[0], np.cumsum(per_string)]).astype(np.int64)
    return out_offsets, out


def compress(rng: SplitMix64, data: np.ndarray, offsets: np.ndarray, min_input=LEAST_INPUT_SIZE):
    """(symbol table bytes, offsets, codes) as Lance's `fsst::compress`: pages under
    `min_input` bytes go out raw with the encoder switch off."""
    if data.size < min_input:
        empty = SymbolTable(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
        return serialize(empty, encoder_switch=False), offsets.copy(), data.copy()
    table = train(rng, data, offsets)
    out_offsets, codes = encode(table, data, offsets)
    return serialize(table), out_offsets, codes


# ---------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    symbol_table: np.ndarray  # uint8[2312]
    offsets: np.ndarray  # int32[num_strings + 1] into codes
    codes: np.ndarray  # uint8
    data: np.ndarray  # the strings' bytes (what decoding gives back)


def build(rng: SplitMix64, kind: str, size: int, offset_type=np.int32) -> dict:
    data, offsets = corpus(rng.spawn("corpus"), kind, size)
    table, code_offsets, codes = compress(rng.spawn("train"), data, offsets)
    return {
        "symbol_table": table,
        "offsets": code_offsets.astype(offset_type),
        "codes": codes,
        "data": data,
    }


@functools.lru_cache(maxsize=2)
def workload(kind: str, size: int) -> Workload:
    """The speed workload of one combination (cached per process; never mutate it)."""
    key = f"{kind} {size}"

    def make():
        return build(SplitMix64(SPEED_SEED).spawn(key), kind, size)

    return Workload(**cached_arrays(__file__, key, make))


def perturbable(w: Workload) -> list[np.ndarray]:
    """Arrays the oracle may change one element of and still have a valid page: offsets (a copied
    neighbour keeps them non-decreasing) and codes; never the table, whose header and length
    bytes describe the rest of it."""
    return [w.offsets, w.codes]


def search(impl, w: Workload):
    """What one timed call does: decode the whole page."""
    return impl.fsst_decode(w.symbol_table, w.offsets, w.codes)


def judged_calls(impl, w: Workload) -> list:
    """What outputs calls beyond one timed call: the table parsed (warmed before the pairing's
    checks, which may compile nothing)."""
    return [impl.parse_symbol_table(w.symbol_table)]


def outputs(impl, w: Workload) -> list:
    """The decoded page and the parsed table (what track_mismatches compares)."""
    return [search(impl, w), *judged_calls(impl, w)]


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def random_table(rng: SplitMix64, n: int, lengths: np.ndarray | None = None) -> SymbolTable:
    """n random symbols of random bytes (any byte, 0xFF included), lengths 1..8 unless given."""
    if lengths is None:
        lengths = 1 + rng.integers(n, MAX_SYMBOL_LENGTH)
    lengths = np.asarray(lengths, dtype=np.int64)
    keep = np.where(
        lengths >= 8,
        ~np.uint64(0),
        (np.uint64(1) << (8 * lengths).astype(np.uint64)) - np.uint64(1),
    )
    return SymbolTable(rng.u64(n) & keep, lengths)


def random_stream(rng: SplitMix64, string_bytes: np.ndarray, code_high: int, escape_rate: float):
    """(offsets, codes): strings of exactly these code-byte lengths, codes uniform in
    [0, code_high), each position starting an escape (255 + any byte) with escape_rate when two
    bytes are left; a string never ends in a dangling escape."""
    total = int(string_bytes.sum())
    codes = (rng.integers(total, code_high) if code_high else np.zeros(total, np.int64)).astype(
        np.uint8
    )
    literal = rng.integers(total, 256).astype(np.uint8)
    start_escape = rng.uniform(total) < escape_rate
    offsets = np.concatenate([[0], np.cumsum(string_bytes)]).astype(np.int64)
    for s in range(string_bytes.size):
        i, end = int(offsets[s]), int(offsets[s + 1])
        while i < end:
            if end - i >= 2 and (start_escape[i] or code_high == 0):
                codes[i], codes[i + 1] = ESCAPE, literal[i]
                i += 2
            else:
                codes[i] = codes[i] if code_high else ESCAPE  # only reached with a table
                i += 1
    return offsets, codes


def _permuted(rng: SplitMix64, offsets: np.ndarray, codes: np.ndarray):
    """The same strings' codes in a random order: every seed gives the same shapes, new bytes."""
    lengths = np.diff(offsets)
    order = rng.permutation(lengths.size)
    new_offsets = np.concatenate([[0], np.cumsum(lengths[order])]).astype(np.int64)
    shift = np.repeat(offsets[:-1][order] - new_offsets[:-1], lengths[order])
    return new_offsets, codes[np.arange(shift.size) + shift] if shift.size else codes[:0].copy()


def _with_high_bytes(rng: SplitMix64, data, offsets):
    """Every string with bytes 0x80..0xFF (0xFF often) inserted: escapes of literal 0xFF."""
    out = []
    for s in range(offsets.size - 1):
        piece = bytearray(data[offsets[s] : offsets[s + 1]].tobytes())
        for _ in range(int(rng.integers(1, 3)[0])):
            byte = 0xFF if rng.uniform(1)[0] < 0.5 else 0x80 + int(rng.integers(1, 127)[0])
            piece.insert(int(rng.integers(1, len(piece) + 1)[0]), byte)
        out.append(bytes(piece))
    return strings_to_arrays(out)


def _case_base(label: str, kind: str) -> dict:
    """A page fixed per case (table, offsets, codes): trained once, cached on disk."""

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(label)
        if kind == "high_bytes":  # table trained on clean words, data with bytes it never saw
            data, offsets = corpus(rng.spawn("corpus"), "words", CASE_SIZE)
            table = train(rng.spawn("train"), data, offsets)
            code_offsets, codes = encode(table, *_with_high_bytes(rng, data, offsets))
            return {"table": serialize(table), "offsets": code_offsets, "codes": codes}
        if kind == "raw":  # under 32 KiB: Lance stores the bytes raw, encoder switch off
            data, offsets = corpus(rng.spawn("corpus"), "urls", 8 << 10)
            table, offsets, codes = compress(rng.spawn("train"), data, offsets)
            return {"table": table, "offsets": offsets, "codes": codes}
        data, offsets = corpus(rng.spawn("corpus"), kind, CASE_SIZE)
        table, offsets, codes = compress(rng.spawn("train"), data, offsets, min_input=0)
        return {"table": table, "offsets": offsets, "codes": codes}

    return cached_arrays(__file__, f"case {label} {kind}", make)


def _decode_case(label, kind, offset_type=np.int32, view=None, held_out=True) -> Case:
    def make(rng):
        base = _case_base(label, kind)
        offsets, codes = _permuted(rng, base["offsets"], base["codes"])
        if kind == "raw":  # raw bytes are not code segments: keep them, offsets as stored
            offsets, codes = base["offsets"].copy(), base["codes"].copy()
            codes[:] = np.roll(codes, int(rng.integers(1, codes.size)[0]))
        offsets = offsets.astype(offset_type)
        if view == "sliced":  # strings 100.. of the page: offsets start past 0
            offsets = offsets[100:-50]
        elif view == "strided":  # every other boundary: pairs of strings as one, a strided view
            offsets = offsets[::2]
        elif view == "unaligned":  # codes one byte into their buffer
            wider = np.zeros(codes.size + 1, dtype=np.uint8)
            wider[1:] = codes
            codes = wider[1:]
        return (base["table"].copy(), offsets, codes)

    # The table's header and length bytes describe the rest: one copied byte can break the page.
    return Case(
        f"fsst_decode {label}", "fsst_decode", make, held_out=held_out, partial_change=False
    )


def _stream_case(label, n_symbols, code_high, escape_rate, string_bytes) -> Case:
    """A random table and random code streams (escapes anywhere, any literal byte)."""

    def make(rng):
        table = random_table(rng, n_symbols)
        offsets, codes = random_stream(rng, np.asarray(string_bytes), code_high, escape_rate)
        return (serialize(table), offsets.astype(np.int32), codes)

    return Case(f"fsst_decode {label}", "fsst_decode", make, held_out=True, partial_change=False)


def _parse_case(label, n_symbols, encoder_switch=True, held_out=True) -> Case:
    def make(rng):
        return (serialize(random_table(rng, n_symbols), encoder_switch),)

    return Case(f"parse_symbol_table {label}", "parse_symbol_table", make, held_out=held_out)


def _fixed_lengths(label: str, n: int, high: int) -> list:
    return SplitMix64(SPEED_SEED).spawn(label).integers(n, high).tolist()


def correctness_cases() -> list[Case]:
    cases = [_decode_case(kind, kind, held_out=False) for kind in CORPORA]
    cases += [_parse_case("100 symbols", 100, held_out=False)]
    cases += [
        _decode_case("short strings and empties", "short"),
        _decode_case("int64 offsets", "words", offset_type=np.int64),
        _decode_case("sliced offsets (not from 0)", "urls", view="sliced"),
        _decode_case("strided offsets view", "emails", offset_type=np.int64, view="strided"),
        _decode_case("unaligned codes", "numbers", view="unaligned"),
        _decode_case("escaped literal 0xFF bytes", "high_bytes"),
        _decode_case("encoder switch off: raw bytes", "raw"),
        _decode_case("encoder switch off, sliced", "raw", offset_type=np.int64, view="sliced"),
        _stream_case(
            "random: 255 symbols, 10% escapes", 255, 255, 0.1, _fixed_lengths("a", 3000, 40)
        ),
        _stream_case("random: escape runs", 255, 255, 0.6, _fixed_lengths("b", 2000, 12)),
        _stream_case(
            "random: codes past a 40-symbol table", 40, 255, 0.05, _fixed_lengths("c", 2000, 30)
        ),
        _stream_case(
            "no symbols: every byte escaped",
            0,
            0,
            1.0,
            [2 * k for k in _fixed_lengths("d", 500, 20)],
        ),
        _stream_case("one string", 255, 255, 0.1, [1001]),
        _stream_case("one code", 255, 255, 0.0, [1]),
        _stream_case("zero strings", 255, 255, 0.1, []),
        _stream_case("only empty strings", 255, 255, 0.1, [0] * 17),
        _parse_case("0 symbols", 0),
        _parse_case("1 symbol", 1),
        _parse_case("255 symbols", 255),
        _parse_case("switch off", 37, encoder_switch=False),
    ]
    return cases
