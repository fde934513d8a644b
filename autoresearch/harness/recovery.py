"""Putting the repository back: after a failure, an interrupt, or an owner killed mid-step.

Every candidate commit stays reachable from refs/autoresearch/<target>/<sha>, kept or not; an
agent's changes that the loop throws away are kept there first too.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from autoresearch.harness.errors import HarnessError
from autoresearch.harness.git import Git
from autoresearch.harness.layout import REF_PREFIX, state_dir
from autoresearch.harness.procs import kill_tree
from autoresearch.harness.progress import Progress
from autoresearch.harness.signals import Signals
from autoresearch.harness.worktrees import remove_worktrees

if TYPE_CHECKING:
    from autoresearch.harness.lock import Lock  # which imports this module


def save_ref(git: Git, target: str, sha: str) -> None:
    git.run("update-ref", f"{REF_PREFIX}/{target}/{sha}", sha)


def is_record_commit(git: Git, rev: str, target: str, candidate: str) -> bool:
    """`rev` is the commit that recorded `candidate`'s experiment (the experiment finished)."""
    return git.subject(rev).startswith(f"results({target}): ") and candidate[:12] in git.subject(
        rev
    )


def snapshot(git: Git, target: str, message: str, base: str) -> str | None:
    """Keep the work tree's state (not ignored files) off-branch, under a ref; None if it is `base`.

    The loop uses it to keep what an agent did (edits, even its own commits) before throwing it
    away from the work tree: a clean tree at a moved HEAD is kept as that HEAD.
    """
    head = git.head()
    dirty = bool(git.status())
    if not dirty:
        if head == base:
            return None
        save_ref(git, target, head)
        return head
    index = state_dir(git.repo) / f"snapshot-index.{os.getpid()}"
    index.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", "HEAD", env=env)
        git.run("add", "-A", env=env)
        tree = git.out("write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    sha = git.out("commit-tree", tree, "-p", head, "-m", message)
    save_ref(git, target, sha)
    return sha


def drop_candidate(git: Git, target: str, pre_head: str) -> str | None:
    """HEAD (the candidate commit) back to `pre_head`, keeping edits someone made to the tree while
    the experiment ran: `reset --keep` moves only the files the candidate changed (kernels.py).
    When one of those was edited too, the tree is kept off-branch first (its sha), then reset hard:
    nothing is lost either way (a hard reset lost a user's edits to docs/ and tests/ made during a
    discarded A/A, 2026-12-05)."""
    if git.run("reset", "-q", "--keep", pre_head, check=False).returncode == 0:
        return None
    kept = snapshot(git, target, f"discard({target}): the tree edited while it ran", pre_head)
    git.run("reset", "-q", "--hard", pre_head)
    return kept


def undo_agent(git: Git, target: str, pre_head: str, why: str) -> tuple[str, str | None]:
    """Back to `pre_head` with a clean tree, keeping the agent's changes off-branch first.

    Whatever the agent did to the branch (commits, even a reset) is kept under a ref first, so
    resetting to `pre_head` loses nothing.
    """
    kept = snapshot(git, target, f"{why}({target}): the agent's changes", pre_head)
    git.run("reset", "-q", "--hard", pre_head)
    git.run("clean", "-q", "-f", "-d")  # untracked files the agent made (ignored ones stay)
    text = f"reset the agent's changes to {pre_head[:12]}"
    return text + (f" (kept as {kept[:12]})" if kept else ""), kept


def undo_experiment(git: Git, step: dict) -> tuple[str, bool]:
    """(what was done, whether the experiment had in fact finished)."""
    pre_head, target, phase = step.get("pre_head"), step.get("target", ""), step.get("phase")
    if not pre_head or phase in (None, "checks"):
        return "nothing to undo", False
    head = git.head()
    candidate = step.get("candidate")
    if candidate is None and head != pre_head and git.parent(head) == pre_head:
        if git.subject(head).startswith(f"experiment({target}): "):
            candidate = head  # committed just before the owner died, unjournaled
    if candidate and head != pre_head and is_record_commit(git, head, target, candidate):
        return "the experiment had finished; nothing to undo", True
    if head not in (pre_head, candidate):
        raise HarnessError(
            f"HEAD is {head}, neither the experiment's start {pre_head} nor its candidate "
            f"{candidate}: someone else moved it; not touching the repository"
        )
    if candidate is None and phase == "commit":
        return "the candidate was never committed; nothing to undo", False
    if candidate:
        save_ref(git, target, candidate)
    if phase == "record":
        # The record writes results, the log and README into the tree itself: those go, so the
        # tree is kept off-branch first (with anyone's edits made meanwhile), then reset hard.
        tree = snapshot(git, target, f"interrupted({target}): the tree during its record", head)
        git.run("reset", "-q", "--hard", pre_head)
        for rel in step.get("created", []):
            if not git.tracked("HEAD", rel):
                (git.repo / rel).unlink(missing_ok=True)
    else:  # the experiment worked in worktrees: only its candidate commit moves back
        tree = drop_candidate(git, target, pre_head)
    kept = f" (candidate kept as {candidate[:12]})" if candidate else ""
    if tree and tree != candidate:
        kept += f" (the tree as it was kept as {tree[:12]})"
    return f"reset to {pre_head[:12]}{kept}", False


def restore(git: Git, step: dict, progress: Progress) -> str:
    """Undo an unfinished step so HEAD and the tree are as before it. Returns what was done.

    An experiment: before its candidate commit nothing was changed (the agent's edit stays);
    after it, HEAD goes back to the starting commit keeping edits made meanwhile
    (drop_candidate); during its record, the tree is kept off-branch, reset hard, and the files
    it created removed. One whose record commit exists had finished and is left alone. A
    re-baseline likewise (rebaseline.undo_rebaseline). Inside a loop (`loop_pre_head`), the
    agent's changes go too (kept off-branch): the loop never leaves the tree dirty.
    """
    kill_tree(step.get("child"))
    remove_worktrees(git)
    done, finished = [], False
    if step.get("kind") == "experiment":
        text, finished = undo_experiment(git, step)
        done.append(text)
    elif step.get("kind") == "rebaseline":  # its journal's own step: autoresearch/rebaseline.py
        from autoresearch.rebaseline import undo_rebaseline

        text, finished = undo_rebaseline(git, step)
        done.append(text)
    if step.get("loop_pre_head") and not finished:
        done.append(undo_agent(git, step.get("target", ""), step["loop_pre_head"], "abandoned")[0])
    return "; ".join(done) or "nothing to undo"


def recover(repo: Path, held: dict, progress: Progress) -> None:
    """Undo the step of a lock whose owner died (kill -9, power loss)."""
    step = held.get("step") or {}
    git = Git(repo)
    progress.say(
        f"stale lock: pid {held.get('pid')} ({held.get('owner')}, since "
        f"{held.get('started_at')}) died during {step.get('kind', '?')} phase "
        f"{step.get('phase')}; recovering"
    )
    wait_index_lock(git)
    done = restore(git, step, progress)
    progress.say(f"recovered: {done}")


def wait_index_lock(git: Git, seconds: float = 10.0) -> None:
    index_lock = Path(git.out("rev-parse", "--git-path", "index.lock"))
    if not index_lock.is_absolute():
        index_lock = git.repo / index_lock
    end = time.monotonic() + seconds
    while index_lock.exists() and time.monotonic() < end:
        time.sleep(0.2)  # a git process orphaned by the kill may still be finishing
    if index_lock.exists():
        raise HarnessError(f"{index_lock} remains from a killed git; remove it by hand")


def restore_after(lock: Lock | None, signals: Signals, progress: Progress) -> str:
    """Undo the lock's journaled step after a failure or an interrupt; signals wait until it is
    done. When the restore itself fails, the journal stays for the next run to retry."""
    if lock is None:
        return "nothing to undo"
    with signals.shielded():
        try:
            progress.phase("restore")
            done = restore(Git(lock.repo), lock.step(), progress)
        except BaseException as exc:
            # Anything short of a finished restore leaves the journal: the next run retries it.
            lock.release = lambda: None
            if not isinstance(exc, (HarnessError, OSError)):
                raise
            done = f"RESTORE FAILED: {exc}; the journal {lock.path} is kept for the next run"
            progress.say(done)
            return done
        with contextlib.suppress(OSError):
            lock.journal(phase=None)
        progress.say(f"restored: {done}")
        return done
