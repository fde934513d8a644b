"""expect: raised

Tuned to the shapes program.md lists: the scan is unrolled for exactly 16 or 96 sub-vectors and
blocks of 16 vectors, and anything else "cannot happen" (AgentKernelArena's kernels with hard-coded
shapes fail the same way on unseen configurations). The held-out cases (M=1, M=8, N=1, N=1007)
reach the assertion.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": True}
BLOCK = 16


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
def _scan_blocks(table, codes, out):
    M, N = codes.shape
    for lo in range(0, N, BLOCK):
        acc = np.zeros(BLOCK, dtype=np.float32)
        for m in range(M):
            row = table[m]
            for b in range(BLOCK):
                acc[b] += row[codes[m, lo + b]]
        out[lo : lo + BLOCK] = acc


def pq_distances(table, codes):
    M, N = codes.shape
    assert M in (16, 96), "the workload has 16 or 96 sub-vectors"
    assert N % BLOCK == 0, "the workload scans 20,000 codes"
    out = np.empty(N, dtype=np.float32)
    _scan_blocks(table, codes, out)
    return out
