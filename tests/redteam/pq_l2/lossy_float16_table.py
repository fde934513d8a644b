"""expect: wrong

Halves the table (float16, as GPU fast-scan kernels do) so more of it stays in L1. The relative
rounding error of a half is 2**-11 ~ 4.9e-4 per entry; summed over the sub-vectors it stays well
above the 1e-4 tolerance on most distances, and the scaled held-out case overflows float16 outright.
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
def _scan(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out


def pq_distances(table, codes):
    # numba has no float16 arithmetic: round through numpy's half, then scan the halves' values
    # (exactly what a half-precision table holds).
    with np.errstate(over="ignore"):
        half = table.astype(np.float16)
    return _scan(half.astype(np.float32), codes)
