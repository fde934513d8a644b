"""The experiment log, results/experiments/<target>.tsv: its one reader and its writer.

Tab-separated, a header of LOG_COLUMNS once, then one row per experiment, `refused` attempt (the
loop) or `epoch` (autoresearch.rebaseline); append-only, never rewritten, every row fsynced.

The reader is strict for the harness (a log it appends to or chains on must be the writer's
format) and, with `lenient=True`, reads what report.py charts: logs of older layouts (columns
in another order, fewer columns, no `baseline`) and a last row cut short by a killed writer.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
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
# rows by autoresearch.rebaseline only (the chain starts again at that commit). The order is the
# order report.py draws them in (epoch last: drawn as lines, not points).
DECISIONS = ("keep", "discard", "undecided", "crash", "timeout", "fail", "refused", "epoch")
BASELINE_DECISIONS = ("keep", "epoch")  # a row with one of these makes its commit the baseline
# What an old log must still have to be read leniently (the others read as "").
LENIENT_COLUMNS = ("decision", "geomean_ratio", "description")


def timestamp() -> str:
    """Now, as the log (and the lock) write it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def clean_field(value: object) -> str:
    return re.sub(r"[\t\r\n]+", " ", str(value)).strip()


def log_row(
    commit: str | None,
    baseline: str | None,
    target: str,
    decision: str,
    description: str,
    *,
    correctness: str = "",
    verdict=None,
    peak_mem_mb: float | None = None,
    seconds: float | None = None,
) -> dict:
    """One row of the log (LOG_COLUMNS): the gate's numbers from `verdict` (a decide.Decision,
    at the precision the gate prints), "nan" for every number there is none of."""
    worst, best = (verdict.worst, verdict.best) if verdict else (None, None)

    def num(x: float | None, spec: str = ".4f") -> str:
        return "nan" if x is None else f"{x:{spec}}"

    return {
        "commit": commit or "", "baseline": baseline or "", "timestamp": timestamp(),
        "target": target, "correctness": correctness,
        "geomean_ratio": num(verdict and verdict.geomean_ratio),
        "ci_lo": num(verdict and verdict.geomean_ci_lo),
        "ci_hi": num(verdict and verdict.geomean_ci_hi),
        "worst_ratio": num(worst and worst.ratio), "worst_combo": worst.label if worst else "",
        "best_ratio": num(best and best.ratio), "best_combo": best.label if best else "",
        "peak_mem_mb": num(peak_mem_mb, ".0f"), "seconds": num(seconds, ".1f"),
        "decision": decision, "description": description,
    }  # fmt: skip


def parse_log(
    text: str, where: str, lenient: bool = False, warn: Callable[[str], None] | None = None
) -> list[dict]:
    """The rows, by column name. Anything but the writer's format (other columns, a row with
    another number of fields, an unknown decision) raises HarnessError naming the line.
    `lenient`: as _parse_old; `warn` then hears of what was skipped."""
    if lenient:
        return _parse_old(text, where, warn or (lambda message: None))
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


def _parse_old(text: str, where: str, warn: Callable[[str], None]) -> list[dict]:
    """Columns in any order, any subset holding LENIENT_COLUMNS (the missing ones read as ""),
    CRLF line ends, blank lines; the writer ends every row with a newline, so a last line without
    one was cut short by a killed writer: it is skipped with a warning. A row with another number
    of fields than the header, or an unknown decision, still raises HarnessError naming the line.
    Each row also has `line`, its line number, for the caller's own messages."""
    if not text.strip():
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    elif len(lines) > 1:
        warn(f"{where}:{len(lines)}: last line is incomplete (a killed writer?), ignored")
        lines.pop()
    header = lines[0].rstrip("\r").split("\t")
    missing = [c for c in LENIENT_COLUMNS if c not in header]
    if missing:
        raise HarnessError(f"{where}:1: header lacks column(s) {', '.join(missing)}")
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != len(header):
            raise HarnessError(
                f"{where}:{lineno}: {len(fields)} tab-separated fields, the header has "
                f"{len(header)} (a tab or newline inside a description?)"
            )
        row = {**dict.fromkeys(LOG_COLUMNS, ""), **dict(zip(header, fields, strict=True))}
        row["decision"], row["line"] = row["decision"].strip(), lineno
        if row["decision"] not in DECISIONS:
            raise HarnessError(f"{where}:{lineno}: unknown decision {row['decision']!r}")
        rows.append(row)
    return rows


def read_log(
    path: Path, lenient: bool = False, warn: Callable[[str], None] | None = None
) -> list[dict]:
    """The rows of the log at `path` (none if there is none), as parse_log."""
    if not path.exists():
        return []
    return parse_log(path.read_text(encoding="utf-8"), str(path), lenient, warn)


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
