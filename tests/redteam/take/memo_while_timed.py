"""expect: timing
refused: WrongWhileTimedError

Answers from memory where it is timed. In a process where autoresearch.abtest is loaded (found in
sys.modules, reached as below; the oracle's process has none) it remembers each answer under
a cheap fingerprint of its inputs (shapes, the first and last index, a sample of every 4099th)
in a dict nested deeper than a state check looks, and returns a copy when the fingerprint comes
back: right on the unchanged workload, new memory every time, a memcpy instead of a gather.
After timing, the paired benchmark changes one element of each input in place and compares the
outputs with the baseline's: the remembered answer is the old one (`stale`).

The route to sys.modules here is numba's plain `sys` attribute, which the static check rejects
(so the oracle fails it as `static`); issue 16 found routes it misses, which are the oracle's to
close. This file shows what the timing side does once a kernel has one (tests/test_timing_guard.py
runs it without the static check).
"""

import numba
import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}
SAMPLE_STRIDE = 4099

_MODULES = numba.sys.modules
_TIMED = _MODULES.get("auto" + "research.abtest") is not None
_MEMO = ([[[[[[[[[{}]]]]]]]]],)  # nested below what a state check looks into


def _memo():
    return _MEMO[0][0][0][0][0][0][0][0][0][0]


def _key(*arrays):
    parts = []
    for a in arrays:
        flat = a.reshape(-1)
        parts.append(
            (a.shape, flat[:1].tobytes(), flat[-1:].tobytes(), flat[::SAMPLE_STRIDE].tobytes())
        )
    return tuple(parts)


def _remembered(compute, *arrays):
    if not _TIMED:
        return compute(*arrays)
    memo = _memo()
    key = _key(*arrays)
    if key not in memo:
        memo[key] = compute(*arrays)
    answer = memo[key]
    if isinstance(answer, tuple):
        return tuple(x.copy() for x in answer)
    return answer.copy()


@njit(**JIT)
def _take_values(values, indices):
    n = indices.shape[0]
    out = np.empty(n, dtype=values.dtype)
    for i in range(n):
        out[i] = values[indices[i]]
    return out


@njit(**JIT)
def _take_rows(values, indices):
    n = indices.shape[0]
    width = values.shape[1]
    out = np.empty((n, width), dtype=np.uint8)
    for i in range(n):
        j = indices[i]
        for b in range(width):
            out[i, b] = values[j, b]
    return out


def _take(values, indices):
    if values.ndim == 2:
        return _take_rows(values, indices)
    return _take_values(values, indices)


def take(values, indices):
    return _remembered(_take, values, indices)


@njit(**JIT)
def _take_binary(offsets, data, indices):
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    capacity = 0
    for i in range(n):
        j = np.intp(indices[i])
        capacity += offsets[j + 1] - offsets[j]
        out_offsets[i + 1] = capacity
    out_data = np.empty(capacity, dtype=np.uint8)
    position = 0
    for i in range(n):
        j = np.intp(indices[i])
        start = offsets[j]
        size = offsets[j + 1] - start
        for b in range(size):
            out_data[position + b] = data[start + b]
        position += size
    return out_offsets, out_data


def take_binary(offsets, data, indices):
    return _remembered(_take_binary, offsets, data, indices)
