"""take inputs: the seeded speed workload (shapes x distributions x selectivities) and the cases.

One source of truth: the asv suite, the oracle and the tests all import from here.

Value layouts (program.md has the contract): int32/int64/float64 values are a 1-D array; 16-byte
values ("bytes16", Arrow FixedSizeBinary(16)) are a C-contiguous uint8[N, 16] array; strings are
(offsets int32/int64[N + 1], data uint8[]).
"""

from __future__ import annotations

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

# What reaches arrow's take in Lance (docs/targets/take.md, "Lance call site"): a `Dataset.take`
# whose row ids are not already sorted reads the distinct rows it asks for (sorted, deduplicated)
# and then restores the caller's order with ONE take per column: values = the D distinct rows
# read, indices = a UInt64Array of all n requested rows (repeats included) into 0..D - 1. A
# sorted request without repeats never gets there (read fragment by fragment and concatenated);
# one with repeats reaches a per-fragment take with a uint32 index (not modelled: held-out cases
# cover sorted indices with repeats). So the workload's requests are the unsorted kinds, and a
# take gathers from the D rows read, not a column.
# (value type, index dtype): int64 columns are the common fixed-width case; the remapping index is
# a UInt64Array for every column type. Other value and index types: correctness cases only.
SHAPES = [("int64", "uint64")]
DISTRIBUTIONS = ["random", "clustered"]  # how the caller's row ids are drawn (unsorted kinds)
SELECTIVITIES = [0.001, 0.1, 1.0]  # rows requested per take as a fraction of NUM_ROWS
# (value type, index dtype) of string columns: "binary" has int32 offsets, "large_binary" int64
# (Arrow's Binary/Utf8 and LargeBinary/LargeUtf8); the remapping index is uint64 for both.
BINARY_SHAPES = [("binary", "uint64"), ("large_binary", "uint64")]
BINARY_DISTRIBUTIONS = ["random"]
BINARY_SELECTIVITIES = [0.1]
NUM_ROWS = 10_000_000  # rows of the dataset the row ids address (1.0: one take of 10M row ids)
BINARY_MEAN_LENGTH = 8  # mean string length in bytes
MIN_TAKEN_FRACTION = 0.1  # a timed call repeats small takes (fresh requests) up to 10% of rows
MAX_RUN_LENGTH = 64  # clustered: runs of 1..64 consecutive rows (uniform) at random starts
SPEED_SEED = 0x7A4E  # the speed workload's seed (correctness uses fresh ones too)
# lance_remap sorts a request smaller than 1/64 of the rows (n log n on the request) rather than
# sweep all rows (a 10M-row pass costs ~40 ms: 4 s for the 100 requests of a 0.1% call)
SORT_REQUEST_FRACTION = 1 / 64

GENERATORS = [arrow_layouts.__file__]  # the shared helpers the cached workload is built with
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "Take": SpeedWorkload(
        "workload",
        {
            "shape": SHAPES,  # (value type, index dtype)
            "distribution": DISTRIBUTIONS,  # how the caller's row ids are drawn
            "selectivity": SELECTIVITIES,  # row ids per take as a fraction of the dataset's rows
        },
    ),
    "TakeBinary": SpeedWorkload(
        "workload",
        {
            "shape": BINARY_SHAPES,  # (string type, index dtype)
            "distribution": BINARY_DISTRIBUTIONS,  # how the caller's row ids are drawn
            "selectivity": BINARY_SELECTIVITIES,  # row ids per take as a fraction of the rows
        },
    ),
}
CASE_VALUES = 50_000  # column length of a correctness case built from a speed combination


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------


