"""Data across the trust boundary: arrays in a structure, their memory, digests, encoded outputs.

Shared by both sides of the trust boundary: the kernel's process (autoresearch/kernel_process.py)
encodes outputs as JSON plus raw buffers (`encode`) and digests what it must report on; the oracle
finds a workload's arrays and their spans with the same functions. Standard library and numpy
only: the kernel's process imports nothing of the harness it does not need.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

MAX_DEPTH = 32  # nesting of an output (tuples of tuples ...) that is encoded at all


# ---------------------------------------------------------------------------
# Arrays: leaves, roots, memory spans, digests
# ---------------------------------------------------------------------------


def arrays_of(obj: Any) -> list[np.ndarray]:
    """The ndarrays of a nested tuple/list/dict, in order."""
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [a for item in obj for a in arrays_of(item)]
    if isinstance(obj, dict):
        return [a for item in obj.values() for a in arrays_of(item)]
    return []


def workload_arrays(w: Any) -> list[np.ndarray]:
    """The arrays of a workload (dataclass, tuple, list or dict), not copies."""
    import dataclasses

    if dataclasses.is_dataclass(w) and not isinstance(w, type):
        return arrays_of([getattr(w, f.name) for f in dataclasses.fields(w)])
    return arrays_of(w)


def root_of(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory (the whole buffer a view lives in)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def span(a: np.ndarray) -> list[int]:
    """[first byte, one past the last byte] of an array's elements; [0, 0] when it has none."""
    if a.size == 0:
        return [0, 0]
    interface = np.ndarray.__array_interface__.__get__(a)  # the C getter: not overridable
    lo = hi = int(interface["data"][0])
    for n, stride in zip(a.shape, a.strides, strict=True):
        if stride < 0:
            lo += (n - 1) * stride
        else:
            hi += (n - 1) * stride
    return [lo, hi + a.itemsize]


def raw(a: np.ndarray) -> np.ndarray:
    """A contiguous array's memory as a flat uint8 view, in memory order."""
    flat = a.reshape(-1, order="A")
    if a.size and not np.shares_memory(flat, a):
        raise ValueError("not a contiguous buffer")
    return flat.view(np.uint8)


def flat_bytes(a: np.ndarray) -> np.ndarray:
    """An array's elements in C order as a flat uint8 array (no copy when already C-contiguous):
    what goes over the pipe and into digests, without the copy `tobytes` makes."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1).view(np.uint8) if a.size else np.empty(0, dtype=np.uint8)


def digest(a: np.ndarray) -> str:
    return hashlib.blake2b(flat_bytes(a), digest_size=16).hexdigest()


def tree_digest(obj: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays_of(obj):
        h.update(flat_bytes(a))
    h.update(structure(obj).encode())
    return h.hexdigest()


def snapshot(obj: Any) -> tuple:
    """What an output holds, to tell later whether it changed: its structure and a copy of its
    arrays' bytes (a copy and a compare cost far less than hashing)."""
    return structure(obj), [flat_bytes(a).tobytes() for a in arrays_of(obj)]


def structure(obj: Any) -> str:
    """The shape of a nested value with its arrays left out (non-array inputs must not change)."""
    if isinstance(obj, np.ndarray):
        return "<array>"
    if isinstance(obj, tuple):
        return "(" + ", ".join(structure(x) for x in obj) + ",)"
    if isinstance(obj, list):
        return "[" + ", ".join(structure(x) for x in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {structure(v)}" for k, v in obj.items()) + "}"
    return repr(obj)


# ---------------------------------------------------------------------------
# Outputs: encoded as JSON plus raw buffers (the oracle never unpickles anything from here)
# ---------------------------------------------------------------------------


def type_name(t: type) -> str:
    try:  # type's own getters: a class cannot override what they say about it
        module = type.__dict__["__module__"].__get__(t)
        name = type.__dict__["__qualname__"].__get__(t)
    except (AttributeError, TypeError):
        return "?"
    return f"{module}.{name}"[:200]


def encode(obj: Any, bufs: list, depth: int = 0, copy: bool = False) -> dict:
    """A JSON-able description of an output; array contents go to `bufs` (C order): views of the
    output's memory, or copies with `copy` (the output is dropped before they are sent)."""
    t = type(obj)
    if depth > MAX_DEPTH:
        return {"t": "other", "type": "a value nested too deep"}
    if t is np.ndarray:
        dt = obj.dtype
        meta = {
            "t": "nd",
            "shape": list(obj.shape),
            "strides": list(obj.strides),
            "c": bool(obj.flags.c_contiguous),
            "w": bool(obj.flags.writeable),
            "span": span(obj),
            "root": span(root_of(obj)),
        }
        if dt.hasobject or dt.fields is not None or dt.subdtype is not None or dt.metadata:
            return {"t": "other", "type": f"numpy.ndarray of dtype {str(dt)[:100]}"}
        meta["dtype"] = dt.str
        meta["buf"] = len(bufs)
        bufs.append(flat_bytes(obj).tobytes() if copy else flat_bytes(obj))
        return meta
    if isinstance(obj, np.generic) and t.__module__ == "numpy":
        dt = np.dtype(t)
        if dt.hasobject or dt.fields is not None or dt.kind == "V":
            return {"t": "other", "type": type_name(t)}
        return {"t": "np", "dtype": dt.str, "hex": np.generic.tobytes(obj).hex()}
    if t is bool:
        return {"t": "bool", "v": obj}
    if t is int:
        return {"t": "int", "v": str(obj)}
    if t is float:
        return {"t": "float", "v": float.hex(obj)}
    if t is complex:
        return {"t": "complex", "re": float.hex(obj.real), "im": float.hex(obj.imag)}
    if obj is None:
        return {"t": "none"}
    if t is str:
        return {"t": "str", "v": obj}
    if t is bytes:
        return {"t": "bytes", "hex": obj.hex()}
    if t in (tuple, list):
        return {"t": t.__name__, "items": [encode(x, bufs, depth + 1, copy) for x in obj]}
    if t is dict:
        items = [
            [encode(k, bufs, depth + 1, copy), encode(v, bufs, depth + 1, copy)]
            for k, v in obj.items()
        ]
        return {"t": "dict", "items": items}
    return {"t": "other", "type": type_name(t)}
