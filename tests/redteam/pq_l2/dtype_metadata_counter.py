"""expect: state

call_count_switch.py's cheat (exact for the first 20,000 calls, a float16 table after that) with
the counter where the module-state fingerprint never looked: in the metadata of a module-level
array's dtype. The array's bytes never change; the counter array inside its dtype's metadata does.
Only a helper names it, and it is reached by attribute, so the static check sees no module state
written either. The oracle now refuses any dtype with metadata at module level (`state`, at
import), and the fingerprint includes the metadata besides.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

HONEST_CALLS = 20_000
_BOX = np.zeros(1, dtype=np.dtype(np.int64, metadata={"calls": np.zeros(1, dtype=np.int64)}))


def _counter():
    return _BOX.dtype.metadata["calls"]


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
