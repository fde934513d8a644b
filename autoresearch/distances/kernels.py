"""distances kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful, straightforward port of lance-linalg's f32 distance functions
(rust/lance-linalg/src/distance/{l2,dot,cosine,hamming}.rs): one loop over the batch, one float32
accumulator per vector, the query norm computed once per batch for cosine, popcount of the xor of
each byte for hamming.
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
# The float sums are reductions: reassoc lets LLVM split each into SIMD lanes (what Lance's 16
# accumulators do by hand) and contract fuses the multiply-adds. Not nnan/ninf: a zero vector's
# cosine must stay NaN.
FLOAT_JIT = {**JIT, "fastmath": {"reassoc": True, "contract": True}}


@njit(**FLOAT_JIT)
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


@njit(**FLOAT_JIT)
def dot_batch(query, vectors):
    n, dim = vectors.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * vectors[i, d]
        out[i] = np.float32(1.0) - total
    return out


@njit(**FLOAT_JIT)
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
