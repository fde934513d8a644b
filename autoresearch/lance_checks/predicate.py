"""predicate: the rows of Lance's filtered scan against compare_scalar and between.

A dataset of the target's own columns (int32, int64, float32, float64: inputs.value's grid of
CARDINALITY values, and the held-out extremes: integer edges, signed zeros, infinities, NaNs of
both signs and with a payload) with 20% nulls (inputs.random_validity), scanned with
`scanner(filter=...)`. The comparison is a pyarrow expression against a scalar of the column's
own type (pylance hands it to DataFusion through Substrait, so no literal is widened); BETWEEN is
Lance's SQL filter, over the workload's bounds and, on float columns, over every pair of zeros.
The rows Lance returns must be exactly the set bits of the target's bitmap: valid rows where the
predicate holds, by arrow-rs's total order for floats with -0.0 read as +0.0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.lance_checks import KERNEL, LANCE, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import write
from autoresearch.predicate import inputs, kernels, reference

TARGET = "predicate"
SEED = 0x9ED1F1
OPS = {
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "eq": "equal",
    "ne": "not_equal",
}


def extremes(dtype: str) -> np.ndarray:
    """The held-out edge values of a type: integer limits, or every special float bit pattern."""
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        return np.array([info.min, info.min + 1, -1, 0, 1, info.max - 1, info.max], dtype)
    payload = np.array([inputs.NAN_PAYLOAD[dtype]]).view(dtype)
    return np.concatenate([np.array(inputs.SPECIALS[dtype], dtype=dtype), payload, -payload])


def column(rng: SplitMix64, dtype: str, n: int) -> np.ndarray:
    """The workload's grid values with one row in four an edge value."""
    grid = inputs.value(dtype, rng.integers(n, inputs.CARDINALITY))
    edges = extremes(dtype)
    pick = rng.integers(n, edges.size * 4)
    return np.where(pick < edges.size, edges[np.minimum(pick, edges.size - 1)], grid)


def scalars(rng: SplitMix64, dtype: str, values: np.ndarray) -> list[tuple[str, np.ndarray]]:
    picks = [("grid value", inputs.scalar(dtype, rng.integers(1, inputs.CARDINALITY)[0]))]
    picks.append(("present value", np.asarray(values[rng.integers(1, values.size)[0]]).reshape(())))
    for edge in extremes(dtype):
        bits = int(np.asarray(edge).view(f"u{np.dtype(dtype).itemsize}"))
        picks.append((f"edge {edge.item()!r} (bits {bits:#x})", np.asarray(edge).reshape(())))
    return picks


def _rows(bitmap: np.ndarray, n: int) -> np.ndarray:
    return np.flatnonzero(np.unpackbits(bitmap, bitorder="little")[:n])


def _arrow_column(values: np.ndarray, validity: np.ndarray):
    import pyarrow as pa

    kind = pa.from_numpy_dtype(values.dtype)
    buffers = [pa.py_buffer(validity.copy()), pa.py_buffer(np.ascontiguousarray(values))]
    return pa.Array.from_buffers(kind, values.size, buffers)


def _lance_rows(ds, expression) -> np.ndarray:
    from autoresearch.lance_checks.datasets import POS

    return np.sort(ds.scanner(filter=expression, columns=[POS]).to_table()[POS].to_numpy())


def _problems(lance: np.ndarray, expected: np.ndarray) -> list[str]:
    if np.array_equal(lance, expected):
        return []
    extra = np.setdiff1d(lance, expected)[:3].tolist()
    missing = np.setdiff1d(expected, lance)[:3].tolist()
    return [
        f"Lance returned {lance.size} rows, expected {expected.size}: "
        f"extra {extra}, missing {missing}"
    ]


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = SplitMix64(SEED)
    n = scale.pick(4000, 100_000)
    yield from _float_semantics(workdir)
    for dtype in inputs.DTYPES:
        values = column(rng.spawn(dtype), dtype, n)
        validity = inputs.random_validity(rng.spawn(f"{dtype} nulls"), n, 0.2)
        ds = write(workdir / f"{dtype}.lance", {"x": _arrow_column(values, validity)})
        kind = pa.from_numpy_dtype(np.dtype(dtype))
        for label, s in scalars(rng.spawn(f"{dtype} scalars"), dtype, values):
            for op, function in OPS.items():
                expression = getattr(pc, function)(pc.field("x"), pa.scalar(s.item(), type=kind))
                lance = _lance_rows(ds, expression)
                name = f"filter x {op} {label}, {dtype}, 20% nulls"
                for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                    expected = _rows(impl.compare_scalar(values, op, s, validity), n)
                    yield verdict(
                        TARGET, name, against, _problems(lance, expected), f"{lance.size} rows"
                    )
        bounds = [tuple(inputs.scalar(dtype, r) for r in inputs.BETWEEN_RANKS)]
        if dtype.startswith("float"):  # both zeros, whichever zero each bound is
            zeros = [np.asarray(z, dtype=dtype).reshape(()) for z in (-0.0, 0.0)]
            bounds += [(lo, hi) for lo in zeros for hi in zeros]
        for lo, hi in bounds:
            lance = _lance_rows(ds, f"x BETWEEN {lo.item()!r} AND {hi.item()!r}")
            name = f"filter x BETWEEN {lo.item()!r} AND {hi.item()!r}, {dtype}, 20% nulls"
            for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                expected = _rows(impl.between(values, lo, hi, validity), n)
                problems = _problems(lance, expected)
                yield verdict(TARGET, name, against, problems, f"{lance.size} rows")


def _float_semantics(workdir: Path) -> Iterator[Check]:
    """What Lance's filter makes of signed zeros and NaNs, stated on seven values (the facts the
    target's contract follows: total order for NaNs, the two zeros equal). The planner widens a
    zero literal (`explain_plan`: `x < 0.0` runs as `x < -0.0`, `x = 0.0` as
    `x IN (-0.0, 0.0)`) before arrow-rs's total_cmp kernels see it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.array([-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1.0])
    ds = write(workdir / "semantics.lance", {"x": pa.array(values)})

    def rows(function, s):
        return _lance_rows(ds, getattr(pc, function)(pc.field("x"), pa.scalar(s))).tolist()

    zeros = rows("equal", 0.0), rows("equal", -0.0), rows("less", 0.0)
    yield verdict(
        TARGET,
        "Lance's filter: -0.0 = +0.0 and -0.0 is not < +0.0 (equal zeros, as the contract)",
        LANCE,
        [] if zeros == ([0, 1], [0, 1], [3, 5]) else [f"x = 0.0, x = -0.0, x < 0.0 gave {zeros}"],
    )
    nans = rows("greater", np.inf), rows("less", -np.inf)
    yield verdict(
        TARGET,
        "Lance's filter: NaN > +inf and -NaN < -inf (total_cmp's order of NaNs, as the contract)",
        LANCE,
        [] if nans == ([2], [3]) else [f"x > inf, x < -inf gave {nans}"],
    )
