"""One experiment (autoresearch.experiment): refusals, outcomes and faults, end to end in clones.

Every test runs the real command in a disposable clone (tests/agents/fixtures.py). Benchmarks,
where a test needs them, are restricted to one combination (AUTORESEARCH_BENCH_REGEX), which
only shortens the asv run: the keep path with the full suite is tests/test_loop.py's.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from agents.fixtures import (
    KERNELS,
    LOCK,
    LOG,
    ONE_COMBO,
    TARGET,
    Run,
    apply_patch,
    environ,
    experiment,
    git,
    gone,
    journal,
    log_rows,
    make_clone,
    state,
    tiny_tmpfs,
)

from autoresearch.experiment import (
    EXIT_CRASH,
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_KEEP,
    EXIT_REFUSED,
    EXIT_USAGE,
)
from autoresearch.harness.asvrun import asv_errors, failed_benchmarks
from autoresearch.harness.errors import HarnessError
from autoresearch.harness.runlog import LOG_COLUMNS, append_row, parse_log, read_log

FAST = {"AUTORESEARCH_BENCH_REGEX": ONE_COMBO}


@pytest.fixture
def repo(tmp_path):
    return make_clone(tmp_path / "repo")


def unchanged(before: dict, after: dict) -> None:
    """A refusal changes nothing: not even the agent's own edit, which stays as it was."""
    assert after == before


def restored(before: dict, after: dict) -> None:
    """Back where the experiment started: same HEAD, clean tree, same log, no worktree, no lock."""
    assert after["head"] == before["head"]
    assert after["status"] == ""
    assert after["log"] == before["log"]
    assert after["worktrees"] == 1
    assert after["results"] == before["results"]
    assert not after["lock"]


# ---------------------------------------------------------------------------
# The results log
# ---------------------------------------------------------------------------


def row(n: int) -> dict:
    fields = {c: f"{c}{n}" for c in LOG_COLUMNS} | {"decision": "discard"}
    return fields | {"description": f"tab\there {n}\nnewline"}


def test_log_header_once_append_only_one_line_per_row(tmp_path):
    path = tmp_path / "results" / "experiments" / "t.tsv"
    append_row(path, row(1))
    append_row(path, row(2))
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(LOG_COLUMNS)
    assert len(lines) == 3
    rows = read_log(path)
    assert [r["commit"] for r in rows] == ["commit1", "commit2"]
    assert rows[1]["description"] == "tab here 2 newline"


