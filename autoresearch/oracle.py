"""The oracle: correctness checks shared by every target, run before (and after) any timing.

A kernel that is wrong never counts as fast. Each target's inputs.py lists its cases (`Case`); this
module runs them against the target's reference.py and judges the kernel:

- wrong        outputs outside tolerance (floats) or not bit-identical (everything else)
- contract     output type, dtype, shape or memory layout differs from the reference's
- mutated      the kernel wrote to one of its inputs (or to the buffer around it)
- aliased      an output shares memory with an input, the reference's output, an earlier call's
               output or kernels.py's own arrays
- stale        an answer for old data: a second call with new data of the same shape (fresh arrays,
               the same arrays changed in place, or one element changed) returns the earlier
               answer, or kernels.py's module state changed while it ran: caching across calls
- repeat       wrong after the same inputs were passed again and again (a timing-loop detector)
- raised       the kernel raised (anything, SystemExit included)
- static       kernels.py imports or touches something its program.md does not allow

Seeds: the fixed cases run on FIXED_SEEDS and on fresh random seeds drawn for every run, so a kernel
tuned to the fixed seeds fails. Held-out cases (never in program.md or the speed workload) run too.
Inputs are presented the way the speed workload presents them (sometimes owned arrays, sometimes
views into a larger buffer at a random offset), so array flags cannot tell the oracle apart. The
reference runs on a pristine copy, after the kernel returns. The speed workload itself is checked
too, as is and with one element of each array changed in place. docs/oracle.md has the full list.

Command: `python -m autoresearch.oracle TARGET [--kernels FILE]`; exit 0 pass, 2 fail, 1 bad usage.
Only a completed report with `correctness: pass` exits 0: a kernel that raises SystemExit, or fails
to import, is a failure.
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import hashlib
import importlib
import importlib.util
import itertools
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autoresearch import PACKAGE_DIR, TARGETS
from autoresearch.common import MAX_ABS_ERR, SplitMix64

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
KINDS = ("wrong", "contract", "mutated", "aliased", "stale", "repeat", "raised", "static")

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


def _tree_digest(obj: Any) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for a in _arrays(obj):
        h.update(a.tobytes())
    h.update(repr([x for x in _leaves(obj) if not isinstance(x, np.ndarray)]).encode())
    return h.digest()


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


def _aliased(
    actual: Any, args: Any, expected: Any, others: Iterable[tuple[str, Any]] = ()
) -> list[str]:
    outs = _arrays(actual)
    against = [("an input", a) for a in _arrays(args)]
    against += [("the reference's output", e) for e in _arrays(expected)]
    against += [(what, a) for what, obj in others for a in _arrays(obj)]
    found = []
    for i, o in enumerate(outs):
        if o.size == 0:
            continue
        for what, other in against:
            if other is not None and other.size and np.shares_memory(o, other):
                found.append(f"output {i} shares memory with {what}")
                break
    for i, o in enumerate(outs):
        for j in range(i):
            if o.size and outs[j].size and np.shares_memory(o, outs[j]):
                found.append(f"outputs {j} and {i} share memory")
    return found


def _call(func: Callable, args: tuple) -> tuple[Any, str | None]:
    try:
        return func(*args), None
    except BaseException as exc:
        return None, f"{type(exc).__name__}: {exc}"


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


def _module_arrays(module: ModuleType | None) -> list[tuple[str, np.ndarray]]:
    if module is None:
        return []
    return [
        (f"kernels.py's module-level {name}", v)
        for name, v in vars(module).items()
        if isinstance(v, np.ndarray)
    ]


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


class _CaseRun:
    """Every dynamic check of one case, seed after seed, sharing what earlier calls returned."""

    def __init__(
        self, case: Case, kernels: ModuleType, reference: ModuleType, seen: list | None = None
    ):
        self.case = case
        # Right answers of earlier calls of every case with this function (most recent last):
        # a wrong answer equal to one of them is stale, whichever case computed it.
        self.seen = seen if seen is not None else []
        self.kfunc = getattr(kernels, case.func, None)
        self.rfunc = getattr(reference, case.func)
        self.module_arrays = _module_arrays(kernels)
        self.history: list[tuple[Any, Any, bytes]] = []  # (output, expected, output digest)

    def reference(self, pristine: Any) -> Any:
        return self.rfunc(*_snapshot(pristine))

    def earlier(self) -> list[tuple[str, Any]]:
        return [("an earlier call's output", out) for out, _, _ in self.history]

    def stale_or(self, args: Any, actual: Any, default: str, old_expected: list) -> str:
        """'stale' when the wrong answer is right for data the kernel saw before."""
        for old in old_expected:
            if _same_layout(actual, old) and not _judge(self.case, args, actual, old):
                return "stale"
        return default

    def overwritten(self) -> list[str]:
        if any(_tree_digest(out) != digest for out, _, digest in self.history):
            return ["the output of an earlier call was changed by a later call"]
        return []

    def check(self, args: Any, next_data: Any | None, layout: SplitMix64) -> list[Failure]:
        """Fresh call, repeats, whole-array and one-element changes in place, for one seed."""
        case = self.case
        fail = lambda kind, msg: Failure(case.label, kind, msg)  # noqa: E731
        args = _present(args, layout)
        pristine = _snapshot(args)
        pristine_digest = _tree_digest(pristine)
        guard = _Guard(args)
        actual, err = _call(self.kfunc, args)
        if err:
            return [fail("raised", err)]
        fails = [fail("mutated", m) for m in guard.problems()]
        if _tree_digest(pristine) != pristine_digest:  # reached outside its arguments
            return [*fails, fail("mutated", "the oracle's pristine copy of the inputs changed")]
        # Computed only now: while the kernel ran, no right answer existed anywhere to copy.
        expected = self.reference(pristine)
        fails += [
            fail("aliased", m)
            for m in _aliased(actual, args, expected, [*self.earlier(), *self.module_arrays])
        ]
        fails += [fail("aliased", m) for m in self.overwritten()]
        olds = [e for _, e, _ in self.history] + self.seen[::-1]
        for p in _judge(case, pristine, actual, expected):
            kind = self.stale_or(pristine, actual, _kind(p), olds)
            fails.append(fail(kind, p if kind != "stale" else f"fresh arrays: {p}"))
        if fails:
            return fails
        self.history.append((actual, expected, _tree_digest(actual)))
        self.seen.append(expected)
        del self.seen[:-SEEN_ANSWERS]

        # The timing loop passes the same inputs again and again: results must stay right.
        for _ in range(REPEAT_CALLS):
            again, err = _call(self.kfunc, args)
            if problems := [err] if err else _judge(case, pristine, again, expected):
                return [fail("repeat", problems[0])]
            if reused := _aliased(again, (), None, self.earlier()):
                return [fail("aliased", f"same inputs again: {reused[0]}")]
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
        return fails

    def changed_call(self, args: Any, olds: list, what: str) -> list[Failure]:
        pristine = _snapshot(args)
        guard = _Guard(args)
        actual, err = _call(self.kfunc, args)
        try:
            expected = self.reference(pristine)
        except Exception:  # the change made the input invalid: nothing to judge
            return []
        if err:
            return [Failure(self.case.label, "raised", f"{what}: {err}")]
        fails = [Failure(self.case.label, "mutated", f"{what}: {m}") for m in guard.problems()]
        for p in _judge(self.case, pristine, actual, expected):
            kind = self.stale_or(pristine, actual, _kind(p), olds)
            fails.append(Failure(self.case.label, kind, f"{what}: {p}"))
        return fails


def check_case(
    case: Case, kernels: ModuleType, reference: ModuleType, rng: SplitMix64, cross_call: bool
) -> list[Failure]:
    """Every dynamic check for one case on one generator (a second draw supplies the new data)."""
    if getattr(kernels, case.func, None) is None:
        return [Failure(case.label, "contract", f"kernels.py has no function {case.func}")]
    run = _CaseRun(case, kernels, reference)
    args = case.make(rng)
    next_data = case.make(rng) if cross_call else None
    return run.check(args, next_data, rng.spawn("layout"))


def _check_seeds(
    case: Case,
    kernels: ModuleType,
    reference: ModuleType,
    seeds: list[int],
    seen: list | None = None,
) -> tuple[list[Failure], int]:
    """One case on every seed; each seed's in-place change takes the next seed's data."""
    if getattr(kernels, case.func, None) is None:
        return [Failure(case.label, "contract", f"kernels.py has no function {case.func}")], 0
    rngs = [SplitMix64(seed).spawn(case.label) for seed in seeds]
    argsets = [case.make(rng) for rng in rngs]
    if len(argsets) == 1:  # one seed asked for: draw the new data from it
        argsets.append(case.make(rngs[0]))
    pristine = [_snapshot(args) for args in argsets]
    run = _CaseRun(case, kernels, reference, seen)
    for n, seed in enumerate(seeds):
        next_data = pristine[(n + 1) % len(pristine)]
        fails = run.check(argsets[n], next_data, rngs[n].spawn("layout"))
        for f in fails:
            f.detail += f" (seed {seed})"
        if fails:
            return fails, n + 1  # one seed's failures say enough about this case
    return [], len(seeds)


def fresh_seeds(n: int = FRESH_SEEDS) -> list[int]:
    return [int.from_bytes(os.urandom(8), "little") for _ in range(n)]


# ---------------------------------------------------------------------------
# Module state: kernels must be stateless
# ---------------------------------------------------------------------------


# Set by numba on a dispatcher the first time it is passed to another jitted function as an
# argument (its type is memoized for pickling): a first-class function, not state a kernel keeps.
NUMBA_LAZY_ATTRIBUTES = {"_MemoMixin__uuid"}


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """What a module-level value holds, deep enough to see a cache fill or a counter move."""
    if isinstance(value, (int, float, complex, str, bytes, bool, type(None))):
        return ("value", repr(value))
    if depth > 8:
        return ("object", id(value))
    if isinstance(value, np.ndarray):
        root = _root(value)
        if root.dtype.hasobject:  # the pointers stay put while the objects they hold change
            return ("objects", id(root), _fingerprint(root.ravel().tolist(), depth + 1))
        return ("array", id(root), _digest(root))
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
    if hasattr(value, "py_func") and hasattr(value, "overloads"):  # a numba dispatcher
        # numba's own attributes keep their names, except the ones it adds lazily itself
        keys = tuple(sorted(set(vars(value)) - NUMBA_LAZY_ATTRIBUTES))
        return ("dispatcher", id(value), keys, _fingerprint(value.py_func, depth + 1))
    return ("object", id(value))


def _cell_full(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018  an empty cell raises
    except ValueError:
        return False
    return True


def library_state() -> dict[str, Any]:
    """numpy's process-wide settings: a kernel could keep a counter or a cache in them."""
    return {
        "numpy print options": repr(sorted(np.get_printoptions().items())),
        "numpy error handling": repr(sorted(np.geterr().items())),
        "numpy buffer size": np.getbufsize(),
        # the legacy global generator is exactly the shared state being watched here
        "numpy global random state": _tree_digest(list(np.random.get_state())),  # noqa: NPY002
    }


