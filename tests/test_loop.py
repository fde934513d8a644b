"""Many experiments (autoresearch.loop) driven by a scripted agent, end to end in clones.

The scripted agent (tests/agents/scripted_agent.py) applies one prepared patch per iteration:
faster, slower, wrong, segfault, forbidden file, benchmark edit, its own commit, nothing, a
failure, or a long sleep. test_loop_keeps_faster_and_discards_slower (marked slow: three full asv
runs, 2 minutes on a quiet 2-core VM, 7 on a busy one) is the only end-to-end proof that the
gate's real keep is committed with its results and its real discard leaves results/ untouched.
"""

from __future__ import annotations

import json
import signal
import sys

import psutil
import pytest
from agents.fixtures import (
    KERNELS,
    LOCK,
    LOG,
    PATCHES,
    TARGET,
    Run,
    environ,
    git,
    gone,
    log_rows,
    make_clone,
    state,
)

from autoresearch.experiment import EXIT_REFUSED
from autoresearch.harness.runlog import LOG_COLUMNS, append_row
from autoresearch.loop import EXIT_DONE, EXIT_IDLE, LOG_ROWS_IN_PROMPT, MAX_IDLE, build_prompt

INTERRUPTED = 128 + signal.SIGINT


@pytest.fixture
def repo(tmp_path):
    return make_clone(tmp_path / "repo")


def loop(repo, plan: str, *extra: str, env: dict | None = None) -> Run:
    agent = f"{sys.executable} tests/agents/scripted_agent.py {plan}"
    return Run(repo, ["autoresearch.loop", TARGET, "--agent", agent, *extra], env)


def clean(repo, head: str) -> None:
    after = state(repo)
    assert after["status"] == "", after["status"]
    assert not after["lock"] and after["worktrees"] == 1
    # Every commit since `head` is a record commit: results/ and the README table it feeds; the
    # code is as it was.
    assert (
        git(repo, "diff", "--name-only", head, "HEAD", "--", ".", ":!results", ":!README.md") == ""
    )


def test_the_prompt_shows_the_logs_header_and_its_last_rows(tmp_path):
    (tmp_path / "autoresearch" / "t").mkdir(parents=True)
    (tmp_path / "HARNESS.md").write_text("the contract")
    (tmp_path / "autoresearch" / "t" / "program.md").write_text("the target")
    assert "(no experiments yet)" in build_prompt(tmp_path, "t", None, 1)
    log = tmp_path / "results" / "experiments" / "t.tsv"
    for n in range(LOG_ROWS_IN_PROMPT + 2):
        append_row(log, {c: f"{c}{n}" for c in LOG_COLUMNS} | {"decision": "discard"})
    prompt = build_prompt(tmp_path, "t", "---\ndecision: keep", 3)
    lines = log.read_text().splitlines()
    table = "\n".join([lines[0], *lines[-LOG_ROWS_IN_PROMPT:]])
    assert f"# The last {LOG_ROWS_IN_PROMPT} rows of results/experiments/t.tsv" in prompt
    assert f"```\n{table}\n```" in prompt and "commit1\t" not in prompt
    assert "decision: keep" in prompt and "the contract" in prompt and "the target" in prompt


