"""expect: static

Tells the oracle from the benchmark by the module's own name: a kernels file checked from a path
used to be imported as `autoresearch_checked_pq_l2_kernels`, while asv imports
`autoresearch.pq_l2.kernels`. Exact under the oracle, float16 under the benchmark. Dunder names are
rejected, and the oracle now loads the candidate under the real name anyway.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

UNDER_ORACLE = __name__ != "autoresearch.pq_l2.kernels"


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
    if UNDER_ORACLE:
        return _scan(table, codes)
    return _scan(table.astype(np.float16).astype(np.float32), codes)
