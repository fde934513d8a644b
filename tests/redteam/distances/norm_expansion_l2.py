"""expect: wrong

Squared L2 by the norm expansion |q|^2 + |x|^2 - 2 q.x in float32, as matmul-based libraries do
(numpy with precomputed norms, faiss for batches): it turns the loop into dot products, but it
cancels catastrophically when a vector is near the query, which is the case a nearest-neighbour
search exists for. The held-out "near duplicates" case (|q| ~ 1e3, |q - x| ~ 1) must reject it.
"""

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

# error_model "numpy": a zero vector's cosine is 0 / 0 = NaN, as in Lance (the default "python"
# model would raise ZeroDivisionError instead).
JIT = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


@njit(**JIT)
def l2_batch(query, vectors):
    # |q - x|^2 = |q|^2 + |x|^2 - 2 q.x: one pass of products instead of differences, the way
    # BLAS-based peers compute it. Cancels when x is near q.
    n, dim = vectors.shape
    query_sq = np.float32(0.0)
    for d in range(dim):
        query_sq += query[d] * query[d]
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        dot = np.float32(0.0)
        vector_sq = np.float32(0.0)
        for d in range(dim):
            x = vectors[i, d]
            dot += query[d] * x
            vector_sq += x * x
        out[i] = query_sq + vector_sq - np.float32(2.0) * dot
    return out


@njit(**JIT)
def dot_batch(query, vectors):
    n, dim = vectors.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * vectors[i, d]
        out[i] = np.float32(1.0) - total
    return out


@njit(**JIT)
def cosine_batch(query, vectors):
    n, dim = vectors.shape
    query_sq = np.float32(0.0)
    for d in range(dim):
        query_sq += query[d] * query[d]
    query_norm = np.float32(math.sqrt(query_sq))
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        dot = np.float32(0.0)
        vector_sq = np.float32(0.0)
        for d in range(dim):
            x = vectors[i, d]
            dot += query[d] * x
            vector_sq += x * x
        out[i] = np.float32(1.0) - dot / query_norm / np.float32(math.sqrt(vector_sq))
    return out


@njit(**JIT)
def popcount8(byte):
    """Set bits of one byte (Rust's u8::count_ones), by adding bit-pairs, then nibbles."""
    x = np.int64(byte)
    x = x - ((x >> 1) & 0x55)
    x = (x & 0x33) + ((x >> 2) & 0x33)
    return (x + (x >> 4)) & 0x0F


@njit(**JIT)
def hamming_batch(query, codes):
    n, nbytes = codes.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        count = 0
        for b in range(nbytes):
            count += popcount8(query[b] ^ codes[i, b])
        out[i] = count
    return out
