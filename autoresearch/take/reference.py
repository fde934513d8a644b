"""take reference: naive scalar loops, the oracle (do not edit).

Mirrors arrow-rs `arrow_select::take::take` as Lance's dataset take calls it
(rust/lance/src/dataset/take.rs, `take_struct_array`: `arrow_select::take::take(array, indices,
None)` per column, with a UInt64Array remapping index that restores the caller's row order after
the sorted, deduplicated per-fragment reads). For arrays without nulls:
- fixed width (`take_native`, `take_fixed_size::<16>` for FixedSizeBinary(16)): out[i] =
  values[indices[i]], moved as bits;
- variable width (`take_bytes`): a first pass sums the selected lengths into offsets starting at
  0 (checked against the offset type), a second pass copies each selected value's bytes.

Values are moved as bits, never as numbers: float values are copied through their unsigned integer
view here, and the oracle compares float outputs bit for bit (NaN payloads, -0.0). Out-of-range
indices are an error (arrow panics); the harness never passes them, and the reference raises so a
broken case generator cannot go unnoticed.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def _gather(values, indices):
    """out[i] = values[indices[i]] for 1-D unsigned words."""
    n = indices.shape[0]
    size = values.shape[0]
    out = np.empty(n, dtype=values.dtype)
    for i in range(n):
        j = np.int64(indices[i])
        if j < 0 or j >= size:
            raise IndexError("take index out of range")
        out[i] = values[j]
    return out


@njit(cache=True)
def _gather_rows(values, indices):
    """out[i, :] = values[indices[i], :], byte by byte, for uint8[N, width] rows."""
    n = indices.shape[0]
    size, width = values.shape
    out = np.empty((n, width), dtype=np.uint8)
    for i in range(n):
        j = np.int64(indices[i])
        if j < 0 or j >= size:
            raise IndexError("take index out of range")
        for b in range(width):
            out[i, b] = values[j, b]
    return out


def take(values, indices):
    """The value at every index: T[n] (int32/int64/float64) or uint8[n, 16] (16-byte rows)."""
    if values.ndim == 2:
        return _gather_rows(values, indices)
    words = values.view(np.dtype(f"u{values.dtype.itemsize}"))
    return _gather(words, indices).view(values.dtype)


@njit(cache=True)
def take_binary(offsets, data, indices):
    """(offsets O[n + 1], data uint8[total]): the selected strings, concatenated.

    Value j is data[offsets[j]:offsets[j + 1]]; the output's offsets start at 0 and have the input
    offsets' type O (int32 or int64).
    """
    n = indices.shape[0]
    size = offsets.shape[0] - 1
    limit = np.iinfo(offsets.dtype).max
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    out_offsets[0] = 0
    total = np.int64(0)
    for i in range(n):
        j = np.int64(indices[i])
        if j < 0 or j >= size:
            raise IndexError("take index out of range")
        total += np.int64(offsets[j + 1]) - np.int64(offsets[j])
        if total > limit:
            raise OverflowError("output offsets overflow their type")
        out_offsets[i + 1] = total
    out_data = np.empty(total, dtype=np.uint8)
    for i in range(n):
        j = np.int64(indices[i])
        start = np.int64(offsets[j])
        length = np.int64(offsets[j + 1]) - start
        position = np.int64(out_offsets[i])
        for b in range(length):
            out_data[position + b] = data[start + b]
    return out_offsets, out_data
