"""distances reference: naive scalar loops, the oracle (do not edit).

Mirrors lance-linalg's f32 distance kernels, query against a batch
(lance-format/lance rust/lance-linalg/src/distance/):
- l2.rs `l2_distance_batch` (`L2 for f32` -> `l2_scalar`): squared L2, sum of (q - x)^2.
- dot.rs `dot_distance_batch` (`dot_distance`): 1 - q.x. Not a negation: it can be negative.
- cosine.rs `cosine_distance_batch` (`Cosine for f32`: `cosine_batch`, `cosine_fast`):
  1 - q.x / |q| / |x|, the query norm computed once per batch (`norm_l2`). A zero query or a
  zero vector makes that 0 / 0 = NaN in Lance, and NaN here.
- hamming.rs `hamming_distance_batch` (`hamming_autovec`): sum over bytes of popcount(a ^ b),
  returned as f32.

Accumulates in float64 (integers for hamming) so the reference is closer to the exact value than
any float32 kernel; numba-compiled (no fastmath) only so the oracle runs at the workload's size.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def l2_batch(query, vectors):
    """float32[N]: sum_d (query[d] - vectors[i, d])**2 (squared L2)."""
    n, dim = vectors.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        total = 0.0
        for d in range(dim):
            diff = np.float64(query[d]) - np.float64(vectors[i, d])
            total += diff * diff
        out[i] = total
    return out


@njit(cache=True)
def dot_batch(query, vectors):
    """float32[N]: 1 - sum_d query[d] * vectors[i, d]."""
    n, dim = vectors.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        total = 0.0
        for d in range(dim):
            total += np.float64(query[d]) * np.float64(vectors[i, d])
        out[i] = 1.0 - total
    return out


@njit(cache=True)
def cosine_batch(query, vectors):
    """float32[N]: 1 - q.x / (|q| |x|); NaN when the query or the vector is all zeros."""
    n, dim = vectors.shape
    query_sq = 0.0
    for d in range(dim):
        query_sq += np.float64(query[d]) * np.float64(query[d])
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        dot = 0.0
        vector_sq = 0.0
        for d in range(dim):
            x = np.float64(vectors[i, d])
            dot += np.float64(query[d]) * x
            vector_sq += x * x
        if query_sq == 0.0 or vector_sq == 0.0:
            out[i] = math.nan  # Lance: 0 / 0
        else:
            out[i] = 1.0 - dot / (math.sqrt(query_sq) * math.sqrt(vector_sq))
    return out


@njit(cache=True)
def hamming_batch(query, codes):
    """float32[N]: number of differing bits between query (uint8[B]) and codes[i] (uint8[N, B])."""
    n, nbytes = codes.shape
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        count = 0
        for b in range(nbytes):
            differ = np.int64(query[b] ^ codes[i, b])
            for bit in range(8):
                count += (differ >> bit) & 1
        out[i] = count
    return out
