"""The harness checked against itself: a kernel may not change the code that judges it.

kernels.py runs in the same process as the code that times it (abtest.py) and the code that checks
its outputs there. Python puts no wall between them: a module the kernel can reach is a module it
can patch (rebind `abtest.paired_ratios`, swap `_timed.__code__`, replace numpy's `array_equal`,
install a trace function that edits the ratios as they are appended). So a process that runs a
kernel takes a snapshot of everything its verdict runs through *before the first kernel loads*, and
compares against it after the kernel's import and after timing: any difference fails the run, by
name (abtest raises HarnessChangedError; asv records the benchmark as failed; the experiment calls
that the candidate's crash).

`seal(target)` takes the snapshot. In asv's benchmark processes nobody has to remember to call it:
importing abtest (benchmarks/__init__.py does, before any suite is defined) installs an import hook
that seals the process the moment `autoresearch.<target>.kernels` is first imported, before the
file's code runs (the suites import the kernel in `setup`). In the decision's processes setup loads
no kernel (abtest.ENV_PAIRED_ONLY) and the pairing loads its instances without the import system
(numba_cache.import_kernels), so there `abtest.paired_samples` seals explicitly first, as the quick
look and the parent's confirmation processes (confirm.py) do before loading a kernel.

What the snapshot holds:
- every module of the harness loaded at that moment (autoresearch and its submodules, the target's
  inputs and reference, which sealing imports first, benchmarks and its suites, but never a
  kernels module): every name each binds, and the attributes of every class they define;
- the modules the verdict runs through: builtins, numpy's and numba's namespaces and numba's
  dispatcher, time, gc, math, json (asv writes the result with it), os, pathlib, importlib's
  loaders (the baseline kernel is loaded after the candidate), asv_runner;
- for every Python function among those names and class attributes: its code object, defaults
  and closure (swapping `f.__code__` keeps the name bound to the same object);
- process-wide hooks a kernel could run code from in the middle of timing: trace and profile
  functions, signal handlers and interval timers, gc callbacks, import hooks, exception hooks, the
  standard streams, the number of threads.
Names added after the seal are ignored (numpy binds submodules lazily); names changed or removed
are not. ALLOWED_REBINDS lists the few globals the harness itself rebinds.

What it cannot see: writes through raw memory (ctypes), audit hooks, objects the harness does not
hold, and anything done after the last check (a finalizer that edits asv's result file). That is
why the parent confirms the paired ratio with CPU times it reads from the OS for processes of its
own (confirm.py): this snapshot turns the simple routes into an immediate, named failure, and the
confirmation bounds what any route can gain.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import sys
import threading
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify)
# ---------------------------------------------------------------------------

# Modules the verdict runs through besides the harness's own (those present when sealing; the
# submodules of asv_runner too). numba is imported by sealing itself: a kernel imports it anyway,
# and a kernel that imported it first could patch `njit` before the baseline kernel is compiled.
LIBRARY_MODULES = (
    "builtins", "time", "gc", "math", "json", "json.encoder", "copy", "hashlib", "os",
    "posixpath", "pathlib", "functools", "itertools", "dataclasses", "marshal", "importlib",
    "importlib.util", "importlib._bootstrap", "importlib._bootstrap_external", "signal",
    "threading", "numpy", "numba", "numba.core.dispatcher", "numba.core.decorators",
    "numba.core.registry", "numba.core.serialize", "numba.core.event", "asv_runner",
)  # fmt: skip
# The harness: modules whose name is one of these or starts with it and a dot (kernels excluded).
HARNESS_PACKAGES = ("autoresearch", "benchmarks")
# Globals the harness rebinds itself after the seal: the salt of the build in progress (restored
# when it ends) and the quick look's pairing time (how long pairs are taken, not what they are).
ALLOWED_REBINDS = {
    "autoresearch.common": {"_context_salt", "_context_cache", "_build_salt"},
    "autoresearch.abtest": {"AB_SECONDS"},
    "autoresearch.integrity": {"_sealing"},
}

_MISSING = object()  # a name or cell that is not there (never bound to anything watched)


def is_kernel_module(name: str) -> bool:
    """A module holding kernels (the candidate, a baseline copy, a red-team file): never trusted."""
    parts = name.split(".")
    return parts[-1] == "kernels" or name.startswith("autoresearch_baseline_")


def is_harness_module(name: str) -> bool:
    if is_kernel_module(name):
        return False
    return any(name == p or name.startswith(p + ".") for p in HARNESS_PACKAGES)


# ---------------------------------------------------------------------------
# The snapshot
# ---------------------------------------------------------------------------


def _functions_of(value: Any) -> list[tuple[str, types.FunctionType]]:
    """The Python functions a bound value runs: itself, a wrapped function, a dispatcher's."""
    out = []
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        accessors = [(f"<{n}>", getattr(value, n)) for n in ("fget", "fset", "fdel")]
        return [(n, f) for n, f in accessors if isinstance(f, types.FunctionType)]
    if isinstance(value, types.FunctionType):
        out.append(("", value))
    wrapped = getattr(value, "__wrapped__", None) if callable(value) else None
    if isinstance(wrapped, types.FunctionType) and wrapped is not value:
        out.append(("<wrapped>", wrapped))
    py_func = getattr(value, "py_func", None) if hasattr(value, "overloads") else None
    if isinstance(py_func, types.FunctionType):
        out.append(("<py_func>", py_func))
    return out


