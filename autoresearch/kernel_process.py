"""The kernel's process: the only harness code that runs where kernels.py is imported.

`python -m autoresearch.oracle T` never imports kernels.py. It starts this module as a child
(`python -m autoresearch.kernel_process T [FILE]`), configured as asv's benchmark process is (one
numba thread, single-threaded BLAS, `benchmarks` and the target's suite imported first), and asks
it, over a pipe, to run the kernel on arrays the oracle sends. What comes back is data: the
kernel's outputs as bytes, where they live in memory, which input buffers changed, digests of the
kernel module's state, and whether the harness modules of this process are still the ones it
started with. References, comparisons and the verdict stay in the oracle's process, where nothing
the kernel does can reach them (docs/oracle.md, "The trust boundary").

This file is not a defence in itself: code here runs next to the kernel, which may rewrite it.
It reports facts a verdict can be computed from, fails closed on what it can see being changed
(the harness modules, its own functions, library namespaces) and keeps every output and input
alive for the whole run, so that memory shared across calls is visible as overlapping addresses.

The same `Executor` runs in-process for the oracle's unit tests (`oracle.check_cases` with a
module-like object), where there is no boundary to speak of: only the command has one.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pickle
import struct
import sys
import types
from typing import Any

import numpy as np

# Replies larger than this are a broken or hostile process, not a kernel's outputs.
MAX_HEADER_BYTES = 1 << 28
MAX_BUFFER_BYTES = 1 << 34
MAX_DEPTH = 32  # nesting of an output (tuples of tuples ...) that is encoded at all
NUMBA_LAZY_ATTRIBUTES = {"_MemoMixin__uuid"}  # set by numba on a dispatcher passed as argument

# The configuration of asv's benchmark processes (benchmarks/__init__.py): the kernel's process
# gets exactly these, so nothing it can observe (numba.get_num_threads()) tells the two apart.
KERNEL_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# Never in the kernel's process: the paired run's secret salt and baseline.
KERNEL_ENV_DROP = ("AUTORESEARCH_SPEED_SALT", "AUTORESEARCH_AB_BASELINE")


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


# ---------------------------------------------------------------------------
# Module state: what kernels.py may hold after import, and its fingerprint
# ---------------------------------------------------------------------------


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """What a module-level value holds, deep enough to see a cache fill or a counter move."""
    if isinstance(value, (int, float, complex, str, bytes, bool, type(None))):
        return ("value", repr(value))
    if depth > 8:
        return ("object", id(value))
    if isinstance(value, np.ndarray):
        root = root_of(value)
        meta = repr(root.dtype.metadata) if root.dtype.metadata else ""
        if root.dtype.hasobject:  # the pointers stay put while the objects they hold change
            return ("objects", id(root), meta, _fingerprint(root.ravel().tolist(), depth + 1))
        return ("array", id(root), meta, digest(raw(root)) if _contiguous(root) else digest(root))
    if isinstance(value, dict):
        return (
            "dict",
            id(value),
            tuple((repr(k), _fingerprint(v, depth + 1)) for k, v in value.items()),
        )
    if isinstance(value, (list, tuple, set, frozenset, bytearray)):
        items = sorted(map(repr, value)) if isinstance(value, (set, frozenset)) else value
        held = tuple(_fingerprint(v, depth + 1) for v in items)
        mutable = not isinstance(value, (tuple, frozenset))  # only a mutable one's identity counts
        return (type(value).__name__, id(value) if mutable else 0, held)
    if isinstance(value, types.FunctionType):
        cells = tuple(c.cell_contents for c in value.__closure__ or () if _cell_full(c))
        held = (vars(value), value.__defaults__, value.__kwdefaults__, cells)
        return ("function", id(value), _fingerprint(held, depth + 1))
    if _is_dispatcher(value):
        # numba's own attributes keep their names, except the ones it adds lazily itself
        keys = tuple(sorted(set(vars(value)) - NUMBA_LAZY_ATTRIBUTES))
        return ("dispatcher", id(value), keys, _fingerprint(value.py_func, depth + 1))
    if isinstance(value, np.dtype):
        return ("dtype", id(value), repr(value), repr(value.metadata))
    return ("object", id(value))


def _contiguous(a: np.ndarray) -> bool:
    return a.flags.c_contiguous or a.flags.f_contiguous


def _cell_full(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018  an empty cell raises
    except ValueError:
        return False
    return True


def _is_dispatcher(value: Any) -> bool:
    t = type(value)
    return (
        t.__module__.startswith("numba.")
        and hasattr(value, "py_func")
        and hasattr(value, "overloads")
    )


def module_state(module: Any) -> dict[str, Any]:
    return {
        name: _fingerprint(v)
        for name, v in vars(module).items()
        if not (name.startswith("__") and name.endswith("__"))
        and not isinstance(v, types.ModuleType)
    }


def state_digests(module: Any) -> dict[str, str]:
    """module_state, one digest per name (what crosses to the oracle)."""
    return {
        name: hashlib.blake2b(repr(fp).encode(), digest_size=16).hexdigest()
        for name, fp in module_state(module).items()
    }


def library_state() -> dict[str, Any]:
    """numpy's process-wide settings: a kernel could keep a counter or a cache in them."""
    state = list(np.random.get_state())  # noqa: NPY002  the legacy global generator is watched
    return {
        "numpy print options": repr(sorted(np.get_printoptions().items())),
        "numpy error handling": repr(sorted(np.geterr().items())),
        "numpy buffer size": repr(np.getbufsize()),
        "numpy global random state": tree_digest(state),
    }


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    names = sorted(set(before) | set(after))
    return [n for n in names if before.get(n) != after.get(n)]


