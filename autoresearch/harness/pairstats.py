"""The statistics of paired ratios: per combination the median of its pair ratios with a bootstrap
interval; overall the geometric mean of those medians, with an interval that resamples pairs within
every combination at once; and the two-stage (cluster) bootstrap over processes.

Pure and seeded (BOOTSTRAP_SEED): the same ratios always give the same intervals. The rules that
judge these numbers are harness/decide.py's; the thresholds, harness/thresholds.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.harness.thresholds import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CI_LEVEL,
    CLUSTER_STREAM,
)


@dataclass
class Combo:
    label: str  # Class/param/param, e.g. PqL2/(128,16,256)/clustered
    ratio: float  # median candidate/baseline time ratio of the pairs
    ci_lo: float
    ci_hi: float
    pairs: int
    verdict: str  # faster / slower / same (interval excludes 1 or not)
    spread: float  # (q75 - q25) / median of the pair ratios: how disturbed the pairing was
    time_s: float | None = None  # the candidate's median time_* (informational)


def bootstrap_medians(samples: np.ndarray, label: str) -> np.ndarray:
    """BOOTSTRAP_RESAMPLES medians of resamples (with replacement) of `samples`."""
    n = len(samples)
    rng = SplitMix64(BOOTSTRAP_SEED).spawn(label)
    idx = rng.integers(BOOTSTRAP_RESAMPLES * n, n).reshape(BOOTSTRAP_RESAMPLES, n)
    return np.median(samples[idx], axis=1)


def interval(draws: np.ndarray) -> tuple[float, float]:
    tail = (1.0 - CI_LEVEL) / 2.0
    lo, hi = np.quantile(draws, [tail, 1.0 - tail])
    return float(lo), float(hi)


@dataclass
class Measured:
    combo: Combo
    log_draws: np.ndarray  # log of the bootstrap medians
    processes: int = 1  # the processes whose pairs it resampled (measure_processes)


def measure(label: str, samples: list, time_s: float | None) -> Measured:
    x = np.asarray(samples, dtype=np.float64)
    ratio = float(np.median(x))
    draws = bootstrap_medians(x, label)
    lo, hi = interval(draws)
    verdict = "faster" if hi < 1.0 else "slower" if lo > 1.0 else "same"
    q25, q75 = np.quantile(x, [0.25, 0.75])
    spread = float((q75 - q25) / ratio)
    return Measured(Combo(label, ratio, lo, hi, len(x), verdict, spread, time_s), np.log(draws))


def geomean_with_interval(measured: list[Measured]) -> tuple[float, float, float]:
    point = math.exp(sum(math.log(m.combo.ratio) for m in measured) / len(measured))
    # Resample pairs within every combination at once; the geomean of each joint resample.
    draws = np.exp(np.mean([m.log_draws for m in measured], axis=0))
    lo, hi = interval(draws)
    return point, lo, hi


def measure_processes(
    label: str, per_process: list[list], time_s: float | None, shared: bool = False
) -> Measured:
    """`measure` over the pairs of one or more processes of one combination: a two-stage (cluster)
    bootstrap, processes with replacement, then pairs within each. The ratio is the geometric
    mean over processes of each one's median pair ratio, so each process (each order of the two
    copies: abtest.AB_PROCESSES) weighs the same however many pairs it took; `spread`, the median
    of the processes' spreads; `pairs`, their sum. The draw of processes for resample r comes from
    the combination's own stream: in a decision each combination's processes are its own (asv
    starts one per benchmark and combination), and an offset that follows the order of the
    copies is balanced within the combination (one process of each order). `shared`: one stream
    for every combination (CLUSTER_STREAM), where one process measured every combination and
    its offset can touch them all alike (cluster_measure). One process: exactly `measure`."""
    if not per_process:
        raise ValueError(f"{label}: no process to resample")
    if any(len(x) < 2 for x in per_process):
        raise ValueError(f"{label}: fewer than two pairs in a process")
    if len(per_process) == 1:
        return measure(label, per_process[0], time_s)
    n = len(per_process)
    per = [np.asarray(x, dtype=np.float64) for x in per_process]
    stream = CLUSTER_STREAM if shared else f"{label}@{CLUSTER_STREAM}"
    picks = SplitMix64(BOOTSTRAP_SEED).spawn(stream).integers(BOOTSTRAP_RESAMPLES * n, n)
    picks = picks.reshape(BOOTSTRAP_RESAMPLES, n)
    draws = np.stack(
        [np.log(bootstrap_medians(x, _process_stream(label, i))) for i, x in enumerate(per)],
        axis=1,
    )  # (resamples, processes)
    log_draws = draws[np.arange(BOOTSTRAP_RESAMPLES)[:, None], picks].mean(axis=1)
    lo, hi = interval(np.exp(log_draws))
    ratio = float(np.exp(np.mean(np.log([np.median(x) for x in per]))))
    verdict = "faster" if hi < 1.0 else "slower" if lo > 1.0 else "same"
    spreads = [float(np.subtract(*np.quantile(x, [0.75, 0.25])) / np.median(x)) for x in per]
    pairs = sum(len(x) for x in per)
    combo = Combo(label, ratio, lo, hi, pairs, verdict, float(np.median(spreads)), time_s)
    return Measured(combo, log_draws, n)


@dataclass
class Clustered:
    """cluster_measure's answer: per combination and overall, over every process."""

    combos: list[Combo]
    geomean_ratio: float
    geomean_ci_lo: float
    geomean_ci_hi: float
    processes: int


def _process_stream(label: str, process: int) -> str:
    # The first process draws its pairs from the pair bootstrap's own stream, so one process gives
    # exactly gate.measure's interval; each further process has a stream of its own.
    return label if process == 0 else f"{label}@process{process}"


def cluster_measure(processes: list[dict[str, list]]) -> Clustered:
    """A two-stage (cluster) bootstrap: processes with replacement, then pairs within each.

    `processes`: one {combination label: pair ratios} per process, the same labels in each. A
    combination's ratio is the geometric mean over processes of that process's median pair ratio;
    the overall ratio is the geometric mean of those over combinations. Resample r draws as many
    processes as there are, with replacement (one draw of processes shared by every combination,
    since a process's offset can touch all its combinations), and for each drawn process its r-th
    pair-bootstrap median (bootstrap_medians); the 99% interval is the percentile interval of the
    draws. With one process this is the pair bootstrap (measure, geomean_with_interval) exactly;
    with processes that agree it is about as wide; a spread between processes widens it. Like any
    bootstrap over few clusters it is too narrow by about sqrt((P - 1) / P) for P processes.
    Raises ValueError on no process, a combination missing from one, or fewer than two pairs.
    """
    if not processes:
        raise ValueError("no process to resample")
    labels = list(processes[0])
    if not labels or any(set(p) != set(labels) for p in processes):
        raise ValueError("every process must measure the same combinations")
    measured = [
        measure_processes(label, [p[label] for p in processes], None, shared=True)
        for label in labels
    ]
    point, lo, hi = geomean_with_interval(measured)
    return Clustered([m.combo for m in measured], point, lo, hi, len(processes))