def module_state(module: ModuleType) -> dict[str, Any]:
    return {
        name: _fingerprint(v)
        for name, v in vars(module).items()
        if not (name.startswith("__") and name.endswith("__")) and not isinstance(v, ModuleType)
    }


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    names = sorted(set(before) | set(after))
    return [n for n in names if before.get(n) != after.get(n)]


# ---------------------------------------------------------------------------
# The speed workload: checked as is and with one element of each array changed
# ---------------------------------------------------------------------------


def workload_arrays(w: Any) -> list[np.ndarray]:
    """The arrays of a workload (dataclass, tuple, list or dict), not copies."""
    if dataclasses.is_dataclass(w) and not isinstance(w, type):
        return _arrays([getattr(w, f.name) for f in dataclasses.fields(w)])
    return _arrays(w)


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


def speed_workload_failures(
    inputs: ModuleType, kernels: ModuleType, reference: ModuleType, rng: SplitMix64
) -> tuple[list[Failure], list[str]]:
    """Every speed workload combination, as is and with one element per array changed in place.

    Catches what only shows on the benchmark's own data: answers looked up by a fingerprint of
    the workload, or a kernel exact on the oracle's arrays and approximate on the benchmark's.
    `inputs.perturbable(w)` may name the arrays safe to change (default: all of them).
    """
    combos = speed_combinations(inputs)
    if not combos:
        return [], ["speed workload: not checked (inputs.py has no workload/outputs convention)"]
    fails = []
    for combo in combos:
        label = f"speed workload {combo}"
        try:
            w = inputs.workload(*combo)
        except Exception as exc:  # the harness's problem, not the kernel's: say so, fail nothing
            return fails, [f"speed workload: not checked ({type(exc).__name__}: {exc})"]
        actual, err = _call(inputs.outputs, (kernels, w))
        expected = inputs.outputs(reference, w)  # after the kernel, as everywhere
        if err:
            fails.append(Failure(label, "raised", err))
            continue
        if bad := count_mismatches(actual, expected):
            fails.append(Failure(label, "wrong", f"{bad} mismatches on the benchmark's own data"))
            continue
        arrays = inputs.perturbable(w) if hasattr(inputs, "perturbable") else workload_arrays(w)
        with changed_in_place(arrays, rng) as n:
            if not n:
                continue
            actual, err = _call(inputs.outputs, (kernels, w))
            try:
                changed = inputs.outputs(reference, w)
            except Exception:  # the change made the workload invalid: nothing to judge
                continue
        if err:
            fails.append(Failure(label, "raised", f"one element changed in place: {err}"))
        elif bad := count_mismatches(actual, changed):
            kind = "stale" if count_mismatches(actual, expected) == 0 else "wrong"
            fails.append(Failure(label, kind, f"one element changed in place: {bad} mismatches"))
    return fails, [f"speed workload: {len(combos)} combinations checked"]


