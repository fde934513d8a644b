"""Outputs compared bit for bit, and the memory they occupy: what abtest.TimedCheck and
confirm.py check a candidate's outputs with where its speed is measured (the same structure,
types and bits as before timing; no output sharing memory with another or with the workload).
"""

from __future__ import annotations

import numpy as np

try:
    from numpy.lib.array_utils import byte_bounds
except ImportError:  # numpy < 2
    from numpy import byte_bounds

# Bytes compared per step: one step's boolean temporary stays in cache. Whole-array comparisons
# ran 4x slower on 80 MB outputs and memoryview's ran 6x slower on bitpack's 8 MB (1.3 ms against
# 8 ms a call: the checks after timing cost bitpack 38 of its 47 CPU-s of pairing).
COMPARE_CHUNK = 1 << 18


def leaves(obj: object) -> list:
    """The non-container values of a nested tuple/list/dict, in order."""
    if isinstance(obj, (tuple, list)):
        return [x for item in obj for x in leaves(item)]
    if isinstance(obj, dict):
        return [x for item in obj.values() for x in leaves(item)]
    return [obj]


def same_bits(a: object, b: object) -> bool:
    """The same structure, types, dtypes, shapes and every bit (NaN payloads included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same_bits(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_bits(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.hasobject:  # no buffer of its own to compare (kernels return none)
            return a.tobytes() == b.tobytes()
        x, y = _raw_bytes(a), _raw_bytes(b)
        return all(
            np.array_equal(x[i : i + COMPARE_CHUNK], y[i : i + COMPARE_CHUNK])
            for i in range(0, x.size, COMPARE_CHUNK)
        )
    if isinstance(a, (float, complex, np.generic)):
        return np.asarray(a).tobytes() == np.asarray(b).tobytes()
    return bool(a == b)


def _raw_bytes(a: np.ndarray) -> np.ndarray:
    """The array's bytes as uint8 (through the buffer protocol: no subclass method is called)."""
    return np.frombuffer(np.ascontiguousarray(a), np.uint8)


def extents(obj: object) -> list[tuple[int, int]]:
    """The byte ranges of every array in `obj` (distinct arrays; empty ones hold no memory)."""
    seen, out = set(), []
    for x in leaves(obj):
        if isinstance(x, np.ndarray) and x.size and id(x) not in seen:
            seen.add(id(x))
            out.append(byte_bounds(x))
    return out


def overlap(mine: list[tuple[int, int]], others: list[tuple[int, int]] | None = None) -> bool:
    """Does a range of `mine` overlap one of `others` (None: another of `mine`)? One sweep."""
    if others is None:  # sorted by start: one overlaps another iff it starts before one ends
        reach = -1
        for lo, hi in sorted(mine):
            if lo < reach:
                return True
            reach = max(reach, hi)
        return False
    events = sorted([(lo, hi, 0) for lo, hi in mine] + [(lo, hi, 1) for lo, hi in others])
    reach = [-1, -1]  # the furthest end seen so far, per side
    for lo, hi, side in events:
        if lo < reach[1 - side]:
            return True
        reach[side] = max(reach[side], hi)
    return False
