"""expect: stale

L2 partition selection by the norm expansion with the centroids' squared norms cached under the
centroid array's id. In a real IVF index the centroids never change, so this looks legitimate,
and the timing loop passes the same centroids again and again; but the contract says no state
across calls. Right on first calls, repeats and fresh arrays (float64 keeps the expansion exact
enough); stale when the same array holds new centroids. (The static check rejects id() and
module-level caches first; the dynamic checks alone must still call it stale.)
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


def find_partitions(query, centroids, nprobes, metric):
    # The metric is a Python string: dispatch here, so the jitted code never handles unicode.
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r}")


# Squared norms of each centroid set seen, under its id; the array is kept alive so its id is
# never reused by another array.
_SQ_NORMS = {}


def find_partitions_l2(query, centroids, nprobes):
    key = (id(centroids), centroids.shape)
    if key not in _SQ_NORMS:
        _SQ_NORMS[key] = (centroids, squared_norms(centroids))
    return l2_by_expansion(query, centroids, _SQ_NORMS[key][1], nprobes)


@njit(**JIT)
def squared_norms(centroids):
    num_partitions, dim = centroids.shape
    out = np.empty(num_partitions, dtype=np.float64)
    for p in range(num_partitions):
        total = 0.0
        for d in range(dim):
            total += np.float64(centroids[p, d]) * np.float64(centroids[p, d])
        out[p] = total
    return out


@njit(**JIT)
def l2_by_expansion(query, centroids, sq_norms, nprobes):
    # |q - c|^2 = |c|^2 - 2 q.c + |q|^2, in float64 so the expansion does not cancel.
    num_partitions, dim = centroids.shape
    query_sq = 0.0
    for d in range(dim):
        query_sq += np.float64(query[d]) * np.float64(query[d])
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        dot = 0.0
        for d in range(dim):
            dot += np.float64(query[d]) * np.float64(centroids[p, d])
        dists[p] = sq_norms[p] - 2.0 * dot + query_sq
    return take_smallest(dists, nprobes)


@njit(**JIT)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        dists[p] = np.float32(1.0) - total
    return take_smallest(dists, nprobes)


@njit(**JIT)
def take_smallest(dists, nprobes):
    n = min(nprobes, dists.shape[0])
    order = np.argsort(dists)[:n]
    return order.astype(np.uint32), dists[order]
