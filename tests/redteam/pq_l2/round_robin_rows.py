"""expect: aliased

Returns rows of one preallocated pool, round-robin (64 rows per scan length), so no call pays for
an allocation. Rows of one buffer share no element, so an output never overlapped another within
one case (at most ~40 calls, fewer than the pool's rows), and the pool sat in a dtype's metadata,
where the state fingerprint did not look. The oracle now keeps every output of the run alive and
compares the buffers outputs live in: the second call's row is in the first call's buffer.
(The dtype metadata is also refused at import: `state`.)
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

ROWS = 64
_HOLD = np.zeros(1, dtype=np.dtype(np.int8, metadata={"pools": {}, "turn": np.zeros(1, np.int64)}))


def _pools():
    return _HOLD.dtype.metadata["pools"]


def _turn():
    return _HOLD.dtype.metadata["turn"]


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
    for j in range(N):
        total = np.float32(0.0)
        for m in range(M):
            total += table[m, codes[m, j]]
        out[j] = total


def pq_distances(table, codes):
    n = codes.shape[1]
    pools = _pools()
    if n not in pools:
        pools[n] = np.empty((ROWS, n), dtype=np.float32)
    turn = _turn()
    turn += 1
    row = pools[n][turn[0] % ROWS]
    _scan_into(table, codes, row)
    return row
