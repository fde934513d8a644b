"""The gate's output: a Decision as the `key: value` block the gate prints, or as its `--json`.

A library module so that the gate command and the experiment (which repeats the gate's block,
harness/verdict.py) render a Decision with the same code without one importing the other.
"""

from __future__ import annotations

import dataclasses

from autoresearch.harness.decide import Decision, pair_spread


def _f(x: float | None) -> str:
    return "none" if x is None else f"{x:.4f}"


def format_block(d: Decision) -> str:
    lines = [
        f"decision: {d.decision}",
        f"exit_code: {d.exit_code}",
        f"target: {d.target}",
        f"candidate: {d.candidate}",
        f"baseline: {d.baseline}",
        f"geomean_ratio: {_f(d.geomean_ratio)}",
        f"geomean_ci_lo: {_f(d.geomean_ci_lo)}",
        f"geomean_ci_hi: {_f(d.geomean_ci_hi)}",
    ]
    for key, c in (("worst", d.worst), ("best", d.best)):
        lines += [
            f"{key}_combo: {c.label if c else 'none'}",
            f"{key}_ratio: {_f(c and c.ratio)}",
            f"{key}_ci_lo: {_f(c and c.ci_lo)}",
            f"{key}_ci_hi: {_f(c and c.ci_hi)}",
        ]
    lines.append(f"pair_spread: {_f(pair_spread(d.combos) if d.combos else None)}")
    for p in d.targets:
        lines.append(
            f"target_result: {p.target} decision={p.decision} exit_code={p.exit_code} "
            f"geomean_ratio={_f(p.geomean_ratio)}"
        )
    for c in d.combos:
        t = "none" if c.time_s is None else f"{c.time_s * 1e3:.3f}"
        lines.append(
            f"combo: {c.label} ratio={c.ratio:.4f} ci_lo={c.ci_lo:.4f} ci_hi={c.ci_hi:.4f} "
            f"pairs={c.pairs} spread={c.spread:.4f} verdict={c.verdict} time_ms={t}"
        )
    lines += [f"reason: {r.line()}" for r in d.reasons]
    return "\n".join(lines)


def to_json(d: Decision) -> dict:
    keys = ("decision", "exit_code", "target", "candidate", "baseline")
    keys += ("geomean_ratio", "geomean_ci_lo", "geomean_ci_hi")
    out = {k: getattr(d, k) for k in keys}
    out["pair_spread"] = pair_spread(d.combos) if d.combos else None
    out["worst"] = dataclasses.asdict(d.worst) if d.worst else None
    out["best"] = dataclasses.asdict(d.best) if d.best else None
    out["combos"] = [dataclasses.asdict(c) for c in d.combos]
    out["reasons"] = [dataclasses.asdict(r) for r in d.reasons]
    out["targets"] = [to_json(p) for p in d.targets]
    return out
