"""The paired A/B timing: alternation, calibration and the direction of the ratio."""

import subprocess
import sys
from pathlib import Path

import pytest

from autoresearch import abtest
from autoresearch.harness.cli import EXIT_USAGE

REPO = Path(__file__).resolve().parent.parent


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


def test_b_first_starts_every_step_with_b_and_still_returns_a_over_b():
    """The suites' second process (track_ab_ratio_baseline_first) times the baseline first."""
    calls = []
    abtest.paired_ratios(
        lambda: calls.append("a"), lambda: calls.append("b"), seconds=0.0, b_first=True
    )
    assert calls[:4] == ["b", "a", "b", "a"]
    timed = calls[4:]
    n = timed.index("a")
    assert timed[: 4 * n] == ["b"] * n + ["a"] * n + ["a"] * n + ["b"] * n  # B A, then A B
    ratios = abtest.paired_ratios(lambda: _work(40_000), lambda: _work(20_000), 0.2, b_first=True)
    assert 1.3 < sorted(ratios)[len(ratios) // 2] < 3.5  # a/b: twice the work


def test_the_baseline_is_the_first_parents_kernel_and_skips_when_unchanged(monkeypatch, tmp_path):
    monkeypatch.delenv(abtest.ENV_BASELINE, raising=False)
    monkeypatch.setenv("AUTORESEARCH_STATE_DIR", str(tmp_path))
    own = (REPO / "autoresearch/pq_l2/kernels.py").read_bytes()
    for parent, why in ((own, "its first parent's"), (None, "no first parent")):
        monkeypatch.setattr(abtest, "first_parent_kernels", lambda target, p=parent: p)
        with pytest.raises(abtest.SkipNotImplemented, match=why):
            abtest.load_baseline("pq_l2")
    other = own + b"\nMARK = 'the parent'\n"
    monkeypatch.setattr(abtest, "first_parent_kernels", lambda target: other)
    assert abtest.load_baseline("pq_l2").MARK == "the parent"
    named = tmp_path / "named.py"
    named.write_bytes(own)  # named explicitly (calibration: a kernel against itself): no skip
    monkeypatch.setenv(abtest.ENV_BASELINE, str(named))
    assert abtest.load_baseline("pq_l2").__name__.startswith("autoresearch_baseline_pq_l2")


def test_first_parent_kernels_reads_the_checked_out_commits_parent(monkeypatch):
    git = lambda *a: subprocess.run(["git", *a], cwd=REPO, capture_output=True).stdout  # noqa: E731
    head = git("rev-parse", "HEAD").decode().strip()
    monkeypatch.setenv("ASV_COMMIT", head)  # what asv sets in its benchmark processes
    assert abtest.first_parent_kernels("bm25") == git("show", "HEAD^:autoresearch/bm25/kernels.py")
    monkeypatch.setenv("ASV_COMMIT", "0" * 40)
    assert abtest.first_parent_kernels("bm25") is None


# ---------------------------------------------------------------------------
# `python -m autoresearch.abtest`: the quick look (real suite, one small combination)
# ---------------------------------------------------------------------------

QUICK = ["ivf_select", "--match", r"/\(256,128\)/20$", "--seconds", "0.02"]


def _quick(*args):
    return subprocess.run(
        [sys.executable, "-m", "autoresearch.abtest", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_quick_look_times_the_working_tree_against_head():
    proc = _quick(*QUICK)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    combo = [line for line in lines if line.startswith("IvfSelect/")]
    assert len(combo) == 1 and "(256,128)/20" in combo[0]
    geomean = float(lines[-1].split()[1])
    assert lines[-1].endswith("over 1 combinations") and 0.5 < geomean < 2.0


def test_quick_look_names_the_combination_where_a_kernel_raised(tmp_path):
    kernels = tmp_path / "kernels.py"
    source = (REPO / "autoresearch/ivf_select/kernels.py").read_text()
    kernels.write_text(source + "\n\ndef find_partitions(*args):\n    raise ValueError('boom')\n")
    proc = _quick(*QUICK, "--kernels", str(kernels))
    assert proc.returncode == 2
    assert "IvfSelect/(256,128)/20: ValueError: boom" in proc.stderr


@pytest.mark.parametrize(
    "args", [["no_such_target"], ["ivf_select", "--no-such-flag"], ["ivf_select", "--seconds", "x"]]
)
def test_quick_look_bad_usage_exits_usage(args):
    proc = _quick(*args)
    assert proc.returncode == EXIT_USAGE and "error:" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["ivf_select", "--baseline", "no-such-rev"], "no kernels.py at"),
        (["ivf_select", "--kernels", "/no/such/file.py"], "no such file"),
        (["ivf_select", "--match", "nothing matches this"], "no combination matched"),
    ],
)
def test_quick_look_bad_input_exits_1(args, message):
    proc = _quick(*args)
    assert proc.returncode == 1 and message in proc.stderr


@pytest.mark.parametrize(
    "args",
    [["ivf_select", "--kernels", "/no/such/file.py"], ["ivf_select", "--match", "matches none"]],
)
def test_quick_look_leaves_no_temporary_folder(tmp_path, args):
    import os

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "autoresearch.abtest", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert not list(tmp_path.glob("abtest-*"))
