"""Child processes: live output, a time limit, the whole tree killed on timeout or interrupt.

A process is named by its identity (pid and start time), so a journal can name the running child
and a later run kill it without hitting a process that reused the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from autoresearch.harness.progress import Progress

POLL_SECS = 0.05
TAIL_LINES = 15  # output lines repeated when a subprocess dies
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
MAX_LEFTOVER_SCANS = 1000  # kill_leftovers' rescans: a fork bomb is stopped a round at a time


@dataclass
class Finished:
    returncode: int | None  # None: killed (time limit)
    output: str
    timed_out: bool
    peak_rss_mb: float
    seconds: float

    @property
    def signal_name(self) -> str | None:
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None

    def tail(self, n: int = TAIL_LINES) -> list[str]:
        return self.output.splitlines()[-n:]


def process_identity(pid: int) -> dict | None:
    try:
        return {"pid": pid, "create_time": psutil.Process(pid).create_time()}
    except psutil.Error:
        return None


def same_process(identity: dict | None) -> psutil.Process | None:
    """The live process an identity names (pid reuse and zombies do not count), or None."""
    if not identity:
        return None
    try:
        proc = psutil.Process(identity["pid"])
        if abs(proc.create_time() - identity["create_time"]) > 0.01:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (psutil.Error, KeyError, TypeError):
        return None


def kill_tree(identity: dict | None) -> None:
    """SIGKILL a process, its descendants and its process group (it was started in its own)."""
    proc = same_process(identity)
    if proc is None:
        return
    try:
        victims = [*proc.children(recursive=True), proc]
    except psutil.Error:
        victims = [proc]
    for p in victims:
        with contextlib.suppress(psutil.Error):
            p.kill()
    with contextlib.suppress(OSError):
        os.killpg(identity["pid"], signal.SIGKILL)


def run_tree(
    cmd: list[str] | str,
    *,
    cwd: Path,
    timeout: float,
    progress: Progress,
    tag: str,
    env: dict | None = None,
    stdin_text: str | None = None,
    on_start: Callable[[dict | None], None] | None = None,
    echo: bool = True,
) -> Finished:
    """Run `cmd` in a new session, echo its output line by line, kill its whole tree at `timeout`.

    The child gets its own session, so a terminal's Ctrl-C reaches only us and we kill the tree
    ourselves, in order. Peak RSS comes from wait4 (the child and the descendants it waited for).
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        shell=isinstance(cmd, str),
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,
    )
    identity = process_identity(proc.pid) or {"pid": proc.pid, "create_time": 0.0}
    lines: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line)
            if echo:
                progress.say(f"{tag}| {line.rstrip()}")

    def feed() -> None:
        with contextlib.suppress(OSError):  # the child may exit without reading its input
            proc.stdin.write(stdin_text)
            proc.stdin.close()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if stdin_text is not None:
        threading.Thread(target=feed, daemon=True).start()
    deadline = start + max(0.0, timeout)
    timed_out, status, rusage = False, None, None
    try:
        if on_start:
            on_start(identity)  # may fail (a full disk): the child is killed below
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                timed_out = True
                kill_tree(identity)
                _, status, rusage = os.wait4(proc.pid, 0)
                break
            time.sleep(POLL_SECS)
    except BaseException:
        kill_tree(identity)
        with contextlib.suppress(ChildProcessError):
            os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
        raise
    finally:
        with contextlib.suppress(OSError):  # leftovers of the session (e.g. asv's workers)
            os.killpg(proc.pid, signal.SIGKILL)
        reader.join(timeout=5)
        if on_start:
            with contextlib.suppress(OSError):
                on_start(None)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        None if timed_out else proc.returncode,
        "".join(lines),
        timed_out,
        rusage.ru_maxrss / 1024 if rusage else 0.0,
        time.monotonic() - start,
    )


def adopt_orphans() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux): a process a child leaves
    running, in a session of its own or double-forked, becomes this process's child instead of
    init's, so `kill_leftovers` finds it. False where the system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants() -> set[tuple[int, float]]:
    """(pid, start time) of every live descendant of this process."""
    with contextlib.suppress(psutil.Error):
        return {_key(p) for p in psutil.Process().children(recursive=True)} - {None}
    return set()


def kill_leftovers(spare: set[tuple[int, float]] = frozenset()) -> list[str]:
    """SIGKILL every descendant of this process but those in `spare` (`descendants()` taken
    before the child that may have left them started), and reap them. What was killed, as
    "pid: command" lines (or the process group, where none of it was seen alive).

    A leftover may fork anew all the time, its parent exiting each time (a new pid every few
    milliseconds, each the only one alive). So each one found alive is stopped at once (SIGSTOP:
    it forks no more), the process group of each one found, alive or exited, is killed (a fork
    keeps the group: those not seen yet go too), and the table is read again, lean (/proc, not
    psutil's objects, which a 10 ms forker outran), until a read finds none alive and none
    exited: an exited one is reaped (zombies of ours would fill the process table) and means
    another read, as its child may have started after the table's list of pids was taken."""
    me, own_group = os.getpid(), os.getpgrp()
    spared = {pid for pid, _ in spare}
    stopped: dict[int, str] = {}
    killed_groups: set[int] = set()
    groups_seen_alive: set[int] = set()
    for _ in range(MAX_LEFTOVER_SCANS):
        table = _process_table()
        live, exited = [], 0
        for pid in _descendants_in(table, me):
            if pid in spared and _key_of(pid) in spare:
                continue
            state, _, group = table[pid]
            if state == "Z":  # one that exited since: its child may be newer than the table
                exited += 1
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)  # ours (the subreaper's): reaped
            elif pid not in stopped:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGSTOP)
                stopped[pid] = _command(pid)
                live.append(pid)
                groups_seen_alive.add(group)
            if group not in (own_group, me) and group not in spared:
                with contextlib.suppress(OSError):
                    os.killpg(group, signal.SIGKILL)  # what forked from it too
                killed_groups.add(group)
        if not live and not exited:
            break
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    for pid in stopped:  # reaped where they are ours; the others their parents reap
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break
            time.sleep(POLL_SECS)
    lines = [f"{pid}: {cmd}" for pid, cmd in stopped.items()]
    unseen = sorted(killed_groups - groups_seen_alive)
    return lines + [f"process group {g} (its members seen only as exited)" for g in unseen]


def _process_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent pid, process group), from /proc/<pid>/stat."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read().decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            table[int(name)] = (fields[0], int(fields[1]), int(fields[2]))
    return table


def _descendants_in(table: dict[int, tuple[str, int, int]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, frontier = [], list(children.get(root, []))
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier += children.get(pid, [])
    return found


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return "?"


def _key_of(pid: int) -> tuple[int, float] | None:
    try:
        return _key(psutil.Process(pid))
    except psutil.Error:
        return None


def _key(p: psutil.Process) -> tuple[int, float] | None:
    try:
        return p.pid, p.create_time()
    except psutil.Error:
        return None
