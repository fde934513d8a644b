"""Calibration's pieces that decide what it reports (the timed runs themselves are a benchmark:
`python -m autoresearch.calibrate pq_l2`, never run by the tests)."""

from __future__ import annotations

import io
import itertools
import json
import math

import pytest

from autoresearch import abtest, bench, integrity
from autoresearch.common import SplitMix64
from autoresearch.harness import calibration, decide, thresholds
from autoresearch.harness import calibration_timing as timing

CLASSES = {"PqL2": [[(128, 16, 256), (768, 96, 256)], ["clustered", "uniform", "sparse"]]}
PARAMS = calibration.as_stored(CLASSES)


def aa_ratios(seed: int, jitter: float = 0.004, pairs: int = 60) -> dict[str, list]:
    """Ratios around 1, spread like a real A/A run (docs/gate.md): 6 combinations."""
    rng = SplitMix64(seed)
    return {"PqL2": [list(1.0 + jitter * rng.normal(pairs)) for _ in range(6)]}


def _combo(i: int) -> tuple:
    return list(itertools.product(*PARAMS["PqL2"]))[i]


def test_injected_slowdown_makes_the_candidate_do_the_extra_work():
    asked = []
    run_c, run_b = timing.inject(
        lambda: "c", lambda: "b", 0.03, t_c=0.010, t_b=0.020, spin=asked.append
    )
    run_b()
    assert asked == [0.0]  # the other side calls the spinner for nothing: the same disturbance
    run_c()
    assert asked == [0.0, pytest.approx(0.03 * 0.010)]


def test_injected_speedup_slows_the_baseline_so_the_ratio_is_1_minus_x():
    asked = []
    t = 0.020
    run_c, run_b = timing.inject(lambda: None, lambda: None, -0.03, t, t, spin=asked.append)
    run_c()
    assert asked == [0.0]
    run_b()
    extra = asked[1]
    assert t / (t + extra) == pytest.approx(0.97)


def test_aa_injects_nothing():
    asked = []
    c, b = (lambda: 1), (lambda: 2)
    assert timing.inject(c, b, 0.0, 1.0, 1.0, spin=asked.append) == (c, b)


def test_conditions_cover_aa_and_both_directions_of_each_injection():
    names = [timing.condition_name(c) for c in timing.conditions()]
    assert names == ["aa", "slower_2pct", "faster_2pct", "slower_5pct", "faster_5pct"]


def test_synthesized_results_are_judged_like_real_ones():
    ratios = aa_ratios(1)
    assert calibration.judge("pq_l2", PARAMS, ratios).exit_code == decide.DISCARD
    d = calibration.judge("pq_l2", PARAMS, calibration.scaled(ratios, 0.95))
    assert d.exit_code == decide.KEEP
    assert d.geomean_ratio == pytest.approx(0.95, abs=0.003)
    d = calibration.judge("pq_l2", PARAMS, calibration.scaled(ratios, 1.10))
    assert d.exit_code == decide.DISCARD and calibration.resolved_slower(d)
    assert "worst_case" in {r.rule for r in d.reasons}


def test_smallest_resolved_change_is_the_keep_threshold():
    ratios = aa_ratios(2)
    s = calibration.smallest_resolved("pq_l2", PARAMS, ratios, calibration.kept, -1)
    geo = calibration.judge("pq_l2", PARAMS, ratios).geomean_ratio
    assert s == pytest.approx(
        1 - (1 - thresholds.MIN_GAIN) / geo, abs=3e-4
    )  # quiet: the floor decides
    assert calibration.kept(calibration.judge("pq_l2", PARAMS, calibration.scaled(ratios, 1 - s)))
    below = calibration.scaled(ratios, 1 - 0.98 * s)
    assert not calibration.kept(calibration.judge("pq_l2", PARAMS, below))
    slow = calibration.smallest_resolved("pq_l2", PARAMS, ratios, calibration.resolved_slower, +1)
    assert 0 < slow < thresholds.MIN_GAIN  # a slowdown needs only significance, no floor


