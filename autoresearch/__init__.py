"""lance-autoresearch: an agent optimizes Lance's hot-path kernels in a keep-or-revert loop.

Importing the package keys numba's on-disk cache on the package's own source (see numba_cache_dir):
numba stamps a cached function by the hash of its own file only, so a kernel whose imported helper
changed would otherwise run stale machine code, and a keep gate would time the wrong kernel.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
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


def source_digest(package_dir: Path) -> str:
    """SHA-256 over every .py file of a package (paths and bytes), in a stable order."""
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        h.update(str(path.relative_to(package_dir)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def numba_cache_dir(package_dir: Path) -> str:
    """A numba cache directory private to this exact package source."""
    root = Path(tempfile.gettempdir()) / "lance-autoresearch-numba"
    return str(root / source_digest(package_dir)[:16])


def _key_numba_cache() -> None:
    if os.environ.get("AUTORESEARCH_NUMBA_CACHE_KEYED") == "0":
        return  # the stale-cache test turns keying off to show the trap it prevents
    cache_dir = numba_cache_dir(PACKAGE_DIR)
    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    if "numba" in sys.modules:  # numba read its config already: set the live value too
        from numba.core import config

        config.CACHE_DIR = cache_dir


def _single_threaded_blas() -> None:
    # Input generation (k-means, matmuls) on a shared 2-core VM: multithreaded OpenBLAS makes it
    # 10x slower under load, and kernels are measured single-threaded anyway.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


_key_numba_cache()
_single_threaded_blas()
