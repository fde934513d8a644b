"""The oracle: correctness checks shared by every target, run before (and after) any timing.

A kernel that is wrong never counts as fast. Each target's inputs.py lists its cases (`Case`); this
module runs them against the target's reference.py and judges the kernel:

- wrong        outputs outside tolerance (floats) or not bit-identical (everything else)
- contract     output type, dtype or shape differs from the reference's
- mutated      the kernel wrote to one of its inputs
- aliased      an output shares memory with an input or with the reference's output
- stale        a second call with new data of the same shape (fresh arrays, or the same arrays
               changed in place) returns an answer for the old data: caching across calls
- repeat       wrong after the same inputs were passed again and again (a timing-loop detector)
- raised       the kernel raised
- static       kernels.py imports or touches something its program.md does not allow

Seeds: the fixed cases run on FIXED_SEEDS and on fresh random seeds drawn for every run, so a kernel
tuned to the fixed seeds fails. Held-out cases (never in program.md or the speed workload) run too.

Command: `python -m autoresearch.oracle TARGET [--kernels FILE]`; exit 0 pass, 2 fail, 1 bad usage.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autoresearch import PACKAGE_DIR, TARGETS
from autoresearch.common import MAX_ABS_ERR, SplitMix64

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify)
# ---------------------------------------------------------------------------

FIXED_SEEDS = (20260001, 20260002)  # always run: reproducible failures
FRESH_SEEDS = 2  # plus this many drawn from os.urandom on every run: no tuning to fixed seeds
REPEAT_CALLS = 5  # same inputs again and again, as a timing loop does, then re-check
DEFAULT_ALLOWED_IMPORTS = ("numpy", "numba", "math")
MAX_REPORTED = 5  # mismatching elements shown per failure

# Names a kernel never needs and a cheating kernel does: files, environment, processes, timers,
# the interpreter's internals, code from strings.
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr",
    "delattr", "getattr", "breakpoint", "input", "memoryview", "__builtins__", "__loader__",
    "__spec__", "__file__",
}  # fmt: skip
# Attributes that reach around the module system or into the numba/numpy runtime.
FORBIDDEN_ATTRS = {
    "objmode", "load", "loadtxt", "fromfile", "memmap", "save", "savez", "savetxt", "tofile",
    "ctypeslib", "ctypes", "frombuffer", "get_include", "set_num_threads", "config",
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One call to check: `func` is named alike in reference.py and kernels.py.

    `make(rng)` builds fresh arguments; any seed must give arrays of the same shapes and dtypes
    (the cross-call checks rely on it). `compare(args, actual, expected)` returns a list of
    problems; the default compares by dtype (floats within tolerance, the rest exactly), scaling
    float tolerance by |expected| unless `scale(args, expected)` gives the magnitude of the terms.
    """

    label: str
    func: str
    make: Callable[[SplitMix64], tuple]
    compare: Callable[[tuple, Any, Any], list[str]] | None = None
    scale: Callable[[tuple, Any], Any] | None = None
    held_out: bool = False


@dataclass
class Failure:
    label: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.label}: {self.detail}"


@dataclass
class Report:
    target: str
    cases: int = 0
    calls: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.cases > 0


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


def _arrays(obj: Any) -> list[np.ndarray]:
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [a for item in obj for a in _arrays(item)]
    return []


