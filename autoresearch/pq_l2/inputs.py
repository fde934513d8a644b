"""pq_l2 inputs: the seeded speed workload (shapes x distributions) and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

SHAPES = [(128, 16, 256), (256, 16, 256), (768, 96, 256)]  # (dim, M sub-vectors, K centroids)
DISTRIBUTIONS = ["clustered", "uniform", "sparse"]  # what the vectors and queries look like
NUM_VECTORS = 20_000  # codes scanned per query, as in the Rust harness
NUM_QUERIES = 32  # queries per timed call
TRAIN_ROWS = 4096  # codebook training sample
LLOYD_ITERS = 2  # a few Lloyd iterations: realistic centroids, cheap to build
SPEED_SEED = 0x1A2CE  # the speed workload's seed (correctness uses fresh ones too)
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "PqL2": SpeedWorkload(
        "workload",
        {
            "shape": SHAPES,  # (dim, M sub-vectors, K centroids)
            "distribution": DISTRIBUTIONS,  # what the vectors and queries look like
        },
    ),
}

# Held out: never in the speed workload or program.md.
HELD_OUT_DISTRIBUTIONS = ["gaussian", "scaled_1e-3", "scaled_1e3", "mostly_zero"]


def make_vectors(rng: SplitMix64, n: int, dim: int, distribution: str) -> np.ndarray:
    """float32[n, dim] drawn from a named distribution."""
    size = n * dim
    if distribution == "clustered":  # 32 Gaussian centres plus small noise
        centres = rng.normal(32 * dim).reshape(32, dim)
        which = rng.integers(n, 32)
        x = centres[which] + 0.1 * rng.normal(size).reshape(n, dim)
    elif distribution == "uniform":
        x = rng.uniform(size, -1.0, 1.0)
    elif distribution == "sparse":  # 90% zeros
        x = np.where(rng.uniform(size) < 0.9, 0.0, rng.normal(size))
    elif distribution == "gaussian":
        x = rng.normal(size)
    elif distribution.startswith("scaled_"):  # large dynamic range: N(0,1) times 1e-3 or 1e3
        x = rng.normal(size) * float(distribution.removeprefix("scaled_"))
    elif distribution == "mostly_zero":  # 99% zeros
        x = np.where(rng.uniform(size) < 0.99, 0.0, rng.normal(size))
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(n, dim))


def _sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances [len(x), len(c)] by the norm expansion (training only, not the oracle)."""
    return (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]


def train_codebook(
    rng: SplitMix64, train: np.ndarray, M: int, K: int, iters: int = LLOYD_ITERS
) -> np.ndarray:
    """float32[M, K, dsub]: k-means per sub-space, seeded from random rows, a few Lloyd steps."""
    n, dim = train.shape
    dsub = dim // M
    sub = train.astype(np.float64).reshape(n, M, dsub)
    codebook = np.empty((M, K, dsub), dtype=np.float64)
    for m in range(M):
        x = sub[:, m, :]
        c = x[rng.integers(K, n)] + 1e-3 * rng.normal(K * dsub).reshape(K, dsub)
        for _ in range(iters):
            assign = _sq_dists(x, c).argmin(1)
            counts = np.bincount(assign, minlength=K)
            sums = np.zeros_like(c)
            np.add.at(sums, assign, x)
            filled = counts > 0
            c[filled] = sums[filled] / counts[filled, None]
        codebook[m] = c
    return codebook.astype(np.float32)


