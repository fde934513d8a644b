"""Arrow value layouts the take and dictionary targets share: 16-byte values, string columns
(offsets + data) and the float bit patterns a gather must carry through untouched.

Both targets' inputs.py import these; changing one changes both targets' workloads and cases.
"""

from __future__ import annotations

import numpy as np

from autoresearch.common import SplitMix64

VALUE_WIDTH = 16  # bytes of one "bytes16" value
OFFSET_DTYPES = {"binary": "int32", "large_binary": "int64"}  # string value type -> offsets

# Held out: never in the speed workload or program.md. Float bit patterns a take or a decoder
# must carry through untouched: -0.0, quiet / signalling / negative NaNs with payloads,
# infinities, subnormals, the largest finite value.
SPECIAL_FLOAT_BITS = (
    0x8000000000000000,
    0x7FF8000000000000,
    0x7FF0000000000001,
    0xFFF8000000000000,
    0x7FF8DEADBEEF0001,
    0xFFF4000000000ABC,
    0x7FF0000000000000,
    0xFFF0000000000000,
    0x0000000000000001,
    0x800FFFFFFFFFFFFF,
    0x7FEFFFFFFFFFFFFF,
)


def make_strings(rng: SplitMix64, count: int, total_bytes: int, offset_dtype):
    """(offsets[count + 1], uint8[total_bytes]): `count` random strings of `total_bytes` in all.

    Lengths come from sorted random cut points of [0, total_bytes] (empty strings included), so
    the data size is the same for every seed: the oracle's cross-call checks need fixed shapes.
    """
    cuts = np.sort(rng.integers(count - 1, total_bytes + 1)) if count > 1 else np.empty(0)
    offsets = np.concatenate([[0], cuts, [total_bytes]]).astype(offset_dtype)
    data = rng.u64((total_bytes + 7) // 8).view(np.uint8)[:total_bytes].copy()
    return offsets, data
