"""The oracle: correctness checks shared by every target, run before (and after) any timing.

A kernel that is wrong never counts as fast. Each target's inputs.py lists its cases (`Case`); this
module runs them against the target's reference.py and judges the kernel:

- wrong        outputs outside tolerance (floats) or not bit-identical (everything else)
- contract     output type, dtype, shape or memory layout differs from the reference's
- mutated      the kernel wrote to one of its inputs (or to the buffer around it)
- aliased      an output shares memory with an input, with any earlier output of the run or with
               kernels.py's own arrays, or changed after its call returned
- stale        an answer for old data: a second call with new data of the same shape (fresh arrays,
               the same arrays changed in place, or one element changed) returns the earlier
               answer, or kernels.py's module state changed while it ran: caching across calls
- repeat       wrong after the same inputs were passed again and again (a timing-loop detector)
- raised       the kernel raised (anything, SystemExit included), or its process died
- static       kernels.py imports or touches something its program.md does not allow
- state        kernels.py holds, after import, a module-level object outside the contract's types
- tampered     the harness's (or numpy's) code in the kernel's process changed after its import

The trust boundary: this process never imports kernels.py. The kernel runs in a process of its own
(autoresearch/kernel_process.py, configured as asv's benchmark process is), which is sent the
inputs and sends back its outputs as data; references, comparisons and the verdict are computed
here, where nothing the kernel does can reach them (docs/oracle.md, "The trust boundary").

Seeds: the fixed cases run on FIXED_SEEDS and on fresh random seeds drawn for every run, so a kernel
tuned to the fixed seeds fails. Held-out cases (never in program.md or the speed workload) run too,
the target's own and the harness's numeric ones (autoresearch/heldout.py). Inputs are presented the
way the speed workload presents them (sometimes owned arrays, sometimes views into a larger buffer
at a random offset), so array flags cannot tell the oracle apart. The reference runs after the
kernel returns, in this process. The speed workload itself is checked too, as is and with one
element of each array changed in place. docs/oracle.md has the full list.

Command: `python -m autoresearch.oracle TARGET [--kernels FILE]`; exit 0 pass, 2 fail, 1 bad usage.
Only a completed report with `correctness: pass` exits 0: a kernel that raises SystemExit, fails to
import or ends its process is a failure.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import contextlib
import copy
import dataclasses
import hashlib
import importlib
import importlib.util
import itertools
import json
import math
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autoresearch import PACKAGE_DIR, TARGETS
from autoresearch.common import MAX_ABS_ERR, SplitMix64
from autoresearch.kernel_process import (  # noqa: F401  (module_state & co. are this API too)
    _fingerprint,
    library_state,
    module_allowed,
    module_state,
    state_changes,
    workload_arrays,
)

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify)
# ---------------------------------------------------------------------------

FIXED_SEEDS = (20260001, 20260002)  # always run: reproducible failures
FRESH_SEEDS = 2  # plus this many drawn from os.urandom on every run: no tuning to fixed seeds
REPEAT_CALLS = 5  # same inputs again and again, as a timing loop does, then re-check
MAX_FAILED_CASES = 3  # the verdict is in after this many failing cases: stop (quick rejections)
SEEN_ANSWERS = 32  # right answers remembered per function, to name a wrong answer "stale"
DISGUISE_JITTER = 1e-5  # relative jitter of a disguised workload's floats (~80 float32 ulps)
DEFAULT_ALLOWED_IMPORTS = ("numpy", "numba", "math")
MAX_REPORTED = 5  # mismatching elements shown per failure
# Outputs stay alive in the kernel's process so that memory reused across calls shows (no address
# is handed out twice): all of them while they total at most this (each with a copy of its bytes,
# to tell whether it changed later), then all of the current case and of the latest earlier cases
# that fit.
KEEP_OUTPUT_BYTES = 128 << 20
KINDS = (
    "wrong", "contract", "mutated", "aliased", "stale", "repeat", "raised", "static", "state",
    "tampered",
)  # fmt: skip

# Inputs are sometimes re-homed into a larger buffer: this many canary bytes on each side catch
# writes past an input's bounds, and a random offset (a multiple of the item size below 64 bytes)
# makes alignment as uninformative as ownership.
CANARY_BYTES = 64

# A kernels.py larger than this, or one literal bigger than these, is embedding data (answers).
MAX_SOURCE_BYTES = 200_000
MAX_LITERAL_ELEMENTS = 4096
MAX_LITERAL_CHARS = 10_000

# Builtins a kernel never needs and a cheating one does: files, code from strings, introspection,
# the interpreter's exit, output that could spoof this report, object identity (caches by id).
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr",
    "delattr", "getattr", "breakpoint", "input", "memoryview", "__builtins__", "__loader__",
    "__spec__", "__file__", "print", "id", "exit", "quit", "help", "license", "credits",
    "copyright", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException",
}  # fmt: skip
# Attributes that reach files, the numba/numpy runtime, threads, addresses or the clock, whatever
# object they are looked up on (the resolver below also follows chains from imported modules).
FORBIDDEN_ATTRS = {
    "objmode", "load", "loadtxt", "fromfile", "memmap", "save", "savez", "savetxt", "tofile",
    "ctypeslib", "ctypes", "frombuffer", "get_include", "set_num_threads", "config",
    "genfromtxt", "fromregex", "savez_compressed", "open_memmap", "NpzFile", "DataSource", "dump",
    "dumps", "byte_bounds", "setflags", "set_parallel_chunksize", "gdb", "gdb_init",
    "gdb_breakpoint", "carray", "farray", "cfunc", "jit_module", "extending", "experimental",
    "cloudpickle", "llvmlite", "ffi", "show_config", "show_runtime", "perf_counter",
    "perf_counter_ns", "process_time", "monotonic", "time_ns", "with_traceback",
    # modules that numpy and numba expose as plain attributes (numba.sys, numba.config.os, ...)
    "os", "sys", "io", "time", "subprocess", "threading", "multiprocessing", "importlib",
    "builtins", "socket", "shutil", "pathlib", "tempfile", "gc", "inspect", "pickle", "marshal",
    "signal", "mmap", "platform", "weakref", "codecs", "fileinput", "urllib", "http", "asyncio",
    "concurrent", "traceback", "resource", "atexit", "runpy",
    # process-wide state of numpy and numba a kernel could keep a counter or a cache in
    "set_printoptions", "seterr", "seterrcall", "setbufsize", "set_display", "seed", "set_state",
    "targetctx", "typingctx", "overloads", "targetoptions", "locals",
    # C functions called by symbol from jitted code: all of libc (getenv reads the speed salt,
    # fopen the workload files, clock_gettime the clock, system anything)
    "ExternalFunction", "ExternalFunctionPointer", "WrapperAddressProtocol",
}  # fmt: skip
# Frames and code objects: a kernel walking up to the oracle's frame could read its answers.
FRAME_ATTR = re.compile(r"^(f|tb|gi|cr|ag|co|func)_\w+$")
# Strings a kernel has no reason to contain: harness module names, workload files, environment.
FORBIDDEN_SUBSTRINGS = ("autoresearch", ".npz", ".npy", "TMPDIR", "perf_counter")
FORBIDDEN_STRINGS = {"now", "today"}  # np.datetime64("now") is a clock
# Methods that change a container in place: called on state outside the function, they keep state.
MUTATORS = {
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
    "add", "discard", "sort", "reverse", "fill", "put", "itemset", "resize", "setfield", "send",
    "throw", "close", "write", "writelines", "copyto",
}  # fmt: skip
# Module-level values that are stateful containers or iterators.
STATEFUL_CALLS = {
    "dict",
    "list",
    "set",
    "bytearray",
    "iter",
    "map",
    "filter",
    "zip",
    "enumerate",
    "reversed",
    "defaultdict",
    "deque",
    "OrderedDict",
    "Counter",
}

# Submodules of the default allowed packages a kernel may reach (everything else under numba, and
# these under numpy, read files, run threads or subprocesses, or expose os/sys).
DENIED_NUMPY_MODULES = (
    "numpy.testing", "numpy.f2py", "numpy.ctypeslib", "numpy.distutils", "numpy.lib.npyio",
    "numpy.lib._npyio_impl", "numpy.lib.format", "numpy.lib._format_impl",
    "numpy.lib._datasource", "numpy.core", "numpy._core", "numpy._pytesttester",
)  # fmt: skip
ALLOWED_NUMBA_MODULES = ("numba", "numba.types", "numba.core.types", "numba.typed")
# Objects denied wherever they are reached from (resolved once; missing names are skipped).
DENIED_OBJECTS = (
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.fromregex",
    "numpy.memmap", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt",
    "numpy.rec.fromfile", "numpy.ndarray.tofile", "numpy.ndarray.dump", "numpy.ndarray.dumps",
    "numpy.ndarray.setflags", "numpy.lib.array_utils.byte_bounds", "numpy.show_config",
    "numpy.show_runtime", "numpy.get_include", "numba.objmode", "numba.gdb", "numba.gdb_init",
    "numba.gdb_breakpoint", "numba.set_num_threads", "numba.set_parallel_chunksize", "numba.test",
    "numba.carray", "numba.farray", "numba.cfunc", "numba.jit_module",
    "numba.types.ExternalFunction", "numba.types.ExternalFunctionPointer",
    "numba.types.WrapperAddressProtocol",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One call to check: `func` is named alike in reference.py and kernels.py.

    `make(rng)` builds fresh arguments; any seed must give arrays of the same shapes and dtypes
    (the cross-call checks rely on it). `compare(args, actual, expected)` returns a list of
    problems; the default compares by dtype (floats within tolerance, the rest exactly), scaling
    float tolerance by |expected| unless `scale(args, expected)` gives the magnitude of the terms.
    `partial_change`: the stale check may copy one element of an input array from its neighbour
    and expect the reference's new answer; set False when that can make an input invalid (sorted,
    unique or self-describing arrays). The whole-array in-place change runs either way.
    """

    label: str
    func: str
    make: Callable[[SplitMix64], tuple]
    compare: Callable[[tuple, Any, Any], list[str]] | None = None
    scale: Callable[[tuple, Any], Any] | None = None
    held_out: bool = False
    partial_change: bool = True


@dataclass
class Failure:
    label: str
    kind: str
    detail: str

    def __str__(self) -> str:
        # One line each: a kernel's exception text must not forge report lines.
        return " ".join(f"{self.kind}: {self.label}: {self.detail}".split())


@dataclass
class Report:
    target: str
    cases: int = 0
    calls: int = 0
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.cases > 0


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


def _arrays(obj: Any) -> list[np.ndarray]:
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [a for item in obj for a in _arrays(item)]
    if isinstance(obj, dict):
        return [a for item in obj.values() for a in _arrays(item)]
    return []


def _array_contract(actual: Any, expected: np.ndarray) -> str | None:
    if type(actual) is not np.ndarray:  # exact: subclasses and lazy objects can defer the work
        kind = type(actual)
        return f"contract: expected numpy.ndarray, got {kind.__module__}.{kind.__qualname__}"
    if actual.dtype != expected.dtype:
        return f"contract: dtype {actual.dtype}, expected {expected.dtype}"
    if actual.shape != expected.shape:
        return f"contract: shape {actual.shape}, expected {expected.shape}"
    if expected.flags.c_contiguous and not actual.flags.c_contiguous:
        return f"contract: not C-contiguous (strides {actual.strides}), as the reference's is"
    if expected.flags.writeable and not actual.flags.writeable:
        return "contract: read-only, the reference's output is writeable"
    return None


