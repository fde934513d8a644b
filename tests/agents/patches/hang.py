"""pq_l2 kernels (scripted-agent patch "hang"): a loop whose exit condition never turns false.

j stays in [0, N), so `j >= 0` holds forever; the store keeps the loop from being optimized away.
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
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    j = 0
    while j >= 0:
        out[j % N] += np.float32(0.0)
        j = (j + 1) % N
    return out
