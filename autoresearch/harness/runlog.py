"""The experiment log, results/experiments/<target>.tsv: its one reader (strict) and its writer.

Tab-separated, a header of LOG_COLUMNS once, then one row per experiment, `refused` attempt (the
loop) or `epoch` (autoresearch.rebaseline); append-only, never rewritten, every row fsynced.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from autoresearch.harness.errors import HarnessError
from autoresearch.harness.git import Git
from autoresearch.harness.layout import log_relpath

# The log's columns, in order. Readers go by name; `baseline` is the commit the ratios are
# relative to (the previous kept commit), so a row can be read without replaying the log.
LOG_COLUMNS = (
    "commit", "baseline", "timestamp", "target", "correctness", "geomean_ratio", "ci_lo", "ci_hi",
    "worst_ratio", "worst_combo", "best_ratio", "best_combo", "peak_mem_mb", "seconds", "decision",
    "description",
)  # fmt: skip
# `refused` rows are written by the loop only (an agent's edit outside the CAN table), `epoch`
# rows by autoresearch.rebaseline only (the chain starts again at that commit). report.DECISIONS
# is the same set (tests/test_rebaseline.py checks it).
DECISIONS = ("keep", "discard", "undecided", "fail", "crash", "timeout", "refused", "epoch")
BASELINE_DECISIONS = ("keep", "epoch")  # a row with one of these makes its commit the baseline


def timestamp() -> str:
    """Now, as the log (and the lock) write it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def clean_field(value: object) -> str:
    return re.sub(r"[\t\r\n]+", " ", str(value)).strip()


def parse_log(text: str, where: str) -> list[dict]:
    """The rows, by column name. Anything but the writer's format (other columns, a row with
    another number of fields, an unknown decision) raises HarnessError naming the line."""
    lines = text.splitlines()
    if not lines:
        return []
    header = tuple(lines[0].split("\t"))
    if header != LOG_COLUMNS:
        raise HarnessError(
            f"{where} has columns {header}, not {LOG_COLUMNS}; the log is never rewritten: "
            "move it aside by hand"
        )
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(LOG_COLUMNS):
            raise HarnessError(
                f"{where}:{lineno}: {len(fields)} tab-separated fields, not {len(LOG_COLUMNS)}"
            )
        row = dict(zip(LOG_COLUMNS, fields, strict=True))
        if row["decision"] not in DECISIONS:
            raise HarnessError(f"{where}:{lineno}: unknown decision {row['decision']!r}")
        rows.append(row)
    return rows


def read_log(path: Path) -> list[dict]:
    return parse_log(path.read_text(), str(path)) if path.exists() else []


def format_rows(rows: list[dict]) -> list[str]:
    """Rows as the log holds them: the header line, then one line per row."""
    return ["\t".join(LOG_COLUMNS), *("\t".join(r[c] for c in LOG_COLUMNS) for r in rows)]


def append_row(path: Path, row: dict) -> str:
    """Append one row (the header first if the file is new): one write, fsynced.

    On failure (a full disk) the bytes this call added are cut off again, so the log never holds
    half a row; that is the only truncation the log ever sees.
    """
    read_log(path)  # refuses a log with other columns
    line = "\t".join(clean_field(row.get(c, "")) for c in LOG_COLUMNS) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        data = (line if size else "\t".join(LOG_COLUMNS) + "\n" + line).encode()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            os.fsync(fd)
            if not existed:
                path.unlink(missing_ok=True)
            raise
    finally:
        os.close(fd)
    return line.rstrip("\n")


def committed_log(git: Git, rev: str, target: str) -> list[dict]:
    """The log as committed at `rev` (a working copy edited by hand does not count)."""
    text = git.show(rev, log_relpath(target))
    return [] if text is None else parse_log(text, f"{log_relpath(target)} at {rev[:12]}")


def baseline_of(rows: list[dict]) -> str | None:
    """The commit the next experiment is measured against: the last `keep` or `epoch` row's
    commit (an epoch, autoresearch.rebaseline, starts the chain again at its commit). Before any,
    the chain's start: the commit the rows were measured against (their `baseline` column)."""
    for row in reversed(rows):
        if row.get("decision") in BASELINE_DECISIONS:
            return row.get("commit") or None
    return (rows[-1].get("baseline") or None) if rows else None
