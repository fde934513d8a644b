"""Measure the keep gate on this machine: false keeps, detection, resolution, decision time.

    python -m autoresearch.calibrate TARGET [--decisions N] [--ab-seconds S] [--no-full]

A benchmark, not a test: it takes about (5 x N + 1) x the A/B time of one decision (~25 minutes
for pq_l2 with N = 20) and its numbers depend on how loaded the machine is, which it reports.

In-process part: for each decision and each combination of the target's workload, the current
kernel is paired against a second copy of itself loaded from its file (as bench.py loads a
baseline) with the production pairing (autoresearch.abtest.paired_ratios), with or without an
injected change, and the gate's pure `decide()` judges the ratios, wrapped in result structures
shaped like asv's. An injected slowdown of x makes the candidate side do extra calibrated work of
x times its own measured call time; an injected speed-up of x slows the *baseline* instead (by
1/(1-x) - 1 of its call time), so the candidate/baseline ratio is 1 - x. Conditions rotate inside
each round, so every condition sees the same machine over time.

Full decision: a throwaway clone of the repository, the baseline's results made once (as when it
was kept), then a new candidate commit (same kernel, a comment changed) benchmarked through the
real `python -m autoresearch.bench TARGET` (asv run HEAD^!) and judged by `python -m
autoresearch.gate`; the wall time of those two commands is the decision time.

Exit code: 0 if every target below is met, 1 if one is not, 3 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from autoresearch import PACKAGE_DIR, TARGETS, abtest, gate

# ---------------------------------------------------------------------------
# Constants (the targets come from issue 3; the rest says what "caught" means)
# ---------------------------------------------------------------------------

INJECTED = (0.03, 0.10)  # injected changes: +-3% (the target) and +-10%
DEFAULT_DECISIONS = 20  # decisions per condition
MAX_AA_FALSE_KEEPS = 0  # target: no false keep in 20 A/A decisions
MIN_CAUGHT_3PCT = 19  # target: an injected 3% change caught in at least 19 of 20 decisions
MAX_FULL_DECISION_SECS = 60.0  # target: bench both sides + decide within 60 s
RESOLVED_FRACTION = 0.95  # "resolved": caught in at least this fraction of A/A decisions
CALL_TIME_REPEATS = 5  # timed calls whose median sets the size of an injection
SPIN_PROBE_ITERATIONS = 2_000_000  # spin iterations timed to learn the spin's speed
BISECTION_STEPS = 12  # halvings when searching the smallest resolved change (0.5 / 2**12 ~ 0.01%)

ASV_COLUMNS = [
    "result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
    "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile",
]  # fmt: skip
ENV_NAME = "calibrate"
CANDIDATE, BASELINE = "c" * 40, "b" * 40  # stand-in commit ids of the synthesized results


# ---------------------------------------------------------------------------
# Injection: extra work, calibrated in seconds
# ---------------------------------------------------------------------------


def _spin(iterations):
    # A dependent chain: each step waits for the last, so it cannot be vectorized or removed
    # (its result is returned). Real work, unlike a clock-based wait, stretches under contention
    # exactly as the kernel's own work does.
    acc = 0.0
    for _ in range(iterations):
        acc = acc * 0.999999 + 1.0
    return acc


class Spinner:
    """Burns a requested number of CPU seconds of work (at the speed measured at creation)."""

    def __init__(self) -> None:
        from numba import njit  # imported late: main() sets the thread count first

        self.spin = njit(cache=False)(_spin)
        self.spin(10)  # compile
        runs = []
        for _ in range(5):
            start = time.thread_time()
            self.spin(SPIN_PROBE_ITERATIONS)
            runs.append(time.thread_time() - start)
        self.secs_per_iteration = float(np.median(runs)) / SPIN_PROBE_ITERATIONS

    def __call__(self, seconds: float) -> float:
        return self.spin(max(0, round(seconds / self.secs_per_iteration)))


def call_time(run: Callable[[], object]) -> float:
    # CPU time, not wall time: on a busy machine a wall-clock call time includes waits for the
    # CPU, and an injection sized from it overshoots (+3% measured as +3.6-8% under load 5).
    times = []
    for _ in range(CALL_TIME_REPEATS):
        start = time.thread_time()
        run()
        times.append(time.thread_time() - start)
    return float(np.median(times))


def inject(
    run_c: Callable[[], object],
    run_b: Callable[[], object],
    change: float,
    t_c: float,
    t_b: float,
    spin: Callable[[float], object],
) -> tuple[Callable[[], object], Callable[[], object]]:
    """Both sides with an injected change: +x slows the candidate, -x slows the baseline.

    t_c and t_b are the measured call times. The candidate/baseline ratio becomes 1 + change.
    """
    if change > 0:
        extra = change * t_c
        return (lambda: (run_c(), spin(extra))), run_b
    if change < 0:
        extra = (1.0 / (1.0 + change) - 1.0) * t_b
        return run_c, (lambda: (run_b(), spin(extra)))
    return run_c, run_b


# ---------------------------------------------------------------------------
# Results shaped like asv's (what the gate reads)
# ---------------------------------------------------------------------------


def main_classes(target: str) -> dict[str, list]:
    """The target's main asv classes (those with track_ab_ratio) and their params."""
    module = importlib.import_module(f"benchmarks.bench_{target}")
    return {
        name: cls.params
        for name, cls in vars(module).items()
        if isinstance(cls, type)
        and hasattr(cls, "track_ab_ratio")
        and not name.endswith("Peers")
        and not name.startswith("_")  # the shared base, which asv skips too
    }


