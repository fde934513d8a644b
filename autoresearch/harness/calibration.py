"""autoresearch.calibrate's numbers: A/B ratios wrapped as asv results for the gate's pure
decision, what "caught" means and the smallest change the gate resolves, the report lines of a
saved run, and the across-processes summary and table (docs/gate.md). Pure: no kernel, no timing.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from autoresearch.harness import asvresults, decide, pairstats, thresholds
from autoresearch.harness.machine import canonical

# ---------------------------------------------------------------------------
# Constants (the targets come from issue 3; the rest says what "caught" means)
# ---------------------------------------------------------------------------

INJECTED = (0.02, 0.05)  # injected changes: +-2% (the resolution target) and +-5% (the guard's)
DEFAULT_DECISIONS = 20  # decisions per condition
MAX_AA_FALSE_KEEPS = 0  # target: no false keep in 20 A/A decisions
MIN_CAUGHT = 19  # target: the smaller injected change caught in at least 19 of 20 decisions
MAX_UNDECIDED = 1  # target: at most 1 in 20 decisions undecided (noise) at load <= UNDECIDED_LOAD
UNDECIDED_LOAD = 3.0  # above this load the noise guard is meant to decline: not counted
MAX_AA_BIAS = 0.005  # target: no combination's A/A ratio (geomean over decisions) off 1 by 0.5%
RESOLVED_FRACTION = 0.95  # "resolved": caught in at least this fraction of A/A decisions
BISECTION_STEPS = 12  # halvings when searching the smallest resolved change (0.5 / 2**12 ~ 0.01%)

ASV_COLUMNS = [
    "result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
    "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile",
]  # fmt: skip
ENV_NAME = "calibrate"
# Saved runs: one JSON document on one line, named .jsonl (asv reads every *.json under its results
# folder as a result file and warns on every publish/compare that a folder has no machine.json).
OFFSETS_SUFFIX = ".jsonl"
SAMPLE_DIGITS = 7  # significant digits kept of each pair ratio in the saved data
# data["processes"] of a saved decisions run: absent, one process made every decision (until
# session 31); these two markers: a process per round (session 31), or per round and combination
# (as asv runs a benchmark: a process per parameter combination).
PROCESSES_PER_ROUND = "one per round"
PROCESSES_PER_COMBINATION = "one per round and combination"
# Since session 41, as a decision makes them: two per round and combination, the candidate's copy
# first in one and the baseline's in the other (abtest.AB_PROCESSES); a combination's ratios are
# then one list of pair ratios per process, [[candidate first], [baseline first]].
PROCESSES_BOTH_ORDERS = "two per round and combination, one per order"
CANDIDATE, BASELINE = "c" * 40, "b" * 40  # stand-in commit ids of the synthesized results


# ---------------------------------------------------------------------------
# Results shaped like asv's (what the gate reads)
# ---------------------------------------------------------------------------


def as_stored(classes: dict[str, list]) -> dict[str, list]:
    """Params as asv stores them: repr strings."""
    return {
        cls: [[repr(v) for v in values] for values in params] for cls, params in classes.items()
    }


def processes_of(samples: list) -> list[list]:
    """A combination's saved ratios as one list of pair ratios per process (runs saved before
    session 41 hold one process's flat list)."""
    return samples if samples and isinstance(samples[0], list) else [samples]


