"""Shared by tests/test_experiment.py and tests/test_loop.py: disposable clones, running commands.

The experiment and the loop commit, reset and write results/, so they only ever run in a clone
made here, never in the repository the tests come from (other work and results/ history live
there). The clone gets the source's working tree as one extra commit, so the tests exercise the
code on disk, not only what was committed.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

SOURCE = Path(__file__).resolve().parents[2]
AGENTS = Path(__file__).resolve().parent
PATCHES = AGENTS / "patches"
TARGET = "pq_l2"
KERNELS = f"autoresearch/{TARGET}/kernels.py"
LOG = f"results/experiments/{TARGET}.tsv"
LOCK = ".autoresearch/lock.json"

# One combination: enough to reach every phase fast. The gate cannot keep such a run (the other
# combinations are unmeasured), which the tests rely on only where they say so.
ONE_COMBO = r"^bench_pq_l2\.PqL2\.\w+\(\(128, 16, 256\), 'uniform'\)"


# Commits in the clones need an identity; CI machines may have none configured.
IDENTITY = {
    "GIT_AUTHOR_NAME": "autoresearch tests", "GIT_AUTHOR_EMAIL": "tests@autoresearch.invalid",
    "GIT_COMMITTER_NAME": "autoresearch tests", "GIT_COMMITTER_EMAIL": "tests@autoresearch.invalid",
}  # fmt: skip


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **IDENTITY}
    )
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc.stdout.strip()


def make_clone(dest: Path) -> Path:
    git(dest.parent, "clone", "-q", str(SOURCE), str(dest))
    # asv's environment (a virtualenv with numpy and numba: a download and ~15 s to make) is
    # shared with the source clone, as a linked worktree shares its main clone's; asv re-clones
    # its checkout when a test clone's commits are not in it.
    (SOURCE / ".asv").mkdir(exist_ok=True)
    (dest / ".asv").symlink_to(SOURCE / ".asv", target_is_directory=True)
    listed = git(SOURCE, "ls-files", "-z", "-m", "-o", "--exclude-standard").split("\0")
    deleted = set(git(SOURCE, "ls-files", "-z", "-d").split("\0"))
    for rel in filter(None, listed):
        src, dst = SOURCE / rel, dest / rel
        if rel in deleted or not src.is_file():
            dst.unlink(missing_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    git(dest, "add", "-A")
    if git(dest, "status", "--porcelain"):
        git(dest, "commit", "-q", "-m", "test: the source repository's working tree")
    # The scenarios start from the first kernel with no experiment history: the patches are
    # written against it, and the project's own logs (whatever its loop kept) are not theirs.
    shutil.copyfile(PATCHES / "base.py", dest / KERNELS)
    for path in (dest / LOG).parent.glob("*"):
        path.unlink()
    git(dest, "add", "-A")
    if git(dest, "status", "--porcelain"):
        git(dest, "commit", "-q", "-m", "test: the scripted agent's base kernel, a fresh log")
    return dest


def apply_patch(repo: Path, name: str) -> None:
    shutil.copyfile(PATCHES / f"{name}.py", repo / KERNELS)


def state(repo: Path) -> dict:
    """What a failed or interrupted experiment must leave exactly as it found it."""
    log = repo / LOG
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "log": log.read_bytes() if log.exists() else None,
        "worktrees": git(repo, "worktree", "list", "--porcelain").count("worktree "),
        "results": sorted(str(p.relative_to(repo)) for p in (repo / "results").rglob("*")),
        "kernels": (repo / KERNELS).read_bytes(),
        "lock": (repo / LOCK).exists(),
    }


def log_rows(repo: Path) -> list[dict]:
    lines = (repo / LOG).read_text().splitlines() if (repo / LOG).exists() else []
    return [dict(zip(lines[0].split("\t"), ln.split("\t"), strict=True)) for ln in lines[1:]]


def environ(**extra: str) -> dict:
    out = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTORESEARCH_") or k == "AUTORESEARCH_MACHINE"
    }
    out.update(IDENTITY)
    out.update(extra)
    return out


class Run:
    """A harness command running in a clone, its output read line by line in the background."""

    def __init__(self, repo: Path, args: list[str], env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=repo,
            env=env or environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, marker: str, timeout: float = 300) -> None:
        """Block until an output line contains `marker` (fail after `timeout` or at exit)."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                line = None if time.monotonic() >= end else ""
            if line is None:
                self.proc.kill()
                raise AssertionError(f"no {marker!r} in:\n{self.text()[-6000:]}")
            self.lines.append(line)
            if marker in line:
                return

    def signal(self, sig: int = signal.SIGINT) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 600) -> int:
        end = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                tail = self.text()[-6000:]
                raise AssertionError(f"still running after {timeout}s:\n{tail}") from None
            if line is None:
                break
            self.lines.append(line)
        return self.proc.wait()

    def text(self) -> str:
        return "".join(self.lines)

    def block(self) -> dict:
        """The final `key: value` block (first value of each key)."""
        text = self.text()
        tail = text[text.rfind("\n---\n") + 5 :] if "\n---\n" in text else ""
        out: dict = {}
        for line in tail.splitlines():
            key, sep, value = line.partition(": ")
            if sep:
                out.setdefault(key, value)
        return out


def gone(pid: int, seconds: float = 10) -> bool:
    """The process exited (or is a zombie) within `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def run(repo: Path, args: list[str], env: dict | None = None, timeout: float = 600) -> Run:
    r = Run(repo, args, env)
    r.finish(timeout)
    return r


def experiment(repo: Path, message: str, env: dict | None = None, timeout: float = 600) -> Run:
    return run(repo, ["autoresearch.experiment", TARGET, "-m", message], env, timeout)


def journal(repo: Path) -> dict:
    return json.loads((repo / LOCK).read_text())


@contextlib.contextmanager
def tiny_tmpfs(path: Path, kib: int = 16):
    """A real full disk: a tmpfs of `kib` KiB mounted at `path` (root only)."""
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise PermissionError(proc.stderr.strip() or "mount failed")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
