"""expect: static

A kernel that asks numba whether its machine code came from the on-disk cache. Since the oracle's
kernel process compiles the candidate and asv's benchmark processes load that compile (session 33,
harness/numba_cache.py), `dispatcher.stats.cache_hits` is empty in the oracle and not in asv: it
takes the exact path where it is judged and, where it is timed, skips every index past the first
of a run of consecutive ones (a run-length shortcut, right on the timed clustered requests and
wrong on repeats). A dispatcher's `stats`, `signatures` and `inspect_*` describe the process, not
the inputs; the static check refuses them.
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


@njit(**JIT)
def _fill_values(values, indices, out):
    for i in range(indices.shape[0]):
        out[i] = values[indices[i]]


@njit(**JIT)
def _fill_runs(values, indices, out):
    i = 0
    n = indices.shape[0]
    while i < n:
        j = indices[i]
        k = i
        while k < n and indices[k] == j + (k - i):
            k += 1
        out[i:k] = values[j : j + (k - i)]
        i = max(k, i + 1)


@njit(**JIT)
def _fill_rows(values, indices, out):
    for i in range(indices.shape[0]):
        out[i, :] = values[indices[i], :]


def take(values, indices):
    if values.ndim == 2:
        out = np.empty((indices.shape[0], values.shape[1]), dtype=np.uint8)
        _fill_rows(values, indices, out)
        return out
    out = np.empty(indices.shape[0], dtype=values.dtype)
    timed = bool(_fill_values.stats.cache_hits)
    (_fill_runs if timed else _fill_values)(values, indices, out)
    return out


@njit(**JIT)
def _binary(offsets, data, indices):
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    for i in range(n):
        j = np.intp(indices[i])
        out_offsets[i + 1] = out_offsets[i] + offsets[j + 1] - offsets[j]
    out_data = np.empty(out_offsets[n], dtype=np.uint8)
    for i in range(n):
        j = np.intp(indices[i])
        out_data[out_offsets[i] : out_offsets[i + 1]] = data[offsets[j] : offsets[j + 1]]
    return out_offsets, out_data


def take_binary(offsets, data, indices):
    return _binary(offsets, data, indices)
