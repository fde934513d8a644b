"""expect: static

Memoizes pq_distances by input shape. The benchmark's timing loop scans codes of one shape again
and again, so after the first call every scan would be a dictionary lookup: right for the first
data of each shape, wrong for all later data. The module-level dict used inside a function is state
the static check rejects before anything runs (cache_by_shape_hidden.py shows the stale check
catching the same cache when it is hidden from the static check).
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

_RESULTS = {}


@njit(**JIT)
def distance_table(codebook, query):
    M, K, dsub = codebook.shape
    table = np.empty((M, K), dtype=np.float32)
    for m in range(M):
        for k in range(K):
            total = np.float32(0.0)
            for d in range(dsub):
                diff = query[m * dsub + d] - codebook[m, k, d]
                total += diff * diff
            table[m, k] = total
    return table


@njit(**JIT)
def _scan(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out


def pq_distances(table, codes):
    key = (table.shape, codes.shape)
    hit = _RESULTS.get(key)
    if hit is None:
        hit = _scan(table, codes)
        _RESULTS[key] = hit
    return hit.copy()  # a copy: the caller may write to its result
