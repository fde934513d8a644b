"""The timing side cannot be reached by the kernel it times (docs/design.md, "Trusting the timing").

- integrity.py: a process sealed before its kernel loads names every route a kernel could take to
  the code that judges it, and an honest kernel changes nothing;
- abtest.paired_samples (through the suites' track_ab_ratio, as the quick look runs it): every
  current kernel is timed and passes the checks made where it is timed; every red-team kernel
  declared `expect: timing` is refused with the error its docstring names;
- confirm.py: the parent's own measurement agrees with a kernel paired with itself, sees a slower
  one, and fails when a process works off the clock or returns other results while timed;
- gate.py: a keep needs the confirmation to agree; experiment.py: a refusal is the candidate's
  crash, end to end in a clone (slow).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from autoresearch import PACKAGE_DIR, TARGETS, abtest, confirm, gate, integrity, oracle
from autoresearch.harness import decide, outputs, thresholds

REPO = PACKAGE_DIR.parent
REDTEAM = REPO / "tests" / "redteam"
REFUSED = re.compile(r"^refused:\s*(\w+)\s*$", re.MULTILINE)
# A kernel refused by its named error in one of a combination's two processes only says which:
# `order: baseline-first` (the suites' second process) or `order: candidate-first` (the first).
ORDER = re.compile(r"^order:\s*(baseline-first|candidate-first)\s*$", re.MULTILINE)

# One small combination per target: the quick look's --match.
SMALL = {
    "pq_l2": r"/\(128,16,256\)/uniform$",
    "distances": r"^Distances/l2_batch/128$",
    "ivf_select": r"/\(256,128\)/20$",
    "topk_merge": r"^TopkMerge/",
    "bm25": r"",
    "bitpack": r"^Unpack/",
    "dictionary": r"^DictDecode/",
    "fsst": r"",
    "take": r"/random/0\.1$",
    "predicate": r"",
    "posting_intersect": r"",
}


# One combination per target for the parent's confirmation (a gate label).
LABELS = {"pq_l2": "PqL2/(128,16,256)/uniform", "ivf_select": "IvfSelect/(256,128)/20"}


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTORESEARCH_AB_BASELINE",)}
    env.update(OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONPATH=str(REPO), **extra)
    return env


def quick(target: str, *args: str, seconds: str = "0.05") -> subprocess.CompletedProcess:
    """`python -m autoresearch.abtest` (the suites' own track_ab_ratio, in a fresh process)."""
    return subprocess.run(
        [sys.executable, "-m", "autoresearch.abtest", target, "--seconds", seconds, *args],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


# ---------------------------------------------------------------------------
# integrity.py
# ---------------------------------------------------------------------------

UNTOUCHED = """
import sys
from autoresearch import abtest, integrity
from autoresearch.pq_l2 import inputs
snapshot = integrity.seal("pq_l2")
from autoresearch.pq_l2 import kernels
w = abtest.salted_workload(inputs.workload, ((128, 16, 256), "uniform"), 12345, None)
for _ in range(3):
    inputs.search(kernels, w)
abtest.paired_ratios(lambda: inputs.search(kernels, w), lambda: inputs.search(kernels, w), 0.02)
print("changes:", snapshot.changes())
"""


def test_an_honest_kernel_changes_nothing_the_seal_watches():
    proc = subprocess.run(
        [sys.executable, "-c", UNTOUCHED], cwd=REPO, env=_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "changes: []" in proc.stdout, proc.stdout + proc.stderr


def _rebind(module, name, value):
    saved = getattr(module, name)
    setattr(module, name, value)
    return lambda: setattr(module, name, saved)


def _swap_code(func):
    saved = func.__code__
    func.__code__ = (lambda *a, **k: None).__code__.replace(co_name=saved.co_name)
    return lambda: setattr(func, "__code__", saved)


def _defaults(func):
    saved = func.__defaults__
    func.__defaults__ = (0.0,)
    return lambda: setattr(func, "__defaults__", saved)


def _trace():
    sys.settrace(lambda *a: None)
    return lambda: sys.settrace(None)


def _handler():
    saved = signal.signal(signal.SIGALRM, lambda *a: None)
    return lambda: signal.signal(signal.SIGALRM, saved)


def _meta_path():
    finder = object()
    sys.meta_path.insert(0, finder)
    return lambda: sys.meta_path.remove(finder)


def _class_attr():
    abtest.TimedCheck.extra = staticmethod(lambda: None)
    return lambda: delattr(abtest.TimedCheck, "extra")


def _thread():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    return lambda: (stop.set(), t.join())


ROUTES = {
    "pairing function": (lambda: _rebind(abtest, "_pairs", None), "abtest._pairs was rebound"),
    "clock": (lambda: _rebind(abtest, "_clock", lambda: 0.0), "abtest._clock was rebound"),
    "swapped code": (lambda: _swap_code(abtest._timed), "code of autoresearch.abtest._timed"),
    "new defaults": (lambda: _defaults(abtest.paired_ratios), "default arguments of"),
    "tolerance": (lambda: _rebind(oracle, "MAX_ABS_ERR", 1.0), "oracle.MAX_ABS_ERR was rebound"),
    "comparison": (lambda: _rebind(oracle, "count_mismatches", None), "count_mismatches was"),
    "numpy": (lambda: _rebind(np, "array_equal", None), "numpy.array_equal was rebound"),
    "json": (lambda: _rebind(json, "dump", None), "json.dump was rebound"),
    "builtins": (lambda: _rebind(builtins, "sorted", list), "builtins.sorted was rebound"),
    "trace function": (_trace, "sys.gettrace() changed"),
    "signal handler": (_handler, "handler of SIGALRM changed"),
    "import hook": (_meta_path, "sys.meta_path changed"),
    "class attribute": (_class_attr, "TimedCheck.extra was added"),
    "thread": (_thread, "threads:"),
}


@pytest.mark.parametrize("route", ROUTES, ids=list(ROUTES))
def test_every_route_to_the_judges_is_named(route):
    apply, expected = ROUTES[route]
    snapshot = integrity.Snapshot.take([abtest, oracle])
    assert snapshot.changes() == []
    undo = apply()
    try:
        changes = snapshot.changes()
    finally:
        undo()
    assert any(expected in c for c in changes), changes
    assert snapshot.changes() == []  # undone: nothing left over


def test_the_seal_is_taken_before_the_first_kernel_runs():
    """asv's benchmark processes seal themselves: importing abtest installs the trigger, and the
    first kernels import seals before the kernel's own code runs (it finds the seal in place)."""
    script = (
        "import sys; from autoresearch import abtest, integrity\n"
        "assert integrity.sealed() is None\n"
        "from autoresearch.ivf_select import kernels\n"
        "s = integrity.sealed()\n"
        "assert s is not None and not s.late, s and s.late\n"
        "assert 'autoresearch.ivf_select.reference' in s.modules and 'numba' in s.modules\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=_env(), capture_output=True, text=True
    )
    assert proc.stdout.strip() == "ok", proc.stderr


# ---------------------------------------------------------------------------
# abtest: honest kernels pass, red-team kernels are refused
# ---------------------------------------------------------------------------


# The default run times one target's kernel (the quickest); `--runslow` times every target's.
@pytest.mark.parametrize(
    "target", [t if t == "ivf_select" else pytest.param(t, marks=pytest.mark.slow) for t in TARGETS]
)
def test_every_current_kernel_is_timed_and_passes_the_checks_where_it_is_timed(target):
    proc = quick(target, "--match", SMALL[target], "--baseline", "HEAD")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "geomean" in proc.stdout


def timing_redteam() -> list[Path]:
    out = []
    for path in sorted(REDTEAM.glob("*/*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if doc.splitlines()[:1] == ["expect: timing"]:
            out.append(path)
    return out


def _refused_by(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    m = REFUSED.search(doc)
    assert m, f"{path}: a timing red-team kernel names its refusal (`refused: SomeError`)"
    return m.group(1)


def test_there_are_timing_redteam_kernels_for_several_targets():
    paths = timing_redteam()
    assert len({p.parent.name for p in paths}) >= 3, paths
    refusals = {_refused_by(p) for p in paths}
    assert refusals == {
        "HarnessChangedError",
        "WrongWhileTimedError",
        "CompiledWhileTimedError",
        "confirmation",
    }, refusals


# The default run: pq_l2's kernels for the paired benchmark's refusals (HarnessChangedError by three
# routes, WrongWhileTimedError), in both of a combination's processes; the confirmation's refusal
# of changing bits is quick below (test_results_that_change_while_timed_fail_the_confirmation).
QUICK_TIMING = {
    "clock_discount",
    "pairing_scaled",
    "late_shortcut",
    "slow_the_baseline",
    "compile_when_timed",
    "compile_before_timed",
}


def _orders(path: Path) -> list[str]:
    """The processes of a combination that must refuse the kernel: the quick look's flags."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    if m := ORDER.search(doc):
        return ["--baseline-first"] if m.group(1) == "baseline-first" else [""]
    return [] if _refused_by(path) == "confirmation" else ["", "--baseline-first"]


@pytest.mark.parametrize(
    ("path", "order"),
    [
        (p, o)
        if p.parent.name == "pq_l2" and p.stem in QUICK_TIMING
        else pytest.param(p, o, marks=pytest.mark.slow)
        for p in timing_redteam()
        for o in (_orders(p) or [""])
    ],
    ids=lambda x: f"{x.parent.name}/{x.stem}" if isinstance(x, Path) else x or "candidate-first",
)
def test_timing_redteam_kernel_is_refused_where_it_is_timed(path, order, tmp_path):
    """In the paired benchmark (the quick look runs the suite's own track_ab_ratio, or with
    --baseline-first its track_ab_ratio_baseline_first), or, for `refused: confirmation`, by the
    parent's confirmation process that runs it (the baseline's side here: the check is the same
    on both sides, and the candidate's is the package's)."""
    error, target = _refused_by(path), path.parent.name
    if error == "confirmation":
        out = confirm.confirm_run(
            target, [LABELS[target]], 0x5EED, tmp_path, path.read_bytes(), Path(sys.executable),
            REPO, _env(),
        )  # fmt: skip
        assert not out["ok"] and out["failed_side"] == "baseline", out
        assert "other bits" in out["error"], out["error"]
        return
    flags = [order] if order else []
    # late_shortcut turns wrong after 2000 calls of the instance timed, a new one since session 41
    # (abtest.paired_samples): long enough a pairing that it gets there
    seconds = "0.5" if path.stem == "late_shortcut" else "0.05"
    proc = quick(target, "--kernels", str(path), "--match", SMALL[target], *flags, seconds=seconds)
    shown = proc.stdout + proc.stderr[-4000:]
    assert proc.returncode == 2, shown
    assert f"{error}: " in proc.stderr, shown
    if path.stem == "slow_the_baseline":  # refused for what it did, not for something else
        assert "pq_distances" in proc.stderr, shown


def test_a_kernel_that_slows_its_baseline_is_honest_where_the_baseline_is_not_yet_loaded():
    """slow_the_baseline only acts where the baseline loads first: the first process pairs it
    like any kernel (so only the second process's watch stands between it and a keep)."""
    path = REDTEAM / "pq_l2" / "slow_the_baseline.py"
    proc = quick("pq_l2", "--kernels", str(path), "--match", SMALL["pq_l2"])
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


def test_a_kernel_exact_only_in_the_oracles_process_is_refused_where_it_is_timed():
    """tell_by_argv (`expect: gate`): exact in the oracle's kernel process, lossy in any other.
    The experiment's decision run has no track_mismatches (the oracle's report stands in for it),
    so the paired benchmark's own check of the outputs before timing is what refuses it."""
    path = REDTEAM / "pq_l2" / "tell_by_argv.py"
    proc = quick("pq_l2", "--kernels", str(path), "--match", SMALL["pq_l2"])
    assert proc.returncode == 2, proc.stdout + proc.stderr[-3000:]
    assert "WrongWhileTimedError: pq_l2: wrong:" in proc.stderr, proc.stderr[-3000:]


JUDGED_KERNELS = """
import numpy as np
from numba import njit

@njit(cache=False)
def decode(a):
    return a + 1

@njit(cache=False)
def parse(a):  # what the judged outputs call and the timed call does not
    return a.sum()
"""


def test_what_the_check_before_timing_calls_beyond_the_timed_call_is_warmed_with_it(tmp_path):
    """From the warm-up's end to the timing's nothing may compile (abtest.paired_samples). An
    `outputs` calling a function the timed call does not (fsst's parser) would compile it there
    and refuse an honest candidate: the target names that call (`inputs.judged_calls`) and the
    warm-up makes it."""
    from types import SimpleNamespace

    from autoresearch.harness.numba_cache import refusing_compiles
    from autoresearch.harness.timed_check import warming

    path = tmp_path / "judged_kernels.py"
    path.write_text(JUDGED_KERNELS)

    def search(impl, w):
        return impl.decode(w)

    def outputs_(impl, w):
        return [impl.decode(w), impl.parse(w)]

    w = np.arange(8, dtype=np.int64)
    named = SimpleNamespace(outputs=outputs_, judged_calls=lambda impl, w: [impl.parse(w)])
    for inputs, refusals in ((named, []), (SimpleNamespace(outputs=outputs_), ["parse"])):
        module = oracle.load_module_from(path, f"judged_{len(refusals)}")
        warming(inputs, search, w)(module)
        with refusing_compiles() as refused:
            with contextlib.suppress(BaseException):
                inputs.outputs(module, w)
        assert [r.split(".")[-1].split("(")[0] for r in refused] == refusals, refused


def test_only_reference_functions_may_compile_in_the_window():
    """The check before timing judges a candidate whose bits differ from the baseline's with
    reference.py, compiled in this process: its functions (the package's and TimedCheck's fresh
    copy's), by identity, may compile there; a kernel's may not, nor one named like the
    reference's."""
    from numba import njit

    from autoresearch.harness.timed_check import TimedCheck
    from autoresearch.pq_l2 import inputs, kernels, reference

    w = abtest.salted_workload(inputs.workload, ((128, 16, 256), "uniform"), 12345, None)
    check = TimedCheck("pq_l2", inputs, kernels, kernels, w, inputs.search)
    assert check.compiles_allowed(reference.distance_table)
    assert not check.compiles_allowed(kernels.distance_table)
    fresh = check.reference()
    assert fresh is not reference and check.compiles_allowed(fresh.pq_distances)

    def distance_table(codebook, query):
        return codebook

    distance_table.__module__ = reference.__name__  # what a kernel could claim
    assert not check.compiles_allowed(njit(distance_table))


# ---------------------------------------------------------------------------
# TimedCheck's comparisons
# ---------------------------------------------------------------------------


def test_same_bits_is_bit_for_bit():
    a = np.array([1.0, np.nan, -0.0], dtype=np.float32)
    assert outputs.same_bits(a, a.copy())
    assert not outputs.same_bits(a, np.array([1.0, np.nan, 0.0], dtype=np.float32))  # -0 vs 0
    assert not outputs.same_bits(a, a.astype(np.float64))
    assert outputs.same_bits((a, 3), (a.copy(), 3)) and not outputs.same_bits((a, 3), [a, 3])
    assert outputs.same_bits(a[::2], a.copy()[::2])  # not contiguous
    big = np.arange(3 * outputs.COMPARE_CHUNK, dtype=np.float64)
    other = big.copy()
    other.view(np.uint8)[-1] ^= 1  # one bit, in the last of several chunks
    assert outputs.same_bits(big, big.copy()) and not outputs.same_bits(big, other)


def test_an_output_sharing_memory_with_an_earlier_one_is_aliased():
    buf, other = np.zeros(8), np.zeros(8)
    ext = outputs.extents
    assert outputs.overlap(ext(buf[2:4]), ext([None, buf]))
    assert not outputs.overlap(ext(buf.copy()), ext([buf, other]))
    assert outputs.overlap(ext([(buf[:2], 1)]), ext([[other], buf[1:]]))
    assert not outputs.overlap(ext(buf[:1]), ext(buf[1:]))  # adjacent, not shared
    assert outputs.overlap(ext([buf[:4], buf[3:]]))  # two results of one call
    assert not outputs.overlap(ext([buf, other, buf]))  # one array seen twice is not two


FLAT_CASES = [  # pairs judged alike by same_bits, each read both ways
    np.array([1.0, np.nan, -0.0], dtype=np.float32),
    np.array([1.0, np.nan, 0.0], dtype=np.float32),  # -0 vs 0
    np.array([1.0, np.nan, -0.0]),  # float64
    np.array([[1, 2], [3, 4]], dtype=np.int32),
    np.array([1, 2, 3, 4], dtype=np.int32),  # the same bytes, another shape
    np.arange(12, dtype=np.int64)[::3],  # not contiguous
    np.zeros(0, dtype=np.int64),
    [np.arange(3), (np.arange(2.0), np.zeros(0))],
    [np.arange(3), [np.arange(2.0), np.zeros(0)]],  # a list where a tuple was
    [np.arange(3), (np.arange(2.0),)],
    (np.arange(3), np.arange(3)),
]


def test_a_flattened_output_is_judged_as_same_bits_and_extents_judge_it():
    """outputs.flat: TimedCheck's quick judge of outputs made of lists, tuples and plain arrays."""
    for a in FLAT_CASES:
        for b in FLAT_CASES:
            for y in (b, copy.deepcopy(b)):
                assert outputs.flat(a).same(outputs.flat(y)) == outputs.same_bits(a, y), (a, y)
        assert sorted(outputs.flat(a).ranges) == sorted(outputs.extents(a)), a
    buf = np.zeros(8)
    shared = [buf[:4], (buf[3:], buf)]
    assert outputs.Ranges(outputs.flat(shared).ranges).clash()
    assert not outputs.Ranges(outputs.flat([buf, buf]).ranges).clash()  # one array seen twice


def test_outputs_the_quick_judge_does_not_take_are_left_to_same_bits():
    class Sub(np.ndarray):
        pass

    big = np.zeros(outputs.FLAT_BYTES // 8 + 1)
    for odd in (
        [np.arange(3), 3],
        np.arange(3).view(Sub),
        np.array([None]),
        {"a": np.arange(2)},
        big,
    ):
        assert outputs.flat(odd) is None


def _pq_candidate(pq_distances):
    import types

    from autoresearch.pq_l2 import kernels

    return types.SimpleNamespace(distance_table=kernels.distance_table, pq_distances=pq_distances)


@pytest.mark.parametrize("flat_bytes", [1 << 30, 0], ids=["quick judge", "same_bits"])
@pytest.mark.parametrize("how", ["wrong", "aliased"])
def test_the_calls_checked_after_timing_see_a_late_change_of_bits_or_of_buffer(
    how, flat_bytes, monkeypatch
):
    """TimedCheck.after on pq_l2's outputs (a list of plain arrays, judged by outputs.flat, or,
    over FLAT_BYTES, by same_bits and extents): from the 40th call on, one result's bits change,
    or each query's result lands in the buffer it had in the call before."""
    from autoresearch.pq_l2 import inputs, kernels

    monkeypatch.setattr(outputs, "FLAT_BYTES", flat_bytes)

    w = abtest.salted_workload(inputs.workload, ((16, 4, 16), "uniform"), 7, None)
    calls, buffer = [0], []

    def late(table, codes):
        calls[0] += 1
        out = kernels.pq_distances(table, codes)
        if calls[0] < 40:
            return out
        if how == "wrong":
            out[0] = np.nextafter(out[0], np.inf)
            return out
        slot = calls[0] % len(w.queries)  # one buffer per query, handed out again every call
        buffer[len(buffer) :] = [np.empty_like(out) for _ in range(len(w.queries) - len(buffer))]
        buffer[slot][:] = out
        return buffer[slot]

    check = abtest.TimedCheck("pq_l2", inputs, _pq_candidate(late), kernels, w, inputs.search)
    check.before()
    assert (check.first_flat is not None) == (flat_bytes > 0)
    with pytest.raises(abtest.WrongWhileTimedError, match="other bits" if how == "wrong" else how):
        check.after(100)


def test_a_recorded_call_sees_every_result_not_only_the_last():
    from autoresearch.pq_l2 import inputs, kernels

    w = abtest.salted_workload(inputs.workload, ((16, 4, 16), "uniform"), 7, None)
    record = abtest.recorded_call(inputs.search, kernels, w)()
    assert len(record) == 2 * len(w.queries)
    assert outputs.same_bits(record[-1], inputs.search(kernels, w))


def test_the_calls_checked_after_timing_catch_any_shortcut_the_gate_could_keep():
    # A shortcut on a fraction f of calls gains at most f; the gate keeps nothing under MIN_GAIN.
    assert (1 - thresholds.MIN_GAIN) ** abtest.AFTER_CHECK_CALLS < 1e-4
    from autoresearch.pq_l2 import inputs, kernels

    w = abtest.salted_workload(inputs.workload, ((16, 4, 16), "uniform"), 7, None)
    for timed, checked in ((3, 3), (10 * abtest.AFTER_CHECK_CALLS, abtest.AFTER_CHECK_CALLS)):
        check = abtest.TimedCheck("pq_l2", inputs, kernels, kernels, w, inputs.search)
        check.before()
        check.after(timed)
        assert check.checked == checked


# ---------------------------------------------------------------------------
# confirm.py: the parent's measurement
# ---------------------------------------------------------------------------

IVF_LABELS = ["IvfSelect/(256,128)/20", "IvfSelect/(256,128)/64"]
SLOWER = """

_fast_l2 = find_partitions_l2


def find_partitions_l2(query, centroids, nprobes):
    for _ in range(2):
        _fast_l2(query, centroids, nprobes)
    return _fast_l2(query, centroids, nprobes)
"""
OFF_THE_CLOCK = """

import threading as _threading


def _spin():
    x = 0
    for i in range(3_000_000):
        x += i


_l2 = find_partitions_l2


def find_partitions_l2(query, centroids, nprobes):
    _threading.Thread(target=_spin).start()
    return _l2(query, centroids, nprobes)
"""
LATE_WRONG = """

_l2 = find_partitions_l2
_N = [0]


def find_partitions_l2(query, centroids, nprobes):
    _N[0] += 1
    ids, dists = _l2(query, centroids, nprobes)
    if _N[0] > 400:
        dists = dists + np.float32(1)
    return ids, dists
"""


def _confirm(tmp_path, baseline_extra: str, labels=IVF_LABELS) -> dict:
    source = (REPO / "autoresearch/ivf_select/kernels.py").read_text() + baseline_extra
    env = _env()
    env.pop("PYTHONPATH")
    return confirm.confirm_run(
        "ivf_select", labels, 0x5EED, tmp_path, source.encode(), Path(sys.executable), REPO, env
    )


@pytest.mark.slow
def test_a_kernel_confirmed_against_itself_is_near_one(tmp_path):
    out = _confirm(tmp_path, "\n# the same kernel\n")
    assert out["ok"], out["error"]
    for label in IVF_LABELS:
        assert 0.9 < out["combos"][label]["ratio"] < 1.1, out
    assert out["candidate_idle_s"] < confirm.IDLE_SLACK_SECS


@pytest.mark.slow
def test_the_confirmation_sees_a_baseline_three_times_as_slow(tmp_path):
    out = _confirm(tmp_path, SLOWER)
    assert out["ok"], out["error"]
    for label in IVF_LABELS:  # the l2 half of every call is three times as slow
        assert 0.4 < out["combos"][label]["ratio"] < 0.8, out


@pytest.mark.slow
def test_work_off_the_clock_fails_the_confirmation(tmp_path):
    out = _confirm(tmp_path, OFF_THE_CLOCK, IVF_LABELS[:1])
    assert not out["ok"] and out["failed_side"] == "baseline", out
    assert "between chunks" in out["error"] or "threads" in out["error"], out["error"]


def test_results_that_change_while_timed_fail_the_confirmation(tmp_path):
    out = _confirm(tmp_path, LATE_WRONG, IVF_LABELS[:1])
    assert not out["ok"] and out["failed_side"] == "baseline", out
    assert "other bits" in out["error"], out["error"]


# ---------------------------------------------------------------------------
# gate.py: a keep needs the confirmation to agree
# ---------------------------------------------------------------------------

GATE_DATA = Path(__file__).parent / "data" / "gate" / "pq_l2"


@pytest.fixture
def fixture_env(monkeypatch):
    from autoresearch import bench

    monkeypatch.setattr(
        bench, "env_name", lambda conf=None: "existing-py_tmp_lance-autoresearch_bin_python"
    )


def _scenario(name: str) -> tuple[dict, dict]:
    manifest = json.loads((GATE_DATA / "scenarios.json").read_text())
    s = manifest["scenarios"][name]
    folder = GATE_DATA / "results" / manifest["machine"]
    suffix = "-existing-py_tmp_lance-autoresearch_bin_python.json"
    cand, base = (
        json.loads((folder / f"{s[side][:8]}{suffix}").read_text())
        for side in ("candidate", "baseline")
    )
    return cand, base


_RATIOS: dict[str, dict[str, float]] = {}  # per candidate commit: the gate's (seeded) ratios


def _confirmation_of(cand: dict, scale: float = 1.0, **changes) -> dict:
    commit = cand["commit_hash"]
    if commit not in _RATIOS:  # the bootstrap behind them is the slow part: once per file
        d = gate.decide(copy.deepcopy(cand), None, "pq_l2")
        _RATIOS[commit] = {c.label: c.ratio for c in d.combos}
    combos = {label: {"ratio": r * scale} for label, r in _RATIOS[commit].items()}
    out = {"version": 1, "target": "pq_l2", "commit": cand["commit_hash"], "ok": True}
    return {**out, "combos": combos, **changes}


def test_a_keep_whose_confirmation_agrees_stays_a_keep(fixture_env):
    cand, base = _scenario("faster")
    d = gate.decide(cand, base, "pq_l2", confirmation=_confirmation_of(cand, 1.01))
    assert d.decision == "keep", [r.line() for r in d.reasons]
    assert any(r.rule == "confirmation" and r.ok for r in d.reasons)


def test_one_combination_read_slower_than_confirmed_does_not_block_a_keep(fixture_env):
    """Only a combination that reads faster in the candidate's process than confirmed can hide a
    slowdown; one that reads 15% slower (tiny calls, a 13x speed-up) is no reason to refuse."""
    cand, base = _scenario("faster")
    conf = _confirmation_of(cand)
    first = next(iter(conf["combos"]))
    conf["combos"][first]["ratio"] /= 1.15
    d = gate.decide(cand, base, "pq_l2", confirmation=conf)
    assert d.decision == "keep", [r.line() for r in d.reasons]


def test_a_combination_confirmed_many_times_faster_cannot_hide_a_slowdown(fixture_env):
    """The favourable side is held only where the confirmation does not itself show the
    combination faster by more than the limit; a tamper that hides a slowdown is still caught."""
    cand, base = _scenario("faster")
    conf = _confirmation_of(cand)
    first = next(iter(conf["combos"]))
    asv_ratio = conf["combos"][first]["ratio"]
    conf["combos"][first]["ratio"] = asv_ratio * 1.15  # asv read it 15% faster than confirmed
    assert conf["combos"][first]["ratio"] * 1.1 < 1.0  # but confirmed clearly faster too
    d = gate.decide(cand, base, "pq_l2", confirmation=conf)
    assert d.decision == "keep", [r.line() for r in d.reasons]
    conf["combos"][first]["ratio"] = 0.93  # confirmed near 1: the favourable side is held
    d = gate.decide(cand, base, "pq_l2", confirmation=conf)
    assert d.decision == "undecided", [r.line() for r in d.reasons]
    assert "most favourable" in d.reasons[0].text


def _scaled_to(cand: dict, geomean: float) -> tuple[dict, float]:
    """The candidate's pairs scaled so that asv reads `geomean`; the factor applied."""
    ratios = _confirmation_of(cand)["combos"]
    factor = geomean / math.exp(sum(math.log(v["ratio"]) for v in ratios.values()) / len(ratios))
    out = copy.deepcopy(cand)
    column = out["result_columns"].index("samples")
    for name, row in out["results"].items():
        if name.endswith(".track_ab_ratio"):
            row[column] = [[r * factor for r in s] for s in row[column]]
    return out, factor


def test_a_clear_confirmed_gain_allows_asv_a_wider_gap(fixture_env):
    """When the confirmation alone shows a gain the gate would keep even 3% worse, asv's geomean
    may differ from it by up to MAX_CONFIRM_COMBO_GAP (dictionary's 1.65x kernel: 0.600 in asv,
    0.620 confirmed); beyond that, or without a clear confirmed gain, the 3% bound holds."""
    cand, base = _scenario("faster")
    small, factor = _scaled_to(cand, 0.975)  # asv: a 2.5% gain; confirmed 3.5% slower: ~1.009
    d = gate.decide(small, base, "pq_l2", confirmation=_confirmation_of(cand, factor * 1.035))
    assert d.decision == "undecided", [r.line() for r in d.reasons]
    large, factor = _scaled_to(cand, 0.60)  # asv 0.600, confirmed 0.621
    d = gate.decide(large, base, "pq_l2", confirmation=_confirmation_of(cand, factor * 1.035))
    assert d.decision == "keep", [r.line() for r in d.reasons]
    assert "a clear gain on its own" in next(r.text for r in d.reasons if r.rule == "confirmation")
    d = gate.decide(large, base, "pq_l2", confirmation=_confirmation_of(cand, factor * 1.15))
    assert d.decision == "undecided", "asv 15% faster than confirmed: still refused"


@pytest.mark.parametrize(
    "why, confirmation",
    [
        ("scaled pairing", lambda c: _confirmation_of(c, 1 / 0.8)),
        ("one combination", lambda c: {**_confirmation_of(c), "combos": {
            k: {"ratio": v["ratio"] * (1.3 if i == 0 else 1)}
            for i, (k, v) in enumerate(_confirmation_of(c)["combos"].items())}}),
        ("another commit", lambda c: _confirmation_of(c, commit="0" * 40)),
        ("could not be made", lambda c: _confirmation_of(c, ok=False, error="boom")),
        ("a combination missing", lambda c: {**_confirmation_of(c), "combos": {}}),
        ("not a confirmation", lambda c: ["nonsense"]),
        ("another target", lambda c: _confirmation_of(c, target="bm25")),
    ],
)  # fmt: skip
def test_a_keep_without_an_agreeing_confirmation_is_undecided(fixture_env, why, confirmation):
    cand, base = _scenario("faster")
    d = gate.decide(cand, base, "pq_l2", confirmation=confirmation(cand))
    assert (d.decision, d.exit_code) == ("undecided", gate.UNDECIDED), why
    assert [r.rule for r in d.reasons] == ["confirmation"], [r.line() for r in d.reasons]


def test_a_discard_stays_a_discard_and_says_the_confirmation_disagreed(fixture_env):
    cand, base = _scenario("slower")
    d = gate.decide(cand, base, "pq_l2", confirmation=_confirmation_of(cand, 0.7))
    assert d.decision == "discard"
    assert any(r.rule == "confirmation" and not r.ok for r in d.reasons)


SKIPPED = {"version": 1, "target": "pq_l2", "ok": False, "skipped": True, "error": "discard"}


def test_a_skipped_confirmation_never_lets_a_keep_through(fixture_env):
    cand, base = _scenario("faster")
    assert decide.could_keep(cand, "pq_l2")
    d = gate.decide(cand, base, "pq_l2", confirmation={**SKIPPED, "commit": cand["commit_hash"]})
    assert (d.decision, [r.rule for r in d.reasons]) == ("undecided", ["confirmation"])


def test_a_decision_run_without_mismatches_could_still_be_kept(fixture_env):
    # The experiment's decision run has no track_mismatches (the oracle's report stands in at the
    # gate, which bench.py does not have): bench must still confirm ratios the gate could keep.
    cand, _ = _scenario("faster")
    cand = copy.deepcopy(cand)
    del cand["results"]["bench_pq_l2.PqL2.track_mismatches"]
    assert decide.could_keep(cand, "pq_l2")
    slower, _ = _scenario("slower")
    slower = copy.deepcopy(slower)
    del slower["results"]["bench_pq_l2.PqL2.track_mismatches"]
    assert not decide.could_keep(slower, "pq_l2")


def test_noisy_pairs_need_no_confirmation(fixture_env):
    cand, _ = _scenario("faster")
    cand = copy.deepcopy(cand)
    column = cand["result_columns"].index("samples")
    for name, row in cand["results"].items():
        if name.endswith(".track_ab_ratio"):  # every other pair 15% off: spread far over 5%
            noisy = [[r * (1.15 if i % 2 else 1) for i, r in enumerate(s)] for s in row[column]]
            row[column] = noisy
    d = gate.decide(cand, None, "pq_l2", confirmed=True)
    assert d.decision == "undecided" and "noise" in [r.rule for r in d.reasons]
    assert not decide.could_keep(cand, "pq_l2")


def test_a_discard_needs_no_confirmation(fixture_env):
    cand, base = _scenario("slower")
    assert not decide.could_keep(cand, "pq_l2")
    d = gate.decide(cand, base, "pq_l2", confirmation={**SKIPPED, "commit": cand["commit_hash"]})
    assert d.decision == "discard"
    assert not any(r.rule == "confirmation" for r in d.reasons)


@pytest.mark.parametrize(
    ("scenario", "repair", "made"),
    [
        ("slower", False, False),
        ("faster", False, True),
        ("same", False, False),
        ("same", True, True),
    ],
)  # a repair keeps "not slower": the same kernel is confirmed only when the gate judges a repair
def test_bench_confirms_only_ratios_the_gate_could_keep(fixture_env, tmp_path, monkeypatch,
                                                        scenario, repair, made):  # fmt: skip
    from autoresearch import bench

    cand, _ = _scenario(scenario)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(cand))
    monkeypatch.setattr(bench, "confirmation_path", lambda commit: tmp_path / "confirmation.json")
    calls = []
    fake = {"version": 1, "target": "pq_l2", "ok": True, "combos": {}}
    monkeypatch.setattr(confirm, "confirm_run", lambda *a, **k: calls.append(a) or dict(fake))
    parent = subprocess.CompletedProcess([], 0, stdout=b"# the first parent's kernels.py\n")
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: parent)  # git show C^:...
    path = bench.confirm_paired(
        "pq_l2", cand["commit_hash"], results, tmp_path, 1, {}, repair=repair
    )
    written = json.loads(path.read_text())
    assert bool(calls) is made and written.get("skipped", False) is not made
    assert written["commit"] == cand["commit_hash"]


def test_the_gate_command_reads_the_confirmation_file(fixture_env, tmp_path, capsys):
    manifest = json.loads((GATE_DATA / "scenarios.json").read_text())
    s = manifest["scenarios"]["faster"]
    cand, _ = _scenario("faster")
    path = tmp_path / "confirmation.json"
    args = ["--target", "pq_l2", "--candidate", s["candidate"], "--baseline", s["baseline"]]
    args += ["--results", str(GATE_DATA / "results"), "--machine", manifest["machine"]]
    args += ["--confirmation", str(path)]
    import unittest.mock as mock

    with mock.patch.object(gate, "check_baseline_is_paired_side", lambda r, c, b, t: b):
        assert gate.main(args) == gate.UNDECIDED  # missing: cannot decide
        path.write_text(json.dumps(_confirmation_of(cand)))
        assert gate.main(args) == decide.KEEP
        path.write_text(json.dumps(_confirmation_of(cand, 0.8)))
        assert gate.main(args) == gate.UNDECIDED
    assert "reason: confirmation=fail" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# experiment.py: a refusal in the paired benchmark is the candidate's crash
# ---------------------------------------------------------------------------


def test_the_paired_benchmarks_refusal_is_named_as_the_candidates_failure(tmp_path):
    from autoresearch.harness.asvrun import GUARD_ERRORS, asv_errors, failed_benchmarks

    data, _ = _scenario("faster")
    columns = data["result_columns"]
    data["results"]["bench_pq_l2.PqL2.track_ab_ratio"][columns.index("result")][2] = None
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    assert failed_benchmarks(path, "pq_l2") == []
    assert failed_benchmarks(path, "pq_l2", paired=True) == [
        "PqL2/(128,16,256)/sparse track_ab_ratio"
    ]
    line = (
        "[  9.0s] bench| autoresearch.harness.timed_check.HarnessChangedError: "
        "the harness changed ..."
    )
    (error,) = asv_errors(line)
    assert error.split(":", 1)[0].rsplit(".", 1)[-1] in GUARD_ERRORS


@pytest.mark.slow
def test_an_experiment_with_a_tampering_kernel_records_a_crash_and_reverts(tmp_path):
    from agents.fixtures import (
        KERNELS,
        LOG,
        ONE_COMBO,
        environ,
        experiment,
        git,
        log_rows,
        make_clone,
        state,
    )

    # The kernel with no route to the harness: it passes the static check and the oracle (it
    # tells the oracle's kernel process apart and counts its calls only outside it).
    repo = make_clone(tmp_path / "repo")
    before = state(repo)
    (repo / KERNELS).write_text((REDTEAM / "pq_l2" / "late_shortcut.py").read_text())
    r = experiment(repo, "a shortcut after 2000 calls", environ(AUTORESEARCH_BENCH_REGEX=ONE_COMBO))
    text = r.text()
    block = r.block()
    assert "correctness: pass" in text, text[-6000:]  # the oracle passed it
    assert (r.proc.returncode, block["decision"]) == (3, "crash"), text[-6000:]
    # caught where it was timed: as wrong outputs or, when the timed calls reach its counter's
    # threshold first, as module state that changed (CI of 445d121 saw the second)
    assert "reason: output: autoresearch.harness.timed_check.WrongWhileTimedError: pq_l2: " in text
    assert "pq_l2: wrong:" in text or "pq_l2: stale: state changed" in text, text
    after = state(repo)
    assert git(repo, "rev-parse", "HEAD^") == before["head"]  # one record commit: the row
    assert git(repo, "diff", "--name-only", before["head"], "HEAD").split() == ["README.md", LOG]
    assert after["kernels"] == before["kernels"] and after["status"] == ""
    assert [row["decision"] for row in log_rows(repo)] == ["crash"]
    assert math.isnan(float(log_rows(repo)[0]["geomean_ratio"]))
