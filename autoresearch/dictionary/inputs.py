"""dictionary inputs: the seeded speed workload (shapes x distributions) and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.

Value layouts (program.md has the contract): an int64 or float64 dictionary is a 1-D array; a
16-byte dictionary ("bytes16", Lance's 128-bit FixedWidth block, Arrow FixedSizeBinary(16)) is a
C-contiguous uint8[K, 16] array; a string dictionary is (offsets int32/int64[K + 1], data uint8[]).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from autoresearch import arrow_layouts
from autoresearch.arrow_layouts import (
    OFFSET_DTYPES,
    SPECIAL_FLOAT_BITS,
    VALUE_WIDTH,
    make_strings,
)
from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case, as_bits, compare_bits

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

# (index dtype, value type, dictionary size): every dictionary size and value type of the issue,
# each with an index type wide enough for it (int32 is what Lance's encoder writes).
SHAPES = [("uint8", "int64", 16), ("int32", "float64", 256), ("uint16", "bytes16", 65536)]
DISTRIBUTIONS = ["uniform", "zipf", "runs"]  # how the indices are drawn
# (index dtype, value type, dictionary size) of string dictionaries: "binary" has int32 offsets,
# "large_binary" int64 (Arrow's names). Lance's 32-bit-offset path writes int32 indices, its
# 64-bit-offset path int64 indices.
BINARY_SHAPES = [("int32", "binary", 256), ("int64", "large_binary", 65536)]
BINARY_DISTRIBUTIONS = ["zipf"]  # the skewed case: frequent strings dominate the output
# Indices per timed call: 16 of Lance's scan batches (8192 rows, scanner.rs BATCH_SIZE_FALLBACK).
# Lance expands one batch per DictionaryDataBlock::decode (StructuralBatchDecodeStream's batch,
# docs/targets/dictionary.md), into a fresh buffer that stays in cache; one call here decodes 16
# of them at once (1-2 MB out, ~1.5 MB of strings), so Python's per-call cost stays under 1%.
NUM_VALUES = 16 * 8192  # fixed width
NUM_BINARY_VALUES = 16 * 8192  # strings
BINARY_MEAN_LENGTH = 12  # mean string length in bytes (lengths spread 0.. ~100, see make_strings)
ZIPF_EXPONENT = 1.0  # zipf: P(index k) proportional to 1 / (k + 1); frequent values first
MAX_RUN_LENGTH = 64  # runs: one index repeated 1..64 times (uniform), then a new random index
SPEED_SEED = 0xD1C7  # the speed workload's seed (correctness uses fresh ones too)

GENERATORS = [arrow_layouts.__file__]  # the shared helpers the cached workload is built with
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "DictDecode": SpeedWorkload(
        "workload",
        {
            "shape": SHAPES,  # (index dtype, value type, dictionary size)
            "distribution": DISTRIBUTIONS,  # how the indices are drawn
        },
    ),
    "DictDecodeBinary": SpeedWorkload(
        "workload",
        {
            "shape": BINARY_SHAPES,  # (index dtype, string type, dictionary size)
            "distribution": BINARY_DISTRIBUTIONS,  # how the indices are drawn
        },
    ),
}
CASE_VALUES = 20_000  # indices per correctness case built from a speed combination

SPECIAL_INT64 = (-(2**63), 2**63 - 1, -1, 0, 1)


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------


def make_indices(rng: SplitMix64, n: int, size: int, distribution: str, dtype) -> np.ndarray:
    """dtype[n] indices into a dictionary of `size` values, drawn from a named distribution."""
    if distribution == "uniform":
        idx = rng.integers(n, size)
    elif distribution == "zipf":  # inverse CDF over ranks; rank k is dictionary index k
        cdf = np.cumsum(1.0 / np.arange(1, size + 1, dtype=np.float64) ** ZIPF_EXPONENT)
        idx = np.searchsorted(cdf / cdf[-1], rng.uniform(n), side="right")
        idx = np.minimum(idx, size - 1)
    elif distribution == "runs":
        # Enough runs for n values (mean run length is ~32, so n // 16 runs cover 2n).
        lengths = 1 + rng.integers(max(16, n // 16), MAX_RUN_LENGTH)
        while lengths.sum() < n:
            lengths = np.concatenate([lengths, 1 + rng.integers(16, MAX_RUN_LENGTH)])
        idx = np.repeat(rng.integers(len(lengths), size), lengths)[:n]
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    return np.ascontiguousarray(idx, dtype=dtype)


def make_dictionary(rng: SplitMix64, value_type: str, size: int) -> np.ndarray:
    """int64[size], float64[size] or uint8[size, 16] values."""
    if value_type == "int64":
        return rng.u64(size).view(np.int64)
    if value_type == "float64":
        return rng.normal(size)
    if value_type == "bytes16":
        return rng.u64(2 * size).view(np.uint8).reshape(size, VALUE_WIDTH)
    raise ValueError(f"unknown value type {value_type!r}")


@dataclass(frozen=True)
class Workload:
    indices: np.ndarray  # uint8/uint16/uint32/int32[n]
    dictionary: np.ndarray  # int64/float64[K] or uint8[K, 16]


@dataclass(frozen=True)
class BinaryWorkload:
    indices: np.ndarray  # uint8/uint16/uint32/int32/int64[n]
    dict_offsets: np.ndarray  # int32/int64[K + 1]
    dict_data: np.ndarray  # uint8[dict_offsets[K]]


def build(rng: SplitMix64, shape: tuple, distribution: str, n: int) -> Workload:
    index_dtype, value_type, size = shape
    dictionary = make_dictionary(rng, value_type, size)
    return Workload(make_indices(rng, n, size, distribution, index_dtype), dictionary)


def build_binary(
    rng: SplitMix64, shape: tuple, distribution: str, n: int, mean_length: int = BINARY_MEAN_LENGTH
) -> BinaryWorkload:
    index_dtype, value_type, size = shape
    offsets, data = make_strings(rng, size, size * mean_length, OFFSET_DTYPES[value_type])
    indices = make_indices(rng, n, size, distribution, index_dtype)
    return BinaryWorkload(indices, offsets, data)


def is_binary(shape: tuple) -> bool:
    return shape[1] in OFFSET_DTYPES


@functools.lru_cache(maxsize=2)
def workload(shape: tuple, distribution: str) -> Workload | BinaryWorkload:
    """The speed workload of one combination (cached; never mutate it): strings or fixed width."""
    shape = tuple(shape)
    key = f"{shape} {distribution}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        if is_binary(shape):
            w = build_binary(rng, shape, distribution, NUM_BINARY_VALUES)
        else:
            w = build(rng, shape, distribution, NUM_VALUES)
        return dataclasses.asdict(w)

    arrays = cached_arrays(__file__, key, make, GENERATORS)
    return BinaryWorkload(**arrays) if is_binary(shape) else Workload(**arrays)


def call(impl, w):
    if isinstance(w, BinaryWorkload):
        return impl.dict_decode_binary(w.indices, w.dict_offsets, w.dict_data)
    return impl.dict_decode(w.indices, w.dictionary)


def search(impl, w):
    """What one timed call does: decode every index of the workload."""
    return call(impl, w)


def outputs(impl, w) -> list:
    """The decoded values as bits (what track_mismatches compares, exactly)."""
    return [as_bits(call(impl, w))]


def output_bytes(w) -> int:
    """Bytes one decode writes: the throughput's numerator."""
    if isinstance(w, BinaryWorkload):
        lengths = np.diff(w.dict_offsets.astype(np.int64))
        return int(lengths[w.indices].sum()) + (len(w.indices) + 1) * w.dict_offsets.itemsize
    return len(w.indices) * w.dictionary.itemsize * (VALUE_WIDTH if w.dictionary.ndim == 2 else 1)


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def _pin_ends(idx: np.ndarray, size: int) -> None:
    """The first index is the last dictionary entry and the last index is entry 0."""
    if len(idx) >= 2:
        idx[0], idx[-1] = size - 1, 0