def encode(vectors: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """uint8[M, N] column-major codes, as Lance stores them (codes[m, j]: sub-vector m of row j)."""
    M, K, dsub = codebook.shape
    n = vectors.shape[0]
    sub = vectors.reshape(n, M, dsub)
    codes = np.empty((M, n), dtype=np.uint8)
    for m in range(M):
        # |x|^2 is the same for every centroid: argmin over |c|^2 - 2 x.c suffices.
        c = codebook[m]
        codes[m] = ((c * c).sum(1)[None, :] - 2.0 * sub[:, m, :] @ c.T).argmin(1)
    return codes


@dataclass(frozen=True)
class Workload:
    codebook: np.ndarray  # float32[M, K, dsub]
    codes: np.ndarray  # uint8[M, N]
    queries: np.ndarray  # float32[Q, dim]


def build(
    rng: SplitMix64,
    shape: tuple,
    distribution: str,
    n: int,
    queries: int,
    train_rows: int = TRAIN_ROWS,
) -> Workload:
    dim, M, K = shape
    train = make_vectors(rng, max(train_rows, K), dim, distribution)
    codebook = train_codebook(rng, train, M, K)
    codes = encode(make_vectors(rng, n, dim, distribution), codebook)
    return Workload(codebook, codes, make_vectors(rng, queries, dim, distribution))


@functools.lru_cache(maxsize=4)
def workload(shape: tuple, distribution: str) -> Workload:
    """The speed workload of one combination (cached per process; never mutate it)."""
    key = f"{tuple(shape)} {distribution}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        w = build(rng, tuple(shape), distribution, NUM_VECTORS, NUM_QUERIES)
        return dataclasses.asdict(w)

    return Workload(**cached_arrays(__file__, key, make))


def search(impl, w: Workload) -> np.ndarray:
    """What one timed call does: every query's table, then its distances to every code."""
    out = None
    for q in w.queries:
        out = impl.pq_distances(impl.distance_table(w.codebook, q), w.codes)
    return out


def outputs(impl, w: Workload) -> list:
    """Every table and distance vector of the workload (what track_mismatches compares)."""
    result = []
    for q in w.queries:
        table = impl.distance_table(w.codebook, q)
        result += [table, impl.pq_distances(table, w.codes)]
    return result


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def _table_case(label, shape, distribution, held_out=False) -> Case:
    def make(rng):
        w = build(rng, shape, distribution, n=1, queries=1, train_rows=shape[2])
        return (w.codebook, w.queries[0])

    return Case(f"distance_table {label}", "distance_table", make, held_out=held_out)


def _scan_case(label, shape, distribution, n, held_out=False, view=None) -> Case:
    from autoresearch.pq_l2 import reference

    dim, M, K = shape

    def make(rng):
        # A real table; codes drawn uniformly (the scan's result does not depend on how codes were
        # assigned, and encoding 20k vectors per case would dominate the correctness run).
        w = build(rng, shape, distribution, n=1, queries=1, train_rows=K)
        table = reference.distance_table(w.codebook, w.queries[0])
        codes = rng.integers(M * n * 2, K).astype(np.uint8).reshape(M, 2 * n)
        if view == "strided":  # every other vector of a wider code matrix: non-contiguous
            codes = codes[:, ::2]
        elif view == "offset":  # codes starting one byte into their buffer: unaligned
            codes = codes[:, 1 : n + 1]
        else:
            codes = np.ascontiguousarray(codes[:, :n])
        return (table, codes)

    return Case(f"pq_distances {label}", "pq_distances", make, held_out=held_out)


def correctness_cases() -> list[Case]:
    cases = []
    for shape in SHAPES:
        for dist in DISTRIBUTIONS:
            label = f"{shape} {dist}"
            cases += [_table_case(label, shape, dist), _scan_case(label, shape, dist, NUM_VECTORS)]
    small = (128, 16, 256)
    for dist in HELD_OUT_DISTRIBUTIONS:
        cases += [
            _table_case(f"{small} {dist}", small, dist, held_out=True),
            _scan_case(f"{small} {dist}", small, dist, 1000, held_out=True),
        ]
    cases += [
        _scan_case("N=1", small, "gaussian", 1, held_out=True),
        _scan_case("N=1007 (not a multiple of 16)", small, "gaussian", 1007, held_out=True),
        _table_case("M=1 (8, 1, 256)", (8, 1, 256), "gaussian", held_out=True),
        _scan_case("M=1 (8, 1, 256)", (8, 1, 256), "gaussian", 333, held_out=True),
        _table_case("K=16 dsub=5 (40, 8, 16)", (40, 8, 16), "uniform", held_out=True),
        _scan_case("K=16 (40, 8, 16)", (40, 8, 16), "uniform", 515, held_out=True),
        _scan_case("strided codes view", small, "uniform", 999, held_out=True, view="strided"),
        _scan_case("unaligned codes view", small, "uniform", 1001, held_out=True, view="offset"),
    ]
    return cases
