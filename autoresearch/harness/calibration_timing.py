"""The timed part of autoresearch.calibrate: injected changes, decision rounds in worker
processes, and the full decision (real bench + real gate in a throwaway clone).

Each combination of each round of decisions runs in a fresh process of its own (`calibrate T
--round-worker N --combination I`), as asv runs each parameter combination of a benchmark in a
process of its own (asv's runner, `_run_benchmark_single_param`): the process loads the current
kernel and a second copy of it from its file (as bench.py loads a baseline), compiles both, the
baseline first in odd rounds, and pairs them with the production pairing
(autoresearch.abtest.paired_ratios) once per condition, with or without an injected change. A
placement offset of one process (where code and data landed) then stays in one combination of one
round, as in a decision, instead of repeating in all 20 rounds (one process for every decision) or
in every combination of a round (one process per round, session 31: there one process's offset on
three of topk_merge's combinations made an A/A keep; docs/gate.md, "Across processes").

An injected slowdown of x makes the candidate side do extra calibrated work of x times its own
measured call time; an injected speed-up of x slows the *baseline* instead (by 1/(1-x) - 1 of its
call time), so the candidate/baseline ratio is 1 - x. Conditions rotate inside each round, so
every condition sees the same machine over time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from autoresearch import PACKAGE_DIR, abtest
from autoresearch.harness.calibration import (
    INJECTED,
    PROCESSES_BOTH_ORDERS,
    SAMPLE_DIGITS,
    as_stored,
    judge,
    machine_of,
)
from autoresearch.harness.machine import machine_name
from autoresearch.harness.verdict import read_gate_json

CALL_TIME_REPEATS = 5  # timed calls whose median sets the size of an injection
SPIN_PROBE_ITERATIONS = 2_000_000  # spin iterations timed to learn the spin's speed


class MeasurementFailed(RuntimeError):
    """A process the calibration ran failed: calibrate exits 5 with this message."""


# The clocks the pairing can be measured with. "abtest": whatever abtest.py uses (since 2026-11-26
# the process's CPU time, as "process"); "process": CPU time of the whole process (all threads).
CLOCKS = {"abtest": None, "process": time.process_time}


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
    """Burns a requested number of CPU seconds of work (at the speed measured at creation). The
    cost of calling it is not taken off: inject() has the other side call it too, for no work."""

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
    """CPU seconds of one call as the pairing sees it: back to back, in batches as long as one of
    its samples (abtest.AB_MIN_SAMPLE_SECS). A call timed alone costs more than one in a run of
    calls (the allocator, caches): sized from lone calls, 2% injected into dictionary's 150 us
    calls read 3.4-4%."""

    # CPU time, not wall time: on a busy machine a wall-clock call time includes waits for the
    # CPU, and an injection sized from it overshoots (+3% measured as +3.6-8% under load 5).
    def batch(number: int) -> float:
        start = time.thread_time()
        for _ in range(number):
            run()
        return (time.thread_time() - start) / number

    number = max(1, int(abtest.AB_MIN_SAMPLE_SECS / max(batch(1), 1e-9)) + 1)
    return float(np.median([batch(number) for _ in range(CALL_TIME_REPEATS)]))


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
    The other side calls the spinner too, for no work, so the two sides differ by the injected
    work alone: a spin call costs more than its work (Python, numba's dispatch, the kernel cooler
    after it), and on dictionary's 150 us calls a one-sided spin read 2% as 3.1% and 5% as 6.1%.
    measure_round sizes t_c and t_b from calls followed by an empty spin, as the pairing makes
    them.
    """
    if change > 0:
        extra = change * t_c
        return (lambda: (run_c(), spin(extra))), (lambda: (run_b(), spin(0.0)))
    if change < 0:
        extra = (1.0 / (1.0 + change) - 1.0) * t_b
        return (lambda: (run_c(), spin(0.0))), (lambda: (run_b(), spin(extra)))
    return run_c, run_b


# ---------------------------------------------------------------------------
# The suite's main classes
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


def combinations(target: str) -> list[tuple[str, tuple]]:
    """Every (class, parameter combination) of the target's main classes, in the order the
    stored ratios list them (as_stored): what `--combination I` indexes."""
    return [
        (cls, combo)
        for cls, values in main_classes(target).items()
        for combo in itertools.product(*values)
    ]


# ---------------------------------------------------------------------------
# Decisions: one process per round and combination
# ---------------------------------------------------------------------------


def conditions() -> list[float]:
    return [0.0] + [sign * x for x in INJECTED for sign in (+1, -1)]


def condition_name(change: float) -> str:
    if change == 0:
        return "aa"
    return f"{'slower' if change > 0 else 'faster'}_{abs(change) * 100:.0f}pct"


