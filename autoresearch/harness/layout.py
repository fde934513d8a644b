"""Where the harness keeps things: the git-ignored state folder, the refs, the experiment logs."""

from __future__ import annotations

from pathlib import Path

STATE_DIR = ".autoresearch"  # git-ignored: lock, journal, worktrees, local archives
LOCK_FILE = "lock.json"  # the repository lock, which is also the journal of the running step
WORKTREES = "worktrees"
RUNS = "runs"  # per candidate: oracle and gate output, and a discarded one's asv results
BASELINE_VERDICTS = "baseline-oracle"  # the current oracle's verdict on a baseline kernel
REF_PREFIX = "refs/autoresearch"  # refs/autoresearch/<target>/<sha>: every candidate, kept or not
LOG_DIR = "results/experiments"


def state_dir(repo: Path) -> Path:
    return Path(repo) / STATE_DIR


def log_relpath(target: str) -> str:
    return f"{LOG_DIR}/{target}.tsv"


def kernels_relpath(target: str) -> str:
    return f"autoresearch/{target}/kernels.py"