def synthesized(
    target: str, params: dict[str, list], ratios: dict | None, commit: str, machine: str = ""
) -> dict:
    """An asv result file (format 2) measured on `machine` (asv's name: the gate's noise limits
    are per machine). params[cls]: repr strings; ratios[cls]: per-combination pair ratios (flat:
    one process; nested: one list per process, the second process written as
    track_ab_ratio_baseline_first), or None for the baseline's file."""
    started = time.time() * 1000.0
    results = {}
    two = ratios is not None and any(
        len(processes_of(s)) > 1 for per in ratios.values() for s in per
    )
    for cls, stored in params.items():
        n = len(list(itertools.product(*stored)))
        methods = (decide.AB_METHOD, decide.AB_SECOND_METHOD) if two else (decide.AB_METHOD,)
        for method in (*methods, "track_mismatches"):
            cells = {"params": stored, "version": f"{method}-v", "started_at": started}
            if ratios is None:
                cells["result"] = [float("nan")] * n
            elif method in methods:
                k = methods.index(method)
                per = [processes_of(s)[k] for s in ratios[cls]]
                cells["result"] = [float(np.median(s)) for s in per]
                cells["samples"] = per
            else:
                cells["result"] = [0] * n
            results[f"bench_{target}.{cls}.{method}"] = [cells.get(c) for c in ASV_COLUMNS]
    return {
        "commit_hash": commit,
        "env_name": ENV_NAME,
        "params": {"machine": machine},
        "python": sys.executable,
        "requirements": {},
        "env_vars": {},
        "result_columns": ASV_COLUMNS,
        "results": results,
        "version": 2,
    }


def judge(
    target: str, params: dict[str, list], ratios: dict[str, list], machine: str = ""
) -> decide.Decision:
    """The gate's decision on these ratios, as measured on `machine` (its noise limits)."""
    cand = synthesized(target, params, ratios, CANDIDATE, machine)
    base = synthesized(target, params, None, BASELINE, machine)
    return decide.decide(cand, base, target)


def _each_process(ratios: dict[str, list], change: Callable[[list], list]) -> dict[str, list]:
    """`change` applied to every process's pair ratios, the nesting kept."""

    def one(s: list) -> list:
        return [change(p) for p in s] if s and isinstance(s[0], list) else change(s)

    return {cls: [one(s) for s in per] for cls, per in ratios.items()}


def scaled(ratios: dict[str, list], factor: float) -> dict[str, list]:
    return _each_process(ratios, lambda s: [r * factor for r in s])


def first_part(ratios: dict[str, list], fraction: float) -> dict[str, list]:
    """The pairs of the first `fraction` of each run: what a shorter AB_SECONDS would have seen."""
    from autoresearch.abtest import AB_MIN_PAIRS  # loaded already: calibrate pairs with abtest

    return _each_process(ratios, lambda s: s[: max(AB_MIN_PAIRS, round(len(s) * fraction))])


def smallest_resolved(
    target: str,
    params: dict,
    ratios: dict,
    caught: Callable[[decide.Decision], bool],
    sign: int,
    machine: str = "",
) -> float:
    """Smallest uniform change (sign -1: speed-up, +1: slowdown) the gate catches on these A/A
    ratios, by bisection (the rules are monotone in a uniform change)."""
    lo, hi = 0.0, 0.5
    if not caught(judge(target, params, scaled(ratios, 1.0 + sign * hi), machine)):
        return float("inf")
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if caught(judge(target, params, scaled(ratios, 1.0 + sign * mid), machine)):
            hi = mid
        else:
            lo = mid
    return hi


def kept(d: decide.Decision) -> bool:
    return d.exit_code == decide.KEEP


def resolved_slower(d: decide.Decision) -> bool:
    return d.exit_code != decide.KEEP and d.geomean_ci_lo is not None and d.geomean_ci_lo > 1.0


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q, method="higher"))


