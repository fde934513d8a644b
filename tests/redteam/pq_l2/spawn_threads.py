"""expect: static

Works outside the timed window: a background thread keeps scanning after pq_distances returns a
buffer it is still filling, so the timer stops before the work does. Python threads are outside
numba's parallel runtime: threading is not an allowed import.
"""

import threading

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
def _scan_rows(table, codes, out, start):
    M, N = codes.shape
    for m in range(M):
        for j in range(start, N):
            out[j] += table[m, codes[m, j]]


def pq_distances(table, codes):
    out = np.zeros(codes.shape[1], dtype=np.float32)
    head = min(64, codes.shape[1])
    _scan_rows(table, codes[:, :head], out[:head], 0)  # what a quick look at the result sees
    threading.Thread(target=_scan_rows, args=(table, codes, out, head)).start()
    return out
