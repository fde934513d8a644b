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
    run_a: Callable[[], object], run_b: Callable[[], object], seconds: float = AB_SECONDS
) -> list[float]:
    """Per-pair time ratios a/b, alternating which side goes first.

    Both sides run once untimed first (compilation, caches). `number` is calibrated so one sample
    lasts at least AB_MIN_SAMPLE_SECS, the same for both sides.
    """
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
