"""pq_l2 kernels (scripted-agent patch "wrong"): the scan stops one sub-vector short.

An off-by-one a hurried edit makes: every distance misses its last sub-vector's term.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


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
def pq_distances(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M - 1):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out
