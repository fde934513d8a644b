"""Experiment reports: a target's progress chart, and the README's target table.

    python -m autoresearch.report TARGET            # chart of results/experiments/TARGET.tsv
    python -m autoresearch.report TARGET --write-tracked  # ... and update the committed chart
    python -m autoresearch.report --readme          # rewrite README's generated target table
    python -m autoresearch.report --readme --check  # exit 1 if that table is not what results give

The chart (PNG and SVG) shows the speed-up over the target's first kernel
per experiment: kept experiments joined as a frontier and labelled with their descriptions,
discarded ones grey, failed ones (crash, timeout, fail, refused) as red crosses, epochs (the
chain started again by autoresearch.rebaseline, same kernel) as dotted vertical lines. It needs
matplotlib, the optional extra `plot` (pip install '.[plot]'); the table does not. It is written
beside the log, except that a log in the checkout's tree (results/experiments/) gets its chart in
the git-ignored .autoresearch/charts/ unless --write-tracked is given: drawing a chart leaves the
tree clean, and an experiment refuses to start on a dirty one.

The table's numbers and why they are taken the way they are: docs/reports.md.

Exit codes: 0 done (with --check: the table is current); 1 --check: the table is stale;
2 bad input (no log, an empty or malformed log, no README or no markers, not a git checkout);
3 matplotlib is not installed (chart only); 64 bad usage (a bad flag, an unknown target).
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from autoresearch import PACKAGE_DIR, TARGETS
from autoresearch.common import geomean
from autoresearch.harness import asvresults, cli, runlog
from autoresearch.harness.chart import EPOCH, NoMatplotlib, Point, draw_chart, epochs_note
from autoresearch.harness.errors import HarnessError

EXIT_OK = 0
EXIT_STALE = 1
EXIT_BAD_INPUT = 2
EXIT_NO_MATPLOTLIB = 3
CHART_DIR = ".autoresearch/charts"  # git-ignored: charts drawn without --write-tracked

# ---------------------------------------------------------------------------
# Constants (fixed: the README table and its --check depend on them)
# ---------------------------------------------------------------------------

# asv's results, then the runs of its former `existing` environment (legacy-results/README.md),
# still read for the peer columns until a newer run has peers.
RESULT_ROOTS = ("results", "legacy-results")
README_BEGIN = "<!-- targets:begin -->"
README_END = "<!-- targets:end -->"
PEERS_SUFFIX = "Peers"  # asv classes named *Peers time the peer libraries (informational)
# Rows of a *Peers class that time a bandwidth roof (a plain copy of the output, or the encoded
# bytes read while the decoded size is written), not a library that does the kernel's job: never
# "the best peer".
ROOF_PEERS = frozenset({"numpy copy", "numpy copy encoded->decoded"})


class ReportError(Exception):
    """Bad input the user must fix (exit 2)."""


def _warn(message: str) -> None:
    print(f"report: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------
# The experiment log: results/experiments/<target>.tsv
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    number: int  # 1-based among the log's experiments; an epoch: the experiments before it
    commit: str
    baseline: str  # the kernel it was timed against ("" when the log does not say)
    decision: str
    ratio: float  # geomean candidate/baseline time of the paired A/B run; NaN when not timed
    description: str


def log_path(repo: Path, target: str) -> Path:
    return repo / "results" / "experiments" / f"{target}.tsv"


def _parse_ratio(text: str) -> float:
    text = text.strip()
    if text == "" or text.lower() == "nan":
        return math.nan
    value = float(text)  # ValueError: the caller names the line
    if not value > 0 or math.isinf(value):
        raise ValueError(f"geomean_ratio must be a positive time ratio, got {text!r}")
    return value


def read_log(
    path: Path, target: str | None = None, warn: Callable[[str], None] = _warn
) -> list[Experiment]:
    """The experiments of a results log, read by harness.runlog's lenient reader (logs of older
    layouts; a last row cut short by a killed writer is skipped with a warning). A malformed row
    raises ReportError naming the line."""
    try:
        rows = runlog.parse_log(path.read_text(encoding="utf-8"), str(path), True, warn)
    except HarnessError as exc:
        raise ReportError(str(exc)) from None
    experiments = []
    for row in rows:
        lineno = row["line"]
        if target is not None and row["target"] not in ("", target):
            raise ReportError(f"{path}:{lineno}: a row of {row['target']!r}, not {target}")
        try:
            ratio = _parse_ratio(row["geomean_ratio"])
        except ValueError as exc:
            raise ReportError(f"{path}:{lineno}: bad geomean_ratio: {exc}") from None
        decision = row["decision"]
        # Epochs are not experiments: no number of their own (they sit after the one before).
        number = sum(e.decision != EPOCH for e in experiments) + (decision != EPOCH)
        if decision == "keep" and math.isnan(ratio):
            warn(f"{path}:{lineno}: kept experiment without a geomean_ratio, counted as 1.0")
            ratio = 1.0
        experiments.append(
            Experiment(
                number=number,
                commit=row["commit"].strip(),
                baseline=row["baseline"].strip(),
                decision=decision,
                ratio=ratio,
                description=" ".join(row["description"].split()),
            )
        )
    return experiments


def progress(experiments: Iterable[Experiment]) -> list[Point]:
    """Speed-ups over the first kernel.

    Each experiment was timed against its baseline kernel, so it sits at (its baseline's speed-up)
    / (its own ratio), and a kept one becomes the new frontier. The baseline is the log's
    `baseline` column where that names the first kernel (the first row's baseline), a kept
    experiment or an epoch, else the previous kept experiment (the order the loop runs in). An
    epoch restarts the chain on the kernel it found: its commit has the frontier's speed-up, so the
    product of the kept ratios carries across it.
    """
    frontier = 1.0
    known: dict[str, float] = {}  # commit -> speed-up, for the first kernel and kept experiments
    points = []
    for exp in experiments:
        if not points and exp.baseline:
            known[exp.baseline] = 1.0
        base = next((v for c, v in known.items() if _same_commit(c, exp.baseline)), frontier)
        speedup = base / exp.ratio  # NaN when not timed
        if exp.decision == "keep":
            frontier = speedup
            known[exp.commit] = speedup
        elif exp.decision == EPOCH and exp.commit:
            known[exp.commit] = frontier
        points.append(Point(exp.number, exp.decision, speedup, frontier, exp.description))
    return points


def chart_base(log: Path, repo: Path, write_tracked: bool) -> Path:
    """Where the chart of `log` goes (without suffix): beside the log, unless that is in the
    repository's tree and not git-ignored and `write_tracked` is false: then in the ignored
    CHART_DIR, so drawing a chart never leaves the checkout dirty (an experiment refuses to start
    on a dirty tree). The committed charts change only when asked (--write-tracked)."""
    beside = log.with_suffix("")
    if write_tracked:
        return beside
    try:
        beside.resolve().relative_to(repo.resolve())
    except ValueError:
        return beside  # outside the checkout: nobody's tracked file
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(beside.with_suffix(".png").resolve())],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    if ignored.returncode == 0:
        return beside
    return repo / CHART_DIR / beside.name


def chart(
    target: str, log: Path | None = None, repo: Path | None = None, write_tracked: bool = False
) -> list[Path]:
    """Draw the progress chart of a target's log; returns the files written (where: chart_base)."""
    repo = repo or PACKAGE_DIR.parent
    log = log or log_path(repo, target)
    if not log.exists():
        raise ReportError(
            f"no results log at {log}: run experiments first (python -m autoresearch.experiment "
            f"{target}), or give --log"
        )
    experiments = read_log(log, target)
    if all(e.decision == EPOCH for e in experiments):
        raise ReportError(f"{log} holds no experiments yet: nothing to draw")
    try:
        shown = log.resolve().relative_to(repo.resolve())
    except ValueError:
        shown = log
    base = chart_base(log, repo, write_tracked)
    base.parent.mkdir(parents=True, exist_ok=True)
    return draw_chart(target, progress(experiments), base, f"Results log: {shown}")


# ---------------------------------------------------------------------------
# asv results: which commits, which files, the peer comparison
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFile:
    path: Path
    machine: str
    commit: str
    results: dict  # benchmark name -> {column: value}, read by result_columns name


def load_result_files(
    results_dir: Path, include: Callable[[Path], bool] = lambda path: True
) -> list[ResultFile]:
    """Every asv result file under results/<machine>/ (asv skips machines without machine.json)."""
    files = []
    for machine_dir in asvresults.machine_dirs(results_dir):
        for path in asvresults.result_files(machine_dir):
            if not include(path):
                continue
            try:
                data = asvresults.read(path)
                rows = dict(asvresults.rows(data, str(path)))
                commit = asvresults.commit_hash(data, str(path))
            except (OSError, asvresults.NotAResultFile) as exc:
                _warn(f"{exc}, skipped")
                continue
            files.append(ResultFile(path, machine_dir.name, commit, rows))
    return files


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ReportError(f"{repo} is not a git checkout with commits: {proc.stderr.strip()}")
    return proc.stdout


def branch_commits(repo: Path) -> list[str]:
    """Commits reachable from HEAD, newest first (children always before their parents)."""
    return _git(repo, "rev-list", "--topo-order", "HEAD").split()


def tracked_files(repo: Path) -> set[Path]:
    """The files git tracks (committed or staged): what a fresh clone of the commit will hold."""
    return {repo / name for name in _git(repo, "ls-files", "-z").split("\0") if name}


def _combinations(row: dict) -> list[tuple[tuple[str, ...], float]]:
    """(parameter values, value) per combination; asv flattens with the last axis fastest."""
    values = row.get("result")
    params = row.get("params") or []
    if not isinstance(values, list):  # an unparameterized benchmark
        values = [values]
    combos = list(itertools.product(*params))
    return [(combo, _finite(v)) for combo, v in zip(combos, values, strict=False)]


def _finite(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan  # null: the benchmark failed
    return value if math.isfinite(value) and value > 0 else math.nan


def _split_name(name: str) -> tuple[str, str, str] | None:
    parts = name.rsplit(".", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def _peer_axis(peer_params: list, kernel_params: list) -> int | None:
    """The axis of the peer class's params that the kernel class does not have."""
    axes = [
        i
        for i in range(len(peer_params))
        if peer_params[:i] + peer_params[i + 1 :] == kernel_params
    ]
    return axes[-1] if axes else None


@dataclass(frozen=True)
class PeerComparison:
    ratio: float  # geomean over combinations of best peer time / kernel time
    winners: tuple[str, ...]  # the peers that were fastest somewhere, most often first
    machine: str
    commit: str


def _param_value(text: str) -> str:
    """asv stores parameter values as their repr: "'faiss'" -> faiss."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def peer_comparison(result: ResultFile, target: str) -> PeerComparison | None:
    """Best peer time / kernel time per workload combination, geomean, from one asv run.

    The kernel is the main class matching the Peers class (`XPeers` -> `X`, same method, the same
    params minus the peer axis), timed in the same run. None when no peer produced a time. A Peers
    class whose main class does not exist is information only (posting_intersect's simsimd count).
    """
    module = f"bench_{target}"
    ratios = []
    wins: dict[str, int] = {}
    for name, row in sorted(result.results.items()):
        parts = _split_name(name)
        if parts is None or parts[0] != module or not parts[2].startswith("time_"):
            continue
        cls = parts[1]
        if not cls.endswith(PEERS_SUFFIX):
            continue
        main_cls = cls[: -len(PEERS_SUFFIX)]
        kernel_row = result.results.get(f"{module}.{main_cls}.{parts[2]}")
        if kernel_row is None and not any(
            n.startswith(f"{module}.{main_cls}.") for n in result.results
        ):
            continue  # a Peers class with no main class at all is information only, by design
        axis = None
        if kernel_row is not None:
            axis = _peer_axis(row.get("params") or [], kernel_row.get("params") or [])
        if axis is None:
            _warn(f"{result.path}: {name} matches no {module}.{main_cls}.{parts[2]}, skipped")
            continue
        best: dict[tuple[str, ...], tuple[float, str]] = {}
        for combo, t in _combinations(row):
            key = combo[:axis] + combo[axis + 1 :]
            peer = _param_value(combo[axis])
            if (
                peer not in ROOF_PEERS
                and not math.isnan(t)
                and t < best.get(key, (math.inf, ""))[0]
            ):
                best[key] = (t, peer)
        for combo, t in _combinations(kernel_row):
            if combo in best and not math.isnan(t):
                peer_time, peer = best[combo]
                ratios.append(peer_time / t)
                wins[peer] = wins.get(peer, 0) + 1
    if not ratios:
        return None
    winners = tuple(sorted(wins, key=lambda peer: (-wins[peer], peer)))
    return PeerComparison(geomean(ratios), winners, result.machine, result.commit)


def latest_peer_comparison(
    files: list[ResultFile], commits: list[str], target: str
) -> PeerComparison | None:
    """From the newest commit on the branch whose results have peer times for the target."""
    by_commit: dict[str, list[ResultFile]] = {}
    for f in files:
        by_commit.setdefault(f.commit, []).append(f)
    for commit in commits:
        found = [c for f in by_commit.get(commit, []) if (c := peer_comparison(f, target))]
        if found:  # one commit with peer runs on several machines: the first machine by name
            return min(found, key=lambda c: c.machine)
    return None


def _same_commit(a: str, b: str) -> bool:
    n = min(len(a), len(b))
    return n >= 7 and a[:n] == b[:n]


# ---------------------------------------------------------------------------
# The README target table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    target: str
    what: str
    status: str
    vs_first: str
    vs_peer: str
    machine: str


def program_summary(package: Path) -> str:
    """What the kernel is, from program.md's first heading: `# t: <this part>`."""
    path = package / "program.md"
    if not path.exists():
        return ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            heading = line[2:].strip()
            return heading.split(":", 1)[1].strip() if ":" in heading else heading
    return ""


def target_row(
    repo: Path,
    target: str,
    files: list[ResultFile],
    commits: list[str],
    tracked: set[Path],
) -> TargetRow:
    package = repo / "autoresearch" / target
    if package / "__init__.py" not in tracked:
        return TargetRow(target, "", "not started", "n/a", "n/a", "n/a")
    log = log_path(repo, target)
    rows = read_log(log, target) if log in tracked and log.exists() else []
    experiments = [e for e in rows if e.decision != EPOCH]
    kept = [e for e in experiments if e.decision == "keep"]
    epochs = epochs_note(len(rows) - len(experiments))
    counts = f"{len(kept)} kept / {len(experiments)} experiments{epochs}"
    if kept:
        status = f"optimized ({counts})"
    elif rows:
        status = f"baseline ({counts})"
    else:
        status = "baseline"
    speedup = progress(rows)[-1].frontier if rows else 1.0  # carried across epochs
    # Where the kept experiments were measured: their asv results (the A/B ratios among them).
    machines = {f.machine for f in files for e in kept if _same_commit(f.commit, e.commit)}
    peers = latest_peer_comparison(files, commits, target)
    if peers is None:
        vs_peer = "n/a"
    else:
        vs_peer = f"{peers.ratio:.2f}× vs {'/'.join(peers.winners)} @ {peers.commit[:8]}"
        machines.add(peers.machine)
    return TargetRow(
        target,
        program_summary(package) if package / "program.md" in tracked else "",
        status,
        f"{speedup:.2f}×",
        vs_peer,
        ", ".join(sorted(machines)) or "n/a",
    )


def target_rows(repo: Path, targets: Iterable[str] = TARGETS) -> list[TargetRow]:
    """The table's rows, from the files git tracks only: untracked work in progress (a target
    package, a result file) never shows, so --check in a fresh clone sees what --readme saw."""
    tracked = tracked_files(repo)
    files = [
        f for root in RESULT_ROOTS for f in load_result_files(repo / root, tracked.__contains__)
    ]
    commits = branch_commits(repo)
    return [target_row(repo, t, files, commits, tracked) for t in targets]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(rows: list[TargetRow]) -> str:
    """The block between the README markers (without them), ending with a newline."""
    lines = [
        "<!-- Generated from results/ by `python -m autoresearch.report --readme`; do not edit. "
        "`--readme --check` fails when it is stale. How the numbers are taken: docs/reports.md. "
        "-->",
        "",
        "| target | Lance kernel | status | kernel vs first kernel | kernel vs best peer "
        "| machine |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for r in rows:
        cells = [f"`{r.target}`", r.what, r.status, r.vs_first, r.vs_peer, r.machine]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    legend = (
        "*kernel vs first kernel*: speed-up of the latest kept kernel over the target's first, "
        "the product of the kept experiments' paired A/B time ratios "
        "(`results/experiments/<target>.tsv`), across epochs (a re-baseline after the target's "
        "suite, workload or oracle changed restarts the chain on the same kernel, so the product "
        "carries over). *kernel vs best peer*: geomean over the workload "
        "of (fastest peer library's time / kernel's time), both timed in the newest asv run with "
        "peers on this branch, at the commit shown; above 1 the kernel is faster. *machine*: "
        "where those runs were recorded."
    )
    lines += ["", *textwrap.wrap(legend, width=100, break_on_hyphens=False)]
    return "\n".join(lines) + "\n"


def _split_readme(text: str, path: Path) -> tuple[str, str, str]:
    """(up to and including the begin marker's line, the block, from the end marker on)."""
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1:
        raise ReportError(f"{path} must hold exactly one {README_BEGIN} and one {README_END}")
    head, rest = text.split(README_BEGIN, 1)
    block, tail = rest.split(README_END, 1)
    if not block.startswith("\n"):
        raise ReportError(f"{path}: {README_BEGIN} must end its line")
    return head + README_BEGIN + "\n", block[1:], README_END + tail


def update_readme(repo: Path, check: bool, targets: Iterable[str] = TARGETS) -> int:
    """Rewrite (or with check, compare) README.md's generated block; returns the exit code."""
    readme = repo / "README.md"
    if not readme.exists():
        raise ReportError(f"no {readme}")
    text = readme.read_text(encoding="utf-8")
    head, current, tail = _split_readme(text, readme)
    wanted = render_table(target_rows(repo, targets))
    from autoresearch import bench

    if hint := bench.machine_hint(results=repo / "results"):
        if not (repo / "results" / bench.machine_name()).is_dir():
            _warn("no results from this machine" + hint)
    # The table reads tracked files only (target_rows): say so when a result is not yet committed.
    names = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", "--", *RESULT_ROOTS)
    if untracked := sorted(n for n in names.split("\0") if n.endswith(".json")):
        _warn(
            f"{len(untracked)} result file(s) not tracked by git, not read: {untracked[0]}"
            f"{' and more' if len(untracked) > 1 else ''} "
            "(the table reads what a fresh clone holds: `git add results/ && git commit`)"
        )
    if current == wanted:
        print(f"{readme.name}: target table is current")
        return EXIT_OK
    if check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"{readme.name} (committed)",
            f"{readme.name} (from results)",
        )
        sys.stderr.writelines(diff)
        print(
            f"{readme.name}: target table is stale; run python -m autoresearch.report --readme",
            file=sys.stderr,
        )
        return EXIT_STALE
    readme.write_text(head + wanted + tail, encoding="utf-8")
    print(f"{readme.name}: target table rewritten")
    return EXIT_OK


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = cli.UsageParser("python -m autoresearch.report", __doc__)
    cli.add_target(parser, nargs="?", help=f"draw this target's chart: {', '.join(TARGETS)}")
    parser.add_argument("--log", type=Path, help="the results log (default: results/experiments/)")
    parser.add_argument(
        "--write-tracked",
        action="store_true",
        help=f"write the chart beside the log even in the checkout's tree (the committed charts; "
        f"default there: {CHART_DIR}/, so the tree stays clean)",
    )
    parser.add_argument("--readme", action="store_true", help="rewrite README's target table")
    parser.add_argument("--check", action="store_true", help="with --readme: only check it")
    parser.add_argument(
        "--repo",
        type=Path,
        default=PACKAGE_DIR.parent,
        help="the checkout to read results/ and README.md from (default: this one)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.readme == (args.target is not None):
        parser.error("give either a TARGET (chart) or --readme (table)")
    if args.check and not args.readme:
        parser.error("--check goes with --readme")
    if args.write_tracked and args.readme:
        parser.error("--write-tracked goes with a TARGET (--readme always rewrites README.md)")
    cli.check_targets(parser, args.target)
    try:
        if args.readme:
            return update_readme(args.repo.resolve(), args.check)
        try:
            paths = chart(args.target, args.log, args.repo.resolve(), args.write_tracked)
        except NoMatplotlib:
            print(
                "report: the chart needs matplotlib: pip install '.[plot]' "
                "(or pip install matplotlib)",
                file=sys.stderr,
            )
            return EXIT_NO_MATPLOTLIB
    except ReportError as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in paths:
        print(f"report: wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