def module_allowed(
    name: str, allowed: Any, denied_numpy: Any = (), allowed_numba: Any = ("numba",)
) -> bool:
    """Whether kernels.py may reach module `name` (harness/static_check's rule too)."""
    top = name.split(".")[0]
    if top not in allowed:
        return False
    if top == "numpy":
        return not any(name == d or name.startswith(d + ".") for d in denied_numpy)
    if top == "numba":  # numba itself, and only the listed submodules
        return name == "numba" or any(
            name == m or name.startswith(m + ".") for m in allowed_numba if m != "numba"
        )
    return True


class StateRules:
    """What kernels.py's module may hold after import (the contract, docs/oracle.md):

    functions of kernels.py and numba dispatchers of them (their defaults, closure cells and
    attributes by the same rule), numpy arrays (not of objects, no dtype metadata, memory owned
    by numpy, numba or bytes), dtypes without metadata, scalars, strings, bytes, None, ranges
    and slices, tuples and frozensets of those, str-keyed dicts of those (configuration such as
    `JIT = {...}`), the allowed modules and objects imported from them, and numba's type
    objects. Anything else
    (an exception, an object with attributes, a list, a set) is state the fingerprint of
    `module_state` might not see, and fails closed.
    """

    def __init__(self, allowed: Any, denied_numpy: Any = (), allowed_numba: Any = ("numba",)):
        self.allowed, self.denied, self.numba = set(allowed), denied_numpy, allowed_numba
        self.home: str | None = None
        self.library: set[int] = set()
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType) and self.module_ok(name):
                for v in list(vars(module).values()):
                    if not isinstance(v, (dict, list, set, bytearray)):
                        self.library.add(id(v))

    def module_ok(self, name: str) -> bool:
        return module_allowed(name, self.allowed, self.denied, self.numba)

    def problems(self, module: Any) -> list[str]:
        self.home = getattr(module, "__name__", None)
        found: list[str] = []
        for name, value in vars(module).items():
            if name.startswith("__") and name.endswith("__"):
                continue
            self.check(name, value, found, 0)
        return found

    def check(self, path: str, v: Any, found: list[str], depth: int) -> None:
        if depth > 8:
            found.append(f"{path}: nested too deep")
            return
        t = type(v)
        if v is None or t in (bool, int, float, complex, str, bytes, range, slice):
            return
        if t is np.ndarray:
            why = self.array_problem(v)
            if why:
                found.append(f"{path}: {why}")
            return
        if isinstance(v, np.generic) and t.__module__ == "numpy" and not np.dtype(t).hasobject:
            return
        if t is np.dtype or isinstance(v, np.dtype):
            if self.dtype_problem(v):
                found.append(f"{path}: a dtype with metadata ({self.dtype_problem(v)})")
            return
        if t in (tuple, frozenset):
            for i, x in enumerate(v):
                self.check(f"{path}[{i}]", x, found, depth + 1)
            return
        if t is dict:
            for k, x in v.items():
                if type(k) is not str:
                    found.append(f"{path}: a dict keyed by {type(k).__name__} (only str-keyed "
                                 "configuration dicts are allowed)")  # fmt: skip
                    return
                self.check(f"{path}[{k!r}]", x, found, depth + 1)
            return
        if isinstance(v, types.ModuleType):
            if not self.module_ok(v.__name__):
                found.append(f"{path}: module {v.__name__!r}")
            return
        if t is types.FunctionType and id(v) not in self.library:
            if v.__module__ != self.home:  # another module's function, reached some other way
                found.append(f"{path}: function {v.__module__}.{v.__qualname__}"[:300])
                return
            for i, d in enumerate(v.__defaults__ or ()):
                self.check(f"{path} default {i}", d, found, depth + 1)
            for k, d in (v.__kwdefaults__ or {}).items():
                self.check(f"{path} default {k}", d, found, depth + 1)
            for cell, var in zip(v.__closure__ or (), v.__code__.co_freevars, strict=False):
                if _cell_full(cell):
                    self.check(f"{path} closure {var}", cell.cell_contents, found, depth + 1)
            for k, d in vars(v).items():
                self.check(f"{path}.{k}", d, found, depth + 1)
            return
        if _is_dispatcher(v):
            self.check(f"{path}.py_func", v.py_func, found, depth + 1)
            return
        if id(v) in self.library:  # imported from an allowed module: the library's own object
            return
        if t.__module__.startswith(("numba.core.types", "numba.core.typing")):
            for k, d in vars(v).items() if hasattr(v, "__dict__") else ():
                if k.startswith("_"):
                    continue
                self.check(f"{path}.{k}", d, found, depth + 1)
            return
        found.append(
            f"{path}: a {type_name(t)} (kernels.py may keep functions, numba dispatchers, "
            "arrays, dtypes, scalars, strings, tuples, str-keyed configuration dicts and modules "
            "at module level, nothing that can hold state out of the oracle's sight)"
        )

    def dtype_problem(self, dt: np.dtype) -> str | None:
        if dt.metadata is not None:
            return f"metadata {sorted(dt.metadata)[:5]!r}"
        if dt.fields:
            for sub in dt.fields.values():
                if why := self.dtype_problem(sub[0]):
                    return why
        if dt.subdtype is not None:
            return self.dtype_problem(dt.subdtype[0])
        return None

    def array_problem(self, a: np.ndarray) -> str | None:
        if a.dtype.hasobject:
            return "an array of Python objects (they can hold anything)"
        if why := self.dtype_problem(a.dtype):
            return f"an array whose dtype carries {why}"
        base = a
        while isinstance(base.base, np.ndarray):
            base = base.base
            if type(base) is not np.ndarray:
                return f"an array viewing a {type_name(type(base))}"
            if why := self.dtype_problem(base.dtype):
                return f"an array viewing one whose dtype carries {why}"
        owner = base.base
        if type(owner) is memoryview and type(owner.obj) is bytes:
            owner = owner.obj  # immutable bytes
        if owner is not None and not (
            type(owner) is bytes or type(owner).__module__.startswith("numba.")
        ):
            return f"an array over the memory of a {type_name(type(owner))}"
        return None


