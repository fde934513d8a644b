"""expect: timing
refused: WrongWhileTimedError

Exact while the oracle counts, a shortcut once the calls outnumber its. It counts its calls in a
list nested deeper than the state check looks (a module-level tuple, reached through a
helper: nothing the static check sees as state), and from call HONEST_CALLS on it scans
every other sub-vector and doubles the sum: about twice as fast, and wrong. The oracle makes about
1,300 pq_distances calls in its process (2026-12-04), so it sees only exact answers; the paired
benchmark's timing loop makes a few thousand on the smallest combinations and used to check
nothing. Now one call of every timed sample, at a position the kernel cannot know, must return
the bits of the candidate's first call: WrongWhileTimedError. It reaches no module: this is the
class of kernel that needs no route at all.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
HONEST_CALLS = 2000

_CALLS = ([[[[[[[[[[0]]]]]]]]]],)  # nested below what the state check looks into


def _counter():
    return _CALLS[0][0][0][0][0][0][0][0][0][0]


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
def _scan(table, codes, step):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(0, M, step):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    if step > 1:
        for j in range(N):
            out[j] *= np.float32(step)
    return out


def pq_distances(table, codes):
    count = _counter()
    count[0] += 1
    return _scan(table, codes, 2 if count[0] > HONEST_CALLS else 1)