# ---------------------------------------------------------------------------
# Whole-target check
# ---------------------------------------------------------------------------


def check_cases(
    cases: list[Case],
    kernels: ModuleType,
    reference: ModuleType,
    seeds: Iterable[int],
    target: str = "",
) -> Report:
    """Every case on every seed, then whether the kernel module (or numpy) kept state.

    Stops after MAX_FAILED_CASES failing cases. The building block of check_target, usable with
    any cases, kernels and reference (tests use toy ones).
    """
    seeds = list(seeds)
    report = Report(target, cases=len(cases))
    state, library = module_state(kernels), library_state()
    seen: dict[str, list] = {}
    failed = 0
    for case in cases:
        fails, calls = _check_seeds(case, kernels, reference, seeds, seen.setdefault(case.func, []))
        report.calls += calls
        report.failures += fails
        failed += bool(fails)
        if failed >= MAX_FAILED_CASES:
            report.notes.append(f"stopped after {failed} failing cases")
            break
    report.failures += state_failures(kernels, state, library)
    report.failures += cache_failures(kernels)
    return report


def cache_failures(kernels: ModuleType) -> list[Failure]:
    """`contract` failures for compiled signatures numba's on-disk cache cannot carry over.

    A jitted function passed to a cached one as an argument works in the process that compiled
    it, but another process cannot match or re-save that cache entry: asv's benchmark processes
    failed with "ReferenceError: underlying object has vanished" (predicate, experiment of
    2026-11-26), intermittently, after this oracle had passed the kernel in one process.
    """
    from numba.core import types as nbtypes

    fails = []
    for name, value in vars(kernels).items():
        if not (hasattr(value, "py_func") and hasattr(value, "overloads")):
            continue
        if type(getattr(value, "_cache", None)).__name__ == "NullCache":
            continue  # not cached: nothing to carry over
        for sig in list(value.overloads):
            passed = [t for t in sig if isinstance(t, (nbtypes.Dispatcher, nbtypes.FunctionType))]
            if passed:
                fails.append(
                    Failure(
                        f"{name}",
                        "contract",
                        f"cached jitted function {name} takes a jitted function as an argument "
                        f"({passed[0]}): numba's on-disk cache breaks on such signatures across "
                        "processes (ReferenceError in the benchmark). Pass an integer code and "
                        'branch on it, or call the function directly (`inline="always"`)',
                    )
                )
                break
    return fails