def compare_outputs(actual: Any, expected: Any, scale: Any = None) -> list[str]:
    """Problems with `actual` against `expected`: contract first, then values."""
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple) or len(actual) != len(expected):
            return [f"contract: expected a tuple of {len(expected)}, got {type(actual).__name__}"]
        problems = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            s = scale[i] if isinstance(scale, tuple) else None
            problems += [f"[{i}] {p}" for p in compare_outputs(a, e, s)]
        return problems
    if isinstance(expected, np.ndarray):
        if type(actual) is not np.ndarray:
            return [f"contract: expected numpy.ndarray, got {type(actual).__name__}"]
        if actual.dtype != expected.dtype:
            return [f"contract: dtype {actual.dtype}, expected {expected.dtype}"]
        if actual.shape != expected.shape:
            return [f"contract: shape {actual.shape}, expected {expected.shape}"]
        bad = mismatches(actual, expected, scale)
        if bad.size == 0:
            return []
        shown = ", ".join(
            f"at {tuple(int(i) for i in idx)}: {actual[tuple(idx)]!r} != {expected[tuple(idx)]!r}"
            for idx in bad[:MAX_REPORTED]
        )
        return [f"wrong: {len(bad)} of {expected.size} elements differ ({shown})"]
    if actual != expected:
        return [f"wrong: {actual!r} != {expected!r}"]
    return []


def mismatches(actual: np.ndarray, expected: np.ndarray, scale: Any = None) -> np.ndarray:
    """Indices (one row each) where actual and expected disagree under the tolerance rule."""
    if expected.dtype.kind in "fc":
        mag = np.abs(expected if scale is None else np.asarray(scale, dtype=np.float64))
        tol = MAX_ABS_ERR * np.maximum(1.0, mag)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
            ok = diff <= tol
        same_special = (np.isnan(actual) & np.isnan(expected)) | (
            np.isinf(expected) & (actual == expected)
        )
        bad = ~(ok | same_special)
    else:
        bad = actual != expected
    return np.argwhere(bad)


def count_mismatches(actual: Any, expected: Any, scale: Any = None) -> int:
    """Mismatching elements, with a contract violation counting as every element wrong."""
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return max(1, sum(e.size for e in _arrays(expected)))
        return sum(
            count_mismatches(a, e, scale[i] if isinstance(scale, tuple) else None)
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
        )
    if isinstance(expected, np.ndarray):
        if (
            type(actual) is not np.ndarray
            or actual.dtype != expected.dtype
            or actual.shape != expected.shape
        ):
            return max(1, expected.size)
        return len(mismatches(actual, expected, scale))
    return int(actual != expected)


# ---------------------------------------------------------------------------
# Dynamic checks
# ---------------------------------------------------------------------------


def _snapshot(args: tuple) -> tuple:
    return copy.deepcopy(args)


def _mutated(args: tuple, pristine: tuple) -> list[str]:
    out = []
    for i, (a, p) in enumerate(zip(args, pristine, strict=True)):
        if isinstance(p, np.ndarray):
            if not np.array_equal(a, p, equal_nan=p.dtype.kind in "fc"):
                out.append(f"argument {i} was written to")
        elif isinstance(p, (list, tuple)):
            out += [f"argument {i}{m[len('argument 0') :]}" for m in _mutated(tuple(a), tuple(p))]
        elif a != p:
            out.append(f"argument {i} changed")
    return out


def _aliased(actual: Any, args: tuple, expected: Any) -> list[str]:
    outs = _arrays(actual)
    others = [("input", a) for a in _arrays(args)] + [
        ("reference output", e) for e in _arrays(expected)
    ]
    found = []
    for i, o in enumerate(outs):
        if o.size == 0:
            continue
        for what, other in others:
            if other.size and np.shares_memory(o, other):
                found.append(f"output {i} shares memory with an {what}")
    for i, o in enumerate(outs):
        for j in range(i):
            if o.size and outs[j].size and np.shares_memory(o, outs[j]):
                found.append(f"outputs {j} and {i} share memory")
    return found


def _call(func: Callable, args: tuple) -> tuple[Any, str | None]:
    try:
        return func(*args), None
    except Exception as exc:  # the kernel's failure, reported as such
        return None, f"{type(exc).__name__}: {exc}"


def _judge(case: Case, args: tuple, actual: Any, expected: Any) -> list[str]:
    if case.compare is not None:
        return case.compare(args, actual, expected)
    scale = case.scale(args, expected) if case.scale is not None else None
    return compare_outputs(actual, expected, scale)


def _kind(problem: str) -> str:
    return "contract" if "contract:" in problem else "wrong"


