"""The keep gate's decision: pure, from parsed asv result files to keep, discard, incorrect or
undecided (autoresearch.gate is its command: it finds and reads the files and prints the result).

Per combination the ratio is the median of its pair ratios with a bootstrap interval; overall, the
geometric mean of those medians with a bootstrap interval that resamples pairs within every
combination (harness/pairstats.py). The rules are below; every number they use is a named
threshold with its reason in harness/thresholds.py. Every problem with the inputs gives "cannot
decide"; the gate never keeps on doubt. Reads no file, runs no process: the same inputs give the
same decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from autoresearch.common import geomean
from autoresearch.harness import asvresults
from autoresearch.harness.asvresults import (
    Bench,
    cell_state,
    combo_label,
    finite,
    is_number,
    target_benches,
    targets_in,
)
from autoresearch.harness.pairstats import (
    Combo,
    Measured,
    geomean_with_interval,
    measure_processes,
)
from autoresearch.harness.thresholds import (
    CI_LEVEL,
    CONFIRM_VERSION,
    MAX_CONFIRM_COMBO_GAP,
    MAX_CONFIRM_GAP,
    MIN_GAIN,
    MIN_PAIRS,
    MIN_TIME_SAMPLES,
    NOISE_OUTWEIGHED_SPREADS,
    SUSPECT_SPEEDUP,
    TRADE_OFF_FACTOR,
    WORST_SLOWDOWN,
    max_pair_spread,
)

# ---------------------------------------------------------------------------
# Exit codes and decisions
# ---------------------------------------------------------------------------

KEEP, DISCARD, INCORRECT, UNDECIDED = 0, 1, 2, 3
DECISION_NAMES = {KEEP: "keep", DISCARD: "discard", INCORRECT: "incorrect", UNDECIDED: "undecided"}

AB_METHOD = "track_ab_ratio"
# The same pairing in a second process per combination, the baseline's copy first (abtest
# AB_PROCESSES). Results made before it (session 41) have the first process only: read as one.
AB_SECOND_METHOD = "track_ab_ratio_baseline_first"
AB_METHODS = (AB_METHOD, AB_SECOND_METHOD)
MISMATCH_METHOD = "track_mismatches"
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
    machine: str = ""  # asv's machine name in the candidate's results: its noise limits

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


def read_results(data: object, what: str) -> dict[str, Bench]:
    """asvresults.benches, with what keeps a file from being read as the gate's CannotDecide."""
    try:
        return asvresults.benches(data, what)
    except asvresults.NotAResultFile as exc:
        raise CannotDecide(str(exc)) from None


# ---------------------------------------------------------------------------
# Fail-closed checks
# ---------------------------------------------------------------------------


# asv's machine parameters that differ between two boots of one machine (a VM of the same kind: its
# kernel build, a few KB of RAM) and change nothing the paired ratios measure (both kernels run in
# the candidate's process): left out of the comparison, or every kept baseline recorded before a
# reboot or on the previous VM of the same name would be undecided until re-baselined.
BOOT_DETAIL_PARAMS = ("os", "ram")


def _machine(params: object) -> object:
    if not isinstance(params, dict):
        return params
    return {k: v for k, v in params.items() if k not in BOOT_DETAIL_PARAMS}


def check_same_environment(cand: dict, base: dict) -> None:
    for key in ("env_name", "python", "requirements", "env_vars", "params"):
        same = (
            _machine(cand.get(key)) == _machine(base.get(key))
            if key == "params"
            else cand.get(key) == base.get(key)
        )
        if not same:
            what = "machine" if key == "params" else "environment"
            raise CannotDecide(
                f"different {what}: candidate {key}={cand.get(key)!r}, "
                f"baseline {key}={base.get(key)!r}"
            )


