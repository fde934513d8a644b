"""The oracle's check of the speed workload, and the disguised copies timing uses.

The speed workload (every combination of every asv class's workload, inputs.SPEED_WORKLOADS)
is run through the kernel's process once as is, recording which arrays it passes (`_Recorder`),
then replayed with one element of each array changed in place (`_Replayer`): a kernel that
answers from memory is stale there. `workload_mismatches` is the same check run in asv's process
(`track_mismatches`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.harness.case_runs import REPEAT_CALLS, _change_one_element, changed_in_place
from autoresearch.harness.cases import Failure, count_mismatches
from autoresearch.harness.kernel_channel import (
    KernelProcessError,
    KernelSide,
    _address,
    _decode,
    _Outcome,
    _outcome,
    _side,
    _Spans,
)
from autoresearch.harness.kernel_data import span, workload_arrays
from autoresearch.harness.target_protocol import speed_workloads

DISGUISE_JITTER = 1e-5  # relative jitter of a disguised workload's floats (~80 float32 ulps)


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


def speed_combinations(inputs: ModuleType) -> list[tuple[str, str, tuple]]:
    """(label, workload function, its arguments) of every combination of every speed workload
    inputs.SPEED_WORKLOADS declares (target_protocol): what the asv suites time."""
    return speed_workloads(inputs)


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


NOT_CHECKED = "speed workload: not checked"  # the note when a combination could not be built


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
    side = _side(kernels, inputs)
    fails = []
    for name, function, args in combos:
        label = f"speed workload {name}"
        try:
            w = getattr(inputs, function)(*args)
        except Exception as exc:  # the harness's problem, not the kernel's: say so, fail nothing
            return fails, [f"{NOT_CHECKED} ({type(exc).__name__}: {exc})"]
        side.combo = [function, list(args)]
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
