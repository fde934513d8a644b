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


# 64-bit SWAR popcount constants (uint64: mixing them with int64 would make numba go to float).
M1 = np.uint64(0x5555555555555555)
M2 = np.uint64(0x3333333333333333)
M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
H01 = np.uint64(0x0101010101010101)


@njit(**JIT)
def popcount64(x):
    """Set bits of a uint64; LLVM recognizes the idiom and emits one popcnt."""
    x = x - ((x >> np.uint64(1)) & M1)
    x = (x & M2) + ((x >> np.uint64(2)) & M2)
    x = (x + (x >> np.uint64(4))) & M4
    return (x * H01) >> np.uint64(56)


@njit(**JIT)
def _hamming_bytes(query, codes):
    n, nbytes = codes.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        count = 0
        for b in range(nbytes):
            count += popcount8(query[b] ^ codes[i, b])
        out[i] = count
    return out


@njit(**JIT)
def _hamming_words(query, codes):
    n, nwords = codes.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        count = np.uint64(0)
        for w in range(nwords):
            count += popcount64(query[w] ^ codes[i, w])
        out[i] = count
    return out


def hamming_batch(query, codes):
    """Whole 64-bit words when each row is a whole number of them, contiguous (a row-major
    [N, B] batch with B % 8 == 0, the usual code sizes); bytes otherwise."""
    n, nbytes = codes.shape
    if nbytes % 8 == 0 and nbytes > 0 and n > 0 and codes.flags.c_contiguous:
        words = codes.view(np.uint64)
        query_words = np.ascontiguousarray(query).view(np.uint64)
        return _hamming_words(query_words, words)
    return _hamming_bytes(query, codes)
