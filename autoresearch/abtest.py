"""Paired A/B timing: candidate and baseline kernels timed alternately in one process.

On a shared 2-core VM the same code measured minutes apart differs by 1.1-1.8x, while two kernels
timed alternately in one process agree within about 0.5% (docs/design.md, "Measurement"). So the
gate never compares two separate runs: the asv suites call `paired_samples`, which loads the
baseline's kernels.py next to the candidate's, alternates them (A B, then B A) and returns one
candidate/baseline time ratio per pair. asv stores those ratios as ordinary samples
(`{"samples": [...], "number": 1}` from a `track_` benchmark), with its usual statistics.

The experiment sets AUTORESEARCH_AB_BASELINE to the baseline's kernels.py (written out from git);
without it the A/B benchmarks skip (asv records NaN), so plain `asv run` stays cheap.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

try:  # raised in a benchmark body, asv records a skip (NaN) rather than a failure
    from asv_runner.benchmarks.mark import SkipNotImplemented
except ImportError:  # outside asv
    SkipNotImplemented = NotImplementedError

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify)
# ---------------------------------------------------------------------------

ENV_BASELINE = "AUTORESEARCH_AB_BASELINE"  # path of the baseline kernels.py to pair against
AB_SECONDS = 0.5  # CPU time spent pairing per combination (both sides together); docs/gate.md
AB_MIN_PAIRS = 12  # at least this many pairs, however slow the kernel
AB_MAX_PAIRS = 200  # at most this many, however fast
AB_MIN_SAMPLE_SECS = 0.002  # one sample runs the workload often enough to last this long


def load_baseline(target: str) -> ModuleType | None:
    """The baseline kernels module named by the environment, or None when not pairing."""
    path = os.environ.get(ENV_BASELINE)
    if not path:
        return None
    from autoresearch.oracle import load_module_from

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return load_module_from(Path(path), f"autoresearch_baseline_{target}_{digest}")


# The process's CPU time, not the wall clock: on a shared 2-core VM a pair's two samples are
# preempted unequally, so wall-clock pairs spread 33% at load 8 while CPU-time pairs spread 2-3%
# and still resolve a 3% change (docs/gate.md, calibration). Kernels run single-threaded, so CPU
# time is the kernel's work; a kernel cannot look faster on extra threads (they count too).
# Bound at import, before any kernel module is loaded: a kernel cannot swap the clock under us.
_clock = time.process_time


def _timed(fn: Callable[[], object], number: int) -> float:
    start = _clock()
    for _ in range(number):
        fn()
    return _clock() - start


def paired_ratios(
    run_a: Callable[[], object], run_b: Callable[[], object], seconds: float | None = None
) -> list[float]:
    """Per-pair time ratios a/b, alternating which side goes first.

    Both sides run once untimed first (compilation, caches). `number` is calibrated so one sample
    lasts at least AB_MIN_SAMPLE_SECS, the same for both sides.
    """
    seconds = (
        AB_SECONDS if seconds is None else seconds
    )  # read at call time: the quick look sets it
    run_a()
    run_b()
    one = max(_timed(run_a, 1), _timed(run_b, 1), 1e-9)
    number = max(1, int(AB_MIN_SAMPLE_SECS / one) + 1)
    pairs = int(seconds / (2 * one * number))
    pairs = min(AB_MAX_PAIRS, max(AB_MIN_PAIRS, pairs))
    ratios = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(pairs):
            if i % 2 == 0:
                ta = _timed(run_a, number)
                tb = _timed(run_b, number)
            else:
                tb = _timed(run_b, number)
                ta = _timed(run_a, number)
            ratios.append(ta / tb)
    finally:
        if gc_was_enabled:
            gc.enable()
    return ratios


def paired_samples(target: str, run: Callable[[ModuleType], object]) -> dict:
    """asv track_ result: candidate/baseline ratios for one combination (`run(impl)` = workload).

    Raises SkipNotImplemented (asv: skipped, NaN) when no baseline is given.
    """
    baseline = load_baseline(target)
    if baseline is None:
        raise SkipNotImplemented(f"no baseline: set {ENV_BASELINE} to pair against one")
    candidate = importlib.import_module(f"autoresearch.{target}.kernels")
    ratios = paired_ratios(lambda: run(candidate), lambda: run(baseline))
    return {"samples": ratios, "number": 1}


# ---------------------------------------------------------------------------
# `python -m autoresearch.abtest TARGET`: a quick look before spending an experiment
# ---------------------------------------------------------------------------

QUICK_HELP = """\
Time the working tree's kernels.py against a committed one (HEAD by default), alternated in this
process over the target's speed workload, exactly as the experiment's asv A/B benchmark does, and
print the median candidate/baseline ratio per combination and their geomean. Below 1 is faster.