def _strided(rng: SplitMix64, idx: np.ndarray, size: int) -> np.ndarray:
    """The same indices as every third element of a larger array (a non-contiguous view)."""
    wide = make_indices(rng, 3 * len(idx), size, "uniform", idx.dtype)
    wide[::3] = idx
    return wide[::3]


def _special_values(dictionary: np.ndarray) -> int:
    """Overwrite the first entries with extreme values; returns how many."""
    if dictionary.dtype == np.float64:
        bits = np.array(SPECIAL_FLOAT_BITS, dtype=np.uint64)
        count = min(len(bits), len(dictionary))
        dictionary.view(np.uint64)[:count] = bits[:count]
        return count
    if dictionary.dtype == np.int64:
        count = min(len(SPECIAL_INT64), len(dictionary))
        dictionary[:count] = np.array(SPECIAL_INT64[:count], dtype=np.int64)
        return count
    dictionary[0] = 0x00  # bytes16: an all-zero row and (K > 1) an all-ones row
    dictionary[1:2] = 0xFF
    return min(2, len(dictionary))


def _decode_case(
    label, shape, distribution, n=CASE_VALUES, held_out=False, view=None, special=False
) -> Case:
    index_dtype, value_type, size = shape

    def make(rng):
        pad = 3 if view == "offset dictionary" else 0
        if view == "strided dictionary":
            dictionary = make_dictionary(rng, value_type, 2 * size)[::2]
        elif view == "unaligned rows":  # rows starting 5 bytes into their buffer
            raw = rng.u64(2 * size + 2).view(np.uint8)
            dictionary = raw[5 : 5 + size * VALUE_WIDTH].reshape(size, VALUE_WIDTH)
        else:
            dictionary = make_dictionary(rng, value_type, size + pad)[pad:]
        idx = make_indices(rng, n, size, distribution, index_dtype)
        _pin_ends(idx, size)
        if special:
            count = _special_values(dictionary)
            take = min(count, max(0, n - 2))
            idx[1 : 1 + take] = np.arange(take)  # every special value gets decoded
        if view == "strided indices":
            idx = _strided(rng, idx, size)
        return (idx, dictionary)

    return Case(
        f"dict_decode {label}", "dict_decode", make, compare=compare_bits, held_out=held_out
    )


