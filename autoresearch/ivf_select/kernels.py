"""ivf_select kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful, straightforward port of Lance's `kmeans_find_partitions`
(rust/lance-index/src/vector/kmeans.rs): the float32 distance from the query to every centroid,
then a sort of all of them (Lance: arrow `sort_to_indices` with a limit, which sorts everything
when nprobes == P, the usual v2 case) and the first nprobes ids with their distances.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}
# The distance sums are reductions: reassoc lets LLVM split each into SIMD lanes, contract fuses
# the multiply-adds (float32 sums in any order are within the tolerance).
DIST_JIT = {**JIT, "fastmath": {"reassoc": True, "contract": True}}
BLOCK_MAX_DIM = 256  # rows up to this long are summed four at a time


def find_partitions(query, centroids, nprobes, metric):
    # The metric is a Python string: dispatch here, so the jitted code never handles unicode.
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r}")


@njit(**DIST_JIT)
def find_partitions_l2(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    n = min(nprobes, num_partitions)
    if 0 < n and n * SELECT_RATIO <= num_partitions:
        if dim > BLOCK_MAX_DIM:
            return smallest_l2_pruned(query, centroids, n)
        if n * SHORT_PRUNE_RATIO <= num_partitions and n < REPLACE_MIN_N:
            return smallest_l2_pruned_short(query, centroids, n)
    return take_smallest(l2_distances(query, centroids), nprobes)


@njit(**DIST_JIT)
def l2_distances(query, centroids):
    """float32[P]: the squared L2 distance from the query to every centroid."""
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    # Short rows (D <= BLOCK_MAX_DIM): four centroids per pass over the query, each query lane
    # loaded once for four rows, four independent sums (the horizontal reductions amortized).
    # Long rows stream one at a time: four streams of 3 KB rows ran 2-5% slower (bandwidth).
    blocked = num_partitions - num_partitions % 4 if dim <= BLOCK_MAX_DIM else 0
    for p in range(0, blocked, 4):
        t0 = np.float32(0.0)
        t1 = np.float32(0.0)
        t2 = np.float32(0.0)
        t3 = np.float32(0.0)
        for d in range(dim):
            q = query[d]
            e0 = q - centroids[p, d]
            e1 = q - centroids[p + 1, d]
            e2 = q - centroids[p + 2, d]
            e3 = q - centroids[p + 3, d]
            t0 += e0 * e0
            t1 += e1 * e1
            t2 += e2 * e2
            t3 += e3 * e3
        dists[p] = t0
        dists[p + 1] = t1
        dists[p + 2] = t2
        dists[p + 3] = t3
    for p in range(blocked, num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            diff = query[d] - centroids[p, d]
            total += diff * diff
        dists[p] = total
    return dists


# Long rows are checked against the bound once, after their first PRUNE_CHUNK floats (512 bytes);
# the rest of a row that passes is summed in one loop. Checking every 128 floats pruned almost
# nothing after the first check on the speed workload (numpy count: clustered rows lie either in
# the query's cluster or far above the bound from their head on; floats read at (1024, 768) /
# (4096, 768), nprobes 1, 20, 64: 0.19, 0.75, 1.00 / 0.19, 0.30, 0.61 with six checks, the same
# to 0.01 with one; uniform 0.98 against 1.00), while each check cost a horizontal sum, a branch
# and a restarted vector loop: checking every 64 floats instead was 6% slower at (1024, 768)/20
# and /64 (session 38).
PRUNE_CHUNK = 128


@njit(**DIST_JIT)
def smallest_l2_pruned(query, centroids, n):
    """The n smallest squared L2 distances (0 < n, n * SELECT_RATIO <= P), ascending, with
    partial distance search: a squared L2 sum only grows, so once a row's partial sum exceeds the
    n-th best distance so far, the row cannot be selected and the rest of it is never read.
    Long rows are bound by reading the centroids, and on clustered centroids (k-means) most rows
    lie in other clusters, far above the bound after their first chunk. The kept rows' distances
    are the head's sum plus the rest's (another float32 order, within the tolerance). The
    selection is take_smallest's insertion pass, fused so that its n-th best is the bound."""
    num_partitions, dim = centroids.shape
    best = np.empty(n, dtype=np.float32)
    ids = np.empty(n, dtype=np.uint32)
    bound = np.float32(np.inf)  # no row is pruned until n are kept
    count = 0
    # Unsigned d: numba's negative-index fix-up on a signed d that LLVM cannot prove non-negative
    # (a loop starting at a computed value) is a select per load, which kept this loop scalar
    # (1.45x slower in session 38, 2.6x at (1024, 768) / 64).
    head = np.uint64(min(PRUNE_CHUNK, dim))
    end = np.uint64(dim)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(head):
            diff = query[d] - centroids[p, d]
            total += diff * diff
        if total > bound:  # pruned: the rest of the row is never read
            continue
        rest = np.float32(0.0)  # fresh sums: no wait on the head's horizontal reduction
        for d in range(head, end):
            diff = query[d] - centroids[p, d]
            rest += diff * diff
        total += rest  # a non-negative rest: the head was a lower bound
        if total != total:  # NaN: take_smallest falls back to argsort (NaN last)
            return take_smallest(l2_distances(query, centroids), n)
        if count == n:
            if total >= bound:  # pruned, or not below the n-th best (as take_smallest)
                continue
            j = n - 1
        else:
            j = count
            count += 1
        while j > 0 and best[j - 1] > total:
            best[j] = best[j - 1]
            ids[j] = ids[j - 1]
            j -= 1
        best[j] = total
        ids[j] = p
        if count == n:
            bound = best[n - 1]
    return ids, best