def test_a_noisy_measurement_is_kept_only_once_its_interval_clears_1():
    ratios = aa_ratios(3, 0.03, pairs=12)  # spread about 3.5%: inside the noise limit
    d = calibration.judge("pq_l2", PARAMS, ratios)
    s = calibration.smallest_resolved("pq_l2", PARAMS, ratios, calibration.kept, -1)
    assert s >= 1 - 1 / d.geomean_ci_hi - 1e-3
    assert s >= 1 - (1 - thresholds.MIN_GAIN) / d.geomean_ratio - 1e-3
    noisy = aa_ratios(3, 0.2)  # beyond the noise limit nothing is ever kept
    assert math.isinf(calibration.smallest_resolved("pq_l2", PARAMS, noisy, calibration.kept, -1))


def test_main_classes_are_the_suite_without_peers():
    import benchmarks.bench_pq_l2  # noqa: F401  (imports from the repository root)

    classes = timing.main_classes("pq_l2")
    assert list(classes) == ["PqL2"]
    assert len(classes["PqL2"]) == 2


def test_a_shorter_pairing_keeps_the_first_pairs_but_never_fewer_than_the_minimum():
    ratios = {"PqL2": [list(range(1, 201)), list(range(1, 21))]}
    half = calibration.first_part(ratios, 0.5)["PqL2"]
    assert half[0] == list(range(1, 101))
    assert half[1] == list(range(1, 13))  # abtest.AB_MIN_PAIRS


def test_saved_measurements_are_judged_again(tmp_path):
    records = [
        {"round": 0, "change": c, "load": 1.0, "secs": 1.0, "ratios": calibration.scaled(r, 1 + c)}
        for c, r in zip(timing.conditions(), [aa_ratios(s) for s in range(5)], strict=True)
    ]
    data = {"target": "pq_l2", "ab_seconds": 1.5, "params": PARAMS, "records": records}
    lines, ok = calibration.analyze(data)
    out = dict(line.split(": ", 1) for line in lines)
    assert out["aa_false_keeps"] == "0/1"
    assert out["faster_2pct_caught"].startswith("1/1")
    assert out["slower_5pct_caught"].startswith("1/1")
    assert out["undecided"].startswith("0/5")
    assert ok


def _decisions(bias: float = 1.0, load: float = 1.0) -> dict:
    """A saved decisions run: 2 rounds of every condition; `bias` scales one combination's A/A."""
    records = []
    for r in range(2):
        for c in timing.conditions():
            ratios = calibration.scaled(aa_ratios(10 * r + len(records)), 1 + c)
            if c == 0.0:
                ratios["PqL2"][1] = [x * bias for x in ratios["PqL2"][1]]
            records.append({"round": r, "change": c, "load": load, "secs": 2.0, "ratios": ratios})
    return {"target": "pq_l2", "ab_seconds": 0.5, "params": PARAMS, "records": records}


def test_the_decisions_table_is_made_from_saved_runs(tmp_path):
    path = tmp_path / "decisions-pq_l2-x.jsonl"
    path.write_text(json.dumps(_decisions()))
    table = calibration.decisions_table([path]).splitlines()
    assert len(table) == 3 and table[2].startswith(
        f"| pq_l2 | {calibration.UNNAMED_MACHINE} | 2 (1) | 1.00, 1.00 | 0/2 | 2/2 (-2."
    )
    assert table[2].endswith("| yes | unknown (no start time) |")
    # What changed the kernel or the workload after the run began, from the target's log.
    path.write_text(json.dumps(dict(_decisions(), started="2026-12-05T10:00:00Z")))
    log = [
        {"timestamp": "2026-12-05T09:00:00Z", "decision": "keep"},  # before: measured
        {"timestamp": "2026-12-05T11:00:00Z", "decision": "keep"},
        {"timestamp": "2026-12-05T11:30:00Z", "decision": "discard"},
        {"timestamp": "2026-12-05T12:00:00Z", "decision": "epoch"},
    ]
    assert calibration.decisions_table([path], {"pq_l2": log}).endswith("| yes | 1 keep, 1 epoch |")
    assert calibration.decisions_table([path], {"pq_l2": log[:1]}).endswith("| yes | none |")


