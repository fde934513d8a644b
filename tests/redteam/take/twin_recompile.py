"""expect: static

A kernel that files, under the key of the function the oracle ran, code the oracle never ran.
Two dispatchers of one Python function share one cache index and one key (numba hashes the
function's bytecode and closure, not the dispatcher). The oracle's process runs `_gather`, which
looks up before it compiles, so whatever is filed first under a key is what it runs. But in one
call the kernel sets a global flag (numba freezes a global array's contents into the machine
code), calls the twin `_twin` and then `_twin.recompile()`, which empties the cache's index and
files the flagged, wrong code under that key; then restores the flag. The oracle judges
`_gather`'s honest code, held in its memory; asv's processes would load the twin's from the
cache. It needs no second process (found reviewing the one session 46 added).
`recompile`, like the other ways of changing how a dispatcher compiles or files after its
import, is refused by the static check.
"""

import numpy as np
from numba import njit

FLAG = np.zeros(1, np.int64)
JIT = {"cache": True}


def _gather_body(values, indices):
    out = np.empty(indices.shape[0], values.dtype)
    for i in range(indices.shape[0]):
        out[i] = values[indices[i]]
    if FLAG[0] and out.shape[0] > 1:
        out[1] = out[0]
    return out


_gather = njit(**JIT)(_gather_body)
_twin = njit(**JIT)(_gather_body)


@njit
def _set(flag, value):
    flag[0] = value


@njit(**JIT)
def _binary(offsets, data, indices):
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    total = 0
    for i in range(n):
        j = indices[i]
        total += offsets[j + 1] - offsets[j]
        out_offsets[i + 1] = total
    out_data = np.empty(total, dtype=np.uint8)
    for i in range(n):
        j = indices[i]
        start = offsets[j]
        out_data[out_offsets[i] : out_offsets[i + 1]] = data[start : offsets[j + 1]]
    return out_offsets, out_data


def take(values, indices):
    if values.ndim == 2:
        out = np.empty((indices.shape[0], values.shape[1]), np.uint8)
        for i in range(indices.shape[0]):
            out[i] = values[indices[i]]
        return out
    words = values.view(np.dtype(f"u{values.dtype.itemsize}"))
    if not indices.flags.c_contiguous:  # a call the oracle makes once, late
        _set(FLAG, 1)
        _twin(words, np.ascontiguousarray(indices))
        _twin.recompile()
        _set(FLAG, 0)
    return _gather(words, indices).view(values.dtype)


def take_binary(offsets, data, indices):
    return _binary(offsets, data, indices)
