"""The targets' API: what a case is, how an output is compared with the reference's, a failure.

Every target's inputs.py builds `Case`s and may use the comparisons (`compare_outputs`,
`compare_bits`, `count_mismatches`); the oracle, the heldout cases and the asv suites judge with
the same functions. Targets import these names from `autoresearch.oracle`, which re-exports them:
a target's package is never edited to follow a move in the harness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoresearch.common import MAX_ABS_ERR, SplitMix64
from autoresearch.harness.kernel_data import arrays_of
from autoresearch.harness.outputs import same_bits

FIXED_SEEDS = (20260001, 20260002)  # always run: reproducible failures
MAX_REPORTED = 5  # mismatching elements shown per failure
KINDS = (
    "wrong", "contract", "mutated", "aliased", "stale", "repeat", "raised", "static", "state",
    "tampered",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One call to check: `func` is named alike in reference.py and kernels.py.

    `make(rng)` builds fresh arguments; any seed must give arrays of the same shapes and dtypes
    (the cross-call checks rely on it). `compare(args, actual, expected)` returns a list of
    problems; the default compares by dtype (floats within tolerance, the rest exactly), scaling
    float tolerance by |expected| unless `scale(args, expected)` gives the magnitude of the terms.
    `partial_change`: the stale check may copy one element of an input array from its neighbour
    and expect the reference's new answer; set False when that can make an input invalid (sorted,
    unique or self-describing arrays). The whole-array in-place change runs either way.
    """

    label: str
    func: str
    make: Callable[[SplitMix64], tuple]
    compare: Callable[[tuple, Any, Any], list[str]] | None = None
    scale: Callable[[tuple, Any], Any] | None = None
    held_out: bool = False
    partial_change: bool = True


@dataclass
class Failure:
    label: str
    kind: str
    detail: str

    def __str__(self) -> str:
        # One line each: a kernel's exception text must not forge report lines.
        return " ".join(f"{self.kind}: {self.label}: {self.detail}".split())


@dataclass
class Report:
    target: str
    cases: int = 0
    calls: int = 0
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    speed_combinations: int = 0  # of the speed workload, checked against the reference
    kernel_sha256: str = ""  # of the kernels file checked

    @property
    def passed(self) -> bool:
        return not self.failures and self.cases > 0


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


def _array_contract(actual: Any, expected: np.ndarray) -> str | None:
    if type(actual) is not np.ndarray:  # exact: subclasses and lazy objects can defer the work
        kind = type(actual)
        return f"contract: expected numpy.ndarray, got {kind.__module__}.{kind.__qualname__}"
    if actual.dtype != expected.dtype:
        return f"contract: dtype {actual.dtype}, expected {expected.dtype}"
    if actual.shape != expected.shape:
        return f"contract: shape {actual.shape}, expected {expected.shape}"
    if expected.flags.c_contiguous and not actual.flags.c_contiguous:
        return f"contract: not C-contiguous (strides {actual.strides}), as the reference's is"
    if expected.flags.writeable and not actual.flags.writeable:
        return "contract: read-only, the reference's output is writeable"
    return None


def _is_float(x: Any) -> bool:
    return isinstance(x, (float, np.floating, complex, np.complexfloating))


def compare_outputs(actual: Any, expected: Any, scale: Any = None) -> list[str]:
    """Problems with `actual` against `expected`: contract first, then values."""
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return [
                f"contract: expected a {type(expected).__name__} of {len(expected)}, "
                f"got {type(actual).__name__}"
            ]
        problems = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            s = scale[i] if isinstance(scale, (tuple, list)) else None
            problems += [f"[{i}] {p}" for p in compare_outputs(a, e, s)]
        return problems
    if isinstance(expected, dict):
        if type(actual) is not type(expected) or actual.keys() != expected.keys():
            return [f"contract: expected a dict with keys {sorted(expected)}"]
        problems = []
        for k in expected:
            s = scale.get(k) if isinstance(scale, dict) else None
            problems += [f"[{k!r}] {p}" for p in compare_outputs(actual[k], expected[k], s)]
        return problems
    if isinstance(expected, np.ndarray):
        broken = _array_contract(actual, expected)
        if broken:
            return [broken]
        bad = mismatches(actual, expected, scale)
        if bad.size == 0:
            return []
        shown = ", ".join(
            f"at {tuple(int(i) for i in idx)}: {actual[tuple(idx)]!r} != {expected[tuple(idx)]!r}"
            for idx in bad[:MAX_REPORTED]
        )
        return [f"wrong: {len(bad)} of {expected.size} elements differ ({shown})"]
    if type(actual) is not type(expected):
        return [f"contract: expected {type(expected).__name__}, got {type(actual).__name__}"]
    if _is_float(expected):
        if mismatches(np.asarray(actual), np.asarray(expected), scale).size:
            return [f"wrong: {actual!r} != {expected!r}"]
        return []
    if not bool(actual == expected):
        return [f"wrong: {actual!r} != {expected!r}"]
    return []


