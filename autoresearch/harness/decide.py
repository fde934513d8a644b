"""The keep gate's decision: pure, from parsed asv result files to keep, discard, incorrect or
undecided (autoresearch.gate is its command: it finds and reads the files and prints the result).

Per combination the ratio is the median of its pair ratios with a bootstrap interval; overall, the
geometric mean of those medians with a bootstrap interval that resamples pairs within every
combination. The rules are listed under the thresholds banner below; every number they use is a
named threshold with its reason. Every problem with the inputs gives "cannot decide"; the gate
never keeps on doubt. Reads no file, runs no process: the same inputs give the same decision.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.harness import asvresults

# ---------------------------------------------------------------------------
# Thresholds (fixed: every decision in the project's history was made with these)
# ---------------------------------------------------------------------------

# Two-sided confidence of every interval. Paired ratios are tight (A/A intervals are under 1% wide,
# toolchain-notes.md), so 99% costs little power, while the loop makes hundreds of decisions and
# each false keep ratchets noise into the baseline for good. Same level as asv's stats_ci_99.
CI_LEVEL = 0.99

# Bootstrap resamples: the 0.5% tails of a 99% interval rest on 20 resamples each, enough for the
# interval's ends to move by far less than the 1% minimum gain when the seed changes.
BOOTSTRAP_RESAMPLES = 4000

# Fixed seed: the same files always give the same decision. Each combination draws from its own
# stream (spawned from its name), so adding a combination leaves the others' intervals unchanged.
BOOTSTRAP_SEED = 0x6A7E_5EED

# Keep only if the geomean ratio is at most 1 - MIN_GAIN. Pairing removes the VM's drift but not
# per-process effects (code and data placement) that shift a ratio by a few tenths of a percent
# with identical code (A/A medians 0.998-1.006, toolchain-notes.md); a 1% floor stays above them,
# and a sub-percent "win" is not worth a commit whose cost is more code for the next edit to read.
MIN_GAIN = 0.01

# Worst-case guard: discard if any combination is significantly slower (interval above 1) by at
# least this much (point ratio >= 1 + WORST_SLOWDOWN). An average must not hide one shape getting
# worse for Lance's users; 5% is asv's default regression threshold (regressions_thresholds).
WORST_SLOWDOWN = 0.05

# Trade-off rule (the Rust harness's): the summed log-improvement of the significantly faster
# combinations must be at least this many times the summed log-regression of the significantly
# slower ones. Small regressions are tolerated only when they buy much larger gains.
TRADE_OFF_FACTOR = 10.0

# Plausibility ceiling: a geomean speed-up, or a speed-up of any one combination, above this factor
# in one step is "suspect" (exit 3) unless --confirmed. KernelBench flags 10x; a jump that large in
# one edit is more often a measurement or correctness hole than a kernel (Sakana's 150x was 3x
# slower). The experiment then re-measures; with --confirmed the gate judges that re-measurement
# by every rule (the caller, the experiment, re-measured before passing it).
SUSPECT_SPEEDUP = 10.0

# Noise guard: the spread of a combination's pair ratios, (q75 - q25) / median, is 1-2% on a quiet
# machine; with the 2 cores oversubscribed (load 4-9) wall-clock pairs spread 33% (median), A/A
# geomeans range 0.91-1.08 and one came within 0.4% of a false keep. The bootstrap assumes
# independent pairs, which bursts of preemption break. Above this median spread over the
# combinations the gate keeps nothing ("cannot decide": re-measure); a clear slowdown (interval
# above 1) is still discarded. CPU-time pairs spread 1.5-3% at load 8 (docs/gate.md).
MAX_PAIR_SPREAD = 0.05

# Fewest pair ratios a combination may have: with n pairs the widest interval for a median from
# order statistics covers 1 - 2**(1 - n), which first exceeds 99% at n = 8. abtest always records
# at least 12; fewer means the results were not made by it (asv --quick records one).
MIN_PAIRS = 8

# Fewest samples of a time_* result: one sample means `asv run --quick` overwrote the run.
MIN_TIME_SAMPLES = 2

# The parent's confirmation (autoresearch/confirm.py, `--confirmation FILE`): the same two kernels
# timed again in two processes of the parent's, CPU time read from the OS. asv's ratios come from
# the process the candidate runs in, which it could have edited on their way out; these cannot be.
# When the geometric mean over the combinations of asv-ratio / confirmed-ratio is off 1 by more
# than MAX_CONFIRM_GAP, or one combination's by more than MAX_CONFIRM_COMBO_GAP, the gate refuses
# to keep ("cannot decide"). Honest pairs measured both ways: see docs/gate.md ("Confirmation");
# a tampered pairing (every ratio scaled by 0.8) is off by 25%.
MAX_CONFIRM_GAP = 0.03
MAX_CONFIRM_COMBO_GAP = 0.10
CONFIRM_VERSION = 1

# Cluster bootstrap (cluster_measure; not yet used by decide): the stream that draws processes.
# Pairs of one process share that process's offset (where code and data landed, which copy was
# compiled first): an A/A combination read 0.945 in one process and 0.999 in three others
# (docs/gate.md, "Across processes"), which no resampling of one process's pairs can show.
CLUSTER_STREAM = "processes"

# ---------------------------------------------------------------------------
# Exit codes and decisions
# ---------------------------------------------------------------------------

KEEP, DISCARD, INCORRECT, UNDECIDED = 0, 1, 2, 3
DECISION_NAMES = {KEEP: "keep", DISCARD: "discard", INCORRECT: "incorrect", UNDECIDED: "undecided"}

AB_METHOD = "track_ab_ratio"
MISMATCH_METHOD = "track_mismatches"
REQUIRED_COLUMNS = ("result", "params", "version", "started_at", "samples")
BENCH_COMMAND = "python -m autoresearch.bench"
ASV_COMMAND = "asv run"


class CannotDecide(Exception):
    """An input the gate cannot trust (exit 3)."""


@dataclass
class Reason:
    rule: str  # input, pairing, correctness, significance, min_gain, worst_case, trade_off, ...
    ok: bool  # True: the rule held (and so helped decide a keep); False: it failed
    text: str

    def line(self) -> str:
        return f"{self.rule}={'pass' if self.ok else 'fail'} {self.text}"


@dataclass
class Combo:
    label: str  # Class/param/param, e.g. PqL2/(128,16,256)/clustered
    ratio: float  # median candidate/baseline time ratio of the pairs
    ci_lo: float
    ci_hi: float
    pairs: int
    verdict: str  # faster / slower / same (interval excludes 1 or not)
    spread: float  # (q75 - q25) / median of the pair ratios: how disturbed the pairing was
    time_s: float | None = None  # the candidate's median time_* (informational)


@dataclass
class Decision:
    decision: str
    exit_code: int
    target: str
    candidate: str
    baseline: str
    geomean_ratio: float | None = None
    geomean_ci_lo: float | None = None
    geomean_ci_hi: float | None = None
    combos: list[Combo] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    targets: list[Decision] = field(default_factory=list)  # per target, for --target all
    measured: list[Measured] = field(default_factory=list, repr=False)  # bootstrap draws

    @property
    def worst(self) -> Combo | None:
        return max(self.combos, key=lambda c: c.ratio) if self.combos else None

    @property
    def best(self) -> Combo | None:
        return min(self.combos, key=lambda c: c.ratio) if self.combos else None


def undecided(target: str, candidate: str, baseline: str, rule: str, text: str) -> Decision:
    return Decision(
        DECISION_NAMES[UNDECIDED], UNDECIDED, target, candidate, baseline,
        reasons=[Reason(rule, False, text)],
    )  # fmt: skip


# ---------------------------------------------------------------------------
# Reading asv results (by result_columns name, never by position)
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
        return list(_product(self.params))


def _product(params: list) -> list[tuple]:
    # asv's order: itertools.product over the parameters, the last varying fastest.
    out = [()]
    for values in params:
        out = [(*prefix, v) for prefix in out for v in values]
    return out


def read_bench(name: str, cells: dict) -> Bench:
    # asv drops trailing empty columns: a missing cell means None.
    params = cells.get("params")
    if not isinstance(params, list) or not all(isinstance(p, list) for p in params):
        raise CannotDecide(f"{name}: malformed params {params!r}")
    n = len(_product(params))
    results, samples = cells.get("result"), cells.get("samples")
    if not params:  # unparameterized: one combination, stored unwrapped
        results, samples = [results], None if samples is None else [samples]
    if results is None:
        results = [None] * n  # asv collapses all-failed to null
    if not isinstance(results, list) or len(results) != n:
        raise CannotDecide(f"{name}: {n} parameter combinations but result is {results!r:.80}")
    if samples is not None and (not isinstance(samples, list) or len(samples) != n):
        raise CannotDecide(f"{name}: samples do not match its {n} parameter combinations")
    version = cells.get("version")
    if not isinstance(version, str) or not version:
        raise CannotDecide(f"{name}: no benchmark version")
    started = cells.get("started_at")
    return Bench(name, params, version, started if _is_number(started) else None, results, samples)


def read_results(data: object, what: str) -> dict[str, Bench]:
    """Every benchmark of a parsed asv result file (api version 2)."""
    try:
        columns = asvresults.check(data, what)["result_columns"]
        if not all(c in columns for c in REQUIRED_COLUMNS):
            raise CannotDecide(f"{what}: result_columns {columns!r} lack {REQUIRED_COLUMNS}")
        return {name: read_bench(name, cells) for name, cells in asvresults.rows(data, what)}
    except asvresults.NotAResultFile as exc:
        raise CannotDecide(str(exc)) from None


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def finite(x: object) -> bool:
    return _is_number(x) and math.isfinite(x)


def _state(x: object) -> str:
    if x is None:
        return "null (failed)"
    if _is_number(x) and math.isnan(x):
        return "NaN (skipped)"
    return repr(x)


def target_benches(benches: dict[str, Bench], target: str) -> dict[str, Bench]:
    """The target's main benchmarks (bench_T.Class.method); *Peers classes are informational."""
    prefix = f"bench_{target}."
    out = {}
    for name, bench in benches.items():
        parts = name.split(".")
        if name.startswith(prefix) and len(parts) == 3 and not parts[1].endswith("Peers"):
            out[name] = bench
    return out


