"""expect: timing
refused: CompiledWhileTimedError

compile_when_timed.py's switch, timed to land where the warm-up ends: the pairing warms each side
with one timed call (32 pq_distances calls), then TimedCheck calls the candidate once before the
timing loop. This kernel switches on that call, the 33rd, to a never-called copy of its scan:
numba compiles it there, in the timing process, and the timing loop then runs code compiled here
with no compile left to refuse. Until session 45 the refusal opened at the timing loop and this
kernel paired; it now opens at the warm-up's end. Exact everywhere: its results are the bits of
the first call's, and once switched it counts no further: its state is the same from the check
before timing (which records it) to the check after.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
# pq_distances calls (32 per timed call): the warm-up makes 32, the check before timing the next
WARM_CALLS = 32

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
    if _CALLS[0] >= WARM_CALLS:  # switched: it counts no further, so no state changes while timed
        return _late_scan(table, codes)
    _count(_CALLS)
    return _scan(table, codes)