def _binary_case(
    label,
    shape,
    distribution,
    n=CASE_VALUES,
    held_out=False,
    view=None,
    mean_length=BINARY_MEAN_LENGTH,
) -> Case:
    index_dtype, value_type, size = shape

    def make(rng):
        skip = 7 if view == "sliced offsets" else 0  # Arrow's sliced arrays: offsets not from 0
        total = (size + skip) * mean_length
        offsets, data = make_strings(rng, size + skip, total, OFFSET_DTYPES[value_type])
        offsets = offsets[skip:]
        if view == "offset data":  # data starting 3 bytes into a larger buffer
            padded = np.zeros(len(data) + 3, dtype=np.uint8)
            padded[3:] = data
            data = padded[3:]
        idx = make_indices(rng, n, size, distribution, index_dtype)
        _pin_ends(idx, size)
        if view == "strided indices":
            idx = _strided(rng, idx, size)
        return (idx, offsets, data)

    return Case(
        f"dict_decode_binary {label}",
        "dict_decode_binary",
        make,
        compare=compare_bits,
        held_out=held_out,
    )


def correctness_cases() -> list[Case]:
    cases = []
    for shape in SHAPES:
        for dist in DISTRIBUTIONS:
            cases.append(_decode_case(f"{shape} {dist}", shape, dist))
    for shape in BINARY_SHAPES:
        for dist in BINARY_DISTRIBUTIONS:
            cases.append(_binary_case(f"{shape} {dist}", shape, dist))

    def held(label, shape, dist, **kw):
        return _decode_case(label, shape, dist, held_out=True, **kw)

    cases += [
        held("uint32 indices above 65535", ("uint32", "int64", 70_000), "uniform"),
        held("uint32 indices, 16-byte rows", ("uint32", "bytes16", 70_000), "zipf"),
        held("NaN payloads, -0.0, inf", ("uint8", "float64", 256), "uniform", n=5000, special=True),
        held("float specials in runs", ("int32", "float64", 16), "runs", n=999, special=True),
        held("int64 extremes", ("uint16", "int64", 1000), "zipf", n=3001, special=True),
        held("16-byte zero and ones rows", ("uint8", "bytes16", 256), "zipf", n=4097, special=True),
        held("K=3 16-byte rows", ("int32", "bytes16", 3), "uniform", n=1001),
        held("K=1", ("uint8", "int64", 1), "uniform", n=513),
        held("n=0", ("int32", "int64", 16), "uniform", n=0),
        held("n=0 16-byte rows", ("uint8", "bytes16", 16), "uniform", n=0),
        held("n=1", ("uint16", "float64", 300), "uniform", n=1),
        held("n=2", ("uint32", "bytes16", 5), "runs", n=2),
        held("strided indices", ("uint16", "float64", 1000), "uniform", view="strided indices"),
        held("offset dictionary", ("int32", "int64", 256), "zipf", view="offset dictionary"),
        held(
            "strided float dictionary",
            ("uint8", "float64", 200),
            "uniform",
            view="strided dictionary",
            special=True,
        ),
        held(
            "unaligned 16-byte rows", ("uint16", "bytes16", 4000), "uniform", view="unaligned rows"
        ),
        held("offset 16-byte rows", ("uint8", "bytes16", 100), "runs", view="offset dictionary"),
    ]

    def held_binary(label, shape, dist, **kw):
        return _binary_case(label, shape, dist, held_out=True, **kw)

    cases += [
        held_binary("uint8 indices", ("uint8", "binary", 256), "uniform"),
        held_binary("uint16 indices, runs", ("uint16", "large_binary", 1000), "runs"),
        held_binary("uint32 indices above 65535", ("uint32", "binary", 70_000), "zipf"),
        held_binary(
            "all strings empty", ("int32", "large_binary", 5), "uniform", n=1000, mean_length=0
        ),
        held_binary("long strings", ("int32", "binary", 8), "uniform", n=257, mean_length=2000),
        held_binary("K=1", ("uint8", "binary", 1), "uniform", n=300),
        held_binary("n=0", ("int32", "binary", 16), "uniform", n=0),
        held_binary("n=1", ("int64", "large_binary", 16), "uniform", n=1),
        held_binary("sliced offsets", ("int32", "binary", 300), "zipf", view="sliced offsets"),
        held_binary(
            "sliced int64 offsets", ("uint16", "large_binary", 40), "runs", view="sliced offsets"
        ),
        held_binary("offset data", ("int32", "binary", 500), "uniform", view="offset data"),
        held_binary(
            "strided indices", ("int64", "large_binary", 900), "zipf", view="strided indices"
        ),
    ]
    return cases
