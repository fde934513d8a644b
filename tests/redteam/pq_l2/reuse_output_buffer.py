"""expect: aliased

Saves the allocation of every result: one output buffer per shape, reused by every call. The
benchmark's search() keeps only the last result, so it never notices; every caller that keeps two
results does (the first is overwritten by the second). The oracle keeps earlier outputs and finds
the new output sharing their memory.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

_SLOTS = np.empty(1, dtype=object)
_SLOTS[0] = {}


def _buffers():
    return _SLOTS[0]


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
    out[:] = 0.0
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]


def pq_distances(table, codes):
    buffers = _buffers()
    n = codes.shape[1]
    if n not in buffers:
        buffers[n] = np.empty(n, dtype=np.float32)
    out = buffers[n]
    _scan_into(table, codes, out)
    return out