def targets_in(benches: dict[str, Bench]) -> set[str]:
    names = set()
    for name in benches:
        parts = name.split(".")
        if len(parts) == 3 and parts[0].startswith("bench_") and not parts[1].endswith("Peers"):
            names.add(parts[0].removeprefix("bench_"))
    return names


def combo_label(cls: str, combo: tuple) -> str:
    # Compact and space-free so an agent can grep it: PqL2/(128,16,256)/clustered
    return "/".join([cls, *(re.sub(r"[\s'\"]", "", v) for v in combo)])


# ---------------------------------------------------------------------------
# Fail-closed checks
# ---------------------------------------------------------------------------


def check_same_environment(cand: dict, base: dict) -> None:
    for key in ("env_name", "python", "requirements", "env_vars", "params"):
        if cand.get(key) != base.get(key):
            what = "machine" if key == "params" else "environment"
            raise CannotDecide(
                f"different {what}: candidate {key}={cand.get(key)!r}, "
                f"baseline {key}={base.get(key)!r}"
            )


def check_same_benchmarks(cand: dict[str, Bench], base: dict[str, Bench], target: str) -> None:
    """Both sides ran the same benchmark code over the same combinations. A `time_*` benchmark on
    one side only is allowed (the gate does not read it): a decision run measures the `track_*`
    methods alone, and only a kept commit's results add its `time_*` (bench.py --part)."""
    for name in sorted(set(cand) | set(base)):
        if (name not in base or name not in cand) and name.split(".")[-1].startswith("time_"):
            continue
        if name not in base:
            raise CannotDecide(f"{name} has results for the candidate only")
        if name not in cand:
            raise CannotDecide(f"{name} has results for the baseline only")
        c, b = cand[name], base[name]
        if c.version != b.version:
            raise CannotDecide(
                f"{name}: benchmark version differs (candidate {c.version[:12]}, baseline "
                f"{b.version[:12]}): the benchmark code changed, so the results do not compare; "
                f"start the chain again: python -m autoresearch.rebaseline {target} -m WHY"
            )
        if c.params != b.params:
            only_c = sorted(set(c.combos) - set(b.combos))
            only_b = sorted(set(b.combos) - set(c.combos))
            raise CannotDecide(
                f"{name}: parameter combinations differ (candidate only: {only_c}, baseline only: "
                f"{only_b}; or their order)"
            )


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------


