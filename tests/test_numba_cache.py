"""The stale numba cache trap: numba stamps a cached function by its own file's hash only.

A kernel whose helper module changed would run stale machine code, and a keep gate would time the
wrong kernel. autoresearch keys NUMBA_CACHE_DIR on the package source (the targets' kernels.py
aside: they import no package module, and numba's own stamp covers a function's own file); these
tests show the trap with numba's default keying, its absence with ours, and the stamp that covers
a kernel's own edits.
"""

import os
import subprocess
import sys
import textwrap

import autoresearch
from autoresearch import numba_cache_dir, source_digest

KERN = """
from numba import njit
from pkg.helper import helper

@njit(cache=True)
def outer(x):
    return helper(x)
"""
HELPER = """
from numba import njit

@njit
def helper(x):
    return x * {factor}
"""
RUN = "import pkg.kern as k; print(k.outer(1.0))"


def _make_pkg(root, factor):
    pkg = root / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kern.py").write_text(textwrap.dedent(KERN))
    (pkg / "helper.py").write_text(textwrap.dedent(HELPER.format(factor=factor)))
    return pkg


def _run(root, cache_dir):
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


def test_default_keying_runs_a_stale_kernel(tmp_path):
    pkg = _make_pkg(tmp_path, 2.0)
    cache = tmp_path / "cache"
    assert _run(tmp_path, cache) == 2.0
    _make_pkg(tmp_path, 3.0)  # only the helper changed
    assert _run(tmp_path, cache) == 2.0  # the trap: numba loaded the old machine code
    assert pkg.exists()


def test_source_keyed_cache_dir_sees_the_change(tmp_path):
    pkg = _make_pkg(tmp_path, 2.0)
    assert _run(tmp_path, numba_cache_dir(pkg)) == 2.0
    _make_pkg(tmp_path, 3.0)
    assert _run(tmp_path, numba_cache_dir(pkg)) == 3.0


def test_numba_stamps_a_functions_own_file(tmp_path):
    """Why a kernels.py can stay out of the digest: an edit of the cached function's own file is
    seen with the same cache directory."""
    pkg = _make_pkg(tmp_path, 2.0)
    cache = tmp_path / "cache"
    assert _run(tmp_path, cache) == 2.0
    (pkg / "kern.py").write_text(textwrap.dedent(KERN).replace("helper(x)", "helper(x) + 1.0"))
    assert _run(tmp_path, cache) == 3.0


def test_digest_follows_every_source_file(tmp_path):
    pkg = _make_pkg(tmp_path, 2.0)
    before = source_digest(pkg)
    (pkg / "helper.py").write_text((pkg / "helper.py").read_text() + "\n# edit\n")
    assert source_digest(pkg) != before


def test_importing_autoresearch_keys_the_cache_on_its_source():
    code = "import autoresearch, os; print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == numba_cache_dir(autoresearch.PACKAGE_DIR)


LOAD = """
import sys
from autoresearch import oracle
module = oracle.load_module_from(sys.argv[1], sys.argv[2])
print(module.double(2.0))
"""


def test_one_file_loaded_under_two_module_names_in_turn(tmp_path):
    """numba's cache records the module name: a red-team file tested in-process under one name and
    then checked by the oracle under another must not load the first name's machine code."""
    kernel = tmp_path / "kernel.py"
    kernel.write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef double(x):\n    return 2 * x\n"
    )
    env = {**os.environ, "AUTORESEARCH_NUMBA_CACHE_KEYED": "0", "NUMBA_CACHE_DIR": str(tmp_path)}
    for name in ("first_name", "autoresearch.pq_l2.kernels", "first_name"):
        out = subprocess.run(
            [sys.executable, "-c", LOAD, str(kernel), name], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "4.0"
