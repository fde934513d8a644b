"""asv result files: where they are, their one name, and one reader.

asv writes one file per machine, commit and environment, results/<machine>/<commit8>-<env>.json
(format version 2: `result_columns` names the cells of every row of `results`); a machine's
folder holds its machine.json. Everything in the harness that builds such a name or parses such
a file does it here, so a file that is valid JSON but no result file reads the same everywhere:
"not an asv result file (why)".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

RESULTS_DIR = "results"  # in the repository: committed history
MACHINE_FILE = "machine.json"
FORMAT_VERSION = 2


class NotAResultFile(ValueError):
    """The file cannot be read as an asv result file; the message names it and says why."""


def file_name(commit: str, env: str) -> str:
    """asv's name for `commit`'s results in environment `env` (the commit's first 8 digits)."""
    return f"{commit[:8]}-{env}.json"


def file_pattern(commit: str | None = None) -> str:
    """A glob for the result files of `commit` in any environment (of any commit if None)."""
    return f"{commit[:8]}-*.json" if commit else "*-*.json"


def path(results_dir: Path, machine: str, commit: str, env: str) -> Path:
    return results_dir / machine / file_name(commit, env)


def relpath(machine: str, commit: str, env: str) -> str:
    """The result file's path in the repository, as git names it."""
    return f"{RESULTS_DIR}/{machine}/{file_name(commit, env)}"


def relpath_regex(commit: str) -> re.Pattern[str]:
    """Matches the repository path of `commit`'s result files; group 1 is the machine."""
    return re.compile(rf"{RESULTS_DIR}/([^/]+)/{re.escape(commit[:8])}-[^/]+\.json")


def machine_dirs(results_dir: Path) -> list[Path]:
    """The machines' folders (asv skips a folder without its machine.json), sorted."""
    return sorted(p.parent for p in results_dir.glob(f"*/{MACHINE_FILE}"))


def result_files(machine_dir: Path, commit: str | None = None) -> list[Path]:
    """A machine's result files (of `commit` if given), sorted; machine.json is none."""
    found = machine_dir.glob(file_pattern(commit)) if commit else machine_dir.glob("*.json")
    return sorted(p for p in found if p.name != MACHINE_FILE)


def parse(text: str, what: str) -> dict:
    """A parsed and checked result file; raises NotAResultFile (unreadable or not one)."""
    try:
        data = json.loads(text)  # json reads asv's bare NaN
    except ValueError as exc:
        raise NotAResultFile(f"{what} is unreadable (truncated or corrupt?): {exc}") from None
    return check(data, what)


def read(file: Path, what: str | None = None) -> dict:
    """Read `file` (OSError if it cannot be opened), then as parse()."""
    what = what or str(file)
    try:
        text = file.read_text()
    except UnicodeDecodeError as exc:
        raise NotAResultFile(f"{what} is unreadable (truncated or corrupt?): {exc}") from None
    return parse(text, what)


def _shape(data: object) -> str | None:
    """What keeps `data` from having a result file's rows, or None."""
    if not isinstance(data, dict):
        return f"the top level is a JSON {type(data).__name__}, not an object"
    if not isinstance(data.get("result_columns"), list):
        return "no result_columns list"
    if not isinstance(data.get("results"), dict):
        return "no results object"
    return None


def check(data: object, what: str) -> dict:
    """`data` if it is an asv result file of the format read here, else NotAResultFile saying
    what it lacks."""
    why = _shape(data)
    if why is None and data.get("version") != FORMAT_VERSION:
        why = f"format version {data.get('version')!r}, not {FORMAT_VERSION}"
    if why is not None:
        raise NotAResultFile(f"{what}: not an asv result file ({why})")
    return data


def commit_hash(data: dict, what: str) -> str:
    commit = data.get("commit_hash")
    if not isinstance(commit, str) or not commit:
        raise NotAResultFile(f"{what}: not an asv result file (no commit_hash)")
    return commit


def rows(data: object, what: str) -> Iterator[tuple[str, dict]]:
    """(benchmark name, {column: cell}) per row, read by column name, never by position (asv
    drops trailing empty cells: a missing cell is absent here)."""
    if (why := _shape(data)) is not None:
        raise NotAResultFile(f"{what}: not an asv result file ({why})")
    columns = data["result_columns"]
    for name, row in data["results"].items():
        if not isinstance(row, list):
            raise NotAResultFile(f"{what}: {name}: result row is not a list")
        yield name, dict(zip(columns, row, strict=False))