def bootstrap_medians(samples: np.ndarray, label: str) -> np.ndarray:
    """BOOTSTRAP_RESAMPLES medians of resamples (with replacement) of `samples`."""
    n = len(samples)
    rng = SplitMix64(BOOTSTRAP_SEED).spawn(label)
    idx = rng.integers(BOOTSTRAP_RESAMPLES * n, n).reshape(BOOTSTRAP_RESAMPLES, n)
    return np.median(samples[idx], axis=1)


def interval(draws: np.ndarray) -> tuple[float, float]:
    tail = (1.0 - CI_LEVEL) / 2.0
    lo, hi = np.quantile(draws, [tail, 1.0 - tail])
    return float(lo), float(hi)


@dataclass
class Measured:
    combo: Combo
    log_draws: np.ndarray  # log of the bootstrap medians


def measure(label: str, samples: list, time_s: float | None) -> Measured:
    x = np.asarray(samples, dtype=np.float64)
    ratio = float(np.median(x))
    draws = bootstrap_medians(x, label)
    lo, hi = interval(draws)
    verdict = "faster" if hi < 1.0 else "slower" if lo > 1.0 else "same"
    q25, q75 = np.quantile(x, [0.25, 0.75])
    spread = float((q75 - q25) / ratio)
    return Measured(Combo(label, ratio, lo, hi, len(x), verdict, spread, time_s), np.log(draws))