def make_indices(rng: SplitMix64, count: int, n: int, distribution: str, dtype) -> np.ndarray:
    """dtype[count] row indices into a column of n rows, drawn from a named distribution."""
    if distribution == "random":  # uniform, with repeats (a caller may ask for a row twice)
        idx = rng.integers(count, n)
    elif distribution == "sorted":
        # One row per bucket of n / count rows: ascending, distinct, spread over the column, as
        # the row ids a filter selects (count == n gives every row in order).
        b = np.arange(count + 1, dtype=np.int64)
        starts = (b * n) // max(count, 1)
        widths = starts[1:] - starts[:-1]
        idx = starts[:-1] + (rng.uniform(count) * widths).astype(np.int64)
    elif distribution == "clustered":
        # Runs of consecutive rows at random starts, in random order (ranges of a table).
        def draw_runs(k):
            return np.minimum(1 + rng.integers(k, MAX_RUN_LENGTH), n)

        lengths = draw_runs(max(16, count // 16))
        while lengths.sum() < count:
            lengths = np.concatenate([lengths, draw_runs(max(16, count // 16))])
        starts = (rng.uniform(len(lengths)) * (n - lengths + 1)).astype(np.int64)
        run_first = np.cumsum(lengths) - lengths  # where each run starts in the output
        idx = np.repeat(starts - run_first, lengths) + np.arange(lengths.sum())
        idx = idx[:count]
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    return np.ascontiguousarray(idx, dtype=dtype)


def make_values(rng: SplitMix64, value_type: str, n: int) -> np.ndarray:
    """int32/int64/float64[n] or uint8[n, 16] values."""
    if value_type == "int64":
        return rng.u64(n).view(np.int64)
    if value_type == "int32":
        return rng.u64((n + 1) // 2).view(np.int32)[:n].copy()
    if value_type == "float64":
        return rng.normal(n)
    if value_type == "bytes16":
        return rng.u64(2 * n).view(np.uint8).reshape(n, VALUE_WIDTH)
    raise ValueError(f"unknown value type {value_type!r}")


def taken_per_call(selectivity: float, n: int = NUM_ROWS) -> tuple[int, int]:
    """(takes per timed call, row ids per take) for a selectivity of an n-row dataset."""
    count = round(selectivity * n)
    return max(1, round(MIN_TAKEN_FRACTION * n) // count), count


def lance_remap(request: np.ndarray, n: int, dtype="uint64") -> tuple[int, np.ndarray]:
    """(D, indices): what Lance's take does with an unsorted request of row ids in 0..n - 1. It
    reads the D distinct rows in ascending order, then takes with `indices`, each requested row's
    rank among them (one per requested row, repeats included), to restore the caller's order.
    (rust/lance/src/dataset/take.rs: the remapping index of `do_take_rows`.)"""
    if len(request) < SORT_REQUEST_FRACTION * n:  # a small request: sort it, no sweep of n rows
        read, rank = np.unique(request, return_inverse=True)
        return len(read), np.ascontiguousarray(rank.reshape(-1), dtype=dtype)
    read = np.zeros(n, dtype=bool)
    read[request] = True
    rank = np.cumsum(read, dtype=np.int64) - 1
    return int(rank[-1] + 1) if n else 0, np.ascontiguousarray(rank[request], dtype=dtype)


@dataclass(frozen=True)
class Workload:
    takes: tuple  # per take: (values, indices): int64[D] distinct rows read, uint64[n] remapping


@dataclass(frozen=True)
class BinaryWorkload:
    takes: tuple  # per take: (offsets int32/int64[D + 1], data uint8[], uint64[n] remapping)


def _requests(key: str, selectivity: float, distribution: str, index_dtype: str) -> dict:
    """Each take's D and remapping index (cached on disk: 10M row ids take a second to draw)."""

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        takes, count = taken_per_call(selectivity)
        arrays = {}
        for t in range(takes):
            request = make_indices(rng, count, NUM_ROWS, distribution, np.int64)
            rows, arrays[f"indices {t}"] = lance_remap(request, NUM_ROWS, index_dtype)
            arrays[f"rows {t}"] = np.array(rows)
        return arrays

    return cached_arrays(__file__, key, make, GENERATORS)


def _values(key: str, shape: tuple, rows: list[int]) -> list[tuple]:
    """The rows each take read: fresh values of the column's type, one array per take."""

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        arrays = {}
        for t, d in enumerate(rows):
            if is_binary(shape):
                offsets, data = make_strings(
                    rng, d, d * BINARY_MEAN_LENGTH, OFFSET_DTYPES[shape[0]]
                )
                arrays[f"offsets {t}"], arrays[f"data {t}"] = offsets, data
            else:
                arrays[f"values {t}"] = make_values(rng, shape[0], d)
        return arrays

    arrays = cached_arrays(__file__, key, make, GENERATORS)
    if is_binary(shape):
        return [(arrays[f"offsets {t}"], arrays[f"data {t}"]) for t in range(len(rows))]
    return [(arrays[f"values {t}"],) for t in range(len(rows))]


def is_binary(shape: tuple) -> bool:
    return shape[0] in OFFSET_DTYPES


@functools.lru_cache(maxsize=2)
def workload(shape: tuple, distribution: str, selectivity: float) -> Workload | BinaryWorkload:
    """The speed workload of one combination (cached; never mutate it): per take, the rows Lance
    read for an unsorted request and the index restoring the caller's order; strings for a string
    shape."""
    value_type, index_dtype = shape
    key = f"{tuple(shape)} {distribution} {selectivity}"
    requests = _requests(f"requests {key}", selectivity, distribution, index_dtype)
    takes = len(requests) // 2
    rows = [int(requests[f"rows {t}"]) for t in range(takes)]
    columns = _values(f"values {key}", shape, rows)  # drawn for these rows: the same key's
    assert [len(c[0]) - is_binary(shape) for c in columns] == rows  # offsets: one more than rows
    both = tuple((*columns[t], requests[f"indices {t}"]) for t in range(takes))
    return BinaryWorkload(both) if is_binary(shape) else Workload(both)


def call(impl, w, take):
    """One take of a workload: take (values, indices) or take_binary (offsets, data, indices)."""
    if isinstance(w, BinaryWorkload):
        return impl.take_binary(*take)
    return impl.take(*take)


def search(impl, w):
    """What one timed call does: each take in turn (one take unless the selectivity is low)."""
    out = None
    for take in w.takes:
        out = call(impl, w, take)
    return out


def outputs(impl, w) -> list:
    """Every take's result as bits (what track_mismatches compares, exactly)."""
    return [as_bits(call(impl, w, take)) for take in w.takes]


def output_bytes(w) -> int:
    """Bytes one timed call writes: the throughput's numerator."""
    total = 0
    for *column, indices in w.takes:
        if isinstance(w, BinaryWorkload):
            offsets = column[0]
            lengths = np.diff(offsets.astype(np.int64))
            total += int(lengths[indices].sum()) + (indices.size + 1) * offsets.itemsize
        else:
            values = column[0]
            total += indices.size * values.itemsize * (VALUE_WIDTH if values.ndim == 2 else 1)
    return total


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def _pin_ends(idx: np.ndarray, n: int, distribution: str) -> None:
    """Random and clustered indices reach both ends of the column (sorted ones stay sorted)."""
    if len(idx) >= 2 and distribution != "sorted":
        idx[0], idx[-1] = n - 1, 0


def _indices(rng, count, n, distribution, dtype) -> np.ndarray:
    if distribution == "full sorted with repeats":
        # n sorted indices from 0 to n - 1 that are not every row once: looks like the identity
        # from its length and ends only.
        idx = np.sort(rng.integers(count, n))
        idx[0], idx[-1] = 0, n - 1
        idx[count // 2] = idx[count // 2 - 1]  # at least one repeat
        return idx.astype(dtype)
    if distribution == "descending":
        return make_indices(rng, count, n, "sorted", dtype)[::-1].copy()
    if distribution == "one row repeated":
        return np.full(count, rng.integers(1, n)[0], dtype=dtype)
    idx = make_indices(rng, count, n, distribution, dtype)
    _pin_ends(idx, n, distribution)
    return idx


def _remapped_request(rng, count, n, distribution, index_dtype) -> tuple[int, np.ndarray]:
    """A request of `count` row ids into n rows reaching both ends, as lance_remap takes it."""
    request = make_indices(rng, count, n, distribution, np.int64)
    _pin_ends(request, n, distribution)
    return lance_remap(request, n, index_dtype)


def _strided(rng: SplitMix64, idx: np.ndarray, n: int) -> np.ndarray:
    """The same indices as every other element of a larger array (a non-contiguous view)."""
    wide = make_indices(rng, 2 * len(idx), n, "random", idx.dtype)
    wide[::2] = idx
    return wide[::2]


def _take_case(
    label, shape, distribution, count, n=CASE_VALUES, held_out=False, view=None, special=False
) -> Case:
    """A take of `count` indices into an n-row column; view "remapped": as the speed workload,
    a request of `count` row ids into n rows, taken from the rows it read (lance_remap)."""
    value_type, index_dtype = shape

    def make(rng):
        pad = 3 if view == "offset values" else 0
        if view == "remapped":
            rows, idx = _remapped_request(rng, count, n, distribution, index_dtype)
            return (make_values(rng, value_type, rows), idx)
        if view == "strided values":
            values = make_values(rng, value_type, 2 * n)[::2]
        elif view == "unaligned rows":  # rows starting 9 bytes into their buffer
            raw = rng.u64(2 * n + 2).view(np.uint8)
            values = raw[9 : 9 + n * VALUE_WIDTH].reshape(n, VALUE_WIDTH)
        else:
            values = make_values(rng, value_type, n + pad)[pad:]
        idx = _indices(rng, count, n, distribution, index_dtype)
        if special:  # every special float pattern gets taken
            bits = np.array(SPECIAL_FLOAT_BITS, dtype=np.uint64)
            values.view(np.uint64)[: len(bits)] = bits
            idx[1 : 1 + len(bits)] = np.arange(len(bits))
        if view == "strided indices":
            idx = _strided(rng, idx, n)
        return (values, idx)

    return Case(f"take {label}", "take", make, compare=compare_bits, held_out=held_out)


def _binary_case(
    label,
    shape,
    distribution,
    count,
    n=CASE_VALUES,
    held_out=False,
    view=None,
    mean_length=BINARY_MEAN_LENGTH,
) -> Case:
    value_type, index_dtype = shape

    def make(rng):
        if view == "remapped":  # as the speed workload (see _take_case)
            rows, idx = _remapped_request(rng, count, n, distribution, index_dtype)
            offsets, data = make_strings(rng, rows, rows * mean_length, OFFSET_DTYPES[value_type])
            return (offsets, data, idx)
        skip = 5 if view == "sliced offsets" else 0  # Arrow's sliced arrays: offsets not from 0
        total = (n + skip) * mean_length
        offsets, data = make_strings(rng, n + skip, total, OFFSET_DTYPES[value_type])
        offsets = offsets[skip:]
        if view == "offset data":  # data starting 3 bytes into a larger buffer
            padded = np.zeros(len(data) + 3, dtype=np.uint8)
            padded[3:] = data
            data = padded[3:]
        idx = _indices(rng, count, n, distribution, index_dtype)
        if view == "strided indices":
            idx = _strided(rng, idx, n)
        return (offsets, data, idx)

    return Case(
        f"take_binary {label}", "take_binary", make, compare=compare_bits, held_out=held_out
    )


def correctness_cases() -> list[Case]:
    cases = []
    for shape in SHAPES:
        for dist in DISTRIBUTIONS:
            for sel in SELECTIVITIES:
                count = round(sel * CASE_VALUES)
                label = f"{shape} {dist} {sel}"
                cases.append(_take_case(label, shape, dist, count, view="remapped"))
    for shape in BINARY_SHAPES:
        for dist in BINARY_DISTRIBUTIONS:
            for sel in BINARY_SELECTIVITIES:
                count = round(sel * CASE_VALUES)
                label = f"{shape} {dist} {sel}"
                cases.append(_binary_case(label, shape, dist, count, view="remapped"))

    def held(label, shape, dist, count, **kw):
        return _take_case(label, shape, dist, count, held_out=True, **kw)

    full = CASE_VALUES
    repeats = "full sorted with repeats"
    cases += [
        held("int32 values", ("int32", "uint32"), "random", 5001),
        held("sorted, distinct", ("int64", "uint64"), "sorted", 5000),
        held("int64 every row in order", ("int64", "uint64"), "sorted", full),
        held("random into a column", ("int64", "uint64"), "random", 5000),
        held("int64 values, uint32 indices", ("int64", "uint32"), "clustered", 4999),
        held("NaN payloads, -0.0, inf", ("float64", "uint64"), "random", 3000, special=True),
        held("float specials, clustered", ("float64", "uint32"), "clustered", 777, special=True),
        held("16-byte rows", ("bytes16", "uint32"), "random", 5003),
        held("16-byte rows, every row in order", ("bytes16", "uint64"), "sorted", full),
        held("16-byte rows, clustered", ("bytes16", "uint32"), "clustered", 2049),
        held("full length sorted with repeats", ("int64", "uint64"), repeats, full),
        held("full length 16-byte sorted with repeats", ("bytes16", "uint64"), repeats, full),
        held("descending", ("int64", "uint64"), "descending", 1000),
        held("one row repeated", ("float64", "uint64"), "one row repeated", 999),
        held("more indices than rows", ("int32", "uint64"), "random", 3 * full),
        held("n=0", ("int64", "uint64"), "random", 0),
        held("n=0 16-byte rows", ("bytes16", "uint32"), "random", 0),
        held("n=1", ("int32", "uint32"), "random", 1),
        held("one-row column", ("int64", "uint32"), "random", 17, n=1),
        held("strided indices", ("int64", "uint64"), "random", 3001, view="strided indices"),
        held("offset values", ("float64", "uint32"), "random", 2000, view="offset values"),
        held("strided values", ("int32", "uint64"), "clustered", 2000, view="strided values"),
        held(
            "unaligned 16-byte rows", ("bytes16", "uint64"), "random", 3000, view="unaligned rows"
        ),
        held("offset 16-byte rows", ("bytes16", "uint32"), "random", 1001, view="offset values"),
    ]

    def held_binary(label, shape, dist, count, **kw):
        return _binary_case(label, shape, dist, count, held_out=True, **kw)

    small, large = "binary", "large_binary"
    cases += [
        held_binary("sorted", (small, "uint64"), "sorted", 5000),
        held_binary("clustered", (large, "uint32"), "clustered", 5000),
        held_binary("every string in order", (small, "uint32"), "sorted", full),
        held_binary("full length sorted with repeats", (large, "uint64"), repeats, full),
        held_binary("all strings empty", (small, "uint64"), "random", 1000, mean_length=0),
        held_binary("long strings", (large, "uint32"), "random", 300, n=10, mean_length=3000),
        held_binary("n=0", (small, "uint32"), "random", 0),
        held_binary("n=1", (large, "uint64"), "random", 1),
        held_binary("one-string column", (small, "uint64"), "random", 33, n=1),
        held_binary("sliced offsets", (small, "uint32"), "random", 3000, view="sliced offsets"),
        held_binary(
            "sliced large offsets", (large, "uint64"), "clustered", 3000, view="sliced offsets"
        ),
        held_binary("offset data", (small, "uint64"), "random", 3000, view="offset data"),
        held_binary("strided indices", (large, "uint32"), "random", 2001, view="strided indices"),
    ]
    return cases