def _same_layout(a: tuple, b: tuple) -> bool:
    pairs = list(zip(_arrays(a), _arrays(b), strict=False))
    return len(_arrays(a)) == len(_arrays(b)) and all(
        x.shape == y.shape and x.dtype == y.dtype for x, y in pairs
    )


def check_case(
    case: Case, kernels: ModuleType, reference: ModuleType, rng: SplitMix64, cross_call: bool
) -> list[Failure]:
    """Every dynamic check for one case on one seed."""
    kfunc, rfunc = getattr(kernels, case.func, None), getattr(reference, case.func)
    if kfunc is None:
        return [Failure(case.label, "contract", f"kernels.py has no function {case.func}")]
    args = case.make(rng)
    pristine = _snapshot(args)
    expected = rfunc(*_snapshot(args))
    actual, err = _call(kfunc, args)
    if err:
        return [Failure(case.label, "raised", err)]
    fails = [Failure(case.label, "mutated", m) for m in _mutated(args, pristine)]
    fails += [Failure(case.label, "aliased", m) for m in _aliased(actual, args, expected)]
    fails += [Failure(case.label, _kind(p), p) for p in _judge(case, pristine, actual, expected)]
    if fails:
        return fails

    # The timing loop passes the same inputs again and again: results must stay right.
    for _ in range(REPEAT_CALLS):
        actual, err = _call(kfunc, args)
    problems = [err] if err else _judge(case, pristine, actual, expected)
    fails += [Failure(case.label, "repeat", p) for p in problems]

    if cross_call:
        # New data, same shapes, fresh arrays: defeats caches keyed by shape.
        args2 = case.make(rng)
        if _same_layout(args, args2):
            pristine2 = _snapshot(args2)
            expected2 = rfunc(*_snapshot(args2))
            actual2, err = _call(kfunc, args2)
            problems = [err] if err else _judge(case, pristine2, actual2, expected2)
            fails += [Failure(case.label, "stale", f"fresh arrays: {p}") for p in problems]
            # The very same arrays changed in place: defeats caches keyed by id or address.
            for dst, src in zip(_arrays(args), _arrays(pristine2), strict=True):
                if dst.flags.writeable:
                    np.copyto(dst, src)
            if _mutated(args, pristine2) == []:
                actual3, err = _call(kfunc, args)
                problems = [err] if err else _judge(case, pristine2, actual3, expected2)
                fails += [Failure(case.label, "stale", f"changed in place: {p}") for p in problems]
    return fails


def fresh_seeds(n: int = FRESH_SEEDS) -> list[int]:
    return [int.from_bytes(os.urandom(8), "little") for _ in range(n)]


def check_target(
    target: str, kernels: ModuleType | None = None, seeds: Iterable[int] | None = None
) -> Report:
    """Run every case of `target` on the fixed seeds plus fresh ones."""
    reference = importlib.import_module(f"autoresearch.{target}.reference")
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    kernels = kernels or importlib.import_module(f"autoresearch.{target}.kernels")
    seeds = list(seeds) if seeds is not None else [*FIXED_SEEDS, *fresh_seeds()]
    report = Report(target)
    cases = inputs.correctness_cases()
    report.cases = len(cases)
    for case in cases:
        for n, seed in enumerate(seeds):
            rng = SplitMix64(seed).spawn(case.label)
            fails = check_case(case, kernels, reference, rng, cross_call=(n == 0))
            report.calls += 1
            for f in fails:
                f.detail += f" (seed {seed})"
            report.failures += fails
            if fails:
                break  # one seed's failures say enough about this case
    return report


def workload_mismatches(
    outputs: Callable[[ModuleType], Any],
    kernels: ModuleType,
    reference: ModuleType,
    repeats: int = REPEAT_CALLS,
) -> int:
    """Mismatches of the kernel on a speed workload, before and after a timing-style loop.

    `outputs(impl)` runs the workload through `impl` (kernels or reference) and returns its outputs.
    This is what the asv suites record as `track_mismatches`, so the gate reads correctness from
    the same results it reads speed from.
    """
    expected = outputs(reference)
    first = outputs(kernels)
    for _ in range(repeats):
        outputs(kernels)
    last = outputs(kernels)
    return count_mismatches(first, expected) + count_mismatches(last, expected)