def round_order(round_: int) -> list[float]:
    """The conditions of one round, rotated so that each comes first in turn."""
    conds = conditions()
    return conds[round_ % len(conds) :] + conds[: round_ % len(conds)]


def baseline_name(target: str, round_: int) -> str:
    """The baseline copy's module name in a round: production's (abtest), with a digest drawn per
    round. In a decision the digest is the baseline's content hash, a new one at every kept
    kernel, and the name moves where the copy's code lands (docs/gate.md, "Code placement"): a
    name per round makes that offset vary between the calibration's decisions as between real
    ones, instead of one name's offset repeating in all of them."""
    digest = hashlib.sha256(f"calibration round {round_}".encode()).hexdigest()[:12]
    return abtest.baseline_module_name(target, digest)


def compiled_first(round_: int) -> str:
    """Which copy a round's process compiles (and so places) first: alternating."""
    return "baseline" if round_ % 2 else "candidate"


def measure_round(
    target: str,
    round_: int,
    seconds: float,
    combination: int | None = None,
    first: str | None = None,
) -> list[dict]:
    """One round in this process: a record per condition, in round_order; every combination, or
    only the one at index `combination` of combinations(target) (a worker's share of a round).
    `first`: the copy loaded, compiled and timed first ("candidate" or "baseline", as in the
    suites' two paired benchmarks); by default compiled_first(round_), only compiled first.

    Each record: round, change, first, load (1-minute load average when it ended), secs, ratios
    ({class: [pair ratios per combination measured]}).
    """
    from autoresearch.oracle import load_module_from

    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    suite = importlib.import_module(f"benchmarks.bench_{target}")
    keys = combinations(target)
    if combination is not None:
        keys = [keys[combination]]
    workloads = {}
    for cls, combo in keys:
        bench = getattr(suite, cls)()  # the suite's own workload function and arguments
        make = getattr(inputs, bench.workload_function)
        workloads[(cls, combo)] = make(*bench.workload_args(*combo))
    loads_first = first is not None  # the order of loading too, as a decision's processes
    first = first or compiled_first(round_)

    def warm(c, b):  # compile or load, warm caches: the first copy first
        for w in workloads.values():
            sides = (b, c) if first == "baseline" else (c, b)
            for side in sides:
                inputs.search(side, w)

    # Both copies' machine code from numba's cache, as in a decision's processes (the round's
    # new baseline name is a new copy: its first process has a child compile it, then loads).
    # As a decision's processes (abtest.ENV_PAIRED_ONLY: the suite's setup leaves the package's
    # kernels module unloaded), the pairing loads the candidate as a new instance of its file.
    loaders = [
        lambda reload: abtest.candidate_module(target, reload or loads_first),
        lambda _reload: load_module_from(
            PACKAGE_DIR / target / "kernels.py", baseline_name(target, round_)
        ),
    ]
    baseline_first = loads_first and first == "baseline"  # loaded and timed first too
    step = -1 if baseline_first else 1
    candidate, baseline = abtest.load_on_one_route(
        loaders[::step], lambda *modules: warm(*modules[::step])
    )[::step]
    sides = {
        key: (
            lambda w=w: inputs.search(candidate, w),
            lambda w=w: inputs.search(baseline, w),
        )
        for key, w in workloads.items()
    }
    spin = Spinner()
    records = []
    for change in round_order(round_):
        start = time.monotonic()
        ratios: dict[str, list] = {cls: [] for cls, _combo in keys}  # the classes measured
        for (cls, _combo), (run_c, run_b) in sides.items():
            # Sized from calls as the injected pairing makes them (each followed by an empty
            # spin), so that the spin's disturbance of the kernel is in the base of the ratio.
            t_c, t_b = (call_time(lambda r=r: (r(), spin(0.0))) for r in (run_c, run_b))
            a, b = inject(run_c, run_b, change, t_c, t_b, spin)
            ratios[cls].append(abtest.paired_ratios(a, b, seconds, b_first=baseline_first))
        secs, load = time.monotonic() - start, os.getloadavg()[0]
        ratios = {
            cls: [[float(f"{r:.{SAMPLE_DIGITS}g}") for r in samples] for samples in per]
            for cls, per in ratios.items()
        }
        records.append(
            {
                "round": round_, "change": change, "first": first, "load": load, "secs": secs,
                "ratios": ratios,
            }
        )  # fmt: skip
    return records


