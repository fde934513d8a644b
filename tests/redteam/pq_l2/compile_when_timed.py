"""expect: timing
refused: CompiledWhileTimedError

Exact everywhere, faster by its route only. The pairing loads both sides from numba's cache (a
child compiles what is new), because the same kernel compiled in the process that times it ran
7% faster on pq_l2 than loaded (docs/gate.md, "Compiled here or loaded"). This kernel warms and
passes every check on its cached function, then, past the calls a warm-up and a check make,
calls a second function of the same code that nothing called before: numba compiles it in the
timing process (a cache miss), and the rest of the timing loop runs code compiled there. Its
results are the bits of the first call's. The switch counts in a one-element array (the module
state check would see it after timing; the compile is refused first, where it happens).
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
# pq_distances calls (32 per timed call): the warm-up and the check before timing make 64
WARM_CALLS = 100

_CALLS = np.zeros(1, np.int64)


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


@njit(**JIT)
def _late_scan(table, codes):  # the same code under another name (numba files its cache by name)
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out


def _count(calls):
    calls[0] += 1
    return calls[0]


def pq_distances(table, codes):
    if _count(_CALLS) > WARM_CALLS:
        return _late_scan(table, codes)
    return _scan(table, codes)
