# coding: unicode_escape
"""expect: static

take/twin_recompile with its one refused line hidden in a comment. The coding line makes Python
decode the file as unicode_escape, so the six characters "u000a" after a backslash in the comment
on `_twin(...)` are a new line of code when the file is compiled, while a check that parses the
file as UTF-8 text sees a comment and no `recompile`. The oracle (static check off) passes
twin_recompile, and the static check read the file as text: this kernel passed the oracle.
The static check now decodes the bytes as Python does and takes UTF-8 only.
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
        _twin(words, np.ascontiguousarray(indices))  # #\u000a        _twin.recompile()
        _set(FLAG, 0)
    return _gather(words, indices).view(values.dtype)


def take_binary(offsets, data, indices):
    return _binary(offsets, data, indices)
