"""take kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

Starting point: a faithful port of arrow-rs `arrow_select::take` for arrays without nulls, as
Lance's dataset take calls it (rust/lance/src/dataset/take.rs, `take_struct_array`).
Fixed width: `take_native` collects `values[index]` per index (`take_fixed_size::<16>` moves one
`[u8; 16]` per index: here byte by byte). Variable width: `take_bytes`, a first pass that sums the
selected lengths into the output offsets, then a second that copies each value's bytes.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}


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


def take(values, indices):
    # arrow dispatches on the data type: primitive vs FixedSizeBinary(16); here on the layout.
    if values.ndim == 2:
        return _take_rows(values, indices)
    return _take_values(values, indices)


@njit(**JIT)
def take_binary(offsets, data, indices):
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    capacity = 0
    for i in range(n):
        j = np.intp(indices[i])  # index.as_usize() (numba: uint64 + 1 would be a float)
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
