"""The oracle's verdict read from its child process, and the cached verdict on a baseline kernel.

`python -m autoresearch.oracle TARGET` prints `failure: <kind>: ...` lines and, when every check
passed, a `correctness: pass` line; it exits ORACLE_PASS or ORACLE_FAIL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from autoresearch import source_digest
from autoresearch.harness.layout import BASELINE_VERDICTS, state_dir
from autoresearch.harness.procs import Finished

ORACLE_PASS, ORACLE_FAIL = 0, 2  # oracle.main's exit codes
PASS_LINE = "correctness: pass"
FAILURE = "failure: "
MAX_FAILURE_LINES = 8  # oracle failure lines repeated in the final block


def failure_lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith(FAILURE)]


def judge(done: Finished) -> tuple[str, list[str]] | None:
    """None when the kernel passed; else (pass|fail|crash|timeout as the log's `correctness`
    column says it, the reasons to print)."""
    if done.timed_out:
        return "timeout", [f"correctness check still running after {done.seconds:.0f}s: killed"]
    # Pass means exit 0 AND the oracle's own verdict line: a kernel that ends the process early
    # with status 0 (os._exit, a half-written harness) has not passed anything.
    if done.returncode == ORACLE_PASS and PASS_LINE in done.output.splitlines():
        return None
    failures = failure_lines(done.output)
    if done.returncode == ORACLE_FAIL and failures:
        raised = any(f.startswith(f"{FAILURE}raised:") for f in failures)
        return ("crash" if raised else "fail"), failures[:MAX_FAILURE_LINES]
    why = (
        f"correctness subprocess killed by {done.signal_name}"
        if done.signal_name
        else f"correctness subprocess exited {done.returncode}"
    )
    return "crash", [why, *(f"output: {ln}" for ln in done.tail())]


def baseline_failures(done: Finished) -> list[str] | None:
    """The failure lines of the oracle run on a baseline kernel ([]: it passes); None: no verdict
    (a timeout, a crash), so the candidate is judged by the normal rules."""
    if done.timed_out or done.returncode not in (ORACLE_PASS, ORACLE_FAIL):
        return None
    return failure_lines(done.output)[:MAX_FAILURE_LINES] if done.returncode == ORACLE_FAIL else []


def verdict_cache(repo: Path, target: str, kernel_source: bytes) -> Path:
    """Where the current oracle's verdict on this kernel is kept: keyed on the kernel and on the
    whole harness package as it is in `repo` (the oracle the child runs), its .py files and the
    target's program.md (the static check reads its allowed imports), so no file's move or
    rename can leave a stale verdict."""
    package = Path(repo) / "autoresearch"
    parts = [kernel_source, source_digest(package).encode()]
    parts.append((package / target / "program.md").read_bytes())
    key = hashlib.sha256(b"\0".join(parts)).hexdigest()[:24]
    return state_dir(repo) / BASELINE_VERDICTS / target / f"{key}.txt"
