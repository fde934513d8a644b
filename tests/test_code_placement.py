"""Importing autoresearch pads numba's machine code at 32-byte boundaries (LLVM_OPTIONS in
autoresearch/__init__.py): the same function emits larger object code than in a process that did
not import it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from autoresearch.abtest import ENV_PAIRED_ONLY

ROOT = Path(__file__).resolve().parents[1]

# A loop over a chain of 40 data-dependent tests (no jump table): dozens of conditional jumps,
# some of which cross or end on a 32-byte boundary wherever the code lands: padding to move.
PROBE = """
import sys
if sys.argv[1] == "with":
    import autoresearch  # noqa: F401
import numpy as np
from numba import njit
arms = "".join(
    f"        {'if' if i == 0 else 'elif'} (x ^ s) % {i + 2} == {i % 3}:\\n"
    f"            s += {7 * i + 3}\\n"
    for i in range(40)
)
head = "def chain(a):\\n    s = 0\\n    for x in a:\\n"
source = head + arms + "        else:\\n            s -= 1\\n    return s\\n"
namespace = {}
exec(source, namespace)
chain = njit(cache=False)(namespace["chain"])
chain(np.arange(3))
print(len(chain.overloads[chain.signatures[0]].library._get_compiled_object()))
"""


def _object_bytes(mode: str, tmp_path) -> int:
    env = {"PATH": "/usr/bin:/bin", "AUTORESEARCH_STATE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, check=True
    )
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 option")
def test_importing_autoresearch_pads_branches_in_numbas_machine_code(tmp_path):
    plain, padded = _object_bytes("without", tmp_path), _object_bytes("with", tmp_path)
    assert padded > plain, (plain, padded)


# A target's package instance and a new instance of the same kernels.py (numba_cache.import_kernels,
# as the pairing loads the candidate) name their functions alike: numba's symbols come from the
# module's name. PACKAGE: "package" runs the package's instance first (as the suite's setup did in
# every process before session 42), "paired" runs only what the pairing loads.
INSTANCES = """
import sys
import benchmarks.bench_predicate as suite
from autoresearch import abtest
cls = suite.Predicate
bench = cls()
bench.setup(*[p[0] for p in cls.params])
package_loaded = "autoresearch.predicate.kernels" in sys.modules
w = bench.inputs.workload(*bench.args)
if sys.argv[1] == "package":
    bench.inputs.search(abtest.candidate_module("predicate"), w)
    package = abtest.candidate_module("predicate")
new = abtest.candidate_module("predicate", True)
bench.inputs.search(new, w)
shared = []
for name, d in vars(new).items():
    for sig, cres in getattr(d, "overloads", {}).items():
        if sys.argv[1] == "package":
            theirs = getattr(package, name).overloads[sig]
            shared.append(
                cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
                == theirs.library.get_pointer_to_function(theirs.fndesc.llvm_func_name)
            )
print(package_loaded, len(shared), all(shared))
"""


def _instances(mode: str, paired_only: bool) -> list[str]:
    """INSTANCES' output in a fresh process: package loaded by setup, functions compared, shared."""
    env = {k: v for k, v in os.environ.items() if k != ENV_PAIRED_ONLY}
    env["PYTHONPATH"] = str(ROOT)  # the suites (benchmarks/) import as asv imports them
    if paired_only:
        env[ENV_PAIRED_ONLY] = "1"
    out = subprocess.run(
        [sys.executable, "-c", INSTANCES, mode], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_new_instance_runs_the_package_instances_machine_code_once_that_ran():
    """Why the decision's setup leaves the package's module unloaded: once the package's instance
    ran, a new instance of the same file calls the same addresses (its symbols resolve to the
    first definitions), so the "new instance" the pairing timed was the package instance's code,
    loaded before the baseline's in both processes."""
    package_loaded, functions, shared = _instances("package", paired_only=False)
    assert package_loaded == "True" and int(functions) >= 1 and shared == "True"


def test_the_decisions_setup_leaves_the_package_module_unloaded():
    """With abtest.ENV_PAIRED_ONLY (bench.py's decision run) the suite's setup imports no kernel:
    the pairing's new instance is the first to define its functions, as the baseline's copy is."""
    assert _instances("paired", paired_only=True)[0] == "False"
    assert _instances("paired", paired_only=False)[0] == "True"
