"""topk_merge reference: the definition by sorting, the oracle (do not edit).

Mirrors the top-k of Lance's vector search (lance-format/lance):
- Across partitions (and index deltas): rust/lance/src/dataset/scanner.rs `Scanner::ann` puts a
  DataFusion `SortExec` with `fetch = k * refine_factor` over the fanned-out search, sorting on
  `_distance` ascending then `_rowid` ascending (nulls last): the k smallest by (distance, row id).
- Within a partition: rust/lance-index/src/vector/flat/index.rs `FlatIndex::search` keeps a
  `BinaryHeap<OrderedNode>` of size k (push while not full, else replace the top when smaller).
  `OrderedNode` orders by distance only, so which tied row survives there depends on scan order;
  `topk` here uses the same (distance, row id) order as the SortExec, so its result is exact and
  deterministic.

Both functions return the first k entries of all their input entries sorted by (distance, row id):
a stable sort by row id, then a stable sort by distance. +inf padding entries are ordinary entries
(see program.md). numba-compiled only so the oracle runs at the workload's size; for the same
reason only the entries no farther than the k-th smallest distance are sorted (no other entry can
be among the first k): 10-35x less time on the speed workload, whose references the oracle and
every asv process compute in each decision.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def topk(dists, row_ids, k):
    """(float32[k], uint64[k]): the k smallest entries by (distance, row id), ascending."""
    if 0 < k < dists.size:
        kth = np.partition(dists, k - 1)[k - 1]  # the k-th smallest distance
        order = np.flatnonzero(dists <= kth)
    else:
        order = np.arange(dists.size)
    order = order[np.argsort(row_ids[order], kind="mergesort")]
    order = order[np.argsort(dists[order], kind="mergesort")]
    keep = order[:k]
    return dists[keep], row_ids[keep]


@njit(cache=True)
def topk_merge(dists, row_ids, k):
    """topk over every entry of the L lists (the lists' own order is not used)."""
    num_lists, width = dists.shape
    flat_dists = np.empty(num_lists * width, dtype=dists.dtype)
    flat_ids = np.empty(num_lists * width, dtype=row_ids.dtype)
    for i in range(num_lists):
        for j in range(width):
            flat_dists[i * width + j] = dists[i, j]
            flat_ids[i * width + j] = row_ids[i, j]
    return topk(flat_dists, flat_ids, k)
