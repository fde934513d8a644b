"""Sorted sets of distinct ids, as posting lists hold them: shared by the posting_intersect and
bm25 targets' inputs.py (changing it changes both targets' workloads)."""

from __future__ import annotations

import numpy as np

from autoresearch.common import SplitMix64


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique(x) by one sort: numpy 2.4's hash-based unique took 0.17 s per 500k ids, three
    quarters of the speed workload's generation, which the experiment pays on every paired run."""
    x = np.sort(x)
    first = np.ones(x.size, dtype=bool)
    first[1:] = x[1:] != x[:-1]
    return x[first]


def sample_unique(rng: SplitMix64, n: int, universe: int) -> np.ndarray:
    """int64[n]: n distinct sorted values drawn uniformly from [0, universe) (universe <= 2^32)."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if 2 * n > universe:
        return np.sort(rng.permutation(universe)[:n])
    pool = np.empty(0, dtype=np.int64)
    while pool.size < n:
        pool = sorted_unique(np.concatenate([pool, rng.integers(n + n // 4 + 16, universe)]))
    return np.sort(pool[rng.permutation(pool.size)[:n]])