def geomean_with_interval(measured: list[Measured]) -> tuple[float, float, float]:
    point = math.exp(sum(math.log(m.combo.ratio) for m in measured) / len(measured))
    # Resample pairs within every combination at once; the geomean of each joint resample.
    draws = np.exp(np.mean([m.log_draws for m in measured], axis=0))
    lo, hi = interval(draws)
    return point, lo, hi


@dataclass
class Clustered:
    """cluster_measure's answer: per combination and overall, over every process."""

    combos: list[Combo]
    geomean_ratio: float
    geomean_ci_lo: float
    geomean_ci_hi: float
    processes: int


def _process_stream(label: str, process: int) -> str:
    # The first process draws its pairs from the pair bootstrap's own stream, so one process gives
    # exactly gate.measure's interval; each further process has a stream of its own.
    return label if process == 0 else f"{label}@process{process}"


def cluster_measure(processes: list[dict[str, list]]) -> Clustered:
    """A two-stage (cluster) bootstrap: processes with replacement, then pairs within each.

    `processes`: one {combination label: pair ratios} per process, the same labels in each. A
    combination's ratio is the geometric mean over processes of that process's median pair ratio;
    the overall ratio is the geometric mean of those over combinations. Resample r draws as many
    processes as there are, with replacement (one draw of processes shared by every combination,
    since a process's offset can touch all its combinations), and for each drawn process its r-th
    pair-bootstrap median (bootstrap_medians); the 99% interval is the percentile interval of the
    draws. With one process this is the pair bootstrap (measure, geomean_with_interval) exactly;
    with processes that agree it is about as wide; a spread between processes widens it. Like any
    bootstrap over few clusters it is too narrow by about sqrt((P - 1) / P) for P processes.
    Raises ValueError on no process, a combination missing from one, or fewer than two pairs.
    """
    if not processes:
        raise ValueError("no process to resample")
    labels = list(processes[0])
    if not labels or any(set(p) != set(labels) for p in processes):
        raise ValueError("every process must measure the same combinations")
    n = len(processes)
    picks = SplitMix64(BOOTSTRAP_SEED).spawn(CLUSTER_STREAM).integers(BOOTSTRAP_RESAMPLES * n, n)
    picks = picks.reshape(BOOTSTRAP_RESAMPLES, n)
    rows = np.arange(BOOTSTRAP_RESAMPLES)[:, None]
    combos, combo_draws = [], []
    for label in labels:
        per = [np.asarray(p[label], dtype=np.float64) for p in processes]
        if any(len(x) < 2 for x in per):
            raise ValueError(f"{label}: fewer than two pairs in a process")
        medians = np.log([np.median(x) for x in per])
        draws = np.stack(
            [np.log(bootstrap_medians(x, _process_stream(label, i))) for i, x in enumerate(per)],
            axis=1,
        )  # (resamples, processes)
        log_draws = draws[rows, picks].mean(axis=1)
        lo, hi = interval(np.exp(log_draws))
        ratio = float(np.exp(medians.mean()))
        verdict = "faster" if hi < 1.0 else "slower" if lo > 1.0 else "same"
        spreads = [float(np.subtract(*np.quantile(x, [0.75, 0.25])) / np.median(x)) for x in per]
        pairs = sum(len(x) for x in per)
        combos.append(Combo(label, ratio, lo, hi, pairs, verdict, float(np.median(spreads))))
        combo_draws.append(log_draws)
    point = math.exp(sum(math.log(c.ratio) for c in combos) / len(combos))
    lo, hi = interval(np.exp(np.mean(combo_draws, axis=0)))
    return Clustered(combos, point, lo, hi, n)


