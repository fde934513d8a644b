"""posting_intersect: the documents of Lance's full-text AND query against intersect.

The target's own posting lists (inputs.make_lists: a planted core of CORE_FRACTION of the shortest
list plus independent ids; balanced, skewed and dense shapes scaled down to a corpus of N
documents) become words of a corpus (datasets.corpus): document d contains word `t<j>` exactly
when d is in list j. A MatchQuery of a query's words with operator AND returns the documents
Lance's WAND visits with every iterator aligned: the intersection, compared exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.lance_checks import KERNEL, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import corpus, full_text, index_text, term, write
from autoresearch.posting_intersect import inputs, kernels, reference

TARGET = "posting_intersect"
SEED = 0x1A7EF1
# shape -> (shortest list, other lists) as fractions of the corpus: the workload's shapes
# (balanced 1%, skewed 0.1% against 10%, dense 50%) at a size a test can index.
SHAPES = {"balanced": (0.05, 0.05), "skewed": (0.01, 0.25), "dense": (0.5, 0.5)}


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    n = scale.pick(4000, 40_000)
    queries = []  # (label, [term ids])
    lists: list[np.ndarray] = []
    for shape, (short, long) in SHAPES.items():
        for k in inputs.NUM_LISTS:
            lengths = [int(short * n)] + [int(long * n)] * (k - 1)
            core = int(inputs.CORE_FRACTION * lengths[0])
            made = inputs.make_lists(rng.spawn(f"{shape} {k}"), n, lengths, core)
            queries.append((f"{shape}, K={k}", list(range(len(lists), len(lists) + k))))
            lists += made
    postings = [(ids, np.ones_like(ids)) for ids in lists]
    lengths = np.zeros(n, dtype=np.uint32)
    for ids in lists:
        lengths[ids] += 1
    ds = index_text(write(workdir / "corpus.lance", {"text": corpus(postings, lengths + 1)}))
    for label, terms in queries:
        query_lists = [lists[t] for t in terms]
        answer = full_text(ds, " ".join(term(t) for t in terms), n, operator="AND")
        lance = np.sort(answer["pos"]).astype(np.uint32)
        name = f"FTS AND query, {label}, lists of {[x.size for x in query_lists]} of {n}"
        for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
            expected = impl.intersect(query_lists)
            problems = oracle.compare_bits((), lance, expected)
            yield verdict(TARGET, name, against, problems, f"{lance.size} documents")