def as_stored(classes: dict[str, list]) -> dict[str, list]:
    """Params as asv stores them: repr strings."""
    return {
        cls: [[repr(v) for v in values] for values in params] for cls, params in classes.items()
    }


def synthesized(target: str, params: dict[str, list], ratios: dict | None, commit: str) -> dict:
    """An asv result file (format 2). params[cls]: repr strings; ratios[cls]: per-combination
    pair ratios, or None for the baseline's file."""
    started = time.time() * 1000.0
    results = {}
    for cls, stored in params.items():
        n = len(list(itertools.product(*stored)))
        for method in ("track_ab_ratio", "track_mismatches"):
            cells = {"params": stored, "version": f"{method}-v", "started_at": started}
            if ratios is None:
                cells["result"] = [float("nan")] * n
            elif method == "track_ab_ratio":
                cells["result"] = [float(np.median(s)) for s in ratios[cls]]
                cells["samples"] = ratios[cls]
            else:
                cells["result"] = [0] * n
            results[f"bench_{target}.{cls}.{method}"] = [cells.get(c) for c in ASV_COLUMNS]
    return {
        "commit_hash": commit,
        "env_name": ENV_NAME,
        "params": {"machine": "calibrate"},
        "python": sys.executable,
        "requirements": {},
        "env_vars": {},
        "result_columns": ASV_COLUMNS,
        "results": results,
        "version": 2,
    }


def judge(target: str, params: dict[str, list], ratios: dict[str, list]) -> gate.Decision:
    cand = synthesized(target, params, ratios, CANDIDATE)
    base = synthesized(target, params, None, BASELINE)
    return gate.decide(cand, base, target)


def scaled(ratios: dict[str, list], factor: float) -> dict[str, list]:
    return {cls: [[r * factor for r in s] for s in per] for cls, per in ratios.items()}


def first_part(ratios: dict[str, list], fraction: float) -> dict[str, list]:
    """The pairs of the first `fraction` of each run: what a shorter AB_SECONDS would have seen."""
    cut = lambda s: s[: max(abtest.AB_MIN_PAIRS, round(len(s) * fraction))]  # noqa: E731
    return {cls: [cut(s) for s in per] for cls, per in ratios.items()}


def smallest_resolved(
    target: str, params: dict, ratios: dict, caught: Callable[[gate.Decision], bool], sign: int
) -> float:
    """Smallest uniform change (sign -1: speed-up, +1: slowdown) the gate catches on these A/A
    ratios, by bisection (the rules are monotone in a uniform change)."""
    lo, hi = 0.0, 0.5
    if not caught(judge(target, params, scaled(ratios, 1.0 + sign * hi))):
        return float("inf")
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if caught(judge(target, params, scaled(ratios, 1.0 + sign * mid))):
            hi = mid
        else:
            lo = mid
    return hi