# ---------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------


def _sha(results: object) -> str:
    return str(results.get("commit_hash", "?")) if isinstance(results, dict) else "?"


def decide(
    candidate_results: dict,
    baseline_results: dict | None,
    target: str,
    confirmed: bool = False,
    repair: bool = False,
    confirmation: dict | None = None,
) -> Decision:
    """Keep, discard, incorrect or undecided, from parsed asv result files.

    `baseline_results`: the baseline's file, or None when it has none in this environment (the
    ratios need none: both kernels ran in the candidate's process). `target`: a target name or
    "all" (every target whose A/B benchmarks ran, i.e. whose kernel differs from the first
    parent's; keep only if each one keeps). `confirmed`: the caller re-measured after a suspect
    speed-up. `repair`: the baseline fails the current oracle, so a correct candidate that is not
    slower is kept (the caller, the experiment, establishes that). `confirmation`: the parent's
    confirmation (bench.py writes it, confirm.py makes it); given, a keep needs it to agree with
    asv's ratios (MAX_CONFIRM_GAP). Pure: reads nothing.
    """
    candidate = _sha(candidate_results)
    baseline = "none" if baseline_results is None else _sha(baseline_results)
    try:
        cand = read_results(candidate_results, "candidate results")
        base = None
        if baseline_results is not None:
            base = read_results(baseline_results, "baseline results")
            check_same_environment(candidate_results, baseline_results)
        if target != "all":
            return _decide_target(
                cand, base, candidate, baseline, target, confirmed, repair, confirmation
            )
        paired = sorted(t for t in targets_in(cand) if _was_paired(cand, t))
        if not paired:
            raise CannotDecide(
                "no target's A/B benchmark ran in the candidate's results (every kernel equals "
                "its first parent's, or the run selected none): nothing to decide"
            )
        parts = [
            _decide_target(cand, base, candidate, baseline, t, confirmed, repair, confirmation)
            for t in paired
        ]
    except CannotDecide as exc:
        return undecided(target, candidate, baseline, "input", str(exc))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        return undecided(target, candidate, baseline, "input", f"malformed results: {exc!r}")
    return _combine(parts, candidate, baseline, [])


def _was_paired(benches: dict[str, Bench], target: str) -> bool:
    """Did any combination of the target's A/B benchmarks run (NaN: skipped, kernel unchanged)?"""
    return any(
        not (_is_number(r) and math.isnan(r))
        for name, b in target_benches(benches, target).items()
        if name.endswith(f".{AB_METHOD}")
        for r in b.results
    )


def _combine(parts: list[Decision], candidate: str, baseline: str, one_sided: list) -> Decision:
    # Undecided outranks incorrect outranks discard outranks keep: the most cautious answer wins.
    rank = [KEEP, DISCARD, INCORRECT, UNDECIDED]
    code = max((p.exit_code for p in parts), key=rank.index)
    out = Decision(DECISION_NAMES[code], code, "all", candidate, baseline, targets=parts)
    for p in parts:
        out.combos += p.combos
        out.reasons += [Reason(r.rule, r.ok, f"{p.target}: {r.text}") for r in p.reasons]
    if one_sided:
        out.reasons.append(
            Reason("targets", True, f"not compared (results on one side only): {one_sided}")
        )
    measured = [m for p in parts for m in p.measured]
    if measured and len(measured) == len(out.combos):
        out.geomean_ratio, out.geomean_ci_lo, out.geomean_ci_hi = geomean_with_interval(measured)
    return out