def summarize(data: dict, fraction: float = 1.0, bisect: bool = True) -> dict:
    """Judge every saved measurement with the current gate: every number of the report and of the
    decisions table, from the raw ratios alone. `bisect=False` takes the smallest speed-up kept
    from significance and the 1% floor only (fast, for the table) instead of the whole gate."""
    target, params, machine = data["target"], data["params"], machine_of(data)
    by_change: dict[float, list] = {}
    for rec in data["records"]:
        ratios = rec["ratios"] if fraction >= 1.0 else first_part(rec["ratios"], fraction)
        judged = judge(target, params, ratios, machine)  # under the limits of its machine
        by_change.setdefault(rec["change"], []).append((judged, rec, ratios))
    aa = by_change.get(0.0, [])
    loads = [rec["load"] for rec in data["records"]]
    s: dict = {
        "target": target,
        "clock": data.get("clock", "abtest"),
        "ab_seconds": data["ab_seconds"] * fraction,
        "decisions": len(aa),
        "load": (float(np.median(loads)), max(loads)),
        "aa_keeps": [rec["load"] for d, rec, _ in aa if kept(d)],
        "aa_excludes_1": sum(d.geomean_ci_hi < 1 or d.geomean_ci_lo > 1 for d, _, _ in aa),
        "aa_geomean_range": (
            min(d.geomean_ratio for d, _, _ in aa),
            max(d.geomean_ratio for d, _, _ in aa),
        ),
        "aa_width": float(np.median([d.geomean_ci_hi - d.geomean_ci_lo for d, _, _ in aa])),
        "caught": {},
    }
    for x in INJECTED:
        for change, caught in ((x, resolved_slower), (-x, kept)):
            runs = by_change.get(change, [])
            s["caught"][change] = {
                "n": len(runs),
                "caught": sum(caught(d) for d, _, _ in runs),
                "missed_at": [rec["load"] for d, rec, _ in runs if not caught(d)],
                "median_geomean": float(np.median([d.geomean_ratio for d, _, _ in runs])),
                "kept": sum(kept(d) for d, _, _ in runs),
                "guard_fired": sum(
                    any(r.rule == "worst_case" for r in d.reasons) for d, _, _ in runs
                ),
            }
    every = [(d, rec) for runs in by_change.values() for d, rec, _ in runs]
    quiet = [d for d, rec in every if rec["load"] <= UNDECIDED_LOAD]
    s["undecided"] = (sum(d.exit_code == decide.UNDECIDED for d in quiet), len(quiet))
    s["aa_bias"] = aa_bias([r for _, _, r in aa], params)
    s["offset_sd"] = offset_sd([d for d, _, _ in aa])
    spreads = [decide.pair_spread(d.combos) for d, _ in every]
    s["pair_spread"] = (float(np.median(spreads)), max(spreads))
    s["secs"] = float(np.median([rec["secs"] for rec in data["records"]]))
    if bisect:
        speedups = [smallest_resolved(target, params, r, kept, -1, machine) for _, _, r in aa]
        slowdowns = [
            smallest_resolved(target, params, r, resolved_slower, +1, machine) for _, _, r in aa
        ]
        s["smallest_speedup"] = quantile(speedups, RESOLVED_FRACTION)
        s["smallest_slowdown"] = quantile(slowdowns, RESOLVED_FRACTION)
    else:
        s["smallest_speedup"] = _smallest_kept(
            [(d.geomean_ratio, d.geomean_ci_hi) for d, _, _ in aa]
        )
    smaller = [s["caught"][c] for c in (INJECTED[0], -INJECTED[0]) if c in s["caught"]]
    s["met"] = {
        "aa_keeps": len(s["aa_keeps"]) <= MAX_AA_FALSE_KEEPS,
        "caught": all(c["caught"] >= MIN_CAUGHT * c["n"] / DEFAULT_DECISIONS for c in smaller),
        "undecided": s["undecided"][0] <= MAX_UNDECIDED * s["undecided"][1] / DEFAULT_DECISIONS,
        "aa_bias": s["aa_bias"][1] < MAX_AA_BIAS,
    }
    return s