# ---------------------------------------------------------------------------
# The harness's own code in this process: fail closed on any change
# ---------------------------------------------------------------------------


class _Watched:
    """One module's bindings as taken, with a fast check (list comparisons, identity first) and
    a slow one that names what changed."""

    def __init__(self, name: str, module: types.ModuleType, strict: bool):
        self.name, self.module, self.strict = name, module, strict
        self.d = vars(module)
        self.take()

    def take(self) -> None:
        self.items = dict(self.d)
        self.keys, self.values = list(self.items), list(self.items.values())
        self.funcs = [v for v in self.values if isinstance(v, types.FunctionType)]
        self.classes = [
            v
            for v in self.values
            if isinstance(v, type) and v.__dict__.get("__module__") == self.name
        ]
        for cls in self.classes:
            self.funcs += [f for f in vars(cls).values() if isinstance(f, types.FunctionType)]
        self.codes = [f.__code__ for f in self.funcs]
        self.defaults = [(f.__defaults__, f.__kwdefaults__) for f in self.funcs]
        self.members = [list(vars(cls).items()) for cls in self.classes]

    def same(self) -> bool:
        try:
            return (
                sys.modules.get(self.name) is self.module
                and list(self.d.values()) == self.values
                and list(self.d) == self.keys
                and [f.__code__ for f in self.funcs] == self.codes
                and [(f.__defaults__, f.__kwdefaults__) for f in self.funcs] == self.defaults
                and [list(vars(c).items()) for c in self.classes] == self.members
            )
        except Exception:  # a value that does not compare (an array rebound): changed
            return False

    def changes(self) -> list[str]:
        if self.same():
            return []
        name, d, found = self.name, self.d, []
        if sys.modules.get(name) is not self.module:
            found.append(f"sys.modules[{name!r}]")
        accepted = True
        for k in d.keys() - self.items.keys():
            v = d[k]
            if isinstance(v, types.ModuleType) and v.__name__ == f"{name}.{k}":
                continue  # a submodule imported since: Python binds it on its package
            if self.strict or not isinstance(v, types.ModuleType):
                found.append(f"{name}.{k} (added)")
                accepted = False
        found += [f"{name}.{k} (removed)" for k in self.items.keys() - d.keys()]
        found += [f"{name}.{k}" for k, v in self.items.items() if k in d and d[k] is not v]
        for f, code, defaults in zip(self.funcs, self.codes, self.defaults, strict=True):
            if f.__code__ is not code or (f.__defaults__, f.__kwdefaults__) != defaults:
                found.append(f"{name}.{f.__qualname__} (code)")
        for cls, members in zip(self.classes, self.members, strict=True):
            now = vars(cls)
            if now.keys() != dict(members).keys() or any(now.get(m) is not v for m, v in members):
                found.append(f"{name}.{cls.__qualname__} (class members)")
        if not found and accepted:
            self.take()  # only submodules were bound since: the fast check holds again
        return found


