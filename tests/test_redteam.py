"""Red-team kernels: known ways to game the oracle, each rejected for the right reason.

Every tests/redteam/<target>/<name>.py is a full replacement for that target's kernels.py whose
module docstring starts with `expect: <kind>`: one of the oracle's failure kinds, `gate` for a
cheat the oracle cannot see (it is correct and stateless), left to the keep gate, or `timing` for
one aimed at the timing side (its pairing, clock, comparisons, or its outputs once the calls
outnumber the oracle's): tests/test_timing_guard.py shows the paired benchmark refuses it; here
the oracle's verdict on it is only required to be a verdict (it may pass it, or, as its checks
grow, reject it: either is right). Each goes through
the path the experiment uses: `python -m autoresearch.oracle TARGET --kernels FILE` in a subprocess,
judged by its exit code and the kinds on its `failure:` lines. New targets' files are picked up
without changes here.

The runs start together (two at a time, the machine has two cores) the first time a test needs
one; each test then waits for its own.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from autoresearch import PACKAGE_DIR, TARGETS
from autoresearch.common import CHECK_TIMEOUT_SECS
from autoresearch.oracle import FIXED_SEEDS, KINDS

ROOT = Path(__file__).resolve().parents[1]
REDTEAM = Path(__file__).resolve().parent / "redteam"
PARALLEL_RUNS = 2
MIN_PQ_L2_KERNELS = 10
EXPECT = re.compile(r"^expect:\s*(\S+)\s*$")
FAILURE = re.compile(r"^failure: (\w+): ", re.MULTILINE)


def redteam_files() -> list[Path]:
    return sorted(
        p for p in REDTEAM.glob("*/*.py") if not p.name.startswith("_") and p.parent.is_dir()
    )


def expected_kind(path: Path) -> str | None:
    """The kind on the first line of the module docstring, without importing the file."""
    doc = ast.get_docstring(ast.parse(path.read_text()))
    match = EXPECT.match(doc.splitlines()[0]) if doc else None
    return match.group(1) if match else None


# The dynamic checks alone, for a kernel meant for one of them that the static check rejects first.
DYNAMIC_ONLY = (
    "import sys; from pathlib import Path; from autoresearch import oracle; "
    "print(oracle.format_report(oracle.run(sys.argv[1], Path(sys.argv[2]), static=False)))"
)


def oracle_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "autoresearch.oracle", path.parent.name, "--kernels", str(path)]


def run_oracle(
    path: Path, *extra: str, command: list[str] | None = None
) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [*(command or oracle_command(path)), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECS,
    )


_pool: ThreadPoolExecutor | None = None
_runs: dict[Path, Future] = {}
_selected: list[Path] = []


def oracle_result(path: Path) -> subprocess.CompletedProcess:
    """The oracle's verdict on one red-team file (every selected file's run is started on first
    use)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=PARALLEL_RUNS)
        for p in _selected:
            _runs[p] = _pool.submit(run_oracle, p)
    if path not in _runs:
        _runs[path] = _pool.submit(run_oracle, path)
    return _runs[path].result()


@pytest.fixture(scope="module", autouse=True)
def _oracle_runs(request):
    # Only the files whose test this session runs: a deselected slow one is not run for nothing.
    _selected[:] = [
        item.callspec.params["path"]
        for item in request.session.items
        if getattr(item, "function", None) is test_rejected_for_the_right_reason
    ]
    yield
    if _pool is not None:  # after -x or a failure: do not start the runs nobody will read
        _pool.shutdown(wait=False, cancel_futures=True)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