@pytest.mark.slow
def test_loop_records_every_bad_outcome_and_stays_clean(repo, tmp_path):
    start = git(repo, "rev-parse", "HEAD")
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    plan = "wrong,segfault,forbidden,benchmark,commit,nothing,fail"
    r = loop(repo, plan, "--iterations", "7", env=environ(SCRIPTED_AGENT_RECORD=str(prompts)))
    assert r.finish() == EXIT_DONE, r.text()
    rows = log_rows(repo)
    assert [row["decision"] for row in rows] == ["fail", "crash", "refused", "refused", "refused"]
    assert all(row["baseline"] == start for row in rows)
    clean(repo, start)
    assert (repo / KERNELS).read_text() == git(repo, "show", f"{start}:{KERNELS}") + "\n"

    # A refused attempt is kept off-branch, whole: what the agent did is there to review.
    forbidden, benchmark, committed = rows[2], rows[3], rows[4]
    assert "reference.py" in forbidden["description"] and "notes.txt" in forbidden["description"]
    changed = git(repo, "diff", "--name-only", f"{forbidden['commit']}^", forbidden["commit"])
    changed = changed.splitlines()
    assert sorted(changed) == sorted([KERNELS, f"autoresearch/{TARGET}/reference.py", "notes.txt"])
    assert "benchmarks/bench_pq_l2.py" in benchmark["description"]
    assert "HEAD is not where" in committed["description"]
    assert git(repo, "log", "-1", "--format=%s", committed["commit"]) == "commit it myself"
    assert (
        git(repo, "diff", "--name-only", f"{committed['commit']}^", committed["commit"]) == KERNELS
    )
    for row in rows:
        assert git(repo, "cat-file", "-t", f"refs/autoresearch/{TARGET}/{row['commit']}")

    # The prompt: HARNESS.md, program.md, the log so far, and the last outcome.
    second = (prompts / "prompt-2.md").read_text()
    assert "## CAN / CANNOT" in second and "Allowed imports" in second
    assert rows[0]["commit"] in second and "stop the scan one sub-vector early" in second
    assert "decision: fail" in second and "failure: wrong:" in second
    assert "(no experiments yet)" in (prompts / "prompt-1.md").read_text()
    assert "loop: 7 iteration(s)" in r.text()


def test_loop_stops_when_the_agent_has_nothing_to_test(repo):
    start = git(repo, "rev-parse", "HEAD")
    r = loop(repo, "nothing,fail", "--iterations", "10")
    assert r.finish() == EXIT_IDLE, r.text()
    assert f"{MAX_IDLE} iterations in a row with nothing to test" in r.text()
    assert not (repo / LOG).exists()
    clean(repo, start)
    assert git(repo, "rev-parse", "HEAD") == start


def test_a_process_the_agent_leaves_running_is_killed_before_anything_else(repo, tmp_path):
    """Detached in a session of its own, it could edit kernels.py or the harness after the
    experiment's checks read them: the loop adopts the agent's orphans and kills them, even one
    that forks anew all the time (tests/agents/scripted_agent.py DAEMON)."""
    r = loop(repo, "daemon", "--iterations", "1", env=environ(SCRIPTED_AGENT_RECORD=str(tmp_path)))
    assert r.finish() == EXIT_DONE, r.text()
    assert "agent: left a process running, killed: " in r.text(), r.text()
    alive = [
        p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in (p.info["cmdline"] or [])
    ]
    assert all(gone(p.pid) for p in alive), [p.info for p in alive]  # none escaped to init


def test_loop_refuses_to_start_on_a_dirty_tree(repo):
    (repo / KERNELS).write_text((PATCHES / "faster.py").read_text())
    before = state(repo)
    r = loop(repo, "nothing", "--iterations", "1")
    assert r.finish() == EXIT_REFUSED, r.text()
    assert "the tree must be clean to start a loop" in r.text()
    assert state(repo) == before


def test_ctrl_c_during_the_agent_stops_it_and_drops_its_edit(repo, tmp_path):
    start = git(repo, "rev-parse", "HEAD")
    r = loop(repo, "sleep", "--iterations", "3", env=environ(SCRIPTED_AGENT_RECORD=str(tmp_path)))
    r.wait_for("scripted agent: sleeping")
    assert (repo / KERNELS).read_text() == (PATCHES / "faster.py").read_text()
    second = loop(repo, "nothing", "--iterations", "1")  # a second loop on the same repository
    assert second.finish() == EXIT_REFUSED and "holds" in second.text(), second.text()
    r.signal(signal.SIGINT)
    assert r.finish() == INTERRUPTED, r.text()
    clean(repo, start)
    assert git(repo, "rev-parse", "HEAD") == start
    assert gone(int((tmp_path / "agent.pid").read_text()))
    assert not (repo / LOG).exists()


