"""The experiment's git worktrees (.autoresearch/worktrees/<name>): made for a benchmark run,
removed when the experiment ends or is undone. They share the clone's asv environment."""

from __future__ import annotations

import shutil
from pathlib import Path

from autoresearch.harness.git import Git
from autoresearch.harness.layout import WORKTREES, state_dir
from autoresearch.harness.signals import Signals


def worktree_path(repo: Path, name: str) -> Path:
    return state_dir(repo) / WORKTREES / name


def add_worktree(git: Git, name: str, commit: str, signals: Signals) -> Path:
    """A fresh detached worktree of `commit` (an old one of that name is removed first)."""
    path = worktree_path(git.repo, name)
    if path.exists():
        git.run("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
        git.run("worktree", "prune", check=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with signals.critical():
        git.run("worktree", "add", "--detach", "--force", str(path), commit)
    return path


def remove_worktrees(git: Git) -> None:
    root = state_dir(git.repo) / WORKTREES
    if root.exists():
        for wt in sorted(root.iterdir()):
            if git.run("worktree", "remove", "--force", str(wt), check=False).returncode:
                shutil.rmtree(wt, ignore_errors=True)
    git.run("worktree", "prune", check=False)
