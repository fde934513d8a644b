"""A second kernel process that compiles, ahead of the oracle's, the argument types its cases
reach later.

numba compiles a jitted function once per argument types, and a strided array is another type
than a contiguous one: the oracle's kernel process compiles every function again when its cases
first pass a strided (or otherwise new) argument, one compile after another while the judge
waits (bm25: 3.8 s for its strided case; ivf_select: each function 2.2-2.4 s again for its
strided one; docs/gate.md, "Compiled ahead"). On two cores a second process of the same kernel,
started the same way (`KernelProcess`, once the static check passed), calls one case for each
(function, argument types) the cases reach after the first, in the order the oracle's process
will reach them.

It runs calls the oracle's process has not made, so a kernel can tell it apart and compile other
code there. What it compiles is filed apart (harness/numba_cache.py, "The oracle's second kernel
process"): asv's processes never read it; the oracle's process reads it after its own folder, and
files what it loads from it in its own before running it. So the code asv loads for any argument
types is code the oracle's process ran and judged. Nothing the second process returns is read;
it is killed when its list is done or the oracle's cases are, whichever is first. It compiles the
bytes the static check read, as the first does (sent, not read from the file again).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

from autoresearch.common import SplitMix64
from autoresearch.harness.cases import Case
from autoresearch.harness.kernel_channel import KernelProcess, KernelSide


def argument_types(func: str, args: tuple) -> tuple:
    """What numba dispatches `func(*args)` on: the type of each argument as numba reads it (an
    array's dtype, dimensions, layout, alignment, whether it is read-only)."""
    import numba

    def typeof(x: Any) -> str:
        try:
            return str(numba.typeof(x))
        except Exception:  # not a numba type (numba's own errors too): a wrapper's argument
            return type(x).__qualname__

    return (func, *(typeof(x) for x in args))


def later_signatures(cases: Iterable[Case], make: Callable[[Case], tuple]) -> Iterable[tuple]:
    """(case, args) for each (function, argument types) after the first, in the cases' order:
    the ones the oracle's process would compile after its first call."""
    seen: set[tuple] = set()
    for case in cases:
        args = make(case)
        key = argument_types(case.func, args)
        if key in seen:
            continue
        if seen:
            yield case, args
        seen.add(key)


class CompileAhead:
    """The second process and the thread that feeds it; `stop()` ends both (idempotent)."""

    def __init__(
        self,
        target: str,
        first: KernelProcess,
        cases: list[Case],
        seed: int,
        allowed: Iterable[str],
    ):
        """The second process imports what the oracle's (`first`) does: its file's name, its
        bytes, once `later_signatures` finds something to compile."""
        self.calls = 0  # cases it ran (tests; a call that raised counts too)
        self._target, self._first, self._allowed = target, first, list(allowed)
        self._cases, self._seed = cases, seed
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._process: KernelProcess | None = None
        self._thread = threading.Thread(target=self._run, name="compile-ahead", daemon=True)
        self._thread.start()

    def _make(self, case: Case) -> tuple:
        if self._stopped.is_set():
            raise _Stopped
        return case.make(SplitMix64(self._seed).spawn(case.label))

    def _run(self) -> None:
        with contextlib.suppress(Exception):  # whatever happens here, the oracle decides
            side = None
            for case, args in later_signatures(self._cases, self._make):
                if side is None:  # started only once there is something to compile
                    side = self._start()
                    if side is None:
                        break
                if side.has(case.func):
                    side.call(case.func, args, keep=False)
                    side.forget()
                    self.calls += 1
        self._end()

    def _end(self) -> None:
        """The process goes now (its list done, or stop()): a compile under way is lost."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.proc.kill()
            process.close()

    def _start(self) -> KernelSide | None:
        with self._lock:
            if self._stopped.is_set():
                return None
            first = self._first
            self._process = KernelProcess(self._target, first.kernels_path, first.source)
        hello = self._process.go(self._allowed, ahead=True)
        return None if "import_error" in hello else KernelSide(self._process, hello)

    def wait(self, timeout: float) -> bool:
        """Whether its list is done within `timeout` seconds (its process is gone then)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """End the process now (the oracle's process compiles what it still needs) and wait for
        the thread, which stops before its next case (a read from the killed process fails)."""
        self._stopped.set()
        with self._lock:  # killed here, closed once the thread is done with its pipes
            process = self._process
        if process is not None:
            process.proc.kill()
        self._thread.join()
        self._end()


class _Stopped(Exception):
    """stop() was called: the thread makes no more arguments."""
