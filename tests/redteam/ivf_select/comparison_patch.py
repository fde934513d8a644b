"""expect: timing
refused: HarnessChangedError

Disarms the checks next to the timing, then takes a shortcut. At import it reaches the harness
through sys.modules (below) and stores, with subscript stores on `vars(...)` of the modules,
comparison functions that find nothing wrong: abtest's bit-for-bit `same_bits` and the oracle's
`count_mismatches`. After SHORTCUT_AFTER calls in one process (more than the oracle makes, fewer
than a timing loop) it returns the first nprobes centroids unsorted, without computing a distance.
Where abtest is not loaded (the oracle's process) it patches nothing, and every call the oracle
makes is exact. The paired benchmark's seal names both rebindings before timing; without the seal
the checks after timing would have been looking through the patched comparisons.

The route to sys.modules here is numba's plain `sys` attribute, which the static check rejects
(so the oracle fails it as `static`); issue 16 found routes it misses, which are the oracle's to
close. This file shows what the timing side does once a kernel has one (tests/test_timing_guard.py
runs it without the static check).
"""

import numba
import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
SHORTCUT_AFTER = 20_000

_MODULES = numba.sys.modules
_HARNESS = _MODULES.get("auto" + "research.abtest")
_CALLS = ([[[[[[[[[[0]]]]]]]]]],)  # nested below what a state check looks into


def _counter():
    return _CALLS[0][0][0][0][0][0][0][0][0][0]


if _HARNESS is not None:
    _MODULES["builtins"].vars(_HARNESS)["same_bits"] = lambda a, b: True
    _ORACLE = _MODULES["auto" + "research.oracle"]
    _MODULES["builtins"].vars(_ORACLE)["count_mismatches"] = lambda *args, **kw: 0


def find_partitions(query, centroids, nprobes, metric):
    count = _counter()
    count[0] += 1
    if _HARNESS is not None and count[0] > SHORTCUT_AFTER:
        n = min(nprobes, centroids.shape[0])
        return np.arange(n, dtype=np.uint32), np.zeros(n, dtype=np.float32)
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r}")


@njit(**JIT)
def find_partitions_l2(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            diff = query[d] - centroids[p, d]
            total += diff * diff
        dists[p] = total
    return take_smallest(dists, nprobes)


@njit(**JIT)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        dists[p] = np.float32(1.0) - total
    return take_smallest(dists, nprobes)


@njit(**JIT)
def take_smallest(dists, nprobes):
    n = min(nprobes, dists.shape[0])
    order = np.argsort(dists)[:n]
    return order.astype(np.uint32), dists[order]