class Integrity:
    """Which objects the harness modules (and the libraries this process reports through) bind,
    taken before kernels.py is imported; `changes()` names every binding that is different.

    Watched: every module of the harness loaded here (`autoresearch.*` but the kernel, the
    `benchmarks` package and suite), with the code and defaults of their functions and the
    members of their classes; `sys.modules` entries for them; and the namespaces of numpy,
    builtins and the standard modules this file uses. A new name in a harness module is a change
    too (state hidden in the harness); a new submodule binding is not (imports add those).
    """

    LIBRARIES = ("numpy", "builtins", "hashlib", "json", "pickle", "struct", "os", "types")

    def __init__(self, exclude: str = ""):
        self.harness = [
            _Watched(name, m, strict=True)
            for name, m in sorted(sys.modules.items())
            if isinstance(m, types.ModuleType)
            and name != exclude
            and (name.split(".")[0] in ("autoresearch", "benchmarks"))
        ]
        self.libraries = [
            _Watched(n, sys.modules[n], strict=False) for n in self.LIBRARIES if n in sys.modules
        ]
        self.sys_keys = {k: vars(sys)[k] for k in ("modules", "meta_path", "path_hooks")}

        self._take_all()

    def _take_all(self) -> None:
        """One flat view of every harness binding and function, for the per-call check."""
        self.dicts = [w.d for w in self.harness]
        self.flat = [v for w in self.harness for v in w.values]
        self.funcs = [f for w in self.harness for f in w.funcs]
        self.codes = [f.__code__ for f in self.funcs]
        self.defaults = [f.__defaults__ for f in self.funcs]
        self.sizes = [len(w.values) for w in self.harness]
        self.classes = [vars(c) for w in self.harness for c in w.classes]
        self.members = [v for c in self.classes for v in c.values()]
        self.class_sizes = [len(c) for c in self.classes]

    def _same_harness(self) -> bool:
        try:
            return (
                [len(d) for d in self.dicts] == self.sizes
                and [v for d in self.dicts for v in d.values()] == self.flat
                and [f.__code__ for f in self.funcs] == self.codes
                and [f.__defaults__ for f in self.funcs] == self.defaults
                and [len(c) for c in self.classes] == self.class_sizes
                and [v for c in self.classes for v in c.values()] == self.members
            )
        except Exception:  # a value that does not compare (an array rebound): changed
            return False

    def changes(self, full: bool = False) -> list[str]:
        """What changed; after a call (not `full`), a quick look at the harness's bindings and
        code first, and the whole comparison only when it differs."""
        found = []
        if full or not self._same_harness():
            for watched in self.harness:
                found += watched.changes()
            if not found:
                self._take_all()  # submodules bound since: accepted by the whole comparison
        if full:
            for watched in self.libraries:
                found += watched.changes()
            for k, v in self.sys_keys.items():
                if vars(sys).get(k) is not v:
                    found.append(f"sys.{k}")
        return found


