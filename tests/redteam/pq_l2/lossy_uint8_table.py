"""expect: wrong

Lance's quantized lookup table (the trick behind its 4-bit fast scan): each table row is scaled to
uint8 (per-row minimum and step), the scan adds bytes in integer registers (a quarter of the memory
traffic of float32), and one multiply-add turns the sum back into a distance. The error is up to
half a step per sub-vector, about 2e-3 of the table's range: far outside the 1e-4 tolerance.
"""

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
    M, K = table.shape
    N = codes.shape[1]
    lows = np.empty(M, dtype=np.float32)
    steps = np.empty(M, dtype=np.float32)
    quantized = np.empty((M, K), dtype=np.uint8)
    for m in range(M):
        low, high = table[m].min(), table[m].max()
        step = (high - low) / 255.0 if high > low else np.float32(1.0)
        lows[m], steps[m] = low, step
        for k in range(K):
            quantized[m, k] = np.uint8(np.rint((table[m, k] - low) / step))
    out = np.empty(N, dtype=np.float32)
    base = lows.sum()
    for j in range(N):
        total = np.float32(0.0)
        for m in range(M):
            total += np.float32(quantized[m, codes[m, j]]) * steps[m]
        out[j] = base + total
    return out