def test_log_with_other_columns_is_never_rewritten(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("commit\tdecision\nabc\tkeep\n")
    with pytest.raises(HarnessError, match="never rewritten"):
        append_row(path, row(1))
    assert path.read_text() == "commit\tdecision\nabc\tkeep\n"


@pytest.mark.parametrize(
    ("line", "error"),
    [("a\tb", "2 tab-separated fields, not 16"), ("\t".join(["x"] * 16), "unknown decision 'x'")],
)
def test_the_log_reader_refuses_a_row_the_writer_could_not_have_written(tmp_path, line, error):
    path = tmp_path / "t.tsv"
    append_row(path, row(1))
    with open(path, "a") as f:
        f.write(line + "\n")
    with pytest.raises(HarnessError, match=f"t.tsv:3: {error}"):
        read_log(path)


def test_the_lenient_log_reader_takes_old_layouts_and_skips_a_cut_last_row(tmp_path):
    """report.py's mode: fewer columns in another order, CRLF, blank lines; a killed writer's
    last row (no newline) is skipped with a warning. Strict mode refuses the same text."""
    text = "description\tdecision\tgeomean_ratio\r\nfirst\tkeep\t0.9\r\n\nsecond\tdis"
    warnings = []
    rows = parse_log(text, "old.tsv", lenient=True, warn=warnings.append)
    assert [(r["description"], r["decision"], r["line"]) for r in rows] == [("first", "keep", 2)]
    assert rows[0]["commit"] == rows[0]["baseline"] == ""  # absent columns read as ""
    assert warnings == ["old.tsv:4: last line is incomplete (a killed writer?), ignored"]
    with pytest.raises(HarnessError, match="has columns"):
        parse_log(text, "old.tsv")
    with pytest.raises(HarnessError, match=r"old\.tsv:1: header lacks column\(s\) geomean_ratio"):
        parse_log("description\tdecision\nx\tkeep\n", "old.tsv", lenient=True)
    with pytest.raises(HarnessError, match=r"old\.tsv:2: unknown decision 'drop'"):
        parse_log("description\tdecision\tgeomean_ratio\nx\tdrop\t1\n", "old.tsv", lenient=True)


def test_full_disk_leaves_no_half_row(tmp_path):
    try:
        mount = tiny_tmpfs(tmp_path / "disk", kib=8)
        disk = mount.__enter__()
    except PermissionError as exc:
        pytest.skip(f"cannot mount a tmpfs: {exc}")
    try:
        path = disk / "t.tsv"
        append_row(path, row(1))
        before = path.read_bytes()
        with open(disk / "filler", "wb", buffering=0) as f, pytest.raises(OSError):
            while True:
                f.write(b"x" * 512)
                f.flush()
        big = row(2) | {"description": "y" * 20000}  # more than the free space, not just a page
        with pytest.raises(OSError) as info:
            append_row(path, big)
        assert info.value.errno == errno.ENOSPC
        assert path.read_bytes() == before
    finally:
        mount.__exit__(None, None, None)


# ---------------------------------------------------------------------------
# Refusals: nothing changes
# ---------------------------------------------------------------------------


def test_unchanged_kernel_is_refused(repo):
    before = state(repo)
    r = experiment(repo, "nothing")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    assert r.block()["decision"] == "refused"
    assert "kernels.py is unchanged" in r.text()
    unchanged(before, state(repo))


@pytest.mark.parametrize(
    "change",
    ["untracked", "staged", "deleted", "reference", "benchmark", "results", "symlink"],
)
def test_changes_outside_the_kernel_are_refused(repo, change):
    apply_patch(repo, "faster")
    if change == "untracked":
        (repo / "autoresearch" / TARGET / "helper.py").write_text("x = 1\n")
    elif change == "staged":
        (repo / "README.md").write_text("changed\n")
        git(repo, "add", "README.md")
    elif change == "deleted":
        (repo / "autoresearch" / TARGET / "program.md").unlink()
    elif change == "reference":
        with open(repo / "autoresearch" / TARGET / "reference.py", "a") as f:
            f.write("\n# loosened\n")
    elif change == "benchmark":
        with open(repo / "benchmarks" / f"bench_{TARGET}.py", "a") as f:
            f.write("\nPqL2.time_search = lambda *a: None\n")
    elif change == "results":
        (repo / "results" / "fake.json").write_text("{}\n")
    elif change == "symlink":
        (repo / KERNELS).unlink()
        (repo / KERNELS).symlink_to("reference.py")
    before = state(repo)
    r = experiment(repo, f"with a {change} change")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    reasons = [ln for ln in r.text().splitlines() if ln.startswith("reason: ")]
    assert reasons and all("kernels.py" in ln for ln in reasons), reasons
    unchanged(before, state(repo))


@pytest.mark.slow
def test_head_moved_by_hand_is_refused(repo):
    apply_patch(repo, "segfault")  # a cheap experiment makes the log
    assert experiment(repo, "crash").proc.returncode == EXIT_CRASH
    inputs = repo / "autoresearch" / TARGET / "inputs.py"
    inputs.write_text(inputs.read_text() + "\n# the workload edited and committed by hand\n")
    git(repo, "commit", "-qam", "by hand")
    apply_patch(repo, "faster")
    before = state(repo)
    r = experiment(repo, "after a hand commit")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    assert "HEAD is not where the last experiment" in r.text()
    assert f"autoresearch/{TARGET}/inputs.py" in r.text()
    unchanged(before, state(repo))


@pytest.mark.slow
def test_every_record_keeps_the_readme_table_current(repo):
    apply_patch(repo, "segfault")
    assert experiment(repo, "crash").proc.returncode == EXIT_CRASH
    check = subprocess.run(
        [sys.executable, "-m", "autoresearch.report", "--readme", "--check"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "(0 kept / 1 experiments)" in (repo / "README.md").read_text()
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.slow
def test_harness_fixes_and_docs_may_land_between_experiments(repo):
    apply_patch(repo, "segfault")
    assert experiment(repo, "crash").proc.returncode == EXIT_CRASH
    (repo / "README.md").write_text("a doc fix committed between experiments\n")
    oracle = repo / "autoresearch" / "oracle.py"
    oracle.write_text(oracle.read_text() + "\n# a harness fix\n")
    git(repo, "commit", "-qam", "harness fix")
    apply_patch(repo, "segfault")
    r = experiment(repo, "after a harness fix")
    assert r.proc.returncode == EXIT_CRASH, r.text()


@pytest.mark.slow
def test_other_targets_may_take_turns(repo):
    apply_patch(repo, "segfault")
    assert experiment(repo, "crash").proc.returncode == EXIT_CRASH
    other = next(
        p
        for p in sorted((repo / "autoresearch").glob("*/kernels.py"))
        if p.parent.name != TARGET and git(repo, "ls-files", str(p.relative_to(repo)))
    )
    with open(other, "a") as f:
        f.write("\n# another target's kept experiment\n")
    git(repo, "commit", "-qam", f"experiment({other.parent.name}): elsewhere")
    apply_patch(repo, "segfault")
    assert experiment(repo, "crash again").proc.returncode == EXIT_CRASH


# ---------------------------------------------------------------------------
# A benchmark that failed inside asv (asv exits 0 and records null)
# ---------------------------------------------------------------------------

REAL_RESULTS = (
    Path(__file__).parent / "data" / "gate" / "pq_l2" / "results" / "amd-epyc-2cpu"
    / "643552c5-existing-py_tmp_lance-autoresearch_bin_python.json"
)  # fmt: skip


def test_failed_candidate_benchmarks_are_named_but_not_the_paired_one(tmp_path):
    data = json.loads(REAL_RESULTS.read_text())
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    assert failed_benchmarks(path, "pq_l2") == []
    columns = data["result_columns"]
    for method, index in (("time_search", 0), ("track_ab_ratio", 1)):
        data["results"][f"bench_pq_l2.PqL2.{method}"][columns.index("result")][index] = None
    path.write_text(json.dumps(data))
    # time_search runs the candidate alone: its failure is the candidate's crash. The paired
    # benchmark also runs the baseline's kernel: the gate judges that one (undecided).
    assert failed_benchmarks(path, "pq_l2") == ["PqL2/(128,16,256)/clustered time_search"]


def test_asv_errors_keeps_one_line_per_exception_type():
    output = "\n".join([
        "[  10.0s] bench| [  2.0s]              Traceback (most recent call last):",
        "[  10.0s] bench| [  2.0s]              KeyError: ((Array(int64, 1, 'C'), 0x7fa4)",
        "[  10.0s] bench| [  2.0s]              ReferenceError: underlying object has vanished",
        "[  10.0s] bench| [  2.0s]              KeyError: ((Array(int32, 1, 'C'), 0x7f48)",
        "[  10.0s] bench| [  2.0s]              For parameters: 'float32', 'random'",
    ])  # fmt: skip
    assert asv_errors(output) == [
        "KeyError: ((Array(int64, 1, 'C'), 0x7fa4)",
        "ReferenceError: underlying object has vanished",
    ]


# ---------------------------------------------------------------------------
# Outcomes without a benchmark: fail, crash, timeout
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "code", "decision", "evidence", "limit"),
    [
        ("wrong", EXIT_FAIL, "fail", "failure: wrong: pq_distances", "180"),
        ("segfault", EXIT_CRASH, "crash", "killed by SIGSEGV", "180"),
        pytest.param(
            "hang", EXIT_CRASH, "timeout", "still running after", "6", marks=pytest.mark.slow
        ),
    ],
)
def test_bad_kernel_is_recorded_and_reverted(repo, patch, code, decision, evidence, limit):
    before = state(repo)
    apply_patch(repo, patch)
    r = experiment(repo, f"{patch} kernel", environ(AUTORESEARCH_CHECK_TIMEOUT_SECS=limit))
    assert r.proc.returncode == code, r.text()
    block = r.block()
    assert block["decision"] == decision
    assert evidence in r.text()
    # One commit on top of the start: the log row, nothing else; the code is the baseline's.
    after = state(repo)
    assert git(repo, "rev-parse", "HEAD^") == before["head"]
    # One record commit: the log row, and the README table generated from it.
    assert git(repo, "diff", "--name-only", before["head"], "HEAD").split() == ["README.md", LOG]
    assert after["status"] == "" and not after["lock"] and after["worktrees"] == 1
    rows = log_rows(repo)
    assert len(rows) == 1
    assert rows[0]["decision"] == decision and rows[0]["commit"] == block["commit"]
    assert rows[0]["baseline"] == before["head"]
    # The candidate is kept off-branch, never lost.
    ref = f"refs/autoresearch/{TARGET}/{block['commit']}"
    assert git(repo, "rev-parse", ref) == block["commit"]
    patched = (repo / "tests" / "agents" / "patches" / f"{patch}.py").read_text()
    assert git(repo, "show", f"{ref}:{KERNELS}") == patched.strip()


FLAWED_BASELINE = """
# A flaw the oracle rejects at no cost in speed: the wrapper counts calls (state across calls).
_scan_codes = pq_distances
_CALLS = np.zeros(1, dtype=np.int64)


def pq_distances(table, codes):
    _CALLS[0] += 1
    return _scan_codes(table, codes)
"""


@pytest.mark.slow  # a keep needs the full pq_l2 suite (about a minute)
def test_a_baseline_the_oracle_now_rejects_is_repaired_by_a_not_slower_candidate(repo):
    # Kept before the oracle learned to reject it (committed by hand here: the log is empty, so
    # HEAD is the baseline). The clean kernel is no faster, and is kept as a repair: the full
    # suite runs, since a keep needs every combination.
    with open(repo / KERNELS, "a") as f:
        f.write(FLAWED_BASELINE)
    git(repo, "commit", "-qam", "a kept kernel the current oracle rejects")
    apply_patch(repo, "base")
    r = experiment(repo, "repair: no call counter")
    text = r.text()
    assert "repair: the baseline fails the current oracle" in text, text
    block = r.block()
    if block["decision"] == "undecided":  # a busy machine: only noise may stop the keep,
        # read as a wide pair spread or as an interval that straddles 1.01 after a re-measurement
        # (an undecided block lists only the failed rules)
        assert "noise=fail" in text or re.search(r"not_slower=fail .* straddles 1\.01", text), text
    else:
        assert "not_slower=" in text  # the gate judged it with --repair
        assert (r.proc.returncode, block["decision"]) == (EXIT_KEEP, "keep"), text
        assert log_rows(repo)[-1]["decision"] == "keep"


@pytest.mark.slow
def test_time_budget_turns_a_long_experiment_into_a_timeout(repo):
    apply_patch(repo, "faster")
    before = state(repo)
    env = environ(AUTORESEARCH_TIME_BUDGET_SECS="12", **FAST)
    r = experiment(repo, "correct but the budget is short", env)
    assert r.proc.returncode == EXIT_CRASH, r.text()
    assert r.block()["decision"] == "timeout"
    assert float(r.block()["seconds"]) < 12 + 10  # killed at the budget, not at the end
    assert git(repo, "rev-parse", "HEAD^") == before["head"]
    assert log_rows(repo)[-1]["decision"] == "timeout"


# ---------------------------------------------------------------------------
# Faults: interrupts, a killed process, a second run, a full disk
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory):
    """One clone for the interrupt tests, run in order: each must leave it as it found it."""
    return make_clone(tmp_path_factory.mktemp("interrupts") / "repo")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("phase", "sig"),
    [
        ("correctness", signal.SIGINT),
        ("bench (", signal.SIGTERM),
        ("gate", signal.SIGINT),
    ],
)
def test_interrupt_at_a_phase_restores_everything(shared_repo, phase, sig):
    repo = shared_repo
    git(repo, "checkout", "-q", "--", ".")  # a previous test's leftover edit, if it failed
    before = state(repo)
    apply_patch(repo, "faster")
    r = Run(repo, ["autoresearch.experiment", TARGET, "-m", "interrupted"], environ(**FAST))
    r.wait_for(f"phase: {phase}")
    r.signal(sig)
    code = r.finish()
    assert code == 128 + sig, r.text()
    block = r.block()
    assert block["decision"] == "interrupted"
    assert "nothing recorded" in r.text()
    restored(before, state(repo))
    assert (repo / KERNELS).read_bytes() == before["kernels"]  # the edit went with the reset
    candidate = next(ln for ln in r.lines if "candidate: " in ln).split("candidate: ")[1].strip()
    assert git(repo, "cat-file", "-t", f"refs/autoresearch/{TARGET}/{candidate}") == "commit"


