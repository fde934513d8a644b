"""distances: Lance's flat vector search `_distance` against l2_batch, dot_batch, cosine_batch and
hamming_batch.

A dataset of the target's own vectors (inputs.make_vectors / make_codes: gaussian, uniform,
sparse), searched with `nearest={..., "use_index": False, "k": N}`: Lance computes every row's
distance with lance-linalg and returns all of them, which is the target's function over the whole
batch. Float distances are compared with the oracle's tolerance, hamming exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.distances import inputs, kernels, reference
from autoresearch.lance_checks import (
    KERNEL,
    LANCE,
    REFERENCE,
    Check,
    Scale,
    skipped,
    verdict,
)
from autoresearch.lance_checks.datasets import nearest, vector_column, write

TARGET = "distances"
SEED = 0xF1DE1
METRICS = {"l2_batch": "l2", "dot_batch": "dot", "cosine_batch": "cosine"}
QUERIES = 2


def _by_position(answer: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Lance's distances in row order, and which rows it returned at all."""
    out = np.full(n, np.nan, dtype=np.float32)
    out[answer["pos"]] = answer["distance"]
    returned = np.zeros(n, dtype=bool)
    returned[answer["pos"]] = True
    return out, returned


def _compare(name, function, ds, column, query, batch, scale_of) -> Iterator[Check]:
    n = batch.shape[0]
    answer = nearest(ds, column, query, n, metric=METRICS.get(function, "hamming"), use_index=False)
    lance, returned = _by_position(answer, n)
    if not returned.all():
        missing = np.flatnonzero(~returned)[:5].tolist()
        yield verdict(
            TARGET, name, LANCE, [f"Lance returned {returned.sum()} of {n} rows: {missing}"]
        )
        return
    scale = scale_of(query, batch)
    for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
        expected = getattr(impl, function)(query, batch)
        problems = oracle.compare_outputs(lance, expected, scale)
        err = np.max(np.abs(lance.astype(np.float64) - expected)) if n else 0.0
        yield verdict(TARGET, name, against, problems, f"{n} rows, max |diff| {err:.2g}")


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    n = scale.pick(400, 4000)
    dims = scale.pick([128], [128, 768])
    for dim in dims:
        for dist in inputs.DISTRIBUTIONS:
            batch = inputs.make_vectors(rng.spawn(f"{dim} {dist}"), n, dim, dist)
            queries = inputs.make_vectors(rng.spawn(f"{dim} {dist} q"), QUERIES, dim, dist)
            ds = write(workdir / f"f{dim}{dist}.lance", {"v": vector_column(batch)})
            for function in METRICS:
                for qi, query in enumerate(queries):
                    name = f"flat search {METRICS[function]}, D={dim}, {dist}, query {qi}"

                    def scale_of(q, x, function=function):
                        if function == "dot_batch":
                            return inputs.dot_scale((q, x), None)
                        return None

                    yield from _compare(name, function, ds, "v", query, batch, scale_of)

    nbytes_list = scale.pick([32], inputs.HAMMING_BYTES)
    for nbytes in nbytes_list:
        for dist in inputs.DISTRIBUTIONS:
            codes = inputs.make_codes(rng.spawn(f"h{nbytes} {dist}"), n, nbytes, dist)
            queries = inputs.make_codes(rng.spawn(f"h{nbytes} {dist} q"), QUERIES, nbytes, dist)
            ds = write(workdir / f"h{nbytes}{dist}.lance", {"b": vector_column(codes)})
            for qi, query in enumerate(queries):
                name = f"flat search hamming, B={nbytes}, {dist}, query {qi}"
                yield from _compare(name, "hamming_batch", ds, "b", query, codes, lambda q, x: None)

    yield from _zero_vector_under_cosine(workdir, rng)


def _zero_vector_under_cosine(workdir: Path, rng: SplitMix64) -> Iterator[Check]:
    """cosine_batch's contract: a zero vector gives NaN. Lance computes that NaN too, but a search
    drops rows whose `_distance` is null or NaN, so it cannot be seen through search."""
    dim, n = 16, 50
    batch = inputs.make_vectors(rng.spawn("zero"), n, dim, "gaussian")
    batch[7] = 0.0
    ds = write(workdir / "zero.lance", {"v": vector_column(batch)})
    query = batch[3].copy()
    answer = nearest(ds, "v", query, n, metric="cosine", use_index=False)
    name = "flat search cosine, a zero vector in the batch"
    if 7 in answer["pos"]:
        got = answer["distance"][list(answer["pos"]).index(7)]
        problems = [] if np.isnan(got) else [f"Lance gave the zero vector distance {got!r}"]
        for against in (REFERENCE, KERNEL):
            yield verdict(TARGET, name, against, problems, "NaN, as the contract says")
        return
    yield verdict(
        TARGET,
        name + ": Lance returns every other row and not that one",
        LANCE,
        [] if len(answer["pos"]) == n - 1 else [f"{len(answer['pos'])} rows of {n - 1}"],
    )
    reason = "Lance drops rows whose _distance is NaN: the zero vector's NaN is not visible"
    for against in (REFERENCE, KERNEL):
        yield skipped(TARGET, name, against, reason)