# The default run's oracle processes (a few seconds each): the static check and the harness
# patched, the two rejections only the command's path shows. The others' checks are quick tests
# elsewhere, so they are marked slow (`--runslow` runs every one): every failure kind in-process in
# tests/test_oracle.py; a wrong kernel through this command in tests/test_experiment.py; a verdict
# forged and the process ended (forge_verdict_and_exit) by test_a_kernel_that_kills_its_process_...
# and test_an_exit_at_import_...; rows of one buffer (round_robin_rows) in-process in
# tests/test_kernel_process.py; a full passing run (tell_by_argv, left to the gate) by
# test_the_oracle_process_never_imports_the_kernel.
QUICK = {
    "pq_l2/timer_patch",  # static
    "take/twin_recompile",  # static
    "take/hidden_by_encoding",  # static
    "take/signature_string_runs_code",  # raised (at import)
    "pq_l2/patch_oracle_compare",  # tampered
}


def quick_or_slow(paths: list[Path]) -> list:
    return [p if _id(p) in QUICK else pytest.param(p, marks=pytest.mark.slow) for p in paths]


@pytest.mark.parametrize("path", redteam_files(), ids=_id)
def test_declares_a_known_kind(path):
    assert path.parent.name in TARGETS, f"{path.parent.name} is not a target"
    kind = expected_kind(path)
    assert kind in (*KINDS, "gate", "timing"), (
        f"{_id(path)}: the docstring's first line must be `expect: <kind>` with kind one of "
        f"{', '.join(KINDS)}, gate or timing; got {kind!r}"
    )


@pytest.mark.parametrize("path", quick_or_slow(redteam_files()), ids=_id)
def test_rejected_for_the_right_reason(path):
    kind = expected_kind(path)
    result = oracle_result(path)
    shown = f"{_id(path)} (exit {result.returncode}):\n{result.stdout}{result.stderr[-2000:]}"
    if kind == "timing":  # the timing side's to refuse (tests/test_timing_guard.py)
        assert result.returncode in (0, 2), shown
        assert re.search(r"^correctness: (pass|fail)$", result.stdout, re.MULTILINE), shown
        return
    if kind == "gate":
        # Correct and stateless: nothing for the oracle to reject. If this starts failing the
        # oracle has learned to catch it: change the file's expect line to the kind it reports.
        assert result.returncode == 0, shown
        assert "correctness: pass" in result.stdout, shown
        return
    assert result.returncode == 2, shown
    assert "correctness: fail" in result.stdout, shown
    kinds = set(FAILURE.findall(result.stdout))
    if kind != "static" and kinds == {"static"}:
        # Rejected before it ran: show the dynamic check it was written for catches it too.
        command = [sys.executable, "-c", DYNAMIC_ONLY, path.parent.name, str(path)]
        dynamic = run_oracle(path, command=command)
        kinds = set(FAILURE.findall(dynamic.stdout))
        shown += f"\ndynamic checks alone:\n{dynamic.stdout}{dynamic.stderr[-2000:]}"
    assert kind in kinds, f"expected a {kind!r} failure; {shown}"


def test_every_target_with_cases_has_a_redteam_kernel():
    targets = [t for t in TARGETS if (PACKAGE_DIR / t / "inputs.py").exists()]
    missing = [t for t in targets if not list((REDTEAM / t).glob("*.py"))]
    assert not missing, f"targets without a red-team kernel in tests/redteam/<target>/: {missing}"


def test_pq_l2_has_at_least_ten_kernels_covering_every_oracle_kind():
    files = [p for p in redteam_files() if p.parent.name == "pq_l2"]
    assert len(files) >= MIN_PQ_L2_KERNELS
    covered = {expected_kind(p) for p in files}
    assert set(KINDS) <= covered, f"kinds without a pq_l2 red-team kernel: {set(KINDS) - covered}"


def fixed_seed_fingerprints() -> set[tuple[float, float]]:
    """(first, last) element of every pq_l2 case's first input on the fixed seeds (the target's
    cases and the harness's held-out numerics)."""
    from autoresearch import heldout
    from autoresearch.common import SplitMix64
    from autoresearch.pq_l2 import inputs

    prints = set()
    for case in [*inputs.correctness_cases(), *heldout.cases("pq_l2")]:
        for seed in FIXED_SEEDS:
            first = case.make(SplitMix64(seed).spawn(case.label))[0]
            prints.add((float(first.flat[0]), float(first.flat[-1])))
    return prints