def _decide_target(
    cand: dict[str, Bench],
    base: dict[str, Bench] | None,
    candidate: str,
    baseline: str,
    target: str,
    confirmed: bool,
    repair: bool = False,
    confirmation: dict | None = None,
) -> Decision:
    cand_t = target_benches(cand, target)
    if not cand_t:
        raise CannotDecide(
            f"the candidate has no results for {target}: run `{ASV_COMMAND} {candidate[:12]}^! "
            f"-b bench_{target}` (or `{BENCH_COMMAND} {target}` with it checked out)"
        )
    base_t = None if base is None else target_benches(base, target)
    if base_t:
        check_same_benchmarks(cand_t, base_t, target)
    classes = sorted({name.split(".")[1] for name in cand_t})
    ab = {c: cand_t.get(f"bench_{target}.{c}.{AB_METHOD}") for c in classes}
    mm = {c: cand_t.get(f"bench_{target}.{c}.{MISMATCH_METHOD}") for c in classes}
    for c in classes:
        if ab[c] is None or mm[c] is None:
            raise CannotDecide(f"bench_{target}.{c} lacks {AB_METHOD} or {MISMATCH_METHOD}")

    measured, mismatched = [], []
    for c in classes:
        a, m = ab[c], mm[c]
        times = [
            b for n, b in cand_t.items() if n.startswith(f"bench_{target}.{c}.time_")
        ]  # fmt: skip
        for bench in [a, m, *times]:
            if bench.params != a.params:
                raise CannotDecide(f"{bench.name} and {a.name} have different combinations")
        for i, combo in enumerate(a.combos):
            label = combo_label(c, combo)
            count = m.results[i]
            if not finite(count):
                raise CannotDecide(f"{m.name} {label}: {_state(count)}")
            if count != 0:
                mismatched.append(f"{label} {count:.0f}")
            for t in times:
                _check_time(t, i, label)
            measured.append(measure(label, _ab_samples(a, i, label), _time_of(times, i)))

    if mismatched:  # the speed is still shown: "wrong, and this much faster" helps the agent
        geo, lo, hi = geomean_with_interval(measured)
        combos = [m.combo for m in measured]
        d = Decision("", 0, target, candidate, baseline, geo, lo, hi, combos, measured=measured)
        text = f"{len(mismatched)} of {len(combos)} combinations have mismatches: "
        d.reasons = [Reason("correctness", False, text + ", ".join(mismatched))]
        return _finish(d, INCORRECT)
    normal = _apply_rules(measured, target, candidate, baseline, confirmed)
    if repair and normal.exit_code == DISCARD:  # repair relaxes "faster", nothing else
        normal = _apply_repair_rules(normal)
    if confirmation is None:
        return normal
    if isinstance(confirmation, dict) and confirmation.get("skipped"):
        # bench.py skips the confirmation when no flag could keep asv's ratios (could_keep): then
        # it has nothing to say. Should the rules keep after all, that is no keep: fail closed.
        if normal.exit_code == KEEP:
            text = f"the confirmation was not made ({confirmation.get('error')})"
            normal.reasons = [Reason("confirmation", False, text)]
            return _finish(normal, UNDECIDED)
        return normal
    agrees = check_confirmation(measured, confirmation, target, candidate)
    if normal.exit_code == KEEP and not agrees.ok:
        normal.reasons = [agrees]  # cannot decide: the two measurements disagree
        return _finish(normal, UNDECIDED)
    if normal.exit_code == KEEP or not agrees.ok:
        normal.reasons.append(agrees)  # said on a keep, and on a discard it did not change
    return normal


def could_keep(candidate_results: object, target: str, repair: bool = False) -> bool:
    """Whether the gate could keep these results: judged with --confirmed (it lifts only the
    plausibility ceiling, so a re-measurement could keep), `repair` as the gate will be run, no
    baseline file and no confirmation. False only for a discard or incorrect; bench.py then skips
    the confirmation, which can only turn a keep into "cannot decide". (--repair keeps a candidate
    that is merely not slower, so every A/A would count as keepable: it is passed only when the
    experiment will judge a repair.)"""
    d = decide(candidate_results, None, target, confirmed=True, repair=repair)
    return d.exit_code in (KEEP, UNDECIDED)