# Short rows are pruned only for few of many (n * SHORT_PRUNE_RATIO <= P): a head of a short row
# is a small part of its distance, so it exceeds the n-th best only when that is a near-cluster
# distance, far below the typical one. 20 of 256 never pruned on the speed workload (numpy count:
# every float read) and the fused loop cost 4-7% there (session 38, 28dd92e and its quarter-head
# rerun). And only below REPLACE_MIN_N: the fused selection is the sorted walk, which the
# unsorted replacement buffer beats from 32 kept ids on.
SHORT_PRUNE_RATIO = 16


@njit(inline="always")
def keep_sorted(best, ids, count, total, p):
    """Enter (total, p) into best[:count] (ascending; when full, in place of the n-th best, which
    the caller has checked total is below) by take_smallest's walk; returns the new count.
    Inlined into the caller's row loop: a numba call per entered row would cost more than the
    walk (an out-of-line call returns an error status through memory)."""
    n = best.shape[0]
    if count == n:
        j = n - 1
    else:
        j = count
        count += 1
    while j > 0 and best[j - 1] > total:
        best[j] = best[j - 1]
        ids[j] = ids[j - 1]
        j -= 1
    best[j] = total
    ids[j] = p
    return count


@njit(**DIST_JIT)
def smallest_l2_pruned_short(query, centroids, n):
    """smallest_l2_pruned for short rows (D <= BLOCK_MAX_DIM), summed four at a time as in
    l2_distances: the four rows' first quarters first, and the other three quarters are never
    read when all four partial sums already exceed the n-th best so far (on clustered centroids
    most groups of four lie in other clusters). A quarter, not a half: on the speed workload
    (numpy count, no timing) clustered (4096, 128) reads 0.34 / 0.44 / 0.67 of the floats at
    nprobes 1 / 20 / 64 with a quarter, 0.56 / 0.63 / 0.78 with a half. Partial sums of
    non-negative float32 terms only grow, so a skipped row is one take_smallest would not keep
    either; a NaN fails every compare and takes the full path (then the fallback below)."""
    num_partitions, dim = centroids.shape
    best = np.empty(n, dtype=np.float32)
    ids = np.empty(n, dtype=np.uint32)
    bound = np.float32(np.inf)  # no row is skipped until n are kept
    count = 0
    # Unsigned chunk bounds: a signed d that LLVM cannot prove non-negative (the second loop
    # starts at a computed value) gets numba's negative-index fix-up per load (session 38: it
    # kept smallest_l2_pruned's chunk loop scalar, 1.45x slower).
    head = np.uint64(dim // 4)
    end = np.uint64(dim)
    blocked = num_partitions - num_partitions % 4
    for p in range(0, blocked, 4):
        t0 = np.float32(0.0)
        t1 = np.float32(0.0)
        t2 = np.float32(0.0)
        t3 = np.float32(0.0)
        for d in range(head):
            q = query[d]
            e0 = q - centroids[p, d]
            e1 = q - centroids[p + 1, d]
            e2 = q - centroids[p + 2, d]
            e3 = q - centroids[p + 3, d]
            t0 += e0 * e0
            t1 += e1 * e1
            t2 += e2 * e2
            t3 += e3 * e3
        # Non-short-circuit &: one branch for the four (a row below the bound is the rare case).
        if (t0 > bound) & (t1 > bound) & (t2 > bound) & (t3 > bound):
            continue
        # The rest in fresh sums, added after: continuing the head's sums made the rest's first
        # multiply-adds wait for the head's horizontal reductions. A non-negative rest keeps the
        # total >= the head, so the check above stays a lower bound.
        s0 = np.float32(0.0)
        s1 = np.float32(0.0)
        s2 = np.float32(0.0)
        s3 = np.float32(0.0)
        for d in range(head, end):
            q = query[d]
            e0 = q - centroids[p, d]
            e1 = q - centroids[p + 1, d]
            e2 = q - centroids[p + 2, d]
            e3 = q - centroids[p + 3, d]
            s0 += e0 * e0
            s1 += e1 * e1
            s2 += e2 * e2
            s3 += e3 * e3
        t0 += s0
        t1 += s1
        t2 += s2
        t3 += s3
        if (t0 != t0) | (t1 != t1) | (t2 != t2) | (t3 != t3):  # NaN: take_smallest's argsort
            return take_smallest(l2_distances(query, centroids), n)
        # Enter each row below the n-th best (any row, even an inf, while fewer than n are kept),
        # in row order as take_smallest does; the walk runs only for the rows that enter. One
        # branch first for the four: most full groups have no row below the bound either.
        if not ((count < n) | (t0 < bound) | (t1 < bound) | (t2 < bound) | (t3 < bound)):
            continue
        if (count < n) | (t0 < bound):
            count = keep_sorted(best, ids, count, t0, p)
            if count == n:
                bound = best[n - 1]
        if (count < n) | (t1 < bound):
            count = keep_sorted(best, ids, count, t1, p + 1)
            if count == n:
                bound = best[n - 1]
        if (count < n) | (t2 < bound):
            count = keep_sorted(best, ids, count, t2, p + 2)
            if count == n:
                bound = best[n - 1]
        if (count < n) | (t3 < bound):
            count = keep_sorted(best, ids, count, t3, p + 3)
            if count == n:
                bound = best[n - 1]
    for p in range(blocked, num_partitions):  # the last P % 4 rows, whole
        total = np.float32(0.0)
        for d in range(dim):
            diff = query[d] - centroids[p, d]
            total += diff * diff
        if total != total:
            return take_smallest(l2_distances(query, centroids), n)
        if (count < n) | (total < bound):
            count = keep_sorted(best, ids, count, total, p)
            if count == n:
                bound = best[n - 1]
    return ids, best


@njit(**DIST_JIT)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    n = min(nprobes, num_partitions)
    # Few of many, as l2's short-row pruning (SHORT_PRUNE_RATIO, REPLACE_MIN_N): the fused pass
    # cost 2-4% at 20 and 64 of 256 (session 38, the ungated version).
    few = n * SHORT_PRUNE_RATIO <= num_partitions and n < REPLACE_MIN_N
    if dim <= BLOCK_MAX_DIM and 0 < n and few:
        return smallest_dot_short(query, centroids, n)
    return take_smallest(dot_distances(query, centroids), nprobes)


@njit(**DIST_JIT)
def dot_distances(query, centroids):
    """float32[P]: 1 - q.c for every centroid."""
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    blocked = num_partitions - num_partitions % 4 if dim <= BLOCK_MAX_DIM else 0  # as for l2
    for p in range(0, blocked, 4):
        t0 = np.float32(0.0)
        t1 = np.float32(0.0)
        t2 = np.float32(0.0)
        t3 = np.float32(0.0)
        for d in range(dim):
            q = query[d]
            t0 += q * centroids[p, d]
            t1 += q * centroids[p + 1, d]
            t2 += q * centroids[p + 2, d]
            t3 += q * centroids[p + 3, d]
        dists[p] = np.float32(1.0) - t0
        dists[p + 1] = np.float32(1.0) - t1
        dists[p + 2] = np.float32(1.0) - t2
        dists[p + 3] = np.float32(1.0) - t3
    for p in range(blocked, num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        dists[p] = np.float32(1.0) - total
    return dists


@njit(**DIST_JIT)
def smallest_dot_short(query, centroids, n):
    """The n smallest 1 - q.c (few of many) for short rows, ascending: the four
    rows per pass of dot_distances, with take_smallest's insertion pass fused in. Four distances
    are tested against the n-th best in registers, one rarely taken branch per four rows, instead
    of stored to a P-long array and read back by a second pass of a load, two compares and two
    branches per distance (~2 cycles each: ~8k of a (4096, 128) call's cycles)."""
    num_partitions, dim = centroids.shape
    best = np.empty(n, dtype=np.float32)
    ids = np.empty(n, dtype=np.uint32)
    bound = np.float32(np.inf)  # the n-th best once n are kept
    count = 0
    one = np.float32(1.0)
    blocked = num_partitions - num_partitions % 4
    for p in range(0, blocked, 4):
        t0 = np.float32(0.0)
        t1 = np.float32(0.0)
        t2 = np.float32(0.0)
        t3 = np.float32(0.0)
        for d in range(dim):
            q = query[d]
            t0 += q * centroids[p, d]
            t1 += q * centroids[p + 1, d]
            t2 += q * centroids[p + 2, d]
            t3 += q * centroids[p + 3, d]
        x0 = one - t0
        x1 = one - t1
        x2 = one - t2
        x3 = one - t3
        # Non-short-circuit |: one branch for the four, taken while fewer than n are kept (any
        # distance enters, even an inf), when one is below the n-th best, or on a NaN.
        nan = (x0 != x0) | (x1 != x1) | (x2 != x2) | (x3 != x3)
        if not ((count < n) | (x0 < bound) | (x1 < bound) | (x2 < bound) | (x3 < bound) | nan):
            continue
        if nan:  # take_smallest's argsort (NaN last)
            return take_smallest(dot_distances(query, centroids), n)
        # In row order, each by take_smallest's rule (the bound moves as rows enter).
        if (count < n) | (x0 < bound):
            count = keep_sorted(best, ids, count, x0, p)
            if count == n:
                bound = best[n - 1]
        if (count < n) | (x1 < bound):
            count = keep_sorted(best, ids, count, x1, p + 1)
            if count == n:
                bound = best[n - 1]
        if (count < n) | (x2 < bound):
            count = keep_sorted(best, ids, count, x2, p + 2)
            if count == n:
                bound = best[n - 1]
        if (count < n) | (x3 < bound):
            count = keep_sorted(best, ids, count, x3, p + 3)
            if count == n:
                bound = best[n - 1]
    for p in range(blocked, num_partitions):  # the last P % 4 rows
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        x = one - total
        if x != x:
            return take_smallest(dot_distances(query, centroids), n)
        if (count < n) | (x < bound):
            count = keep_sorted(best, ids, count, x, p)
            if count == n:
                bound = best[n - 1]
    return ids, best


# Below this many candidates per kept id a full sort is as cheap as the insertion pass.
SELECT_RATIO = 2


# From this many kept ids on, the n best are kept unsorted (take_smallest_replacing): at 64 of 256
# and of 4096 centroids it was 23% and 7% faster than the sorted buffer, at 20 of 256 4% slower
# (session 38's replacement buffer, whose entry cost n / 4 vector maxes against a short walk).
REPLACE_MIN_N = 32


@njit(**JIT)
def take_smallest_replacing(dists, nprobes):
    """The n smallest, ascending. Few of many (n * SELECT_RATIO <= P): one pass appending every
    distance below the bound to a buffer of 2n unique int64 keys (the distance as an
    order-preserving int32 in the high half, its id in the low half), unsorted: an entry is a
    store and an increment. When the buffer fills it is cut to its n smallest (cut_smallest) and
    the bound becomes the n-th best; between cuts the bound does not move. Replacing the largest
    at every entry (session 38's buffer) put a max over the n keys and the bound's reload (two
    dependent loads) between an entry and the next compare, so an entry's mispredict resolved
    late: (4096, 128)/64 took 72 us a call against 56 at /20 (asv at 8177a1e8). Here the cuts
    come at about 2n, 4n, 8n, ... distances (the kept n are the n best so far, so n more enter
    in about as many distances again): 64 of 4096 ~6 cuts of 128 keys and ~450 entries, each a
    mispredict on a settled bound. The kept keys are placed by their ranks at the end.
    Otherwise, or on a NaN, a full argsort."""
    total = dists.shape[0]
    n = min(nprobes, total)
    if n == 0 or n * SELECT_RATIO > total:
        order = np.argsort(dists)[:n]
        return order.astype(np.uint32), dists[order]
    bits = dists.view(np.int32)
    keys = np.empty(2 * n, dtype=np.int64)
    count = 0
    bound = np.float32(np.inf)  # the n-th best at the last cut (none yet: all but +inf enter)
    for p in range(total):
        d = dists[p]
        if d >= bound:  # false for a NaN
            continue
        if d != d:  # NaN: argsort's order (NaN last) is the contract's
            order = np.argsort(dists)[:n]
            return order.astype(np.uint32), dists[order]
        # float32 bits as a signed int32 ordered as the floats: negatives flip their magnitude
        # bits (so -0.0 < +0.0; equal distances may come in any order, as Lance's unstable sort).
        b = np.int64(bits[p])
        keys[count] = ((b ^ ((b >> 31) & 0x7FFFFFFF)) << 32) | p
        count += 1
        if count == 2 * n:
            nth = cut_smallest(keys, count, n)
            count = n
            bound = dists[nth & 0xFFFFFFFF]
    if count < n:  # fewer than n distances below +inf (the +inf ones never entered)
        order = np.argsort(dists)[:n]
        return order.astype(np.uint32), dists[order]
    if count > n:
        cut_smallest(keys, count, n)
    ids = np.empty(n, dtype=np.uint32)
    best = np.empty(n, dtype=np.float32)
    for i in range(n):  # the keys are distinct: their ranks are a permutation of 0..n-1
        key = keys[i]
        rank = 0
        for j in range(n):
            rank += keys[j] < key
        p = key & 0xFFFFFFFF
        ids[rank] = p
        best[rank] = dists[p]
    return ids, best


@njit(**JIT)
def cut_smallest(keys, count, n):
    """Move the n smallest of keys[:count] (distinct int64 keys, n < count) to keys[:n], in any
    order, and return the largest of them. The n-th smallest by bisection on the key values,
    each step one vectorized count of the keys <= the midpoint (count / 4 int64 compares), ~10
    steps until the midpoint falls below the (n + 1)-th; then one branch-free compaction (an
    unconditional store, a counted advance): no branch depends on a single key."""
    low = keys[0]
    high = keys[0]
    for i in range(count):
        low = min(low, keys[i])
        high = max(high, keys[i])
    # Fewer than n keys <= lo, at least n keys <= hi. The keys span up to about +-2^63 (negative
    # distances), so the midpoint is halved before adding and no difference is formed.
    lo = low - 1  # the smallest key is above -2^63 (a -inf key is 0x807FFFFF << 32)
    hi = high
    while lo + 1 < hi:
        mid = (lo >> 1) + (hi >> 1) + (lo & hi & 1)
        below = 0
        for i in range(count):
            below += keys[i] <= mid
        if below < n:
            lo = mid
        else:
            hi = mid
            if below == n:
                break
    # Distinct keys: exactly n are <= hi (at hi = lo + 1 one more than the fewer than n <= lo).
    kept = np.uint64(0)  # unsigned: no negative-index fix-up on the store
    for i in range(count):
        key = keys[i]
        keys[kept] = key  # kept <= i: the key was read first
        kept += np.uint64(key <= hi)
    largest = keys[0]
    for i in range(n):
        largest = max(largest, keys[i])
    return largest


@njit(**JIT)
def take_smallest(dists, nprobes):
    """The n smallest, ascending. Few of many (n * SELECT_RATIO <= P): one pass keeping the n best
    so far sorted by insertion (a new one enters only below the current n-th, rarely once the
    buffer is full); otherwise, or on a NaN, a full argsort."""
    total = dists.shape[0]
    n = min(nprobes, total)
    if n == 0 or n * SELECT_RATIO > total:
        order = np.argsort(dists)[:n]
        return order.astype(np.uint32), dists[order]
    if n >= THRESHOLD_MIN_N and total <= THRESHOLD_MAX_P:
        return take_smallest_threshold(dists, n)
    if n >= REPLACE_MIN_N:
        return take_smallest_replacing(dists, nprobes)
    best = np.empty(n, dtype=np.float32)
    ids = np.empty(n, dtype=np.uint32)
    count = 0
    for p in range(total):
        d = dists[p]
        if d != d:  # NaN: argsort's order (NaN last) is the contract's
            order = np.argsort(dists)[:n]
            return order.astype(np.uint32), dists[order]
        if count == n:
            if d >= best[n - 1]:
                continue
            j = n - 1
        else:
            j = count
            count += 1
        while j > 0 and best[j - 1] > d:
            best[j] = best[j - 1]
            ids[j] = ids[j - 1]
            j -= 1
        best[j] = d
        ids[j] = p
    return ids, best


# Few of many from at most THRESHOLD_MAX_P distances, from THRESHOLD_MIN_N kept ids on: the n-th
# smallest is found first (take_smallest_threshold), with no branch per distance. The buffered
# passes pay ~70-80 cycles per entered distance (a mispredicted entry, the walk's mispredicted
# exit or the replacement's max and bound reload on the next compare's path): 20 and 64 of 256
# enter ~73 and ~155 of them, which is about the 2.3 and 3.9 us per call that (256, 128)/20 and
# /64 take beyond /1 (asv at 8177a1e8). From 1024 distances on each counting pass costs as much
# as a few entries save; below 8 kept ids the walk is short and mostly predicted.
THRESHOLD_MAX_P = 512
THRESHOLD_MIN_N = 8


@njit(**DIST_JIT)
def take_smallest_threshold(dists, n):
    """The n smallest (THRESHOLD_MIN_N <= n, n * SELECT_RATIO <= P <= THRESHOLD_MAX_P),
    ascending. Each distance as an order-preserving int32 key (take_smallest_replacing's), then
    the n-th smallest key by bisection: each step one vectorized count of the keys <= the
    midpoint (P / 8 compares and adds in ymm lanes), ~10 steps until the midpoint falls in the
    gap below the (n + 1)-th key, at most 33 (ties). Then one branch-free pass collects the keys
    below the threshold (an unconditional store, a counted advance), keys equal to the n-th
    smallest fill any slots left (ties: Lance's unstable sort may keep any of them), and the n
    are placed by their ranks (vectorized counts over unique (key, id) int64 keys). No branch
    depends on a single distance, so none is mispredicted per distance. NaN: argsort."""
    total = dists.shape[0]
    bits = dists.view(np.int32)
    keys = np.empty(total, dtype=np.int32)
    low = np.int32(0x7FFFFFFF)
    high = np.int32(-0x7FFFFFFF - 1)
    nan = False
    for p in range(total):
        b = bits[p]
        # float32 bits as a signed int32 ordered as the floats: negatives flip their magnitude
        # bits (so -0.0 < +0.0; equal distances may come in any order).
        k = np.int32(b ^ ((b >> 31) & 0x7FFFFFFF))
        keys[p] = k
        low = min(low, k)
        high = max(high, k)
        nan |= dists[p] != dists[p]
    if nan:  # argsort's order (NaN last) is the contract's
        order = np.argsort(dists)[:n]
        return order.astype(np.uint32), dists[order]
    # Invariant: fewer than n keys <= lo, at least n keys <= hi (int64: low - 1 never wraps).
    lo = np.int64(low) - 1
    hi = np.int64(high)
    exact = False
    while hi - lo > 1:
        mid = lo + ((hi - lo) >> 1)
        t = np.int32(mid)
        # Counted in float32 lanes (exact: P <= THRESHOLD_MAX_P < 2^24) under reassoc: an int64
        # count widened every four compares to a ymm of int64s (vpmovm2q, vpsubq), a float32
        # count takes eight keys per compare, mask and add.
        below = np.float32(0.0)
        for p in range(total):
            below += np.float32(keys[p] <= t)
        if below < n:
            lo = mid
        else:
            hi = mid
            if below == n:  # the n smallest are exactly the keys <= hi
                exact = True
                break
    # Every key <= last is one of the n smallest: n of them if exact, fewer otherwise (the rest
    # are keys equal to hi = lo + 1, the n-th smallest).
    last = np.int32(hi if exact else lo)
    chosen = np.empty(n + 1, dtype=np.int64)  # (key, id): one spare slot for the last store
    count = np.uint64(0)  # unsigned: no negative-index fix-up on the store
    for p in range(total):
        k = keys[p]
        chosen[count] = (np.int64(k) << 32) | p
        count += np.uint64(k <= last)
    if count < np.uint64(n):
        tie = np.int32(hi)
        for p in range(total):
            if keys[p] == tie:
                chosen[count] = (np.int64(tie) << 32) | p
                count += np.uint64(1)
                if count == np.uint64(n):
                    break
    ids = np.empty(n, dtype=np.uint32)
    best = np.empty(n, dtype=np.float32)
    for i in range(n):  # the (key, id) keys are distinct: their ranks are a permutation of 0..n-1
        key = chosen[i]
        rank = 0
        for j in range(n):
            rank += chosen[j] < key
        p = key & 0xFFFFFFFF
        ids[rank] = p
        best[rank] = dists[p]
    return ids, best
