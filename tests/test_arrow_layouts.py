"""autoresearch/arrow_layouts.py: the helpers take and dictionary share, one copy for both, and
the same bytes as the copies each inputs.py held before (digests recorded from those copies)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from autoresearch import arrow_layouts
from autoresearch.common import SplitMix64
from autoresearch.dictionary import inputs as dictionary
from autoresearch.take import inputs as take

# make_strings(SplitMix64(seed), count, total_bytes, offset dtype) -> digest of (offsets, data),
# from take/inputs.py's and dictionary/inputs.py's own (identical) copies before the move.
RECORDED = [
    ((1, 1, 0, "int32"), "097b86a569cebffb"),
    ((2, 5, 40, "int64"), "671146bbfd673c7f"),
    ((3, 1000, 12000, "int32"), "27f41aa292ddd5cf"),
    ((4, 7, 3, "int64"), "9f1135aa870fe2ea"),
]


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.dtype.str.encode() + repr(a.shape).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("args, digest", RECORDED)
def test_make_strings_gives_the_bytes_the_copies_gave(args, digest):
    seed, count, total, dtype = args
    assert _digest(arrow_layouts.make_strings(SplitMix64(seed), count, total, dtype)) == digest


@pytest.mark.parametrize("inputs", [take, dictionary])
def test_both_targets_use_the_one_copy(inputs):
    for name in ("make_strings", "SPECIAL_FLOAT_BITS", "VALUE_WIDTH", "OFFSET_DTYPES"):
        assert getattr(inputs, name) is getattr(arrow_layouts, name)
    assert arrow_layouts.__file__ in inputs.GENERATORS  # its changes invalidate cached workloads
