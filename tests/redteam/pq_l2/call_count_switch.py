"""expect: stale

Exact for the first 20,000 calls, a float16 table after that. The oracle makes a few thousand
calls and the asv process recording track_mismatches a few hundred, so both see only the exact
path; a timing loop (paired A/B runs the workload hundreds of times in one process) gets the fast
one. The counter hides from the static check in a module-level object array reached through a
helper, and every per-call check passes; the module-state check sees the counter move.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

HONEST_CALLS = 20_000
_COUNT = np.zeros(1, dtype=np.int64)


def _counter():
    return _COUNT


def _half(x):
    with np.errstate(over="ignore"):
        return x.astype(np.float16).astype(np.float32)


@njit(**JIT)
def _table(codebook, query):
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


def distance_table(codebook, query):
    return _table(codebook, query)


def pq_distances(table, codes):
    count = _counter()
    count += 1
    if count[0] > HONEST_CALLS:
        return _scan(_half(table), codes)
    return _scan(table, codes)
