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

from autoresearch.harness import decide

# ---------------------------------------------------------------------------
# Constants (the targets come from issue 3; the rest says what "caught" means)
# ---------------------------------------------------------------------------

INJECTED = (0.03, 0.10)  # injected changes: +-3% (the target) and +-10%
DEFAULT_DECISIONS = 20  # decisions per condition
MAX_AA_FALSE_KEEPS = 0  # target: no false keep in 20 A/A decisions
MIN_CAUGHT_3PCT = 19  # target: an injected 3% change caught in at least 19 of 20 decisions
RESOLVED_FRACTION = 0.95  # "resolved": caught in at least this fraction of A/A decisions
BISECTION_STEPS = 12  # halvings when searching the smallest resolved change (0.5 / 2**12 ~ 0.01%)

ASV_COLUMNS = [
    "result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
    "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile",
]  # fmt: skip
ENV_NAME = "calibrate"
CANDIDATE, BASELINE = "c" * 40, "b" * 40  # stand-in commit ids of the synthesized results


# ---------------------------------------------------------------------------
# Results shaped like asv's (what the gate reads)
# ---------------------------------------------------------------------------


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


def judge(target: str, params: dict[str, list], ratios: dict[str, list]) -> decide.Decision:
    cand = synthesized(target, params, ratios, CANDIDATE)
    base = synthesized(target, params, None, BASELINE)
    return decide.decide(cand, base, target)


def scaled(ratios: dict[str, list], factor: float) -> dict[str, list]:
    return {cls: [[r * factor for r in s] for s in per] for cls, per in ratios.items()}


def first_part(ratios: dict[str, list], fraction: float) -> dict[str, list]:
    """The pairs of the first `fraction` of each run: what a shorter AB_SECONDS would have seen."""
    from autoresearch.abtest import AB_MIN_PAIRS  # loaded already: calibrate pairs with abtest

    cut = lambda s: s[: max(AB_MIN_PAIRS, round(len(s) * fraction))]  # noqa: E731
    return {cls: [cut(s) for s in per] for cls, per in ratios.items()}


def smallest_resolved(
    target: str, params: dict, ratios: dict, caught: Callable[[decide.Decision], bool], sign: int
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


def kept(d: decide.Decision) -> bool:
    return d.exit_code == decide.KEEP


def resolved_slower(d: decide.Decision) -> bool:
    return d.exit_code != decide.KEEP and d.geomean_ci_lo is not None and d.geomean_ci_lo > 1.0


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
                if x >= decide.WORST_SLOWDOWN:
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
    need = [max(1.0 - 1.0 / hi, 1.0 - (1.0 - decide.MIN_GAIN) / g, 0.0) for g, hi in measured]
    return quantile(need, RESOLVED_FRACTION)


def offsets_summary(data: dict) -> dict:
    """What one saved offsets run says (every number of the table, from the raw ratios alone)."""
    runs = [r["ratios"] for r in data["runs"]]
    measured = [[decide.measure(k, v, None) for k, v in r.items()] for r in runs]
    own = [decide.geomean_with_interval(m) for m in measured]
    # Per combination: the variance of its log median between processes, less what the pairs'
    # own noise explains (the mean bootstrap variance within a process): the offset's variance.
    offset_sd = []
    for i in range(len(runs[0])):
        logs = [math.log(m[i].combo.ratio) for m in measured]
        within = float(np.mean([np.var(m[i].log_draws) for m in measured]))
        offset_sd.append(math.sqrt(max(0.0, float(np.var(logs, ddof=1)) - within)))
    geos = [g for g, _, _ in own]
    worst = max(abs(float(np.median(v)) - 1.0) for r in runs for v in r.values())
    two = [decide.cluster_measure([a, b]) for a, b in itertools.combinations(runs, 2)]
    every = decide.cluster_measure(runs)
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
        "own_keeps": sum(hi < 1.0 and g <= 1.0 - decide.MIN_GAIN for g, _, hi in own),
        "pair2_keeps": sum(
            c.geomean_ci_hi < 1.0 and c.geomean_ratio <= 1.0 - decide.MIN_GAIN for c in two
        ),
        "worst_combo": worst,
        "offset_sd": (float(np.median(offset_sd)), max(offset_sd)),
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
        "| worst combination abs(r-1) | combination offset SD: median, max "
        "| 2-process cluster: excludes 1 (kept); width | smallest speed-up kept: one process; "
        "2-process cluster | all processes, cluster 99% | s/process |\n"
        "|---|---|---|---|---:|---|---:|---:|---|---|---|---|---:|"
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
            f"| {s['offset_sd'][0]:.2%}, {s['offset_sd'][1]:.2%} "
            f"| {s['pair2_excludes_1']}/{s['pair2']} ({s['pair2_keeps']}); {s['pair2_width']:.2%} "
            f"| {s['own_smallest']:.2%}; {s['pair2_smallest']:.2%} "
            f"| {g:.4f} [{lo:.4f}, {hi:.4f}] | {s['secs']:.0f} |"
        )
    return "\n".join(rows)
