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


# l2_batch and dot_batch sum four consecutive rows per pass over the query for rows of at least
# this many elements: each query vector loaded once for four rows, and four row streams in flight.
# On this AMD EPYC (Zen 3, AVX2) numpy's BLAS gemv, which walks four rows at a time, read the long
# batches 15-25% faster than the one-row loop (`bench --peers` at 18ce20cb); on the Intel Xeon of
# earlier sessions four rows were 2-5% slower (ivf_select's note, distances session 36).
FOUR_ROW_MIN_DIM = 512


@njit(**FLOAT_JIT)
def l2_batch(query, vectors):
    n, dim = vectors.shape
    out = np.empty(n, dtype=np.float32)
    blocked = n - n % 4 if dim >= FOUR_ROW_MIN_DIM else 0
    for i in range(0, blocked, 4):
        t0 = np.float32(0.0)
        t1 = np.float32(0.0)
        t2 = np.float32(0.0)
        t3 = np.float32(0.0)
        for d in range(dim):
            q = query[d]
            e0 = q - vectors[i, d]
            e1 = q - vectors[i + 1, d]
            e2 = q - vectors[i + 2, d]
            e3 = q - vectors[i + 3, d]
            t0 += e0 * e0
            t1 += e1 * e1
            t2 += e2 * e2
            t3 += e3 * e3
        out[i] = t0
        out[i + 1] = t1
        out[i + 2] = t2
        out[i + 3] = t3
    if dim < FOUR_ROW_MIN_DIM:
        # Short rows: two rows per pass, row i and row i + N // 2, as dot_batch (dot/128 0.72x).
        half = n // 2  # rows [0, half) paired with [half, 2 * half); with n odd the last row alone
        for i in range(half):
            j = i + half
            t_i = np.float32(0.0)
            t_j = np.float32(0.0)
            for d in range(dim):
                q = query[d]
                e_i = q - vectors[i, d]
                e_j = q - vectors[j, d]
                t_i += e_i * e_i
                t_j += e_j * e_j
            out[i] = t_i
            out[j] = t_j
        blocked = 2 * half
    for i in range(blocked, n):
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
    blocked = n - n % 4 if dim >= FOUR_ROW_MIN_DIM else 0  # as in l2_batch
    for i in range(0, blocked, 4):
        t0 = np.float32(0.0)
        t1 = np.float32(0.0)
        t2 = np.float32(0.0)
        t3 = np.float32(0.0)
        for d in range(dim):
            q = query[d]
            t0 += q * vectors[i, d]
            t1 += q * vectors[i + 1, d]
            t2 += q * vectors[i + 2, d]
            t3 += q * vectors[i + 3, d]
        out[i] = np.float32(1.0) - t0
        out[i + 1] = np.float32(1.0) - t1
        out[i + 2] = np.float32(1.0) - t2
        out[i + 3] = np.float32(1.0) - t3
    if dim < FOUR_ROW_MIN_DIM:
        # Short rows: two rows per pass, row i and row i + N // 2 (two row streams, as in
        # cosine_batch), each still summed in 4 x 8 lanes: its FMA chains stay 4 deep at D = 128
        # (inspect_asm). Four adjacent rows made them 8 deep (2 x 8 lanes a row) and read dot/128
        # 13% slower on this Zen 3 (l2's, 16 deep, 19%).
        half = n // 2  # rows [0, half) paired with [half, 2 * half); with n odd the last row alone
        for i in range(half):
            j = i + half
            t_i = np.float32(0.0)
            t_j = np.float32(0.0)
            for d in range(dim):
                q = query[d]
                t_i += q * vectors[i, d]
                t_j += q * vectors[j, d]
            out[i] = np.float32(1.0) - t_i
            out[j] = np.float32(1.0) - t_j
        blocked = 2 * half
    for i in range(blocked, n):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * vectors[i, d]
        out[i] = np.float32(1.0) - total
    return out


# cosine_batch reads two row streams per pass (row i and row i + N // 2) for rows of at most this
# many elements. Measured (two row streams for every D and all three float functions, discarded for
# its l2/dot losses): cosine 0.84x at D = 128, 0.95x at D = 768, 1.017x at D = 1536; l2 and dot
# flat or slower. Cosine does the most work per row (two sums, two reductions, a sqrt and two
# divisions), so two rows per pass share the query loads and overlap their tails; at D = 1536 the
# second set of accumulators costs more than the tail it hides. Run with this at 1024: cosine
# 0.905 at D = 128 but 1.013 at D = 768 (discarded, 0.993), so only short rows take it.
COSINE_TWO_STREAM_MAX_DIM = 256


