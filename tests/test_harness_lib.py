"""The harness library (autoresearch/harness/) in isolation: fast, no clone, no asv.

The commands built on it (experiment, loop) are tested end to end in tests/test_experiment.py and
tests/test_loop.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from autoresearch.harness.env import child_env
from autoresearch.harness.errors import HarnessError, Refused
from autoresearch.harness.git import Git
from autoresearch.harness.layout import LOCK_FILE, REF_PREFIX, state_dir
from autoresearch.harness.lock import Lock
from autoresearch.harness.procs import run_tree
from autoresearch.harness.progress import Progress, format_block
from autoresearch.harness.recovery import drop_candidate, restore_after, undo_experiment
from autoresearch.harness.signals import Interrupted, Signals


def test_a_signal_inside_a_critical_section_is_raised_when_it_ends():
    signals = Signals().install()
    try:
        with pytest.raises(Interrupted) as caught:
            with signals.critical():
                os.kill(os.getpid(), signal.SIGTERM)
                done = True  # reached: the signal waited
        assert done and caught.value.signum == signal.SIGTERM
        with signals.shielded():
            os.kill(os.getpid(), signal.SIGINT)
        assert signals.pending == signal.SIGINT  # a shielded section raises nothing at its end
    finally:
        signals.uninstall()


def test_progress_lines_are_timed_and_phases_are_known(capsys):
    progress = Progress()
    progress.phase("checks", "detail")
    assert capsys.readouterr().out.rstrip().endswith("] phase: checks (detail)")
    with pytest.raises(AssertionError):
        progress.phase("no such phase")
    assert format_block([("decision", "keep")], ["reason: r"]) == "---\ndecision: keep\nreason: r"


def make_repo(path):
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for key, value in (("user.email", "t@localhost"), ("user.name", "t")):
        subprocess.run(["git", "-C", str(path), "config", key, value], check=True)
    (path / "a.txt").write_text("a\n")
    git = Git(path)
    git.run("add", "a.txt")
    git.run("commit", "-q", "-m", "first")
    return git


def test_git_reads_revisions_files_and_every_kind_of_change(tmp_path):
    git = make_repo(tmp_path)
    head = git.head()
    assert git.rev("HEAD") == head and git.parent(head) is None and git.rev("nope") is None
    assert git.subject(head) == "first" and git.show(head, "a.txt") == "a\n"
    assert git.show(head, "missing.txt") is None and not git.tracked(head, "missing.txt")
    git.run("mv", "a.txt", "b.txt")
    (tmp_path / "new dir").mkdir()
    (tmp_path / "new dir" / "c.txt").write_text("c")
    assert git.status() == [("R ", "a.txt -> b.txt"), ("??", "new dir/c.txt")]
    with pytest.raises(HarnessError, match="git rev-parse nope failed"):
        git.run("rev-parse", "nope")


def with_candidate(tmp_path: Path) -> tuple[Git, str]:
    """A repository whose HEAD is an experiment's candidate commit; (git, the commit before it)."""
    git = make_repo(tmp_path)
    (tmp_path / "kernels.py").write_text("old\n")
    git.run("add", "kernels.py")
    git.run("commit", "-q", "-m", "baseline")
    pre_head = git.head()
    (tmp_path / "kernels.py").write_text("candidate\n")
    git.run("commit", "-q", "-am", "experiment(t): candidate")
    return git, pre_head


