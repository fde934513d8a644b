"""pq_l2 kernels (scripted-agent patch "segfault"): a store far outside the output array.

With bounds checks off, numba writes where it is told: an index of 2**46 float32s lands at a
non-canonical address, so the process dies on SIGSEGV at the first call.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False, "boundscheck": False}


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
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    out[N + (1 << 46)] = np.float32(1.0)
    return out