# ---------------------------------------------------------------------------
# Static checks
# ---------------------------------------------------------------------------


def allowed_imports(program_md: Path) -> tuple[str, ...]:
    """The `Allowed imports:` line of a target's program.md, or the default."""
    if program_md.exists():
        for line in program_md.read_text().splitlines():
            m = re.match(r"\s*[-*]?\s*allowed imports\s*:\s*(.*)$", line, re.IGNORECASE)
            if m:
                names = re.findall(r"`([\w.]+)`", m.group(1))
                if names:
                    return tuple(names)
    return DEFAULT_ALLOWED_IMPORTS


def static_problems(source: str, allowed: Iterable[str]) -> list[str]:
    """What kernels.py imports or touches that it may not."""
    allowed = set(allowed)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"syntax error: {exc}"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        else:
            names = []
        for name in names:
            if name.startswith(".") or name.split(".")[0] not in allowed:
                problems.append(
                    f"line {node.lineno}: import of {name!r} (allowed: {sorted(allowed)})"
                )
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"line {node.lineno}: use of {node.id!r}")
        if isinstance(node, ast.Attribute) and (
            node.attr in FORBIDDEN_ATTRS or (node.attr.startswith("__") and node.attr != "__name__")
        ):
            problems.append(f"line {node.lineno}: use of attribute {node.attr!r}")
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            problems.append(f"line {node.lineno}: {type(node).__name__.lower()} state")
    return problems


def static_check(target: str, kernels_path: Path | None = None) -> list[Failure]:
    path = kernels_path or PACKAGE_DIR / target / "kernels.py"
    allowed = allowed_imports(PACKAGE_DIR / target / "program.md")
    return [
        Failure(str(path.name), "static", p) for p in static_problems(path.read_text(), allowed)
    ]


# ---------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------


def load_module_from(path: Path, name: str) -> ModuleType:
    """Import a kernels file from an arbitrary path (a baseline, a red-team kernel)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run(target: str, kernels_path: Path | None = None, seeds: list[int] | None = None) -> Report:
    """Static checks, then (only if they pass) every dynamic check."""
    report = Report(target)
    report.failures = static_check(target, kernels_path)
    if report.failures:
        return report
    kernels = None
    if kernels_path is not None:
        kernels = load_module_from(kernels_path, f"autoresearch_checked_{target}_kernels")
    try:
        return check_target(target, kernels, seeds)
    except Exception as exc:  # import-time errors of kernels.py land here
        report.failures.append(Failure("kernels.py", "raised", f"{type(exc).__name__}: {exc}"))
        return report


def format_report(report: Report) -> str:
    lines = [
        f"target: {report.target}",
        f"correctness: {'pass' if report.passed else 'fail'}",
        f"cases: {report.cases}",
        f"calls: {report.calls}",
        f"failures: {len(report.failures)}",
    ]
    lines += [f"failure: {f}" for f in report.failures[:20]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autoresearch.oracle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", help=f"one of: {', '.join(TARGETS)}")
    parser.add_argument("--kernels", type=Path, help="check this file instead of kernels.py")
    parser.add_argument("--seed", type=int, action="append", help="run only these seeds")
    args = parser.parse_args(argv)
    if not (PACKAGE_DIR / args.target / "inputs.py").exists():
        parser.error(f"unknown target {args.target!r}")
    if args.kernels is not None and not args.kernels.is_file():
        parser.error(f"no such kernels file: {args.kernels}")
    report = run(args.target, args.kernels, args.seed)
    print(format_report(report), flush=True)
    return 0 if report.passed else 2


if __name__ == "__main__":
    sys.exit(main())
