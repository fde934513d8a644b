"""expect: aliased

Reuses the table's buffer for the distances when they fit (N <= M * K: the 96-sub-vector speed
shape and every small held-out case). search() drops the table right after the scan, so in the
benchmark nobody notices that the input was overwritten and the result lives in it. The output
shares memory with an input (and the input was written to).
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
def _scan_into(table, codes, out):
    M, N = codes.shape
    for j in range(N):
        total = np.float32(0.0)
        for m in range(M):
            total += table[m, codes[m, j]]
        out[j] = total


def pq_distances(table, codes):
    n = codes.shape[1]
    if table.flags.c_contiguous and table.size >= n:
        values = table.copy()  # read from a copy, write the distances over the dead table
        out = table.reshape(-1)[:n]
        _scan_into(values, codes, out)
        return out
    out = np.empty(n, dtype=np.float32)
    _scan_into(table, codes, out)
    return out
