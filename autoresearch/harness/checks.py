"""The checks that make an experiment refuse, changing nothing (exit 4).

The tree: only the target's kernels.py may differ from HEAD, and it must (HARNESS.md's CAN /
CANNOT table). HEAD: it must be where the last experiment of the target left it (the chain of
experiments, `chain_of`; a re-baseline starts it again, autoresearch.rebaseline). And what git
does not see: `drop_bytecode` empties the ignored `__pycache__` folders of the code the
experiment's children import.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autoresearch.harness.errors import Refused
from autoresearch.harness.git import Git
from autoresearch.harness.layout import kernels_relpath, log_relpath
from autoresearch.harness.runlog import baseline_of, committed_log

# The folders of the code an experiment's children import from the repository's tree (the oracle
# runs there; asv runs in a fresh worktree, which asv's checkout cleans).
CODE_FOLDERS = ("autoresearch", "benchmarks")
# Where the environments live (their packages' bytecode is theirs), and git's own folder.
ENVIRONMENT_FOLDERS = (".git", ".venv", "venv", ".asv")
REBASELINE_COMMAND = 'python -m autoresearch.rebaseline {target} -m "why"'
UNCHANGED = "is unchanged: nothing to test"  # the refusal of an edit that changed nothing


@dataclass
class Chain:
    """Where a target's chain of experiments stands at HEAD (check_head, rebaseline.py)."""

    head: str
    recorded: str | None  # the log's baseline as written; None: no experiment yet
    base: str | None  # that commit resolved; None: no experiment yet, or not in this repository
    descends: bool = True  # HEAD descends from base
    moved: list[str] = field(default_factory=list)  # files defining the target changed since base
    lost_lines: bool = False  # the log lost lines since base (it is append-only)


def chain_of(git: Git, target: str) -> Chain:
    head = git.head()
    recorded = baseline_of(committed_log(git, head, target))
    base = git.rev(recorded) if recorded else None
    if base is None:
        return Chain(head, recorded, None)
    anc = git.run("merge-base", "--is-ancestor", base, head, check=False)
    shared = shared_modules(git.repo, target)
    moved = [
        p
        for p in git.out("diff", "--name-only", base, head).splitlines()
        if _defines_target(p, target, shared)
    ]
    stat = git.out("diff", "--numstat", base, head, "--", log_relpath(target))
    lost = any(line.split("\t")[1] not in ("0", "-") for line in stat.splitlines())
    return Chain(head, recorded, base, anc.returncode == 0, moved, lost)


def check_head(git: Git, target: str) -> str:
    """The baseline commit, after checking HEAD is where the last experiment of `target` left it.

    Between the baseline (the last `keep` or `epoch` row's commit, or HEAD when the log is new)
    and HEAD, nothing that defines what `target` computes and how it is timed may change: its
    package (reference, inputs, program.md; its kernels.py is the baseline's by construction) and
    its asv suite. The log only grows. Harness fixes, docs and other targets may land between
    experiments: the paired A/B run times both kernels with the same current harness, and the gate
    fails closed if the benchmark's asv version differs from the baseline's. A change that is meant
    (a fixed suite, workload or oracle rule) is followed by `python -m autoresearch.rebaseline`,
    which appends an `epoch` row: the chain starts again at its commit.
    """
    c = chain_of(git, target)
    if c.recorded is None:
        return c.head
    if c.base is None:
        raise Refused([f"the log's baseline {c.recorded} is not a commit of this repository"])
    problems = []
    if not c.descends:
        problems.append(f"HEAD {c.head[:12]} does not descend from the baseline {c.base[:12]}")
    if c.moved:
        problems.append(
            f"HEAD is not where the last experiment of {target} left it: since the baseline "
            f"{c.base[:12]} these files that define {target}'s workload changed: "
            f"{', '.join(c.moved[:10])}"
        )
    if c.lost_lines:
        problems.append(f"{log_relpath(target)} lost lines since {c.base[:12]} (append-only)")
    if problems:
        problems.append("experiments chain on the last kept commit: commit nothing by hand")
        if not c.lost_lines:
            problems.append(
                "if the change was meant (a fixed suite, workload or oracle rule), whoever made "
                f"it starts the chain again at HEAD: {REBASELINE_COMMAND.format(target=target)}"
            )
        raise Refused(problems)
    return c.base


