"""pq_l2 reference: naive scalar loops, the oracle (do not edit).

Mirrors Lance's 8-bit PQ L2 path (lance-index src/vector/pq/distance.rs,
build_distance_table_l2_impl and compute_pq_distance). Accumulates in float64 so the reference is
closer to the exact value than any float32 kernel; numba-compiled (no fastmath) only so the oracle
runs at the workload's full size.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def distance_table(codebook, query):
    """float32[M, K]: squared L2 between query sub-vector m and centroid k of sub-codebook m."""
    M, K, dsub = codebook.shape
    table = np.empty((M, K), dtype=np.float32)
    for m in range(M):
        for k in range(K):
            total = 0.0
            for d in range(dsub):
                diff = np.float64(query[m * dsub + d]) - np.float64(codebook[m, k, d])
                total += diff * diff
            table[m, k] = total
    return table


@njit(cache=True)
def pq_distances(table, codes):
    """float32[N]: result[j] = sum over m of table[m, codes[m, j]] (codes column-major, [M, N])."""
    M, N = codes.shape
    out = np.empty(N, dtype=np.float32)
    for j in range(N):
        total = 0.0
        for m in range(M):
            total += np.float64(table[m, codes[m, j]])
        out[j] = total
    return out
