"""expect: timing
refused: HarnessChangedError

Every paired ratio scaled by 0.8 (the issue's demonstration, against today's harness). At import it
reaches sys.modules (below), takes
`vars` from the builtins module found there (an attribute, not the forbidden name), and stores a
wrapper over the pairing function into autoresearch.abtest's namespace with a subscript store on
that call's result; the module's name is assembled from two strings. Where abtest is not loaded
(the oracle's process) it does nothing, so the kernel is exact and stateless wherever it is checked.
In the paired benchmark the process was sealed before the kernel loaded (integrity.py): the
rebinding is named before anything is timed. The parent's confirmation, timed in processes the
kernel never reached, would be 25% off asv's ratios besides.

The route to sys.modules here is numba's plain `sys` attribute, which the static check rejects
(so the oracle fails it as `static`); issue 16 found routes it misses, which are the oracle's to
close. This file shows what the timing side does once a kernel has one (tests/test_timing_guard.py
runs it without the static check).
"""

import numba
import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
SCALE = 0.8

_MODULES = numba.sys.modules
_HARNESS = _MODULES.get("auto" + "research.abtest")


def _scaled(result):
    ratios, calls = result
    return [r * SCALE for r in ratios], calls


if _HARNESS is not None:
    _NAMES = _MODULES["builtins"].vars(_HARNESS)
    _REAL = _NAMES["_pairs"]
    _NAMES["_pairs"] = lambda *args, **kw: _scaled(_REAL(*args, **kw))


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
def pq_distances(table, codes):
    M, N = codes.shape
    out = np.zeros(N, dtype=np.float32)
    for m in range(M):
        for j in range(N):
            out[j] += table[m, codes[m, j]]
    return out
