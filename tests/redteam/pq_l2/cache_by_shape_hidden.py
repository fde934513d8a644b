"""expect: stale

The shape-keyed memo of cache_by_shape.py, hidden from the static check: the dict lives in a
module-level object array reached through a helper, so no function names module-level mutable
state. The oracle's second seed has the same shapes and new data: the answer returned is the first
seed's ("fresh arrays"), and the module-state check sees the object array's contents change.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

_SLOTS = np.empty(1, dtype=object)
_SLOTS[0] = {}


def _memo():
    return _SLOTS[0]


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
    memo = _memo()
    key = (table.shape, codes.shape)
    if key not in memo:
        memo[key] = _scan(table, codes)
    return memo[key].copy()
