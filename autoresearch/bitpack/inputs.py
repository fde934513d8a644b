"""bitpack inputs: the reference encoder, the seeded speed workload and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here. The packer
below is the encoder side of Lance's bitpacking (rust/compression/bitpacking/src/lib.rs `pack!`;
rust/lance-encoding/src/encodings/physical/bitpacking.rs `bitpack_out_of_line` and
`InlineBitpacking::bitpack_chunked`), written independently of the decoders (vectorized numpy).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

UNPACK_SHAPES = [  # (word type, bit width) of an out-of-line page
    ("uint32", 1),
    ("uint32", 3),
    ("uint32", 7),
    ("uint32", 13),
    ("uint32", 24),
    ("uint32", 32),
    ("uint16", 11),
    ("uint64", 45),
]
MINIBLOCK_SHAPES = [("uint32", 13), ("uint64", 45)]  # (word type, widest chunk)
DISTRIBUTIONS = ["uniform", "skewed"]  # values uniform within the width; per-chunk widths vary
NUM_VALUES = 2_000_000  # values per timed call; 2e6 % 1024 = 128, so every page has a tail
SPEED_SEED = 0xB17BAC  # the speed workload's seed (correctness uses fresh ones too)
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "Unpack": SpeedWorkload(
        "workload",
        {"shape": UNPACK_SHAPES},  # (word type, bit width) of an out-of-line page
        args=lambda shape: ("unpack", shape, "uniform"),
    ),
    "DecodeMiniblock": SpeedWorkload(
        "workload",
        {
            "shape": MINIBLOCK_SHAPES,  # (word type, widest chunk's bit width)
            "distribution": DISTRIBUTIONS,  # uniform: chunks at full width; skewed: widths vary
        },
        args=lambda shape, distribution: ("decode_miniblock", shape, distribution),
    ),
}

BLOCK = 1024  # values per FastLanes block
FL_ORDER = (0, 4, 2, 6, 1, 5, 3, 7)
TAIL_RULES = ("lance", "padded", "raw")  # how `pack` stores a partial last block


# ---------------------------------------------------------------------------
# The encoder (reference side, numpy)
# ---------------------------------------------------------------------------


def type_bits(dtype) -> int:
    return np.dtype(dtype).itemsize * 8


@functools.lru_cache(maxsize=8)
def fastlanes_index(bits: int) -> np.ndarray:
    """int64[bits, 1024 // bits]: the block position of (row, lane), Lance's `index(row, lane)`."""
    rows = np.arange(bits)[:, None]
    lanes = np.arange(BLOCK // bits)[None, :]
    order = np.array(FL_ORDER)[rows // 8]
    return order * 16 + (rows % 8) * 128 + lanes


def pack_blocks(blocks: np.ndarray, width: int, dtype) -> np.ndarray:
    """T[nblocks, 1024 * width / bits]: whole blocks packed at one width (Lance's `pack!`).

    Row r of lane l occupies bits [r*W, (r+1)*W) of the lane's stream; stream bit p lives in word
    p // bits of the lane, which is word LANES * (p // bits) + l of the block.
    """
    t = np.dtype(dtype)
    bits = type_bits(t)
    lanes = BLOCK // bits
    nblocks = blocks.shape[0]
    if width == 0:
        return np.zeros((nblocks, 0), dtype=t)
    values = blocks.astype(np.uint64)[:, fastlanes_index(bits)]  # [nblocks, rows, lanes]
    if width < 64 and np.any(values >> np.uint64(width)):
        raise ValueError(f"values do not fit in {width} bits")
    words = np.zeros((nblocks, width, lanes), dtype=np.uint64)
    for row in range(bits):
        first = row * width
        word, shift = divmod(first, bits)
        words[:, word, :] |= values[:, row, :] << np.uint64(shift)
        if shift + width > bits:  # the field spills into the lane's next word
            words[:, word + 1, :] |= values[:, row, :] >> np.uint64(bits - shift)
    # Bits shifted past the word's top belong to the next word (added above): drop them.
    return words.astype(t).reshape(nblocks, width * lanes)


def _padded_blocks(values: np.ndarray) -> np.ndarray:
    nblocks = -(-values.size // BLOCK)
    blocks = np.zeros(nblocks * BLOCK, dtype=values.dtype)
    blocks[: values.size] = values
    return blocks.reshape(nblocks, BLOCK)


def _to_bytes(words: np.ndarray, dtype) -> np.ndarray:
    t = np.dtype(dtype)
    return np.ascontiguousarray(words, dtype=t.newbyteorder("<")).view(np.uint8).copy()


def tail_is_padded(bits: int, width: int, tail: int) -> bool:
    """Lance's choice for a partial last block: pad and pack it only if that saves space."""
    return tail > 0 and width * (BLOCK - tail) < max(bits - width, 0) * tail


def pack(values: np.ndarray, width: int, dtype, tail: str = "lance") -> np.ndarray:
    """uint8 bytes of an out-of-line page (`bitpack_out_of_line`); `unpack`'s input.

    tail: "lance" pads the last partial block only when Lance would (`tail_is_padded`),
    "padded" always pads it, "raw" always appends its values unpacked.
    """
    t = np.dtype(dtype)
    bits = type_bits(t)
    values = np.asarray(values, dtype=t)
    full = values.size // BLOCK
    rest = values[full * BLOCK :]
    parts = [pack_blocks(values[: full * BLOCK].reshape(full, BLOCK), width, t).ravel()]
    if rest.size:
        padded = tail == "padded" or (tail == "lance" and tail_is_padded(bits, width, rest.size))
        parts.append(pack_blocks(_padded_blocks(rest), width, t).ravel() if padded else rest)
    return _to_bytes(np.concatenate(parts), t)


def chunk_widths(values: np.ndarray, dtype) -> np.ndarray:
    """int64[chunks]: Lance's Stat::BitWidth per 1024-value chunk (bits of the OR of the chunk)."""
    bits = type_bits(dtype)
    ored = np.bitwise_or.reduce(_padded_blocks(values.astype(np.uint64)), axis=1)
    widths = np.zeros(ored.size, dtype=np.int64)
    for b in range(bits):  # bit length, one bit position at a time (exact for uint64)
        widths[(ored >> np.uint64(b)) != 0] = b + 1
    return widths


def pack_miniblock(values: np.ndarray, dtype, widths: np.ndarray | None = None) -> np.ndarray:
    """uint8 bytes of consecutive inline-bitpacked chunks (`bitpack_chunked`): per chunk, one T
    word holding its width, then its packed words; `decode_miniblock`'s input."""
    t = np.dtype(dtype)
    bits = type_bits(t)
    values = np.asarray(values, dtype=t)
    blocks = _padded_blocks(values)
    widths = chunk_widths(values, t) if widths is None else np.asarray(widths, dtype=np.int64)
    sizes = 1 + BLOCK * widths // bits
    starts = np.cumsum(sizes) - sizes
    out = np.zeros(int(sizes.sum()), dtype=t)
    out[starts] = widths
    for width in np.unique(widths):  # chunks of one width are packed together
        which = np.flatnonzero(widths == width)
        packed = pack_blocks(blocks[which], int(width), t)
        cols = np.arange(packed.shape[1])
        out[(starts[which] + 1)[:, None] + cols[None, :]] = packed
    return _to_bytes(out, t)


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def uniform_values(rng: SplitMix64, n: int, width: int, dtype) -> np.ndarray:
    """T[n] uniform in [0, 2**width)."""
    if width == 0:
        return np.zeros(n, dtype=dtype)
    return (rng.u64(n) >> np.uint64(64 - width)).astype(dtype)


def skewed_widths(rng: SplitMix64, chunks: int, max_width: int) -> np.ndarray:
    """Per-chunk widths in [0, max_width], most chunks narrow (width ~ max_width * u**2)."""
    u = rng.uniform(chunks)
    return np.rint(max_width * u * u).astype(np.int64)


def values_with_widths(rng: SplitMix64, n: int, widths: np.ndarray, dtype) -> np.ndarray:
    """T[n]: chunk c uniform within widths[c] bits, one value with the top bit set, so that the
    chunk's own bit width (Lance's Stat::BitWidth) is exactly widths[c]."""
    per_value = np.repeat(widths, BLOCK)[:n]
    raw = rng.u64(n)
    shift = np.uint64(64) - per_value.astype(np.uint64)
    values = np.where(per_value > 0, raw >> np.minimum(shift, np.uint64(63)), np.uint64(0))
    chunk_starts = np.arange(0, n, BLOCK)
    chunk_sizes = np.minimum(BLOCK, n - chunk_starts)  # the last chunk may be short
    pos = chunk_starts + rng.integers(chunk_starts.size, BLOCK) % chunk_sizes
    top = widths[: chunk_starts.size].astype(np.uint64)
    nonzero = top > 0
    values[pos[nonzero]] |= np.uint64(1) << (top[nonzero] - np.uint64(1))
    return values.astype(dtype)


# ---------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    function: str  # "unpack" or "decode_miniblock"
    buffer: np.ndarray  # uint8 bytes
    bit_width: int  # unpack: the page's width; decode_miniblock: the widest chunk
    num_values: int
    dtype: type  # np.uint8 / np.uint16 / np.uint32 / np.uint64
    values: np.ndarray  # what the buffer decodes to (tests, peers)


def build(rng: SplitMix64, function: str, shape: tuple, distribution: str, n: int) -> dict:
    dtype, width = np.dtype(shape[0]), int(shape[1])
    chunks = -(-n // BLOCK)
    if distribution == "uniform":
        widths = np.full(chunks, width, dtype=np.int64)
    elif distribution == "skewed":
        widths = skewed_widths(rng, chunks, width)
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    values = values_with_widths(rng, n, widths, dtype)
    if function == "unpack":
        buffer = pack(values, width, dtype)
    elif function == "decode_miniblock":
        buffer = pack_miniblock(values, dtype, widths)
    else:
        raise ValueError(f"unknown function {function!r}")
    return {"buffer": buffer, "values": values}


@functools.lru_cache(maxsize=4)
def workload(function: str, shape: tuple, distribution: str) -> Workload:
    """The speed workload of one combination (cached per process; never mutate it)."""
    key = f"{function} {tuple(shape)} {distribution}"

    def make():
        return build(SplitMix64(SPEED_SEED).spawn(key), function, shape, distribution, NUM_VALUES)

    arrays = cached_arrays(__file__, key, make)
    dtype = np.dtype(shape[0]).type
    return Workload(function, arrays["buffer"], shape[1], NUM_VALUES, dtype, arrays["values"])


def perturbable(w: Workload) -> list[np.ndarray]:
    """Views of the page the oracle may change one byte of and still have a valid page: any byte
    of an out-of-line page; in a miniblock page, the packed words of the first non-empty chunk
    (a chunk's width word describes the bytes after it, so it is never offered)."""
    if w.function == "unpack":
        return [w.buffer]
    size = np.dtype(w.dtype).itemsize
    words = w.buffer.view(np.dtype(w.dtype).newbyteorder("<"))
    position = 0
    while position < words.size:
        width = int(words[position])
        packed = BLOCK * width // (size * 8)
        if packed:
            return [w.buffer[(position + 1) * size : (position + 1 + packed) * size]]
        position += 1 + packed
    return []


def search(impl, w: Workload) -> np.ndarray:
    """What one timed call does: decode the whole buffer."""
    if w.function == "unpack":
        return impl.unpack(w.buffer, w.bit_width, w.num_values, w.dtype)
    return impl.decode_miniblock(w.buffer, w.num_values, w.dtype)


def outputs(impl, w: Workload) -> list:
    """The decoded values (what track_mismatches compares)."""
    return [search(impl, w)]


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------

CASE_VALUES = 5 * BLOCK + 321  # several blocks and a tail; the result cannot depend on size


def _unpack_case(label, dtype, width, n, tail="lance", values="uniform", view=None, held_out=True):
    def make(rng):
        t = np.dtype(dtype)
        if values == "max":  # every bit of every field set
            v = np.full(n, (1 << width) - 1 if width else 0, dtype=np.uint64).astype(t)
        else:
            v = uniform_values(rng, n, width, t)
        buf = pack(v, width, t, tail)
        if view == "offset":  # the page starts one byte into its buffer: unaligned words
            wider = np.zeros(buf.size + 1, dtype=np.uint8)
            wider[1:] = buf
            buf = wider[1:]
        typ = t if isinstance(dtype, np.dtype) else t.type
        return (buf, width, n, typ)

    return Case(f"unpack {label}", "unpack", make, held_out=held_out)


def _miniblock_case(label, dtype, widths, n, view=None, held_out=True):
    """Chunk widths fixed per case (so every seed gives the same buffer size), values random."""

    def make(rng):
        t = np.dtype(dtype)
        w = np.asarray(widths, dtype=np.int64)
        buf = pack_miniblock(values_with_widths(rng, n, w, t), t, w)
        if view == "offset":
            wider = np.zeros(buf.size + 3, dtype=np.uint8)
            wider[3:] = buf
            buf = wider[3:]
        return (buf, n, t.type)

    # Width words describe the bytes after them: a byte copied into one can make the page invalid.
    return Case(
        f"decode_miniblock {label}",
        "decode_miniblock",
        make,
        held_out=held_out,
        partial_change=False,
    )


def _fixed_skewed_widths(label: str, chunks: int, max_width: int) -> list:
    return skewed_widths(SplitMix64(SPEED_SEED).spawn(label), chunks, max_width).tolist()


def correctness_cases() -> list[Case]:
    cases = []
    chunks = -(-CASE_VALUES // BLOCK)
    for shape in UNPACK_SHAPES:  # the speed combinations, smaller
        cases.append(_unpack_case(f"{shape}", shape[0], shape[1], CASE_VALUES, held_out=False))
    for dtype, width in MINIBLOCK_SHAPES:
        label = f"{(dtype, width)}"
        cases.append(
            _miniblock_case(f"{label} uniform", dtype, [width] * chunks, CASE_VALUES, False)
        )
        skewed = _fixed_skewed_widths(label, chunks, width)
        cases.append(_miniblock_case(f"{label} skewed", dtype, skewed, CASE_VALUES, held_out=False))

    # Held out: every width of every word type, both tail layouts, edge sizes and views.
    for dtype in ("uint8", "uint16", "uint32", "uint64"):
        bits = type_bits(dtype)
        for width in range(bits + 1):
            cases.append(
                _unpack_case(f"{dtype} W={width} padded tail", dtype, width, 1500, "padded")
            )
        for width in (0, 1, bits // 2 - 1, bits - 1, bits):
            cases.append(_unpack_case(f"{dtype} W={width} raw tail", dtype, width, 1500, "raw"))
            cases.append(
                _unpack_case(f"{dtype} W={width} all ones", dtype, width, 2048, "lance", "max")
            )
        every = [*range(bits + 1), bits, 0, bits // 2]
        cases.append(
            _miniblock_case(f"{dtype} every chunk width", dtype, every, len(every) * BLOCK - 7)
        )
    cases += [
        _unpack_case("N=0", "uint32", 7, 0),
        _unpack_case("N=1", "uint32", 7, 1),
        _unpack_case("N=1023", "uint32", 13, 1023),
        _unpack_case("N=1024", "uint32", 13, 1024),
        _unpack_case("N=1025 raw tail", "uint16", 5, 1025, "raw"),
        _unpack_case("tail as long as a packed block: raw", "uint32", 8, 1024 + 256),
        _unpack_case("dtype given as np.dtype", np.dtype("uint64"), 33, 3000),
        _unpack_case("unaligned buffer", "uint64", 45, 3000, view="offset"),
        _unpack_case("unaligned buffer u16", "uint16", 9, 2500, "raw", view="offset"),
        _miniblock_case("N=0", "uint32", [], 0),
        _miniblock_case("N=1", "uint32", [5], 1),
        _miniblock_case("N=1 W=0", "uint64", [0], 1),
        _miniblock_case("N=1024", "uint16", [16], 1024),
        _miniblock_case("N=1025", "uint8", [8, 3], 1025),
        _miniblock_case("unaligned buffer", "uint32", [3, 32, 0, 17], 3500, view="offset"),
    ]
    return cases