def check_confirmation(
    measured: list[Measured], confirmation: object, target: str, candidate: str
) -> Reason:
    """The `confirmation` rule: asv's per-combination ratios against the parent's confirmation of
    them. Fails closed on anything malformed, on another commit's or target's confirmation, on a
    confirmation that could not be made, and on a combination it did not measure."""
    c = confirmation
    if not isinstance(c, dict) or c.get("version") != CONFIRM_VERSION:
        return Reason("confirmation", False, "the confirmation is not a version-1 object")
    if c.get("target") != target:
        return Reason(
            "confirmation", False, f"no confirmation for {target} (it is {c.get('target')!r}'s)"
        )
    if candidate not in ("?", c.get("commit")):
        return Reason(
            "confirmation", False, f"the confirmation is of {c.get('commit')}, not {candidate}"
        )
    if not c.get("ok"):
        return Reason(
            "confirmation", False, f"the confirmation could not be made: {c.get('error')}"
        )
    combos = c.get("combos")
    if not isinstance(combos, dict):
        return Reason("confirmation", False, "the confirmation has no combinations")
    gaps = []
    for m in measured:
        got = combos.get(m.combo.label)
        ratio = got.get("ratio") if isinstance(got, dict) else None
        if not (finite(ratio) and ratio > 0):
            return Reason(
                "confirmation", False, f"the confirmation did not measure {m.combo.label}"
            )
        gaps.append((m.combo.label, m.combo.ratio / ratio))
    if not gaps:
        return Reason("confirmation", False, "nothing to confirm")
    geo = math.exp(sum(math.log(g) for _, g in gaps) / len(gaps))
    label, worst = max(gaps, key=lambda x: abs(math.log(x[1])))
    text = (
        f"asv's ratios / the parent's confirmation: geomean {geo:.4f} (at most "
        f"{MAX_CONFIRM_GAP:.0%} off 1), worst {label} {worst:.4f} (at most "
        f"{MAX_CONFIRM_COMBO_GAP:.0%})"
    )
    ok = abs(math.log(geo)) <= math.log1p(MAX_CONFIRM_GAP) and abs(math.log(worst)) <= math.log1p(
        MAX_CONFIRM_COMBO_GAP
    )
    if not ok:
        text += ": the measurement in the candidate's process is not what its kernels cost"
    return Reason("confirmation", ok, text)


def _ab_samples(a: Bench, i: int, label: str) -> list:
    if not finite(a.results[i]):
        raise CannotDecide(
            f"{a.name} {label}: {_state(a.results[i])} (skipped: the kernel equals its first "
            f"parent's, so there was nothing to pair; failed: see asv's output)"
        )
    if a.samples is None:
        raise CannotDecide(
            f"{a.name}: no samples recorded (asv run without --record-samples); "
            f"rerun through `{BENCH_COMMAND}`, which always records them"
        )
    s = a.samples[i]
    if not isinstance(s, list) or len(s) < MIN_PAIRS:
        got = len(s) if isinstance(s, list) else _state(s)
        raise CannotDecide(f"{a.name} {label}: {got} pair ratios, fewer than {MIN_PAIRS}")
    if not all(finite(x) and x > 0 for x in s):
        raise CannotDecide(f"{a.name} {label}: a pair ratio is not a positive finite number")
    return s


def _check_time(t: Bench, i: int, label: str) -> None:
    if not finite(t.results[i]):
        raise CannotDecide(f"{t.name} {label}: {_state(t.results[i])}")
    s = None if t.samples is None else t.samples[i]
    if not isinstance(s, list) or len(s) < MIN_TIME_SAMPLES:
        got = len(s) if isinstance(s, list) else "no"
        raise CannotDecide(
            f"{t.name} {label}: {got} samples (asv --quick, or no --record-samples); "
            f"rerun through `{BENCH_COMMAND}`"
        )


def _time_of(times: list[Bench], i: int) -> float | None:
    return float(times[0].results[i]) if times else None


