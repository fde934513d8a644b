"""A candidate's local archive, .autoresearch/runs/<target>/<sha12>/ (git-ignored), for
post-mortems: its children's outputs and, when it was not kept, its asv results, which never
enter results/ (the published history holds kept commits only)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from autoresearch.harness.errors import HarnessError
from autoresearch.harness.git import Git
from autoresearch.harness.layout import RUNS, state_dir


class Archive:
    def __init__(self, repo: Path, target: str, candidate: str):
        self.path = state_dir(repo) / RUNS / target / candidate[:12]

    def save(self, name: str, text: str) -> None:
        with contextlib.suppress(OSError):
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)

    def keep_results(self, git: Git, worktree: Path) -> None:
        """The asv results a run left in `worktree` (what git sees changed under results/)."""
        if not worktree.exists():
            return
        with contextlib.suppress(OSError, HarnessError):
            for _, rel in git.status(worktree, "results"):
                dst = self.path / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(worktree / rel, dst)