def _is_float(x: Any) -> bool:
    return isinstance(x, (float, np.floating, complex, np.complexfloating))


def compare_outputs(actual: Any, expected: Any, scale: Any = None) -> list[str]:
    """Problems with `actual` against `expected`: contract first, then values."""
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return [
                f"contract: expected a {type(expected).__name__} of {len(expected)}, "
                f"got {type(actual).__name__}"
            ]
        problems = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            s = scale[i] if isinstance(scale, (tuple, list)) else None
            problems += [f"[{i}] {p}" for p in compare_outputs(a, e, s)]
        return problems
    if isinstance(expected, dict):
        if type(actual) is not type(expected) or actual.keys() != expected.keys():
            return [f"contract: expected a dict with keys {sorted(expected)}"]
        problems = []
        for k in expected:
            s = scale.get(k) if isinstance(scale, dict) else None
            problems += [f"[{k!r}] {p}" for p in compare_outputs(actual[k], expected[k], s)]
        return problems
    if isinstance(expected, np.ndarray):
        broken = _array_contract(actual, expected)
        if broken:
            return [broken]
        bad = mismatches(actual, expected, scale)
        if bad.size == 0:
            return []
        shown = ", ".join(
            f"at {tuple(int(i) for i in idx)}: {actual[tuple(idx)]!r} != {expected[tuple(idx)]!r}"
            for idx in bad[:MAX_REPORTED]
        )
        return [f"wrong: {len(bad)} of {expected.size} elements differ ({shown})"]
    if type(actual) is not type(expected):
        return [f"contract: expected {type(expected).__name__}, got {type(actual).__name__}"]
    if _is_float(expected):
        if mismatches(np.asarray(actual), np.asarray(expected), scale).size:
            return [f"wrong: {actual!r} != {expected!r}"]
        return []
    if not bool(actual == expected):
        return [f"wrong: {actual!r} != {expected!r}"]
    return []


def as_bits(x: Any) -> Any:
    """Float arrays viewed as unsigned words of their size (tuples element-wise); others as-is."""
    if isinstance(x, tuple):
        return tuple(as_bits(v) for v in x)
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x.view(np.dtype(f"u{x.dtype.itemsize}"))
    return x


def contract_problems(actual: Any, expected: Any) -> list[str]:
    """Type, dtype and shape problems (the oracle's `contract` kind), values not compared."""
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple) or len(actual) != len(expected):
            return [f"contract: expected a tuple of {len(expected)}, got {type(actual).__name__}"]
        return [
            f"[{i}] {p}"
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for p in contract_problems(a, e)
        ]
    if type(actual) is not np.ndarray:
        return [f"contract: expected numpy.ndarray, got {type(actual).__name__}"]
    if actual.dtype != expected.dtype:
        return [f"contract: dtype {actual.dtype}, expected {expected.dtype}"]
    if actual.shape != expected.shape:
        return [f"contract: shape {actual.shape}, expected {expected.shape}"]
    return []


def compare_bits(args: tuple, actual: Any, expected: Any) -> list[str]:
    """Contract first (type, dtype, shape), then every bit: decoders and gathers never round."""
    return contract_problems(actual, expected) or compare_outputs(
        as_bits(actual), as_bits(expected)
    )


def mismatches(actual: np.ndarray, expected: np.ndarray, scale: Any = None) -> np.ndarray:
    """Indices (one row each) where actual and expected disagree under the tolerance rule.

    Floats: |actual - expected| <= MAX_ABS_ERR * max(1, |scale or expected|); NaN matches only NaN,
    an infinity only the same infinity. Everything else must be equal.
    """
    if expected.dtype.kind in "fc":
        mag = np.abs(expected if scale is None else np.asarray(scale, dtype=np.float64))
        tol = MAX_ABS_ERR * np.maximum(1.0, mag)
        wide = np.complex128 if expected.dtype.kind == "c" else np.float64
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(actual.astype(wide) - expected.astype(wide))
            # Within tolerance only between finite values: an infinite tolerance (from an
            # infinite expected value or scale) would otherwise let any value through.
            ok = (diff <= tol) & np.isfinite(expected) & np.isfinite(actual) & np.isfinite(tol)
        same_special = (np.isnan(actual) & np.isnan(expected)) | (
            np.isinf(expected) & (actual == expected)
        )
        bad = ~(ok | same_special)
    else:
        bad = actual != expected
    return np.argwhere(bad)


