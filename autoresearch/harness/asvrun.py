"""What an asv run left besides its ratios: the exceptions in its output, the benchmarks it
recorded as failed (null, with exit 0), and which of those the paired benchmark's guards raised.

The result file itself is read by the gate's reader (decide.read_results).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# What the paired benchmark raises when it refuses to trust what it measured (abtest.py): the
# harness changed after the kernel loaded, or the candidate's outputs were wrong, aliased or stale
# where they were timed. Only the candidate runs code there that could cause either.
GUARD_ERRORS = (
    "HarnessChangedError",
    "WrongWhileTimedError",
    "UncachedKernelError",
    "CompiledWhileTimedError",
)


def failed_benchmarks(results: Path, target: str, paired: bool = False) -> list[str]:
    """The candidate-only benchmarks (not the paired A/B) asv recorded as failed (null); with
    `paired`, the paired one's failures too."""
    from autoresearch.harness import asvresults, decide

    try:
        benches = decide.read_results(json.loads(results.read_text()), "candidate results")
    except (OSError, ValueError, decide.CannotDecide):
        return []  # unreadable: the gate says why
    failed = []
    for name, bench in asvresults.target_benches(benches, target).items():
        if name.split(".")[-1] in decide.AB_METHODS and not paired:
            continue  # the baseline's kernel runs there too: the gate handles its failures
        cls, method = name.split(".")[1:]
        failed += [
            f"{asvresults.combo_label(cls, combo)} {method}"
            for combo, result in zip(bench.combos, bench.results, strict=False)
            if result is None
        ]
    return failed


def asv_errors(output: str, most: int = 3) -> list[str]:
    """asv's exception lines (`SomeError: message`), one per exception type, first seen first."""
    seen: dict[str, str] = {}
    for line in output.splitlines():
        text = re.sub(r"^(\[\s*[\d.]+s\]\s*)+(bench\|\s*)?(\[\s*[\d.]+s\]\s*)*", "", line).strip()
        if m := re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)):", text):
            seen.setdefault(m.group(1), text[:200])
    return list(seen.values())[:most]


def guard_errors(output: str) -> list[str]:
    """asv's exception lines that are the paired benchmark's refusals (GUARD_ERRORS)."""
    return [
        e
        for e in asv_errors(output, most=8)
        if e.split(":", 1)[0].rsplit(".", 1)[-1] in GUARD_ERRORS
    ]