# ---------------------------------------------------------------------------
# The executor: what the oracle asks of the kernel's side
# ---------------------------------------------------------------------------


class Executor:
    """Runs kernels.py's functions on arrays it is sent and reports what happened.

    Input buffers ("roots") come from the oracle as bytes, or, for the speed workload, from this
    process's own build of it (`inputs.workload`, checked against the oracle's by digest). Every
    root and every kept output stays alive until the run ends (kept outputs of the speed
    workload until the oracle releases them), so no address is handed out twice: an output
    overlapping one of them shares memory with it.
    """

    def __init__(
        self,
        kernels: Any,
        inputs: Any = None,
        rules: StateRules | None = None,
        integrity: Integrity | None = None,
    ):
        self.kernels = kernels
        self.inputs = inputs
        self.rules = rules
        self.integrity = integrity
        self.roots: dict[int, np.ndarray] = {}
        self.raws: dict[int, np.ndarray] = {}
        self.synced: dict[int, bytes] = {}  # each input buffer as the oracle last sent or saw it
        self.views: dict[int, np.ndarray] = {}
        self.view_roots: dict[int, int] = {}
        self.args: dict[int, tuple[Any, list[int]]] = {}
        self.kept: dict[int, tuple[Any, tuple]] = {}
        self.next_oid = 0
        self.pass_outputs: list | None = None  # the speed workload pass in progress
        self.pass_undo: list | None = None

    def handle(self, op: str, kw: dict) -> tuple[dict, list[bytes]]:
        method = getattr(self, f"op_{op}", None)
        if method is None:
            raise ValueError(f"unknown request {op!r}")
        return method(**kw)

    # -- after import, and at the end ----------------------------------------------------

    def op_hello(self) -> tuple[dict, list[bytes]]:
        module_arrays = []
        for name, v in vars(self.kernels).items():
            if isinstance(v, np.ndarray) and not name.startswith("__"):
                module_arrays.append([name, span(root_of(v))])
        reply = {
            "module": str(getattr(self.kernels, "__name__", "")),
            "names": [n for n, v in vars(self.kernels).items() if v is not None],
            "module_arrays": module_arrays,
            "state": state_digests(self.kernels),
            "library": {k: str(v) for k, v in library_state().items()},
            "illegal": self.rules.problems(self.kernels) if self.rules else [],
            "tampered": self.integrity.changes(full=True) if self.integrity else [],
            "threads": _numba_threads(),
        }
        return reply, []

    def op_state(self) -> tuple[dict, list[bytes]]:
        changed = [oid for oid, (out, held) in self.kept.items() if snapshot(out) != held]
        reply = {
            "state": state_digests(self.kernels),
            "library": {k: str(v) for k, v in library_state().items()},
            "tampered": self.integrity.changes(full=True) if self.integrity else [],
            "kept_changed": changed,
            "signatures": self.signatures(),
        }
        return reply, []

    def signatures(self) -> list[list[str]]:
        """Cached jitted functions with a signature that takes a jitted function (numba's cache
        cannot carry those across processes: oracle.cache_failures)."""
        try:
            from numba.core import types as nbtypes
        except ImportError:
            return []
        found = []
        for name, value in vars(self.kernels).items():
            if not _is_dispatcher(value):
                continue
            if type(getattr(value, "_cache", None)).__name__ == "NullCache":
                continue
            for sig in list(value.overloads):
                kinds = (nbtypes.Dispatcher, nbtypes.FunctionType)
                passed = [t for t in sig if isinstance(t, kinds)]
                if passed:
                    found.append([name, str(passed[0])])
                    break
        return found

    # -- calls --------------------------------------------------------------------------

    def op_call(
        self,
        func: str,
        aid: int,
        keep: bool = True,
        define: dict | None = None,
        writes: tuple = (),
        times: int = 1,
    ) -> tuple[dict, list]:
        """`func(*args)`, `times` times in a row (a repeat loop in one request; it stops early at
        a call that raised or wrote to an input). Outputs not kept are copied out and dropped
        before the next call, so the allocator may hand their memory back, as in a timing loop."""
        spans = self.define(aid, **define) if define is not None else {}
        for rid, data in writes:
            self.raws[rid][...] = np.frombuffer(data, dtype=np.uint8)
            self.synced[rid] = data
        args, rids = self.args[aid]
        fn = getattr(self.kernels, func)
        bufs: list = []
        calls = []
        for _ in range(max(1, times)):
            calls.append(self._one_call(fn, args, rids, keep, bufs))
            if calls[-1]["error"] is not None or calls[-1]["changed"]:
                break
        reply = {
            "spans": spans,
            "calls": calls,
            "tampered": self.integrity.changes() if self.integrity else [],
        }
        return reply, bufs

    def _one_call(self, fn: Any, args: Any, rids: list[int], keep: bool, bufs: list) -> dict:
        try:
            out, error = fn(*args), None
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: a failure
            out, error = None, f"{type(exc).__name__}: {exc}"
        changed = [rid for rid in rids if self.raws[rid].tobytes() != self.synced[rid]]
        reply: dict[str, Any] = {"error": error, "changed": changed, "structure": structure(args)}
        if error is None:
            reply["out"] = encode(out, bufs, copy=not keep)
            if keep:
                reply["oid"] = self.next_oid
                self.kept[self.next_oid] = (out, snapshot(out))
                self.next_oid += 1
        del out  # not kept: the next call may get its memory back, as in a timing loop
        return reply

    def define(self, aid: int, roots: list, views: list, spec: Any) -> dict[str, list[int]]:
        """New input buffers, arrays over them and the argument tuple `aid`.

        roots: [rid, array] (an input buffer, sent by the oracle).
        views: [vid, rid, byte offset or None (the root itself), shape, strides, dtype,
        writeable].
        spec: ["a", vid] | ["t"|"l", [...]] | ["d", [[key, ...]]] | ["v", value].
        """
        spans = self.add_roots(roots)
        for vid, rid, offset, shape, strides, dtype, writeable in views:
            if offset is None:  # the root itself: an array that owns its memory
                view = self.roots[rid]
            else:
                view = np.ndarray(
                    tuple(shape), np.dtype(dtype), self.raws[rid], offset, tuple(strides)
                )
            if not writeable:
                view.flags.writeable = False
            self.views[vid] = view
            self.view_roots[vid] = rid
        rids: list[int] = []
        self.args[aid] = (self._build_args(spec, rids), rids)
        return spans

    def _build_args(self, node: Any, rids: list[int]) -> Any:
        kind, value = node
        if kind == "a":
            if self.view_roots[value] not in rids:
                rids.append(self.view_roots[value])
            return self.views[value]
        if kind == "t":
            return tuple(self._build_args(x, rids) for x in value)
        if kind == "l":
            return [self._build_args(x, rids) for x in value]
        if kind == "d":
            return {k: self._build_args(x, rids) for k, x in value}
        return value

    def add_roots(self, roots: list) -> dict[str, list[int]]:
        spans = {}
        for rid, array in roots:
            self.roots[rid] = array
            self.raws[rid] = raw(array)
            self.synced[rid] = self.raws[rid].tobytes()
            spans[str(rid)] = span(array)
        return spans

    def op_fetch(self, rids: list[int]) -> tuple[dict, list[bytes]]:
        """The current bytes of roots that changed (the oracle mirrors them)."""
        bufs = []
        for rid in rids:
            data = self.raws[rid].tobytes()
            self.synced[rid] = data
            bufs.append(data)
        return {"rids": rids}, bufs

    def op_digests(self, oids: list[int]) -> tuple[dict, list[bytes]]:
        """Kept outputs changed since their call."""
        changed = [oid for oid in oids if snapshot(self.kept[oid][0]) != self.kept[oid][1]]
        return {"changed": changed}, []

    # -- the speed workload ---------------------------------------------------------------

    def op_batch(
        self, combo: list, calls: list, layout: list, changes: list | None
    ) -> tuple[dict, list[bytes]]:
        """Calls on this process's own build of the speed workload `combo`, in order, as
        `inputs.outputs` makes them: [name, spec] with spec as in define, plus ["w", i] (array i
        of the workload), ["wv", i, offset, shape, strides, dtype] (an array inside it) and
        ["o", k] (the k-th output of this pass) and ["b", array]. `layout` ([i, shape, strides,
        dtype]) says how the oracle's build holds the arrays it refers to; `changes` ([i, byte
        offset, bytes]) are applied before the first call of the pass and undone at its end."""
        arrays = workload_arrays(self.inputs.workload(*combo))
        for i, shape, strides, dtype in layout:
            a = arrays[i]
            if list(a.shape) != shape or list(a.strides) != strides or a.dtype.str != dtype:
                raise ValueError(f"workload array {i} is not the oracle's: {a.dtype}{a.shape}")
        if self.pass_outputs is None:
            self.pass_outputs, self.pass_undo = [], []
        for i, offset, data in changes or ():
            target = raw(arrays[i])[offset : offset + len(data)]
            self.pass_undo.append((target, target.tobytes()))
            target[...] = np.frombuffer(data, dtype=np.uint8)
        outs = self.pass_outputs
        start, error = len(outs), None
        for name, spec in calls:
            args = self._build_pass(spec, arrays, outs)
            try:
                outs.append(getattr(self.kernels, name)(*args))
            except BaseException as exc:  # SystemExit and KeyboardInterrupt included
                error = f"{type(exc).__name__}: {exc}"
                break
        bufs: list[bytes] = []
        reply = {
            "error": error,
            "outs": [encode(out, bufs) for out in outs[start:]],
            "workload": [[i, span(arrays[i])] for i, *_ in layout if arrays[i].size],
            "tampered": self.integrity.changes() if self.integrity else [],
        }
        return reply, bufs

    def _build_pass(self, node: Any, arrays: list, outs: list) -> Any:
        """A speed pass's argument from its spec (a method, not a closure: a recursive closure
        is a reference cycle, and one holding the pass's outputs kept them until a collection)."""
        kind = node[0]
        if kind == "w":
            return arrays[node[1]]
        if kind == "wv":
            _, i, offset, shape, strides, dtype = node
            view = raw(arrays[i])
            return np.ndarray(tuple(shape), np.dtype(dtype), view, offset, tuple(strides))
        if kind == "o":
            return outs[node[1]]
        if kind == "b":
            return node[1]
        if kind == "t":
            return tuple(self._build_pass(x, arrays, outs) for x in node[1])
        if kind == "l":
            return [self._build_pass(x, arrays, outs) for x in node[1]]
        if kind == "d":
            return {k: self._build_pass(x, arrays, outs) for k, x in node[1]}
        return node[1]

    def op_batch_end(self) -> tuple[dict, list[bytes]]:
        """The pass is over: its outputs are dropped, the changed elements changed back."""
        for target, old in reversed(self.pass_undo or []):
            target[...] = np.frombuffer(old, dtype=np.uint8)
        self.pass_outputs, self.pass_undo = None, None
        return {"tampered": self.integrity.changes(full=True) if self.integrity else []}, []

    def op_release(self, oids: list[int]) -> tuple[dict, list[bytes]]:
        """Kept outputs of earlier cases no longer kept (the oracle's memory budget)."""
        for oid in oids:
            self.kept.pop(oid, None)
        return {}, []

    def op_release_roots(self, rids: list[int]) -> tuple[dict, list[bytes]]:
        """Inputs no call will be given again (the case ended): free them."""
        gone = set(rids)
        for rid in gone:
            for table in (self.roots, self.raws, self.synced):
                table.pop(rid, None)
        for vid in [v for v, rid in self.view_roots.items() if rid in gone]:
            self.views.pop(vid, None)
            self.view_roots.pop(vid, None)
        for aid in [a for a, (_, used) in self.args.items() if gone.intersection(used)]:
            del self.args[aid]
        return {}, []