def _closure(f: types.FunctionType) -> tuple:
    cells = []
    for cell in f.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # an empty cell
            cells.append(_MISSING)
    return tuple(cells)


@dataclass
class _Function:
    where: str
    func: types.FunctionType
    code: types.CodeType
    defaults: Any
    kwdefaults: Any
    closure: tuple

    @classmethod
    def of(cls, where: str, f: types.FunctionType) -> _Function:
        return cls(where, f, f.__code__, f.__defaults__, f.__kwdefaults__, _closure(f))

    def changes(self) -> list[str]:
        f, out = self.func, []
        if f.__code__ is not self.code:
            out.append(f"the code of {self.where} was replaced")
        if f.__defaults__ is not self.defaults or f.__kwdefaults__ is not self.kwdefaults:
            out.append(f"the default arguments of {self.where} were replaced")
        now = _closure(f)
        if len(now) != len(self.closure) or any(
            a is not b for a, b in zip(now, self.closure, strict=True)
        ):
            out.append(f"the closure of {self.where} changed")
        return out


def _hooks() -> dict[str, Any]:
    """Process-wide places a kernel could run code from while the harness is timing or judging."""
    hooks: dict[str, Any] = {
        "sys.gettrace()": sys.gettrace(),
        "sys.getprofile()": sys.getprofile(),
        "threading.gettrace()": threading.gettrace(),
        "threading.getprofile()": threading.getprofile(),
        "sys.excepthook": sys.excepthook,
        "sys.unraisablehook": sys.unraisablehook,
        "sys.displayhook": sys.displayhook,
        "sys.breakpointhook": sys.breakpointhook,
        "sys.stdin": sys.stdin,
        "sys.stdout": sys.stdout,
        "sys.stderr": sys.stderr,
        "sys.meta_path": tuple(sys.meta_path),
        "sys.path_hooks": tuple(sys.path_hooks),
        "gc.callbacks": tuple(gc.callbacks),
        "gc.isenabled()": gc.isenabled(),
        "threads": _thread_count(),
    }
    for which in ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"):
        if hasattr(signal, which):
            hooks[f"signal.{which} armed"] = signal.getitimer(getattr(signal, which)) != (0.0, 0.0)
    for sig in signal.valid_signals():
        try:
            hooks[f"handler of {signal.Signals(sig).name}"] = signal.getsignal(sig)
        except (ValueError, OSError):
            continue
    return hooks


def _thread_count() -> int:
    try:  # the OS's count: threads started outside Python's threading module too
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


