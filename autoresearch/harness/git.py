"""The harness's one git wrapper: run, rev-parse, show, status, with agents' hooks switched off."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from autoresearch.harness.errors import HarnessError

GIT = ("git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false")  # no agent hooks


class Git:
    def __init__(self, repo: Path):
        self.repo = Path(repo)

    def run(
        self, *args: str, check: bool = True, env: dict | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*GIT, *args], cwd=cwd or self.repo, capture_output=True, text=True, env=env
        )
        if check and proc.returncode != 0:
            raise HarnessError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).stdout.strip()

    def head(self) -> str:
        return self.out("rev-parse", "HEAD")

    def rev(self, rev: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def parent(self, rev: str) -> str | None:
        return self.rev(f"{rev}^")

    def subject(self, rev: str) -> str:
        return self.out("log", "-1", "--format=%s", rev)

    def show(self, rev: str, path: str) -> str | None:
        """The file `path` as committed at `rev`; None if it is not there."""
        proc = self.run("show", f"{rev}:{path}", check=False)
        return None if proc.returncode else proc.stdout

    def status(self, cwd: Path | None = None, *paths: str) -> list[tuple[str, str]]:
        """(XY, path) of every change git reports, untracked files one by one, ignored excluded."""
        raw = self.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths, cwd=cwd
        ).stdout
        entries, fields = [], raw.split("\0")
        i = 0
        while i < len(fields):
            item = fields[i]
            i += 1
            if not item:
                continue
            xy, path = item[:2], item[3:]
            if xy[0] in "RC":  # a rename carries its source path in the next field
                path = f"{fields[i]} -> {path}"
                i += 1
            entries.append((xy, path))
        return entries

    def tracked(self, rev: str, path: str) -> bool:
        return self.run("cat-file", "-e", f"{rev}:{path}", check=False).returncode == 0


def ensure_git_identity(repo: Path) -> None:
    """Experiments commit; on a fresh machine with no git identity, commit as the harness."""
    probe = subprocess.run(
        ["git", "config", "user.email"], cwd=repo, capture_output=True, text=True
    )
    if probe.stdout.strip():
        return
    for role in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{role}_NAME", "lance-autoresearch")
        os.environ.setdefault(f"GIT_{role}_EMAIL", "autoresearch@localhost")


def _rev(repo: Path, spec: str) -> str | None:
    proc = subprocess.run(["git", "rev-parse", spec], cwd=repo, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def other_kernel(repo: Path, parent: str, baseline: str, targets: list[str]) -> str | None:
    """The first of the targets' kernels.py paths whose git blob at `baseline` is not the one at
    `parent` (the A/B benchmark pairs a commit's kernel with its first parent's), else None.
    The one comparison behind the gate's and bench.py's check of a baseline."""
    for t in targets:
        path = f"autoresearch/{t}/kernels.py"
        if _rev(repo, f"{parent}:{path}") != _rev(repo, f"{baseline}:{path}"):
            return path
    return None
