"""Fidelity to the real Lance: each target's reference and kernel against what pylance computes.

    python -m autoresearch.fidelity [TARGET ...] [--small] [--json]

For every target (all of them by default) it builds Lance data from the target's own input
generators, asks pylance for its answer and prints one line per check: `ok`, `MISMATCH` (with the
first problems) or `skip (why)`. Exit 0 when nothing mismatched (skips included), 1 on any
mismatch, 64 on bad arguments. Needs the optional extra: `pip install -e '.[lance]'`; without it
every target is skipped with that reason. The checks live in autoresearch/lance_checks/, one module
per target; docs/targets/<target>.md records which pass against which pylance version.
"""

from __future__ import annotations

import json
import sys
import time

from autoresearch import TARGETS
from autoresearch.harness import cli
from autoresearch.lance_checks import (
    MISMATCH,
    PINNED_PYLANCE,
    Scale,
    pylance_missing,
    pylance_version,
    run,
)


def main(argv: list[str] | None = None) -> int:
    parser = cli.UsageParser("python -m autoresearch.fidelity", __doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"default: all of {TARGETS}")
    parser.add_argument("--small", action="store_true", help="small data (the test suite's size)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    args = parser.parse_args(argv)
    cli.check_targets(parser, *args.targets)
    targets = args.targets or list(TARGETS)
    version = pylance_version()
    if not args.json:
        note = "" if version in (None, PINNED_PYLANCE) else f" (checks pinned to {PINNED_PYLANCE})"
        print(f"# pylance {version or 'missing'}{note}", flush=True)
    checks, seconds = [], {}
    for target in targets:
        start = time.perf_counter()
        results = run(target, Scale(small=args.small))
        seconds[target] = round(time.perf_counter() - start, 1)
        checks += results
        if not args.json:
            for check in results:
                print(check.line(), flush=True)
    failed = sum(c.status == MISMATCH for c in checks)
    if args.json:
        doc = {
            "pylance": version,
            "pinned_pylance": PINNED_PYLANCE,
            "missing": pylance_missing(),
            "seconds": seconds,
            "checks": [c.as_dict() for c in checks],
            "mismatches": failed,
        }
        print(json.dumps(doc, indent=1))
    else:
        counts = {s: sum(c.status == s for c in checks) for s in ("ok", MISMATCH, "skip")}
        print(f"# {counts['ok']} ok, {counts[MISMATCH]} mismatch, {counts['skip']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