def test_a_discard_keeps_edits_made_elsewhere_while_the_experiment_ran(tmp_path):
    git, pre_head = with_candidate(tmp_path)
    (tmp_path / "a.txt").write_text("edited while it ran\n")  # someone's work, not the agent's
    assert drop_candidate(git, "t", pre_head) is None
    assert git.head() == pre_head and (tmp_path / "kernels.py").read_text() == "old\n"
    assert (tmp_path / "a.txt").read_text() == "edited while it ran\n"
    # kernels.py itself edited meanwhile: kept off-branch before the tree is reset.
    (tmp_path / "kernels.py").write_text("candidate\n")
    git.run("commit", "-q", "-am", "experiment(t): candidate 2")
    (tmp_path / "kernels.py").write_text("edited while it ran\n")
    kept = drop_candidate(git, "t", pre_head)
    assert kept and git.show(kept, "kernels.py") == "edited while it ran\n"
    assert git.rev(f"{REF_PREFIX}/t/{kept}") == kept
    assert git.head() == pre_head and git.status() == []


def test_an_interrupted_experiment_keeps_edits_made_elsewhere_and_its_own_record_off_branch(
    tmp_path,
):
    git, pre_head = with_candidate(tmp_path)
    candidate = git.head()
    step = {"pre_head": pre_head, "target": "t", "candidate": candidate, "phase": "bench"}
    (tmp_path / "a.txt").write_text("edited while it ran\n")  # someone's work, not the agent's
    text, finished = undo_experiment(git, step)
    assert not finished and text == f"reset to {pre_head[:12]} (candidate kept as {candidate[:12]})"
    assert git.head() == pre_head and (tmp_path / "kernels.py").read_text() == "old\n"
    assert (tmp_path / "a.txt").read_text() == "edited while it ran\n"
    # Killed during its record: what it wrote to the tree goes, kept off-branch with the rest.
    git.run("checkout", "-q", "--", "a.txt")
    git.run("reset", "-q", "--hard", candidate)
    (tmp_path / "a.txt").write_text("a row half appended\n")
    (tmp_path / "results.json").write_text("{}")
    step.update(phase="record", created=["results.json"])
    text, finished = undo_experiment(git, step)
    kept = text.rsplit("kept as ", 1)[1].rstrip(")")
    assert git.show(kept, "a.txt") == "a row half appended\n" and git.show(kept, "results.json")
    assert git.head() == pre_head and git.status() == []


