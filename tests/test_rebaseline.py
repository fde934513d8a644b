"""Re-baselining (autoresearch.rebaseline): an epoch starts a target's chain again at HEAD.

End to end in disposable clones (tests/agents/fixtures.py), as tests/test_experiment.py: a suite,
an inputs and a harness change, each refused by the experiment where it must be, then the
command, then the next experiment accepted against the new baseline; the epoch row and its
commit; refusals, a failed, an interrupted and a killed re-baseline leaving the repository as it
was. The benchmark runs are restricted to one combination (AUTORESEARCH_BENCH_REGEX): a few
seconds of asv each, no timing job. The oracle runs for real (5-20 s per command, more after a
change to the package, which recompiles the kernels).
"""

from __future__ import annotations

import re
import signal

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
    run,
    state,
)

from autoresearch import report
from autoresearch.experiment import (
    EXIT_CRASH,
    EXIT_ERROR,
    EXIT_REFUSED,
    EXIT_USAGE,
)
from autoresearch.harness import runlog
from autoresearch.harness.git import Git
from autoresearch.harness.machine import ENV_MACHINE, machine_name
from autoresearch.harness.runlog import LOG_COLUMNS, baseline_of
from autoresearch.rebaseline import asv_written, describe_versions, target_versions, undo_rebaseline

FAST = {"AUTORESEARCH_BENCH_REGEX": ONE_COMBO}
MACHINE = machine_name()  # the clones' asv machine (this one's)
COMMAND = f'python -m autoresearch.rebaseline {TARGET} -m "why"'
SUITE = f"benchmarks/bench_{TARGET}.py"
INPUTS = f"autoresearch/{TARGET}/inputs.py"
RESULT = re.compile(r"results/[^/]+/([0-9a-f]{8})-[^/]+\.json")
NUMERIC = ("geomean_ratio", "ci_lo", "ci_hi", "worst_ratio", "best_ratio", "peak_mem_mb", "seconds")


def clone(path):
    repo = make_clone(path)
    # asv.conf.json names the branch `main`; a clone of a checkout on another branch has none.
    if git(repo, "branch", "--show-current") != "main":
        git(repo, "branch", "-f", "main", "HEAD")
    return repo


@pytest.fixture
def repo(tmp_path):
    return clone(tmp_path / "repo")


@pytest.fixture(scope="module")
def chain_repo(tmp_path_factory):
    """One clone for the change -> refusal -> epoch -> experiment scenarios, run in order."""
    repo = clone(tmp_path_factory.mktemp("chain") / "repo")
    apply_patch(repo, "segfault")  # a cheap experiment starts the log: its baseline is HEAD
    assert experiment(repo, "crash").proc.returncode == EXIT_CRASH
    return repo


def rebaseline(repo, reason: str, env: dict | None = None) -> Run:
    return run(repo, ["autoresearch.rebaseline", TARGET, "-m", reason], env or environ(**FAST))


def commit_change(repo, path: str, old: str, new: str, message: str) -> None:
    text = (repo / path).read_text()
    assert old in text, (path, old)
    (repo / path).write_text(text.replace(old, new, 1))
    git(repo, "commit", "-qam", message)


# ---------------------------------------------------------------------------
# The log: epoch rows, decisions, versions
# ---------------------------------------------------------------------------


def test_the_decision_lists_agree_and_know_epochs():
    assert "epoch" in runlog.DECISIONS and report.EPOCH == "epoch"
    assert set(runlog.BASELINE_DECISIONS) == {"keep", "epoch"}


def test_the_baseline_is_the_last_keep_or_epoch():
    def row(commit, baseline, decision):
        return {"commit": commit, "baseline": baseline, "decision": decision}

    assert baseline_of([]) is None
    assert baseline_of([row("c1", "s", "crash"), row("c2", "s", "discard")]) == "s"
    kept = [row("k1", "s", "keep"), row("c3", "k1", "discard")]
    assert baseline_of(kept) == "k1"
    epoch = [*kept, row("e1", "k1", "epoch")]
    assert baseline_of(epoch) == "e1"
    assert baseline_of([*epoch, row("c4", "e1", "fail"), row("r", "e1", "refused")]) == "e1"
    assert baseline_of([*epoch, row("k2", "e1", "keep")]) == "k2"