def as_bits(x: Any) -> Any:
    """Float arrays viewed as unsigned words of their size (tuples element-wise); others as-is."""
    if isinstance(x, tuple):
        return tuple(as_bits(v) for v in x)
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x.view(np.dtype(f"u{x.dtype.itemsize}"))
    return x


def contract_problems(actual: Any, expected: Any) -> list[str]:
    """Type, dtype and shape problems (the oracle's `contract` kind), values not compared."""
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple) or len(actual) != len(expected):
            return [f"contract: expected a tuple of {len(expected)}, got {type(actual).__name__}"]
        return [
            f"[{i}] {p}"
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for p in contract_problems(a, e)
        ]
    if type(actual) is not np.ndarray:
        return [f"contract: expected numpy.ndarray, got {type(actual).__name__}"]
    if actual.dtype != expected.dtype:
        return [f"contract: dtype {actual.dtype}, expected {expected.dtype}"]
    if actual.shape != expected.shape:
        return [f"contract: shape {actual.shape}, expected {expected.shape}"]
    return []


def compare_bits(args: tuple, actual: Any, expected: Any) -> list[str]:
    """Contract first (type, dtype, shape), then every bit: decoders and gathers never round."""
    return contract_problems(actual, expected) or compare_outputs(
        as_bits(actual), as_bits(expected)
    )


def mismatches(actual: np.ndarray, expected: np.ndarray, scale: Any = None) -> np.ndarray:
    """Indices (one row each) where actual and expected disagree under the tolerance rule.

    Floats: |actual - expected| <= MAX_ABS_ERR * max(1, |scale or expected|); NaN matches only NaN,
    an infinity only the same infinity. Everything else must be equal.
    """
    return np.argwhere(_disagree(actual, expected, scale))


def _disagree(actual: np.ndarray, expected: np.ndarray, scale: Any = None) -> np.ndarray:
    """mismatches' rule, as a boolean array shaped like `expected`."""
    if expected.dtype.kind in "fc":
        mag = np.abs(expected if scale is None else np.asarray(scale, dtype=np.float64))
        tol = MAX_ABS_ERR * np.maximum(1.0, mag)
        wide = np.complex128 if expected.dtype.kind == "c" else np.float64
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(actual.astype(wide) - expected.astype(wide))
            # Within tolerance only between finite values: an infinite tolerance (from an
            # infinite expected value or scale) would otherwise let any value through.
            ok = (diff <= tol) & np.isfinite(expected) & np.isfinite(actual) & np.isfinite(tol)
        same_special = (np.isnan(actual) & np.isnan(expected)) | (
            np.isinf(expected) & (actual == expected)
        )
        return ~(ok | same_special)
    return actual != expected


def count_mismatches(actual: Any, expected: Any, scale: Any = None) -> int:
    """Mismatching elements, with a contract violation counting as every element wrong."""
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return max(1, sum(e.size for e in arrays_of(expected)))
        return sum(
            count_mismatches(a, e, scale[i] if isinstance(scale, (tuple, list)) else None)
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        if type(actual) is not type(expected) or actual.keys() != expected.keys():
            return max(1, sum(e.size for e in arrays_of(expected)))
        return sum(count_mismatches(actual[k], expected[k]) for k in expected)
    if isinstance(expected, np.ndarray):
        if _array_contract(actual, expected):
            return max(1, expected.size)
        if scale is None and same_bits(actual, expected):
            # Equal bit for bit matches under the rule (without a scale every tolerance is finite
            # or the value is the same infinity): 10x cheaper than weighing every element, and
            # what an honest exact kernel returns (track_mismatches, the timed checks).
            return 0
        return int(np.count_nonzero(_disagree(actual, expected, scale)))
    return len(compare_outputs(actual, expected, scale))