def test_interrupt_while_recording_finishes_the_record(repo):
    apply_patch(repo, "segfault")
    before = state(repo)
    r = Run(repo, ["autoresearch.experiment", TARGET, "-m", "crash, interrupted late"])
    r.wait_for("phase: record")
    r.signal(signal.SIGINT)
    assert r.finish() == EXIT_CRASH, r.text()  # the verdict was in: it is recorded, not lost
    assert r.block()["decision"] == "crash"
    after = state(repo)
    assert git(repo, "rev-parse", "HEAD^") == before["head"] and after["status"] == ""
    assert log_rows(repo)[-1]["decision"] == "crash"


def test_a_reader_that_goes_away_loses_the_output_not_the_repository(repo):
    # `experiment ... | head -1`: the pipe closes after the first line. Every later progress line
    # used to raise BrokenPipeError, whose handler's own first line raised again, and the command
    # died with the candidate commit checked out and its journal gone. Now the output is dropped
    # and the experiment runs to its end: the crash is recorded, the tree is clean.
    apply_patch(repo, "segfault")
    before = state(repo)
    cmd = [sys.executable, "-m", "autoresearch.experiment", TARGET, "-m", "stdout closed"]
    proc = subprocess.Popen(cmd, cwd=repo, env=environ(), stdout=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=600) == EXIT_CRASH
    after = state(repo)
    assert git(repo, "rev-parse", "HEAD^") == before["head"], "the record commit is on top"
    assert after["status"] == "" and not after["lock"]
    assert log_rows(repo)[-1]["decision"] == "crash"