def kept(d: gate.Decision) -> bool:
    return d.exit_code == gate.KEEP


def resolved_slower(d: gate.Decision) -> bool:
    return d.exit_code != gate.KEEP and d.geomean_ci_lo is not None and d.geomean_ci_lo > 1.0


# ---------------------------------------------------------------------------
# The in-process part
# ---------------------------------------------------------------------------


def conditions() -> list[float]:
    return [0.0] + [sign * x for x in INJECTED for sign in (+1, -1)]


def condition_name(change: float) -> str:
    if change == 0:
        return "aa"
    return f"{'slower' if change > 0 else 'faster'}_{abs(change) * 100:.0f}pct"


def measure(
    target: str, decisions: int, seconds: float, save: Path | None = None, log=sys.stderr
) -> dict:
    """Pair ratios for `decisions` rounds of every condition: {"params", "records": [...]}.

    Each record: round, change, load (1-minute load average when it ended), secs, ratios
    ({class: [pair ratios per combination]}). Saved as JSON, it can be judged again later.
    """
    from autoresearch.oracle import load_module_from

    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    candidate = importlib.import_module(f"autoresearch.{target}.kernels")
    baseline = load_module_from(
        PACKAGE_DIR / target / "kernels.py", f"autoresearch_calibrate_baseline_{target}"
    )
    classes = main_classes(target)
    params = as_stored(classes)
    workloads = {
        (cls, combo): inputs.workload(*combo)
        for cls, values in classes.items()
        for combo in itertools.product(*values)
    }
    spin = Spinner()
    conds = conditions()
    records = []
    data = {"target": target, "ab_seconds": seconds, "params": params, "records": records}
    data["clock"] = "process" if abtest._clock is time.process_time else "abtest"
    for d in range(decisions):
        for change in conds[d % len(conds) :] + conds[: d % len(conds)]:  # rotate the order
            start = time.monotonic()
            ratios = {cls: [] for cls in classes}
            for (cls, _combo), w in workloads.items():

                def run_c(w=w):
                    return inputs.search(candidate, w)

                def run_b(w=w):
                    return inputs.search(baseline, w)

                run_c(), run_b()  # compile, warm caches
                a, b = inject(run_c, run_b, change, call_time(run_c), call_time(run_b), spin)
                ratios[cls].append(abtest.paired_ratios(a, b, seconds))
            secs, load = time.monotonic() - start, os.getloadavg()[0]
            records.append(
                {"round": d, "change": change, "load": load, "secs": secs, "ratios": ratios}
            )
            if save is not None:  # after every decision: an interrupted run still leaves its data
                tmp = save.with_suffix(".tmp")
                tmp.write_text(json.dumps(data))
                tmp.replace(save)
            decision = judge(target, params, ratios)
            print(
                f"decision {d + 1}/{decisions} {condition_name(change)}: {decision.decision} "
                f"geomean {_g(decision.geomean_ratio)} [{_g(decision.geomean_ci_lo)}, "
                f"{_g(decision.geomean_ci_hi)}] ({secs:.1f} s, load {load:.2f})",
                file=log,
                flush=True,
            )
    return data


def _g(x: float | None) -> str:
    return "none" if x is None else f"{x:.4f}"


# ---------------------------------------------------------------------------
# The full decision: real bench + real gate in a throwaway clone
# ---------------------------------------------------------------------------


