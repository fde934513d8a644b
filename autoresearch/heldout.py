"""Held-out numeric cases, chosen from the math of each target's formula (docs/oracle.md).

The oracle runs these after each target's own `inputs.correctness_cases()`. They live here, in
the harness, not in the targets' packages: a target's package defines its experiment chain
(changing it starts a new epoch), while a sharper oracle is a harness change that applies at once,
to every kernel, the kept ones included (a kept kernel these reject is repaired, not kept).

Every case names the trap it sets. Traps that a target's own cases already set (decoders: empty
and single-element inputs, NaN payloads, signalling NaNs, -0.0 and subnormal bit patterns, the
widest bit widths) are not repeated here:
- pq_l2, distances, ivf_select: squared L2 by the expansion |q|^2 + |x|^2 - 2 q.x in float32
  cancels catastrophically when q is on or near x and both are large: at norm 1e3 the terms are
  1e6 and their float32 rounding (~0.1) is the whole answer, where the tolerance is 1e-4. So a
  query exactly on a centroid (or vector), and one near it, at scale 1e3.
- pq_l2: an empty scan (N = 0), one-dimensional sub-vectors (dsub = 1), and tables whose entries
  span nine orders of magnitude (summation order is free, losing the small terms is not).
- topk_merge: distances in {-0.0, +0.0} and subnormals. IEEE comparison says -0.0 == +0.0, so ties
  between them break by row id; a radix sort on float bits (the "total order" key) puts every
  -0.0 first.
- bm25's per-term arithmetic is Lance's float32, operation for operation, and its sums are
  compared within a tolerance: no cancellation to probe beyond its own cases.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.harness.cases import Case

SCALE = 1e3  # where float32 expansion formulas lose every digit of a small distance


def cases(target: str) -> list[Case]:
    """The held-out numeric cases of `target` (none for a target not listed)."""
    make = _TARGETS.get(target)
    return make() if make is not None else []


# ---------------------------------------------------------------------------
# pq_l2
# ---------------------------------------------------------------------------


def _pq_l2() -> list[Case]:
    inputs = importlib.import_module("autoresearch.pq_l2.inputs")
    reference = importlib.import_module("autoresearch.pq_l2.reference")

    def codebook(rng: SplitMix64, shape: tuple, distribution: str) -> np.ndarray:
        dim, M, K = shape
        return inputs.build(rng, shape, distribution, n=1, queries=1, train_rows=K).codebook

    def on_centroids(shape: tuple, noise: float) -> Callable:
        def make(rng: SplitMix64) -> tuple:
            book = codebook(rng, shape, f"scaled_{SCALE:g}")
            M, K, dsub = book.shape
            picked = rng.integers(M, K)
            query = book[np.arange(M), picked].reshape(-1).astype(np.float64)
            query += noise * SCALE * rng.normal(query.size)
            return (book, query.astype(np.float32))

        return make

    def scan(shape: tuple, n: int, table: str) -> Callable:
        def make(rng: SplitMix64) -> tuple:
            dim, M, K = shape
            if table == "wide":  # entries from 1e-3 to 1e6: float32 sums must keep them all
                exponents = rng.uniform(M * K, -3.0, 6.0)
                values = (10.0**exponents).astype(np.float32).reshape(M, K)
            else:
                book = codebook(rng, shape, "gaussian")
                query = inputs.make_vectors(rng, 1, dim, "gaussian")[0]
                values = reference.distance_table(book, query)
            codes = rng.integers(M * n, K).astype(np.uint8).reshape(M, n)
            return (np.ascontiguousarray(values), codes)

        return make

    small = (128, 16, 256)
    return [
        Case(f"distance_table held-out numerics: query on centroids at {SCALE:g}",
             "distance_table", on_centroids(small, 0.0), held_out=True),
        Case(f"distance_table held-out numerics: query near centroids at {SCALE:g}",
             "distance_table", on_centroids(small, 1e-4), held_out=True),
        Case("distance_table held-out numerics: dsub=1 (16, 16, 256)", "distance_table",
             on_centroids((16, 16, 256), 1e-3), held_out=True),
        Case("pq_distances held-out numerics: N=0", "pq_distances", scan(small, 0, "real"),
             held_out=True),
        Case("pq_distances held-out numerics: table entries from 1e-3 to 1e6", "pq_distances",
             scan(small, 777, "wide"), held_out=True),
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------


def _distances() -> list[Case]:
    inputs = importlib.import_module("autoresearch.distances.inputs")

    def duplicates(dim: int, n: int, noise: float, scale: float) -> Callable:
        def make(rng: SplitMix64) -> tuple:
            base = inputs.make_vectors(rng, 1, dim, "gaussian")[0].astype(np.float64) * scale
            query = base.astype(np.float32)
            vectors = np.repeat(base[None, :], n, axis=0)
            vectors += noise * rng.normal(n * dim).reshape(n, dim)
            vectors[::3] = query  # every third vector is the query itself
            return (query, np.ascontiguousarray(vectors, dtype=np.float32))

        return make

    out = []
    for function in inputs.FLOAT_FUNCTIONS:
        scale = inputs.dot_scale if function == "dot_batch" else None
        for label, noise, size in (
            (f"exact and near duplicates at {SCALE:g}", 1e-2, SCALE),
            ("exact and near duplicates at 1e5", 1.0, 1e5),
        ):
            out.append(
                Case(f"{function} held-out numerics: {label}", function,
                     duplicates(128, 150, noise, size), scale=scale, held_out=True)
            )  # fmt: skip
    return out


# ---------------------------------------------------------------------------
# ivf_select
# ---------------------------------------------------------------------------


def _ivf_select() -> list[Case]:
    inputs = importlib.import_module("autoresearch.ivf_select.inputs")

    def near(metric: str, noise: float, shape: tuple = (512, 64), nprobes: int = 20) -> Callable:
        num_partitions, dim = shape

        def make(rng: SplitMix64) -> tuple:
            centroids = inputs.make_vectors(rng, num_partitions, dim, f"scaled_{SCALE:g}")
            pick = int(rng.integers(1, num_partitions)[0])
            query = centroids[pick].astype(np.float64)
            query += noise * (SCALE / np.sqrt(dim)) * rng.normal(dim)
            # a few more centroids close to the query: the order among them is the answer
            near_rows = rng.integers(nprobes // 2, num_partitions)
            centroids[near_rows] = (
                query + 1e-2 * (SCALE / np.sqrt(dim)) * rng.normal(len(near_rows) * dim).reshape(
                    len(near_rows), dim)
            ).astype(np.float32)  # fmt: skip
            return (query.astype(np.float32), centroids, nprobes, metric)

        return make

    out = []
    for metric in inputs.METRICS:
        for label, noise in (("query = a centroid", 0.0), ("query near a centroid", 1e-3)):
            out.append(
                Case(f"find_partitions {metric} held-out numerics: {label} at {SCALE:g}",
                     "find_partitions", near(metric, noise), compare=inputs.compare_selection,
                     held_out=True)
            )  # fmt: skip
    return out


# ---------------------------------------------------------------------------
# topk_merge
# ---------------------------------------------------------------------------


def _topk_merge() -> list[Case]:
    inputs = importlib.import_module("autoresearch.topk_merge.inputs")
    levels = np.array([-0.0, 0.0, 1e-45, -1e-45, 1e-40, -1e-40, 1.0], dtype=np.float32)

    def values(rng: SplitMix64, n: int) -> np.ndarray:
        return levels[rng.integers(n, len(levels))]

    def topk(n: int, k: int) -> Callable:
        def make(rng: SplitMix64) -> tuple:
            return (values(rng, n), inputs.random_row_ids(rng, n), k)

        return make

    def merge(num_lists: int, width: int, k: int) -> Callable:
        def make(rng: SplitMix64) -> tuple:
            dists = values(rng, num_lists * width).reshape(num_lists, width)
            ids = inputs.random_row_ids(rng, num_lists * width).reshape(num_lists, width)
            order = np.lexsort((ids, dists), axis=-1)  # each list sorted by (distance, row id)
            return (np.take_along_axis(dists, order, -1), np.take_along_axis(ids, order, -1), k)

        return make

    what = "signed zeros and subnormals (ties by row id)"
    return [
        Case(f"topk held-out numerics: {what}", "topk", topk(1000, 300),
             compare=inputs.compare_exact, held_out=True),
        Case(f"topk_merge held-out numerics: {what}", "topk_merge", merge(8, 60, 100),
             compare=inputs.compare_exact, held_out=True, partial_change=False),
    ]  # fmt: skip


_TARGETS: dict[str, Callable[[], list[Case]]] = {
    "pq_l2": _pq_l2,
    "distances": _distances,
    "ivf_select": _ivf_select,
    "topk_merge": _topk_merge,
}