A look, not a decision: nothing is checked for correctness, recorded or committed, and one process
on a busy machine can be off by a few percent. `python -m autoresearch.experiment` decides.
Exit codes: 0 measured, 1 bad usage (unknown target, revision or file), 2 the kernel raised.
"""


def _suite_classes(module: ModuleType) -> list[type]:
    """The suite's main classes (Peers classes are informational), in definition order."""
    return [
        cls
        for name, cls in vars(module).items()
        if isinstance(cls, type) and hasattr(cls, "track_ab_ratio") and not name.endswith("Peers")
    ]


class KernelRaised(Exception):
    """A kernel (candidate or baseline) raised during setup or pairing of one combination."""


def quick_ratios(target: str, seconds: float, match: str | None, out) -> list:
    """Run every main-class combination's `track_ab_ratio`; one gate `Measured` per combination."""
    import itertools
    import re

    from autoresearch import gate

    global AB_SECONDS
    suite = importlib.import_module(f"benchmarks.bench_{target}")
    measured = []
    saved, AB_SECONDS = AB_SECONDS, seconds  # the suite calls paired_samples itself
    try:
        for cls in _suite_classes(suite):
            params = cls.params if isinstance(cls.params[0], list) else [cls.params]
            for combo in itertools.product(*params):
                label = gate.combo_label(
                    cls.__name__, tuple(map(repr, combo))
                )  # as asv stores them
                if match and not re.search(match, label):
                    continue
                bench = cls()
                try:
                    if hasattr(bench, "setup"):
                        bench.setup(*combo)
                    samples = bench.track_ab_ratio(*combo)["samples"]
                except NotImplementedError:  # the suite skips this combination
                    continue
                except Exception as exc:
                    raise KernelRaised(f"{label}: {type(exc).__name__}: {exc}") from exc
                c = gate.measure(label, samples, None)
                measured.append(c)
                c = c.combo
                print(
                    f"{label:<44} {c.ratio:7.4f}  [{c.ci_lo:.4f}, {c.ci_hi:.4f}]"
                    f"  spread {c.spread:5.1%}  {c.verdict}",
                    file=out,
                    flush=True,
                )
    finally:
        AB_SECONDS = saved
    return measured


def main(argv: list[str] | None = None) -> int:
    import argparse
    import subprocess
    import sys
    import tempfile

    from autoresearch import PACKAGE_DIR, TARGETS

    parser = argparse.ArgumentParser(
        prog="python -m autoresearch.abtest",
        description=QUICK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", help=f"one of: {', '.join(TARGETS)}")
    parser.add_argument(
        "--baseline", default="HEAD", help="commit whose kernels.py to pair against"
    )
    parser.add_argument("--kernels", help="candidate file (default: the working tree's kernels.py)")
    parser.add_argument("--seconds", type=float, default=AB_SECONDS, help="CPU-s per combination")
    parser.add_argument("--match", help="only combinations whose label matches this regex")
    args = parser.parse_args(argv)
    if args.target not in TARGETS:
        print(
            f"error: unknown target {args.target!r} (one of: {', '.join(TARGETS)})", file=sys.stderr
        )
        return 1
    repo = PACKAGE_DIR.parent
    proc = subprocess.run(
        ["git", "show", f"{args.baseline}:autoresearch/{args.target}/kernels.py"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"error: no kernels.py at {args.baseline!r}: {proc.stderr.strip()}", file=sys.stderr)
        return 1
    baseline_file = Path(tempfile.mkdtemp(prefix="abtest-")) / "kernels.py"
    baseline_file.write_text(proc.stdout)
    os.environ[ENV_BASELINE] = str(baseline_file)
    if args.kernels:
        from autoresearch.oracle import load_module_from

        path = Path(args.kernels)
        if not path.is_file():
            print(f"error: no such file {path}", file=sys.stderr)
            return 1
        # The suite imports `autoresearch.<target>.kernels`: bind that name to the candidate first.
        name = f"autoresearch.{args.target}.kernels"
        sys.modules[name] = load_module_from(path, name)
    sys.path.insert(0, str(repo))
    print(
        f"candidate: {args.kernels or 'working tree'}  baseline: {args.baseline}  "
        f"({args.seconds} CPU-s per combination; below 1 is faster)",
        flush=True,
    )
    try:
        measured = quick_ratios(args.target, args.seconds, args.match, sys.stdout)
    except KernelRaised as exc:
        import traceback

        traceback.print_exception(exc.__cause__)
        print(f"error: a kernel raised in {exc}", file=sys.stderr)
        return 2
    if not measured:
        print("error: no combination matched", file=sys.stderr)
        return 1
    from autoresearch import gate

    point, lo, hi = gate.geomean_with_interval(measured)
    print(f"geomean {point:.4f}  [{lo:.4f}, {hi:.4f}] over {len(measured)} combinations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
