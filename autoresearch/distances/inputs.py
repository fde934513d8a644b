"""distances inputs: the seeded speed workload (function x size) and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

FLOAT_FUNCTIONS = ["l2_batch", "dot_batch", "cosine_batch"]  # float32 query against a batch
DIMS = [128, 768, 1536]  # embedding dimensions
HAMMING_BYTES = [32, 64]  # binary code length: 256 and 512 bits
DISTRIBUTIONS = ["gaussian", "uniform", "sparse"]  # every timed call covers all three
BATCH_BYTES = 4 << 20  # float vectors per distribution: N = BATCH_BYTES // (4 * D) rows
HAMMING_CODES = 65_536  # binary codes per distribution
QUERIES = 4  # queries per distribution in one timed call
SPEED_SEED = 0xD157A
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "Distances": SpeedWorkload(
        "workload",
        {
            "function": FLOAT_FUNCTIONS,  # l2_batch, dot_batch, cosine_batch
            "dim": DIMS,  # vector dimension D (N = 4 MiB / (4 D) vectors per distribution)
        },
    ),
    "Hamming": SpeedWorkload(
        "workload",
        {"nbytes": HAMMING_BYTES},  # code length B in bytes (65,536 codes per distribution)
        args=lambda nbytes: ("hamming_batch", nbytes),
    ),
}

# Held out: never in the speed workload or program.md.
HELD_OUT_DISTRIBUTIONS = ["scaled_1e-3", "scaled_1e3", "mixed_range"]


def make_vectors(rng: SplitMix64, n: int, dim: int, distribution: str) -> np.ndarray:
    """float32[n, dim], scaled by 1/sqrt(dim) so a Gaussian vector has norm ~1, like an embedding.

    The scale keeps dot products O(1), where the float32 sums of a kernel and the float64 sums of
    the reference agree to ~1e-7; the held-out scaled distributions probe large and small
    magnitudes on purpose.
    """
    size = n * dim
    if distribution == "gaussian":
        x = rng.normal(size)
    elif distribution == "uniform":
        x = rng.uniform(size, -1.0, 1.0)
    elif distribution == "sparse":  # 90% zeros
        x = np.where(rng.uniform(size) < 0.9, 0.0, rng.normal(size))
    elif distribution.startswith("scaled_"):  # N(0,1) times 1e-3 or 1e3
        x = rng.normal(size) * float(distribution.removeprefix("scaled_"))
    elif distribution == "mixed_range":  # each element N(0,1) times 1e-3, 1 or 1e3
        x = rng.normal(size) * 10.0 ** (3 * (rng.integers(size, 3) - 1))
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    x = x / np.sqrt(dim)
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(n, dim))


def make_codes(rng: SplitMix64, n: int, nbytes: int, distribution: str) -> np.ndarray:
    """uint8[n, nbytes] binary codes: the sign bits (x > 0) of vectors of a distribution.

    The sign bits of a symmetric distribution (gaussian, uniform) are fair independent bits, drawn
    directly; a sparse vector (90% zeros) is positive with probability 0.05, drawn as a bit that is
    set with probability 1/16 (the AND of four fair bits).
    """
    words = (n * nbytes + 7) // 8
    if distribution in ("gaussian", "uniform"):
        bits = rng.u64(words)
    elif distribution == "sparse":
        bits = rng.u64(words) & rng.u64(words) & rng.u64(words) & rng.u64(words)
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    return np.ascontiguousarray(bits.view(np.uint8)[: n * nbytes].reshape(n, nbytes))


@dataclass(frozen=True)
class Workload:
    function: str  # name of the kernel function timed
    vectors: np.ndarray  # [len(DISTRIBUTIONS), N, D] float32, or [.., N, B] uint8 codes
    queries: np.ndarray  # [len(DISTRIBUTIONS), QUERIES, D] float32, or [.., QUERIES, B] uint8


def float_rows(dim: int) -> int:
    return BATCH_BYTES // (4 * dim)


@functools.lru_cache(maxsize=2)
def _float_data(dim: int) -> dict:
    key = f"float {dim}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        n = float_rows(dim)
        vectors = [make_vectors(rng.spawn(d), n, dim, d) for d in DISTRIBUTIONS]
        queries = [make_vectors(rng.spawn(f"q {d}"), QUERIES, dim, d) for d in DISTRIBUTIONS]
        return {"vectors": np.stack(vectors), "queries": np.stack(queries)}

    return cached_arrays(__file__, key, make)


@functools.lru_cache(maxsize=2)
def _code_data(nbytes: int) -> dict:
    key = f"codes {nbytes}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        codes = [make_codes(rng.spawn(d), HAMMING_CODES, nbytes, d) for d in DISTRIBUTIONS]
        queries = [make_codes(rng.spawn(f"q {d}"), QUERIES, nbytes, d) for d in DISTRIBUTIONS]
        return {"vectors": np.stack(codes), "queries": np.stack(queries)}

    return cached_arrays(__file__, key, make)


def workload(function: str, size: int) -> Workload:
    """The speed workload of one combination: `size` is D for float functions, B for hamming.

    The arrays are cached per process and shared by the float functions; never mutate them.
    """
    if function == "hamming_batch":
        return Workload(function, **_code_data(size))
    if function not in FLOAT_FUNCTIONS:
        raise ValueError(f"unknown function {function!r}")
    return Workload(function, **_float_data(size))


def search(impl, w: Workload) -> np.ndarray:
    """One timed call: every query of every distribution against that distribution's batch."""
    func = getattr(impl, w.function)
    out = None
    for vectors, queries in zip(w.vectors, w.queries, strict=True):
        for q in queries:
            out = func(q, vectors)
    return out


