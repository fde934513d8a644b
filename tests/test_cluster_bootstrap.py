"""pairstats.cluster_measure: the bootstrap over processes, then pairs (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest

from autoresearch.common import SplitMix64
from autoresearch.harness import pairstats

LABELS = ("PqL2/(128,16,256)/clustered", "PqL2/(768,96,256)/sparse", "PqL2/(256,16,256)/uniform")


def process(seed: int, offset: float = 1.0, jitter: float = 0.004, pairs: int = 60) -> dict:
    """One process's A/A pair ratios, every combination shifted by the process's `offset`."""
    rng = SplitMix64(seed)
    return {label: list(offset * (1.0 + jitter * rng.normal(pairs))) for label in LABELS}


def pooled(processes: list[dict]) -> tuple[float, float, float]:
    """The pair bootstrap over every process's pairs thrown together (processes ignored)."""
    return pairstats.geomean_with_interval(
        [pairstats.measure(k, [r for p in processes for r in p[k]], None) for k in LABELS]
    )


def test_one_process_is_the_pair_bootstrap_exactly():
    one = process(1)
    c = pairstats.cluster_measure([one])
    measured = [pairstats.measure(k, v, None) for k, v in one.items()]
    assert (c.geomean_ratio, c.geomean_ci_lo, c.geomean_ci_hi) == pairstats.geomean_with_interval(
        measured
    )
    for got, m in zip(c.combos, measured, strict=True):
        assert (got.label, got.ratio, got.ci_lo, got.ci_hi) == (
            m.combo.label, m.combo.ratio, m.combo.ci_lo, m.combo.ci_hi,
        )  # fmt: skip


def test_without_process_offsets_it_agrees_with_the_pair_bootstrap():
    processes = [process(seed) for seed in range(6)]
    c = pairstats.cluster_measure(processes)
    point, lo, hi = pooled(processes)
    assert c.geomean_ratio == pytest.approx(point, abs=0.001)
    width, pair_width = c.geomean_ci_hi - c.geomean_ci_lo, hi - lo
    assert 0.6 < width / pair_width < 1.6
    assert c.geomean_ci_lo < 1.0 < c.geomean_ci_hi


def test_process_offsets_widen_the_interval_instead_of_reading_as_a_change():
    offsets = (0.98, 1.02, 0.99, 1.01, 1.0, 1.005)  # A/A: no real change, each process off a bit
    processes = [process(seed, off) for seed, off in enumerate(offsets)]
    alone = pairstats.cluster_measure(processes[:1])
    assert alone.geomean_ci_hi < 1.0  # one process: a 2% "speed-up" with a tight interval
    c = pairstats.cluster_measure(processes)
    _, lo, hi = pooled(processes)
    assert c.geomean_ci_lo < 1.0 < c.geomean_ci_hi
    assert c.geomean_ci_hi - c.geomean_ci_lo > 3 * (hi - lo)
    assert all(combo.verdict == "same" for combo in c.combos)


def test_a_real_change_still_shows_through_process_offsets():
    offsets = (0.995, 1.005, 1.0, 0.998, 1.002, 1.0)
    processes = [process(seed, 0.95 * off) for seed, off in enumerate(offsets)]
    c = pairstats.cluster_measure(processes)
    assert c.geomean_ci_hi < 0.97
    assert c.geomean_ratio == pytest.approx(0.95, abs=0.003)


def test_deterministic_and_each_combination_independent_of_the_others():
    processes = [process(seed, 1.0 + 0.01 * seed) for seed in range(4)]
    a = pairstats.cluster_measure(processes)
    assert a == pairstats.cluster_measure(processes)
    fewer = pairstats.cluster_measure([{k: p[k] for k in LABELS[:2]} for p in processes])
    assert fewer.combos == a.combos[:2]


def test_refuses_what_it_cannot_resample():
    with pytest.raises(ValueError, match="no process"):
        pairstats.cluster_measure([])
    with pytest.raises(ValueError, match="same combinations"):
        pairstats.cluster_measure([process(1), {LABELS[0]: process(2)[LABELS[0]]}])
    with pytest.raises(ValueError, match="fewer than two"):
        pairstats.cluster_measure([{LABELS[0]: [1.0]}])


def test_the_spread_between_processes_is_not_the_spread_within_one():
    processes = [process(seed, off) for seed, off in enumerate((0.97, 1.03))]
    c = pairstats.cluster_measure(processes)
    assert np.median([x.spread for x in c.combos]) < 0.01  # each process is tight
    assert c.geomean_ci_hi - c.geomean_ci_lo > 0.03  # they disagree with each other