def check_same_benchmarks(cand: dict[str, Bench], base: dict[str, Bench], target: str) -> None:
    """Both sides ran the same benchmark code over the same combinations. A `time_*` or
    `track_mismatches` benchmark on one side only is allowed (the gate reads neither side's
    `time_*` and only the candidate's mismatches): a decision run measures the paired benchmarks
    alone, and only a kept commit's results add the others (bench.py --part)."""
    for name in sorted(set(cand) | set(base)):
        method = name.split(".")[-1]
        if (name not in base or name not in cand) and (
            method.startswith("time_") or method == MISMATCH_METHOD
        ):
            continue
        if name not in base and method == AB_SECOND_METHOD:
            continue  # a baseline recorded before the second process existed: never read
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
    oracle_checked: int | None = None,
) -> Decision:
    """Keep, discard, incorrect or undecided, from parsed asv result files.

    `baseline_results`: the baseline's file, or None when it has none in this environment (the
    ratios need none: both kernels ran in the candidate's process). `target`: a target name or
    "all" (every target whose A/B benchmarks ran, i.e. whose kernel differs from the first
    parent's; keep only if each one keeps). `confirmed`: the caller re-measured after a suspect
    speed-up. `repair`: the baseline fails the current oracle, so a correct candidate that is not
    slower is kept (the caller, the experiment, establishes that). `confirmation`: the parent's
    confirmation (bench.py writes it, confirm.py makes it); given, a keep needs it to agree with
    asv's ratios (MAX_CONFIRM_GAP). `oracle_checked`: how many speed combinations the oracle
    checked the candidate's kernel on against the reference and passed (its `--report`, matched to
    the candidate's kernel by the caller); it stands in for a `track_mismatches` the results lack
    (the experiment's decision run measures only the ratios) when it covers every combination.
    Pure: reads nothing.
    """
    candidate = _sha(candidate_results)
    baseline = "none" if baseline_results is None else _sha(baseline_results)
    try:
        cand = read_results(candidate_results, "candidate results")
        machine = asvresults.machine(candidate_results)
        base = None
        if baseline_results is not None:
            base = read_results(baseline_results, "baseline results")
            check_same_environment(candidate_results, baseline_results)
        if target != "all":
            return _decide_target(
                cand, base, candidate, baseline, target, confirmed, repair, confirmation,
                oracle_checked, machine,
            )  # fmt: skip
        paired = sorted(t for t in targets_in(cand) if _was_paired(cand, t))
        if not paired:
            raise CannotDecide(
                "no target's A/B benchmark ran in the candidate's results (every kernel equals "
                "its first parent's, or the run selected none): nothing to decide"
            )
        parts = [
            _decide_target(
                cand, base, candidate, baseline, t, confirmed, repair, confirmation, machine=machine
            )
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
        not (is_number(r) and math.isnan(r))
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
    oracle_checked: int | None = None,
    machine: str = "",
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
    ab2 = {c: cand_t.get(f"bench_{target}.{c}.{AB_SECOND_METHOD}") for c in classes}
    mm = {c: cand_t.get(f"bench_{target}.{c}.{MISMATCH_METHOD}") for c in classes}
    for c in classes:
        if ab[c] is None:
            raise CannotDecide(f"bench_{target}.{c} lacks {AB_METHOD}")
        if mm[c] is None and oracle_checked is None:
            raise CannotDecide(
                f"bench_{target}.{c} lacks {MISMATCH_METHOD}, and no oracle report "
                "(--oracle-report) stands in for it"
            )
    if len({ab2[c] is None for c in classes}) > 1:  # a run that selected one process for some
        lacking = [c for c in classes if ab2[c] is None]
        raise CannotDecide(
            f"bench_{target}: {AB_SECOND_METHOD} ran for some classes but not for {lacking}"
        )
    if any(mm[c] is None for c in classes):  # correct on the speed workload by the oracle's check
        grid = ab_combinations(cand_t)
        if oracle_checked != grid:
            raise CannotDecide(
                f"the results have no {MISMATCH_METHOD} and the oracle's report checked "
                f"{oracle_checked} speed combinations, not the {grid} benchmarked"
            )

    measured, mismatched = [], []
    for c in classes:
        a, a2, m = ab[c], ab2[c], mm[c]
        times = [
            b for n, b in cand_t.items() if n.startswith(f"bench_{target}.{c}.time_")
        ]  # fmt: skip
        for bench in [a, *(x for x in (a2, m) if x is not None), *times]:
            if bench.params != a.params:
                raise CannotDecide(f"{bench.name} and {a.name} have different combinations")
        for i, combo in enumerate(a.combos):
            label = combo_label(c, combo)
            count = m.results[i] if m is not None else 0
            if not finite(count):
                raise CannotDecide(f"{m.name} {label}: {cell_state(count)}")
            if count != 0:
                mismatched.append(f"{label} {count:.0f}")
            for t in times:
                _check_time(t, i, label)
            processes = [_ab_samples(x, i, label) for x in (a, a2) if x is not None]
            measured.append(measure_processes(label, processes, _time_of(times, i)))

    if mismatched:  # the speed is still shown: "wrong, and this much faster" helps the agent
        geo, lo, hi = geomean_with_interval(measured)
        combos = [m.combo for m in measured]
        d = Decision("", 0, target, candidate, baseline, geo, lo, hi, combos, measured=measured)
        text = f"{len(mismatched)} of {len(combos)} combinations have mismatches: "
        d.reasons = [Reason("correctness", False, text + ", ".join(mismatched))]
        return _finish(d, INCORRECT)
    normal = _apply_rules(measured, target, candidate, baseline, confirmed, machine)
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


def ab_combinations(target_benches: dict[str, Bench]) -> int:
    """How many combinations a target's paired benchmarks have (every class's grid)."""
    return sum(len(b.combos) for n, b in target_benches.items() if n.endswith(f".{AB_METHOD}"))


def could_keep(candidate_results: object, target: str, repair: bool = False) -> bool:
    """Whether the gate could keep these results: judged with --confirmed (it lifts only the
    plausibility ceiling, so a re-measurement could keep), `repair` as the gate will be run, no
    baseline file and no confirmation. bench.py skips the confirmation otherwise: it can only turn
    a keep into "cannot decide". Every other undecided (noisy pairs, a bad input) stays undecided
    whatever a confirmation says, and its re-measurement is confirmed in its own run (predicate's
    noisy A/A paid 44 s for a confirmation of results that could not be kept). (--repair keeps a
    candidate that is merely not slower, so every A/A would count as keepable: it is passed only
    when the experiment will judge a repair.) Results without mismatches (a decision run) are
    judged as the oracle's report will make them: correct on every combination (a wrong kernel
    never reaches the benchmark; a confirmation made in vain costs only time)."""
    try:
        grid = ab_combinations(target_benches(read_results(candidate_results, "results"), target))
    except (CannotDecide, KeyError, TypeError, ValueError, AttributeError):
        grid = None  # the gate will say what is wrong with them
    d = decide(candidate_results, None, target, confirmed=True, repair=repair, oracle_checked=grid)
    return d.exit_code == KEEP


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
        gaps.append((m.combo.label, m.combo.ratio / ratio, ratio))
    if not gaps:
        return Reason("confirmation", False, "nothing to confirm")
    geo = geomean(g for _, g, _ in gaps)
    # The geomean is held to MAX_CONFIRM_GAP, unless the confirmation alone shows a gain the gate
    # would keep even 3% worse: then the keep rests on the parent's own measurement and asv's may
    # differ by as much as one combination may (dictionary's 1.65x kernel read 0.600 in asv and
    # 0.620 confirmed, twice; no slowdown hides behind that, and a scaled pairing is still caught).
    confirmed = geomean(c for _, _, c in gaps)
    clear_gain = confirmed * (1 + MAX_CONFIRM_GAP) <= 1.0 - MIN_GAIN
    geo_limit = MAX_CONFIRM_COMBO_GAP if clear_gain else MAX_CONFIRM_GAP
    # One combination is held on one side only, and only where the confirmation does not itself
    # show it clearly faster: read faster in the candidate's process than confirmed (a gap below
    # 1) is what would hide a slowdown from the worst-case guard and the trade-off. Read slower
    # can only make a keep harder, and a combination confirmed many times faster cannot hide one
    # (topk_merge's ten-microsecond merges, 7-13x faster, read 12-17% off either way, three runs);
    # the geomean bound still holds every combination both ways.
    guarded = [(lb, g) for lb, g, conf in gaps if conf * (1 + MAX_CONFIRM_COMBO_GAP) > 1.0]
    label, worst = min(guarded, key=lambda x: x[1]) if guarded else (None, 1.0)
    why = f": confirmed geomean {confirmed:.4f}, a clear gain on its own" if clear_gain else ""
    held = (
        f"most favourable {label} {worst:.4f} (at most {MAX_CONFIRM_COMBO_GAP:.0%} below 1)"
        if label
        else "every combination confirmed clearly faster (none held one by one)"
    )
    text = (
        f"asv's ratios / the parent's confirmation: geomean {geo:.4f} "
        f"(at most {geo_limit:.0%} off 1{why}), {held}"
    )
    ok = abs(math.log(geo)) <= math.log1p(geo_limit) and -math.log(worst) <= math.log1p(
        MAX_CONFIRM_COMBO_GAP
    )
    if not ok:
        text += ": the measurement in the candidate's process is not what its kernels cost"
    return Reason("confirmation", ok, text)


def _ab_samples(a: Bench, i: int, label: str) -> list:
    if not finite(a.results[i]):
        raise CannotDecide(
            f"{a.name} {label}: {cell_state(a.results[i])} (skipped: the kernel equals its first "
            f"parent's, so there was nothing to pair; failed: see asv's output)"
        )
    if a.samples is None:
        raise CannotDecide(
            f"{a.name}: no samples recorded (asv run without --record-samples); "
            f"rerun through `{BENCH_COMMAND}`, which always records them"
        )
    s = a.samples[i]
    if not isinstance(s, list) or len(s) < MIN_PAIRS:
        got = len(s) if isinstance(s, list) else cell_state(s)
        raise CannotDecide(f"{a.name} {label}: {got} pair ratios, fewer than {MIN_PAIRS}")
    if not all(finite(x) and x > 0 for x in s):
        raise CannotDecide(f"{a.name} {label}: a pair ratio is not a positive finite number")
    return s


def _check_time(t: Bench, i: int, label: str) -> None:
    if not finite(t.results[i]):
        raise CannotDecide(f"{t.name} {label}: {cell_state(t.results[i])}")
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
    machine: str = "",
) -> Decision:
    combos = [m.combo for m in measured]
    geo, lo, hi = geomean_with_interval(measured)
    d = Decision(
        "", 0, target, candidate, baseline, geo, lo, hi, combos, measured=measured, machine=machine
    )
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

    noise = _noise(combos, d.target, d.machine, hi)
    if noise and not noise.ok:
        d.reasons = [*failed, noise]
        return _finish(d, DISCARD if lo > 1.0 else UNDECIDED)  # only a clear slowdown is decided
    if failed:
        d.reasons = failed  # a discard lists only what failed
        return _finish(d, DISCARD)

    d.reasons = rules + ([noise] if noise else [])  # a keep lists every rule it passed
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
    WORST_SLOWDOWN. An interval that straddles 1 + MIN_GAIN shows neither, so it is undecided
    (re-measured), not a discard: the status quo is the flawed baseline, and discarding its fix
    on one noisy combination's wide interval (an A/A did so in CI) would keep the flaw."""
    geo, lo, hi = d.geomean_ratio, d.geomean_ci_lo, d.geomean_ci_hi
    margin = 1.0 + MIN_GAIN
    if hi <= margin:
        verdict = "is within"
    elif lo <= margin:
        verdict = "straddles"
    else:
        verdict = "lies above"
    rules = [
        Reason(
            "not_slower",
            hi <= margin,
            f"repair: geomean ratio {geo:.4f}, {CI_LEVEL:.0%} interval [{lo:.4f}, {hi:.4f}] "
            f"{verdict} {margin:.2f}" + (": re-measure" if verdict == "straddles" else ""),
        ),
        _worst_case(d.combos),
    ]
    failed = [r for r in rules if not r.ok]
    # No gain to outweigh the noise: a repair is not faster.
    if noise := _noise(d.combos, d.target, d.machine):
        d.reasons = [*failed, noise]
        return _finish(d, DISCARD if lo > margin else UNDECIDED)
    d.reasons = failed or rules
    if failed and all(r.rule == "not_slower" for r in failed) and lo <= margin:
        return _finish(d, UNDECIDED)  # not shown slower either: measure again
    return _finish(d, DISCARD if failed else KEEP)


