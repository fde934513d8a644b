"""The gate's verdict read from its child process: `python -m autoresearch.gate --json`.

The experiment runs the gate in a child (in the candidate's worktree, under the time budget) and
reads its JSON back into the gate's own Decision, never its `key: value` text; the text block the
experiment repeats is the gate's own rendering of that Decision (gate_output.format_block).
"""

from __future__ import annotations

import dataclasses
import json
import re

from autoresearch.harness import decide, gate_output, pairstats

GATE_MODULE = "autoresearch.gate"
KEY_LINE = re.compile(r"^([a-z_]+): (.*)$")  # a `key: value` line of a block
# The gate's keys that would collide with the experiment's own, in the experiment's block.
RENAMED = {"decision": "gate_decision", "exit_code": "gate_exit_code"}
SKIPPED = ("target", "candidate", "baseline")


def gate_args(
    target: str,
    candidate: str,
    baseline: str,
    *,
    confirmed: bool,
    repair: bool,
    confirmation: str,
    oracle_report: str | None = None,
) -> list[str]:
    """The interpreter arguments of one gate run that prints its Decision as JSON."""
    args = ["-m", GATE_MODULE, "--json", "--target", target, "--candidate", candidate]
    args += ["--baseline", baseline] + (["--confirmed"] if confirmed else [])
    args += ["--repair"] if repair else []
    args += ["--oracle-report", oracle_report] if oracle_report else []
    return [*args, "--confirmation", confirmation]


def read_gate_json(output: str) -> tuple[decide.Decision | None, str]:
    """(the Decision the gate printed last, what it wrote before it: warnings, a traceback).

    The gate prints its JSON last, an object starting on a line of its own ("{"); stderr, merged
    into the same output, comes before it. (None, output) when there is no such object.
    """
    lines = output.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == "{"]
    if not starts:
        return None, output
    start = starts[-1]
    try:
        data = json.loads("".join(lines[start:]))
        decision = _decision(data)
    except (ValueError, TypeError, KeyError):
        return None, output
    return decision, "".join(lines[:start])


def gate_lines(decision: decide.Decision) -> list[str]:
    """The gate's `key: value` lines for this Decision, as it prints them without --json."""
    return gate_output.format_block(decision).splitlines()


def repeated_lines(decision: decide.Decision) -> list[str]:
    """The gate's `key: value` lines as the experiment's block repeats them: its own keys
    renamed (RENAMED), the ones the experiment states itself left out (SKIPPED)."""
    lines = []
    for line in gate_lines(decision):
        if m := KEY_LINE.match(line):
            key, value = m.group(1), line.partition(": ")[2]
            if key not in SKIPPED:
                lines.append(f"{RENAMED.get(key, key)}: {value}")
    return lines


def _known(cls: type, data: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _decision(data: dict) -> decide.Decision:
    # to_json adds what the Decision derives (pair_spread, worst, best): recomputed, not read.
    fields = _known(decide.Decision, data)
    for nested in ("combos", "reasons", "targets", "measured"):
        fields.pop(nested, None)
    d = decide.Decision(**fields)
    d.combos = [pairstats.Combo(**_known(pairstats.Combo, c)) for c in data.get("combos", [])]
    d.reasons = [decide.Reason(**_known(decide.Reason, r)) for r in data.get("reasons", [])]
    d.targets = [_decision(t) for t in data.get("targets", [])]
    return d
