"""Fidelity checks: what pylance computes, compared with each target's reference and kernel.

One module per target (`autoresearch/lance_checks/<target>.py`) builds real Lance data from the
target's own input generators (a dataset, an index, a file written by Lance's writer), asks Lance
through its most direct Python API, and yields one `Check` per comparison: Lance against the
reference, Lance against the kernel, or a fact about Lance a target's contract relies on.
`datasets.py` and `pages.py` hold what several targets share (writing datasets, full-text corpora,
reading the pages of a Lance file). `python -m autoresearch.fidelity` runs them.

pylance is an optional extra (`pip install -e '.[lance]'`): nothing here imports it at module
level, and every target reports `skip` with the reason when it is missing.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from autoresearch import TARGETS

# Lance logs warnings about the checks' deliberately small indexes ("dataset is too small to
# have a meaningful index"); errors still show. Read when pylance is first imported.
os.environ.setdefault("LANCE_LOG", "error")

# The pylance release these checks were written and last run against (pyproject's `lance` extra
# pins it). Another version still runs; the report says which one answered.
PINNED_PYLANCE = "14.0.2"

OK = "ok"
MISMATCH = "MISMATCH"
SKIP = "skip"

# Who is compared with Lance: the target's reference, its kernel, or nobody (a fact about Lance
# itself that a contract or a capsule states, e.g. "Lance drops rows whose distance is NaN").
REFERENCE = "reference"
KERNEL = "kernel"
LANCE = "lance"


@dataclass(frozen=True)
class Check:
    target: str
    name: str  # what was compared, specific enough to reproduce (shape, distribution, query)
    against: str  # REFERENCE, KERNEL or LANCE
    status: str  # OK, MISMATCH or SKIP
    detail: str = ""  # the first problems of a mismatch, the reason of a skip, or a measure

    def line(self) -> str:
        """`target  against  name: ok (measure)`, `...: MISMATCH (problems)`, `...: skip (why)`."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.target:<18} {self.against:<9} {self.name}: {self.status}{detail}"

    def as_dict(self) -> dict:
        return asdict(self)


def verdict(
    target: str, name: str, against: str, problems: Iterable[str], measure: str = ""
) -> Check:
    """OK when there are no problems (with an optional measure), else MISMATCH with the first."""
    problems = [str(p) for p in problems]
    if not problems:
        return Check(target, name, against, OK, measure)
    shown = "; ".join(problems[:3]) + (
        f"; ... {len(problems) - 3} more" if len(problems) > 3 else ""
    )
    return Check(target, name, against, MISMATCH, shown)


def skipped(target: str, name: str, against: str, reason: str) -> Check:
    return Check(target, name, against, SKIP, reason)


def pylance_missing() -> str | None:
    """Why the checks cannot run here, or None when pylance and pyarrow import."""
    try:
        import lance  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as e:
        return f"pylance is not installed ({e.name}): pip install -e '.[lance]'"
    return None


def pylance_version() -> str | None:
    try:
        import lance
    except ImportError:
        return None
    return lance.__version__


@dataclass(frozen=True)
class Scale:
    """How big the Lance data is: `small` for the test suite (seconds per target), else the size
    the command uses by default (still far below the speed workloads: the question is whether the
    semantics agree, and Lance's index builds dominate the run)."""

    small: bool = False

    def pick(self, small, default):
        return small if self.small else default


CheckFunction = Callable[[Path, Scale], Iterator[Check]]


def check_function(target: str) -> CheckFunction:
    """The `checks(workdir, scale)` generator of a target's module."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
    return importlib.import_module(f"autoresearch.lance_checks.{target}").checks


def run(target: str, scale: Scale | None = None) -> list[Check]:
    """Every check of one target, in a scratch directory removed afterwards. A check that raises
    is a MISMATCH carrying the exception (a fidelity run must not pass by crashing)."""
    scale = scale or Scale()
    missing = pylance_missing()
    if missing:
        return [skipped(target, "every check", LANCE, missing)]
    checks = check_function(target)
    results: list[Check] = []
    with tempfile.TemporaryDirectory(prefix=f"lance-fidelity-{target}-") as tmp:
        try:
            results.extend(checks(Path(tmp), scale))
        except Exception as e:  # report, never hide: the run fails on it
            last = traceback.extract_tb(e.__traceback__)[-1]
            where = f"{Path(last.filename).name}:{last.lineno}"
            results.append(
                Check(target, "check raised", LANCE, MISMATCH, f"{type(e).__name__}: {e} ({where})")
            )
    return results
