"""The paired A/B timing: alternation, calibration and the direction of the ratio."""

from autoresearch import abtest


def _work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def test_ratio_is_candidate_over_baseline_and_sees_double_work():
    ratios = abtest.paired_ratios(lambda: _work(40_000), lambda: _work(20_000), seconds=0.2)
    assert len(ratios) >= abtest.AB_MIN_PAIRS
    median = sorted(ratios)[len(ratios) // 2]
    assert 1.3 < median < 3.5  # twice the work; CPU time keeps this far from 1 even under load


def test_both_sides_run_untimed_first_then_pairs_alternate_which_goes_first():
    calls = []
    abtest.paired_ratios(lambda: calls.append("a"), lambda: calls.append("b"), seconds=0.0)
    assert calls[:4] == ["a", "b", "a", "b"]  # warm-up, then one call each to calibrate `number`
    timed = calls[4:]
    n = timed.index("b")  # calls per sample
    assert timed[: 4 * n] == ["a"] * n + ["b"] * n + ["b"] * n + ["a"] * n  # A B, then B A
    assert len(timed) == 2 * n * abtest.AB_MIN_PAIRS


def test_no_baseline_skips(monkeypatch):
    monkeypatch.delenv(abtest.ENV_BASELINE, raising=False)
    assert abtest.load_baseline("pq_l2") is None
