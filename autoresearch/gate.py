"""The keep gate: decides from asv results whether a candidate commit's kernel is kept.

    python -m autoresearch.gate [--target NAME|all] [--candidate REV] [--baseline REV] [--json]

With no arguments it decides HEAD against HEAD^ for every target whose kernel changed, right
after a plain `asv run HEAD^..HEAD` (docs/gate.md). Inputs: the candidate's asv result file,
whose `track_ab_ratio` and `track_ab_ratio_baseline_first` samples are per-pair candidate/baseline
time ratios measured interleaved, in two processes per combination (one per order of the copies),
against the kernel of the candidate's first parent (autoresearch.abtest), and whose
`track_mismatches` say whether the candidate was correct on the speed workload; and, when it has
results in this environment, the baseline's own result file, for the checks that both sides ran
the same benchmarks in the same environment. `--baseline REV` (the experiment's last kept commit)
must carry the first parent's kernel, which is what the ratios were taken against. The
experiment's decision run measures the paired benchmarks alone: `--oracle-report FILE` (the oracle's
`--report` on the candidate's kernel, matched by its sha256) then says the kernel passed the
reference on every speed combination, in place of `track_mismatches`.

The decision itself and its rules are autoresearch/harness/decide.py (pure: it reads nothing),
their thresholds harness/thresholds.py, the bootstrap harness/pairstats.py; this module finds and
reads the result files, calls it and prints the result. Every problem with the inputs gives
"cannot decide"; the gate never keeps on doubt.

Exit codes: 0 keep, 1 discard, 2 correctness failure, 3 cannot decide (including --help: only a
keep ever exits 0), 64 bad usage (a bad flag, an unknown target).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import traceback
from pathlib import Path

from autoresearch.harness import asvresults, cli
from autoresearch.harness.decide import (
    ASV_COMMAND,
    SUSPECT_SPEEDUP,
    UNDECIDED,
    CannotDecide,
    Decision,
    decide,
    undecided,
)
from autoresearch.harness.gate_output import format_block, to_json
from autoresearch.harness.git import other_kernel

# ---------------------------------------------------------------------------
# Command line: load the files, decide, print
# ---------------------------------------------------------------------------


def resolve(rev: str, repo: Path) -> str:
    """A full commit id. A 40-hex id is taken as is (results name it; git need not know it)."""
    if re.fullmatch(r"[0-9a-f]{40}", rev):
        return rev
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    sha = proc.stdout.strip()
    if proc.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise CannotDecide(f"missing commit: {rev!r} is not a commit in {repo}")
    return sha


def load_json(path: Path, what: str, fix: str) -> dict:
    if not path.is_file():
        raise CannotDecide(f"no results for the {what} ({path} is missing): {fix}")
    try:
        return json.loads(path.read_text())  # json reads asv's bare NaN
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CannotDecide(
            f"the {what} results {path} are unreadable (truncated or corrupt?): {exc}"
        ) from None


def _git(repo: Path, *args: str) -> str | None:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def check_baseline_is_paired_side(repo: Path, candidate: str, baseline: str, target: str) -> str:
    """The candidate's first parent, after checking `baseline` carries the same kernel(s): the
    A/B ratios were taken against the first parent's kernel."""
    from autoresearch import TARGETS

    parent = _git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^")
    if parent is None:
        raise CannotDecide(f"{candidate} has no parent: its kernel was paired with nothing")
    path = other_kernel(repo, parent, baseline, list(TARGETS) if target == "all" else [target])
    if path is not None:
        raise CannotDecide(
            f"the candidate's A/B ratios are against its first parent {parent[:12]}, whose "
            f"{path} is not the baseline {baseline[:12]}'s: decide against {parent[:12]}"
        )
    return parent


def load_results(
    results_dir: Path, machine: str, commit: str, what: str, fix: str, required: bool
) -> dict | None:
    """A commit's result file in this project's environment; if it has results only in other
    environments (another numpy or numba) or on other machines, say which."""
    from autoresearch.bench import env_name, machine_hint

    path = asvresults.path(results_dir, machine, commit, env_name())
    if path.is_file():
        try:
            data = asvresults.read(path, f"the {what} result file {path}")
            got = asvresults.commit_hash(data, f"the {what} result file {path}")
        except (OSError, asvresults.NotAResultFile) as exc:
            raise CannotDecide(str(exc)) from None
        if got != commit:
            raise CannotDecide(f"the {what} result file is for commit {got}, not {commit}")
        recorded_on = asvresults.machine(data)
        if recorded_on != machine:
            raise CannotDecide(
                f"the {what} results were recorded on machine {recorded_on!r}, not {machine!r}"
            )
        return data
    others = [p.name for p in asvresults.result_files(path.parent, commit)]
    if others:
        raise CannotDecide(
            f"the {what} {commit[:12]} has results only in other environments ({', '.join(others)})"
            f", not in this project's {env_name()}: the pinned numpy/numba changed; re-baseline "
            f"(python -m autoresearch.rebaseline TARGET -m why) or run `{ASV_COMMAND} "
            f"{commit[:12]}^!`"
        )
    if required:
        raise CannotDecide(
            f"no results for the {what} ({path} is missing): {fix}"
            + machine_hint(commit, results_dir)
        )
    return None


