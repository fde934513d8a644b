"""expect: timing
refused: WrongWhileTimedError
order: candidate-first

Exact while judged, a shortcut once the calls outnumber what a correctness check makes. The
oracle's kernel process would see a module-level counter change (`stale`), so the kernel first
tells that process from asv's (sys.argv[0], as tell_by_argv.py does) and counts only outside it,
in a one-element array (a type the contract allows at module level). In asv's process it is exact
for its first HONEST_CALLS calls, enough for track_mismatches, and from then on scans every other
sub-vector and doubles the sum: about twice as fast, and wrong, in the paired timing loop only
(a few thousand calls on the smallest combinations). One call of every timed sample, at a
position the kernel cannot know, must return the bits of the candidate's first call:
WrongWhileTimedError. This is the class of kernel that needs no route to the harness at all.

In the suites' second process (the baseline's copy first, then a new instance of this module), on
an empty numba cache, the new instance raised inside numba before timing (`RuntimeError: In
'NRT_adapt_ndarray_to_python', 'descr' is NULL`, CI of 2026-12-07): a crash there, which refuses
it too, so its named refusal is tested in the first process only.
"""

import numba
import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
HONEST_CALLS = 2000

_CALLS = np.zeros(1, np.int64)


def _library(mod):
    return mod.core.utils.import_module


def _bump(count):
    count[0] += 1
    return count[0]


def _judged():
    argv = _library(numba)("sy" + "s").argv
    return bool(argv) and str(argv[0]).endswith("_process.py")


_JUDGED = _judged()


@njit(**JIT)
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
def _scan(table, codes, step):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(0, M, step):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    if step > 1:
        for j in range(N):
            out[j] *= np.float32(step)
    return out


def pq_distances(table, codes):
    if _JUDGED:
        return _scan(table, codes, 1)
    return _scan(table, codes, 2 if _bump(_CALLS) > HONEST_CALLS else 1)