def test_versions_are_read_from_result_files_and_benchmarks_json():
    result = {
        "result_columns": ["result", "params", "version"],
        "results": {
            "bench_pq_l2.PqL2.time_search": [[1.0], [], "a" * 64],
            "bench_other.X.time_x": [[1.0], [], "b" * 64],
        },
    }
    assert target_versions(result, "pq_l2") == {"bench_pq_l2.PqL2.time_search": "a" * 64}
    suite = {"bench_pq_l2.PqL2.time_search": {"version": "c" * 64}, "version": 2}
    assert target_versions(suite, "pq_l2") == {"bench_pq_l2.PqL2.time_search": "c" * 64}

    p = "bench_pq_l2.PqL2."
    old = {p + "time_search": "1a2b3c4d" + "0" * 56, p + "track_old": "f" * 64, p + "same": "e" * 8}
    ran = {p + "time_search": "4d5e6f7a" + "0" * 56, p + "time_new": "9" * 64, p + "same": "e" * 8}
    text = describe_versions(old, ran, ran, "pq_l2")
    assert text == (
        "PqL2.time_new new 99999999, PqL2.time_search 1a2b3c4d->4d5e6f7a, PqL2.track_old removed"
    )
    # Benchmarks the run did not select but the suite still has are not "removed".
    assert "removed" not in describe_versions(old, ran, {**ran, p + "track_old": "f"}, "pq_l2")
    assert describe_versions(ran, ran, ran, "pq_l2") == "none"
    assert describe_versions({}, ran, ran, "pq_l2").startswith("unknown")


# ---------------------------------------------------------------------------
# A change, the refusal, the epoch, the next experiment
# ---------------------------------------------------------------------------


def _suite_change(repo) -> None:  # a fix in the timed body: its asv version changes
    old = "    def time_search(self, shape, distribution):\n        self.run()"
    new = old.replace("        self.run()", "        _ = self.run()")
    commit_change(repo, SUITE, old, new, "suite: time_search keeps its result")


def _inputs_change(repo) -> None:
    text = (repo / INPUTS).read_text()
    (repo / INPUTS).write_text(text + "\n# a workload fix, committed by hand\n")
    git(repo, "commit", "-qam", "inputs: a workload fix")


def _harness_change(repo) -> None:  # not the target's definition: experiments go on anyway
    oracle = repo / "autoresearch" / "oracle.py"
    oracle.write_text(oracle.read_text() + "\n# a harness fix\n")
    git(repo, "commit", "-qam", "harness: an oracle fix")


