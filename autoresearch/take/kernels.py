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
def _fill_values(values, indices, out):
    for i in range(indices.shape[0]):
        out[i] = values[indices[i]]


@njit(**JIT)
def _fill_rows(values, indices, out):
    width = values.shape[1]
    for i in range(indices.shape[0]):
        j = indices[i]
        for b in range(width):
            out[i, b] = values[j, b]


def take(values, indices):
    # arrow dispatches on the data type: primitive vs FixedSizeBinary(16); here on the layout.
    # Outputs are allocated by numpy, which asks for transparent huge pages on large arrays
    # (numba's np.empty gets 4 KiB pages: ~20,000 page faults for an 80 MB output).
    if values.ndim == 2:
        out = np.empty((indices.shape[0], values.shape[1]), dtype=np.uint8)
        _fill_rows(values, indices, out)
        return out
    out = np.empty(indices.shape[0], dtype=values.dtype)
    _fill_values(values, indices, out)
    return out


@njit(**JIT)
def _binary_offsets(offsets, indices, out_offsets, starts):
    # The only random reads of the offsets: each value's start is kept (a sequential write), so
    # the copy pass reads starts and lengths in order and only the bytes at random. The index is
    # used as it comes, unsigned: numba wraps a signed index around when negative (a compare and
    # a select per access), and uint64 + 1 must be written as np.uint64(1) (else a float).
    out_offsets[0] = 0
    capacity = 0
    for i in range(indices.shape[0]):
        j = indices[i]
        start = offsets[j]
        capacity += offsets[j + _ONE] - start
        starts[i] = start
        out_offsets[i + 1] = capacity
    return capacity


_ONE = np.uint64(1)
_ZERO = np.uint64(0)
WORD = 16  # bytes per fixed-size move (strings average 8: most fit in one move)
_WORD = np.uint64(WORD)


@njit(**JIT)
def _move16(data, source, out_data, position):
    # 16 bytes loaded one by one into locals, then stored one by one: all 16 loads come before
    # any store, so LLVM's SLP vectorizer makes them one 16-byte load and one 16-byte store (it
    # may not move a load past a store, as data and out_data could overlap: loads and stores
    # interleaved stay bytes). Built as two words ORed from bytes instead, LLVM merged them into
    # three accesses each way (4 + 8 + 4 bytes). Positions are unsigned: with signed ones numba
    # wraps every byte's index around when negative (a compare and a select per byte).
    b0 = data[source + np.uint64(0)]
    b1 = data[source + np.uint64(1)]
    b2 = data[source + np.uint64(2)]
    b3 = data[source + np.uint64(3)]
    b4 = data[source + np.uint64(4)]
    b5 = data[source + np.uint64(5)]
    b6 = data[source + np.uint64(6)]
    b7 = data[source + np.uint64(7)]
    b8 = data[source + np.uint64(8)]
    b9 = data[source + np.uint64(9)]
    b10 = data[source + np.uint64(10)]
    b11 = data[source + np.uint64(11)]
    b12 = data[source + np.uint64(12)]
    b13 = data[source + np.uint64(13)]
    b14 = data[source + np.uint64(14)]
    b15 = data[source + np.uint64(15)]
    out_data[position + np.uint64(0)] = b0
    out_data[position + np.uint64(1)] = b1
    out_data[position + np.uint64(2)] = b2
    out_data[position + np.uint64(3)] = b3
    out_data[position + np.uint64(4)] = b4
    out_data[position + np.uint64(5)] = b5
    out_data[position + np.uint64(6)] = b6
    out_data[position + np.uint64(7)] = b7
    out_data[position + np.uint64(8)] = b8
    out_data[position + np.uint64(9)] = b9
    out_data[position + np.uint64(10)] = b10
    out_data[position + np.uint64(11)] = b11
    out_data[position + np.uint64(12)] = b12
    out_data[position + np.uint64(13)] = b13
    out_data[position + np.uint64(14)] = b14
    out_data[position + np.uint64(15)] = b15


@njit(**JIT)
def _binary_copy(starts, out_offsets, data, out_data):
    # Every value of up to 32 bytes without a branch on its length: a 16-byte move of its head
    # and one of the 16 bytes ending at max(size, 16) (the same bytes again for a value of at
    # most 16 bytes). Lengths are spread at random (~13% of 8-byte-average strings pass 16
    # bytes), so a branch on them mispredicts; past 32 bytes (~2%) 16-byte moves fill the middle.
    # The bytes moved past a value's end are overwritten by the next value, and out_data has
    # WORD bytes of slack. Every read stays inside [start, start + max(size, 16)): a value
    # starting closer than WORD to the end of data is copied byte by byte instead.
    limit = data.shape[0] - WORD
    for i in range(starts.shape[0]):
        start = starts[i]
        source = np.uint64(start)
        position = np.uint64(out_offsets[i])
        size = np.uint64(out_offsets[i + 1]) - position
        if start <= limit:
            last = max(size, _WORD) - _WORD  # where the last 16-byte move starts
            _move16(data, source, out_data, position)
            middle = _WORD
            while middle < last:  # only past 32 bytes
                _move16(data, source + middle, out_data, position + middle)
                middle += _WORD
            _move16(data, source + last, out_data, position + last)
        else:
            for b in range(size):
                out_data[position + np.uint64(b)] = data[source + np.uint64(b)]


def take_binary(offsets, data, indices):
    # arrow's take_bytes: the selected lengths summed into the offsets, then the bytes copied;
    # both outputs allocated by numpy (huge pages on large arrays), filled by the jitted passes.
    n = indices.shape[0]
    out_offsets = np.empty(n + 1, dtype=offsets.dtype)
    starts = np.empty(n, dtype=np.int64)
    capacity = _binary_offsets(offsets, indices, out_offsets, starts)
    out_data = np.empty(capacity + WORD, dtype=np.uint8)  # slack for the last value's move
    _binary_copy(starts, out_offsets, data, out_data)
    return out_offsets, out_data[:capacity]