def test_second_experiment_is_refused_while_one_runs(repo):
    apply_patch(repo, "hang")
    before = state(repo)
    env = environ(AUTORESEARCH_CHECK_TIMEOUT_SECS="120")
    first = Run(repo, ["autoresearch.experiment", TARGET, "-m", "first"], env)
    first.wait_for("phase: correctness")
    second = experiment(repo, "second")
    assert second.proc.returncode == EXIT_REFUSED, second.text()
    assert "holds" in second.text() and str(first.proc.pid) in second.text()
    first.signal(signal.SIGINT)
    assert first.finish() == 128 + signal.SIGINT, first.text()
    restored(before, state(repo))


@pytest.mark.slow
def test_killed_experiment_is_recovered_by_the_next_run(repo):
    apply_patch(repo, "faster")
    before = state(repo)
    r = Run(repo, ["autoresearch.experiment", TARGET, "-m", "killed"], environ(**FAST))
    r.wait_for("phase: bench")
    r.wait_for("bench| ")  # asv is running in its own session
    held = journal(repo)
    assert held["step"]["phase"] == "bench"
    child = held["step"]["child"]
    r.proc.kill()
    r.finish()
    assert psutil.pid_exists(child["pid"])  # the orphaned benchmark still runs
    dirty = state(repo)
    assert dirty["lock"] and dirty["head"] != before["head"]

    nxt = experiment(repo, "next run")
    text = nxt.text()
    assert "stale lock" in text and "recovered: reset to" in text, text
    assert nxt.proc.returncode == EXIT_REFUSED  # the kill's candidate is gone from the tree
    restored(before, state(repo))
    assert gone(child["pid"])  # the recovery killed the orphaned benchmark tree


