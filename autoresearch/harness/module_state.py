"""What kernels.py may hold after import, its fingerprint, and the one rule of reachable modules.

`module_state` digests every module-level value (deep enough to see a cache fill or a counter
move), `library_state` numpy's global state; `state_changes` names what differs. `StateRules` is
the kernel's process's check of module state after import (docs/oracle.md, `state`), and
`module_allowed` is the rule of which modules a kernel may reach, the static check's too.
Standard library, numpy and kernel_data only (imported in the kernel's process).
"""

from __future__ import annotations

import hashlib
import sys
import types
from typing import Any

import numpy as np

from autoresearch.harness.kernel_data import digest, raw, root_of, tree_digest, type_name

NUMBA_LAZY_ATTRIBUTES = {"_MemoMixin__uuid"}  # set by numba on a dispatcher passed as argument


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
