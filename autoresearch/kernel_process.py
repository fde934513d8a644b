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

import importlib
import json
import os
import pickle
import struct
import sys
from typing import Any

import numpy as np

from autoresearch.harness.code_watch import Integrity
from autoresearch.harness.kernel_data import (
    encode,
    raw,
    root_of,
    snapshot,
    span,
    structure,
    workload_arrays,
)
from autoresearch.harness.module_state import (
    StateRules,
    _is_dispatcher,
    library_state,
    state_digests,
)
from autoresearch.harness.target_protocol import load_inputs

# Replies larger than this are a broken or hostile process, not a kernel's outputs.
MAX_HEADER_BYTES = 1 << 28
MAX_BUFFER_BYTES = 1 << 34

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
# The executor: what the oracle asks of the kernel's side
# ---------------------------------------------------------------------------


class Executor:
    """Runs kernels.py's functions on arrays it is sent and reports what happened.

    Input buffers ("roots") come from the oracle as bytes, or, for the speed workload, from this
    process's own build of it (its inputs.py workload function, checked against the oracle's by
    digest). Every root and every kept output stays alive until the run ends (kept outputs of
    the speed workload until the oracle releases them), so no address is handed out twice: an
    output overlapping one of them shares memory with it.
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
        """Calls on this process's own build of the speed workload `combo` ([inputs.py function
        name, its arguments]), in order, as `inputs.outputs` makes them: [name, spec] with spec as
        in define, plus ["w", i] (array i of the workload), ["wv", i, offset, shape, strides,
        dtype] (an array inside it) and ["o", k] (the k-th output of this pass) and ["b", array].
        `layout` ([i, shape, strides, dtype]) says how the oracle's build holds the arrays it
        refers to; `changes` ([i, byte offset, bytes]) are applied before the first call of the
        pass and undone at its end."""
        function, args = combo
        arrays = workload_arrays(getattr(self.inputs, function)(*args))
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


def _read_exact(fd: int, n: int) -> bytearray | None:
    data = bytearray(n)  # read in place: no list of chunks joined into a second copy
    view, got = memoryview(data), 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if not k:
            return None
        got += k
    return data


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
    from autoresearch.harness.numba_text import guard_numba_text

    guard_numba_text()  # as abtest does in asv's: before the seal and the kernel
    inputs = load_inputs(target)
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
    from numba.core import config

    from autoresearch.harness import numba_cache

    # Where numba files this process's machine code (harness/numba_cache.py, "The oracle's second
    # kernel process"): the compile-ahead process's apart from the folder asv loads, which the
    # oracle's process reads after its own; and, in both, a cache made after the import in a
    # folder nothing reads.
    main_root = config.CACHE_DIR
    ahead = bool(options.get("ahead")) and bool(main_root)
    if ahead:  # names no other process gives its code (numba_cache.AHEAD_UID_BASE)
        numba_cache.number_functions_apart()
    source = options["source"]  # the bytes the static check read, never the file read again
    try:
        with numba_cache.cache_root(numba_cache.ahead_root(main_root) if ahead else main_root):
            if path is not None:
                from autoresearch.oracle import load_module_from

                kernels = load_module_from(path, name, source)
            else:  # from the source's bytes, never a .pyc (harness/numba_cache.py)
                file = PACKAGE_DIR / target / "kernels.py"
                kernels = numba_cache.import_kernels(target, file, source)
        if main_root and not ahead:
            numba_cache.read_ahead(kernels)
        importlib.import_module(f"autoresearch.{target}.reference")
    except BaseException as exc:
        reply({"import_error": f"{type(exc).__name__}: {exc}"})
        return 0
    numba_cache.file_later_caches_unread(main_root)
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
