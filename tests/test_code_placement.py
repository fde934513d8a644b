"""Importing autoresearch pads numba's machine code at 32-byte boundaries (LLVM_OPTIONS in
autoresearch/__init__.py): the same function emits larger object code than in a process that did
not import it."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

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