def oracle_checked(path: Path, repo: Path, candidate: str, target: str) -> int:
    """How many speed combinations the oracle's `--report` says it checked the candidate's kernel on
    and passed: the report must be for this target and for the kernels.py the candidate commit
    holds (its sha256), else the gate cannot take its word for the speed workload's correctness."""
    report = load_json(path, "oracle report", "run `python -m autoresearch.oracle T --report F`")
    source = subprocess.run(
        ["git", "show", f"{candidate}:autoresearch/{target}/kernels.py"],
        cwd=repo,
        capture_output=True,
    )
    if source.returncode != 0:
        raise CannotDecide(f"the candidate {candidate[:12]} has no {target} kernels.py")
    digest = hashlib.sha256(source.stdout).hexdigest()
    if report.get("target") != target or report.get("kernel_sha256") != digest:
        raise CannotDecide(
            f"the oracle report {path} is not for {target}'s kernel at {candidate[:12]}"
        )
    if report.get("passed") is not True:
        raise CannotDecide(f"the oracle report {path} says the kernel failed: not a candidate")
    checked = report.get("speed_combinations")
    if not isinstance(checked, int) or isinstance(checked, bool):
        raise CannotDecide(f"the oracle report {path} has no count of speed combinations")
    return checked


def run(args: argparse.Namespace) -> Decision:
    from autoresearch.bench import REPO, RESULTS, machine_name

    repo = Path(args.repo) if args.repo else REPO
    results_dir = Path(args.results) if args.results else RESULTS
    machine = args.machine or machine_name()
    target = args.target
    try:
        candidate = resolve(args.candidate, repo)
        baseline = resolve(args.baseline or f"{candidate}^", repo)
    except CannotDecide as exc:
        return undecided(target, args.candidate, args.baseline or "?", "input", str(exc))
    shown = f" -b bench_{target}" if target != "all" else ""
    try:
        check_baseline_is_paired_side(repo, candidate, baseline, target)
        cand = load_results(
            results_dir, machine, candidate, "candidate",
            f"run `{ASV_COMMAND} {candidate[:12]}^!{shown}`", required=True,
        )  # fmt: skip
        base = load_results(results_dir, machine, baseline, "baseline", "", required=False)
        confirmation = None
        if args.confirmation:
            confirmation = load_json(
                Path(args.confirmation), "confirmation", "run `python -m autoresearch.bench`"
            )
        checked = None
        if args.oracle_report:
            checked = oracle_checked(Path(args.oracle_report), repo, candidate, target)
    except CannotDecide as exc:
        return undecided(target, candidate, baseline, "input", str(exc))
    d = decide(
        cand, base, target, confirmed=args.confirmed, repair=args.repair,
        confirmation=confirmation, oracle_checked=checked,
    )  # fmt: skip
    for part in [d, *d.targets]:
        part.baseline = baseline  # named even when it has no result file of its own
    return d


def parser() -> argparse.ArgumentParser:
    from autoresearch import TARGETS

    p = cli.UsageParser(
        "python -m autoresearch.gate",
        __doc__,
        allow_abbrev=False,
        add_help=False,
    )
    p.add_argument("-h", "--help", action="store_true", help="show this help and exit 3")
    p.add_argument("--target", default="all", help=f"{', '.join(TARGETS)} or all (default: all)")
    p.add_argument("--candidate", default="HEAD", help="commit to judge (default HEAD)")
    p.add_argument(
        "--baseline",
        help="the last kept commit (default: candidate^); must carry candidate^'s kernel",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of key: value lines")
    p.add_argument(
        "--confirmed",
        action="store_true",
        help=f"accept a speed-up above {SUSPECT_SPEEDUP:g}x: only after a re-measurement agreed",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="the baseline fails the current oracle: keep a correct candidate that is not slower",
    )
    p.add_argument(
        "--confirmation",
        help="the parent's confirmation of the paired ratios (bench.py writes it): a keep needs "
        "it to agree with them",
    )
    p.add_argument(
        "--oracle-report",
        help="the oracle's --report on the candidate's kernel: its check of the speed workload "
        "stands in for track_mismatches when the results have none (the experiment's decision run)",
    )
    p.add_argument("--results", help="asv results directory (default: the repo's results/)")
    p.add_argument("--machine", help="asv machine name (default: this machine's, as bench.py)")
    p.add_argument("--repo", help="git repository to resolve revisions in (default: this one)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.help:
        p.print_help()
        return UNDECIDED
    if args.target != "all":
        cli.check_targets(p, args.target)
    elif args.oracle_report:
        p.error("--oracle-report is for one target: give --target NAME")
    try:
        d = run(args)
    except Exception:  # a bug in the gate must never read as keep (0) or discard (1)
        traceback.print_exc()
        d = undecided(args.target, args.candidate, args.baseline or "?", "gate", "internal error")
    print(json.dumps(to_json(d), indent=1) if args.json else format_block(d))
    return d.exit_code


if __name__ == "__main__":
    sys.exit(main())