def outputs(impl, w: Workload) -> list:
    """Every distance vector of the workload (what track_mismatches compares)."""
    func = getattr(impl, w.function)
    return [
        func(q, vectors)
        for vectors, queries in zip(w.vectors, w.queries, strict=True)
        for q in queries
    ]


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def dot_scale(args: tuple, expected) -> np.ndarray:
    """1 + sum_d |q_d x_d| per vector: the magnitude of the terms a dot distance sums (it can
    cancel, so the tolerance scales with the terms, not with the result)."""
    query, vectors = args
    return 1.0 + np.abs(vectors.astype(np.float64)) @ np.abs(query.astype(np.float64))


def _view(matrix: np.ndarray, view: str | None, rows: int) -> np.ndarray:
    """`rows` rows of `matrix` (built with 2 * rows + 1 rows) as a plain, strided or offset view."""
    if view == "strided":  # every other row: rows are not adjacent in memory
        return matrix[: 2 * rows : 2]
    if view == "offset":  # the batch starts one element into its buffer: unaligned rows
        flat = matrix.reshape(-1)[1 : 1 + rows * matrix.shape[1]]
        return flat.reshape(rows, matrix.shape[1])
    return np.ascontiguousarray(matrix[:rows])


def _float_case(
    function: str,
    label: str,
    dim: int,
    n: int,
    distribution: str,
    held_out: bool = True,
    view: str | None = None,
    special: str | None = None,
) -> Case:
    def make(rng):
        vectors = _view(make_vectors(rng, 2 * n + 1, dim, distribution), view, n)
        query = make_vectors(rng, 2, dim, distribution)
        if special == "strided query":  # a column of a matrix: non-contiguous
            query = np.ascontiguousarray(make_vectors(rng, dim, 2, distribution))[:, 1]
        else:
            query = query[1]
        if special == "zero query":
            query = np.zeros(dim, dtype=np.float32)
        elif special == "zero vectors":  # every third vector is all zeros
            vectors = vectors.copy()
            vectors[::3] = 0.0
        elif special == "near duplicates":  # |q - x| small against |q|: cancellation traps
            noise = make_vectors(rng, n, dim, "gaussian")
            vectors = np.ascontiguousarray(query[None, :] + noise, dtype=np.float32)
        return (query, vectors)

    scale = dot_scale if function == "dot_batch" else None
    return Case(f"{function} {label}", function, make, scale=scale, held_out=held_out)


def _hamming_case(
    label: str, nbytes: int, n: int, distribution: str, held_out=True, view=None, special=None
) -> Case:
    def make(rng):
        codes = _view(make_codes(rng, 2 * n + 1, nbytes, distribution), view, n)
        query = make_codes(rng, 1, nbytes, distribution)[0]
        if special == "all bits differ":
            query = np.full(nbytes, 0xFF, dtype=np.uint8)
            codes = np.zeros_like(codes)
        elif special == "identical":
            codes = np.ascontiguousarray(np.broadcast_to(query, codes.shape))
        return (query, codes)

    return Case(f"hamming_batch {label}", "hamming_batch", make, held_out=held_out)


def correctness_cases() -> list[Case]:
    cases = []
    for function in FLOAT_FUNCTIONS:
        for dim in DIMS:
            for dist in DISTRIBUTIONS:
                cases.append(_float_case(function, f"D={dim} {dist}", dim, 300, dist, False))
        held = [
            ("D=1", 1, 257, "gaussian", None, None),
            ("D=7", 7, 257, "gaussian", None, None),
            ("D=8", 8, 257, "uniform", None, None),  # Lance's cosine has a D=8 path
            ("D=16", 16, 257, "uniform", None, None),  # and a D=16 one
            ("D=17", 17, 257, "gaussian", None, None),
            ("D=100", 100, 257, "sparse", None, None),
            ("D=1000", 1000, 65, "gaussian", None, None),
            ("N=1", 768, 1, "gaussian", None, None),
            ("N=0 (empty batch)", 128, 0, "gaussian", None, None),
            ("strided rows", 100, 301, "gaussian", "strided", None),
            ("unaligned offset rows", 100, 301, "uniform", "offset", None),
            ("strided query", 100, 301, "gaussian", None, "strided query"),
            ("zero query", 128, 100, "gaussian", None, "zero query"),
            ("zero vectors", 128, 100, "gaussian", None, "zero vectors"),
            ("near duplicates at 1e3", 128, 200, "scaled_1e3", None, "near duplicates"),
        ]
        held += [(dist, 130, 200, dist, None, None) for dist in HELD_OUT_DISTRIBUTIONS]
        for label, dim, n, dist, view, special in held:
            cases.append(_float_case(function, label, dim, n, dist, True, view, special))
    for nbytes in HAMMING_BYTES:
        for dist in DISTRIBUTIONS:
            cases.append(_hamming_case(f"B={nbytes} {dist}", nbytes, 1000, dist, held_out=False))
    cases += [
        _hamming_case("B=1", 1, 333, "gaussian"),
        _hamming_case("B=3", 3, 333, "sparse"),
        _hamming_case("B=65 (not a multiple of 64)", 65, 333, "uniform"),
        _hamming_case("B=200", 200, 111, "gaussian"),
        _hamming_case("N=1", 32, 1, "gaussian"),
        _hamming_case("N=0 (empty batch)", 32, 0, "gaussian"),
        _hamming_case("all bits differ", 64, 50, "gaussian", special="all bits differ"),
        _hamming_case("identical codes", 64, 50, "gaussian", special="identical"),
        _hamming_case("strided rows", 33, 301, "gaussian", view="strided"),
        _hamming_case("unaligned offset rows", 33, 301, "uniform", view="offset"),
    ]
    return cases