@njit(**FLOAT_JIT)
def cosine_batch(query, vectors):
    n, dim = vectors.shape
    query_sq = np.float32(0.0)
    for d in range(dim):
        query_sq += query[d] * query[d]
    query_norm = np.float32(math.sqrt(query_sq))
    # The row loops store each row's q.x in out and x.x in vector_sqs; the last loop finishes
    # 1 - q.x / |q| / |x| for all rows at once, eight per ymm step (vsqrtps, 2 x vdivps). In the
    # row loops each row ended in a scalar vsqrtss and two dependent vdivss, ~37 cycles of latency
    # after its reductions and 11 cycles of the divider (llvm-mca -mcpu=znver3: vsqrtss 15/5,
    # vdivss 11/3); the packed forms cost the same for eight rows. Same operations, same results.
    out = np.empty(n, dtype=np.float32)
    vector_sqs = np.empty(n, dtype=np.float32)
    start = 0  # the first row the one-row loop below computes
    if dim >= FOUR_ROW_MIN_DIM:
        # Long rows four at a time, as l2_batch and dot_batch: each query vector loaded once for
        # four rows (two sums each), four row streams in flight.
        start = n - n % 4
        for i in range(0, start, 4):
            d0 = np.float32(0.0)
            d1 = np.float32(0.0)
            d2 = np.float32(0.0)
            d3 = np.float32(0.0)
            s0 = np.float32(0.0)
            s1 = np.float32(0.0)
            s2 = np.float32(0.0)
            s3 = np.float32(0.0)
            for d in range(dim):
                q = query[d]
                x0 = vectors[i, d]
                x1 = vectors[i + 1, d]
                x2 = vectors[i + 2, d]
                x3 = vectors[i + 3, d]
                d0 += q * x0
                d1 += q * x1
                d2 += q * x2
                d3 += q * x3
                s0 += x0 * x0
                s1 += x1 * x1
                s2 += x2 * x2
                s3 += x3 * x3
            out[i] = d0
            out[i + 1] = d1
            out[i + 2] = d2
            out[i + 3] = d3
            vector_sqs[i] = s0
            vector_sqs[i + 1] = s1
            vector_sqs[i + 2] = s2
            vector_sqs[i + 3] = s3
    elif dim <= COSINE_TWO_STREAM_MAX_DIM:
        # rows [0, half) paired with [half, 2 * half); with n odd the last row alone
        half = n // 2
        for i in range(half):
            j = i + half
            dot_i = np.float32(0.0)
            dot_j = np.float32(0.0)
            sq_i = np.float32(0.0)
            sq_j = np.float32(0.0)
            for d in range(dim):
                q = query[d]
                x_i = vectors[i, d]
                x_j = vectors[j, d]
                dot_i += q * x_i
                dot_j += q * x_j
                sq_i += x_i * x_i
                sq_j += x_j * x_j
            out[i] = dot_i
            out[j] = dot_j
            vector_sqs[i] = sq_i
            vector_sqs[j] = sq_j
        start = 2 * half
    for i in range(start, n):
        dot = np.float32(0.0)
        vector_sq = np.float32(0.0)
        for d in range(dim):
            x = vectors[i, d]
            dot += query[d] * x
            vector_sq += x * x
        out[i] = dot
        vector_sqs[i] = vector_sq
    for i in range(n):
        out[i] = np.float32(1.0) - out[i] / query_norm / np.float32(math.sqrt(vector_sqs[i]))
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


# Codes of at most this many 64-bit words go to a row-vectorized kernel (_hamming_rows).
ROW_VECTOR_WORDS = 8


def _hamming_rows_kernel(nwords):
    """A hamming kernel (to jit) for rows of exactly `nwords` words, over the flat word array.

    The row width is a constant here (a closure variable numba freezes), so LLVM unrolls the word
    loop and then vectorizes the row loop: four rows per ymm step, their words de-interleaved by
    shuffles (a stride-`nwords` access group), one vpopcntq per word position, the sums added
    lane-wise and converted to float32 four at a time. The generic _hamming_words vectorizes the
    word loop instead: for a 4-word row that is one vector step, then a horizontal reduction, a
    scalar conversion and the loop's trip-count checks, ~25 instructions per row (inspect_asm).
    """

    def kernel(query, flat):
        n = flat.size // nwords
        out = np.empty(n, dtype=np.float32)
        for i in range(n):
            # Unsigned index: no negative-index wraparound select per load.
            base = np.uint64(i) * np.uint64(nwords)
            count = np.uint64(0)
            for w in range(nwords):
                count += popcount64(query[w] ^ flat[base + np.uint64(w)])
            out[i] = count
        return out

    return kernel


# _hamming_rows[k - 1]: the kernel for rows of k words (compiled on first use).
_hamming_rows = tuple(njit(**JIT)(_hamming_rows_kernel(k)) for k in range(1, ROW_VECTOR_WORDS + 1))


def hamming_batch(query, codes):
    """Whole 64-bit words when each row is a whole number of them, contiguous (a row-major
    [N, B] batch with B % 8 == 0, the usual code sizes); bytes otherwise. Rows of up to
    ROW_VECTOR_WORDS words take a kernel compiled for their width (rows vectorized)."""
    n, nbytes = codes.shape
    if nbytes % 8 == 0 and nbytes > 0 and n > 0 and codes.flags.c_contiguous:
        query_words = np.ascontiguousarray(query).view(np.uint64)
        nwords = nbytes // 8
        if nwords <= ROW_VECTOR_WORDS:
            return _hamming_rows[nwords - 1](query_words, codes.reshape(-1).view(np.uint64))
        return _hamming_words(query_words, codes.view(np.uint64))
    return _hamming_bytes(query, codes)