def _results_repo(repo, files: dict | None = None) -> str:
    """A repository holding target t's log (and `files`), committed: its HEAD."""
    for path, text in {
        repo / "results" / "experiments" / "t.tsv": "row\n",
        **(files or {}),
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    return git(repo, "rev-parse", "HEAD")


def test_only_what_asv_wrote_is_committed_or_undone(tmp_path, monkeypatch):
    """A file another command saves or changes under results/ while a re-baseline runs (a
    calibration, here) is neither committed with the epoch nor removed or reverted by its undo:
    only asv's folder for this machine, benchmarks.json, the target's log and README.md are the
    re-baseline's."""
    monkeypatch.setenv(ENV_MACHINE, "here-2cpu")
    repo = tmp_path / "r"
    theirs = repo / "results" / "calibration" / "decisions-old.jsonl"
    pre_head = _results_repo(repo, {theirs: "{}"})
    (repo / "results" / "here-2cpu").mkdir()
    (repo / "results" / "here-2cpu" / "abc-env.json").write_text("{}")
    (repo / "results" / "benchmarks.json").write_text("{}")
    other = repo / "results" / "calibration" / "decisions-x.jsonl"
    other.write_text("{}")
    theirs.write_text('{"edited": 1}')  # a tracked file another command changed meanwhile
    (repo / "results" / "experiments" / "t.tsv").write_text("row\nepoch row\n")
    assert sorted(asv_written(Git(repo), repo)) == [
        "results/benchmarks.json",
        "results/here-2cpu/abc-env.json",
    ]
    step = {"pre_head": pre_head, "target": "t", "phase": "benchmark", "dirs": []}
    undo_rebaseline(Git(repo), step)
    assert not (repo / "results" / "here-2cpu").exists()
    assert not (repo / "results" / "benchmarks.json").exists()
    assert other.read_text() == "{}" and theirs.read_text() == '{"edited": 1}'
    assert (repo / "results" / "experiments" / "t.tsv").read_text() == "row\n"  # its own: undone


def test_the_undo_removes_the_killed_runs_machine_folder_not_its_own(tmp_path, monkeypatch):
    """A re-baseline killed in its benchmark is undone by the next command to take the lock, which
    may run under another AUTORESEARCH_MACHINE: the journal names the folder asv wrote to."""
    repo = tmp_path / "r"
    pre_head = _results_repo(repo)
    (repo / "results" / "killed-2cpu").mkdir()
    (repo / "results" / "killed-2cpu" / "abc-env.json").write_text("{}")
    monkeypatch.setenv(ENV_MACHINE, "recovering-2cpu")
    step = {"pre_head": pre_head, "target": "t", "phase": "bench", "dirs": [],
            "machine": "killed-2cpu"}  # fmt: skip
    undo_rebaseline(Git(repo), step)
    assert not (repo / "results" / "killed-2cpu").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "refused", "versions"),
    [
        (_suite_change, SUITE, r"PqL2\.time_search [0-9a-f]{8}->[0-9a-f]{8}"),
        (_inputs_change, INPUTS, r"^none$"),
        (_harness_change, None, r"^none$"),
    ],
    ids=["suite", "inputs", "harness"],
)
def test_a_change_then_rebaseline_then_the_next_experiment_is_accepted(
    chain_repo, change, refused, versions
):
    repo = chain_repo
    previous = baseline_of(log_rows(repo))
    change(repo)
    epoch_commit = git(repo, "rev-parse", "HEAD")

    apply_patch(repo, "segfault")
    before = state(repo)
    r = experiment(repo, "after the change")
    if refused:
        assert r.proc.returncode == EXIT_REFUSED, r.text()
        assert refused in r.text() and COMMAND in r.text(), r.text()
        assert state(repo) == before
        git(repo, "checkout", "-q", "--", KERNELS)
    else:  # a harness change never stopped the chain: the experiment ran on the old baseline
        assert r.proc.returncode == EXIT_CRASH, r.text()
        assert log_rows(repo)[-1]["baseline"] == previous
        epoch_commit = git(repo, "rev-parse", "HEAD")  # the crash's record commit

    rows_before = log_rows(repo)
    reason = f"{change.__name__.strip('_')} was meant"
    r = rebaseline(repo, reason)
    assert r.proc.returncode == 0, r.text()
    block = r.block()
    assert block["decision"] == "epoch" and block["commit"] == epoch_commit

    # The epoch row: appended (the log only grows), HEAD as the new baseline.
    rows = log_rows(repo)
    assert rows[:-1] == rows_before
    row = rows[-1]
    assert tuple(row) == LOG_COLUMNS
    assert row["decision"] == "epoch" and row["commit"] == epoch_commit
    assert row["baseline"] == previous and row["target"] == TARGET
    assert row["correctness"] == "pass"
    assert all(row[c] == "nan" for c in NUMERIC), row
    assert row["description"].startswith(f"epoch: {reason}; versions changed: "), row
    assert re.search(versions, row["description"].split("; versions changed: ")[1]), row

    # One commit on top of the epoch's: its asv results, the row and the README table.
    assert git(repo, "rev-parse", "HEAD^") == epoch_commit
    subject = git(repo, "log", "-1", "--format=%s")
    assert subject == f"results({TARGET}): epoch {epoch_commit[:12]}: {reason}"
    changed = git(repo, "diff", "--name-only", "HEAD^", "HEAD").split()
    assert LOG in changed and all(p.startswith("results/") or p == "README.md" for p in changed)
    filed = [m.group(1) for p in changed if (m := RESULT.fullmatch(p))]
    assert filed == [epoch_commit[:8]], changed
    assert git(repo, "status", "--porcelain") == "" and not (repo / LOCK).exists()
    check = run(repo, ["autoresearch.report", "--readme", "--check"])
    assert check.proc.returncode == 0, check.text()

    # The next experiment is accepted, measured against the epoch's commit.
    apply_patch(repo, "segfault")
    r = experiment(repo, "after the epoch")
    assert r.proc.returncode == EXIT_CRASH, r.text()
    assert r.block()["baseline"] == epoch_commit
    assert log_rows(repo)[-1]["baseline"] == epoch_commit


@pytest.mark.slow
def test_nothing_to_start_again_is_refused(chain_repo):
    # After the scenarios above: only results changed since the last epoch.
    before = state(chain_repo)
    r = rebaseline(chain_repo, "again")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    assert "nothing but results changed since" in r.text()
    assert state(chain_repo) == before


# ---------------------------------------------------------------------------
# Refusals and faults: the repository as it was
# ---------------------------------------------------------------------------


def test_a_dirty_tree_is_refused(repo):
    (repo / "notes.txt").write_text("work in progress\n")
    apply_patch(repo, "faster")
    before = state(repo)
    r = rebaseline(repo, "dirty")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    assert "the tree must be clean" in r.text()
    assert "notes.txt" in r.text() and KERNELS in r.text()
    assert state(repo) == before


def test_a_kernel_the_oracle_rejects_cannot_be_a_baseline(repo):
    apply_patch(repo, "wrong")
    git(repo, "commit", "-qam", "a wrong kernel, committed by hand")
    before = state(repo)
    r = rebaseline(repo, "on a wrong kernel")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    assert "cannot be a baseline: the current oracle rejects it" in r.text()
    assert "failure: wrong: pq_distances" in r.text()
    assert "phase: bench" not in r.text()
    assert state(repo) == before