@pytest.mark.slow
def test_fixed_seeds_only_kernel_is_exact_wherever_the_fixed_seeds_test_it():
    """The kernel correct only on the fixed seeds passes every case when only those run: so it is
    the fresh seeds (and the speed workload) that reject it, not a stale fingerprint list."""
    path = REDTEAM / "pq_l2" / "fixed_seeds_only.py"
    seeds = [arg for seed in FIXED_SEEDS for arg in ("--seed", str(seed))]
    result = run_oracle(path, *seeds)
    labels = re.findall(r"^failure: \w+: (.*?): ", result.stdout, re.MULTILINE)
    case_failures = [label for label in labels if not label.startswith("speed workload")]
    if case_failures:
        fresh = "\n".join(f"        {fp!r}," for fp in sorted(fixed_seed_fingerprints()))
        pytest.fail(
            f"{path.name} fails on the fixed seeds ({case_failures[:3]}): inputs.py's cases "
            f"changed; replace its TESTED entries with:\n{fresh}\n{result.stdout}"
        )
    assert labels, "the speed workload should still reject it"


# ---------------------------------------------------------------------------
# Through the experiment: a refused kernel leaves the repository at its baseline, the log grows
# ---------------------------------------------------------------------------

# One per class of issue 16 (and the verdict forged from the kernel's process), on pq_l2 (the
# fixtures' target) and one decoder.
THROUGH_THE_EXPERIMENT = [
    "pq_l2/patch_oracle_compare",  # the harness patched from kernels.py (static refuses `sys`)
    "pq_l2/dtype_metadata_counter",  # state the fingerprint could not see
    "pq_l2/round_robin_rows",  # memory shared across calls
    "pq_l2/threads_tell",  # another configuration than the benchmark's
    "pq_l2/norm_expansion_table",  # numerics no case probed
    "pq_l2/forge_verdict_and_exit",  # the verdict forged from the kernel's process
    "take/round_robin_rows",
]


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    from agents.fixtures import make_clone

    return make_clone(tmp_path_factory.mktemp("redteam") / "repo")


@pytest.mark.slow
@pytest.mark.parametrize("name", THROUGH_THE_EXPERIMENT)
def test_the_experiment_refuses_it_and_restores_the_baseline(clone, name):
    from agents.fixtures import environ, git, run

    from autoresearch.experiment import EXIT_CRASH, EXIT_FAIL

    path = REDTEAM / f"{name}.py"
    target = path.parent.name
    kernels = clone / "autoresearch" / target / "kernels.py"
    log = clone / "results" / "experiments" / f"{target}.tsv"
    head, baseline = git(clone, "rev-parse", "HEAD"), kernels.read_bytes()
    rows = len(log_rows_of(log))
    kernels.write_bytes(path.read_bytes())
    r = run(clone, ["autoresearch.experiment", target, "-m", f"red team: {name}"], environ())
    text = r.text()
    block = r.block()
    kind = expected_kind(path)
    assert r.proc.returncode in (EXIT_FAIL, EXIT_CRASH), text[-4000:]
    assert block["decision"] in ("fail", "crash"), text[-4000:]
    failures = set(re.findall(r"failure: (\w+): ", text))
    assert kind in failures or "static" in failures, text[-4000:]
    # back at the baseline: one record commit (the log row and the README table), kernel restored
    assert git(clone, "rev-parse", "HEAD^") == head
    assert kernels.read_bytes() == baseline
    assert git(clone, "status", "--porcelain") == ""
    assert len(log_rows_of(log)) == rows + 1
    assert log_rows_of(log)[-1]["decision"] == block["decision"]


def log_rows_of(path: Path) -> list[dict]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [dict(zip(lines[0].split("\t"), ln.split("\t"), strict=True)) for ln in lines[1:]]
