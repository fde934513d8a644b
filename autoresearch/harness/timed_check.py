"""What the paired benchmark checks around its timing (abtest.paired_samples): the errors it
refuses with, a call that records every result the kernels computed, and TimedCheck, the
candidate's outputs judged in the process that times it.

Nothing here takes the kernel's word for anything: it shares this process (docs/design.md,
"Trusting the timing"), so every module here is sealed with the rest of the harness (integrity.py).
"""

from __future__ import annotations

import copy
import importlib
import os
import types
from collections.abc import Callable
from types import ModuleType

from autoresearch import PACKAGE_DIR, oracle
from autoresearch.common import SplitMix64
from autoresearch.harness.outputs import Ranges, extents, flat, same_bits

# Calls checked after the timing loop: as many as were timed, up to this many. A shortcut the gate
# could keep (thresholds.MIN_GAIN: 1%) is taken on >= 1% of calls, and passes 1000 checks with
# probability 0.99**1000 = 4e-5; checking every call cost bitpack 38 of 47 CPU-s (docs/gate.md).
AFTER_CHECK_CALLS = 1000


class TimingGuardError(Exception):
    """The paired benchmark refuses to return ratios: what it measured cannot be trusted."""


class HarnessChangedError(TimingGuardError):
    """Code or state the verdict runs through changed after the kernel loaded (integrity.py)."""


class WrongWhileTimedError(TimingGuardError):
    """The candidate's outputs were wrong, aliased or stale where its speed was measured."""


class UncachedKernelError(TimingGuardError):
    """A side still compiles in the timing process after a child compiled it into numba's cache
    (numba will not cache it, or it compiles something new on every load): it would be timed by
    another route than its opponent (abtest.load_on_one_route)."""


class CompiledWhileTimedError(TimingGuardError):
    """numba compiled something while the two sides were timed, after both had been warmed on
    the timed workload (abtest.paired_samples): a function first called after so many calls,
    compiled in the timing process, runs by another route than its opponent's (loaded from the
    cache), and its compile would be timed too. Every function a call uses compiles in its
    first call, in the child that fills the cache."""


def _recording(func: Callable, results: list) -> Callable:
    def recorded(*args, **kwargs):
        out = func(*args, **kwargs)
        results.append(out)
        return out

    return recorded


def recorded_call(run: Callable, module: ModuleType, w: object) -> Callable[[], list]:
    """A call of `run(module, w)` that returns every result the kernels computed in it: the
    module seen through wrappers (made once) that keep each function's result, so a check sees
    everything one timed call computed, not only what `search` returns (the last query's). A
    recorded call costs one list append per kernel call more than a plain one."""
    results: list = []
    recorder = types.SimpleNamespace()
    for name, value in vars(module).items():
        if callable(value) and not name.startswith("__"):
            setattr(recorder, name, _recording(value, results))

    def call() -> list:
        run(recorder, w)
        out = results[:]
        results.clear()
        return out

    return call


def warming(inputs: ModuleType, run: Callable, w: object) -> Callable[..., None]:
    """The pairing's warm-up of its two modules: the timed call `run(module, w)`, then the calls
    TimedCheck's outputs make beyond it (`inputs.judged_calls`, where a target has any), so that
    nothing compiles from the warm-up's end to the timing's (abtest.paired_samples)."""
    judged = getattr(inputs, "judged_calls", None)

    def warm(*modules: ModuleType) -> None:
        for module in modules:
            run(module, w)
            if judged is not None:
                judged(module, w)

    return warm