@pytest.mark.slow
def test_full_disk_for_the_log_restores_and_records_nothing(repo):
    log_dir = (repo / LOG).parent
    exclude = repo / ".git" / "info" / "exclude"
    with open(exclude, "a") as f:
        f.write("results/experiments/filler\n")
    try:
        mount = tiny_tmpfs(log_dir, kib=8)
        mount.__enter__()
    except PermissionError as exc:
        pytest.skip(f"cannot mount a tmpfs: {exc}")
    try:
        with open(log_dir / "filler", "wb", buffering=0) as f, pytest.raises(OSError):
            while True:
                f.write(b"x" * 512)
                f.flush()
        before = state(repo)
        apply_patch(repo, "segfault")
        r = experiment(repo, "crash on a full disk")
        assert r.proc.returncode == EXIT_ERROR, r.text()
        assert "No space left on device" in r.text()
        restored(before, state(repo))  # HEAD, tree and log as before the edit

        (log_dir / "filler").unlink()
        apply_patch(repo, "segfault")
        assert experiment(repo, "crash, disk freed").proc.returncode == EXIT_CRASH
        assert [r["decision"] for r in log_rows(repo)] == ["crash"]
    finally:
        mount.__exit__(None, None, None)
    assert not (repo / LOCK).exists()
    assert os.path.isdir(log_dir)