def test_run_tree_echoes_output_and_kills_the_whole_tree_at_its_time_limit(tmp_path, capsys):
    seen = []
    # The child starts a grandchild that would outlive it, then hangs.
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    done = run_tree(
        [sys.executable, "-c", script], cwd=tmp_path, timeout=3.0, progress=Progress(),
        tag="child", env=child_env(), on_start=seen.append,
    )  # fmt: skip
    assert done.timed_out and done.returncode is None and done.seconds < 30
    grandchild = int(done.output.split()[0])
    assert "child| " in capsys.readouterr().out
    assert seen[0]["pid"] > 0 and seen[-1] is None  # journaled while it ran, cleared after
    end = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < end:
        time.sleep(0.05)
    assert not alive(grandchild)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_children_do_not_inherit_the_paired_runs_secrets(monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_SPEED_SALT", "secret")
    monkeypatch.setenv("AUTORESEARCH_AB_BASELINE", "abc")
    env = child_env()
    assert "AUTORESEARCH_SPEED_SALT" not in env and "AUTORESEARCH_AB_BASELINE" not in env
    assert env["PYTHONUNBUFFERED"] == "1"


def test_a_held_lock_refuses_and_a_dead_owners_lock_is_recovered_from_its_journal(tmp_path, capsys):
    git = make_repo(tmp_path)
    start = git.head()
    lock = Lock.acquire(tmp_path, "experiment", Progress())
    lock.journal(kind="experiment", target="t", phase="checks", pre_head=None)
    with pytest.raises(Refused, match="another experiment holds"):
        Lock.acquire(tmp_path, "loop", Progress())
    # The owner dies after committing a candidate: the journal names it and where it started.
    (tmp_path / "a.txt").write_text("candidate\n")
    git.run("commit", "-qam", "experiment(t): candidate")
    candidate = git.head()
    lock.journal(phase="correctness", pre_head=start, candidate=candidate, created=[])
    held = json.loads((state_dir(tmp_path) / LOCK_FILE).read_text())
    held.update(pid=2**22 + 1, create_time=0.0)  # no such process
    (state_dir(tmp_path) / LOCK_FILE).write_text(json.dumps(held))
    taken = Lock.acquire(tmp_path, "loop", Progress())
    assert "stale lock" in capsys.readouterr().out
    assert git.head() == start and (tmp_path / "a.txt").read_text() == "a\n"
    assert git.rev(f"refs/autoresearch/t/{candidate}") == candidate  # kept off-branch
    taken.release()
    assert not (state_dir(tmp_path) / LOCK_FILE).exists()


def test_progress_outlives_a_reader_that_went_away():
    read, write = os.pipe()
    os.close(read)  # `| head` exited: every write now fails with EPIPE
    stream = os.fdopen(write, "w")
    progress = Progress(stream)
    progress.say("first line")  # raised BrokenPipeError before, aborting the restore
    progress.phase("restore")
    assert progress.stream is None  # dropped: later lines cost nothing and raise nothing
    with contextlib.suppress(OSError):
        stream.close()


def test_a_restore_cut_short_keeps_the_journal_for_the_next_run(tmp_path):
    git = make_repo(tmp_path)
    start = git.head()
    lock = Lock.acquire(tmp_path, "experiment", Progress())
    (tmp_path / "a.txt").write_text("candidate\n")
    git.run("commit", "-qam", "experiment(t): candidate")
    lock.journal(kind="experiment", target="t", phase="gate", pre_head=start, candidate=git.head())

    class Broken(Progress):
        def phase(self, name, detail=""):
            raise KeyboardInterrupt  # anything that stops the restore before it is done

    signals = Signals().install()
    try:
        with pytest.raises(KeyboardInterrupt):
            restore_after(lock, signals, Broken())
    finally:
        signals.uninstall()
    lock.release()  # what the command's `finally` does: a no-op now
    held = json.loads((state_dir(tmp_path) / LOCK_FILE).read_text())  # the journal stays ...
    held.update(pid=2**22 + 1, create_time=0.0)  # ... after its owner is gone
    (state_dir(tmp_path) / LOCK_FILE).write_text(json.dumps(held))
    Lock.acquire(tmp_path, "loop", Progress()).release()  # the next run restores from it
    assert git.head() == start and (tmp_path / "a.txt").read_text() == "a\n"


def test_only_the_paired_benchmarks_refusals_count_as_guard_errors():
    from autoresearch.harness.asvrun import guard_errors

    output = (
        "[  1.0s] bench| ValueError: a kernel's own error\n"
        "[  9.0s] bench| autoresearch.harness.timed_check.WrongWhileTimedError: stale output\n"
    )
    assert guard_errors(output) == [
        "autoresearch.harness.timed_check.WrongWhileTimedError: stale output"
    ]


def test_the_gates_json_reads_back_into_the_block_it_prints_without_it():
    from autoresearch import gate
    from autoresearch.harness import decide, pairstats
    from autoresearch.harness.verdict import gate_lines, read_gate_json, repeated_lines

    combos = [
        pairstats.Combo("PqL2/(1,2)/a", 0.91, 0.9, 0.92, 12, "faster", 0.01, 0.0012),
        pairstats.Combo("PqL2/(1,2)/b", 1.02, 0.99, 1.05, 12, "same", 0.02, None),
    ]
    d = gate.Decision(
        "keep", decide.KEEP, "pq_l2", "c" * 40, "b" * 40, 0.95, 0.94, 0.96, combos,
        [decide.Reason("min_gain", True, "a gain"), decide.Reason("noise", False, "quiet")],
    )  # fmt: skip
    d.targets = [gate.undecided("other", "c", "b", "input", "no results")]
    warning = "numpy: RuntimeWarning: something\n"
    read, before = read_gate_json(warning + json.dumps(gate.to_json(d), indent=1) + "\n")
    assert before == warning
    assert gate_lines(read) == gate.format_block(d).splitlines()
    assert read.worst.label == "PqL2/(1,2)/b" and read.exit_code == decide.KEEP
    repeated = repeated_lines(read)
    assert repeated[:2] == ["gate_decision: keep", f"gate_exit_code: {decide.KEEP}"]
    assert not [ln for ln in repeated if ln.startswith(("target:", "candidate:", "baseline:"))]
    assert read_gate_json("Traceback ...\nKeyError: x\n") == (None, "Traceback ...\nKeyError: x\n")


def test_the_gate_command_prints_the_same_verdict_with_and_without_json(tmp_path):
    from autoresearch.harness.verdict import gate_args, gate_lines, read_gate_json

    args = gate_args(
        "pq_l2", "0" * 40, "0" * 40, confirmed=False, repair=True,
        confirmation=str(tmp_path / "none.json"),
    )  # fmt: skip
    run = [sys.executable, *args, "--results", str(tmp_path)]
    with_json = subprocess.run(run, capture_output=True, text=True)
    text = subprocess.run([a for a in run if a != "--json"], capture_output=True, text=True)
    verdict, _ = read_gate_json(with_json.stdout)
    assert verdict is not None and verdict.exit_code == with_json.returncode == text.returncode
    assert gate_lines(verdict) == text.stdout.splitlines()


def finished(returncode, output, timed_out=False):
    from autoresearch.harness.procs import Finished

    return Finished(returncode, output, timed_out, 0.0, 1.0)


def test_the_oracles_verdict_needs_its_exit_code_and_its_own_lines():
    from autoresearch.harness.oraclerun import baseline_failures, judge

    assert judge(finished(0, "x\ncorrectness: pass\n")) is None
    assert judge(finished(0, "exited early, status 0\n"))[0] == "crash"  # no verdict line
    assert judge(finished(2, "failure: mismatch: case 1\n")) == (
        "fail", ["failure: mismatch: case 1"],
    )  # fmt: skip
    assert judge(finished(2, "failure: raised: IndexError\n"))[0] == "crash"
    assert judge(finished(-11, "")) == ("crash", ["correctness subprocess killed by SIGSEGV"])
    assert judge(finished(None, "", timed_out=True))[0] == "timeout"
    assert baseline_failures(finished(2, "failure: state: x\n")) == ["failure: state: x"]
    assert baseline_failures(finished(0, "correctness: pass\n")) == []
    assert baseline_failures(finished(1, "Traceback\n")) is None


def test_the_baseline_verdict_cache_is_keyed_on_the_whole_harness_not_on_file_names(tmp_path):
    from autoresearch.harness.oraclerun import verdict_cache

    package = tmp_path / "autoresearch"
    (package / "pq_l2").mkdir(parents=True)
    (package / "pq_l2" / "program.md").write_text("Allowed imports: numpy\n")
    (package / "pq_l2" / "kernels.py").write_text("# the candidate\n")
    (package / "oracle.py").write_text("# checks\n")
    key = verdict_cache(tmp_path, "pq_l2", b"kernel")
    assert verdict_cache(tmp_path, "pq_l2", b"other kernel") != key
    (package / "pq_l2" / "kernels.py").write_text("# another candidate\n")
    assert verdict_cache(tmp_path, "pq_l2", b"kernel") == key  # the candidate is not the key
    (package / "harness").mkdir()
    (package / "harness" / "static_check.py").write_text("# moved out of oracle.py\n")
    moved = verdict_cache(tmp_path, "pq_l2", b"kernel")
    assert moved != key
    (package / "pq_l2" / "program.md").write_text("Allowed imports: numpy, math\n")
    assert verdict_cache(tmp_path, "pq_l2", b"kernel") not in (key, moved)


def test_the_chain_check_watches_what_defines_a_target_and_nothing_else():
    """A change to any of these between the baseline and HEAD refuses the target's experiments
    until a re-baseline (checks.check_head): its package, the shared modules it imports, and every
    file under benchmarks/ but the other targets' suites (a shared helper module included)."""
    from pathlib import Path

    from autoresearch import PACKAGE_DIR
    from autoresearch.harness.checks import _defines_target, shared_modules

    repo = Path(PACKAGE_DIR).parent
    assert shared_modules(repo, "take") == {"autoresearch/arrow_layouts.py"}
    assert shared_modules(repo, "bm25") == {"autoresearch/sorted_sets.py"}
    assert shared_modules(repo, "pq_l2") == set()
    shared = shared_modules(repo, "take")
    watched = [
        "autoresearch/take/inputs.py",
        "autoresearch/arrow_layouts.py",
        "benchmarks/bench_take.py",
        "benchmarks/__init__.py",
        "benchmarks/_copy_roofs.py",  # a helper module the suites would share
    ]
    free = [
        "benchmarks/bench_fsst.py",
        "autoresearch/sorted_sets.py",
        "autoresearch/common.py",
        "autoresearch/harness/decide.py",
        "docs/targets/take.md",
        "results/experiments/take.tsv",
    ]
    assert all(_defines_target(p, "take", shared) for p in watched)
    assert not any(_defines_target(p, "take", shared) for p in free)


def test_a_planted_bytecode_file_runs_until_the_experiment_drops_it(tmp_path):
    """git ignores __pycache__, so the tree check cannot see a .pyc planted there; Python runs it
    instead of the source when its header carries the source's modification time and size. The
    experiment removes those folders before any child imports the harness (drop_bytecode)."""
    import importlib.util
    import marshal

    from autoresearch.harness.checks import drop_bytecode

    package = tmp_path / "autoresearch"
    (package / "harness").mkdir(parents=True)
    source = package / "harness" / "verdict_rule.py"
    source.write_text("PASS = 1\n")
    stat = source.stat()
    planted = Path(importlib.util.cache_from_source(str(source)))
    planted.parent.mkdir()
    header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += int(stat.st_mtime).to_bytes(4, "little") + (stat.st_size & 0xFFFFFFFF).to_bytes(
        4, "little"
    )
    planted.write_bytes(header + marshal.dumps(compile("PASS = 2\n", str(source), "exec")))
    (tmp_path / "benchmarks" / "__pycache__").mkdir(parents=True)
    kept = tmp_path / "notes" / "__pycache__"
    kept.mkdir(parents=True)
    sourceless = tmp_path / "json.pyc"  # first on a child's path: it would shadow json
    sourceless.write_bytes(planted.read_bytes())
    environment = tmp_path / ".venv" / "lib" / "x.pyc"
    environment.parent.mkdir(parents=True)
    environment.write_bytes(b"")

    def imported() -> str:
        code = "import sys; sys.path[:0] = sys.argv[1:]; import verdict_rule as v; print(v.PASS)"
        return subprocess.run(
            [sys.executable, "-c", code, str(source.parent)], capture_output=True, text=True
        ).stdout.strip()

    assert imported() == "2"  # the planted code, not the source
    assert drop_bytecode(tmp_path) == 3
    assert not planted.parent.exists() and kept.exists()  # only the code's folders
    assert not sourceless.exists() and environment.exists()
    assert imported() == "1"


def test_every_command_module_stays_thin():
    """Issue 19's layout: a command (`python -m autoresearch.X`) is at most 600 lines; what grows
    goes into a library module under autoresearch/harness/."""
    from pathlib import Path

    from autoresearch import PACKAGE_DIR

    commands = [
        p for p in Path(PACKAGE_DIR).glob("*.py") if 'if __name__ == "__main__":' in p.read_text()
    ]
    assert len(commands) >= 10, commands
    long = {p.name: n for p in commands if (n := len(p.read_text().splitlines())) > 600}
    assert not long, long