class TimedCheck:
    """The candidate's outputs, checked in the process that times it (docs/design.md).

    The oracle makes a few thousand calls; a timing loop makes more, and a kernel keeping a count
    can be exact for the first and take a shortcut after. So, on the salted workload being timed:
    - before timing, the candidate's outputs (`inputs.outputs`, judged as track_mismatches judges
      them) against the baseline kernel's, which the oracle passed when it was kept and which ran
      in this process under the same seal; if they differ, against a fresh copy of reference.py
      (the baseline is the one that is wrong when the current oracle rejects it: a repair);
    - after the timing loop, as many calls as were timed (at most AFTER_CHECK_CALLS), each seen
      through a recorder (every result the kernels computed in it, not only what `search`
      returns): every result bit for bit what the candidate's first call returned on the same
      inputs (kernels are deterministic: one thread, the same inputs), sharing no memory with it,
      with the previous call's results or with an input (a buffer handed out again);
    - then one element of each workload array changed in place: the outputs must follow
      (against the baseline's, or the reference's): an answer remembered across calls does not;
    - and kernels.py's module-level state and numpy's process-wide state unchanged since
      before timing (oracle.module_state: a counter or memo the oracle would see there).
    Any failure raises WrongWhileTimedError. A kernel that cheats only while the loop runs (a
    window of calls) passes these; its speed-up then exists in this process only, and the
    parent's confirmation, which checks results inside its timed chunks, does not see it.
    """

    def __init__(self, target, inputs, candidate, baseline, w, run):
        self.target, self.inputs, self.w, self.run = target, inputs, w, run
        self.candidate, self.baseline = candidate, baseline
        self.recorded = recorded_call(run, candidate, w)  # every kernel result of one call
        self.inputs_arrays = oracle.workload_arrays(w)
        self.inputs_extents = extents(self.inputs_arrays)
        self.first = self.first_bits = self.first_flat = self.previous_out = None
        self.previous = Ranges([])  # where the last checked call's results are
        self.checked = 0
        self._reference = None
        # reference.py's functions may compile here (a candidate whose bits differ is judged with
        # it): the package's (sealed: one swapped is refused before timing) and the fresh copy's
        self._allowed: dict[int, object] = {}
        self._allow(importlib.import_module(f"autoresearch.{target}.reference"))

    def _allow(self, module: ModuleType) -> None:
        self._allowed.update((id(v), v) for v in vars(module).values())

    def compiles_allowed(self, dispatcher: object) -> bool:
        """Whether numba may compile `dispatcher` in the window where compiles are refused
        (abtest.paired_samples): one of reference.py's functions, by identity."""
        return self._allowed.get(id(dispatcher)) is dispatcher

    def fail(self, text: str) -> None:
        raise WrongWhileTimedError(f"{self.target}: {text}")

    def reference(self) -> ModuleType:
        """reference.py loaded afresh (the module the suite imported ran next to the kernel)."""
        if self._reference is None:
            path = PACKAGE_DIR / self.target / "reference.py"
            self._reference = oracle.load_module_from(path, f"autoresearch_timed_{self.target}")
            self._allow(self._reference)
        return self._reference

    def outputs(self, impl: ModuleType) -> object:
        try:
            return self.inputs.outputs(impl, self.w)
        except Exception as exc:
            if impl is not self.candidate:
                raise
            self.fail(f"raised: {type(exc).__name__}: {exc}")

    def mismatches(self, actual: object, expected: object) -> int:
        """Mismatches of `actual` (the candidate's outputs on self.w) against `expected` (the
        baseline's); when those differ, against the reference's."""
        if not oracle.count_mismatches(actual, expected):
            return 0
        return oracle.count_mismatches(actual, self.outputs(self.reference()))

    def call(self) -> object:
        try:
            return self.recorded()
        except Exception as exc:
            self.fail(f"raised: {type(exc).__name__}: {exc}")

    def before(self) -> None:
        self.first = self.call()
        if bad := self.timed_mismatches(self.first, self.baseline_call()):
            self.fail(f"wrong: {bad} mismatches on the paired (salted) workload before timing")
        self.first_bits = copy.deepcopy(self.first)
        self.first_flat = flat(self.first_bits)  # None: judged by same_bits and extents
        first = extents(self.first)
        self.held = Ranges(first + self.inputs_extents)  # the first call's results and the inputs
        if Ranges(first).clash() or Ranges(self.inputs_extents).hit(Ranges(first)):
            self.fail("aliased: a result of the timed call shares memory with an input or another")
        self.state = oracle.module_state(self.candidate)
        self.library = oracle.library_state()

    def timed_mismatches(self, results: list, base: list) -> int:
        """The candidate's timed-call `results` against the baseline's `base`, on self.w: none when
        bit for bit the same (as right as the kept kernel, nothing left to judge: bm25's judged
        outputs run the reference, 0.7 s a combination); otherwise its outputs judged as
        track_mismatches judges them."""
        if same_bits(results, base):
            return 0
        expected = self.outputs(self.baseline)
        return self.mismatches(self.outputs(self.candidate), expected)

    def changed_mismatches(self) -> int:
        """timed_mismatches on the workload as changed in place (0 when the change made it
        invalid: the baseline raised)."""
        try:
            base = self.baseline_call()
        except Exception:
            return 0
        try:
            return self.timed_mismatches(self.call(), base)
        except WrongWhileTimedError:
            raise
        except Exception:
            return 0  # the baseline's outputs raised on the changed workload

    def baseline_call(self) -> list:
        """Every result of one call of the timed workload by the baseline."""
        return recorded_call(self.run, self.baseline, self.w)()

    def judge(self, out: object, what: str) -> None:
        self.checked += 1
        mine_flat = flat(out) if self.first_flat is not None else None
        if mine_flat is not None:
            same, ranges = mine_flat.same(self.first_flat), mine_flat.ranges
        else:
            same, ranges = same_bits(out, self.first_bits), extents(out)
        if not same:
            self.fail(
                f"wrong: {what} returned other bits than its first call on the same inputs "
                "(a kernel's result may not depend on how often it was called)"
            )
        mine = Ranges(ranges)
        if mine.clash() or self.held.hit(mine) or self.previous.hit(mine):
            self.fail(f"aliased: {what} returned memory shared with an earlier result or an input")
        self.previous, self.previous_out = mine, out  # alive: its memory cannot be handed out again

    def after(self, calls: int) -> None:
        calls = min(calls, AFTER_CHECK_CALLS)
        for i in range(calls):
            self.judge(self.call(), f"call {i + 1} of {calls} after timing")
        self.previous, self.previous_out = Ranges([]), None
        arrays = (
            self.inputs.perturbable(self.w)
            if hasattr(self.inputs, "perturbable")
            else self.inputs_arrays
        )
        rng = SplitMix64(int.from_bytes(os.urandom(8), "little"))
        with oracle.changed_in_place(list(arrays), rng) as changed:
            if changed and (bad := self.changed_mismatches()):
                self.fail(
                    f"stale: after timing, one element of each input changed in place: "
                    f"{bad} mismatches (an answer remembered across calls)"
                )
        changes = oracle.state_changes(self.state, oracle.module_state(self.candidate))
        changes += oracle.state_changes(self.library, oracle.library_state())
        if changes:
            self.fail(
                "stale: state changed while the kernel was timed: "
                f"{', '.join(changes)} (kernels keep nothing between calls)"
            )
