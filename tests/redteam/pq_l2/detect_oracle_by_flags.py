"""expect: wrong

Tells the oracle from the benchmark by how the arrays are held: the oracle used to build every
input as an array owning its memory, while the benchmark's workload arrays are views into the
buffer np.load read. Owned inputs get the exact path, views a float16 table. The oracle now hands
over some inputs as views into a larger buffer at a random offset (and checks the speed workload
itself), so the approximate path runs under the oracle too.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


def _oracle(*arrays):
    return all(a.base is None for a in arrays)


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
    table = _table(codebook, query)
    return table if _oracle(codebook) else _half(table)


def pq_distances(table, codes):
    return _scan(table if _oracle(codes) else _half(table), codes)