# autoresearch/ modules that are the harness, not a target's data: a fix there may land between
# experiments (the paired run times both kernels with the same current harness).
HARNESS_MODULES = ("oracle", "common", "harness", "heldout", "integrity", "abtest", "__init__")


def shared_modules(repo: Path, target: str) -> set[str]:
    """The autoresearch/ modules outside the harness that the target's package imports (the
    layouts and samplers targets share: arrow_layouts.py, sorted_sets.py), as repository paths."""
    from autoresearch import TARGETS

    out = set()
    for source in sorted((repo / "autoresearch" / target).glob("*.py")):
        try:
            tree = ast.parse(source.read_text())
        except (OSError, SyntaxError, ValueError):
            continue  # kernels.py mid-edit: the oracle reports it; it imports no shared module
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if len(parts) >= 2 and parts[0] == "autoresearch":
                    module = parts[1]
                    if module not in HARNESS_MODULES and module not in TARGETS:
                        path = f"autoresearch/{module}.py"
                        if (repo / path).is_file():
                            out.add(path)
    return out


def _defines_target(path: str, target: str, shared: set[str]) -> bool:
    # What the target computes (its package and the shared modules it imports) and how it is
    # timed (everything under benchmarks/ but the other targets' suites: its suite, the suites'
    # shared __init__ and any helper module). Other targets' experiments, harness fixes and docs
    # may land in between.
    from autoresearch import TARGETS

    if path.startswith(f"autoresearch/{target}/") or path in shared:
        return True
    others = {f"benchmarks/bench_{t}.py" for t in TARGETS if t != target}
    return path.startswith("benchmarks/") and path not in others


def _asv_output(path: str, xy: str) -> bool:
    """What a plain `asv run` leaves in the tree: result files and its machine file (untracked or
    rewritten), and its rewritten benchmark list."""
    parts = path.split("/")
    if xy not in ("??", " M") or parts[0] != "results" or not path.endswith(".json"):
        return False
    return path == "results/benchmarks.json" or len(parts) == 3


def check_tree(git: Git, target: str) -> None:
    """Only kernels.py may differ from HEAD, and it must (the CAN / CANNOT table)."""
    kernels = kernels_relpath(target)
    problems = []
    changed = False
    for xy, path in git.status():
        if path == kernels and xy in (" M", "M ", "MM"):
            changed = True
            continue
        if _asv_output(path, xy):
            continue  # a plain `asv run` wrote it: results, not code (the record never takes it)
        what = {"??": "untracked", " D": "deleted", "D ": "deleted (staged)"}.get(xy)
        if what is None:
            what = "changed (staged)" if xy[1] == " " else "changed"
        problems.append(f"{what}: {path} (only {kernels} may change)")
    path = git.repo / kernels
    if path.is_symlink() or not path.is_file():
        problems.append(f"{kernels} must be a regular file")
    elif changed and git.run("diff", "--quiet", "HEAD", "--", kernels, check=False).returncode == 0:
        changed = False
    if not changed and not problems:
        problems.append(f"{kernels} {UNCHANGED}")
    if problems:
        raise Refused(problems)


def drop_bytecode(repo: Path) -> int:
    """Remove every `__pycache__` folder under CODE_FOLDERS and every `.pyc`/`.pyo` file in the
    tree outside ENVIRONMENT_FOLDERS; how many. git ignores both, so check_tree cannot see one
    planted there: Python runs a .pyc whose header matches its source's modification time and
    size instead of the source, and a sourceless one (`numpy.pyc` beside the children's working
    directory, first on their path) as a module (found by reviews in session 47). The children
    then compile the harness from its source again (a fraction of a second)."""
    dropped = 0
    for folder in CODE_FOLDERS:
        for cache in sorted((repo / folder).rglob("__pycache__")):
            if cache.is_dir() and not cache.is_symlink():
                shutil.rmtree(cache, ignore_errors=True)
                dropped += 1
            elif cache.exists() or cache.is_symlink():
                cache.unlink()  # a file or a link in its place: Python would follow it
                dropped += 1
    for top in repo.iterdir():
        if top.name in ENVIRONMENT_FOLDERS or top.is_symlink():
            continue
        found = [top] if top.is_file() else top.rglob("*") if top.is_dir() else []
        for path in found:
            if path.suffix in (".pyc", ".pyo") and (path.is_file() or path.is_symlink()):
                path.unlink()
                dropped += 1
    return dropped