def state_failures(
    kernels: ModuleType, state: dict[str, Any], library: dict[str, Any]
) -> list[Failure]:
    """`stale` failures for module-level or process-wide state changed since the snapshots."""
    fails = []
    if changed := state_changes(state, module_state(kernels)):
        fails.append(
            Failure(
                "kernels.py",
                "stale",
                f"module-level state changed while its functions ran: {', '.join(changed)} "
                "(kernels must be stateless: no caches, counters or buffers kept between calls)",
            )
        )
    if changed := state_changes(library, library_state()):
        fails.append(
            Failure("kernels.py", "stale", f"changed process-wide state: {', '.join(changed)}")
        )
    return fails


def check_target(
    target: str, kernels: ModuleType | None = None, seeds: Iterable[int] | None = None
) -> Report:
    """Run every case of `target` on the fixed seeds plus fresh ones, then the speed workload."""
    reference = importlib.import_module(f"autoresearch.{target}.reference")
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    kernels = kernels or importlib.import_module(f"autoresearch.{target}.kernels")
    seeds = list(seeds) if seeds is not None else [*FIXED_SEEDS, *fresh_seeds()]
    state, library = module_state(kernels), library_state()
    report = check_cases(inputs.correctness_cases(), kernels, reference, seeds, target)
    if not report.failures:
        rng = SplitMix64(seeds[-1] if seeds else 0).spawn("speed workload")  # a fresh seed
        fails, notes = speed_workload_failures(inputs, kernels, reference, rng)
        report.failures += fails
        report.notes += notes
        report.failures += state_failures(kernels, state, library)
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
    top = name.split(".")[0]
    if top not in allowed:
        return False
    if top == "numpy":
        return not any(name == d or name.startswith(d + ".") for d in DENIED_NUMPY_MODULES)
    if top == "numba":  # numba itself, and only the listed submodules
        return name == "numba" or any(
            name == m or name.startswith(m + ".") for m in ALLOWED_NUMBA_MODULES if m != "numba"
        )
    return True


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


@contextmanager
def _as_the_kernels_module(target: str) -> Iterator[str]:
    """Load a candidate under the real module name (its name must not tell the oracle apart),
    putting back whatever that name was bound to afterwards."""
    name = f"autoresearch.{target}.kernels"
    previous = sys.modules.get(name)
    try:
        yield name
    finally:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)


def run(
    target: str,
    kernels_path: Path | None = None,
    seeds: list[int] | None = None,
    static: bool = True,
) -> Report:
    """Static checks, then (only if they pass) every dynamic check.

    `static=False` skips the static checks: only for showing that the dynamic checks also catch a
    kernel the static check rejects first (the red-team suite). The command line has no such flag.
    """
    report = Report(target)
    report.failures = static_check(target, kernels_path) if static else []
    if report.failures:
        return report
    with _as_the_kernels_module(target) as name:
        try:
            kernels = load_module_from(kernels_path, name) if kernels_path is not None else None
            return check_target(target, kernels, seeds)
        except BaseException as exc:
            report.failures.append(Failure("kernels.py", "raised", f"{type(exc).__name__}: {exc}"))
            return report


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
