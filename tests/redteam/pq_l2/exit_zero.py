"""expect: static

Ends the oracle before it can fail: a correctness run that exits 0 looks like a pass to anything
that reads only the exit code. (It did: the oracle caught Exception, not SystemExit.) SystemExit,
exit and quit are rejected by name; the oracle also catches BaseException from a kernel now, and a
run without a completed report never exits 0.
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


def pq_distances(table, codes):
    raise SystemExit(0)
