"""The AUTORESEARCH_* variables the experiment reads, and the environment its children get.

AUTORESEARCH_TIME_BUDGET_SECS and AUTORESEARCH_CHECK_TIMEOUT_SECS override the limits of
autoresearch.common (tests, slow machines); AUTORESEARCH_BENCH_REGEX restricts the asv selection
(bench.py --bench).
"""

from __future__ import annotations

import os

from autoresearch.common import CHECK_TIMEOUT_SECS, TIME_BUDGET_SECS

ENV_TIME_BUDGET = "AUTORESEARCH_TIME_BUDGET_SECS"
ENV_CHECK_TIMEOUT = "AUTORESEARCH_CHECK_TIMEOUT_SECS"
ENV_BENCH_REGEX = "AUTORESEARCH_BENCH_REGEX"
# Set by bench.py for the paired asv run only: a child of the experiment must not inherit them.
BENCH_ONLY = ("AUTORESEARCH_AB_BASELINE", "AUTORESEARCH_SPEED_SALT")


def budget() -> float:
    """Seconds one experiment (or re-baseline) may take."""
    return float(os.environ.get(ENV_TIME_BUDGET, TIME_BUDGET_SECS))


def check_timeout() -> float:
    """Seconds one correctness check may take."""
    return float(os.environ.get(ENV_CHECK_TIMEOUT, CHECK_TIMEOUT_SECS))


def bench_regex() -> str | None:
    return os.environ.get(ENV_BENCH_REGEX) or None


def child_env() -> dict:
    env = dict(os.environ)
    for name in BENCH_ONLY:  # the paired run's baseline and its secret workload salt
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"  # live progress
    # numpy's OpenBLAS spins a thread per core while generating inputs (k-means codebooks); on a
    # loaded 2-core VM that made the oracle 14x slower (97 s against 7 s). Kernels do not use it.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env