def test_the_offset_sd_is_what_varies_between_decisions_beyond_the_pairs():
    def offset_sd(offset: float) -> float:
        rng = SplitMix64(21)
        records = []
        for r in range(20):  # each combination's A/A offset by its own process, fresh per round
            shifts = 1.0 + offset * rng.normal(6)
            for c in timing.conditions():
                ratios = calibration.scaled(aa_ratios(100 * r + len(records)), 1 + c)
                per = [[x * k for x in xs] for xs, k in zip(ratios["PqL2"], shifts, strict=True)]
                records.append({"round": r, "change": c, "load": 1.0, "secs": 1.0,
                                "ratios": {"PqL2": per}})  # fmt: skip
        data = {"target": "pq_l2", "ab_seconds": 0.5, "params": PARAMS, "records": records}
        return calibration.summarize(data, bisect=False)["offset_sd"]

    assert offset_sd(0.0) < 0.001  # the pairs' own noise (0.4% a pair, 60 pairs) explains it
    assert 0.007 < offset_sd(0.01) < 0.013  # a 1% offset per process is read as about 1%


def test_an_aa_bias_in_one_combination_fails_the_targets():
    s = calibration.summarize(_decisions(bias=1.01), bisect=False)
    label, bias = s["aa_bias"]
    assert label == "PqL2/" + "/".join(v.replace(" ", "").strip("'") for v in _combo(1))
    assert 0.009 < bias < 0.011 and not s["met"]["aa_bias"]
    assert calibration.summarize(_decisions(), bisect=False)["met"]["aa_bias"]


def test_undecided_decisions_count_only_at_low_load():
    noisy = _decisions(load=5.0)
    for rec in noisy["records"]:  # pairs spread far over MAX_PAIR_SPREAD: the gate declines
        rec["ratios"] = {k: [[x * (1 + 0.3 * (i % 2)) for i, x in enumerate(s)] for s in v]
                         for k, v in rec["ratios"].items()}  # fmt: skip
    assert calibration.summarize(noisy, bisect=False)["undecided"] == (0, 0)
    for rec in noisy["records"]:
        rec["load"] = 1.0
    s = calibration.summarize(noisy, bisect=False)
    assert s["undecided"][0] > 1 and not s["met"]["undecided"]


def test_the_clock_experiment_restores_abtests_clock():
    import time

    from autoresearch import abtest

    original = abtest._clock
    with timing.clock("process"):
        assert abtest._clock is time.process_time
    assert abtest._clock is original
    with timing.clock("abtest"):
        assert abtest._clock is original


def test_each_round_rotates_the_conditions_and_alternates_the_copy_compiled_first():
    firsts = [timing.round_order(r)[0] for r in range(5)]
    assert sorted(firsts) == sorted(timing.conditions())  # each condition leads one round in five
    assert all(sorted(timing.round_order(r)) == sorted(timing.conditions()) for r in range(7))
    assert [timing.compiled_first(r) for r in range(4)] == ["candidate", "baseline"] * 2


def test_each_round_names_its_baseline_copy_as_a_decision_does_with_a_digest_of_its_own():
    names = [timing.baseline_name("bm25", r) for r in range(20)]
    assert len(set(names)) == 20  # the name moves the copy's code: a new one per decision
    assert names == [timing.baseline_name("bm25", r) for r in range(20)]  # reproducible
    production = abtest.baseline_module_name("bm25", "0123456789ab")
    assert all(len(n) == len(production) for n in names)
    assert all(n.startswith("autoresearch_baseline_bm25_") for n in names)
    assert integrity.is_kernel_module(names[0])  # never trusted, as production's copies


