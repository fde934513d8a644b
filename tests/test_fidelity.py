"""Fidelity to the real Lance: every target's checks against pylance, on small data.

Skipped with the reason when pylance is not installed (the default install does not need it;
`pip install -e '.[lance]'` adds it, and .ci/run installs it). The command and its output format
are tested without pylance too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoresearch import TARGETS, fidelity
from autoresearch.harness.cli import EXIT_USAGE
from autoresearch.lance_checks import (
    KERNEL,
    MISMATCH,
    OK,
    PINNED_PYLANCE,
    REFERENCE,
    SKIP,
    Check,
    Scale,
    pylance_missing,
    pylance_version,
    run,
)

ROOT = Path(__file__).resolve().parents[1]
MISSING = pylance_missing()
needs_pylance = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@needs_pylance
@pytest.mark.parametrize(  # the default run checks one target (the quickest); --runslow every one
    "target", [t if t == "dictionary" else pytest.param(t, marks=pytest.mark.slow) for t in TARGETS]
)
def test_lance_agrees_with_the_reference_and_the_kernel(target):
    if pylance_version() != PINNED_PYLANCE:
        pytest.skip(
            f"pylance {pylance_version()} installed; the checks are pinned to {PINNED_PYLANCE}"
        )
    checks = run(target, Scale(small=True))
    compared = {c.against for c in checks if c.status == OK}
    assert {REFERENCE, KERNEL} <= compared, f"{target}: nothing compared with Lance"
    mismatches = [c.line() for c in checks if c.status == MISMATCH]
    assert not mismatches, "\n".join(mismatches)


def test_without_pylance_every_target_is_skipped_with_the_reason(monkeypatch, capsys):
    import autoresearch.lance_checks as checks

    monkeypatch.setattr(checks, "pylance_missing", lambda: "pylance is not installed (test)")
    for target in TARGETS:
        (only,) = checks.run(target)
        assert only.status == SKIP and "pylance is not installed" in only.detail
    assert fidelity.main(["bm25"]) == 0
    out = capsys.readouterr().out
    assert "bm25" in out and "skip (pylance is not installed (test))" in out


def test_the_default_install_imports_no_pylance():
    """With `lance` and `pyarrow` unimportable, the command and every check module import and
    the run skips every target (exit 0): nothing outside the `lance` extra needs them."""
    code = (
        "import sys; sys.modules['lance'] = None; sys.modules['pyarrow'] = None\n"
        "import importlib\n"
        "from autoresearch import TARGETS, fidelity\n"
        "for t in TARGETS: importlib.import_module('autoresearch.lance_checks.' + t)\n"
        "sys.exit(fidelity.main(['--json']))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["missing"] and doc["mismatches"] == 0
    assert {c["status"] for c in doc["checks"]} == {SKIP}
    assert {c["target"] for c in doc["checks"]} == set(TARGETS)


def test_command_rejects_unknown_targets():
    with pytest.raises(SystemExit) as exit_info:
        fidelity.main(["no_such_target"])
    assert exit_info.value.code == EXIT_USAGE


def test_check_lines_say_ok_mismatch_or_skip_with_why():
    assert Check("t", "a check", REFERENCE, OK, "3 rows").line().endswith("a check: ok (3 rows)")
    mismatch = Check("t", "a check", KERNEL, MISMATCH, "doc 3 off").line()
    assert mismatch.endswith("a check: MISMATCH (doc 3 off)")
    assert Check("t", "a check", KERNEL, SKIP, "why").line().endswith("a check: skip (why)")


@needs_pylance
def test_command_exit_code_and_json(capsys):
    assert fidelity.main(["topk_merge", "--small", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pylance"] == pylance_version() and doc["mismatches"] == 0
    assert {c["target"] for c in doc["checks"]} == {"topk_merge"}
    assert all(c["status"] == OK for c in doc["checks"])