def analyze(data: dict, fraction: float = 1.0) -> tuple[list[str], bool]:
    """The report lines of a saved measurement and whether every target is met."""
    s = summarize(data, fraction)
    n = s["decisions"]
    lines = [
        f"clock: {s['clock']}",
        f"ab_seconds: {s['ab_seconds']:g}"
        + (f" (the first {fraction:.0%} of {data['ab_seconds']:g} s runs)" if fraction < 1 else ""),
        f"decisions_per_condition: {n}",
        f"load_during: median {s['load'][0]:.2f}, max {s['load'][1]:.2f} (2 = both cores busy)",
        f"aa_false_keeps: {len(s['aa_keeps'])}/{n}{_at(s['aa_keeps'])}",
        f"aa_interval_excludes_1: {s['aa_excludes_1']}/{n}",
        f"aa_geomean_range: {s['aa_geomean_range'][0]:.4f} {s['aa_geomean_range'][1]:.4f}",
        f"aa_geomean_ci_width_median: {s['aa_width']:.4f}",
    ]
    for change, c in s["caught"].items():
        name = f"{'slower' if change > 0 else 'faster'}_{abs(change) * 100:.0f}pct"
        extra = ""
        if change > 0:
            extra = f", kept {c['kept']}"
            if change >= thresholds.WORST_SLOWDOWN:
                extra += f", worst-case guard fired {c['guard_fired']}"
        lines.append(
            f"{name}_caught: {c['caught']}/{c['n']} (median geomean "
            f"{c['median_geomean']:.4f}{extra}){_at(c['missed_at'], 'missed')}"
        )
    label, bias = s["aa_bias"]
    lines += [
        f"undecided: {s['undecided'][0]}/{s['undecided'][1]} (decisions at load <= "
        f"{UNDECIDED_LOAD:g})",
        f"aa_bias_max: {bias:.2%} ({label}: its A/A ratio, geomean over the decisions)",
        f"aa_offset_sd: {s['offset_sd']:.2%} (a combination's A/A ratio between decisions, "
        "beyond its pairs' noise; pooled)",
        f"pair_spread: median {s['pair_spread'][0]:.2%}, max {s['pair_spread'][1]:.2%}",
        f"secs_per_decision: median {s['secs']:.1f} (the A/B pairing of every combination)",
        f"smallest_speedup_kept: {_pct(s['smallest_speedup'])} "
        f"(a uniform speed-up kept in {RESOLVED_FRACTION:.0%} of the A/A measurements)",
        f"smallest_slowdown_resolved: {_pct(s['smallest_slowdown'])} "
        f"(a uniform slowdown whose interval lies above 1 in {RESOLVED_FRACTION:.0%} of them)",
    ]
    return lines, all(s["met"].values())


def changed_since(rows: list[dict], started: str) -> str:
    """What changed the measured kernel or workload after a calibration began, from the target's
    results log: "none", or the counts of kept kernels and re-baselines (epochs) since `started`
    (both ISO 8601 UTC stamps, so they compare as text). A row describes the kernel it measured."""
    since = [r["decision"] for r in rows if r.get("timestamp", "") > started]
    parts = []
    for kind in ("keep", "epoch"):
        if n := since.count(kind):
            parts.append(f"{n} {kind}{'s' if n > 1 else ''}")
    return ", ".join(parts) or "none"


def process_count(data: dict) -> int:
    """How many processes made a saved decisions run's measurements."""
    rounds = len({r["round"] for r in data["records"]})
    combinations = sum(math.prod(len(v) for v in values) for values in data["params"].values())
    if data.get("processes") == PROCESSES_BOTH_ORDERS:
        return 2 * rounds * combinations
    if data.get("processes") == PROCESSES_PER_COMBINATION:
        return rounds * combinations
    if data.get("processes") == PROCESSES_PER_ROUND:
        return rounds
    return 1  # before session 31: one process made every decision


# Calibrations saved before they recorded the machine's name (sessions 30-39, 2026-12-04 to
# 2026-12-06) all ran on this machine: every asv result the repository committed in those days is
# filed under it (results/intel-xeon-processor-2cpu/).
UNNAMED_MACHINE = "intel-xeon-processor-2cpu"


def machine_of(data: dict) -> str:
    """The machine a saved calibration ran on (harness/machine.py's name, as named today)."""
    return canonical((data.get("machine") or {}).get("name") or UNNAMED_MACHINE)