def test_usage_errors_exit_64(repo):
    proc = subprocess.run(
        [sys.executable, "-m", "autoresearch.experiment", "nope", "-m", "x"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=environ(),
    )
    assert proc.returncode == EXIT_USAGE


def test_only_the_oracle_gets_asvs_state_folder(monkeypatch):
    """The oracle compiles the candidate into the numba cache asv's processes read (asv's
    state folder); every other child keeps the clone's own state."""
    from types import SimpleNamespace

    from autoresearch import ENV_STATE_DIR, experiment

    seen = {}
    monkeypatch.setattr(experiment, "run_tree", lambda cmd, **kw: seen.update({cmd[-1]: kw["env"]}))
    fake = SimpleNamespace(
        asv_state={ENV_STATE_DIR: "/asv/state"}, remaining=lambda: 60.0, progress=None,
        journal=lambda **kw: None,
    )  # fmt: skip
    for tag in ("oracle", "bench", "gate"):
        experiment.Experiment.run_child(fake, tag, ["-m", f"autoresearch.{tag}", tag], Path(), 9)
    assert seen["oracle"][ENV_STATE_DIR] == "/asv/state"
    assert seen["bench"].get(ENV_STATE_DIR) != "/asv/state"
    assert seen["gate"].get(ENV_STATE_DIR) != "/asv/state"


def test_the_runs_workloads_are_drawn_while_the_oracle_runs_and_removed_after(monkeypatch):
    """evaluate starts drawing the run's salted workloads before the oracle; the decision's first
    bench gets that folder, a remeasure (a salt of its own) and the history run do not."""
    import functools
    from types import SimpleNamespace

    from autoresearch import PACKAGE_DIR, experiment
    from autoresearch.harness import run_folder

    Exp, seen = experiment.Experiment, {"args": []}

    def run_child(tag, args, cwd, limit):
        seen["args"].append(args)
        return SimpleNamespace(peak_rss_mb=0.0, timed_out=True)  # ends bench_candidate there

    def speed():
        seen["run_dir"], seen["salt"] = fake.run_dir, run_folder.run_salt(fake.run_dir)
        for phase in ("bench", "remeasure"):
            assert Exp.bench_candidate(fake, Path("."), phase).decision == "timeout"
        seen["args"].append(Exp.bench_args(fake, None, part="history"))
        return "decided"

    fake = SimpleNamespace(
        target="predicate", repo=PACKAGE_DIR.parent, correctness=lambda: None,
        remaining=lambda: 60.0, speed=speed, bench_regex=None, repair=[], run_dir=None,
        candidate="c" * 40, baseline="b" * 40, peak=0.0, run_child=run_child,
        progress=SimpleNamespace(phase=lambda *a: None), journal=lambda **kw: None,
        signals=experiment.Signals(),
    )  # fmt: skip
    fake.bench_args = functools.partial(Exp.bench_args, fake)
    assert Exp.evaluate(fake) == "decided"
    first, remeasure, history = seen["args"]
    assert first[-2:] == ["--run-dir", str(seen["run_dir"])]
    assert "--run-dir" not in remeasure and "--run-dir" not in history
    assert not seen["run_dir"].exists() and fake.run_dir is None  # removed with what was drawn
