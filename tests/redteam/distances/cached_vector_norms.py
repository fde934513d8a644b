"""expect: stale

Cosine with the batch's vector norms computed once and cached under the batch's id: half the
multiply-adds of every later call disappear, and the timing loop passes the same batch again and
again. Lance stores no norms (a dataset's vectors change with every write). Right on first calls,
repeats and fresh arrays; stale when the same array holds new vectors. (The static check rejects
id() and module-level caches first; the dynamic checks alone must still call it stale.)
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
    n, dim = vectors.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        total = np.float32(0.0)
        for d in range(dim):
            diff = query[d] - vectors[i, d]
            total += diff * diff
        out[i] = total
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


# Norms of each batch seen, under the batch's id; the array is kept alive so its id is never
# reused by another array.
_NORMS = {}


def cosine_batch(query, vectors):
    key = (id(vectors), vectors.shape)
    if key not in _NORMS:
        _NORMS[key] = (vectors, vector_norms(vectors))
    return cosine_with_norms(query, vectors, _NORMS[key][1])


@njit(**JIT)
def vector_norms(vectors):
    n, dim = vectors.shape
    norms = np.empty(n, dtype=np.float32)
    for i in range(n):
        total = np.float32(0.0)
        for d in range(dim):
            total += vectors[i, d] * vectors[i, d]
        norms[i] = math.sqrt(total)
    return norms


@njit(**JIT)
def cosine_with_norms(query, vectors, norms):
    n, dim = vectors.shape
    query_sq = np.float32(0.0)
    for d in range(dim):
        query_sq += query[d] * query[d]
    query_norm = np.float32(math.sqrt(query_sq))
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        dot = np.float32(0.0)
        for d in range(dim):
            dot += query[d] * vectors[i, d]
        out[i] = np.float32(1.0) - dot / query_norm / norms[i]
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
