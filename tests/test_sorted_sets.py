"""autoresearch/sorted_sets.py: posting_intersect's sample_unique, now bm25's too. The same bytes
as posting_intersect's own copy gave (digests recorded from it), and bm25's workloads on every
declared combination bit-identical to those of its former np.unique path."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from autoresearch import sorted_sets
from autoresearch.bm25 import inputs as bm25
from autoresearch.common import SplitMix64
from autoresearch.posting_intersect import inputs as posting_intersect

# sample_unique(SplitMix64(seed), n, universe) -> digest, from posting_intersect's copy.
RECORDED = [
    ((1, 0, 10), "55ae42cc1e37a5eb"),
    ((2, 7, 10), "13e3d457ce368e98"),
    ((3, 1000, 1 << 20), "88d73a9c0491d98d"),
    ((4, 50_000, 1 << 31), "84134849ee4b9fdb"),
]


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256(a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("args, digest", RECORDED)
def test_sample_unique_gives_the_bytes_posting_intersects_copy_gave(args, digest):
    seed, n, universe = args
    assert _digest(sorted_sets.sample_unique(SplitMix64(seed), n, universe)) == digest


@pytest.mark.parametrize("inputs", [posting_intersect, bm25])
def test_both_targets_use_the_one_copy(inputs):
    assert inputs.sample_unique is sorted_sets.sample_unique
    assert sorted_sets.__file__ in inputs.GENERATORS  # its changes invalidate cached workloads


def _np_unique_sample(rng: SplitMix64, n: int, universe: int) -> np.ndarray:
    """bm25's former sample_unique: np.unique where sorted_sets has one sort."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if 2 * n > universe:
        return np.sort(rng.permutation(universe)[:n])
    pool = np.empty(0, dtype=np.int64)
    while pool.size < n:
        pool = np.unique(np.concatenate([pool, rng.integers(n + n // 4 + 16, universe)]))
    return np.sort(pool[rng.permutation(pool.size)[:n]])


def _built(monkeypatch, sampler, num_docs: int, num_terms: int) -> dict:
    """bm25's speed arrays built afresh (no disk or process cache) with `sampler`."""
    monkeypatch.setattr(bm25, "sample_unique", sampler)
    monkeypatch.setattr(bm25, "cached_arrays", lambda source, key, make, also=(): make())
    bm25._arrays.cache_clear()
    try:
        return bm25._arrays(num_docs, num_terms)
    finally:
        bm25._arrays.cache_clear()


def test_bm25_workloads_are_bit_identical_to_the_np_unique_path(monkeypatch):
    speed = bm25.SPEED_WORKLOADS["Bm25"]
    pairs = sorted({(docs, terms) for docs, terms, _ in speed.combinations()})  # k: no arrays
    assert len(pairs) == len(bm25.NUM_DOCS) * len(bm25.NUM_TERMS)
    for num_docs, num_terms in pairs:
        new = _built(monkeypatch, sorted_sets.sample_unique, num_docs, num_terms)
        old = _built(monkeypatch, _np_unique_sample, num_docs, num_terms)
        assert list(new) == list(old)
        for name in new:
            assert new[name].dtype == old[name].dtype, (num_docs, num_terms, name)
            assert new[name].tobytes() == old[name].tobytes(), (num_docs, num_terms, name)
