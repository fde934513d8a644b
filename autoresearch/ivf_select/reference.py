"""ivf_select reference: naive scalar loops, the oracle (do not edit).

Mirrors Lance's IVF partition selection (lance-format/lance rust/lance-index/src/vector/):
`IvfModel::find_partitions` (ivf/storage.rs) -> `IvfTransformer::find_partitions` (ivf.rs) ->
`kmeans_find_partitions` (kmeans.rs). That computes the distance from the query to every centroid
(`l2_distance_batch`: squared L2; `dot_distance_batch`: 1 - q.c), then takes the `nprobes`
smallest with arrow's `sort_to_indices(dists, None, Some(nprobes))` and a `take` of the distances:
(UInt32 partition ids, Float32 distances), ascending, min(nprobes, P) of them.

Arrow's limited sort (arrow-ord sort.rs: `sort_unstable_by` -> `select_nth_unstable_by`, then an
unstable sort of the prefix) gives no order among equal distances. This reference breaks ties by
the lower partition id, one valid answer among several; inputs.compare_selection accepts any.
Distances are accumulated in float64; numba-compiled (no fastmath) only for the workload's size.
"""

import numpy as np
from numba import njit


def find_partitions(query, centroids, nprobes, metric):
    """(uint32[n] ids, float32[n] distances), n = min(nprobes, P), ascending by distance.

    metric "l2": squared L2 distance; "dot": 1 - q.c.
    """
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r} (Lance panics here too)")


@njit(cache=True)
def find_partitions_l2(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float64)
    for p in range(num_partitions):
        total = 0.0
        for d in range(dim):
            diff = np.float64(query[d]) - np.float64(centroids[p, d])
            total += diff * diff
        dists[p] = total
    return smallest(dists, nprobes)


@njit(cache=True)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float64)
    for p in range(num_partitions):
        total = 0.0
        for d in range(dim):
            total += np.float64(query[d]) * np.float64(centroids[p, d])
        dists[p] = 1.0 - total
    return smallest(dists, nprobes)


@njit(cache=True)
def smallest(dists, nprobes):
    """The min(nprobes, P) smallest, ascending: repeatedly take the smallest not yet taken."""
    num_partitions = dists.shape[0]
    n = min(nprobes, num_partitions)
    ids = np.empty(n, dtype=np.uint32)
    out = np.empty(n, dtype=np.float32)
    taken = np.zeros(num_partitions, dtype=np.bool_)
    for rank in range(n):
        best = -1
        for p in range(num_partitions):
            if not taken[p] and (best < 0 or dists[p] < dists[best]):
                best = p
        taken[best] = True
        ids[rank] = best
        out[rank] = dists[best]
    return ids, out
