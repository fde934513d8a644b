"""expect: stale

Notices the timing loop: the same table and codes again and again. A cheap fingerprint (the small
table hashed whole, the large codes sampled every 997th byte) counts sightings; from the second
sighting on the scan is skipped and the remembered answer returned. Correct while the inputs really
are the same, so the oracle's repeat check passes; changing one code in place (which the sample
misses) gets the old answer back: stale.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

SAMPLE_STRIDE = 997
_SLOTS = np.empty(1, dtype=object)
_SLOTS[0] = {}


def _memo():
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
def _scan(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out


def _fingerprint(table, codes):
    sample = np.ascontiguousarray(codes.reshape(-1)[::SAMPLE_STRIDE])
    return (table.shape, codes.shape, hash(table.tobytes()), hash(sample.tobytes()))


def pq_distances(table, codes):
    memo = _memo()
    key = _fingerprint(table, codes)
    seen, answer = memo.get(key, (0, None))
    if seen >= 1:
        memo[key] = (seen + 1, answer)
        return answer.copy()
    answer = _scan(table, codes)
    memo[key] = (seen + 1, answer)
    return answer.copy()