def test_killed_loop_is_recovered_by_the_next_run(repo, tmp_path):
    start = git(repo, "rev-parse", "HEAD")
    r = loop(repo, "sleep", "--iterations", "3", env=environ(SCRIPTED_AGENT_RECORD=str(tmp_path)))
    r.wait_for("scripted agent: sleeping")
    assert json.loads((repo / LOCK).read_text())["step"]["phase"] == "agent"
    r.proc.kill()
    r.finish()
    agent_pid = int((tmp_path / "agent.pid").read_text())
    assert psutil.pid_exists(agent_pid)  # orphaned, still editing

    nxt = loop(repo, "nothing", "--iterations", "1")
    assert nxt.finish() == EXIT_DONE, nxt.text()
    assert "stale lock" in nxt.text() and "reset the agent's changes" in nxt.text()
    assert gone(agent_pid)
    clean(repo, start)
    assert git(repo, "rev-parse", "HEAD") == start
    # The killed agent's edit is kept off-branch, not lost.
    kept = nxt.text().split("kept as ")[1][:12]
    assert git(repo, "show", f"{kept}:{KERNELS}") == (PATCHES / "faster.py").read_text().strip()


@pytest.mark.slow  # three full asv runs (2-7 min on a shared VM)
def test_loop_keeps_faster_and_discards_slower(repo):
    """The real thing, full asv suite: a faster kernel is kept, a slower one discarded."""
    start = git(repo, "rev-parse", "HEAD")
    r = loop(repo, "faster,slower", "--iterations", "2")
    assert r.finish(timeout=1500) == EXIT_DONE, r.text()
    keep, discard = log_rows(repo)
    if keep["decision"] != "keep" and "noise=fail" in r.text():
        # The gate fails closed when the pairs themselves are noisy (a saturated machine): the
        # experiment then discards, as it must. Nothing to learn about keeping here.
        pytest.skip("the gate found the machine too busy to decide (its noise rule)")
    assert keep["decision"] == "keep", r.text()
    assert discard["decision"] == "discard", r.text()
    assert float(keep["geomean_ratio"]) < 0.99 and float(keep["ci_hi"]) < 1
    assert float(discard["geomean_ratio"]) > 1.2
    assert keep["baseline"] == start and discard["baseline"] == keep["commit"]
    clean(repo, keep["commit"])

    # History: start <- faster candidate <- its results <- the discard's row. Code = faster's.
    assert git(repo, "rev-parse", f"{keep['commit']}^") == start
    log = git(repo, "log", "--format=%s", f"{start}..HEAD").splitlines()
    assert log[0].startswith(f"results({TARGET}): discard {discard['commit'][:12]}")
    assert log[1].startswith(f"results({TARGET}): keep {keep['commit'][:12]}")
    assert (repo / KERNELS).read_text() == (PATCHES / "faster.py").read_text()

    # Published asv history: the kept commit, never the discarded candidate (nor the baseline:
    # its ratios live in the kept commit's file; a chain's start is benchmarked by its epoch).
    results = git(repo, "ls-files", "results").splitlines()
    for sha, published in ((start, False), (keep["commit"], True), (discard["commit"], False)):
        assert any(f"/{sha[:8]}-" in p for p in results) is published, (sha, results)
    # The discarded candidate's results are archived locally, outside results/.
    archived = repo / ".autoresearch" / "runs" / TARGET / discard["commit"][:12] / "results"
    assert any(p.name.startswith(discard["commit"][:8]) for p in archived.rglob("*.json"))
    # A decision measures what the gate reads (track_*); only the keep adds time_* (the history).
    kept_file = next(repo / p for p in results if f"/{keep['commit'][:8]}-" in p)
    kept_names = json.loads(kept_file.read_text())["results"]
    assert any(".time_" in n for n in kept_names) and any(".track_ab_" in n for n in kept_names)
    for path in archived.rglob(f"{discard['commit'][:8]}*.json"):
        assert not any(".time_" in n for n in json.loads(path.read_text())["results"]), path
