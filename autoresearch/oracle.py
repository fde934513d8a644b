"""The oracle: correctness checks shared by every target, run before (and after) any timing.

A kernel that is wrong never counts as fast. Each target's inputs.py lists its cases (`Case`); this
module runs them against the target's reference.py and judges the kernel:

- wrong        outputs outside tolerance (floats) or not bit-identical (everything else)
- contract     output type, dtype, shape or memory layout differs from the reference's
- mutated      the kernel wrote to one of its inputs (or to the buffer around it)
- aliased      an output shares memory with an input, with any earlier output of the run or with
               kernels.py's own arrays, or changed after its call returned
- stale        an answer for old data: a second call with new data of the same shape (fresh arrays,
               the same arrays changed in place, or one element changed) returns the earlier
               answer, or kernels.py's module state changed while it ran: caching across calls
- repeat       wrong after the same inputs were passed again and again (a timing-loop detector)
- raised       the kernel raised (anything, SystemExit included), or its process died
- static       kernels.py imports or touches something its program.md does not allow
- state        kernels.py holds, after import, a module-level object outside the contract's types
- tampered     the harness's (or numpy's) code in the kernel's process changed after its import

The trust boundary: this process never imports kernels.py. The kernel runs in a process of its own
(autoresearch/kernel_process.py, configured as asv's benchmark process is), which is sent the
inputs and sends back its outputs as data; references, comparisons and the verdict are computed
here, where nothing the kernel does can reach them (docs/oracle.md, "The trust boundary").

Seeds: the fixed cases run on FIXED_SEEDS and on fresh random seeds drawn for every run, so a kernel
tuned to the fixed seeds fails. Held-out cases (never in program.md or the speed workload) run too,
the target's own and the harness's numeric ones (autoresearch/heldout.py). Inputs are presented the
way the speed workload presents them (sometimes owned arrays, sometimes views into a larger buffer
at a random offset), so array flags cannot tell the oracle apart. The reference runs after the
kernel returns, in this process. The speed workload itself is checked too, as is and with one
element of each array changed in place. docs/oracle.md has the full list.

Command: `python -m autoresearch.oracle TARGET [--kernels FILE] [--report FILE]`; exit 0 pass,
2 fail, 64 bad usage. `--report` also writes the verdict as JSON (the kernel's sha256, the speed
workload's combinations checked): the experiment hands it to the gate (`--oracle-report`), which
then needs no `track_mismatches` of its own.
Only a completed report with `correctness: pass` exits 0: a kernel that raises SystemExit, fails to
import or ends its process is a failure.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from autoresearch import PACKAGE_DIR
from autoresearch.common import MAX_ABS_ERR, SplitMix64
from autoresearch.harness.case_runs import (
    CANARY_BYTES,
    FRESH_SEEDS,
    MAX_FAILED_CASES,
    REPEAT_CALLS,
    SEEN_ANSWERS,
    changed_in_place,
    check_case,
    check_cases,
    end_failures,
    fresh_seeds,
    tampered_failures,
)
from autoresearch.harness.cases import (
    FIXED_SEEDS,
    KINDS,
    MAX_REPORTED,
    Case,
    Failure,
    Report,
    as_bits,
    compare_bits,
    compare_outputs,
    contract_problems,
    count_mismatches,
    mismatches,
)
from autoresearch.harness.cli import UsageParser, add_target, check_targets
from autoresearch.harness.compile_ahead import CompileAhead
from autoresearch.harness.kernel_channel import (
    KEEP_OUTPUT_BYTES,
    KernelProcess,
    KernelProcessError,
    KernelSide,
    _side,
)
from autoresearch.harness.kernel_data import workload_arrays
from autoresearch.harness.module_state import (
    library_state,
    module_allowed,
    module_state,
    state_changes,
)
from autoresearch.harness.speed_workloads import (
    DISGUISE_JITTER,
    NOT_CHECKED,
    disguised,
    speed_combinations,
    speed_workload_failures,
    workload_mismatches,
)
from autoresearch.harness.static_check import (
    ALLOWED_NUMBA_MODULES,
    DEFAULT_ALLOWED_IMPORTS,
    DENIED_NUMPY_MODULES,
    DENIED_OBJECTS,
    FORBIDDEN_ATTRS,
    MAX_LITERAL_CHARS,
    MAX_LITERAL_ELEMENTS,
    MAX_SOURCE_BYTES,
    allowed_imports,
    harness_secrets,
    static_check,
    static_problems,
)
from autoresearch.harness.target_protocol import load_inputs

# The API the targets, the asv suites, abtest and the tests import from here (`from
# autoresearch.oracle import Case, compare_bits`); the code lives in autoresearch/harness/.
__all__ = [
    "ALLOWED_NUMBA_MODULES", "CANARY_BYTES", "DEFAULT_ALLOWED_IMPORTS", "DENIED_NUMPY_MODULES",
    "DENIED_OBJECTS", "DISGUISE_JITTER", "FIXED_SEEDS", "FORBIDDEN_ATTRS", "FRESH_SEEDS",
    "KEEP_OUTPUT_BYTES", "KINDS", "MAX_ABS_ERR", "MAX_FAILED_CASES", "MAX_LITERAL_CHARS",
    "MAX_LITERAL_ELEMENTS", "MAX_REPORTED", "MAX_SOURCE_BYTES", "REPEAT_CALLS", "SEEN_ANSWERS",
    "Case", "Failure", "KernelProcess", "KernelProcessError", "KernelSide", "Report",
    "allowed_imports", "as_bits", "changed_in_place", "check_case", "check_cases",
    "check_target", "compare_bits", "compare_outputs", "contract_problems", "count_mismatches",
    "disguised", "end_failures", "format_report", "fresh_seeds", "harness_secrets",
    "library_state", "load_module_from", "main", "mismatches", "module_allowed", "module_state",
    "run", "speed_combinations", "speed_workload_failures", "state_changes", "static_check",
    "static_problems", "tampered_failures", "workload_arrays", "workload_mismatches",
]  # fmt: skip

# ---------------------------------------------------------------------------
# Whole-target check
# ---------------------------------------------------------------------------


def check_target(target: str, kernels: Any = None, seeds: Iterable[int] | None = None) -> Report:
    """Run every case of `target` on the fixed seeds plus fresh ones, then the speed workload.

    `kernels`: None (kernels.py, in a process of its own), a KernelProcess, or a module-like
    object run in this process (tests). With a process, a second one of the same kernel
    compiles ahead the argument types the cases reach later (harness/compile_ahead.py)."""
    own = None
    if kernels is None:
        own = kernels = KernelProcess(target)
    try:
        return _check_target(target, kernels, seeds)
    finally:
        if own is not None:
            own.close()


def _check_target(target: str, kernels: Any, seeds: Iterable[int] | None) -> Report:
    inputs = load_inputs(target)  # the target protocol first: a clear error, not a later KeyError
    reference = importlib.import_module(f"autoresearch.{target}.reference")
    report = Report(target)
    allowed = allowed_imports(PACKAGE_DIR / target / "program.md")
    if isinstance(kernels, KernelProcess):
        hello = kernels.go(allowed)
        if "import_error" in hello:
            report.failures.append(Failure("kernels.py", "raised", hello["import_error"]))
            return report
        side = KernelSide(kernels, hello)
    else:
        side = _side(kernels, inputs)
    report.failures += [Failure("kernels.py", "state", p) for p in side.illegal[:MAX_REPORTED]]
    report.failures += tampered_failures(side)
    seeds = list(seeds) if seeds is not None else [*FIXED_SEEDS, *fresh_seeds()]
    from autoresearch import heldout  # here only: the kernel's process imports this module too

    cases = [*inputs.correctness_cases(), *heldout.cases(target)]
    ahead = None
    if isinstance(kernels, KernelProcess) and seeds and os.environ.get("NUMBA_CACHE_DIR"):
        ahead = CompileAhead(target, kernels, cases, seeds[0], allowed)
    try:
        checked = check_cases(cases, side, reference, seeds, target)
    finally:
        if ahead is not None:
            ahead.stop()
            if ahead.calls:
                report.notes.append(f"compiled ahead in a second process: {ahead.calls} case(s)")
    report.cases, report.calls = checked.cases, checked.calls
    report.failures += checked.failures
    report.notes += checked.notes
    if not report.failures:
        rng = SplitMix64(seeds[-1] if seeds else 0).spawn("speed workload")  # a fresh seed
        fails, notes = speed_workload_failures(inputs, side, reference, rng)
        report.failures += fails
        report.notes += notes
        if not any(n.startswith(NOT_CHECKED) for n in notes):
            report.speed_combinations = len(speed_combinations(inputs))
        report.failures += end_failures(side)
    if side.threads is not None and isinstance(kernels, KernelProcess):
        report.notes.append(f"kernel process: {side.threads} numba thread(s), as in asv")
    return report


# ---------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------


def load_module_from(path: Path, name: str, source: bytes | None = None) -> ModuleType:
    """Import a kernels file from an arbitrary path (a baseline, a red-team kernel).

    numba's on-disk cache is keyed by the source file's path and records the module name the code
    was compiled under: the same file imported under a second name would load machine code that
    refers to the first (ModuleNotFoundError) once that name is gone. So the file is imported from a
    copy whose path is unique to (name, content). `source`: its bytes as already read (None: read
    them now).
    """
    source = Path(path).read_bytes() if source is None else source
    digest = hashlib.sha256(name.encode() + b"\0" + source).hexdigest()[:16]
    from autoresearch import state_root

    copy_path = state_root() / "modules" / digest / Path(path).name
    if not copy_path.exists() or copy_path.read_bytes() != source:
        copy_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(source)
        tmp.replace(copy_path)  # atomic: a concurrent loader sees the whole file or none
    from autoresearch.harness.numba_cache import module_from_bytes

    return module_from_bytes(name, source, copy_path)  # not through a planted __pycache__ file


def run(
    target: str,
    kernels_path: Path | None = None,
    seeds: list[int] | None = None,
    static: bool = True,
) -> Report:
    """Static checks, then (only if they pass) every dynamic check.

    The kernel is imported only in a process of its own (autoresearch.kernel_process), started
    first so that its imports overlap the static check; this process computes every reference
    and every verdict. `static=False` skips the static checks: only for showing that the dynamic
    checks also catch a kernel the static check rejects first (the red-team suite). The command
    line has no such flag.
    """
    report = Report(target)
    # Read once: the static check, both kernel processes and the report's digest see these bytes.
    source = Path(kernels_path or PACKAGE_DIR / target / "kernels.py").read_bytes()
    process = KernelProcess(target, kernels_path, source)
    try:
        report.failures = static_check(target, kernels_path, source) if static else []
        if not report.failures:
            report = check_target(target, process, seeds)
    except BaseException as exc:
        report.failures.append(Failure("kernels.py", "raised", _process_text(exc)))
    finally:
        process.close()
    report.kernel_sha256 = hashlib.sha256(source).hexdigest()
    return report


def _process_text(exc: BaseException) -> str:
    if isinstance(exc, KernelProcessError):
        return f"the kernel's process {exc}"
    return f"{type(exc).__name__}: {exc}"


def report_json(report: Report) -> dict:
    """The verdict as `--report` writes it: what the gate needs to take the speed workload's
    correctness from the oracle instead of a `track_mismatches` run of its own."""
    return {
        "target": report.target,
        "passed": report.passed,
        "cases": report.cases,
        "calls": report.calls,
        "failures": [str(f) for f in report.failures],
        "notes": report.notes,
        "speed_combinations": report.speed_combinations,
        "kernel_sha256": report.kernel_sha256,
    }


def format_report(report: Report) -> str:
    lines = [
        f"target: {report.target}",
        f"correctness: {'pass' if report.passed else 'fail'}",
        f"cases: {report.cases}",
        f"calls: {report.calls}",
        f"failures: {len(report.failures)}",
    ]
    lines += [f"failure: {f}" for f in report.failures[:20]]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser("python -m autoresearch.oracle", description=__doc__)
    add_target(parser)
    parser.add_argument("--kernels", type=Path, help="check this file instead of kernels.py")
    parser.add_argument("--seed", type=int, action="append", help="run only these seeds")
    parser.add_argument(
        "--report",
        type=Path,
        help="also write the verdict as JSON here (the gate reads it: `--oracle-report`)",
    )
    args = parser.parse_args(argv)
    check_targets(parser, args.target, protocol=True)
    if args.kernels is not None and not args.kernels.is_file():
        parser.error(f"no such kernels file: {args.kernels}")
    try:
        report = run(args.target, args.kernels, args.seed)
    except BaseException as exc:
        failure = Failure("oracle", "raised", f"{type(exc).__name__}: {exc}")
        report = Report(args.target, failures=[failure])
    print(format_report(report), flush=True)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report_json(report), indent=1) + "\n")
    return 0 if report.passed else 2


if __name__ == "__main__":
    sys.exit(main())