def _numba_threads() -> int | None:
    numba = sys.modules.get("numba")
    try:
        return int(numba.get_num_threads()) if numba else None
    except Exception:
        return None


# ---------------------------------------------------------------------------
# The process: framing on a pipe, configuration, import, serve
# ---------------------------------------------------------------------------


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 24))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def send_reply(fd: int, meta: dict, bufs: list) -> None:
    """A JSON header, then each buffer (bytes, or a flat uint8 array written in place)."""
    header = json.dumps({**meta, "nbufs": len(bufs)}, allow_nan=True).encode()
    _write_all(fd, struct.pack("<Q", len(header)) + header)
    for b in bufs:
        _write_all(fd, struct.pack("<Q", len(b)))
        if len(b):
            _write_all(fd, memoryview(b))


def read_request(fd: int) -> Any:
    head = _read_exact(fd, 8)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack("<Q", head)[0])
    return None if body is None else pickle.loads(body)  # from the oracle: trusted


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    target, path = argv[0], (argv[1] if len(argv) > 1 else None)
    # The protocol's pipes, moved off fd 0 and 1: output written to stdout goes to stderr.
    fd_in, fd_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for k, v in KERNEL_ENV.items():
        os.environ[k] = v
    for k in KERNEL_ENV_DROP:
        os.environ.pop(k, None)

    def reply(meta: dict, bufs: list[bytes] = ()) -> None:
        send_reply(fd_out, meta, list(bufs))

    # asv's order: the suite package (numba's cache key, thread settings), the target's suite,
    # then in setup() inputs, kernels, reference.
    from autoresearch import PACKAGE_DIR

    sys.path.insert(0, str(PACKAGE_DIR.parent))
    try:
        importlib.import_module("benchmarks")
        importlib.import_module(f"benchmarks.bench_{target}")
    except ImportError:
        pass  # no suite for this target: the environment above is the configuration
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    name = f"autoresearch.{target}.kernels"
    # The timing side's seal (autoresearch.integrity, installed by `benchmarks`) seals itself when
    # the first kernels module loads; take it now, so its own state is not read as the kernel's.
    from autoresearch import integrity as timing_seal

    timing_seal.seal(target)
    integrity = Integrity(exclude=name)
    reply({"ready": True})
    go = read_request(fd_in)
    if not go or go[0] != "go":
        return 0
    options = go[1]
    try:
        if path is not None:
            from autoresearch.oracle import load_module_from

            kernels = load_module_from(path, name)
        else:
            kernels = importlib.import_module(name)
        importlib.import_module(f"autoresearch.{target}.reference")
    except BaseException as exc:
        reply({"import_error": f"{type(exc).__name__}: {exc}"})
        return 0
    rules = StateRules(options["allowed"], options["denied_numpy"], options["allowed_numba"])
    executor = Executor(kernels, inputs, rules, integrity)
    reply({"imported": True})
    while True:
        request = read_request(fd_in)
        if request is None or request[0] == "exit":
            return 0
        op, kw = request
        try:
            meta, bufs = executor.handle(op, kw)
        except BaseException as exc:  # reported: the oracle decides
            meta, bufs = {"failed": f"{type(exc).__name__}: {exc}"[:2000]}, []
        reply(meta, bufs)
        del request, kw, meta, bufs  # nothing of a request outlives it (outputs not kept)


if __name__ == "__main__":
    # Run the imported module's main, not this copy's: `python -m` executes this file as
    # __main__, and the code that serves the oracle must be the copy Integrity watches.
    from autoresearch import kernel_process

    sys.exit(kernel_process.main())
