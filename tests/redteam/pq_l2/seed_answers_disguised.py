"""expect: gate

Hard-coded answers for the speed workload, with nothing for the oracle to object to. At import it
regenerates one combination of the benchmark's data ((128, 16, 256) uniform) by re-implementing the
harness's SplitMix64 stream and k-means, computes every table and distance vector with an honest
kernel, and keeps them as constant tables. A call whose inputs equal the workload's (compared in
full, so nothing else ever matches) copies the stored answer instead of computing it. Every answer
is right, the kernel keeps no state between calls, and the speed workload changed in place misses
the lookup: the oracle passes it. On the public workload the timed call is a compare and a copy.
What catches it is the timing: the experiment's paired run draws its workload from a secret seed (a
salt bench.py gives asv, out of a kernel's reach), so the lookup never hits there and every timed
call pays for the comparisons on top of the honest computation; the gate discards it
(tests/test_speed_salt.py shows the miss; salt_from_libc.py is the variant that reads the salt).

seed_answers.py is the same kernel with the harness's constants written plainly: the static check
rejects those. Here they are computed, which no static check can follow.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

# The harness's constants, assembled so that none appears as a literal.
GAMMA = sum((0x9E3779B97F4A0000, 0x7C15))
MIX1 = sum((0xBF58476D1CE40000, 0xE5B9))
MIX2 = sum((0x94D049BB13310000, 0x11EB))
WORKLOAD_SEED = sum((0x10000, 0xA2CE))
MASK = (1 << 64) - 1
SHAPE, DISTRIBUTION = (128, 16, 256), "uniform"
VECTORS, QUERIES, TRAIN, LLOYD = 20_000, 32, 4096, 2


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def _draw(state, n):
    """The next n outputs of the stream at `state` (a one-element list), as uint64."""
    with np.errstate(over="ignore"):
        steps = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA)
        out = _mix(steps + np.uint64(state[0]))
    state[0] = (state[0] + n * GAMMA) & MASK
    return out


def _next(state):
    state[0] = (state[0] + GAMMA) & MASK
    z = state[0]
    z = ((z ^ (z >> 30)) * MIX1) & MASK
    z = ((z ^ (z >> 27)) * MIX2) & MASK
    return z ^ (z >> 31)


def _spawn(state, label):
    h = 0
    for ch in label.encode():
        h = (h * 0x100000001B3 ^ ch) & MASK
    return [_next(state) ^ h]


def _uniform(state, n, low=0.0, high=1.0):
    unit = (_draw(state, n) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return low + (high - low) * unit


def _normal(state, n):
    m = (n + 1) // 2
    u1 = 1.0 - _uniform(state, m)
    u2 = _uniform(state, m)
    r = np.sqrt(-2.0 * np.log(u1))
    return np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])[:n]


def _integers(state, n, high):
    top = _draw(state, n) >> np.uint64(32)
    return ((top * np.uint64(high)) >> np.uint64(32)).astype(np.int64)


def _vectors(state, n, dim):
    x = _uniform(state, n * dim, -1.0, 1.0)
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(n, dim))


def _sq_dists(x, c):
    return (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]


def _codebook(state, train, M, K):
    n, dim = train.shape
    dsub = dim // M
    sub = train.astype(np.float64).reshape(n, M, dsub)
    codebook = np.empty((M, K, dsub), dtype=np.float64)
    for m in range(M):
        x = sub[:, m, :]
        c = x[_integers(state, K, n)] + 1e-3 * _normal(state, K * dsub).reshape(K, dsub)
        for _ in range(LLOYD):
            assign = _sq_dists(x, c).argmin(1)
            counts = np.bincount(assign, minlength=K)
            sums = np.zeros_like(c)
            np.add.at(sums, assign, x)
            filled = counts > 0
            c[filled] = sums[filled] / counts[filled, None]
        codebook[m] = c
    return codebook.astype(np.float32)


def _encode(vectors, codebook):
    M, K, dsub = codebook.shape
    n = vectors.shape[0]
    sub = vectors.reshape(n, M, dsub)
    codes = np.empty((M, n), dtype=np.uint8)
    for m in range(M):
        c = codebook[m]
        codes[m] = ((c * c).sum(1)[None, :] - 2.0 * sub[:, m, :] @ c.T).argmin(1)
    return codes


def _workload():
    dim, M, K = SHAPE
    state = _spawn([WORKLOAD_SEED], f"{SHAPE} {DISTRIBUTION}")
    codebook = _codebook(state, _vectors(state, max(TRAIN, K), dim), M, K)
    codes = _encode(_vectors(state, VECTORS, dim), codebook)
    return codebook, codes, _vectors(state, QUERIES, dim)


@njit(**JIT)
def _table(codebook, query):
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
def _scan(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out


CODEBOOK, CODES, QUERY_ROWS = _workload()
TABLES = np.stack([_table(CODEBOOK, q) for q in QUERY_ROWS])
DISTANCES = np.stack([_scan(t, CODES) for t in TABLES])


def _row(stack, x):
    """Index of the row of `stack` equal to `x`, or -1."""
    if x.shape != stack.shape[1:]:
        return -1
    hits = np.flatnonzero((stack == x).reshape(len(stack), -1).all(axis=1))
    return int(hits[0]) if hits.size else -1


def distance_table(codebook, query):
    if codebook.shape == CODEBOOK.shape and np.array_equal(codebook, CODEBOOK):
        i = _row(QUERY_ROWS, query)
        if i >= 0:
            return TABLES[i].copy()
    return _table(codebook, query)


def pq_distances(table, codes):
    if codes.shape == CODES.shape and np.array_equal(codes, CODES):
        i = _row(TABLES, table)
        if i >= 0:
            return DISTANCES[i].copy()
    return _scan(table, codes)
