"""pq_l2: Lance's IVF_PQ search distances against distance_table + pq_distances over Lance's own
codebook and codes.

An IVF_PQ index with one partition and 8-bit codes over the target's own vectors
(inputs.make_vectors: clustered, uniform, sparse). Without refine, Lance reports the asymmetric
PQ distance: the table of the query's residual (query - the partition's centroid) against the
codebook, summed over each row's codes. The codebook and the codes are read from the index files
Lance wrote (indexes.pq); the reference and the kernel compute the distances from them, and every
row's `_distance` (a k = N search) is compared with the oracle's tolerance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.lance_checks import KERNEL, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import nearest, vector_column, write
from autoresearch.lance_checks.indexes import ivf, pq
from autoresearch.pq_l2 import inputs, kernels, reference

TARGET = "pq_l2"
SEED = 0x9F1DE
QUERIES = 2


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    dim, m = scale.pick((32, 4), (128, 16))
    n = scale.pick(1500, 6000)
    for dist in inputs.DISTRIBUTIONS:
        vectors = inputs.make_vectors(rng.spawn(dist), n, dim, dist)
        queries = inputs.make_vectors(rng.spawn(f"{dist} q"), QUERIES, dim, dist)
        ds = write(workdir / f"{dist}.lance", {"v": vector_column(vectors)})
        ds.create_index("v", "IVF_PQ", num_partitions=1, num_sub_vectors=m, num_bits=8)
        index = ivf(ds, "v_idx")
        storage = pq(index)
        column_of_row = {r: j for j, r in enumerate(index.row_ids.tolist())}
        for qi, query in enumerate(queries):
            answer = nearest(ds, "v", query, n, nprobes=1)
            columns = np.array([column_of_row[r] for r in answer["row_id"].tolist()])
            residual = (query - index.centroids[0]).astype(np.float32)
            name = f"IVF_PQ distances, D={dim} M={m}, {dist}, query {qi}"
            problems = [] if columns.size == n else [f"Lance returned {columns.size} of {n} rows"]
            for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                table = impl.distance_table(storage.codebook, residual)
                expected = impl.pq_distances(table, storage.codes)[columns]
                found = problems or oracle.compare_outputs(answer["distance"], expected)
                err = float(np.max(np.abs(answer["distance"] - expected.astype(np.float64))))
                yield verdict(TARGET, name, against, found, f"{n} rows, max |diff| {err:.2g}")