def decisions_table(paths_or_data: list, logs: dict[str, list[dict]] | None = None) -> str:
    """The per-target calibration table of docs/gate.md, regenerated from saved decision runs.
    `logs`: each target's results log rows, for the column saying what changed since its row
    was measured (the row is stale when anything did)."""
    small, large = (f"{x * 100:.0f}%" for x in INJECTED)
    rows = [
        f"| target | machine | decisions (processes) | load (median, max) | A/A keeps "
        f"| {small} faster kept (measured) | {small} slower resolved (measured) "
        f"| {large} faster kept (measured) | {large} slower resolved (measured) "
        f"| undecided (load <= {UNDECIDED_LOAD:g}) | smallest speed-up kept "
        "| A/A bias: max combination | A/A offset SD beyond the pairs (pooled) "
        "| pair spread: median, max | A/B s per decision "
        "| targets met | since its run: kept kernels, epochs |\n"
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|---|"
    ]
    for item in paths_or_data:
        data = json.loads(Path(item).read_text()) if isinstance(item, (str, Path)) else item
        s = summarize(data, bisect=False)
        started = data.get("started")
        log = (logs or {}).get(s["target"], [])
        since = changed_since(log, started) if started else "unknown (no start time)"
        n = s["decisions"]
        processes = process_count(data)
        # from one process the column would read that process's drift, not offsets between them
        offset = f"{s['offset_sd']:.2%}" if processes > 1 else "n/a (one process)"

        def cell(change: float, s: dict = s) -> str:
            # with the change the pairs measured (median geomean - 1): a one-sided injection read
            # 2% as 2.2-2.9% in the runs before session 31 (docs/gate.md, "Per target")
            c = s["caught"].get(change)
            return f"{c['caught']}/{c['n']} ({c['median_geomean'] - 1:+.1%})" if c else "-"

        label, bias = s["aa_bias"]
        missed = [k for k, ok in s["met"].items() if not ok]
        rows.append(
            f"| {s['target']} | {machine_of(data)} | {n} ({processes}) "
            f"| {s['load'][0]:.2f}, {s['load'][1]:.2f} "
            f"| {len(s['aa_keeps'])}/{n} | {cell(-INJECTED[0])} | {cell(INJECTED[0])} "
            f"| {cell(-INJECTED[1])} | {cell(INJECTED[1])} "
            f"| {s['undecided'][0]}/{s['undecided'][1]} | {_pct(s['smallest_speedup'])} "
            f"| {bias:.2%} {label} | {offset} "
            f"| {s['pair_spread'][0]:.2%}, {s['pair_spread'][1]:.2%} "
            f"| {s['secs']:.1f} | {'yes' if not missed else 'no: ' + ', '.join(missed)} "
            f"| {since} |"
        )
    return "\n".join(rows)


def aa_bias(aa_ratios: list[dict[str, list]], params: dict[str, list]) -> tuple[str, float]:
    """The combination whose A/A median ratio, as a geometric mean over the A/A decisions, lies
    furthest from 1, and how far: a systematic offset between two copies of the same kernel (the
    pairs' noise averages out over the decisions; an offset does not)."""
    logs: dict[str, list[float]] = {}
    for ratios in aa_ratios:
        for cls, per in ratios.items():
            combos = itertools.product(*params[cls])
            for combo, samples in zip(combos, per, strict=True):
                label = asvresults.combo_label(cls, combo)
                medians = [float(np.median(p)) for p in processes_of(samples)]
                logs.setdefault(label, []).append(float(np.mean(np.log(medians))))
    label, values = max(logs.items(), key=lambda kv: abs(float(np.mean(kv[1]))))
    return label, abs(math.exp(float(np.mean(values))) - 1.0)


def offset_sd(aa_decisions: list) -> float:
    """The SD of a combination's log A/A ratio between decisions beyond what its own pairs
    explain, pooled over the combinations (method of moments, as the offsets table's *pooled*):
    per combination the variance of its log median over the decisions less the mean variance of
    its bootstrap medians (the gate's own pair bootstrap, `Decision.measured`), averaged over the
    combinations, then the square root (0 when the pairs explain it all). With a process per
    round and combination (asv's design) this is the per-process offset the gate's interval leaves
    out; with one process for every decision, only the drift between that process's rounds."""
    logs: dict[str, list[float]] = {}
    within: dict[str, list[float]] = {}
    for d in aa_decisions:
        for m in d.measured:
            logs.setdefault(m.combo.label, []).append(math.log(m.combo.ratio))
            within.setdefault(m.combo.label, []).append(float(np.var(m.log_draws)))
    excess = [
        float(np.var(v, ddof=1)) - float(np.mean(within[label]))
        for label, v in logs.items()
        if len(v) > 1
    ]
    return math.sqrt(max(0.0, float(np.mean(excess)))) if excess else 0.0


