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


BYTE = np.uint64(0xFF)


@njit(**JIT)
def _scan4(out, t0, t1, t2, t3, c0, c1, c2, c3, first):
    """out[j] (+)= t0[c0[j]] + t1[c1[j]] + t2[c2[j]] + t3[c3[j]] over contiguous code rows.

    Codes are read eight at a time as one uint64 per row (little-endian: byte k is column
    j + k), so each column costs table gathers only, not four byte loads besides.
    """
    N = c0.size
    full = N // 8
    w0 = c0[: full * 8].view(np.uint64)
    w1 = c1[: full * 8].view(np.uint64)
    w2 = c2[: full * 8].view(np.uint64)
    w3 = c3[: full * 8].view(np.uint64)
    for i in range(full):
        a0, a1, a2, a3 = w0[i], w1[i], w2[i], w3[i]
        j = i * 8
        for k in range(8):
            s = np.uint64(8 * k)
            v = (t0[(a0 >> s) & BYTE] + t1[(a1 >> s) & BYTE]) + (
                t2[(a2 >> s) & BYTE] + t3[(a3 >> s) & BYTE]
            )
            if first:
                out[j + k] = v
            else:
                out[j + k] += v
    for j in range(full * 8, N):
        v = (t0[c0[j]] + t1[c1[j]]) + (t2[c2[j]] + t3[c3[j]])
        if first:
            out[j] = v
        else:
            out[j] += v


@njit(**JIT)
def _pq_distances(table, codes):
    M, N = codes.shape
    out = np.empty(N, dtype=np.float32)
    # Four sub-vectors per pass: a quarter of the read-modify-write traffic on `out`, and four
    # independent gathers per element for the out-of-order core to overlap. The first pass
    # writes `out` instead of adding to zeros (one pass of traffic fewer).
    m = 0
    while m + 4 <= M:
        _scan4(out, table[m], table[m + 1], table[m + 2], table[m + 3],
               codes[m], codes[m + 1], codes[m + 2], codes[m + 3], m == 0)  # fmt: skip
        m += 4
    if M < 4:
        out[:] = 0.0
    while m < M:  # remainder when M % 4 != 0
        t, c = table[m], codes[m]
        for j in range(N):
            out[j] += t[c[j]]
        m += 1
    return out


def pq_distances(table, codes):
    # The word-wise code reads need contiguous rows (a no-op for the usual column-major codes).
    return _pq_distances(table, np.ascontiguousarray(codes))
