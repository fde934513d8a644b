"""Measure the keep gate on this machine: false keeps, detection, resolution, decision time.

    python -m autoresearch.calibrate TARGET [--decisions N] [--ab-seconds S] [--no-full]
    python -m autoresearch.calibrate --decisions-table   # docs/gate.md's table, from results/

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

Exit code: 0 if every target below is met, 1 if one is not, 64 on bad usage (as every command).
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

from autoresearch import PACKAGE_DIR, TARGETS, abtest
from autoresearch.harness import cli, decide, thresholds
from autoresearch.harness.calibration import (
    DEFAULT_DECISIONS,
    INJECTED,
    OFFSETS_SUFFIX,
    SAMPLE_DIGITS,
    analyze,
    as_stored,
    decisions_path,
    decisions_table,
    judge,
    offsets_table,
    save_offsets,
)
from autoresearch.harness.layout import log_relpath
from autoresearch.harness.runlog import read_log

# ---------------------------------------------------------------------------
# Constants (the targets come from issue 3; the rest says what "caught" means)
# ---------------------------------------------------------------------------

MAX_FULL_DECISION_SECS = 60.0  # target: bench both sides + decide within 60 s
CALL_TIME_REPEATS = 5  # timed calls whose median sets the size of an injection
SPIN_PROBE_ITERATIONS = 2_000_000  # spin iterations timed to learn the spin's speed


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
    suite = importlib.import_module(f"benchmarks.bench_{target}")
    workloads = {}
    for cls, values in classes.items():
        bench = getattr(suite, cls)()  # the suite's own workload function and arguments
        make = getattr(inputs, bench.workload_function)
        for combo in itertools.product(*values):
            workloads[(cls, combo)] = make(*bench.workload_args(*combo))
    spin = Spinner()
    conds = conditions()
    records = []
    data = {"kind": "decisions", "target": target, "ab_seconds": seconds, "params": params}
    data["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data["machine"] = {"cpus": os.cpu_count()}
    data["records"] = records
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
            ratios = {
                cls: [[float(f"{r:.{SAMPLE_DIGITS}g}") for r in samples] for samples in per]
                for cls, per in ratios.items()
            }
            records.append(
                {"round": d, "change": change, "load": load, "secs": secs, "ratios": ratios}
            )
            if save is not None:  # after every decision: an interrupted run still leaves its data
                tmp = save.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n")
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


def _cpu_secs() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


# ---------------------------------------------------------------------------
# Across processes (issue 18): the per-process offset of an A/A pairing
# ---------------------------------------------------------------------------

OFFSETS_DIR = PACKAGE_DIR.parent / "results" / "calibration"  # raw data, committed
DEFAULT_PROCESSES = 6  # fresh processes per run: enough to see a between-process spread at all
# How a worker process orders the two copies. "production": the quick look as is (the candidate
# is compiled in the suite's setup, before the baseline, which paired_samples loads afresh for
# every combination); "baseline"/"candidate": one baseline copy per process, compiled before or
# after the candidate for every combination; "alternate": a run of processes alternating those two.
OFFSET_ORDERS = ("production", "baseline", "candidate", "alternate")
PAD_ALIGN = 64  # a realigned workload array starts at a random multiple of a cache line ...
PAD_SPAN = 4096  # ... within one page, so each process sees another placement of the same data
OFFSET_MARK = "\n# calibrate --offsets: the same kernel source, a separately loaded copy\n"


def _realigned(value: object, rng: np.random.Generator) -> object:
    """A copy of every array in a workload (dataclass, tuple, list, dict) at a random offset."""
    import dataclasses

    if isinstance(value, np.ndarray):
        if value.nbytes == 0:
            return value
        raw = np.empty(value.nbytes + PAD_SPAN + PAD_ALIGN, dtype=np.uint8)
        start = (-raw.ctypes.data) % PAD_ALIGN + PAD_ALIGN * int(
            rng.integers(PAD_SPAN // PAD_ALIGN)
        )
        out = raw[start : start + value.nbytes].view(value.dtype).reshape(value.shape)
        out[...] = value
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _realigned(getattr(value, f.name), rng) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **fields)
    if isinstance(value, (tuple, list)):
        return type(value)(_realigned(v, rng) for v in value)
    if isinstance(value, dict):
        return {k: _realigned(v, rng) for k, v in value.items()}
    return value


def offsets_worker(target: str, order: str, pad: bool, seconds: float, match: str | None) -> dict:
    """One fresh process's A/A pairing, as the quick look (`abtest T --kernels FILE`) makes it:
    the target's kernels.py against a separately loaded copy of itself (a comment line added),
    every combination through the suite's own track_ab_ratio (paired_samples: seal, salted
    workload, TimedCheck). Returns {label: pair ratios} with what the process saw."""
    import tempfile

    from autoresearch import integrity, oracle

    source = (PACKAGE_DIR / target / "kernels.py").read_text()
    folder = Path(tempfile.mkdtemp(prefix="calibrate-offsets-"))
    try:
        base_file = folder / "baseline" / "kernels.py"
        cand_file = folder / "candidate" / "kernels.py"
        for path, text in ((base_file, source), (cand_file, source + OFFSET_MARK)):
            path.parent.mkdir()
            path.write_text(text)
        os.environ[abtest.ENV_BASELINE] = str(base_file)
        suite = importlib.import_module(f"benchmarks.bench_{target}")
        # Patched before the seal, so the seal watches the patched harness as it would the real one.
        if pad:
            rng = np.random.default_rng()
            plain = abtest.salted_workload
            abtest.salted_workload = lambda *a: _realigned(plain(*a), rng)
        if order != "production":
            baseline = oracle.load_module_from(base_file, f"autoresearch_offsets_baseline_{target}")
            abtest.load_baseline = lambda _target: baseline
            if order == "baseline":  # compile the baseline before setup compiles the candidate
                for cls in abtest._suite_classes(suite):
                    cls.setup = _baseline_first(cls.setup, baseline)
        samples: list[list[float]] = []  # every combination's ratios, in quick_ratios' order
        paired = abtest.paired_samples

        def recorded(*a):
            out = paired(*a)
            samples.append(list(out["samples"]))
            return out

        abtest.paired_samples = recorded
        integrity.seal(target)
        name = f"autoresearch.{target}.kernels"
        sys.modules[name] = oracle.load_module_from(cand_file, name)
        measured = abtest.quick_ratios(target, seconds, match, sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {m.combo.label: s for m, s in zip(measured, samples, strict=True)}


def _baseline_first(setup: Callable, baseline: object) -> Callable:
    def wrapped(self, *params):
        inputs = importlib.import_module(f"autoresearch.{self.target}.inputs")
        make = getattr(inputs, self.workload_function)
        inputs.search(baseline, make(*self.workload_args(*params)))
        return setup(self, *params)

    return wrapped


def run_offsets(
    target: str, processes: int, order: str, pad: bool, seconds: float, match: str | None, log
) -> dict:
    """`processes` fresh worker processes, one after another; their raw pair ratios."""
    runs = []
    data = {
        "kind": "offsets",
        "target": target,
        "order": order,
        "pad": pad,
        "ab_seconds": seconds,
        "match": match,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count()},
        "runs": runs,
    }
    for i in range(processes):
        side = order if order != "alternate" else ("baseline", "candidate")[i % 2]
        cmd = [sys.executable, "-m", "autoresearch.calibrate", target, "--offsets-worker"]
        cmd += ["--order", side, "--ab-seconds", str(seconds)] + (["--pad"] if pad else [])
        cmd += ["--match", match] if match else []
        load0, start = os.getloadavg()[0], time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=PACKAGE_DIR.parent)
        secs, load1 = time.monotonic() - start, os.getloadavg()[0]
        if proc.returncode != 0:
            raise RuntimeError(f"worker {i} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        ratios = json.loads(proc.stdout.strip().splitlines()[-1])
        runs.append(
            {"order": side, "load_start": load0, "load_end": load1, "secs": secs, "ratios": ratios}
        )
        geo = math.exp(np.mean([math.log(np.median(s)) for s in ratios.values()]))
        print(
            f"process {i + 1}/{processes} ({side}{', pad' if pad else ''}): geomean {geo:.4f} "
            f"({secs:.1f} s, load {load1:.2f})",
            file=log,
            flush=True,
        )
    return data


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument(
        "--offsets",
        action="store_true",
        help="measure the per-process offset instead: --processes fresh A/A processes (the quick "
        "look's pairing), raw data saved under results/calibration/",
    )
    parser.add_argument("--processes", type=int, default=DEFAULT_PROCESSES)
    parser.add_argument("--order", choices=OFFSET_ORDERS, default="production")
    parser.add_argument("--pad", action="store_true", help="realign the workload per process")
    parser.add_argument("--match", help="only combinations whose label matches this regex")
    parser.add_argument("--offsets-worker", action="store_true", help=argparse.SUPPRESS)
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

    if args.offsets_worker:
        ratios = offsets_worker(args.target, args.order, args.pad, args.ab_seconds, args.match)
        print(json.dumps(ratios))
        return 0
    if args.offsets:
        data = run_offsets(
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
        with clock(args.clock):
            save = Path(args.save) if args.save else decisions_path(args.target, OFFSETS_DIR)
            data = measure(args.target, args.decisions, args.ab_seconds, save)
        lines.append(f"saved: {save}")
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