def _pct(x: float) -> str:
    return "none" if math.isinf(x) else f"{x:.2%}"


def _at(loads: list[float], what: str = "at") -> str:
    return f" ({what} load {', '.join(f'{x:.1f}' for x in loads)})" if loads else ""


# ---------------------------------------------------------------------------
# Across processes (issue 18): what a saved offsets run says
# ---------------------------------------------------------------------------


def _geomean_of_medians(ratios: dict[str, list]) -> float:
    return math.exp(float(np.mean([math.log(np.median(v)) for v in ratios.values()])))


def _smallest_kept(measured: list[tuple[float, float]]) -> float:
    """The smallest uniform speed-up that significance and the 1% floor keep in
    RESOLVED_FRACTION of these A/A (geomean, interval top) readings: scaling every ratio by 1 - s
    scales both, so it needs (1 - s) * top < 1 and (1 - s) * geomean <= 1 - MIN_GAIN."""
    need = [max(1.0 - 1.0 / hi, 1.0 - (1.0 - thresholds.MIN_GAIN) / g, 0.0) for g, hi in measured]
    return quantile(need, RESOLVED_FRACTION)


def offsets_summary(data: dict) -> dict:
    """What one saved offsets run says (every number of the table, from the raw ratios alone)."""
    runs = [r["ratios"] for r in data["runs"]]
    measured = [[pairstats.measure(k, v, None) for k, v in r.items()] for r in runs]
    own = [pairstats.geomean_with_interval(m) for m in measured]
    # Per combination: the variance of its log median between processes, less what the pairs'
    # own noise explains (the mean bootstrap variance within a process): the offset's variance.
    # Pooled: the mean of those differences over the combinations, unclipped (a method-of-moments
    # estimate of one offset variance shared by them: from 6 processes a single combination's
    # estimate is noisy, and clipping each at zero before the mean biases it upwards).
    # The A/A bias across processes: per combination the geometric mean over the processes of
    # its median (each process compiled and placed its two copies itself), the largest |. - 1|.
    # The decisions run's bias is one process's (its in-process part pairs the same two copies in
    # every decision), so a process offset reads there as a bias; here it averages out.
    offset_var, biases = [], []
    for i in range(len(runs[0])):
        logs = [math.log(m[i].combo.ratio) for m in measured]
        within = float(np.mean([np.var(m[i].log_draws) for m in measured]))
        offset_var.append(float(np.var(logs, ddof=1)) - within)
        biases.append((abs(math.exp(float(np.mean(logs))) - 1.0), measured[0][i].combo.label))
    offset_sd = [math.sqrt(max(0.0, v)) for v in offset_var]
    pooled_sd = math.sqrt(max(0.0, float(np.mean(offset_var))))
    geos = [g for g, _, _ in own]
    worst = max(abs(float(np.median(v)) - 1.0) for r in runs for v in r.values())
    two = [pairstats.cluster_measure([a, b]) for a, b in itertools.combinations(runs, 2)]
    every = pairstats.cluster_measure(runs)
    loads = [x for r in data["runs"] for x in (r["load_start"], r["load_end"])]
    return {
        "target": data["target"],
        "order": data["order"] + ("+pad" if data["pad"] else ""),
        "processes": len(runs),
        "combos": len(runs[0]),
        "load": (float(np.median(loads)), max(loads)),
        "within_width": float(np.median([hi - lo for _, lo, hi in own])),
        "between_sd": float(np.std(np.log(geos), ddof=1)) if len(geos) > 1 else float("nan"),
        "geomean_range": (min(geos), max(geos)),
        "own_excludes_1": sum(lo > 1.0 or hi < 1.0 for _, lo, hi in own),
        # significance and the 1% floor, the two rules an A/A keep must pass (others only refuse)
        "own_keeps": sum(hi < 1.0 and g <= 1.0 - thresholds.MIN_GAIN for g, _, hi in own),
        "pair2_keeps": sum(
            c.geomean_ci_hi < 1.0 and c.geomean_ratio <= 1.0 - thresholds.MIN_GAIN for c in two
        ),
        "worst_combo": worst,
        "bias": max(biases),
        "offset_sd": (float(np.median(offset_sd)), max(offset_sd)),
        "pooled_offset_sd": pooled_sd,
        "pair2_excludes_1": sum(c.geomean_ci_lo > 1.0 or c.geomean_ci_hi < 1.0 for c in two),
        "pair2": len(two),
        "pair2_width": float(np.median([c.geomean_ci_hi - c.geomean_ci_lo for c in two])),
        "cluster": (every.geomean_ratio, every.geomean_ci_lo, every.geomean_ci_hi),
        "own_smallest": _smallest_kept([(g, hi) for g, _, hi in own]),
        "pair2_smallest": _smallest_kept([(c.geomean_ratio, c.geomean_ci_hi) for c in two]),
        "secs": float(np.median([r["secs"] for r in data["runs"]])),
    }


