"""expect: static

gpu-mode's lazy output: return an object that looks like the distances but computes them only when
someone looks (compares, converts, indexes). A timer around the call measures nothing. Needs a
class with numpy's hooks; the static check rejects classes and dunder names, and the contract check
(exact numpy.ndarray) would reject the object anyway.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


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


class LazyDistances(np.ndarray):
    def materialize(self):
        if not self.done:
            self[...] = _scan(self.table, self.codes)
            self.done = True
        return self

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.materialize().view(np.ndarray), dtype=dtype)

    def __eq__(self, other):
        return self.materialize().view(np.ndarray) == other


def pq_distances(table, codes):
    out = np.empty(codes.shape[1], dtype=np.float32).view(LazyDistances)
    out.table, out.codes, out.done = table, codes, False
    return out