@pytest.mark.slow
def test_a_benchmark_that_fails_in_asv_is_refused_and_its_results_removed(repo):
    old = "    def time_search(self, shape, distribution):\n        self.run()"
    commit_change(repo, SUITE, old, old + '\n        raise ValueError("broken suite")', "broken")
    before = state(repo)
    r = rebaseline(repo, "on a broken suite")
    assert r.proc.returncode == EXIT_REFUSED, r.text()
    assert "a benchmark failed in asv" in r.text() and "ValueError: broken suite" in r.text()
    # Its own paths only: asv's output, the log, README.md (never the rest of results/).
    assert f"restored: reset results/benchmarks.json, results/{MACHINE}, {LOG}, README.md to" in (
        r.text()
    )
    assert state(repo) == before  # asv's result file and benchmarks.json are gone again


@pytest.mark.slow
def test_a_failed_benchmark_run_is_a_harness_error_and_changes_nothing(repo):
    before = state(repo)
    r = rebaseline(repo, "no benchmark", environ(AUTORESEARCH_BENCH_REGEX="^no such benchmark$"))
    assert r.proc.returncode == EXIT_ERROR, r.text()
    assert "benchmarking HEAD failed" in r.text() and "No benchmarks selected" in r.text()
    assert state(repo) == before


@pytest.mark.slow
def test_an_interrupted_rebaseline_is_restored(repo):
    before = state(repo)
    r = Run(repo, ["autoresearch.rebaseline", TARGET, "-m", "interrupted"], environ(**FAST))
    r.wait_for("phase: bench")
    r.wait_for("bench| ")
    r.signal(signal.SIGTERM)
    assert r.finish() == 128 + signal.SIGTERM, r.text()
    assert r.block()["decision"] == "interrupted" and "nothing recorded" in r.text()
    assert state(repo) == before


@pytest.mark.slow
def test_a_killed_rebaseline_is_recovered_by_the_next_command(repo):
    before = state(repo)
    r = Run(repo, ["autoresearch.rebaseline", TARGET, "-m", "killed"], environ(**FAST))
    r.wait_for("phase: bench")
    r.wait_for("bench| ")  # asv is running in its own session
    held = journal(repo)
    assert held["step"]["kind"] == "rebaseline" and held["step"]["phase"] == "bench"
    child = held["step"]["child"]
    r.proc.kill()
    r.finish()
    assert psutil.pid_exists(child["pid"])  # the orphaned benchmark still runs

    apply_patch(repo, "segfault")
    nxt = experiment(repo, "next run")  # any command that takes the lock recovers
    assert "stale lock" in nxt.text() and "rebaseline phase bench" in nxt.text(), nxt.text()
    assert gone(child["pid"])
    assert nxt.proc.returncode == EXIT_CRASH, nxt.text()
    assert log_rows(repo)[-1]["baseline"] == before["head"]  # no epoch was recorded
    # Nothing of the killed run is left: the record commit holds the crash's row alone.
    assert git(repo, "diff", "--name-only", before["head"], "HEAD").split() == ["README.md", LOG]


@pytest.mark.slow
def test_an_interrupt_while_recording_finishes_the_record(repo):
    r = Run(repo, ["autoresearch.rebaseline", TARGET, "-m", "late"], environ(**FAST))
    r.wait_for("phase: record")
    r.signal(signal.SIGINT)
    assert r.finish() == 0, r.text()
    assert "the record was completed first" in r.text()
    assert log_rows(repo)[-1]["decision"] == "epoch"
    assert git(repo, "status", "--porcelain") == "" and not (repo / LOCK).exists()


@pytest.mark.parametrize(
    "args",
    [["nope", "-m", "x"], [TARGET], [TARGET, "-m", "  "]],
    ids=["unknown-target", "no-reason", "empty-reason"],
)
def test_usage_errors_exit_64(repo, args):
    r = run(repo, ["autoresearch.rebaseline", *args])
    assert r.proc.returncode == EXIT_USAGE, r.text()


def test_every_targets_chain_is_intact_on_this_commit():
    """A change to what defines a target (its inputs, reference, program.md, its suite) lands with
    its `rebaseline`: without it every experiment on that target is refused until someone runs
    it. Sessions 44 and 45 left ivf_select (program.md) and fsst (inputs.py) so, on main, where
    only an A/A found them; this checks the repository's own history on every test run."""
    from autoresearch import PACKAGE_DIR, TARGETS
    from autoresearch.harness.checks import check_head
    from autoresearch.harness.errors import Refused

    git = Git(PACKAGE_DIR.parent)
    if git.out("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone has no baselines to compare with")
    refused = {}
    for target in TARGETS:
        try:
            check_head(git, target)
        except Refused as exc:
            refused[target] = exc.problems[0]
    assert refused == {}, "run `python -m autoresearch.rebaseline TARGET -m why` for these"