@dataclass
class Snapshot:
    """What a kernel must not change, taken before it loads; `changes()` says what it changed."""

    modules: dict[str, types.ModuleType] = field(default_factory=dict)
    names: dict[str, dict[str, Any]] = field(default_factory=dict)  # module -> name -> value
    classes: list[tuple[str, type, dict[str, Any]]] = field(default_factory=list)
    functions: list[_Function] = field(default_factory=list)
    hooks: dict[str, Any] = field(default_factory=dict)
    late: list[str] = field(default_factory=list)  # kernel modules already loaded when taken
    _seen: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def take(cls, modules: Iterable[types.ModuleType] = ()) -> Snapshot:
        snap = cls()
        snap.late = sorted(n for n in list(sys.modules) if is_kernel_module(n))
        for name in LIBRARY_MODULES:
            if name in sys.modules:
                snap.add(sys.modules[name])
        for name, module in list(sys.modules.items()):
            if module is not None and (is_harness_module(name) or name.startswith("asv_runner.")):
                snap.add(module)
        for module in modules:
            snap.add(module)
        snap.hooks = _hooks()
        return snap

    @classmethod
    def of(cls, *modules: types.ModuleType) -> Snapshot:
        """Just these modules (no libraries, no hooks): a baseline kernel once it is loaded."""
        snap = cls()
        for module in modules:
            snap.add(module)
        return snap

    def add(self, module: types.ModuleType) -> None:
        """Watch one more module (e.g. the baseline kernel, right after it is loaded)."""
        name = module.__name__
        if name in self.modules:
            return
        self.modules[name] = module
        namespace = dict(vars(module))
        self.names[name] = namespace
        for key, value in namespace.items():
            self._watch_value(f"{name}.{key}", value)
            if isinstance(value, type) and id(value) not in self._seen:
                self._seen.add(id(value))
                attrs = dict(vars(value))
                self.classes.append((f"{name}.{key}", value, attrs))
                for attr, member in attrs.items():
                    self._watch_value(f"{name}.{key}.{attr}", member)

    def _watch_value(self, where: str, value: Any) -> None:
        try:
            found = _functions_of(value)
        except Exception:  # an object whose attribute lookups raise: nothing to watch
            return
        for suffix, f in found:
            if id(f) not in self._seen:
                self._seen.add(id(f))
                self.functions.append(_Function.of(where + suffix, f))

    def changes(self) -> list[str]:
        """Every difference from the snapshot, one line each (empty: untouched)."""
        gone = object()  # local: no module name can hold it
        out = []
        for name, module in self.modules.items():
            if sys.modules.get(name, gone) is not module:
                out.append(f"sys.modules[{name!r}] was replaced or removed")
            allowed = ALLOWED_REBINDS.get(name, set())
            now = vars(module)
            for key, value in self.names[name].items():
                if key in allowed:
                    continue
                current = now.get(key, gone)
                if current is gone:
                    out.append(f"{name}.{key} was deleted")
                elif current is not value and not _same_constant(current, value):
                    out.append(f"{name}.{key} was rebound")
        for where, cls, attrs in self.classes:
            now = vars(cls)
            for attr, value in attrs.items():
                current = now.get(attr, gone)
                if current is gone:
                    out.append(f"{where}.{attr} was deleted")
                elif current is not value and not _same_constant(current, value):
                    out.append(f"{where}.{attr} was rebound")
            for attr in now.keys() - attrs.keys():
                if not (attr.startswith("__") and attr.endswith("__")) and attr != "_abc_impl":
                    out.append(f"{where}.{attr} was added (a class attribute overrides lookups)")
        for f in self.functions:
            out += f.changes()
        now_hooks = _hooks()
        for key, value in self.hooks.items():
            current = now_hooks.get(key, gone)
            if key == "threads":
                if current > value:
                    out.append(f"threads: {value} when sealed, {current} now")
            elif key in ("sys.meta_path", "sys.path_hooks", "gc.callbacks"):
                if len(current) != len(value) or any(
                    a is not b for a, b in zip(current, value, strict=True)
                ):
                    out.append(f"{key} changed")
            elif current is not value and current != value:
                out.append(f"{key} changed")
        return out


def _same_constant(a: Any, b: Any) -> bool:
    # Small ints and strings rebound to an equal value (a constant re-assigned) change nothing.
    return type(a) is type(b) and isinstance(a, (int, float, str, bytes, bool)) and a == b


# ---------------------------------------------------------------------------
# The process's seal
# ---------------------------------------------------------------------------

_sealed: Snapshot | None = None
_sealing = False


def seal(target: str | None = None, *, fresh: bool = False) -> Snapshot:
    """Snapshot this process's harness (once; `fresh` takes a new one, for tests).

    Imports numpy and numba first, and `target`'s inputs and reference, so that they are covered:
    call it before any kernels module of the process is imported.
    """
    global _sealed, _sealing
    if _sealed is not None and not fresh:
        return _sealed
    _sealing = True
    try:
        for name in ("numpy", "numba", "numba.core.dispatcher", "numba.core.registry", "json"):
            importlib.import_module(name)
        if target:
            for part in ("inputs", "reference"):
                try:
                    importlib.import_module(f"autoresearch.{target}.{part}")
                except ImportError:
                    pass
        _sealed = Snapshot.take()
        # The seal watches itself too: rebinding it (to a snapshot that finds nothing) is a change.
        _sealed.names.get(__name__, {})["_sealed"] = _sealed
    finally:
        _sealing = False
    return _sealed


def sealed() -> Snapshot | None:
    return _sealed


class _SealBeforeKernels:
    """A meta-path finder that finds nothing: it seals the process when the first kernels module
    is about to be imported (its code has not run yet), then steps out of the import path."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if _sealing or _sealed is not None or not fullname.startswith("autoresearch."):
            return None
        parts = fullname.split(".")
        if len(parts) == 3 and parts[2] == "kernels":
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)
            seal(parts[1])
        return None


def install_trigger() -> None:
    """Seal this process just before its first kernels import (idempotent)."""
    if _sealed is None and not any(isinstance(f, _SealBeforeKernels) for f in sys.meta_path):
        sys.meta_path.insert(0, _SealBeforeKernels())