def count_mismatches(actual: Any, expected: Any, scale: Any = None) -> int:
    """Mismatching elements, with a contract violation counting as every element wrong."""
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return max(1, sum(e.size for e in _arrays(expected)))
        return sum(
            count_mismatches(a, e, scale[i] if isinstance(scale, (tuple, list)) else None)
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        if type(actual) is not type(expected) or actual.keys() != expected.keys():
            return max(1, sum(e.size for e in _arrays(expected)))
        return sum(count_mismatches(actual[k], expected[k]) for k in expected)
    if isinstance(expected, np.ndarray):
        if _array_contract(actual, expected):
            return max(1, expected.size)
        return len(mismatches(actual, expected, scale))
    return len(compare_outputs(actual, expected, scale))


# ---------------------------------------------------------------------------
# Dynamic checks: presenting inputs, guarding them, judging outputs
# ---------------------------------------------------------------------------


def _snapshot(args: Any) -> Any:
    return copy.deepcopy(args)


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory (the whole buffer a view lives in)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(a.tobytes(), digest_size=16).digest()


def _leaves(obj: Any) -> list:
    if isinstance(obj, (tuple, list)):
        return [x for item in obj for x in _leaves(item)]
    if isinstance(obj, dict):
        return [x for item in obj.values() for x in _leaves(item)]
    return [obj]


def _rehome(a: np.ndarray, rng: SplitMix64) -> np.ndarray:
    """A copy of `a` living in a larger buffer between random canary bytes, at a random offset."""
    itemsize = max(1, a.dtype.itemsize)
    offset = CANARY_BYTES + itemsize * int(rng.integers(1, max(1, 64 // itemsize))[0])
    total = offset + a.nbytes + CANARY_BYTES
    buf = rng.u64((total + 7) // 8).view(np.uint8)[:total]
    out = buf[offset : offset + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _present(args: Any, rng: SplitMix64, keep: list[np.ndarray] | None = None) -> Any:
    """Inputs as the speed workload might hold them: owned arrays or views into a bigger buffer.

    Only C-contiguous numeric arrays move (non-contiguous views keep their own base), and only
    those sharing memory with no other input (a case passing one buffer twice means it). The
    choice is random per array, so neither ownership nor alignment tells the oracle apart.
    """
    if keep is None:
        arrays = _arrays(args)
        keep = [
            a
            for i, a in enumerate(arrays)
            if any(j != i and np.shares_memory(a, b) for j, b in enumerate(arrays))
        ]
    if isinstance(args, tuple):
        return tuple(_present(x, rng, keep) for x in args)
    if isinstance(args, list):
        return [_present(x, rng, keep) for x in args]
    if (
        type(args) is np.ndarray
        and args.flags.c_contiguous
        and args.dtype.kind in "biufc"
        and not any(args is k for k in keep)
        and rng.u64(1)[0] & np.uint64(1)
    ):
        return _rehome(args, rng)
    return args


class _Guard:
    """Digests of every input array and of the buffer it lives in, taken before a call."""

    def __init__(self, args: Any):
        self.items = [(a, _digest(a), _root(a), _digest(_root(a))) for a in _arrays(args)]
        self.others = _snapshot([x for x in _leaves(args) if not isinstance(x, np.ndarray)])
        self.args = args

    def problems(self) -> list[str]:
        found = []
        for i, (a, view_digest, root, root_digest) in enumerate(self.items):
            if _digest(a) != view_digest:
                found.append(f"input array {i} was written to")
            elif _digest(root) != root_digest:
                found.append(f"the buffer around input array {i} was written to (out of bounds)")
        others = [x for x in _leaves(self.args) if not isinstance(x, np.ndarray)]
        if repr(others) != repr(self.others):
            found.append("a non-array input was changed")
        return found


def _judge(case: Case, args: tuple, actual: Any, expected: Any) -> list[str]:
    if case.compare is not None:
        return case.compare(args, actual, expected)
    scale = case.scale(args, expected) if case.scale is not None else None
    return compare_outputs(actual, expected, scale)


def _kind(problem: str) -> str:
    return "contract" if "contract:" in problem else "wrong"


def _same_layout(a: Any, b: Any) -> bool:
    xs, ys = _arrays(a), _arrays(b)
    return len(xs) == len(ys) and all(
        x.shape == y.shape and x.dtype == y.dtype for x, y in zip(xs, ys, strict=True)
    )


def _change_one_element(arrays: Iterable[np.ndarray], rng: SplitMix64) -> list[tuple]:
    """Copy one element of each array from a neighbour with a different value, in place.

    Returns what to restore ([(array, index, old value)]). The value comes from the array itself,
    so codes stay valid codes and a non-decreasing array stays non-decreasing.
    """
    changed = []
    for a in arrays:
        if a.size < 2 or not a.flags.writeable or a.dtype.kind not in "biufc":
            continue
        flat = a.size
        for _ in range(32):
            i = int(rng.integers(1, flat - 1)[0]) if flat > 2 else 0
            for j in (i + 1, i - 1):
                if 0 <= j < flat:
                    ii, jj = np.unravel_index(i, a.shape), np.unravel_index(j, a.shape)
                    if a[ii] != a[jj] and not (np.isnan(a[ii]) and np.isnan(a[jj])):
                        changed.append((a, ii, a[ii].copy()))
                        a[ii] = a[jj]
                        break
            else:
                continue
            break
    return changed


@contextmanager
def changed_in_place(arrays: Iterable[np.ndarray], rng: SplitMix64) -> Iterator[int]:
    """One element of each array changed in place (as `_change_one_element`), restored after."""
    changed = _change_one_element(arrays, rng)
    try:
        yield len(changed)
    finally:
        for a, index, old in reversed(changed):
            a[index] = old


# ---------------------------------------------------------------------------
# The kernel's side: a process of its own (the command) or an in-process executor (unit tests)
# ---------------------------------------------------------------------------


class KernelProcessError(Exception):
    """The kernel's process died, or sent something that is not a reply."""


class _Foreign:
    """Stands for an object the kernel returned that does not cross to the oracle (only the
    name of its type does): never equal to anything, so the contract check names it."""

    def __repr__(self) -> str:
        kind = type(self)
        return f"<{kind.__module__}.{kind.__qualname__}>"


def _foreign(name: str) -> _Foreign:
    module, _, qualname = str(name)[:200].rpartition(".")
    kind = type(qualname or "object", (_Foreign,), {})
    kind.__module__, kind.__qualname__ = module or "?", qualname or "object"
    return kind()


_DTYPE = re.compile(r"^[<>|=][?biufcmMSUV]\d+(\[\w+\])?$")  # dtype.str of a plain dtype


def _decode(meta: Any, bufs: list[bytes], spans: list[dict] | None = None) -> Any:
    """An output as the kernel's process described it (kernel_process.encode): arrays as fresh
    arrays with the same dtype, shape, contiguity and writeability; anything that cannot cross
    as a _Foreign. `spans` collects the memory facts of each decoded array, in _arrays order."""
    if not isinstance(meta, dict):
        raise KernelProcessError("malformed output description")
    kind = meta.get("t")
    if kind == "nd":
        dtype = meta["dtype"]
        if not isinstance(dtype, str) or not _DTYPE.match(dtype):
            raise KernelProcessError(f"unexpected dtype {str(dtype)[:40]!r}")
        dt = np.dtype(dtype)
        shape = tuple(int(n) for n in meta["shape"])
        data = bufs[int(meta["buf"])]
        if dt.hasobject or math.prod(shape) * dt.itemsize != len(data):
            raise KernelProcessError("an array's bytes do not match its shape")
        a = np.frombuffer(data, dtype=dt).reshape(shape)  # over a buffer read here: no copy
        if not a.flags.writeable:  # bytes (the in-process channel): copied
            a = a.copy()
        if not meta["c"] and a.size > 1:
            a = _not_c_contiguous(a)
        if not meta["w"]:
            a.flags.writeable = False
        if spans is not None:
            spans.append({"span": meta["span"], "root": meta["root"]})
        return a
    if kind == "np":
        dtype = meta["dtype"]
        if not isinstance(dtype, str) or not _DTYPE.match(dtype) or np.dtype(dtype).hasobject:
            raise KernelProcessError(f"unexpected scalar dtype {str(dtype)[:40]!r}")
        return np.frombuffer(bytes.fromhex(meta["hex"]), dtype=np.dtype(dtype))[0]
    if kind == "bool":
        return bool(meta["v"])
    if kind == "int":
        return int(meta["v"])
    if kind == "float":
        return float.fromhex(meta["v"])
    if kind == "complex":
        return complex(float.fromhex(meta["re"]), float.fromhex(meta["im"]))
    if kind == "none":
        return None
    if kind == "str":
        return str(meta["v"])
    if kind == "bytes":
        return bytes.fromhex(meta["hex"])
    if kind == "tuple":
        return tuple(_decode(x, bufs, spans) for x in meta["items"])
    if kind == "list":
        return [_decode(x, bufs, spans) for x in meta["items"]]
    if kind == "dict":
        out = {}
        for k, v in meta["items"]:
            key = _decode(k, bufs)
            out[key if not isinstance(key, list) else tuple(key)] = _decode(v, bufs, spans)
        return out
    return _foreign(meta.get("type", "?"))


def _not_c_contiguous(a: np.ndarray) -> np.ndarray:
    """A copy of `a` with the same values that is not C-contiguous (as the kernel's was)."""
    axis = next(i for i, n in enumerate(a.shape) if n > 1)
    wide = list(a.shape)
    wide[axis] *= 2
    out = np.empty(wide, dtype=a.dtype)[(slice(None),) * axis + (slice(None, None, 2),)]
    out[...] = a
    return out


def _overlap(x: list, y: list) -> bool:
    return x[0] < x[1] and y[0] < y[1] and x[0] < y[1] and y[0] < x[1]


class _Spans:
    """Disjoint memory ranges of the kernel's process, each with what lives there."""

    def __init__(self) -> None:
        self.los: list[int] = []
        self.items: dict[int, tuple[int, Any]] = {}

    def find(self, lo: int, hi: int) -> Any:
        i = bisect.bisect_left(self.los, hi) - 1
        while i >= 0:
            start = self.los[i]
            end, label = self.items[start]
            if end > lo:
                return label
            if end <= lo:
                return None
            i -= 1
        return None

    def add(self, lo: int, hi: int, label: Any) -> bool:
        if lo >= hi or self.find(lo, hi) is not None:
            return False
        bisect.insort(self.los, lo)
        self.items[lo] = (hi, label)
        return True

    def remove(self, labels: set) -> None:
        gone = {lo for lo, (_, held) in self.items.items() if held in labels}
        if gone:
            for lo in gone:
                del self.items[lo]
            self.los = [lo for lo in self.los if lo not in gone]


class _LocalChannel:
    """The executor in this process (oracle unit tests with module-like kernels): the same
    requests and replies as the kernel's process, arrays copied both ways."""

    def __init__(self, executor: Any):
        self.executor = executor

    def request(self, op: str, meanwhile: Callable | None = None, **kw: Any) -> tuple:
        """(meta, bufs), or (meta, bufs, what `meanwhile()` returned) when one is given: here
        it runs after the request (one process), there while the request runs."""
        reply = self._request(op, **kw)
        return (*reply, _outcome(meanwhile)) if meanwhile is not None else reply

    def _request(self, op: str, **kw: Any) -> tuple[dict, list[bytes]]:
        if "define" in kw and kw["define"] is not None:
            roots = [
                [rid, src.copy(order="K") if isinstance(src, np.ndarray) else src]
                for rid, src in kw["define"]["roots"]
            ]
            kw = {**kw, "define": {**kw["define"], "roots": roots}}
        meta, bufs = self.executor.handle(op, kw)
        return json.loads(json.dumps(meta)), [bytes(b) for b in bufs]

    def close(self) -> None:
        pass


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _outcome(work: Callable) -> _Outcome:
    """What `work()` returned or raised (raised later, once the reply is in: the pipe stays in
    step whatever the reference does)."""
    try:
        return _Outcome(work())
    except Exception as exc:
        return _Outcome(error=exc)


def _dumpable(flag: bool) -> None:
    """Linux: a non-dumpable process cannot be read (/proc/PID/mem, /proc/PID/fd) or attached to
    by another process of the same user, the kernel's process included."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, int(flag), 0, 0, 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass


class KernelProcess:
    """`python -m autoresearch.kernel_process TARGET [FILE]`: the only process that imports the
    kernel. It starts configuring itself (asv's environment, imports) at once; `go()` lets it
    import the kernel once the static check has passed."""

    def __init__(self, target: str, kernels_path: Path | None = None):
        from autoresearch import kernel_process

        env = {k: v for k, v in os.environ.items() if k not in kernel_process.KERNEL_ENV_DROP}
        env.update(kernel_process.KERNEL_ENV)
        root = str(PACKAGE_DIR.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        command = [sys.executable, "-X", "faulthandler", "-m", "autoresearch.kernel_process"]
        command.append(target)
        if kernels_path is not None:
            command.append(str(Path(kernels_path).resolve()))
        self.stderr = tempfile.TemporaryFile()
        _dumpable(False)
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=root,
            env=env,
        )
        self.started = False

    def go(self, allowed: Iterable[str]) -> dict:
        """Let the kernel be imported; its hello (names, state, what the rules found)."""
        meta, _ = self._reply()
        if not meta.get("ready"):
            raise KernelProcessError("did not start")
        self._send(
            ("go", {
                "allowed": list(allowed),
                "denied_numpy": list(DENIED_NUMPY_MODULES),
                "allowed_numba": list(ALLOWED_NUMBA_MODULES),
            })
        )  # fmt: skip
        meta, _ = self._reply()
        if "import_error" in meta:
            return meta
        self.started = True
        return self.request("hello")[0]

    def request(self, op: str, meanwhile: Callable | None = None, **kw: Any) -> tuple:
        """(meta, bufs); with `meanwhile`, (meta, bufs, its outcome): it runs here while the
        kernel's process works on the request (two cores: the reference and the kernel at once,
        in two address spaces the kernel cannot cross)."""
        self._send((op, kw))
        outcome = _outcome(meanwhile) if meanwhile is not None else None
        meta, bufs = self._reply()
        if "failed" in meta:
            raise KernelProcessError(f"the request {op!r} failed there: {meta['failed']}")
        return (meta, bufs, outcome) if meanwhile is not None else (meta, bufs)

    def _send(self, message: Any) -> None:
        body = pickle.dumps(message, protocol=5)
        try:
            self.proc.stdin.write(struct.pack("<Q", len(body)) + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise KernelProcessError(self._death()) from None

    def _read(self, n: int) -> bytes:
        data = self.proc.stdout.read(n)
        if data is None or len(data) != n:
            raise KernelProcessError(self._death())
        return data

    def _reply(self) -> tuple[dict, list[bytes]]:
        from autoresearch.kernel_process import MAX_BUFFER_BYTES, MAX_HEADER_BYTES

        size = struct.unpack("<Q", self._read(8))[0]
        if size > MAX_HEADER_BYTES:
            raise KernelProcessError("sent a reply too large to be one")
        try:
            meta = json.loads(self._read(size))
        except ValueError:
            raise KernelProcessError("sent something that is not a reply") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("nbufs", 0), int):
            raise KernelProcessError("sent something that is not a reply")
        bufs = []
        for _ in range(meta.get("nbufs", 0)):
            n = struct.unpack("<Q", self._read(8))[0]
            if n > MAX_BUFFER_BYTES:
                raise KernelProcessError("sent a buffer too large to be an output")
            bufs.append(self._read_into(n))
        return meta, bufs

    def _read_into(self, n: int) -> np.ndarray:
        data = np.empty(n, dtype=np.uint8)  # not zero-filled, as a bytearray would be
        view, got = memoryview(data), 0
        while got < n:
            k = self.proc.stdout.readinto(view[got:])
            if not k:
                raise KernelProcessError(self._death())
            got += k
        return data

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        self.stderr.seek(0)
        tail = self.stderr.read()[-3000:].decode(errors="replace").strip().splitlines()[-6:]
        how = (
            f"was killed by {signal.Signals(-code).name}"
            if code < 0 and -code in signal.valid_signals()
            else f"exited with status {code}"
        )
        return f"{how}" + (f" ({' | '.join(tail)})" if tail else "")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.poll() is None:
                self._send(("exit", {}))
                self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
            self.proc.stdout.close()
        self.stderr.close()


@dataclass
class _Called:
    value: Any = None
    error: str | None = None
    mutated: list[str] = field(default_factory=list)
    aliased: list[str] = field(default_factory=list)
    oid: int | None = None
    meanwhile: _Outcome | None = None


@dataclass(eq=False)
class _RootMirror:
    rid: int
    local: np.ndarray
    synced: bytes  # its contents as the kernel's process last had them


class KernelSide:
    """The oracle's view of the kernel's side: which functions it has, calls on arrays mirrored
    there, and the facts that come back (outputs, changed inputs, memory, state).

    Inputs are mirrored by buffer: each input's root buffer goes over once, with the arrays over
    it as (offset, shape, strides); a buffer this process changed since (the next seed's data,
    one element changed) goes over again before the next call, and one the kernel changed comes
    back. So the kernel sees the same arrays, ownership, offsets and in-place changes as it did
    when the oracle ran it in its own process, and the oracle sees what it wrote.
    """

    def __init__(self, channel: Any, hello: dict):
        self.channel = channel
        self.names = set(hello["names"])
        self.state = hello["state"]
        self.library = hello["library"]
        self.illegal = list(hello.get("illegal", []))
        self.tampered: list[str] = list(hello.get("tampered", []))
        self.tampered_reported = False
        self.threads = hello.get("threads")
        self.module = hello.get("module", "")
        self.spans = _Spans()
        for name, (lo, hi) in hello["module_arrays"]:
            self.spans.add(lo, hi, ("module", name))
        self.roots: dict[int, _RootMirror] = {}  # id(local root) -> mirror
        self.views: dict[tuple, int] = {}
        self.argsets: dict[int, tuple[Any, int, list[int]]] = {}
        self.combo: list = []  # the speed workload combination being checked
        self.kept: list[tuple[int, int]] = []  # (output id, bytes) kept there, oldest first
        self.ids = itertools.count()

    @classmethod
    def local(cls, kernels: Any, inputs: Any = None) -> KernelSide:
        from autoresearch.kernel_process import Executor

        channel = _LocalChannel(Executor(kernels, inputs))
        return cls(channel, channel.request("hello")[0])

    def has(self, func: str) -> bool:
        return func in self.names

    def close(self) -> None:
        self.channel.close()

    # -- mirroring ------------------------------------------------------------------------

    def _mirror(self, root: np.ndarray, new: list) -> _RootMirror:
        entry = self.roots.get(id(root))
        if entry is not None and entry.local is root:
            return entry
        from autoresearch.kernel_process import raw

        entry = _RootMirror(next(self.ids), root, raw(root).tobytes())
        new.append([entry.rid, root])  # its bytes go over (pickled, or copied locally)
        self.roots[id(root)] = entry
        return entry

    def _define(self, args: Any) -> tuple[dict, list[int]]:
        new: dict[str, list] = {"roots": [], "views": [], "rids": []}
        tree = self._spec(args, new)
        return {"roots": new["roots"], "views": new["views"], "spec": tree}, new["rids"]

    def _spec(self, node: Any, new: dict[str, list]) -> Any:
        """An argument as the kernel's process rebuilds it (a method, not a recursive closure:
        that would be a reference cycle holding the inputs until a collection)."""
        if isinstance(node, np.ndarray):
            root = _mirrorable_root(node)
            entry = self._mirror(root, new["roots"])
            offset = None if node is root else _address(node) - _address(root)
            if entry.rid not in new["rids"]:
                new["rids"].append(entry.rid)
            writeable = bool(node.flags.writeable)
            key = (entry.rid, offset, node.shape, node.strides, node.dtype.str, writeable)
            if key not in self.views:
                self.views[key] = vid = next(self.ids)
                new["views"].append(
                    [vid, entry.rid, offset, node.shape, node.strides, node.dtype, writeable]
                )
            return ["a", self.views[key]]
        if isinstance(node, tuple):
            return ["t", [self._spec(x, new) for x in node]]
        if isinstance(node, list):
            return ["l", [self._spec(x, new) for x in node]]
        if isinstance(node, dict):
            return ["d", [[k, self._spec(x, new)] for k, x in node.items()]]
        return ["v", node]

    def batch(
        self, calls: list, layout: list, changes: list | None, meanwhile: Callable | None = None
    ) -> tuple:
        """Speed workload calls, run there in order on its own build of the workload (see
        _WorkloadMap), `changes` (one element per array, as bytes) applied first. The outputs
        stay alive there until batch_end(), as `inputs.outputs`'s list holds them."""
        reply = self.channel.request(
            "batch", meanwhile, combo=self.combo, calls=calls, layout=layout, changes=changes
        )
        self._tampered(reply[0])
        return reply

    def batch_end(self) -> None:
        meta, _ = self.channel.request("batch_end")
        self._tampered(meta)

    def forget(self) -> None:
        """Drop the inputs mirrored so far, here and there (the end of a case, or of a speed
        combination): their memory may be reused from now on. Kept outputs stay alive."""
        rids = sorted({m.rid for m in self.roots.values()})
        if rids:
            self.channel.request("release_roots", rids=rids)
        self.spans.remove({("input", rid) for rid in rids})
        self.roots.clear()
        self.views.clear()
        self.argsets.clear()

    # -- calls ----------------------------------------------------------------------------

    def call(
        self, func: str, args: Any, keep: bool = True, meanwhile: Callable | None = None
    ) -> _Called:
        """Run `func(*args)` there; args are this process's arrays, mirrored. `meanwhile` runs
        here while it does; its outcome is `_Called.meanwhile`."""
        return self.calls(func, args, 1, keep, meanwhile)[0]

    def calls(
        self,
        func: str,
        args: Any,
        times: int,
        keep: bool = True,
        meanwhile: Callable | None = None,
    ) -> list[_Called]:
        """`func(*args)` `times` times in a row, in one request (a repeat loop); fewer when a call
        raises or writes to an input (it is the last)."""
        from autoresearch.kernel_process import raw, structure

        entry = self.argsets.get(id(args))
        define = None
        if entry is None or entry[0] is not args:
            define, rids = self._define(args)
            aid = next(self.ids)
            self.argsets[id(args)] = (args, aid, rids)
        else:
            _, aid, rids = entry
        fresh = {rid for rid, _ in define["roots"]} if define else set()
        mirrors = [m for m in self.roots.values() if m.rid in rids]
        writes = []
        for m in mirrors:  # changed here since they went over: send them again
            if m.rid not in fresh:
                now = raw(m.local).tobytes()
                if now != m.synced:
                    writes.append([m.rid, now])
                    m.synced = now
        meta, bufs, *outcome = self.channel.request(
            "call", meanwhile, func=func, aid=aid, keep=keep, define=define, writes=writes,
            times=times,
        )  # fmt: skip
        for rid, (lo, hi) in meta.get("spans", {}).items():
            self.spans.add(lo, hi, ("input", int(rid)))
        self._tampered(meta)
        shape = structure(args)
        done = []
        for reply in meta["calls"]:
            called = _Called(error=reply["error"], meanwhile=outcome[0] if outcome else None)
            done.append(called)
            if reply["changed"]:
                changed = [m for m in mirrors if m.rid in reply["changed"]]
                called.mutated = self._pull(args, changed)
            if reply["structure"] != shape:
                called.mutated.append("a non-array input was changed")
            if called.error is not None:
                continue
            metas: list[dict] = []
            called.value = _decode(reply["out"], bufs, metas)
            called.aliased = self._aliases(metas, rids)
            called.oid = reply.get("oid")
            if called.oid is not None:
                self.kept.append((called.oid, sum(a.nbytes for a in _arrays(called.value))))
                if not called.aliased:
                    for m in metas:
                        self.spans.add(*m["root"], ("output", called.oid))
        return done

    def trim(self, budget: int = KEEP_OUTPUT_BYTES) -> None:
        """Release the oldest kept outputs of earlier cases beyond `budget` bytes (the end of a
        case: the current case's are never released before it ends)."""
        total = sum(size for _, size in self.kept)
        gone = []
        while self.kept and total > budget:
            oid, size = self.kept.pop(0)
            gone.append(oid)
            total -= size
        if gone:
            self.channel.request("release", oids=gone)
            self.spans.remove({("output", oid) for oid in gone})

    def _pull(self, args: Any, changed: list[_RootMirror]) -> list[str]:
        """Bring back roots the kernel wrote to; which input arrays (or the buffer around them)
        changed, as _Guard says it."""
        from autoresearch.kernel_process import raw

        meta, bufs = self.channel.request("fetch", rids=[m.rid for m in changed])
        new = {rid: bytes(b) for rid, b in zip(meta["rids"], bufs, strict=True)}
        problems = []
        for i, a in enumerate(_arrays(args)):
            m = self.roots.get(id(_mirrorable_root(a)))
            if m is None or m.rid not in new:
                continue
            before = raw(m.local).tobytes()
            after = np.frombuffer(new[m.rid], dtype=np.uint8)
            if a is m.local:
                inside = before != new[m.rid]
            else:
                offset = _address(a) - _address(m.local)
                view = np.ndarray(a.shape, a.dtype, after, offset, a.strides)
                inside = view.tobytes() != a.tobytes()
            if inside:
                problems.append(f"input array {i} was written to")
            else:
                problems.append(f"the buffer around input array {i} was written to (out of bounds)")
        for m in changed:
            raw(m.local)[...] = np.frombuffer(new[m.rid], dtype=np.uint8)
            m.synced = new[m.rid]
        return problems

    def _aliases(self, metas: list[dict], rids: list[int]) -> list[str]:
        found = []
        for i, m in enumerate(metas):
            label = self.spans.find(*m["root"])
            if label is None:
                continue
            kind, what = label
            if kind == "input":
                text = "an input" if what in rids else "an earlier call's input"
            elif kind == "output":
                text = "an earlier call's output"
            else:
                text = f"kernels.py's module-level {what}"
            found.append(f"output {i} shares memory with {text}")
        for i, m in enumerate(metas):
            for j in range(i):
                if _overlap(m["span"], metas[j]["span"]):
                    found.append(f"outputs {j} and {i} share memory")
        return found

    def _tampered(self, meta: dict) -> None:
        for name in meta.get("tampered") or []:
            if name not in self.tampered:
                self.tampered.append(str(name)[:200])

    # -- outputs kept there -----------------------------------------------------------------

    def kept_changed(self, oids: list[int]) -> list[int]:
        if not oids:
            return []
        return self.channel.request("digests", oids=oids)[0]["changed"]

    def final(self) -> dict:
        meta, _ = self.channel.request("state")
        self._tampered(meta)
        return meta


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def _mirrorable_root(a: np.ndarray) -> np.ndarray:
    """The buffer an input lives in, when it can be sent as one (contiguous); else the input."""
    root = _root(a)
    return root if root.flags.c_contiguous or root.flags.f_contiguous else a


def _side(kernels: Any, inputs: Any = None) -> KernelSide:
    return kernels if isinstance(kernels, KernelSide) else KernelSide.local(kernels, inputs)


# ---------------------------------------------------------------------------
# One case
# ---------------------------------------------------------------------------


class _CaseRun:
    """Every dynamic check of one case, seed after seed, sharing what earlier calls returned."""

    def __init__(
        self, case: Case, kernels: KernelSide, reference: ModuleType, seen: list | None = None
    ):
        self.case = case
        # Right answers of earlier calls of every case with this function (most recent last):
        # a wrong answer equal to one of them is stale, whichever case computed it.
        self.seen = seen if seen is not None else []
        self.kernels = kernels
        self.rfunc = getattr(reference, case.func)
        self.history: list[tuple[Any, Any, int]] = []  # (output, expected, output id there)

    def reference(self, pristine: Any) -> Any:
        return self.rfunc(*_snapshot(pristine))

    def stale_or(self, args: Any, actual: Any, default: str, old_expected: list) -> str:
        """'stale' when the wrong answer is right for data the kernel saw before."""
        for old in old_expected:
            if _same_layout(actual, old) and not _judge(self.case, args, actual, old):
                return "stale"
        return default

    def overwritten(self) -> list[str]:
        if self.kernels.kept_changed([oid for _, _, oid in self.history]):
            return ["the output of an earlier call was changed by a later call"]
        return []

    def check(
        self, args: Any, next_data: Any | None, layout: SplitMix64, released: bool = False
    ) -> list[Failure]:
        """Fresh call, repeats, whole-array and one-element changes in place, for one seed;
        with `released`, then the same as a timing loop holds outputs (dropped each call)."""
        case = self.case
        fail = lambda kind, msg: Failure(case.label, kind, msg)  # noqa: E731
        args = _present(args, layout)
        pristine = _snapshot(args)
        # The reference runs in this process while the kernel runs in its own: the kernel's
        # process never holds a right answer, and cannot read this one's memory.
        first = self.kernels.call(case.func, args, meanwhile=lambda: self.reference(pristine))
        if first.error:
            return [fail("raised", first.error)]
        fails = [fail("mutated", m) for m in first.mutated]
        expected = first.meanwhile.get()
        fails += [fail("aliased", m) for m in first.aliased]
        fails += [fail("aliased", m) for m in self.overwritten()]
        olds = [e for _, e, _ in self.history] + self.seen[::-1]
        for p in _judge(case, pristine, first.value, expected):
            kind = self.stale_or(pristine, first.value, _kind(p), olds)
            fails.append(fail(kind, p if kind != "stale" else f"fresh arrays: {p}"))
        if fails:
            return fails
        self.history.append((first.value, expected, first.oid))
        self.seen.append(expected)
        del self.seen[:-SEEN_ANSWERS]

        # The timing loop passes the same inputs again and again: results must stay right.
        for again in self.kernels.calls(case.func, args, REPEAT_CALLS):
            problems = [again.error] if again.error else []
            if problems := problems or _judge(case, pristine, again.value, expected):
                return [fail("repeat", problems[0])]
            if again.mutated:
                return [fail("mutated", f"same inputs again: {again.mutated[0]}")]
            if again.aliased:
                return [fail("aliased", f"same inputs again: {again.aliased[0]}")]
        if changed := self.overwritten():
            return [fail("aliased", f"same inputs again: {changed[0]}")]

        # The very same arrays given new contents: defeats caches keyed by id or address.
        if next_data is not None and _same_layout(args, next_data):
            for dst, src in zip(_arrays(args), _arrays(next_data), strict=True):
                if dst.flags.writeable:
                    np.copyto(dst, src)
            fails += self.changed_call(args, [expected], "changed in place")
        # One element of one array changed: defeats caches keyed on a fingerprint that reads the
        # small inputs whole and samples the large ones. One array at a time, so a change to one
        # input cannot hide behind a change to another.
        if case.partial_change and not fails:
            before = self.reference(args)
            for i, a in enumerate(_arrays(args)):
                with changed_in_place([a], layout) as n:
                    if n:
                        what = f"one element of input array {i} changed in place"
                        fails += self.changed_call(args, [before], what)
                if fails:
                    break
        if released and not fails:
            fails += self.released(args, pristine, layout)
        return fails

    def released(self, args: Any, other: Any, layout: SplitMix64) -> list[Failure]:
        """As the timing loop holds them: every output dropped before the next call, so the
        allocator may hand its memory back to the kernel. Answers must still follow the data
        (defeats answers kept in freed memory, which a run that keeps every output never
        frees)."""
        fail = lambda kind, msg: Failure(self.case.label, kind, msg)  # noqa: E731
        what = "outputs released between calls"
        current = _snapshot(args)
        expected = self.reference(current)
        for again in self.kernels.calls(self.case.func, args, REPEAT_CALLS, keep=False):
            problems = [again.error] if again.error else []
            if problems := problems or _judge(self.case, current, again.value, expected):
                return [fail("repeat", f"{what}: {problems[0]}")]
            if again.mutated:
                return [fail("mutated", f"{what}: {again.mutated[0]}")]
            if again.aliased:
                return [fail("aliased", f"{what}: {again.aliased[0]}")]
        if self.case.partial_change:
            with changed_in_place(_arrays(args), layout) as n:
                if n:
                    detail = f"{what}, one element of every input changed in place"
                    return self.changed_call(args, [expected], detail, keep=False)
            return []
        if _same_layout(args, other) and not _same_data(args, other):
            for dst, src in zip(_arrays(args), _arrays(other), strict=True):
                if dst.flags.writeable:
                    np.copyto(dst, src)
            return self.changed_call(args, [expected], f"{what}, other data", keep=False)
        return []

    def changed_call(self, args: Any, olds: list, what: str, keep: bool = True) -> list[Failure]:
        pristine = _snapshot(args)
        called = self.kernels.call(
            self.case.func, args, keep, meanwhile=lambda: self.reference(pristine)
        )
        try:
            expected = called.meanwhile.get()
        except Exception:  # the change made the input invalid: nothing to judge
            return []
        if called.error:
            return [Failure(self.case.label, "raised", f"{what}: {called.error}")]
        fails = [Failure(self.case.label, "mutated", f"{what}: {m}") for m in called.mutated]
        fails += [Failure(self.case.label, "aliased", f"{what}: {m}") for m in called.aliased]
        for p in _judge(self.case, pristine, called.value, expected):
            kind = self.stale_or(pristine, called.value, _kind(p), olds)
            fails.append(Failure(self.case.label, kind, f"{what}: {p}"))
        return fails


def _same_data(a: Any, b: Any) -> bool:
    return all(x.tobytes() == y.tobytes() for x, y in zip(_arrays(a), _arrays(b), strict=True))


def check_case(
    case: Case, kernels: Any, reference: ModuleType, rng: SplitMix64, cross_call: bool
) -> list[Failure]:
    """Every dynamic check for one case on one generator (a second draw supplies the new data).
    `kernels`: a module-like object (run in this process) or a KernelSide."""
    side = _side(kernels)
    if not side.has(case.func):
        return [Failure(case.label, "contract", f"kernels.py has no function {case.func}")]
    run = _CaseRun(case, side, reference)
    args = case.make(rng)
    next_data = case.make(rng) if cross_call else None
    return run.check(args, next_data, rng.spawn("layout"), released=True)


def _check_seeds(
    case: Case,
    kernels: KernelSide,
    reference: ModuleType,
    seeds: list[int],
    seen: list | None = None,
) -> tuple[list[Failure], int]:
    """One case on every seed; each seed's in-place change takes the next seed's data."""
    if not kernels.has(case.func):
        return [Failure(case.label, "contract", f"kernels.py has no function {case.func}")], 0
    rngs = [SplitMix64(seed).spawn(case.label) for seed in seeds]
    argsets = [case.make(rng) for rng in rngs]
    if len(argsets) == 1:  # one seed asked for: draw the new data from it
        argsets.append(case.make(rngs[0]))
    pristine = [_snapshot(args) for args in argsets]
    run = _CaseRun(case, kernels, reference, seen)
    for n, seed in enumerate(seeds):
        next_data = pristine[(n + 1) % len(pristine)]
        fails = run.check(argsets[n], next_data, rngs[n].spawn("layout"), released=n == 0)
        for f in fails:
            f.detail += f" (seed {seed})"
        if fails:
            return fails, n + 1  # one seed's failures say enough about this case
    return [], len(seeds)


def fresh_seeds(n: int = FRESH_SEEDS) -> list[int]:
    return [int.from_bytes(os.urandom(8), "little") for _ in range(n)]


# ---------------------------------------------------------------------------
# The speed workload: checked as is and with one element of each array changed
# ---------------------------------------------------------------------------


def disguised(w: Any, rng: SplitMix64 | None = None, jitter: float = DISGUISE_JITTER) -> Any:
    """A copy of a workload whose float values moved by a secret relative jitter (fresh per call).

    For timing: a kernel holding answers precomputed for the public speed workload (regenerated
    from its seed) can match neither these inputs nor their outputs, while sizes, distributions,
    zeros and signs (everything speed depends on) stay as they were. Integer arrays are copied
    unchanged: a target whose data is all integers needs its own disguise (a permutation).
    """
    rng = rng or SplitMix64(int.from_bytes(os.urandom(8), "little"))

    def move(a: Any) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        if a.dtype.kind != "f":
            return a.copy()
        factor = 1.0 + jitter * rng.normal(a.size).reshape(a.shape)
        return (a * factor).astype(a.dtype)

    if dataclasses.is_dataclass(w) and not isinstance(w, type):
        moved = {f.name: move(getattr(w, f.name)) for f in dataclasses.fields(w)}
        return dataclasses.replace(w, **moved)
    if isinstance(w, dict):
        return {k: move(v) for k, v in w.items()}
    if isinstance(w, (tuple, list)):
        return type(w)(move(v) for v in w)
    return move(w)


def speed_combinations(inputs: ModuleType) -> list[tuple]:
    """Arguments of `inputs.workload` for every speed combination.

    SPEED_COMBINATIONS (a list of argument tuples), else the product of SPEED_PARAMS (a list of
    lists), else SHAPES x DISTRIBUTIONS.
    """
    if hasattr(inputs, "SPEED_COMBINATIONS") and hasattr(inputs, "workload"):
        return [tuple(c) for c in inputs.SPEED_COMBINATIONS]
    params = getattr(inputs, "SPEED_PARAMS", None)
    if params is None and hasattr(inputs, "SHAPES") and hasattr(inputs, "DISTRIBUTIONS"):
        params = [inputs.SHAPES, inputs.DISTRIBUTIONS]
    if params is None or not hasattr(inputs, "workload") or not hasattr(inputs, "outputs"):
        return []
    return list(itertools.product(*params))


class _NotRecordable(Exception):
    """The harness's code used a kernel output's value while its calls were being recorded."""


class _Pending:
    """A kernel output not computed yet (recording): any use of its value stops the recording."""

    def __init__(self, index: int):
        self.index = index

    def _use(self, *args: Any, **kwargs: Any) -> Any:
        raise _NotRecordable

    __getattr__ = __getitem__ = __len__ = __iter__ = __bool__ = __array__ = _use
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __float__ = __int__ = _use
    __hash__ = object.__hash__


class _WorkloadMap:
    """The speed workload's arrays as both processes hold them: an argument that is one of them
    goes over as its index, one inside one of them as (index, offset, shape, strides, dtype),
    anything else as bytes. The kernel's process uses its own build of the workload (the public
    one, from the same generator and disk cache), so the kernel is handed the very objects a
    benchmark's timed loop hands it, and nothing large crosses the pipe."""

    def __init__(self, w: Any):
        from autoresearch.kernel_process import span

        self.arrays = workload_arrays(w)
        self.index = {id(a): i for i, a in enumerate(self.arrays)}
        contiguous = [
            (i, span(a))
            for i, a in enumerate(self.arrays)
            if a.size and (a.flags.c_contiguous or a.flags.f_contiguous)
        ]
        contiguous.sort(key=lambda item: item[1][0] - item[1][1])  # largest first
        self.outer: list[tuple[int, list[int]]] = []
        for i, (lo, hi) in contiguous:
            if not any(o_lo <= lo and hi <= o_hi for _, (o_lo, o_hi) in self.outer):
                self.outer.append((i, [lo, hi]))
        self.used: dict[int, list] = {}

    def container(self, lo: int, hi: int) -> tuple[int, int] | None:
        for i, (o_lo, o_hi) in self.outer:
            if o_lo <= lo and hi <= o_hi:
                return i, o_lo
        return None

    def spec(self, node: Any, pending: dict[int, int]) -> Any:
        if isinstance(node, _Pending):
            return ["o", node.index]
        if id(node) in pending:
            return ["o", pending[id(node)]]
        if isinstance(node, np.ndarray):
            if id(node) in self.index:
                return ["w", self._use(self.index[id(node)])]
            if node.size:
                from autoresearch.kernel_process import span

                found = self.container(*span(node))
                if found is not None:
                    i, start = found
                    offset = _address(node) - start
                    return ["wv", self._use(i), offset, node.shape, node.strides, node.dtype.str]
            return ["b", np.array(node, copy=True, order="K")]
        if isinstance(node, tuple):
            return ["t", [self.spec(x, pending) for x in node]]
        if isinstance(node, list):
            return ["l", [self.spec(x, pending) for x in node]]
        if isinstance(node, dict):
            return ["d", [[k, self.spec(x, pending)] for k, x in node.items()]]
        return ["v", node]

    def _use(self, i: int) -> int:
        a = self.arrays[i]
        self.used[i] = [i, list(a.shape), list(a.strides), a.dtype.str]
        return i

    def layout(self) -> list:
        return list(self.used.values())

    def changes(self, changed: list[tuple]) -> list:
        """Elements changed in place here ([(array, index, old)]) as [outer array index, byte
        offset, bytes] of the workload's outer arrays."""
        out = []
        for a, index, _ in changed:
            address = _address(a) + sum(int(i) * s for i, s in zip(index, a.strides, strict=True))
            found = self.container(address, address + a.itemsize)
            if found is None:
                raise KernelProcessError("a changed element is outside the mirrored workload")
            i, start = found
            out.append([self._use(i), address - start, a[index].tobytes()])
        return out


class _Recorder:
    """kernels.py as `inputs.outputs` sees it while its calls are recorded: every function
    returns a _Pending."""

    def __init__(self, side: KernelSide, layout: _WorkloadMap):
        self._side, self._layout = side, layout
        self._calls: list = []

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("__") or not self._side.has(name):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            self._calls.append([name, self._layout.spec(args, {})])
            return _Pending(len(self._calls) - 1)

        return call


class _Diverged(Exception):
    """`inputs.outputs` made other calls with real outputs than while recorded."""


class _Replayer:
    """kernels.py as `inputs.outputs` sees it the second time: each call returns the output the
    kernel's process computed for the same call (checked to be the same call)."""

    def __init__(self, side: KernelSide, layout: _WorkloadMap, calls: list, values: list):
        self._side, self._layout, self._calls, self._values = side, layout, calls, values
        self._pending = {id(v): k for k, v in enumerate(values)}
        self._next = 0

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("__") or not self._side.has(name):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            k = self._next
            spec = [name, self._layout.spec(args, self._pending)]
            if k >= len(self._calls) or not _same_spec(spec, self._calls[k]):
                raise _Diverged
            self._next += 1
            return self._values[k]

        return call


def _same_spec(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_spec(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


class KernelRaised(Exception):
    """The kernel raised in its own process (the text is its exception's)."""


class _SpeedRun:
    """One pass of `inputs.outputs` over the workload in the kernel's process: its outputs,
    decoded, and what their memory says (the outputs of one pass are all alive there)."""

    def __init__(self, side: KernelSide, layout: _WorkloadMap):
        self.side, self.layout = side, layout
        self.spans = _Spans()
        self.count = 0
        self.problems: list[tuple[str, str]] = []

    def send(self, calls: list, changes: list | None, meanwhile: Callable | None = None) -> tuple:
        """(values, error), or (values, error, outcome of `meanwhile`) when one is given."""
        meta, bufs, *outcome = self.side.batch(calls, self.layout.layout(), changes, meanwhile)
        for i, (lo, hi) in meta["workload"]:
            self.spans.add(lo, hi, ("workload", i))
        values = []
        for out in meta["outs"]:
            metas: list[dict] = []
            values.append(_decode(out, bufs, metas))
            call = self.count
            self.count += 1
            for j, m in enumerate(metas):
                label = self.spans.find(*m["root"]) or self.side.spans.find(*m["root"])
                if label is None:
                    self.spans.add(*m["root"], ("output", call))
                    continue
                kind, what = label
                text = {
                    "workload": "the workload",
                    "output": "an earlier call's output",
                    "input": "an earlier call's input",
                }.get(kind, f"kernels.py's module-level {what}")
                self.problems.append(
                    ("aliased", f"output {j} of call {call} shares memory with {text}")
                )
        return (values, meta.get("error"), *outcome)


class _OneByOne:
    """kernels.py as `inputs.outputs` sees it when its calls cannot be recorded ahead (it looks
    at an output before making the next call): one call at a time, each a batch of one."""

    def __init__(self, side: KernelSide, layout: _WorkloadMap, changes: list, run: _SpeedRun):
        self._side, self._layout, self._changes, self._run = side, layout, changes, run
        self._pending: dict[int, int] = {}
        self._values: list = []

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("__") or not self._side.has(name):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            spec = self._layout.spec(args, self._pending)
            changes, self._changes = self._changes, None
            values, error = self._run.send([[name, spec]], changes)
            if error:
                raise KernelRaised(error)
            self._pending[id(values[0])] = len(self._values)
            self._values.append(values[0])
            return values[0]

        return call


def _kernel_outputs(
    inputs: ModuleType, side: KernelSide, w: Any, changed: list, meanwhile: Callable
) -> tuple[Any, str | None, list[tuple[str, str]], _Outcome]:
    """`inputs.outputs(kernels, w)` with every kernel call run in the kernel's process: recorded
    first and sent as one batch (`meanwhile`, the reference, runs here as it does); when the
    harness's code needs an output's value to go on, one call at a time. Returns (outputs,
    error, [(kind, problem)], the outcome of `meanwhile`)."""
    reference = None
    try:
        actual, error, problems, reference = _kernel_outputs_run(
            inputs, side, w, changed, meanwhile
        )
    finally:
        side.batch_end()
    return actual, error, problems, reference or _outcome(meanwhile)


def _kernel_outputs_run(
    inputs: ModuleType, side: KernelSide, w: Any, changed: list, meanwhile: Callable
) -> tuple[Any, str | None, list[tuple[str, str]], _Outcome | None]:
    layout = _WorkloadMap(w)
    changes = layout.changes(changed)
    recorder = _Recorder(side, layout)
    try:
        inputs.outputs(recorder, w)
        calls = recorder._calls
    except Exception:  # the harness's code looked at an output (a _Pending): one by one
        calls = None
    reference = None
    if calls is not None:
        run = _SpeedRun(side, layout)
        values, error, reference = run.send(calls, changes, meanwhile)
        if error:
            return None, error, run.problems, reference
        try:
            replay = _Replayer(side, layout, calls, values)
            return inputs.outputs(replay, w), None, run.problems, reference
        except _Diverged:
            side.batch_end()
    run = _SpeedRun(side, layout)
    try:
        actual = inputs.outputs(_OneByOne(side, layout, changes, run), w)
        return actual, None, run.problems, reference
    except KernelRaised as exc:
        return None, str(exc), run.problems, reference
    except KernelProcessError:
        raise
    except Exception as exc:  # the harness's code raised on what the kernel returned
        return None, f"{type(exc).__name__}: {exc}", run.problems, reference


def speed_workload_failures(
    inputs: ModuleType, kernels: Any, reference: ModuleType, rng: SplitMix64
) -> tuple[list[Failure], list[str]]:
    """Every speed workload combination, as is and with one element per array changed in place.

    Catches what only shows on the benchmark's own data: answers looked up by a fingerprint of
    the workload, or a kernel exact on the oracle's arrays and approximate on the benchmark's.
    `inputs.perturbable(w)` may name the arrays safe to change (default: all of them). The
    harness's `inputs.outputs` runs here; the kernel's calls run in the kernel's process on its
    own build of the workload (_kernel_outputs).
    """
    combos = speed_combinations(inputs)
    if not combos:
        return [], ["speed workload: not checked (inputs.py has no workload/outputs convention)"]
    side = _side(kernels, inputs)
    fails = []
    for combo in combos:
        label = f"speed workload {combo}"
        try:
            w = inputs.workload(*combo)
        except Exception as exc:  # the harness's problem, not the kernel's: say so, fail nothing
            return fails, [f"speed workload: not checked ({type(exc).__name__}: {exc})"]
        side.combo = list(combo)
        fails += _speed_combination(label, w, inputs, side, reference, rng)
    return fails, [f"speed workload: {len(combos)} combinations checked"]


def _speed_combination(
    label: str, w: Any, inputs: ModuleType, side: KernelSide, reference: ModuleType, rng: SplitMix64
) -> list[Failure]:
    actual, err, problems, outcome = _kernel_outputs(
        inputs, side, w, [], lambda: inputs.outputs(reference, w)
    )
    expected = outcome.get()
    if err:
        return [Failure(label, "raised", err)]
    if problems:
        return [Failure(label, kind, msg) for kind, msg in problems[:3]]
    if bad := count_mismatches(actual, expected):
        return [Failure(label, "wrong", f"{bad} mismatches on the benchmark's own data")]
    arrays = inputs.perturbable(w) if hasattr(inputs, "perturbable") else workload_arrays(w)
    changed = _change_one_element(arrays, rng)
    if not changed:
        return []
    try:
        actual, err, problems, outcome = _kernel_outputs(
            inputs, side, w, changed, lambda: inputs.outputs(reference, w)
        )
        try:
            new = outcome.get()
        except Exception:  # the change made the workload invalid: nothing to judge
            return []
    finally:
        for a, index, old in reversed(changed):
            a[index] = old
    what = "one element changed in place"
    if err:
        return [Failure(label, "raised", f"{what}: {err}")]
    if problems:
        return [Failure(label, kind, f"{what}: {msg}") for kind, msg in problems[:3]]
    if bad := count_mismatches(actual, new):
        kind = "stale" if count_mismatches(actual, expected) == 0 else "wrong"
        return [Failure(label, kind, f"{what}: {bad} mismatches")]
    return []


# ---------------------------------------------------------------------------
# Whole-target check
# ---------------------------------------------------------------------------


def check_cases(
    cases: list[Case],
    kernels: Any,
    reference: ModuleType,
    seeds: Iterable[int],
    target: str = "",
) -> Report:
    """Every case on every seed, then whether the kernel module (or numpy) kept state.

    Stops after MAX_FAILED_CASES failing cases. The building block of check_target, usable with
    any cases, reference and kernels: a KernelSide, or a module-like object run in this process
    (tests use toy ones).
    """
    seeds = list(seeds)
    side = _side(kernels)
    report = Report(target, cases=len(cases))
    seen: dict[str, list] = {}
    failed = 0
    for case in cases:
        fails, calls = _check_seeds(case, side, reference, seeds, seen.setdefault(case.func, []))
        side.forget()
        side.trim()
        report.calls += calls
        report.failures += fails
        failed += bool(fails)
        if failed >= MAX_FAILED_CASES:
            report.notes.append(f"stopped after {failed} failing cases")
            break
    report.failures += end_failures(side)
    return report


def end_failures(side: KernelSide) -> list[Failure]:
    """What the kernel's process says at the end: module and process-wide state changed since
    import, outputs changed after their call, cache-unsafe signatures, harness code changed."""
    final = side.final()
    fails = []
    if changed := state_changes(side.state, final["state"]):
        fails.append(
            Failure(
                "kernels.py",
                "stale",
                f"module-level state changed while its functions ran: {', '.join(changed)} "
                "(kernels must be stateless: no caches, counters or buffers kept between calls)",
            )
        )
    if changed := state_changes(side.library, final["library"]):
        fails.append(
            Failure("kernels.py", "stale", f"changed process-wide state: {', '.join(changed)}")
        )
    if final["kept_changed"]:
        fails.append(
            Failure(
                "kernels.py",
                "aliased",
                f"{len(final['kept_changed'])} outputs were changed after their call returned "
                "(memory shared with a later call's output or scratch)",
            )
        )
    fails += [
        Failure(
            name,
            "contract",
            f"cached jitted function {name} takes a jitted function as an argument "
            f"({passed}): numba's on-disk cache breaks on such signatures across "
            "processes (ReferenceError in the benchmark). Pass an integer code and "
            'branch on it, or call the function directly (`inline="always"`)',
        )
        for name, passed in final["signatures"]
    ]
    fails += tampered_failures(side, final=True)
    return fails


def tampered_failures(side: KernelSide, final: bool = False) -> list[Failure]:
    """`tampered` failures for the harness code the kernel's process says changed (reported
    once: at the end, or as soon as hello says so)."""
    if not side.tampered or side.tampered_reported:
        return []
    side.tampered_reported = True
    names = ", ".join(side.tampered[:8]) + (" ..." if len(side.tampered) > 8 else "")
    return [
        Failure(
            "kernels.py",
            "tampered",
            f"the harness or library code in the kernel's process changed after kernels.py was "
            f"imported: {names} (kernels may not patch, wrap or add to modules they do not own)",
        )
    ]


def check_target(target: str, kernels: Any = None, seeds: Iterable[int] | None = None) -> Report:
    """Run every case of `target` on the fixed seeds plus fresh ones, then the speed workload.

    `kernels`: None (kernels.py, in a process of its own), a KernelProcess, or a module-like
    object run in this process (tests)."""
    own = None
    if kernels is None:
        own = kernels = KernelProcess(target)
    try:
        return _check_target(target, kernels, seeds)
    finally:
        if own is not None:
            own.close()


def _check_target(target: str, kernels: Any, seeds: Iterable[int] | None) -> Report:
    reference = importlib.import_module(f"autoresearch.{target}.reference")
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    report = Report(target)
    if isinstance(kernels, KernelProcess):
        hello = kernels.go(allowed_imports(PACKAGE_DIR / target / "program.md"))
        if "import_error" in hello:
            report.failures.append(Failure("kernels.py", "raised", hello["import_error"]))
            return report
        side = KernelSide(kernels, hello)
    else:
        side = _side(kernels, inputs)
    report.failures += [Failure("kernels.py", "state", p) for p in side.illegal[:MAX_REPORTED]]
    report.failures += tampered_failures(side)
    seeds = list(seeds) if seeds is not None else [*FIXED_SEEDS, *fresh_seeds()]
    from autoresearch import heldout  # imports this module's Case

    cases = [*inputs.correctness_cases(), *heldout.cases(target)]
    checked = check_cases(cases, side, reference, seeds, target)
    report.cases, report.calls = checked.cases, checked.calls
    report.failures += checked.failures
    report.notes += checked.notes
    if not report.failures:
        rng = SplitMix64(seeds[-1] if seeds else 0).spawn("speed workload")  # a fresh seed
        fails, notes = speed_workload_failures(inputs, side, reference, rng)
        report.failures += fails
        report.notes += notes
        report.failures += end_failures(side)
    if side.threads is not None and isinstance(kernels, KernelProcess):
        report.notes.append(f"kernel process: {side.threads} numba thread(s), as in asv")
    return report


def workload_mismatches(
    outputs: Callable[[ModuleType], Any],
    kernels: ModuleType,
    reference: ModuleType,
    repeats: int = REPEAT_CALLS,
    perturb: Iterable[np.ndarray] | None = None,
) -> int:
    """Mismatches of the kernel on a speed workload, before and after a timing-style loop.

    `outputs(impl)` runs the workload through `impl` (kernels or reference) and returns its outputs.
    This is what the asv suites record as `track_mismatches`, so the gate reads correctness from
    the same results it reads speed from. With `perturb` (the workload's arrays, e.g.
    `workload_arrays(w)`), one element of each is then changed in place and the outputs compared
    again (restored afterwards): a kernel caching answers across the loop returns the old ones.
    """
    expected = outputs(reference)
    first = outputs(kernels)
    for _ in range(repeats):
        outputs(kernels)
    last = outputs(kernels)
    bad = count_mismatches(first, expected) + count_mismatches(last, expected)
    if perturb is not None:
        rng = SplitMix64(int.from_bytes(os.urandom(8), "little"))
        with changed_in_place(list(perturb), rng):
            actual = outputs(kernels)
            bad += count_mismatches(actual, outputs(reference))
    return bad


# ---------------------------------------------------------------------------
# Static checks
# ---------------------------------------------------------------------------


def allowed_imports(program_md: Path) -> tuple[str, ...]:
    """The `Allowed imports:` line of a target's program.md, or the default."""
    if program_md.exists():
        for line in program_md.read_text().splitlines():
            m = re.match(r"\s*[-*]?\s*allowed imports\s*:\s*(.*)$", line, re.IGNORECASE)
            if m:
                names = re.findall(r"`([\w.]+)`", m.group(1))
                if names:
                    return tuple(names)
    return DEFAULT_ALLOWED_IMPORTS


def harness_secrets(target: str | None = None) -> set[int]:
    """Integers only the harness has a use for: the seeds and the generator's constants.

    A kernel that contains one is regenerating the harness's data (to recognize it or to
    precompute answers for it). Read from the sources, not imported.
    """
    from autoresearch import common

    secrets = {*FIXED_SEEDS, common.GOLDEN_GAMMA, common._MIX1, common._MIX2}
    if target is not None and (PACKAGE_DIR / target / "inputs.py").exists():
        tree = ast.parse((PACKAGE_DIR / target / "inputs.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                value = node.value.value
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if isinstance(value, int) and any("SEED" in n.upper() for n in names):
                    secrets.add(value)
    return secrets


def _module_allowed(name: str, allowed: set[str]) -> bool:
    return module_allowed(name, allowed, DENIED_NUMPY_MODULES, ALLOWED_NUMBA_MODULES)


def _denied_ids() -> set[int]:
    ids = set()
    for dotted in DENIED_OBJECTS:
        parts = dotted.split(".")
        try:
            obj: Any = importlib.import_module(parts[0])
            for p in parts[1:]:
                obj = getattr(obj, p)
        except (ImportError, AttributeError):
            continue
        ids.add(id(obj))
    return ids


def _chain(node: ast.AST) -> tuple[ast.AST, list[str]]:
    """The root of an attribute/subscript/call chain and the attribute names from it."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            names.clear()  # an element: no longer a module path
            node = node.value
        elif isinstance(node, ast.Call):
            names.clear()
            node = node.func
        else:
            return node, names[::-1]


def _is_docstring(parent: ast.AST, node: ast.AST) -> bool:
    body = getattr(parent, "body", None)
    return (
        isinstance(body, list)
        and body
        and body[0] is node
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _scope_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function's own body, not of functions or lambdas nested in it."""
    stack = list(fn.body) if isinstance(fn.body, list) else [fn.body]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            stack += getattr(node, "decorator_list", [])
            continue
        stack += list(ast.iter_child_nodes(node))


def _store_targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension)):
        return [node.target]
    if isinstance(node, ast.Delete):
        return node.targets
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [node.optional_vars]
    if isinstance(node, ast.NamedExpr):
        return [node.target]
    return []


def _flatten_targets(targets: Iterable[ast.AST]) -> Iterator[ast.AST]:
    for t in targets:
        if isinstance(t, (ast.Tuple, ast.List)):
            yield from _flatten_targets(t.elts)
        elif isinstance(t, ast.Starred):
            yield from _flatten_targets([t.value])
        else:
            yield t


class _StaticChecker:
    def __init__(self, tree: ast.Module, allowed: set[str], secrets: set[int]):
        self.tree = tree
        self.allowed = allowed
        self.secrets = secrets
        self.problems: dict[tuple[int, str], None] = {}  # ordered, de-duplicated
        self.aliases: dict[str, tuple[str, ...]] = {}  # local name -> import path
        self.stateful: set[str] = set()  # module-level names bound to containers or iterators
        self.docstrings: set[int] = set()
        self.denied = _denied_ids()

    def add(self, node: ast.AST, message: str) -> None:
        self.problems[(getattr(node, "lineno", 0), message)] = None

    # -- imports and what they reach -------------------------------------------------------

    def _resolve(self, path: tuple[str, ...]) -> tuple[Any, bool]:
        """The object at an import path (module, then attributes or submodules)."""
        try:
            obj: Any = importlib.import_module(path[0])
        except ImportError:
            return None, False
        for i, part in enumerate(path[1:], start=1):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                try:
                    obj = importlib.import_module(".".join(path[: i + 1]))
                except ImportError:
                    return None, False
        return obj, True

    def _judge_object(self, node: ast.AST, shown: str, obj: Any) -> bool:
        if isinstance(obj, ModuleType):
            if not _module_allowed(obj.__name__, self.allowed):
                self.add(node, f"reaches module {obj.__name__!r} through {shown!r}")
                return False
        elif id(obj) in self.denied:
            self.add(node, f"use of {shown!r} (files, threads, the runtime or addresses)")
            return False
        elif isinstance(obj, (dict, list, set, bytearray)):
            self.add(node, f"use of {shown!r}: mutable module-level state of a library")
            return False
        return True

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or module.split(".")[0] not in self.allowed:
                self.add(node, f"import of {module!r} (allowed: {sorted(self.allowed)})")
                return
            for a in node.names:
                if a.name == "*":
                    self.add(node, f"'from {module} import *' (names must be visible)")
                    continue
                path = (*module.split("."), a.name)
                self.aliases[a.asname or a.name] = path
                self._check_name_attr(node, a.name)
                obj, ok = self._resolve(path)
                if not ok:
                    continue
                if isinstance(obj, ModuleType):  # `from numba.core import types` is numba.types
                    self._judge_object(node, ".".join(path), obj)
                elif self._judge_object(node, ".".join(path), obj):
                    self._judge_object(node, module, self._resolve(tuple(module.split(".")))[0])
            return
        for a in node.names:
            if a.name.split(".")[0] not in self.allowed:
                self.add(node, f"import of {a.name!r} (allowed: {sorted(self.allowed)})")
                continue
            obj, ok = self._resolve(tuple(a.name.split(".")))
            if ok:
                self._judge_object(node, a.name, obj)
            bound = a.asname or a.name.split(".")[0]
            self.aliases[bound] = tuple(a.name.split(".")) if a.asname else (bound,)

    def _check_name_attr(self, node: ast.AST, attr: str) -> None:
        if attr in FORBIDDEN_ATTRS:
            self.add(node, f"use of attribute {attr!r}")
        elif attr.startswith("_"):
            self.add(node, f"use of private attribute {attr!r}")
        elif FRAME_ATTR.match(attr):
            self.add(node, f"use of frame/code attribute {attr!r}")

    def check_chain(self, node: ast.Attribute) -> None:
        root, names = _chain(node)
        if not isinstance(root, ast.Name) or root.id not in self.aliases or not names:
            return
        base = self.aliases[root.id]
        obj, ok = self._resolve(base)
        shown = root.id
        for name in names:
            if not ok:
                return
            shown += "." + name
            try:
                obj = getattr(obj, name)
            except AttributeError:
                return
            if not self._judge_object(node, shown, obj):
                return

    # -- module-level facts ----------------------------------------------------------------

    def collect(self) -> None:
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                if _is_docstring(parent, child):
                    self.docstrings.add(id(child.value))
        for node in self.tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                value = node.value
                stateful = isinstance(
                    value,
                    (ast.Dict, ast.List, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp,
                     ast.GeneratorExp),
                )  # fmt: skip
                if isinstance(value, ast.Call):
                    root, names = _chain(value.func)
                    callee = names[-1] if names else getattr(root, "id", "")
                    stateful = callee in STATEFUL_CALLS or (
                        isinstance(root, ast.Name)
                        and self.aliases.get(root.id, ("",))[:2] == ("numba", "typed")
                    ) or "typed" in names  # fmt: skip
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in _flatten_targets(targets):
                    if isinstance(t, ast.Name) and stateful:
                        self.stateful.add(t.id)
                    # `m = np` makes m another name for numpy
                    root, names = _chain(value)
                    if (
                        isinstance(t, ast.Name)
                        and isinstance(root, ast.Name)
                        and root.id in self.aliases
                        and isinstance(value, (ast.Name, ast.Attribute))
                    ):
                        self.aliases[t.id] = (*self.aliases[root.id], *names)

    # -- state -----------------------------------------------------------------------------

    def check_function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = fn.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            if not _constant_default(d):
                self.add(d, "a default argument that is not a constant (defaults persist: state)")
        nodes = list(_scope_nodes(fn))
        local = set(params)
        for node in nodes:
            for t in _flatten_targets(_store_targets(node)):
                if isinstance(t, ast.Name):
                    local.add(t.id)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local.add(node.name)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                local |= {(a.asname or a.name).split(".")[0] for a in node.names}
        # Locals that name outside state (`c = _CACHE`): writing through them writes the state.
        tainted: set[str] = set()
        for _ in range(3):
            for node in nodes:
                if isinstance(node, (ast.Assign, ast.For, ast.NamedExpr, ast.AnnAssign)):
                    value = node.iter if isinstance(node, ast.For) else node.value
                    if value is None:
                        continue
                    root, _ = _chain(value)
                    if isinstance(value, ast.Call) or not isinstance(root, ast.Name):
                        continue
                    outside = root.id not in local and root.id not in self.aliases
                    if outside or root.id in tainted:
                        for t in _flatten_targets(_store_targets(node)):
                            if isinstance(t, ast.Name):
                                tainted.add(t.id)
        for node in nodes:
            for t in _flatten_targets(_store_targets(node)):
                if isinstance(t, ast.Subscript):
                    root, _ = _chain(t)
                    name = getattr(root, "id", None)
                    if name in self.aliases:
                        continue  # reported as monkey-patching
                    if name is None or name not in local or name in tainted:
                        what = name or "a call's result"
                        self.add(t, f"writes to state outside the function ({what})")
            if isinstance(node, ast.Call):
                root, names = _chain(node.func)
                name = getattr(root, "id", None)
                outside = name is None or name not in local or name in tainted
                method = node.func.attr if isinstance(node.func, ast.Attribute) else None
                if method in MUTATORS and name not in self.aliases and outside:
                    self.add(node, f"changes state outside the function ({name}.{method})")
                if isinstance(node.func, ast.Name) and node.func.id == "next" and node.args:
                    arg_root, _ = _chain(node.args[0])
                    if isinstance(arg_root, ast.Name) and arg_root.id not in local:
                        what = arg_root.id
                        self.add(node, f"advances an iterator outside the function ({what})")
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id in self.stateful
                and node.id not in local
            ):
                self.add(node, f"uses module-level mutable {node.id!r} inside a function (state)")

    def check_monkey_patching(self, node: ast.AST) -> None:
        for t in _flatten_targets(_store_targets(node)):
            if isinstance(t, ast.Attribute):
                # Kernels have no objects to configure: attribute stores are how patches land
                # (np.sum = ..., a clock replaced) and how state hides (f.cache = {}).
                self.add(t, f"assigns attribute {t.attr!r} (monkey-patching or hidden state)")
            elif isinstance(t, ast.Subscript):
                root, _ = _chain(t)
                if isinstance(root, ast.Name) and root.id in self.aliases:
                    what = ".".join(self.aliases[root.id])
                    self.add(t, f"assigns into imported {what!r} (monkey-patching)")

    # -- everything ------------------------------------------------------------------------

    def run(self) -> list[str]:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.check_import(node)
        self.collect()
        for node in ast.walk(self.tree):
            self.check_node(node)
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self.check_function(node)
        return [f"line {line}: {message}" for line, message in sorted(self.problems)]

    def check_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES:
                self.add(node, f"use of {node.id!r}")
            elif node.id.startswith("__") and node.id.endswith("__"):
                self.add(node, f"use of {node.id!r}")
        elif isinstance(node, ast.Attribute):
            self._check_name_attr(node, node.attr)
            self.check_chain(node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            self.add(node, f"{type(node).__name__.lower()} state")
        elif isinstance(node, ast.ClassDef):
            self.add(node, "a class (state holders and ndarray subclasses; kernels need neither)")
        elif isinstance(node, (ast.Yield, ast.YieldFrom, ast.AsyncFunctionDef, ast.Await)):
            self.add(node, "a generator or coroutine (it keeps state and frames between calls)")
        elif isinstance(node, ast.Constant):
            self.check_constant(node)
        elif (
            isinstance(node, (ast.List, ast.Tuple, ast.Set))
            and len(node.elts) > MAX_LITERAL_ELEMENTS
        ):
            self.add(node, f"a literal of {len(node.elts)} elements (embedded data)")
        elif isinstance(node, ast.Dict) and len(node.keys) > MAX_LITERAL_ELEMENTS:
            self.add(node, f"a literal of {len(node.keys)} entries (embedded data)")
        self.check_monkey_patching(node)

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and value in self.secrets:
            self.add(node, f"the harness's seed or generator constant {value:#x}")
        if isinstance(value, (str, bytes)) and len(value) > MAX_LITERAL_CHARS:
            self.add(node, f"a literal of {len(value)} characters (embedded data)")
        if isinstance(value, str) and id(node) not in self.docstrings:
            hit = [s for s in FORBIDDEN_SUBSTRINGS if s.lower() in value.lower()]
            if hit or value.strip().lower() in FORBIDDEN_STRINGS:
                self.add(node, f"string {value[:60]!r} names the harness, its files or the clock")


def _constant_default(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_constant_default(e) for e in node.elts)
    return False


def static_problems(source: str, allowed: Iterable[str], secrets: Iterable[int] = ()) -> list[str]:
    """What kernels.py imports, touches or keeps that it may not (see docs/oracle.md)."""
    allowed = set(allowed)
    if len(source.encode()) > MAX_SOURCE_BYTES:
        size = len(source.encode())
        return [f"kernels.py is {size} bytes (limit {MAX_SOURCE_BYTES}): embedded data"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"syntax error: {exc}"]
    return _StaticChecker(tree, allowed, set(secrets)).run()


def static_check(target: str, kernels_path: Path | None = None) -> list[Failure]:
    path = kernels_path or PACKAGE_DIR / target / "kernels.py"
    allowed = allowed_imports(PACKAGE_DIR / target / "program.md")
    problems = static_problems(path.read_text(), allowed, harness_secrets(target))
    return [Failure(str(path.name), "static", p) for p in problems]


# ---------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------


def load_module_from(path: Path, name: str) -> ModuleType:
    """Import a kernels file from an arbitrary path (a baseline, a red-team kernel).

    numba's on-disk cache is keyed by the source file's path and records the module name the code
    was compiled under: the same file imported under a second name would load machine code that
    refers to the first (ModuleNotFoundError) once that name is gone. So the file is imported from a
    copy whose path is unique to (name, content).
    """
    source = Path(path).read_bytes()
    digest = hashlib.sha256(name.encode() + b"\0" + source).hexdigest()[:16]
    from autoresearch import state_root

    copy_path = state_root() / "modules" / digest / Path(path).name
    if not copy_path.exists() or copy_path.read_bytes() != source:
        copy_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(source)
        tmp.replace(copy_path)  # atomic: a concurrent loader sees the whole file or none
    spec = importlib.util.spec_from_file_location(name, copy_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run(
    target: str,
    kernels_path: Path | None = None,
    seeds: list[int] | None = None,
    static: bool = True,
) -> Report:
    """Static checks, then (only if they pass) every dynamic check.

    The kernel is imported only in a process of its own (autoresearch.kernel_process), started
    first so that its imports overlap the static check; this process computes every reference
    and every verdict. `static=False` skips the static checks: only for showing that the dynamic
    checks also catch a kernel the static check rejects first (the red-team suite). The command
    line has no such flag.
    """
    report = Report(target)
    process = KernelProcess(target, kernels_path)
    try:
        report.failures = static_check(target, kernels_path) if static else []
        if report.failures:
            return report
        return check_target(target, process, seeds)
    except BaseException as exc:
        report.failures.append(Failure("kernels.py", "raised", _process_text(exc)))
        return report
    finally:
        process.close()


def _process_text(exc: BaseException) -> str:
    if isinstance(exc, KernelProcessError):
        return f"the kernel's process {exc}"
    return f"{type(exc).__name__}: {exc}"


def format_report(report: Report) -> str:
    lines = [
        f"target: {report.target}",
        f"correctness: {'pass' if report.passed else 'fail'}",
        f"cases: {report.cases}",
        f"calls: {report.calls}",
        f"failures: {len(report.failures)}",
    ]
    lines += [f"failure: {f}" for f in report.failures[:20]]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2, which here means "kernel failed"
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m autoresearch.oracle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", help=f"one of: {', '.join(TARGETS)}")
    parser.add_argument("--kernels", type=Path, help="check this file instead of kernels.py")
    parser.add_argument("--seed", type=int, action="append", help="run only these seeds")
    args = parser.parse_args(argv)
    if not (PACKAGE_DIR / args.target / "inputs.py").exists():
        parser.error(f"unknown target {args.target!r}")
    if args.kernels is not None and not args.kernels.is_file():
        parser.error(f"no such kernels file: {args.kernels}")
    try:
        report = run(args.target, args.kernels, args.seed)
    except BaseException as exc:
        failure = Failure("oracle", "raised", f"{type(exc).__name__}: {exc}")
        report = Report(args.target, failures=[failure])
    print(format_report(report), flush=True)
    return 0 if report.passed else 2


if __name__ == "__main__":
    sys.exit(main())