def test_measure_saves_after_each_round_and_says_a_process_made_each_combination_of_it(
    tmp_path, monkeypatch
):
    # A machine name no saved run has: the column must come from the run, not the default.
    monkeypatch.setenv(bench.ENV_MACHINE, "test-machine-2cpu")
    monkeypatch.setattr(timing, "main_classes", lambda target: CLASSES)
    save = tmp_path / "decisions-pq_l2-x.jsonl"
    asked, saved_before = [], []

    def fake_round(target, round_, seconds, clock_name):
        asked.append((target, round_, seconds, clock_name))
        saved_before.append(len(json.loads(save.read_text())["records"]) if save.exists() else 0)
        return [
            {"round": round_, "change": c, "first": timing.compiled_first(round_), "load": 1.0,
             "secs": 1.0, "ratios": calibration.scaled(aa_ratios(round_), 1 + c)}
            for c in timing.round_order(round_)
        ]  # fmt: skip

    data = timing.measure("pq_l2", 3, 0.25, "process", save, log=io.StringIO(),
                          run_round=fake_round)  # fmt: skip
    assert asked == [("pq_l2", r, 0.25, "process") for r in range(3)]
    assert saved_before == [0, 5, 10]  # an interrupted run keeps every finished round
    assert json.loads(save.read_text()) == data and len(data["records"]) == 15
    assert data["processes"] == calibration.PROCESSES_BOTH_ORDERS
    assert data["clock"] == "process"
    # The machine is named as its asv results are filed (3 rounds x 6 combinations, 18 processes).
    assert data["machine"]["name"] == "test-machine-2cpu"
    here = "| pq_l2 | test-machine-2cpu |"
    assert f"{here} 3 (36) |" in calibration.decisions_table([save])  # two per combination
    data["processes"] = calibration.PROCESSES_PER_COMBINATION  # sessions 32-40
    assert f"{here} 3 (18) |" in calibration.decisions_table([data])
    data["processes"] = calibration.PROCESSES_PER_ROUND  # session 31's runs
    assert f"{here} 3 (3) |" in calibration.decisions_table([data])
    del data["processes"]  # older runs: one process made every decision
    assert f"{here} 3 (1) |" in calibration.decisions_table([data])
    del data["machine"]["name"]  # runs before it was recorded: all on one machine (calibration.py)
    assert f"| pq_l2 | {calibration.UNNAMED_MACHINE} | 3 (1) |" in calibration.decisions_table(
        [data]
    )


def test_a_round_is_two_processes_per_combination_merged_in_combination_order(monkeypatch):
    monkeypatch.setattr(timing, "main_classes", lambda target: CLASSES)
    asked = []

    def fake_combination(target, round_, seconds, clock_name, combination, first):
        asked.append((combination, first, seconds))
        side = timing.ORDERS.index(first)
        return [
            {"round": round_, "change": c, "first": first,
             "load": 1.0 + combination, "secs": 2.0,
             "ratios": {"PqL2": [[1.0 + c + combination / 1000 + side / 10] * 8]}}
            for c in timing.round_order(round_)
        ]  # fmt: skip

    monkeypatch.setattr(timing, "spawn_combination", fake_combination)
    records = timing.spawn_round("pq_l2", 3, 0.1, "abtest")
    # two processes each (the candidate's copy first, then the baseline's), each pairing for half
    # the time, in the stored order
    assert asked == [(i, f, 0.05) for i in range(6) for f in ("candidate", "baseline")]
    assert [r["change"] for r in records] == timing.round_order(3)
    for r in records:
        c = r["change"]
        assert r["ratios"] == {
            "PqL2": [[[1.0 + c + i / 1000] * 8, [1.1 + c + i / 1000] * 8] for i in range(6)]
        }
        assert r["load"] == 6.0 and r["secs"] == 24.0  # the highest load, the summed time
        assert r["first"] == "candidate+baseline"
    d = calibration.judge("pq_l2", calibration.as_stored(CLASSES), records[0]["ratios"])
    assert d.exit_code != 3 and len(d.measured) == 6  # decided, every combination measured
    assert all(m.processes == 2 and m.combo.pairs == 16 for m in d.measured)  # from both


def test_workers_of_one_combination_must_be_one_per_order():
    one = [{"round": 0, "change": 0.0, "first": "candidate", "load": 1, "secs": 1,
            "ratios": {"PqL2": [[1.0] * 8]}}]  # fmt: skip
    swapped = [[dict(one[0], first="baseline")], one]
    with pytest.raises(timing.MeasurementFailed, match="one per order"):
        timing.merge_round([swapped])


def test_workers_that_measured_different_conditions_are_not_merged():
    share = [{"round": 0, "change": 0.0, "first": "candidate", "load": 1, "secs": 1,
              "ratios": {"PqL2": [[1.0]]}}]  # fmt: skip
    other = [dict(share[0], change=0.02, first="baseline")]
    with pytest.raises(timing.MeasurementFailed, match="different conditions"):
        timing.merge_round([[share, other]])