def full_decision(target: str, log=sys.stderr) -> dict:
    repo = PACKAGE_DIR.parent
    tmp = Path(tempfile.mkdtemp(prefix="lance-autoresearch-calibrate-"))
    clone = tmp / "repo"
    py = sys.executable
    ident = ["-c", "user.name=calibrate", "-c", "user.email=calibrate@localhost"]

    def sh(*cmd, cwd=clone, check=True):
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if check and proc.returncode != 0:
            out = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out}")
        return proc

    try:
        sh("git", "clone", "--quiet", str(repo), str(clone), cwd=tmp)
        (repo / ".asv").mkdir(exist_ok=True)  # asv's environment: this clone's, made once
        (clone / ".asv").symlink_to(repo / ".asv", target_is_directory=True)
        base = sh("git", "rev-parse", "HEAD").stdout.strip()
        print(f"full decision: baseline results for {base[:12]} (setup)", file=log, flush=True)
        start = time.monotonic()
        sh(py, "-m", "autoresearch.bench", target)
        setup_secs = time.monotonic() - start
        kernels = clone / "autoresearch" / target / "kernels.py"
        kernels.write_text(kernels.read_text() + "\n# calibrate: the same kernel, a new commit\n")
        sh("git", *ident, "commit", "--quiet", "-m", "calibrate: candidate", "--", str(kernels))
        print("full decision: bench candidate + gate (timed)", file=log, flush=True)
        start = time.monotonic()
        sh(py, "-m", "autoresearch.bench", target, "--baseline", base)
        bench_secs = time.monotonic() - start
        start = time.monotonic()
        verdict = sh(
            py, "-m", "autoresearch.gate", "--target", target, "--repo", str(clone),
            "--results", str(clone / "results"), cwd=repo, check=False,
        )  # fmt: skip
        gate_secs = time.monotonic() - start
        # The gate's key: value block (decision and geomean_ratio occur once).
        lines = dict(line.split(": ", 1) for line in verdict.stdout.splitlines() if ": " in line)
        return {
            "setup_secs": setup_secs,
            "bench_secs": bench_secs,
            "gate_secs": gate_secs,
            "decision": lines.get("decision", "?"),
            "exit_code": verdict.returncode,
            "geomean": lines.get("geomean_ratio", "?"),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q, method="higher"))


def analyze(data: dict, fraction: float = 1.0) -> tuple[list[str], bool]:
    """Judge every saved measurement with the current gate; the report lines and targets met."""
    target, params = data["target"], data["params"]
    by_change: dict[float, list] = {}
    for rec in data["records"]:
        ratios = rec["ratios"] if fraction >= 1.0 else first_part(rec["ratios"], fraction)
        by_change.setdefault(rec["change"], []).append((judge(target, params, ratios), rec, ratios))
    n = len(by_change.get(0.0, []))
    loads = [rec["load"] for rec in data["records"]]
    lines = [
        f"clock: {data.get('clock', 'abtest')}",
        f"ab_seconds: {data['ab_seconds'] * fraction:g}"
        + (f" (the first {fraction:.0%} of {data['ab_seconds']:g} s runs)" if fraction < 1 else ""),
        f"decisions_per_condition: {n}",
        f"load_during: median {np.median(loads):.2f}, max {max(loads):.2f} (2 = both cores busy)",
    ]
    aa = by_change[0.0]
    false_keeps = [rec["load"] for d, rec, _ in aa if kept(d)]
    geos = [d.geomean_ratio for d, _, _ in aa]
    widths = [d.geomean_ci_hi - d.geomean_ci_lo for d, _, _ in aa]
    sig = sum(d.geomean_ci_hi < 1 or d.geomean_ci_lo > 1 for d, _, _ in aa)
    lines += [
        f"aa_false_keeps: {len(false_keeps)}/{n}{_at(false_keeps)}",
        f"aa_interval_excludes_1: {sig}/{n}",
        f"aa_geomean_range: {min(geos):.4f} {max(geos):.4f}",
        f"aa_geomean_ci_width_median: {float(np.median(widths)):.4f}",
    ]
    ok = len(false_keeps) <= MAX_AA_FALSE_KEEPS
    for x in INJECTED:
        pct = f"{x * 100:.0f}pct"
        for change, caught, name in ((x, resolved_slower, "slower"), (-x, kept, "faster")):
            runs = by_change[change]
            missed = [rec["load"] for d, rec, _ in runs if not caught(d)]
            median_geo = float(np.median([d.geomean_ratio for d, _, _ in runs]))
            extra = ""
            if change > 0:
                extra = f", kept {sum(kept(d) for d, _, _ in runs)}"
                if x >= gate.WORST_SLOWDOWN:
                    fired = sum(any(r.rule == "worst_case" for r in d.reasons) for d, _, _ in runs)
                    extra += f", worst-case guard fired {fired}"
            lines.append(
                f"{name}_{pct}_caught: {len(runs) - len(missed)}/{len(runs)} (median geomean "
                f"{median_geo:.4f}{extra}){_at(missed, 'missed')}"
            )
            if x == 0.03:
                ok &= len(runs) - len(missed) >= MIN_CAUGHT_3PCT * len(runs) / DEFAULT_DECISIONS
    speedups = [smallest_resolved(target, params, r, kept, -1) for _, _, r in aa]
    slowdowns = [smallest_resolved(target, params, r, resolved_slower, +1) for _, _, r in aa]
    lines += [
        f"smallest_speedup_kept: {_pct(quantile(speedups, RESOLVED_FRACTION))} "
        f"(a uniform speed-up kept in {RESOLVED_FRACTION:.0%} of the A/A measurements)",
        f"smallest_slowdown_resolved: {_pct(quantile(slowdowns, RESOLVED_FRACTION))} "
        f"(a uniform slowdown whose interval lies above 1 in {RESOLVED_FRACTION:.0%} of them)",
    ]
    return lines, ok