def offsets_table(paths_or_data: list) -> str:
    """The "Across processes" table of docs/gate.md, regenerated from saved offsets runs."""
    header = (
        "| target | order | procs x combos | load (median, max) | within: 99% width (median) "
        "| between: geomean range; SD | own interval excludes 1 (kept) "
        "| worst combination abs(r-1) | A/A bias across processes (max combination) "
        "| combination offset SD: pooled; median, max "
        "| 2-process cluster: excludes 1 (kept); width | smallest speed-up kept: one process; "
        "2-process cluster | all processes, cluster 99% | s/process |\n"
        "|---|---|---|---|---:|---|---:|---:|---|---|---|---|---|---:|"
    )
    rows = [header]
    for item in paths_or_data:
        data = json.loads(Path(item).read_text()) if isinstance(item, (str, Path)) else item
        s = offsets_summary(data)
        g, lo, hi = s["cluster"]
        rows.append(
            f"| {s['target']} | {s['order']} | {s['processes']} x {s['combos']} "
            f"| {s['load'][0]:.2f}, {s['load'][1]:.2f} | {s['within_width']:.2%} "
            f"| {s['geomean_range'][0]:.4f}-{s['geomean_range'][1]:.4f}; {s['between_sd']:.2%} "
            f"| {s['own_excludes_1']}/{s['processes']} ({s['own_keeps']}) | {s['worst_combo']:.2%} "
            f"| {s['bias'][0]:.2%} {s['bias'][1]} "
            f"| {s['pooled_offset_sd']:.2%}; {s['offset_sd'][0]:.2%}, {s['offset_sd'][1]:.2%} "
            f"| {s['pair2_excludes_1']}/{s['pair2']} ({s['pair2_keeps']}); {s['pair2_width']:.2%} "
            f"| {s['own_smallest']:.2%}; {s['pair2_smallest']:.2%} "
            f"| {g:.4f} [{lo:.4f}, {hi:.4f}] | {s['secs']:.0f} |"
        )
    return "\n".join(rows)


# ---------------------------------------------------------------------------
# Saved runs (results/calibration/, committed)
# ---------------------------------------------------------------------------


def decisions_path(target: str, folder: Path) -> Path:
    """Where a new decisions run saves its raw data (committed, as the offsets runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return folder / f"decisions-{target}-{stamp}{OFFSETS_SUFFIX}"


def save_offsets(data: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = data["started"].replace(":", "").replace("-", "")
    name = f"offsets-{data['target']}-{data['order']}{'-pad' if data['pad'] else ''}-{stamp}"
    for run in data["runs"]:
        run["ratios"] = {
            k: [float(f"{r:.{SAMPLE_DIGITS}g}") for r in v] for k, v in run["ratios"].items()
        }
    path = folder / (name + OFFSETS_SUFFIX)
    path.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    return path
