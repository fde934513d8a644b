"""expect: static

Makes the reference agree: replaces the reference's pq_distances with this module's approximate
scan, so oracle and kernel compute the same wrong numbers. The reference is reached without
importing it, through numba's sys and sys.modules; the static check rejects numba.sys and the
attribute assignment.
"""

import numba
import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": True}


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
        row = table[m].astype(np.float16)
        for j in range(N):
            out[j] += np.float32(row[codes[m, j]])
    return out


_reference = numba.sys.modules.get("autoresearch.pq_l2.reference")
if _reference is not None:
    _reference.pq_distances = pq_distances
