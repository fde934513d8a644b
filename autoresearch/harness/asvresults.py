"""asv result files: where they are, their one name, and one reader.

asv writes one file per machine, commit and environment, results/<machine>/<commit8>-<env>.json
(format version 2: `result_columns` names the cells of every row of `results`); a machine's
folder holds its machine.json. Everything in the harness that builds such a name or parses such
a file does it here, so a file that is valid JSON but no result file reads the same everywhere:
"not an asv result file (why)".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR = "results"  # in the repository: committed history
MACHINE_FILE = "machine.json"
FORMAT_VERSION = 2
REQUIRED_COLUMNS = ("result", "params", "version", "started_at", "samples")  # what the gate reads


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


def machine(data: dict) -> str:
    """The machine name asv recorded the results under (its params), "" when they name none."""
    name = (data.get("params") or {}).get("machine")
    return name if isinstance(name, str) else ""


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


# ---------------------------------------------------------------------------
# Rows as benchmarks (by result_columns name, never by position)
# ---------------------------------------------------------------------------


@dataclass
class Bench:
    """One benchmark's row of a result file, per parameter combination."""

    name: str
    params: list  # [[repr, ...], ...] per parameter
    version: str
    started_at: float | None  # JS milliseconds
    results: list  # per combination: number, None (failed) or NaN (skipped)
    samples: list | None  # per combination: list of numbers or None; None: not recorded

    @property
    def combos(self) -> list[tuple]:
        return list(product(self.params))


def product(params: list) -> list[tuple]:
    # asv's order: itertools.product over the parameters, the last varying fastest.
    out = [()]
    for values in params:
        out = [(*prefix, v) for prefix in out for v in values]
    return out


def read_bench(name: str, cells: dict) -> Bench:
    # asv drops trailing empty columns: a missing cell means None.
    params = cells.get("params")
    if not isinstance(params, list) or not all(isinstance(p, list) for p in params):
        raise NotAResultFile(f"{name}: malformed params {params!r}")
    n = len(product(params))
    results, samples = cells.get("result"), cells.get("samples")
    if not params:  # unparameterized: one combination, stored unwrapped
        results, samples = [results], None if samples is None else [samples]
    if results is None:
        results = [None] * n  # asv collapses all-failed to null
    if not isinstance(results, list) or len(results) != n:
        raise NotAResultFile(f"{name}: {n} parameter combinations but result is {results!r:.80}")
    if samples is not None and (not isinstance(samples, list) or len(samples) != n):
        raise NotAResultFile(f"{name}: samples do not match its {n} parameter combinations")
    version = cells.get("version")
    if not isinstance(version, str) or not version:
        raise NotAResultFile(f"{name}: no benchmark version")
    started = cells.get("started_at")
    return Bench(name, params, version, started if is_number(started) else None, results, samples)


def benches(data: object, what: str) -> dict[str, Bench]:
    """Every benchmark of a parsed asv result file by name (NotAResultFile: one is unreadable)."""
    columns = check(data, what)["result_columns"]
    if not all(c in columns for c in REQUIRED_COLUMNS):
        raise NotAResultFile(f"{what}: result_columns {columns!r} lack {REQUIRED_COLUMNS}")
    return {name: read_bench(name, cells) for name, cells in rows(data, what)}


def is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def finite(x: object) -> bool:
    return is_number(x) and math.isfinite(x)


def cell_state(x: object) -> str:
    if x is None:
        return "null (failed)"
    if is_number(x) and math.isnan(x):
        return "NaN (skipped)"
    return repr(x)


def target_benches(by_name: dict[str, Bench], target: str) -> dict[str, Bench]:
    """The target's main benchmarks (bench_T.Class.method); *Peers classes are informational."""
    prefix = f"bench_{target}."
    out = {}
    for name, bench in by_name.items():
        parts = name.split(".")
        if name.startswith(prefix) and len(parts) == 3 and not parts[1].endswith("Peers"):
            out[name] = bench
    return out


def targets_in(by_name: dict[str, Bench]) -> set[str]:
    names = set()
    for name in by_name:
        parts = name.split(".")
        if len(parts) == 3 and parts[0].startswith("bench_") and not parts[1].endswith("Peers"):
            names.add(parts[0].removeprefix("bench_"))
    return names


def combo_label(cls: str, combo: tuple) -> str:
    # Compact and space-free so an agent can grep it: PqL2/(128,16,256)/clustered
    return "/".join([cls, *(re.sub(r"[\s'\"]", "", v) for v in combo)])
