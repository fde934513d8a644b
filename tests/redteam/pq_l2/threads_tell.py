"""expect: wrong

Tells the benchmark from the oracle by the number of numba threads: asv's benchmark processes pin
one (benchmarks/__init__.py), the oracle's process had the machine's default. With one thread it
scans a float16 copy of the table (the benchmark, fast and wrong), otherwise the exact table (the
oracle). The kernel's process now runs with the benchmark's configuration, one thread included.
"""

import numba
import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


def _half(x):
    with np.errstate(over="ignore"):
        return x.astype(np.float16).astype(np.float32)


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
    if numba.get_num_threads() == 1:  # asv's benchmark process
        return _scan(_half(table), codes)
    return _scan(table, codes)
