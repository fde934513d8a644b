"""The harness's own code in the kernel's process, watched: fail closed on any change.

`Integrity` takes, before kernels.py is imported, what every harness module of the process binds
(and the namespaces of numpy, builtins and the standard modules the replies go through) and names
every binding that differs later: the oracle reports those as `tampered`. The timing side's seal is
autoresearch/integrity.py. Standard library only (imported in the kernel's process).
"""

from __future__ import annotations

import sys
import types

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
    builtins and the standard modules the replies go through. A new name in a harness module is a
    change too (state hidden in the harness); a new submodule binding is not (imports add those).
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