def _apply_rules(
    measured: list[Measured],
    target: str,
    candidate: str,
    baseline: str,
    confirmed: bool,
) -> Decision:
    combos = [m.combo for m in measured]
    geo, lo, hi = geomean_with_interval(measured)
    d = Decision("", 0, target, candidate, baseline, geo, lo, hi, combos, measured=measured)
    rules = [
        Reason(
            "significance",
            hi < 1.0,
            f"geomean ratio {geo:.4f}, {CI_LEVEL:.0%} interval [{lo:.4f}, {hi:.4f}] "
            + ("is below 1" if hi < 1.0 else "does not lie below 1"),
        ),
        Reason(
            "min_gain",
            geo <= 1.0 - MIN_GAIN,
            f"geomean gain {1 - geo:+.2%} (needs at least {MIN_GAIN:.0%})",
        ),
    ]
    rules.append(_worst_case(combos))
    gain = sum(-math.log(c.ratio) for c in combos if c.verdict == "faster")
    loss = sum(math.log(c.ratio) for c in combos if c.verdict == "slower")
    rules.append(
        Reason(
            "trade_off",
            gain >= TRADE_OFF_FACTOR * loss,
            f"summed log-gain {gain:.4f} vs {TRADE_OFF_FACTOR:g} x summed log-loss {loss:.4f}",
        )
    )
    failed = [r for r in rules if not r.ok]

    if noise := _noise(combos):
        d.reasons = [*failed, noise]
        return _finish(d, DISCARD if lo > 1.0 else UNDECIDED)  # only a clear slowdown is decided
    if failed:
        d.reasons = failed  # a discard lists only what failed
        return _finish(d, DISCARD)

    d.reasons = rules  # a keep lists every rule it passed
    fastest = min(c.ratio for c in combos)
    if geo >= 1.0 / SUSPECT_SPEEDUP and fastest >= 1.0 / SUSPECT_SPEEDUP:
        return _finish(d, KEEP)
    text = (
        f"speed-up {1 / geo:.1f}x (geomean), {1 / fastest:.1f}x (best combination) exceeds "
        f"{SUSPECT_SPEEDUP:g}x"
    )
    if not confirmed:
        text += ": re-measure, then judge the re-measurement with --confirmed"
        d.reasons = [Reason("plausibility", False, text)]  # an undecided lists only what failed
        return _finish(d, UNDECIDED)
    d.reasons.append(Reason("plausibility", True, text + ", confirmed by a re-measurement"))
    return _finish(d, KEEP)


def _apply_repair_rules(d: Decision) -> Decision:
    """Re-judge `d`, a discard by the normal rules, as a repair: the baseline fails the current
    oracle, so the candidate (correct: checked before this) need not be faster, only not slower:
    geomean interval at most 1 + MIN_GAIN, and no combination significantly slower by
    WORST_SLOWDOWN."""
    geo, lo, hi = d.geomean_ratio, d.geomean_ci_lo, d.geomean_ci_hi
    rules = [
        Reason(
            "not_slower",
            hi <= 1.0 + MIN_GAIN,
            f"repair: geomean ratio {geo:.4f}, {CI_LEVEL:.0%} interval [{lo:.4f}, {hi:.4f}] "
            + ("is" if hi <= 1.0 + MIN_GAIN else "is not")
            + f" within {1.0 + MIN_GAIN:.2f}",
        ),
        _worst_case(d.combos),
    ]
    failed = [r for r in rules if not r.ok]
    if noise := _noise(d.combos):
        d.reasons = [*failed, noise]
        return _finish(d, DISCARD if lo > 1.0 + MIN_GAIN else UNDECIDED)
    d.reasons = failed or rules
    return _finish(d, DISCARD if failed else KEEP)


def _worst_case(combos: list[Combo]) -> Reason:
    bad = [c for c in combos if c.verdict == "slower" and c.ratio >= 1.0 + WORST_SLOWDOWN]
    return Reason(
        "worst_case",
        not bad,
        "; ".join(f"{c.label} is {c.ratio - 1:.1%} slower" for c in bad)
        or f"no combination significantly slower by {WORST_SLOWDOWN:.0%} or more",
    )


def _noise(combos: list[Combo]) -> Reason | None:
    """The failed `noise` rule when the pairs spread too much to trust an interval, else None."""
    noise = pair_spread(combos)
    if noise <= MAX_PAIR_SPREAD:
        return None
    text = (
        f"median spread of the pair ratios {noise:.1%} exceeds {MAX_PAIR_SPREAD:.0%}: the "
        "machine was too busy for the pairing; re-measure when it is quieter"
    )
    return Reason("noise", False, text)


def pair_spread(combos: list[Combo]) -> float:
    """How disturbed a measurement was: the median over combinations of their pair spread."""
    return float(np.median([c.spread for c in combos]))


def _finish(d: Decision, code: int) -> Decision:
    d.exit_code, d.decision = code, DECISION_NAMES[code]
    return d
