"""ivf_select: which partitions Lance's IVF search probes for nprobes, against find_partitions
over Lance's own centroids.

Lance exposes no call that returns the probed partitions, but an IVF_FLAT search shows them: with
minimum and maximum nprobes both set to p, Lance scans exactly p partitions and (for k = N)
returns every row of them. The auxiliary index file lists the rows in partition order and the
index statistics give the partition sizes and centroids (indexes.ivf), so the set of partitions
of the returned rows is the set Lance probed. That set must equal the ids find_partitions returns
for the same query, centroids, nprobes and metric (empty partitions show no rows and are left out
of both). Data: the target's clustered vectors (inputs.make_modes / make_vectors).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.ivf_select import inputs, kernels, reference
from autoresearch.lance_checks import KERNEL, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import nearest, vector_column, write
from autoresearch.lance_checks.indexes import ivf, partition_of_rows

TARGET = "ivf_select"
SEED = 0x1F5EF1
QUERIES = 3


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    dim = scale.pick(32, 128)
    n = scale.pick(2000, 8000)
    partitions = scale.pick(16, 64)
    modes = inputs.make_modes(rng.spawn("modes"), dim)
    vectors = inputs.make_vectors(rng.spawn("data"), n, dim, "clustered", modes, spread=0.35)
    queries = inputs.make_vectors(rng.spawn("queries"), QUERIES, dim, "clustered", modes, 0.35)
    for metric in inputs.METRICS:
        ds = write(workdir / f"{metric}.lance", {"v": vector_column(vectors)})
        ds.create_index("v", "IVF_FLAT", num_partitions=partitions, metric=metric)
        index = ivf(ds, "v_idx")
        part_of = partition_of_rows(index)
        nonempty = set(np.flatnonzero(index.partition_sizes).tolist())
        for nprobes in (1, 3, partitions // 4):
            for qi, query in enumerate(queries):
                probes = {"minimum_nprobes": nprobes, "maximum_nprobes": nprobes}
                answer = nearest(ds, "v", query, n, metric=metric, **probes)
                probed = {part_of[r] for r in answer["row_id"].tolist()}
                name = (
                    f"IVF_FLAT probes, P={partitions} D={dim}, {metric}, nprobes={nprobes}, q{qi}"
                )
                for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                    ids, _ = impl.find_partitions(query, index.centroids, nprobes, metric)
                    expected = set(ids.tolist()) & nonempty
                    problems = []
                    if probed != expected:
                        problems.append(
                            f"Lance probed {sorted(probed)}, {against} selects {sorted(expected)}"
                        )
                    yield verdict(TARGET, name, against, problems, f"{len(probed)} partitions")
