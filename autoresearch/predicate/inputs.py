"""predicate inputs: the seeded speed workload (dtypes x value orders) and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.

Scalars (and BETWEEN's bounds) are 0-d arrays of the column's dtype: Arrow's `Scalar` wraps a
length-1 array, a 0-d array keeps a float's exact bits (NaN payloads, -0.0), and the oracle can
check that a kernel neither writes to it nor caches on it.
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

DTYPES = ["int32", "int64", "float32", "float64"]  # the column's type
ORDERS = ["random", "sorted"]  # value order in the column (sorted: a clustered/sorted column)
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "Predicate": SpeedWorkload(
        "workload",
        {
            "dtype": DTYPES,  # the column's type
            "order": ORDERS,  # random or sorted values (the same selectivities either way)
        },
    ),
}
# Rows per column: 16 of Lance's 8192-row scan batches (pylance 14.0.2's filtered scans yield
# 8192-row batches). Lance filters a batch it has just decoded, so the values are in cache:
# 131,072 rows (1 MB at float64) stay in the 2 MB L2, and each kernel call (~20-50 us) still
# dwarfs Python's dispatch. A 10M-row column (until 2026-12-05) measured DRAM bandwidth shared
# with the other core instead: its pairs spread 7-12% and a decision resolved 5%, not 2%
# (docs/gate.md).
NUM_VALUES = 131_072
CARDINALITY = 1000  # distinct values: each is 0.1% of the rows, so eq selects 0.1%
NULL_FRACTION = 0.01  # rows that are null in the comparisons' validity bitmap
SPEED_SEED = 0x9ED1C  # the speed workload's seed (correctness uses fresh ones too)
# One timed call: each op once at a fixed selectivity, then BETWEEN on the non-null path.
# (op, rank u of the scalar among the CARDINALITY values, selectivity it gives)
CALL = [
    ("lt", 1, 0.001),  # u < 1
    ("le", 499, 0.5),  # u <= 499
    ("gt", 0, 0.999),  # u > 0
    ("ge", 999, 0.001),  # u >= 999
    ("eq", 500, 0.001),  # u == 500
    ("ne", 500, 0.999),  # u != 500
]
BETWEEN_RANKS = (250, 749)  # BETWEEN value(250) AND value(749): 50%, validity None

# value(u): the u-th of CARDINALITY distinct values, spread over the type's range.
VALUE_STEP = {"int32": 4_000_037, "int64": 9_000_000_000_000_003, "float32": 0.25, "float64": 0.25}


def value(dtype: str, u):
    """The u-th distinct value of a column of `dtype` (u in [0, CARDINALITY)), exactly."""
    centred = np.asarray(u, dtype=np.int64) - CARDINALITY // 2
    if dtype.startswith("int"):
        return (centred * np.int64(VALUE_STEP[dtype])).astype(dtype)
    return (centred.astype(np.float64) * VALUE_STEP[dtype]).astype(dtype)


def scalar(dtype: str, u) -> np.ndarray:
    return np.asarray(value(dtype, u), dtype=dtype).reshape(())


def random_validity(rng: SplitMix64, n: int, null_fraction: float) -> np.ndarray:
    """Arrow LSB-first bitmap, 1 = valid. Padding bits of the last byte are random (Arrow leaves
    them undefined): kernels must not read them into the result."""
    valid = rng.uniform(n) >= null_fraction
    bitmap = np.packbits(valid, bitorder="little")
    if n % 8:
        junk = np.uint8(rng.integers(1, 256)[0]) & np.uint8(0xFF << (n % 8) & 0xFF)
        bitmap[-1] |= junk
    return bitmap


@dataclass(frozen=True)
class Workload:
    dtype: str
    values: np.ndarray  # [NUM_VALUES] of dtype
    validity: np.ndarray  # uint8[ceil(n/8)]


@functools.lru_cache(maxsize=2)
def workload(dtype: str, order: str, n: int = NUM_VALUES) -> Workload:
    """The speed workload of one combination (cached per process; never mutate it). Tests pass a
    smaller n; the benchmarks never do."""
    key = f"{dtype} {order}" + ("" if n == NUM_VALUES else f" n={n}")

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        u = rng.integers(n, CARDINALITY)
        if order == "sorted":
            u = np.sort(u)
        return {"values": value(dtype, u), "validity": random_validity(rng, n, NULL_FRACTION)}

    a = cached_arrays(__file__, key, make)
    return Workload(dtype, a["values"], a["validity"])


def _calls(w: Workload):
    for op, u, _ in CALL:
        yield "compare_scalar", (w.values, op, scalar(w.dtype, u), w.validity)
    lo, hi = BETWEEN_RANKS
    yield "between", (w.values, scalar(w.dtype, lo), scalar(w.dtype, hi), None)


def search(impl, w: Workload):
    """What one timed call does: the six comparisons and one BETWEEN over the column."""
    out = None
    for func, args in _calls(w):
        out = getattr(impl, func)(*args)
    return out


def outputs(impl, w: Workload) -> list:
    """Every bitmap of one call (what track_mismatches compares, byte for byte)."""
    return [getattr(impl, func)(*args) for func, args in _calls(w)]


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------

SPECIALS = {  # exact bit patterns: total_cmp's order, except that -0.0 == +0.0 (Lance)
    "float32": [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.5, -1.5, 1e-45, -1e-45, 3.4e38],
    "float64": [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.5, -1.5, 5e-324, -5e-324, 1.7e308],
}
NAMED_SCALARS = {  # -nan is a NaN with the sign bit set: below -inf in total order
    "0.0": 0.0,
    "-0.0": -0.0,
    "nan": np.nan,
    "-nan": -np.nan,
    "inf": np.inf,
    "-inf": -np.inf,
}
NAN_PAYLOAD = {"float32": np.uint32(0x7FC00123), "float64": np.uint64(0x7FF8000000000123)}


def _specials(dtype: str) -> np.ndarray:
    """Signed zeros, infinities, NaNs of both signs and with a payload, denormals, extremes."""
    vals = np.array(SPECIALS[dtype], dtype=dtype)
    payload = np.array([NAN_PAYLOAD[dtype]]).view(dtype)
    return np.concatenate([vals, payload, -payload])


def _column(rng: SplitMix64, dtype: str, n: int, kind: str) -> np.ndarray:
    if kind == "grid":  # the speed workload's values, random order
        return value(dtype, rng.integers(n, CARDINALITY))
    if kind == "extremes":  # the type's edges (ints) or every special float, mixed with a grid
        if dtype.startswith("int"):
            info = np.iinfo(dtype)
            edges = np.array([info.min, info.min + 1, -1, 0, 1, info.max - 1, info.max], dtype)
        else:
            edges = _specials(dtype)
        pick = rng.integers(n, edges.size + 4)
        grid = value(dtype, rng.integers(n, CARDINALITY))
        return np.where(pick < edges.size, edges[np.minimum(pick, edges.size - 1)], grid)
    raise ValueError(kind)


def _scalar_for(rng: SplitMix64, dtype: str, column: np.ndarray, which: str) -> np.ndarray:
    if which == "present":  # a value that occurs in the column (eq/ne find it)
        return np.asarray(column[rng.integers(1, column.size)[0]], dtype=dtype).reshape(())
    if which == "grid":
        return scalar(dtype, rng.integers(1, CARDINALITY)[0])
    return np.asarray(NAMED_SCALARS[which], dtype=dtype).reshape(())


def _validity_for(rng: SplitMix64, n: int, nulls: str):
    if nulls == "none":
        return None
    if nulls == "all":
        return random_validity(rng, n, 1.0)  # every row null (padding still random)
    if nulls == "all-valid bitmap":
        return random_validity(rng, n, 0.0)
    return random_validity(rng, n, 0.2)


def _case(
    label,
    func,
    dtype,
    n,
    *,
    op=None,
    kind="grid",
    nulls="some",
    scalars=("grid",),
    view=None,
    held_out=False,
) -> Case:
    def make(rng):
        column = _column(rng, dtype, n if view is None else 2 * n + 1, kind)
        if view == "strided":  # every other element: non-contiguous
            column = column[1::2][:n]
        elif view == "offset":  # starting one element into the buffer: unaligned
            column = column[1 : n + 1]
        else:
            column = column[:n]
        validity = _validity_for(rng, n, nulls)
        s = [_scalar_for(rng, dtype, column, which) for which in scalars]
        if func == "between":
            return (column, s[0], s[1], validity)
        return (column, op, s[0], validity)

    return Case(f"{func} {label}", func, make, held_out=held_out)


def correctness_cases() -> list[Case]:
    cases = []
    n = 100_003  # the speed workload's values, shorter (the result cannot depend on length)
    for dtype in DTYPES:
        for op, _, _ in CALL:
            cases.append(_case(f"{op} {dtype}", "compare_scalar", dtype, n, op=op))
        cases.append(_case(f"{dtype}", "between", dtype, n, scalars=("grid", "grid")))

    held = functools.partial(_case, held_out=True)
    ops = [op for op, _, _ in CALL]
    for dtype in DTYPES:  # type edges / every special float, scalars taken from the column
        for op in ops:
            cases.append(
                held(f"{op} {dtype} extremes", "compare_scalar", dtype, 4099, op=op,
                     kind="extremes", scalars=("present",))
            )  # fmt: skip
        cases.append(
            held(f"{dtype} extremes", "between", dtype, 4099, kind="extremes",
                 scalars=("present", "present"))
        )  # fmt: skip
    for dtype in ("float32", "float64"):  # total order at each special scalar
        for special in ("0.0", "-0.0", "nan", "-nan", "inf", "-inf"):
            for op in ops:
                cases.append(
                    held(f"{op} {dtype} scalar={special}", "compare_scalar", dtype, 1031,
                         op=op, kind="extremes", scalars=(special,))
                )  # fmt: skip
        for lo, hi, what in [  # -0.0 == +0.0 (Lance): every zero bound takes both zeros
            ("-0.0", "0.0", "both zeros"),
            ("0.0", "-0.0", "both zeros, bounds reversed"),
            ("0.0", "0.0", "both zeros"),
            ("-inf", "-0.0", "negatives and both zeros"),
            ("0.0", "inf", "both zeros and positives"),
            ("-inf", "inf", "NaNs outside"),
            ("-nan", "nan", "everything"),
        ]:
            cases.append(
                held(f"{dtype} {lo}..{hi} ({what})", "between", dtype, 1031, kind="extremes",
                     scalars=(lo, hi))
            )  # fmt: skip
    for length in (1, 7, 8, 9, 63, 64, 65, 1000):  # lengths around bytes and 64-bit words
        cases.append(held(f"n={length} lt int32", "compare_scalar", "int32", length, op="lt"))
        cases.append(
            held(f"n={length} float64", "between", "float64", length, scalars=("grid", "grid"))
        )
    cases += [
        held("n=0 ne int64", "compare_scalar", "int64", 0, op="ne", nulls="none"),
        held("n=0 int32", "between", "int32", 0, scalars=("grid", "grid")),
        held("all null ne float32", "compare_scalar", "float32", 777, op="ne", nulls="all"),
        held("all null int64", "between", "int64", 777, nulls="all", scalars=("grid", "grid")),
        held("no nulls (None) gt float64", "compare_scalar", "float64", 5001, op="gt",
             nulls="none"),
        held("all-valid bitmap ge int32", "compare_scalar", "int32", 5001, op="ge",
             nulls="all-valid bitmap"),
        held("strided view le int64", "compare_scalar", "int64", 3001, op="le", view="strided"),
        held("unaligned view eq float32", "compare_scalar", "float32", 3001, op="eq",
             view="offset", kind="extremes", scalars=("present",)),
        held("strided view float64", "between", "float64", 3001, view="strided",
             scalars=("grid", "grid")),
    ]  # fmt: skip
    return cases
