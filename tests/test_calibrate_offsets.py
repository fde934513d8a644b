"""calibrate --offsets: the pieces that decide what the across-process table says (the timed
processes themselves are a benchmark: `python -m autoresearch.calibrate T --offsets`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from autoresearch import calibrate
from autoresearch.common import SplitMix64
from autoresearch.harness import calibration, cli
from autoresearch.harness import calibration_offsets as offsets

LABELS = ("Distances/l2/1024", "Distances/cosine/1024")


@dataclass(frozen=True)
class Workload:
    function: str
    vectors: np.ndarray
    parts: tuple


def test_a_realigned_workload_is_the_same_data_at_another_placement():
    w = Workload("l2", np.arange(3000, dtype=np.float32).reshape(100, 30), (np.ones(7), 3))
    starts = set()
    for seed in range(8):
        r = offsets.realigned(w, np.random.default_rng(seed))
        assert type(r) is Workload and r.function == "l2" and r.parts[1] == 3
        for new, old in ((r.vectors, w.vectors), (r.parts[0], w.parts[0])):
            assert new.dtype == old.dtype and new.shape == old.shape
            assert np.array_equal(new, old) and not np.shares_memory(new, old)
            assert new.ctypes.data % offsets.PAD_ALIGN == 0
        starts.add(r.vectors.ctypes.data % offsets.PAD_SPAN)
    assert len(starts) > 1  # the offset within a page changes from process to process


def test_baseline_first_compiles_the_baseline_before_the_suites_setup(monkeypatch):
    calls = []

    class Inputs:
        @staticmethod
        def workload(n):
            return ("w", n)

        @staticmethod
        def search(impl, w):
            calls.append((impl, w))

    class Suite:
        target, workload_function = "distances", "workload"

        def workload_args(self, *params):
            return params

        def setup(self, n):
            calls.append(("setup", n))

    monkeypatch.setattr(offsets.importlib, "import_module", lambda name: Inputs)
    Suite.setup = offsets.baseline_first(Suite.setup, "baseline-module")
    Suite().setup(5)
    assert calls == [("baseline-module", ("w", 5)), ("setup", 5)]


def aa_process(seed: int, offset: float) -> dict:
    rng = SplitMix64(seed)
    return {k: list(offset * (1.0 + 0.003 * rng.normal(40))) for k in LABELS}


def offsets_data(offsets: tuple) -> dict:
    runs = [
        {"order": "production", "load_start": 1.0, "load_end": 1.2 + i, "secs": 10.0,
         "ratios": aa_process(i, off)}
        for i, off in enumerate(offsets)
    ]  # fmt: skip
    return {"target": "distances", "order": "production", "pad": False, "ab_seconds": 0.5,
            "started": "2026-12-04T18:00:00Z", "runs": runs}  # fmt: skip


def test_the_summary_separates_the_spread_within_a_process_from_the_spread_between():
    s = calibration.offsets_summary(offsets_data((0.97, 1.0, 1.03)))
    assert s["processes"] == 3 and s["combos"] == 2
    assert s["within_width"] < 0.01  # each process alone: tight
    assert s["geomean_range"][0] == pytest.approx(0.97, abs=0.003)
    assert s["geomean_range"][1] == pytest.approx(1.03, abs=0.003)
    assert s["between_sd"] == pytest.approx(0.03, abs=0.005)
    assert s["own_excludes_1"] == 2  # the 0.97 and 1.03 processes, each sure of itself
    assert s["worst_combo"] == pytest.approx(0.03, abs=0.004)
    assert s["offset_sd"][0] == pytest.approx(0.03, abs=0.005)  # what the pairs do not explain
    assert s["pooled_offset_sd"] == pytest.approx(0.03, abs=0.005)
    assert s["bias"][0] < 0.003  # offsets of 0.97, 1.0 and 1.03 average out across processes
    assert s["pair2"] == 3
    g, lo, hi = s["cluster"]
    assert lo < 1.0 < hi
    assert s["load"] == (pytest.approx(1.1), 3.2)


def test_saved_runs_regenerate_the_table(tmp_path):
    data = offsets_data((1.0, 1.001))
    path = calibration.save_offsets(data, tmp_path)
    assert path.name == "offsets-distances-production-20261204T180000Z.jsonl"
    saved = json.loads(path.read_text())
    first = saved["runs"][0]["ratios"][LABELS[0]][0]
    assert first == float(f"{first:.{calibration.SAMPLE_DIGITS}g}")
    padded = dict(data, pad=True, order="alternate")
    table = calibration.offsets_table([path, calibration.save_offsets(padded, tmp_path)])
    rows = table.splitlines()
    assert len(rows) == 4 and rows[2].startswith("| distances | production | 2 x 2 |")
    assert rows[3].startswith("| distances | alternate+pad |")


def test_the_table_command_needs_no_target_and_the_others_do(capsys, monkeypatch, tmp_path):
    calibration.save_offsets(offsets_data((1.0, 0.999)), tmp_path)
    monkeypatch.setattr(calibrate, "OFFSETS_DIR", tmp_path)
    assert calibrate.main(["--offsets-table"]) == 0
    assert "| distances | production |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        calibrate.main([])
    assert exc.value.code == cli.EXIT_USAGE


def test_smallest_speedup_kept_is_set_by_the_interval_or_the_floor():
    assert calibration._smallest_kept([(1.0, 1.002)]) == pytest.approx(0.01)  # the 1% floor
    assert calibration._smallest_kept([(1.0, 1.02)]) == pytest.approx(1 - 1 / 1.02)  # the interval
    assert calibration._smallest_kept([(0.98, 0.985)]) == 0.0  # an A/A reading already "kept"


def test_without_process_offsets_the_offset_sd_is_about_zero():
    s = calibration.offsets_summary(offsets_data((1.0,) * 6))
    assert s["offset_sd"][0] < 0.0005 and s["pooled_offset_sd"] < 0.0005
    assert s["own_excludes_1"] <= 1


def test_no_file_under_results_makes_asv_warn():
    # asv loads every *.json below its results folder whose own folder has a machine.json, and
    # warns ("Skipping results: could not load .../machine.json") on every publish for the rest.
    results = calibrate.PACKAGE_DIR.parent / "results"
    for folder in [results, *(p for p in results.rglob("*") if p.is_dir())]:
        if folder != results and any(f.suffix == ".json" for f in folder.iterdir()):
            assert (folder / "machine.json").exists(), folder
