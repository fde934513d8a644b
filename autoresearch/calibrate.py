"""Measure the keep gate on this machine: false keeps, detection, resolution, decision time.

    python -m autoresearch.calibrate TARGET [--decisions N] [--ab-seconds S] [--no-full]
    python -m autoresearch.calibrate --decisions-table   # docs/gate.md's table, from results/

A benchmark, not a test: it takes about 5 x N x the A/B time of one decision, plus N x the
combinations' process starts, plus a full decision (12-15 minutes per target with N = 20, 25 for
take) and its numbers depend on how loaded the machine is, which it reports.

Decisions: N rounds; in each, every combination of the target's workload, in a fresh process of
its own (as asv runs a benchmark's combinations), pairs the current kernel against a second copy of
itself loaded from its file (as bench.py loads a baseline) with the production pairing, once per
condition (A/A, and +-2%, +-5% injected), and the gate's pure `decide()` judges each round's ratios,
wrapped in result structures shaped like asv's (harness/calibration_timing.py says how a change is
injected).

Full decision: a throwaway clone of the repository, the baseline's results made once (as when it
was kept), then a new candidate commit (same kernel, a comment changed) benchmarked through the
real `python -m autoresearch.bench TARGET` (asv run HEAD^!) and judged by `python -m
autoresearch.gate`; the wall time of those two commands is the decision time.

Exit code: 0 if every target below is met, 1 if one is not, 5 if a measuring process failed (its
message on stderr; what was measured until then is saved), 64 on bad usage (as every command).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from autoresearch import PACKAGE_DIR, TARGETS, abtest
from autoresearch.harness import calibration_offsets as offsets
from autoresearch.harness import calibration_timing as timing
from autoresearch.harness import cli, decide, thresholds
from autoresearch.harness.calibration import (
    DEFAULT_DECISIONS,
    OFFSETS_SUFFIX,
    analyze,
    decisions_path,
    decisions_table,
    offsets_table,
    save_offsets,
)
from autoresearch.harness.layout import log_relpath
from autoresearch.harness.runlog import read_log

MAX_FULL_DECISION_SECS = 60.0  # target: bench both sides + decide within 60 s
MEASUREMENT_FAILED = 5  # exit code: a measuring process failed (as the experiment's harness error)
OFFSETS_DIR = PACKAGE_DIR.parent / "results" / "calibration"  # raw data, committed


def _cpu_secs() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except timing.MeasurementFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return MEASUREMENT_FAILED


def _main(argv: list[str] | None) -> int:
    parser = cli.UsageParser("python -m autoresearch.calibrate", __doc__)
    cli.add_target(parser, nargs="?")
    parser.add_argument("--decisions", type=int, default=DEFAULT_DECISIONS)
    parser.add_argument(
        "--ab-seconds",
        type=float,
        default=abtest.AB_SECONDS,
        help="pairing time per combination (default: the production value)",
    )
    parser.add_argument("--no-full", action="store_true", help="skip the full bench+gate run")
    parser.add_argument(
        "--save",
        help="write the measured pair ratios to this file (default: a new "
        "results/calibration/decisions-TARGET-START.jsonl, committed as the raw data)",
    )
    parser.add_argument("--load", help="judge pair ratios saved by --save instead of measuring")
    parser.add_argument(
        "--clock",
        choices=sorted(timing.CLOCKS),
        default="abtest",
        help="the pairing's clock: abtest's own (default), or CPU time of the process (an "
        "experiment for abtest.py: waits for the CPU do not count)",
    )
    parser.add_argument(
        "--ab-fraction",
        type=float,
        default=1.0,
        help="judge only this first fraction of each run's pairs (a shorter AB_SECONDS)",
    )
    parser.add_argument(
        "--offsets",
        action="store_true",
        help="measure the per-process offset instead: --processes fresh A/A processes (the quick "
        "look's pairing), raw data saved under results/calibration/",
    )
    parser.add_argument("--processes", type=int, default=offsets.DEFAULT_PROCESSES)
    parser.add_argument("--order", choices=offsets.OFFSET_ORDERS, default="production")
    parser.add_argument("--pad", action="store_true", help="realign the workload per process")
    parser.add_argument("--match", help="only combinations whose label matches this regex")
    parser.add_argument("--offsets-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--round-worker", type=int, help=argparse.SUPPRESS)  # one decision round
    parser.add_argument("--combination", type=int, help=argparse.SUPPRESS)  # ... of one combination
    parser.add_argument(
        "--decisions-table",
        action="store_true",
        help="print the per-target decisions table from every saved decisions file (target: "
        "ignored)",
    )
    parser.add_argument(
        "--offsets-table",
        action="store_true",
        help="print the across-process table from every saved offsets file (target: ignored)",
    )
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    if args.offsets_table:
        print(offsets_table(sorted(OFFSETS_DIR.glob(f"offsets-*{OFFSETS_SUFFIX}"))))
        return 0
    if args.decisions_table:
        logs = {t: read_log(PACKAGE_DIR.parent / log_relpath(t), lenient=True) for t in TARGETS}
        print(decisions_table(sorted(OFFSETS_DIR.glob(f"decisions-*{OFFSETS_SUFFIX}")), logs))
        return 0
    if args.target is None:
        parser.error("a target is needed (all but --offsets-table and --decisions-table)")
    if str(PACKAGE_DIR.parent) not in sys.path:
        sys.path.insert(0, str(PACKAGE_DIR.parent))  # the asv suites (benchmarks/) live there
    import benchmarks  # noqa: F401  (single-threaded kernels, as in the asv runs)

    if args.combination is not None and (
        args.round_worker is None
        or not 0 <= args.combination < len(timing.combinations(args.target))
    ):
        parser.error(f"--combination: a worker's index into {args.target}'s combinations")
    if args.round_worker is not None:
        with timing.clock(args.clock):
            first = args.order if args.order in timing.ORDERS else None
            records = timing.measure_round(
                args.target, args.round_worker, args.ab_seconds, args.combination, first
            )
        print(json.dumps(records))
        return 0
    if args.offsets_worker:
        ratios = offsets.offsets_worker(
            args.target, args.order, args.pad, args.ab_seconds, args.match
        )
        print(json.dumps(ratios))
        return 0
    if args.offsets:
        data = offsets.run_offsets(
            args.target, args.processes, args.order, args.pad, args.ab_seconds, args.match,
            sys.stderr,
        )  # fmt: skip
        print(f"saved: {save_offsets(data, OFFSETS_DIR)}")
        print(offsets_table([data]))
        return 0

    wall0, cpu0, load0 = time.monotonic(), _cpu_secs(), os.getloadavg()
    lines = [
        f"target: {args.target}",
        f"gate: ci_level={thresholds.CI_LEVEL} min_gain={thresholds.MIN_GAIN} "
        f"worst_slowdown={thresholds.WORST_SLOWDOWN} trade_off={thresholds.TRADE_OFF_FACTOR:g}",
        f"machine: {os.cpu_count()} cpus, load at start {' '.join(f'{x:.2f}' for x in load0)}",
    ]
    ok = True
    if args.load:
        data = json.loads(Path(args.load).read_text())
    elif args.decisions > 0:
        save = Path(args.save) if args.save else decisions_path(args.target, OFFSETS_DIR)
        data = timing.measure(args.target, args.decisions, args.ab_seconds, args.clock, save)
        lines.append(f"saved: {save}")
    else:
        data = None
    if data is not None:
        more, ok = analyze(data, args.ab_fraction)
        lines += more
    if not args.no_full and not args.load:
        full = timing.full_decision(args.target)
        total = full["bench_secs"] + full["gate_secs"]
        lines += [
            f"full_decision_secs: {total:.1f} (bench {full['bench_secs']:.1f} + gate "
            f"{full['gate_secs']:.1f}; baseline setup run {full['setup_secs']:.1f})",
            f"full_decision_result: {full['decision']} exit {full['exit_code']} "
            f"geomean {full['geomean']} (A/A across commits: expect discard)",
        ]
        ok &= total <= MAX_FULL_DECISION_SECS and full["exit_code"] != decide.KEEP
    wall = time.monotonic() - wall0
    lines += [
        f"load_at_end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"wall_secs: {wall:.0f}",
        f"cpu_share: {(_cpu_secs() - cpu0) / wall:.2f} (this process and its children; "
        f"1.00 = one core all the time)",
        f"targets_met: {'yes' if ok else 'no'}",
    ]
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
