"""expect: wrong

Builds the distance table by the norm expansion |q|^2 + |c|^2 - 2 q.c in float32, one dot product
per centroid instead of a difference and a square per dimension. Right within tolerance wherever
the distance is large against the norms, which is every case of inputs.py (random queries, at
scale 1e3 too); catastrophic for a query on or near a centroid at scale 1e3, where the float32
rounding of |q|^2 ~ 1e7 is the whole answer (held-out numerics, autoresearch/heldout.py).
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def distance_table(codebook, query):
    M, K, dsub = codebook.shape
    table = np.empty((M, K), dtype=np.float32)
    for m in range(M):
        qq = np.float32(0.0)
        for d in range(dsub):
            qq += query[m * dsub + d] * query[m * dsub + d]
        for k in range(K):
            cc = np.float32(0.0)
            qc = np.float32(0.0)
            for d in range(dsub):
                c = codebook[m, k, d]
                cc += c * c
                qc += query[m * dsub + d] * c
            table[m, k] = max(np.float32(0.0), qq + cc - np.float32(2.0) * qc)
    return table


@njit(**JIT)
def pq_distances(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out
