"""The repository lock, which is also the journal that lets a later run undo a killed one.

One experiment, loop or re-baseline at a time holds .autoresearch/lock.json. The file names its
owner (pid and process start time: a reused pid is not the owner) and, written ahead of each step,
what a later run needs to undo that step if the owner dies: the HEAD it started from, the
candidate commit, the files it created, the child process running. A run that finds the lock of
a dead owner takes it over and undoes its step first (harness.recovery).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from autoresearch.harness.errors import Refused
from autoresearch.harness.files import write_json_atomic
from autoresearch.harness.layout import LOCK_FILE, state_dir
from autoresearch.harness.procs import process_identity, same_process
from autoresearch.harness.progress import Progress
from autoresearch.harness.recovery import recover
from autoresearch.harness.runlog import timestamp


class Lock:
    """Exclusive use of one repository by one experiment, loop or re-baseline, with a journal of
    its current step (the module's docstring says what it holds)."""

    def __init__(self, repo: Path, data: dict):
        self.repo = Path(repo)
        self.path = state_dir(repo) / LOCK_FILE
        self.data = data

    @classmethod
    def acquire(cls, repo: Path, owner: str, progress: Progress) -> Lock:
        path = state_dir(repo) / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        me = process_identity(os.getpid())
        data = {**me, "owner": owner, "started_at": timestamp(), "step": None}
        for _ in range(5):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                held = read_json(path)
                if held is not None and same_process(held):
                    reason = f"{describe_holder(path, held)}: wait for it or stop it"
                    raise Refused([reason]) from None
                # Stale: its owner died. Take it over by rename, so one process recovers it.
                grabbed = path.with_name(f"{LOCK_FILE}.stale.{os.getpid()}")
                try:
                    os.replace(path, grabbed)
                except FileNotFoundError:
                    continue
                try:
                    recover(repo, read_json(grabbed) or {}, progress)
                except BaseException:
                    with contextlib.suppress(OSError):  # keep the journal for the next attempt
                        os.link(grabbed, path)
                    raise
                finally:
                    grabbed.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            return cls(repo, data)
        raise Refused([f"could not take {path}: it keeps changing hands"])

    def journal(self, **step) -> None:
        """Record the current step (write-ahead: before doing what it describes)."""
        if "phase" in step and step["phase"] is None:  # the step is over
            self.data["step"] = None
        else:
            self.data["step"] = {**(self.data.get("step") or {}), **step}
        write_json_atomic(self.path, self.data)

    def step(self) -> dict:
        return self.data.get("step") or {}

    def release(self) -> None:
        held = read_json(self.path)
        if held and held.get("pid") == self.data["pid"]:
            self.path.unlink(missing_ok=True)


def live_holder(repo: Path) -> dict | None:
    """The lock's contents if a live process holds `repo`'s lock, else None (no lock, or its
    owner died: the next experiment recovers it)."""
    held = read_json(state_dir(repo) / LOCK_FILE)
    return held if held is not None and same_process(held) else None


def describe_holder(path: Path, held: dict) -> str:
    step = (held.get("step") or {}).get("phase")
    return (
        f"another {held.get('owner', 'process')} holds {path} (pid {held['pid']}, since "
        f"{held.get('started_at')}, step {step})"
    )


def phase_of(lock: Lock | None) -> str:
    """The phase a run was in when it stopped ("start" before its first journaled step)."""
    return (lock.step().get("phase") if lock else None) or "start"


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
