"""topk_merge: the k nearest rows of Lance's flat vector search, ties at the k-th place included,
against topk (one array) and topk_merge (one sorted list per fragment).

The target's own distance generator (inputs.make_distances: uniform, and ties rounded to 16
levels) gives each row a coordinate x; a 2-D vector (x, 0) searched from the origin has squared
L2 distance x * x, which Lance computes for every row. A dataset of L fragments of W rows each
stands for L partitions: Lance scans each fragment and merges them under its top-k sort
(`_distance`, then `_rowid`). The inputs of the reference are Lance's own distances and row ids
of every row (a k = N search), so only the selection and its order are compared, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.lance_checks import KERNEL, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import nearest, vector_column, write
from autoresearch.topk_merge import inputs, kernels, reference

TARGET = "topk_merge"
SEED = 0x70B4F1


def _fragment_lists(full: dict, fragments: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each fragment's (distance, row id) entries, sorted: the per-partition lists of a merge."""
    frag = (full["row_id"] >> np.uint64(32)).astype(np.int64)
    dists = np.full((fragments, width), np.inf, dtype=np.float32)
    ids = np.full((fragments, width), inputs.PADDING_ROW_ID, dtype=np.uint64)
    for f, fid in enumerate(np.unique(frag)):
        mine = frag == fid
        order = np.lexsort((full["row_id"][mine], full["distance"][mine]))
        dists[f, : order.size] = full["distance"][mine][order]
        ids[f, : order.size] = full["row_id"][mine][order]
    return dists, ids


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    fragments = scale.pick(4, 16)
    width = scale.pick(100, 500)
    n = fragments * width
    for dist in ("ties", "uniform"):
        x = inputs.make_distances(rng.spawn(dist), (n,), dist)
        vectors = np.stack([x, np.zeros_like(x)], axis=1)
        ds = write(workdir / f"{dist}.lance", {"v": vector_column(vectors)}, width)
        origin = np.zeros(2, dtype=np.float32)
        full = nearest(ds, "v", origin, n, metric="l2", use_index=False)
        lists = _fragment_lists(full, fragments, width)
        for k in (1, 10, width, 3 * width + 7):
            answer = nearest(ds, "v", origin, k, metric="l2", use_index=False)
            lance = (answer["distance"], answer["row_id"])
            tied = int((full["distance"] == lance[0][-1]).sum()) if k else 0
            name = f"flat search top {k} of {fragments} fragments x {width} rows, {dist}"
            measure = f"{tied} rows share the k-th distance"
            for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                expected = impl.topk(full["distance"], full["row_id"], k)
                problems = oracle.compare_bits((), lance, expected)
                yield verdict(TARGET, f"{name}, topk", against, problems, measure)
                expected = impl.topk_merge(*lists, k)
                problems = oracle.compare_bits((), lance, expected)
                yield verdict(TARGET, f"{name}, topk_merge", against, problems, measure)
