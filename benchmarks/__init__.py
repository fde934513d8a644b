"""asv suites, one per target (bench_<target>.py). Run them through `python -m autoresearch.bench`.

Importing `autoresearch` first keys numba's on-disk cache on the package source (the stale-cache
trap, docs/design.md). Kernels are timed single-threaded, as one Lance query thread runs them.
"""

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import autoresearch  # noqa: E402, F401  (sets NUMBA_CACHE_DIR before numba is imported)
