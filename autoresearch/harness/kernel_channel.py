"""The oracle's side of the kernel's process: start it, send calls, decode its replies as data.

`KernelProcess` starts `python -m autoresearch.kernel_process` (asv's configuration, then
kernels.py) and speaks its protocol: JSON and bytes both ways, nothing from the child unpickled
or executed here (`_decode`). `KernelSide` is what the checks call: the process, or for unit tests
an in-process executor (`_LocalChannel`); it keeps the run's outputs' memory spans to judge
aliasing and reads the child's own report of module state and tampering. docs/oracle.md, "The
trust boundary".
"""

from __future__ import annotations

import bisect
import contextlib
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autoresearch import PACKAGE_DIR
from autoresearch.harness.kernel_data import arrays_of, raw, structure
from autoresearch.harness.static_check import ALLOWED_NUMBA_MODULES, DENIED_NUMPY_MODULES

# Outputs stay alive in the kernel's process so that memory reused across calls shows (no address
# is handed out twice): all of them while they total at most this (each with a copy of its bytes,
# to tell whether it changed later), then all of the current case and of the latest earlier cases
# that fit.
KEEP_OUTPUT_BYTES = 128 << 20


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory (the whole buffer a view lives in)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


# Pipe capacity asked of Linux for the protocol's pipes (its unprivileged maximum by default). The
# oracle sends every case's inputs down a pipe (ivf_select: 1.7 GB per run); at the default 64 KiB
# the two processes hand over every 64 KiB and a pipe carried 0.7 GB/s on this machine, at 1 MiB
# 1.9 GB/s.
PIPE_BYTES = 1 << 20


def _widen(pipe: Any) -> None:
    """Ask for a PIPE_BYTES pipe (Linux only; elsewhere, or when refused, the default stays)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


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
    as a _Foreign. `spans` collects the memory facts of each decoded array, in arrays_of order."""
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
    import the kernel once the static check has passed, from `source`: the bytes the static
    check read (None: the file's, read now), sent to it, so that no later edit of the file runs
    unchecked."""

    def __init__(self, target: str, kernels_path: Path | None = None, source: bytes | None = None):
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
        for pipe in (self.proc.stdin, self.proc.stdout):
            _widen(pipe)
        self.started = False
        self.kernels_path = kernels_path  # named for numba's cache and the module's __file__
        if source is None:
            source = Path(kernels_path or PACKAGE_DIR / target / "kernels.py").read_bytes()
        self.source = source  # what both kernel processes compile (compile_ahead's too)

    def go(self, allowed: Iterable[str], ahead: bool = False) -> dict:
        """Let the kernel be imported; its hello (names, state, what the rules found). `ahead`:
        the compile-ahead process, whose numba code goes to a folder of its own."""
        meta, _ = self._reply()
        if not meta.get("ready"):
            raise KernelProcessError("did not start")
        self._send(
            ("go", {
                "allowed": list(allowed),
                "denied_numpy": list(DENIED_NUMPY_MODULES),
                "allowed_numba": list(ALLOWED_NUMBA_MODULES),
                "ahead": ahead,
                "source": self.source,
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
            self.proc.stdin.write(struct.pack("<Q", len(body)))
            self.proc.stdin.write(body)  # not concatenated: a case's inputs can be 10+ MB
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
        self.combo: list = []  # [workload function, arguments] of the speed workload being checked
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
                self.kept.append((called.oid, sum(a.nbytes for a in arrays_of(called.value))))
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
        meta, bufs = self.channel.request("fetch", rids=[m.rid for m in changed])
        new = {rid: bytes(b) for rid, b in zip(meta["rids"], bufs, strict=True)}
        problems = []
        for i, a in enumerate(arrays_of(args)):
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
