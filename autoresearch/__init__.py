"""lance-autoresearch: an agent optimizes Lance's hot-path kernels in a keep-or-revert loop.

Importing the package keys numba's on-disk cache on the package's own source (see numba_cache_dir):
numba stamps a cached function by the hash of its own file only, so a kernel whose imported helper
changed would otherwise run stale machine code, and a keep gate would time the wrong kernel.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
TARGETS = (
    "pq_l2",
    "distances",
    "ivf_select",
    "topk_merge",
    "bm25",
    "bitpack",
    "dictionary",
    "fsst",
    "take",
    "predicate",
    "posting_intersect",
)


ENV_STATE_DIR = "AUTORESEARCH_STATE_DIR"  # overrides state_root() (tests; the experiment's oracle)


def env_state_dir(prefix: Path) -> Path:
    """The state folder of the virtual environment at `prefix`."""
    return Path(prefix) / "var" / "lance-autoresearch"


def state_root() -> Path:
    """Where this installation keeps caches (numba's, generated workloads, module copies).

    Inside the interpreter's own environment when it is one (a clone's .venv, asv's environment
    under the clone's .asv/env): never a fixed path in the temporary folder, which every clone on
    the machine would share (one clone's cache or wrapper silently serving another's run). A
    plain interpreter falls back to the checkout's ignored .autoresearch/ folder.
    """
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR])
    if sys.prefix != sys.base_prefix:  # a virtual environment: per clone, and per asv env
        return env_state_dir(Path(sys.prefix))
    return PACKAGE_DIR.parent / ".autoresearch" / "cache"


def source_digest(package_dir: Path) -> str:
    """SHA-256 over the package's .py files (paths and bytes), in a stable order.

    The targets' kernels.py files are left out: they may import only numpy, numba and math (the
    oracle's static check), so numba's own stamp of the file covers them, and a commit that
    changes one target's kernel leaves every other target's compiled code valid.
    """
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir)
        if rel.name == "kernels.py" and rel.parts[0] in TARGETS:
            continue
        h.update(str(rel).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def numba_cache_dir(package_dir: Path, root: Path | None = None) -> str:
    """A numba cache directory private to this environment (or the state folder `root`) and this
    harness source."""
    return str((root or state_root()) / "numba" / source_digest(package_dir)[:16])


def _key_numba_cache() -> None:
    if os.environ.get("AUTORESEARCH_NUMBA_CACHE_KEYED") == "0":
        return  # the stale-cache test turns keying off to show the trap it prevents
    cache_dir = numba_cache_dir(PACKAGE_DIR)
    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    if "numba" in sys.modules:  # numba read its config already: set the live value too
        from numba.core import config

        config.CACHE_DIR = cache_dir


# LLVM pads the machine code it emits so that no jump crosses or ends on a 32-byte boundary. Without
# it, where a hot loop's branches happen to land moves its speed by a few percent (the front-end
# effects of Intel's JCC erratum class), and the landing spots depend on things unrelated to the
# source: two copies of one bm25 kernel, identical but for their modules' names, timed 1.0-1.6%
# apart on the 8-term queries in every fresh process; with the padding, 1.000 +- 0.2%
# (docs/gate.md, "Code placement"). Set in every process before numba compiles anything, so a
# candidate and its baseline are compared as sources, not as placements.
LLVM_OPTIONS = ("-x86-branches-within-32B-boundaries",)


def _stable_code_placement() -> None:
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return  # an x86 backend option
    import llvmlite.binding as llvm

    for option in LLVM_OPTIONS:
        llvm.set_option("lance-autoresearch", option)


def _single_threaded_blas() -> None:
    # Input generation (k-means, matmuls) on a shared 2-core VM: multithreaded OpenBLAS makes it
    # 10x slower under load, and kernels are measured single-threaded anyway.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _fork_safe_threading_layer() -> None:
    # The pairing forks a child to compile what numba's cache lacks (abtest.load_on_one_route),
    # possibly after a side's parallel=True code ran: GNU OpenMP's layer, numba's default where
    # libgomp is installed, kills a child forked after it ran; workqueue's does not. Kernels run on
    # one thread (NUMBA_NUM_THREADS=1 in the suites), so the layer only schedules that thread.
    os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
    if "numba" in sys.modules:  # numba read its config already: set the live value too
        from numba.core import config

        config.THREADING_LAYER = "workqueue"


_key_numba_cache()
_stable_code_placement()
_single_threaded_blas()
_fork_safe_threading_layer()
