"""pq_l2 kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of Lance's scalar loops (lance-index src/vector/pq/distance.rs):
one squared-L2 loop per (sub-vector, centroid), then `dist[j] += table[m][code[m][j]]` over the
column-major codes, sub-vector by sub-vector.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}
# The table's inner sum over dsub is a reduction: fastmath lets LLVM reassociate it into SIMD.
TABLE_JIT = {**JIT, "fastmath": True}


@njit(**TABLE_JIT)
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
def pq_distances(table, codes):
    M, N = codes.shape
    out = np.empty(N, dtype=np.float32)
    # Four sub-vectors per pass: a quarter of the read-modify-write traffic on `out`, and four
    # independent gathers per element for the out-of-order core to overlap. The first pass
    # writes `out` instead of adding to zeros (one pass of traffic fewer).
    m = 0
    if M >= 4:
        t0, t1, t2, t3 = table[0], table[1], table[2], table[3]
        c0, c1, c2, c3 = codes[0], codes[1], codes[2], codes[3]
        for j in range(N):
            out[j] = (t0[c0[j]] + t1[c1[j]]) + (t2[c2[j]] + t3[c3[j]])
        m = 4
    else:
        out[:] = 0.0
    while m + 4 <= M:
        t0, t1, t2, t3 = table[m], table[m + 1], table[m + 2], table[m + 3]
        c0, c1, c2, c3 = codes[m], codes[m + 1], codes[m + 2], codes[m + 3]
        for j in range(N):
            out[j] += (t0[c0[j]] + t1[c1[j]]) + (t2[c2[j]] + t3[c3[j]])
        m += 4
    while m < M:  # remainder when M % 4 != 0
        t, c = table[m], codes[m]
        for j in range(N):
            out[j] += t[c[j]]
        m += 1
    return out