def spawn_combination(
    target: str, round_: int, seconds: float, clock_name: str, combination: int, first: str
) -> list[dict]:
    """measure_round of one combination in a fresh process, `first` loaded first (its stderr is
    this one's)."""
    cmd = [sys.executable, "-m", "autoresearch.calibrate", target, "--round-worker", str(round_)]
    cmd += ["--combination", str(combination), "--ab-seconds", repr(seconds), "--clock", clock_name]
    cmd += ["--order", first]
    what = f"round {round_}'s worker for combination {combination} ({first} first)"
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=PACKAGE_DIR.parent)
    if proc.returncode != 0:
        raise MeasurementFailed(f"{what} exited {proc.returncode} (stderr above)")
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise MeasurementFailed(f"{what} printed no records: {proc.stdout[-500:]!r}") from None


def merge_round(shares: list[list[list[dict]]]) -> list[dict]:
    """One round's records from its workers' (per combination, in combination order, one list of
    records per process, in ORDERS' order): per condition, every combination's ratios in order
    (one list per process), the highest load, the summed time."""
    records = []
    for by_combination in zip(*(zip(*procs, strict=True) for procs in shares), strict=True):
        parts = [p for procs in by_combination for p in procs]
        if len({(p["round"], p["change"]) for p in parts}) != 1:
            raise MeasurementFailed("a round's workers measured different conditions")
        if any(tuple(p["first"] for p in procs) != ORDERS for procs in by_combination):
            raise MeasurementFailed(f"a combination's workers are not one per order {ORDERS}")
        ratios: dict[str, list] = {}
        for procs in by_combination:
            for cls in procs[0]["ratios"]:
                runs = [p["ratios"][cls] for p in procs]  # each: one combination's pairs
                ratios.setdefault(cls, []).extend([list(ps) for ps in zip(*runs, strict=True)])
        records.append(
            {
                "round": parts[0]["round"], "change": parts[0]["change"],
                "first": "+".join(p["first"] for p in by_combination[0]),
                "load": max(p["load"] for p in parts), "secs": sum(p["secs"] for p in parts),
                "ratios": ratios,
            }
        )  # fmt: skip
    return records


# The processes of one combination in a round: one per order, as the suites' two paired benchmarks.
ORDERS = ("candidate", "baseline")


def spawn_round(target: str, round_: int, seconds: float, clock_name: str) -> list[dict]:
    """One round, each combination measured in two fresh processes of its own (ORDERS), each
    pairing for its share of `seconds` (abtest.AB_PROCESSES); its records."""
    share = seconds / abtest.AB_PROCESSES
    shares = [
        [spawn_combination(target, round_, share, clock_name, i, first) for first in ORDERS]
        for i in range(len(combinations(target)))
    ]
    return merge_round(shares)


def measure(
    target: str,
    decisions: int,
    seconds: float,
    clock_name: str = "abtest",
    save: Path | None = None,
    log=sys.stderr,
    run_round: Callable[[str, int, float, str], list[dict]] = spawn_round,
) -> dict:
    """Pair ratios for `decisions` rounds of every condition, a fresh process per round and
    combination:
    {"params", "records": [...]}. Saved (after every round, so an interrupted run still leaves
    its data) as JSON, it can be judged again later."""
    params = as_stored(main_classes(target))
    records: list[dict] = []
    data = {"kind": "decisions", "target": target, "ab_seconds": seconds, "params": params}
    data["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data["machine"] = {"cpus": os.cpu_count(), "name": machine_name()}
    data["processes"] = PROCESSES_BOTH_ORDERS
    # The clock the worker's pairing will use, named as older saved runs name it.
    data["clock"] = (
        "process" if (CLOCKS[clock_name] or abtest._clock) is time.process_time else "abtest"
    )
    data["records"] = records
    for d in range(decisions):
        for record in run_round(target, d, seconds, clock_name):
            records.append(record)
            decision = judge(target, params, record["ratios"], machine_of(data))
            print(
                f"decision {d + 1}/{decisions} {condition_name(record['change'])} "
                f"({record['first']} first): {decision.decision} geomean "
                f"{_g(decision.geomean_ratio)} [{_g(decision.geomean_ci_lo)}, "
                f"{_g(decision.geomean_ci_hi)}] ({record['secs']:.1f} s, load "
                f"{record['load']:.2f})",
                file=log,
                flush=True,
            )
        if save is not None:
            tmp = save.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n")
            tmp.replace(save)
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
            raise MeasurementFailed(f"{' '.join(cmd)} exited {proc.returncode}:\n{out}")
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
            "--results", str(clone / "results"), "--json", cwd=repo, check=False,
        )  # fmt: skip
        gate_secs = time.monotonic() - start
        judged, _before = read_gate_json(verdict.stdout)  # None: the gate failed before deciding
        return {
            "setup_secs": setup_secs,
            "bench_secs": bench_secs,
            "gate_secs": gate_secs,
            "decision": judged.decision if judged else "?",
            "exit_code": verdict.returncode,
            "geomean": _g(judged.geomean_ratio if judged else None),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
