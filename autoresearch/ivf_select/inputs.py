"""ivf_select inputs: the seeded speed workload (shape x nprobes) and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from autoresearch.common import MAX_ABS_ERR, TOPK_DIST_TOL, SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

SHAPES = [(256, 128), (1024, 768), (4096, 128), (4096, 768)]  # (P partitions, D dimension)
NPROBES = [1, 20, 64]  # partitions probed: Lance's minimum, a common setting, a recall-heavy one
METRICS = ["l2", "dot"]  # every timed call covers both
DISTRIBUTIONS = ["clustered", "uniform"]  # of centroids and queries; every timed call covers both
SCAN_FLOATS = 1 << 21  # centroid floats read per (distribution, metric) in one timed call
CLUSTERS = 32  # clustered: the data's modes, which k-means centroids crowd around
SPEED_SEED = 0x1F5E1
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "IvfSelect": SpeedWorkload(
        "workload",
        {
            "shape": SHAPES,  # (P partitions, D dimension)
            "nprobes": NPROBES,  # partitions probed per query
        },
    ),
}


def queries_per_call(shape: tuple) -> int:
    """Queries per (distribution, metric) in one timed call: enough to read SCAN_FLOATS."""
    num_partitions, dim = shape
    return max(1, SCAN_FLOATS // (num_partitions * dim))


def make_modes(rng: SplitMix64, dim: int) -> np.ndarray:
    """float64[CLUSTERS, dim]: the modes of a clustered data set, N(0,1) each."""
    return rng.normal(CLUSTERS * dim).reshape(CLUSTERS, dim)


def make_vectors(
    rng: SplitMix64,
    n: int,
    dim: int,
    distribution: str,
    modes: np.ndarray | None = None,
    spread: float = 0.25,
) -> np.ndarray:
    """float32[n, dim], scaled by 1/sqrt(dim) so vectors have norm ~1, like embeddings.

    clustered: one of the `modes` plus `spread` * N(0,1); centroids (k-means centroids crowd
    around the data's modes) use 0.25, queries (data points) a wider 0.35.
    """
    size = n * dim
    if distribution == "clustered":
        x = modes[rng.integers(n, CLUSTERS)] + spread * rng.normal(size).reshape(n, dim)
    elif distribution == "uniform":
        x = rng.uniform(size, -1.0, 1.0)
    elif distribution == "gaussian":
        x = rng.normal(size)
    elif distribution.startswith("scaled_"):  # uniform times 1e-3 or 1e3
        x = rng.uniform(size, -1.0, 1.0) * float(distribution.removeprefix("scaled_"))
    elif distribution == "grid":  # values in {-1, 0, 1}: many exactly equal distances
        x = (rng.integers(size, 3) - 1).astype(np.float64)
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    x = np.asarray(x).reshape(n, dim) / np.sqrt(dim)
    return np.ascontiguousarray(x, dtype=np.float32)


@dataclass(frozen=True)
class Workload:
    nprobes: int
    centroids: np.ndarray  # float32[len(DISTRIBUTIONS), P, D]
    queries: np.ndarray  # float32[len(DISTRIBUTIONS), queries_per_call, D]


@functools.lru_cache(maxsize=2)
def _data(shape: tuple) -> dict:
    key = f"{tuple(shape)}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        num_partitions, dim = shape
        centroids, queries = [], []
        for dist in DISTRIBUTIONS:
            data = rng.spawn(dist)
            modes = make_modes(data.spawn("modes"), dim)
            centroids.append(make_vectors(data.spawn("c"), num_partitions, dim, dist, modes))
            n = queries_per_call(shape)
            queries.append(make_vectors(data.spawn("q"), n, dim, dist, modes, spread=0.35))
        return {"centroids": np.stack(centroids), "queries": np.stack(queries)}

    return cached_arrays(__file__, key, make)


def workload(shape: tuple, nprobes: int) -> Workload:
    """The speed workload of one combination (arrays cached per process; never mutate them)."""
    return Workload(nprobes, **_data(tuple(shape)))


def search(impl, w: Workload):
    """One timed call: every query of both distributions, with both metrics."""
    out = None
    for centroids, queries in zip(w.centroids, w.queries, strict=True):
        for metric in METRICS:
            for q in queries:
                out = impl.find_partitions(q, centroids, w.nprobes, metric)
    return out


def _true_distances(query, centroids, ids, metric) -> np.ndarray:
    """float64 distances of the given centroids (numpy, independent of any kernel)."""
    c = centroids[ids].astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        return ((c - q) ** 2).sum(axis=1)
    return 1.0 - c @ q


def outputs(impl, w: Workload) -> list:
    """What track_mismatches compares, per query, insensitive to the order of near-ties.

    Ids of (near-)tied centroids may legitimately differ from the reference's, so it compares:
    the returned distances rank by rank; the exact (float64) distances of the returned ids rank by
    rank; and a validity vector (uint32 ids, float32 distances, ids in range and distinct).
    """
    result = []
    for centroids, queries in zip(w.centroids, w.queries, strict=True):
        num_partitions = centroids.shape[0]
        for metric in METRICS:
            for q in queries:
                ids, dists = impl.find_partitions(q, centroids, w.nprobes, metric)
                ids = np.asarray(ids)
                in_range = bool(np.all((ids >= 0) & (ids < num_partitions)))
                valid = [
                    ids.dtype == np.uint32,
                    np.asarray(dists).dtype == np.float32,
                    in_range,
                    len(np.unique(ids)) == len(ids),
                ]
                picked = ids.astype(np.int64) if in_range else ids[:0].astype(np.int64)
                exact = _true_distances(q, centroids, picked, metric)
                result += [np.asarray(dists), exact, np.array(valid)]
    return result


# ---------------------------------------------------------------------------
# Correctness: the oracle's rule for a selection
# ---------------------------------------------------------------------------


def _scales(query, centroids, metric) -> tuple[np.ndarray, np.ndarray]:
    """(exact distance, magnitude of its terms) of every centroid, in float64."""
    c = centroids.astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        exact = ((c - q) ** 2).sum(axis=1)
        return exact, exact  # a sum of squares cannot cancel
    return 1.0 - c @ q, 1.0 + np.abs(c) @ np.abs(q)


_last_scales: list = [None, None]  # [(expected, query, centroids), their _scales]: _scales_of


def _scales_of(expected, query, centroids, metric) -> tuple[np.ndarray, np.ndarray]:
    """_scales, computed once per reference answer and inputs: the oracle judges one answer again
    after every repeated call on the same snapshot of the inputs (2000 judgements, 2.4 s of
    ivf_select's oracle). Keyed on the objects themselves, held by the entry so no id is reused;
    a stale-answer check (an old answer, new inputs) misses and computes afresh."""
    key = (expected, query, centroids)
    cached = _last_scales[0]
    if cached is None or any(x is not y for x, y in zip(key, cached, strict=True)):
        _last_scales[:] = [key, _scales(query, centroids, metric)]
    return _last_scales[1]


def compare_selection(args: tuple, actual, expected) -> list[str]:
    """Problems with a kernel's (ids, dists) for find_partitions(query, centroids, nprobes, metric).

    Exact where the answer is unique, free where Lance's unstable selection is:
    - ids are distinct partition ids; dists are ascending and each within MAX_ABS_ERR of the
      exact distance of its id (scaled by the magnitude of the terms, as the default compare);
    - rank by rank, the exact distance of the returned id equals the exact r-th smallest distance
      within TOPK_DIST_TOL (same scaling). So ids of equal (or near-equal) distances may come in
      any order, and at the boundary any of the tied centroids may take the last slots; a
      centroid that is farther than the tolerance can never replace a nearer one.
    """
    query, centroids, nprobes, metric = args
    if not isinstance(actual, tuple) or len(actual) != 2:
        return [f"contract: expected a tuple (ids, dists), got {type(actual).__name__}"]
    problems = []
    for name, a, e in zip(("ids", "dists"), actual, expected, strict=True):
        if type(a) is not np.ndarray:
            problems.append(f"contract: {name} is {type(a).__name__}, expected numpy.ndarray")
        elif a.dtype != e.dtype or a.shape != e.shape:
            problems.append(f"contract: {name} {a.dtype}{a.shape}, expected {e.dtype}{e.shape}")
    if problems:
        return problems
    ids, dists = actual
    num_partitions = centroids.shape[0]
    if ids.size and (ids.max() >= num_partitions):
        return [f"wrong: partition id {int(ids.max())} out of range (P = {num_partitions})"]
    if len(np.unique(ids)) != len(ids):
        return [f"wrong: repeated partition ids {ids.tolist()[:20]}"]
    if np.any(dists[1:] < dists[:-1]) or np.isnan(dists).any():
        return [f"wrong: distances not ascending: {dists.tolist()[:20]}"]
    exact, scale = _scales_of(expected, query, centroids, metric)
    picked = ids.astype(np.int64)
    off = np.abs(dists.astype(np.float64) - exact[picked]) > MAX_ABS_ERR * np.maximum(
        1.0, scale[picked]
    )
    if off.any():
        r = int(np.argmax(off))
        return [
            f"wrong: {int(off.sum())} distances off, e.g. rank {r}: id {int(ids[r])} "
            f"returned {float(dists[r])!r}, exact {exact[picked[r]]!r}"
        ]
    order = np.argsort(exact, kind="stable")[: len(ids)]
    tol = TOPK_DIST_TOL * np.maximum(1.0, np.maximum(scale[picked], scale[order]))
    misplaced = np.abs(exact[picked] - exact[order]) > tol
    if misplaced.any():
        r = int(np.argmax(misplaced))
        return [
            f"wrong: rank {r} holds id {int(ids[r])} at exact distance {exact[picked[r]]!r}; "
            f"the {r}-th smallest is {exact[order[r]]!r} (id {int(order[r])})"
        ]
    return []


def _case(
    label: str,
    shape: tuple,
    nprobes: int,
    metric: str,
    distribution: str,
    held_out: bool = True,
    view: str | None = None,
    special: str | None = None,
) -> Case:
    num_partitions, dim = shape

    def make(rng):
        modes = make_modes(rng.spawn("modes"), dim)  # queries and centroids share them
        rows = 2 * num_partitions if view == "strided" else num_partitions + 1  # + 1: "offset"
        centroids = make_vectors(rng, rows, dim, distribution, modes)
        query = make_vectors(rng, 1, dim, distribution, modes, spread=0.35)[0]
        if view == "strided":  # every other centroid: rows not adjacent in memory
            centroids = centroids[: 2 * num_partitions : 2]
        elif view == "offset":  # one float into the buffer: unaligned rows
            flat = centroids.reshape(-1)[1 : 1 + num_partitions * dim]
            centroids = flat.reshape(num_partitions, dim)
        else:
            centroids = np.ascontiguousarray(centroids[:num_partitions])
        if special == "duplicates":  # every centroid twice, shuffled: exact ties in pairs
            half = centroids[: (num_partitions + 1) // 2]
            both = np.concatenate([half, half])[:num_partitions]
            centroids = np.ascontiguousarray(both[rng.permutation(num_partitions)])
        elif special == "centroid":  # l2 distance exactly 0
            query = centroids[int(rng.integers(1, num_partitions)[0])].copy()
        elif special == "zero query":  # dot: every distance is exactly 1
            query = np.zeros(dim, dtype=np.float32)
        return (query, centroids, nprobes, metric)

    return Case(
        f"find_partitions {metric} {label}",
        "find_partitions",
        make,
        compare=compare_selection,
        held_out=held_out,
    )


def correctness_cases() -> list[Case]:
    cases = []
    combos = [(s, m, d) for s in SHAPES for m in METRICS for d in DISTRIBUTIONS]
    for i, (shape, metric, dist) in enumerate(combos):
        nprobes = NPROBES[i % len(NPROBES)]  # every nprobes meets every shape and metric
        label = f"P={shape[0]} D={shape[1]} {dist} nprobes={nprobes}"
        cases.append(_case(label, shape, nprobes, metric, dist, held_out=False))
    for metric in METRICS:
        cases += [
            _case("P=1", (1, 16), 1, metric, "gaussian"),
            _case("nprobes = P (full sort)", (256, 32), 256, metric, "clustered"),
            _case("nprobes > P (returns P)", (100, 32), 150, metric, "gaussian"),
            _case("nprobes = 0 (empty)", (64, 32), 0, metric, "gaussian"),
            _case("D=1", (300, 1), 20, metric, "gaussian"),
            _case("D=17", (500, 17), 20, metric, "uniform"),
            _case("grid values: exact ties", (512, 8), 20, metric, "grid"),
            _case("duplicate centroids", (256, 64), 21, metric, "gaussian", special="duplicates"),
            _case("query = a centroid", (512, 64), 20, metric, "clustered", special="centroid"),
            _case("zero query", (512, 64), 20, metric, "gaussian", special="zero query"),
            _case("scaled_1e3", (512, 64), 20, metric, "scaled_1e3"),
            _case("scaled_1e-3", (512, 64), 20, metric, "scaled_1e-3"),
            _case("strided centroids", (300, 33), 20, metric, "gaussian", view="strided"),
            _case("unaligned offset centroids", (300, 33), 20, metric, "uniform", view="offset"),
        ]
    return cases
