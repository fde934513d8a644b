"""expect: raised

A kernel whose numba signature string is code. numba evaluates a string signature with Python's
eval, the builtins and numba.core.types' namespace (which holds np, ctypes and config) when the
decorator is called: here at import, in the oracle's kernel process and in every asv process. To
the static check a string is data. This one only leaves a file behind
(/tmp/lance-redteam-signature-ran.npy); it could as well rewrite the harness or numba's cache.
The harness now reads signature strings as numba types and nothing else
(harness/numba_text.py): its import raises.
"""

import numpy as np
from numba import njit

JIT = {"cache": True}


@njit(**JIT)
def _gather(values, indices):
    out = np.empty(indices.shape[0], values.dtype)
    for i in range(indices.shape[0]):
        out[i] = values[indices[i]]
    return out


# numba evaluates this string when the decorator is called: at import. (np.save adds ".npy".)
@njit("np.save('/tmp/lance-redteam-signature-ran', np.zeros(1)) or int64(int64)")
def _probe(x):
    return x


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
    return _gather(words, indices).view(values.dtype)


def take_binary(offsets, data, indices):
    return _binary(offsets, data, indices)
