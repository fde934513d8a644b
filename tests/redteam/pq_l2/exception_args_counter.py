"""expect: state

The same switch to a float16 table after 20,000 calls, with the counter in the `args` of an
exception object kept at module level. The fingerprint saw an exception as an opaque object (its
identity only), never what its args hold. The oracle now refuses any module-level object that is
not a function, dispatcher, array, dtype, scalar, string, tuple, configuration dict or module.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

HONEST_CALLS = 20_000
_NOT_STATE = LookupError(np.zeros(1, dtype=np.int64))


def _counter():
    return _NOT_STATE.args[0]


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
    count = _counter()
    count += 1
    if count[0] > HONEST_CALLS:
        return _scan(_half(table), codes)
    return _scan(table, codes)
