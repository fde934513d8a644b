"""The oracle's case runs: each case on every seed, its inputs presented as the benchmark's are.

A case's inputs are sometimes re-homed into a larger buffer with canaries (`_present`), guarded
for writes (`_Guard`), then passed again, fresh, changed in place and one element changed, to tell
a wrong, mutating, aliasing, stale or repeat-broken kernel (`_CaseRun`). `check_cases` runs a
target's cases until the verdict is in; `end_failures` and `tampered_failures` read what the
kernel's process saw at the end.
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from autoresearch.common import SplitMix64
from autoresearch.harness.cases import Case, Failure, Report, compare_outputs
from autoresearch.harness.kernel_channel import KernelSide, _root, _side
from autoresearch.harness.kernel_data import arrays_of
from autoresearch.harness.module_state import state_changes
from autoresearch.harness.outputs import leaves

FRESH_SEEDS = 2  # plus this many drawn from os.urandom on every run: no tuning to fixed seeds
REPEAT_CALLS = 5  # same inputs again and again, as a timing loop does, then re-check
MAX_FAILED_CASES = 3  # the verdict is in after this many failing cases: stop (quick rejections)
SEEN_ANSWERS = 32  # right answers remembered per function, to name a wrong answer "stale"
REFERENCE_ANSWERS = 8  # inputs whose reference answer a case run remembers (a check revisits 2-3)

# Inputs are sometimes re-homed into a larger buffer: this many canary bytes on each side catch
# writes past an input's bounds, and a random offset (a multiple of the item size below 64 bytes)
# makes alignment as uninformative as ownership.
CANARY_BYTES = 64


def _snapshot(args: Any) -> Any:
    return copy.deepcopy(args)


def _digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(a.tobytes(), digest_size=16).digest()


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
        arrays = arrays_of(args)
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
        self.items = [(a, _digest(a), _root(a), _digest(_root(a))) for a in arrays_of(args)]
        self.others = _snapshot([x for x in leaves(args) if not isinstance(x, np.ndarray)])
        self.args = args

    def problems(self) -> list[str]:
        found = []
        for i, (a, view_digest, root, root_digest) in enumerate(self.items):
            if _digest(a) != view_digest:
                found.append(f"input array {i} was written to")
            elif _digest(root) != root_digest:
                found.append(f"the buffer around input array {i} was written to (out of bounds)")
        others = [x for x in leaves(self.args) if not isinstance(x, np.ndarray)]
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
    xs, ys = arrays_of(a), arrays_of(b)
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
        self._answers: dict[bytes, Any] = {}  # the reference's answers by their inputs' content

    def reference(self, pristine: Any) -> Any:
        """The reference's answer for these inputs. A check asks again for contents it has seen
        (the data restored after an in-place change, the next data before it is changed): the
        reference is a pure function and runs in this process, so its answer is reused, keyed by
        the inputs' content (pickle keeps dtypes, shapes, scalar types and a repeated array)."""
        key = hashlib.blake2b(pickle.dumps(pristine, protocol=5), digest_size=16).digest()
        if key not in self._answers:
            if len(self._answers) >= REFERENCE_ANSWERS:
                self._answers.clear()
            self._answers[key] = self.rfunc(*_snapshot(pristine))
        return self._answers[key]

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
            for dst, src in zip(arrays_of(args), arrays_of(next_data), strict=True):
                if dst.flags.writeable:
                    np.copyto(dst, src)
            fails += self.changed_call(args, [expected], "changed in place")
        # One element of one array changed: defeats caches keyed on a fingerprint that reads the
        # small inputs whole and samples the large ones. One array at a time, so a change to one
        # input cannot hide behind a change to another.
        if case.partial_change and not fails:
            before = self.reference(args)
            for i, a in enumerate(arrays_of(args)):
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
            with changed_in_place(arrays_of(args), layout) as n:
                if n:
                    detail = f"{what}, one element of every input changed in place"
                    return self.changed_call(args, [expected], detail, keep=False)
            return []
        if _same_layout(args, other) and not _same_data(args, other):
            for dst, src in zip(arrays_of(args), arrays_of(other), strict=True):
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
    return all(x.tobytes() == y.tobytes() for x, y in zip(arrays_of(a), arrays_of(b), strict=True))


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
# Many cases, and the end of a run
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
