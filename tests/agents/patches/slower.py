"""pq_l2 kernels (scripted-agent patch "slower"): every table and scan computed twice.

The second pass repeats the first bit for bit and (a + a) * 0.5 == a exactly, so the result is
the same and only the time doubles.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def _table(codebook, query):
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


@njit(**JIT)
def distance_table(codebook, query):
    return (_table(codebook, query) + _table(codebook, query)) * np.float32(0.5)


@njit(**JIT)
def pq_distances(table, codes):
    return (_scan(table, codes) + _scan(table, codes)) * np.float32(0.5)