def test_a_failed_round_worker_stops_the_run_with_its_exit_code(monkeypatch):
    class Failed:
        returncode, stdout = 70, ""

    monkeypatch.setattr(timing.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(
        timing.MeasurementFailed,
        match=r"round 4's worker for combination 0 \(candidate first\) exited 70",
    ):
        timing.spawn_round("pq_l2", 4, 0.1, "abtest")
    Failed.returncode = 0  # exited 0 yet printed nothing: not records either
    with pytest.raises(timing.MeasurementFailed, match="printed no records"):
        timing.spawn_round("pq_l2", 4, 0.1, "abtest")


def test_calibrate_exits_5_when_a_measuring_process_fails(monkeypatch, tmp_path, capsys):
    from autoresearch import calibrate

    class Failed:
        returncode, stdout = 1, ""

    monkeypatch.setattr(timing.subprocess, "run", lambda *a, **k: Failed())
    argv = ["pq_l2", "--decisions", "1", "--no-full", "--save", str(tmp_path / "run.jsonl")]
    assert calibrate.main(argv) == calibrate.MEASUREMENT_FAILED == 5
    assert "error: round 0's worker for combination 0 (candidate first) exited 1" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
def test_a_round_worker_prints_one_record_per_condition(capsys):
    from autoresearch import calibrate

    assert calibrate.main(["pq_l2", "--round-worker", "1", "--ab-seconds", "0.005"]) == 0
    records = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["change"] for r in records] == timing.round_order(1)
    assert {r["first"] for r in records} == {"baseline"}
    stored = calibration.as_stored(timing.main_classes("pq_l2"))
    for r in records:
        assert set(r["ratios"]) == set(stored)
        for cls, per in r["ratios"].items():
            assert len(per) == math.prod(len(v) for v in stored[cls])
            assert all(len(samples) > 0 for samples in per)


@pytest.mark.slow
def test_a_combinations_worker_measures_that_combination_alone(capsys):
    from autoresearch import calibrate

    argv = ["pq_l2", "--round-worker", "0", "--combination", "4", "--ab-seconds", "0.005"]
    assert calibrate.main(argv) == 0
    records = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["change"] for r in records] == timing.round_order(0)
    (cls, _combo) = timing.combinations("pq_l2")[4]
    assert all(list(r["ratios"]) == [cls] and len(r["ratios"][cls]) == 1 for r in records)


WITHOUT_ROUND = ["--combination", "0"]
OUT_OF_RANGE = [["--round-worker", "0", "--combination", i] for i in ("9", "-1")]  # 9 combinations


@pytest.mark.parametrize("argv", [WITHOUT_ROUND, *OUT_OF_RANGE])
def test_a_combination_needs_a_round_and_an_index_in_range(argv, capsys):
    from autoresearch import calibrate

    with pytest.raises(SystemExit) as exited:
        calibrate.main(["pq_l2", *argv])
    assert exited.value.code == 64
    assert "--combination" in capsys.readouterr().err


def test_call_time_is_a_calls_cost_within_a_run_of_calls(monkeypatch):
    clock = [0.0]
    calls = []

    def run():  # the first call of a run costs 1 ms more (a cold allocator), then 100 us each
        calls.append(1)
        clock[0] += 1e-4 + (1e-3 if len(calls) == 1 else 0.0)

    monkeypatch.setattr(timing.time, "thread_time", lambda: clock[0])
    assert timing.call_time(run) == pytest.approx(1e-4)  # not the lone call's 1.1 ms


def test_the_decision_reads_the_machine_from_the_results():
    """The same pair ratios (spread ~7%: over MAX_PAIR_SPREAD, under the wide class's limit; a 3%
    speed-up) are judged under the noise limit of the machine the results name: undecided on
    noise on a machine that did not calibrate pq_l2 into the wide class, kept on amd-epyc-2cpu,
    which did (thresholds.MACHINE_SPREAD_LIMITS, under its name today: machine.RENAMED)."""
    assert thresholds.MACHINE_SPREAD_LIMITS["amd-epyc-znver3-2cpu"]["pq_l2"] > 0.07
    assert thresholds.max_pair_spread("pq_l2", "elsewhere-2cpu") < 0.07
    rng = SplitMix64(11)
    ratios = {"PqL2": [[list(0.97 + 0.052 * rng.normal(60)) for _ in range(2)] for _ in range(6)]}
    got = {}
    for machine in ("amd-epyc-2cpu", "elsewhere-2cpu"):
        d = calibration.judge("pq_l2", PARAMS, ratios, machine)
        got[machine] = (d.decision, sorted(r.rule for r in d.reasons if not r.ok), d.machine)
    assert got["elsewhere-2cpu"] == ("undecided", ["noise"], "elsewhere-2cpu")
    assert got["amd-epyc-2cpu"] == ("keep", [], "amd-epyc-2cpu")