def _worst_case(combos: list[Combo]) -> Reason:
    bad = [c for c in combos if c.verdict == "slower" and c.ratio >= 1.0 + WORST_SLOWDOWN]
    return Reason(
        "worst_case",
        not bad,
        "; ".join(f"{c.label} is {c.ratio - 1:.1%} slower" for c in bad)
        or f"no combination significantly slower by {WORST_SLOWDOWN:.0%} or more",
    )


def _noise(
    combos: list[Combo], target: str, machine: str = "", interval_hi: float | None = None
) -> Reason | None:
    """None when the pairs spread within the target's limit on `machine`; over it, the `noise`
    rule: failed (too busy to trust an interval), or passed when the geomean interval's upper end
    `interval_hi` lies below 1 - MIN_GAIN by more than NOISE_OUTWEIGHED_SPREADS spreads."""
    noise, limit = pair_spread(combos), max_pair_spread(target, machine)
    if noise <= limit:
        return None
    bar = 1.0 - MIN_GAIN - NOISE_OUTWEIGHED_SPREADS * noise
    where = f"{target}'s limit on {machine or 'an unnamed machine'}"
    if interval_hi is not None and interval_hi <= bar:
        text = (
            f"median spread of the pair ratios {noise:.1%} exceeds {limit:.1%} ({where}), but "
            f"the whole interval lies below {bar:.4f} (1 - {MIN_GAIN:.0%} - "
            f"{NOISE_OUTWEIGHED_SPREADS:g} spreads): a gain no such noise explains"
        )
        return Reason("noise", True, text)
    text = (
        f"median spread of the pair ratios {noise:.1%} exceeds {limit:.1%} ({where}): the "
        "machine was too busy for the pairing; re-measure when it is quieter"
    )
    return Reason("noise", False, text)


def pair_spread(combos: list[Combo]) -> float:
    """How disturbed a measurement was: the median over combinations of their pair spread."""
    return float(np.median([c.spread for c in combos]))


def _finish(d: Decision, code: int) -> Decision:
    d.exit_code, d.decision = code, DECISION_NAMES[code]
    return d