# The clocks the in-process pairing can be measured with. "abtest": whatever abtest.py uses
# (wall time, time.perf_counter); "process": CPU time of the whole process (all its threads).
CLOCKS = {"abtest": None, "process": time.process_time}


@contextlib.contextmanager
def clock(name: str) -> Iterator[None]:
    """Let abtest.paired_ratios time with another clock, for this measurement only."""
    replacement = CLOCKS[name]
    if replacement is None:
        yield
        return
    original = abtest._clock
    abtest._clock = replacement
    try:
        yield
    finally:
        abtest._clock = original


def _pct(x: float) -> str:
    return "none" if math.isinf(x) else f"{x:.2%}"


def _at(loads: list[float], what: str = "at") -> str:
    return f" ({what} load {', '.join(f'{x:.1f}' for x in loads)})" if loads else ""


def _cpu_secs() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autoresearch.calibrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--decisions", type=int, default=DEFAULT_DECISIONS)
    parser.add_argument(
        "--ab-seconds",
        type=float,
        default=abtest.AB_SECONDS,
        help="pairing time per combination (default: the production value)",
    )
    parser.add_argument("--no-full", action="store_true", help="skip the full bench+gate run")
    parser.add_argument("--save", help="write the measured pair ratios to this JSON file")
    parser.add_argument("--load", help="judge pair ratios saved by --save instead of measuring")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 3
    if str(PACKAGE_DIR.parent) not in sys.path:
        sys.path.insert(0, str(PACKAGE_DIR.parent))  # the asv suites (benchmarks/) live there
    import benchmarks  # noqa: F401  (single-threaded kernels, as in the asv runs)

    wall0, cpu0, load0 = time.monotonic(), _cpu_secs(), os.getloadavg()
    lines = [
        f"target: {args.target}",
        f"gate: ci_level={gate.CI_LEVEL} min_gain={gate.MIN_GAIN} "
        f"worst_slowdown={gate.WORST_SLOWDOWN} trade_off={gate.TRADE_OFF_FACTOR:g}",
        f"machine: {os.cpu_count()} cpus, load at start {' '.join(f'{x:.2f}' for x in load0)}",
    ]
    ok = True
    if args.load:
        data = json.loads(Path(args.load).read_text())
    elif args.decisions > 0:
        with clock(args.clock):
            save = Path(args.save) if args.save else None
            data = measure(args.target, args.decisions, args.ab_seconds, save)
    else:
        data = None
    if data is not None:
        more, ok = analyze(data, args.ab_fraction)
        lines += more
    if not args.no_full and not args.load:
        full = full_decision(args.target)
        total = full["bench_secs"] + full["gate_secs"]
        lines += [
            f"full_decision_secs: {total:.1f} (bench {full['bench_secs']:.1f} + gate "
            f"{full['gate_secs']:.1f}; baseline setup run {full['setup_secs']:.1f})",
            f"full_decision_result: {full['decision']} exit {full['exit_code']} "
            f"geomean {full['geomean']} (A/A across commits: expect discard)",
        ]
        ok &= total <= MAX_FULL_DECISION_SECS and full["exit_code"] != gate.KEEP
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
