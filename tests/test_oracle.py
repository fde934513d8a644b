"""The oracle's rules, one at a time, on small toy cases (the red-team suite runs whole kernels).

Comparison and tolerance rules, each dynamic check against the cheat it exists for, the static
check's false negatives (every spelling of a forbidden access) and false positives (legitimate fast
kernels), and the command line's exit codes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autoresearch import PACKAGE_DIR, TARGETS, oracle
from autoresearch.common import SplitMix64
from autoresearch.harness import case_runs
from autoresearch.harness.cli import EXIT_USAGE
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = oracle.DEFAULT_ALLOWED_IMPORTS
SEEDS = [*oracle.FIXED_SEEDS, 11, 12]


# ---------------------------------------------------------------------------
# Comparisons and tolerance
# ---------------------------------------------------------------------------


def _pq_case(rng: np.random.Generator, M: int = 16, K: int = 256, N: int = 2000):
    from autoresearch.pq_l2 import reference

    codebook = rng.standard_normal((M, K, 8)).astype(np.float32)
    query = rng.standard_normal(M * 8).astype(np.float32)
    table = reference.distance_table(codebook, query)
    codes = rng.integers(0, K, (M, N)).astype(np.uint8)
    return table, codes, reference.pq_distances(table, codes)


def test_float32_sums_in_any_order_pass():
    table, codes, expected = _pq_case(np.random.default_rng(1))
    M = codes.shape[0]
    forward = np.zeros(codes.shape[1], dtype=np.float32)
    for m in range(M):
        forward += table[m, codes[m]]
    backward = np.zeros_like(forward)
    for m in reversed(range(M)):
        backward += table[m, codes[m]]
    pairwise = table[np.arange(M)[:, None], codes].sum(axis=0, dtype=np.float32)
    for actual in (forward, backward, pairwise):
        assert oracle.compare_outputs(actual, expected) == []
        assert oracle.count_mismatches(actual, expected) == 0


def test_uint8_quantized_table_fails():
    table, codes, expected = _pq_case(np.random.default_rng(2))
    low = table.min(axis=1, keepdims=True)
    step = (table.max(axis=1, keepdims=True) - low) / 255.0
    dequantized = (np.rint((table - low) / step) * step + low).astype(np.float32)
    actual = dequantized[np.arange(table.shape[0])[:, None], codes].sum(axis=0, dtype=np.float32)
    problems = oracle.compare_outputs(actual, expected)
    assert problems and problems[0].startswith("wrong:")
    assert oracle.count_mismatches(actual, expected) > codes.shape[1] // 2


def test_float16_table_fails():
    table, codes, expected = _pq_case(np.random.default_rng(3))
    half = table.astype(np.float16).astype(np.float32)
    actual = half[np.arange(table.shape[0])[:, None], codes].sum(axis=0, dtype=np.float32)
    assert oracle.count_mismatches(actual, expected) > 0


@pytest.mark.parametrize(
    ("actual", "expected", "ok"),
    [
        (np.nan, np.nan, True),
        (np.inf, np.inf, True),
        (-np.inf, -np.inf, True),
        (np.nan, 1.0, False),
        (1.0, np.nan, False),
        (-np.inf, np.inf, False),
        (3.4e38, np.inf, False),
        (np.inf, 3.4e38, False),
        (1.0 + 0.5e-4, 1.0, True),  # absolute bound near 1
        (1.0 + 2e-4, 1.0, False),
        (1e6 * (1 + 0.5e-4), 1e6, True),  # relative bound for large magnitudes
        (1e6 * (1 + 2e-4), 1e6, False),
    ],
)
def test_tolerance_and_special_values(actual, expected, ok):
    a = np.array([actual], dtype=np.float64)
    e = np.array([expected], dtype=np.float64)
    assert (oracle.mismatches(a, e).size == 0) is ok


def test_scale_widens_tolerance_for_results_that_cancel():
    expected = np.array([0.0], dtype=np.float32)
    actual = np.array([0.05], dtype=np.float32)  # 1000 + (-1000) summed in another order
    assert oracle.compare_outputs(actual, expected)
    assert oracle.compare_outputs(actual, expected, scale=np.array([1000.0])) == []


def test_integers_and_bools_must_be_exact():
    expected = np.arange(10, dtype=np.int64)
    actual = expected.copy()
    actual[3] += 1
    assert oracle.compare_outputs(actual, expected)[0].startswith("wrong: 1 of 10")
    assert oracle.compare_outputs(np.array([True]), np.array([False]))


class _Subclass(np.ndarray):
    pass


@pytest.mark.parametrize(
    ("actual", "why"),
    [
        (np.zeros(4, dtype=np.float64), "dtype"),
        (np.zeros(5, dtype=np.float32), "shape"),
        (np.zeros((4, 1), dtype=np.float32), "shape"),
        (np.zeros(4, dtype=np.float32).view(_Subclass), "ndarray"),
        (np.ma.masked_array(np.zeros(4, dtype=np.float32)), "ndarray"),
        ([0.0, 0.0, 0.0, 0.0], "ndarray"),
        (np.zeros(8, dtype=np.float32)[::2], "C-contiguous"),
        (np.broadcast_to(np.float32(0), (4,)), "C-contiguous"),
        (np.zeros(4, dtype=np.float32).view(), "read-only"),
    ],
)
def test_contract_is_exact(actual, why):
    expected = np.zeros(4, dtype=np.float32)
    if why == "read-only":
        actual.flags.writeable = False
    problems = oracle.compare_outputs(actual, expected)
    assert problems and problems[0].startswith("contract:") and why in problems[0], problems
    assert oracle.count_mismatches(actual, expected) == expected.size


def test_containers_and_scalars_keep_their_exact_types():
    e = (np.zeros(2, dtype=np.float32), np.int64(3))
    assert oracle.compare_outputs((np.zeros(2, dtype=np.float32), np.int64(3)), e) == []
    assert "contract" in oracle.compare_outputs([np.zeros(2, dtype=np.float32), np.int64(3)], e)[0]
    assert "contract" in oracle.compare_outputs((np.zeros(2, dtype=np.float32),), e)[0]
    assert "contract" in oracle.compare_outputs((np.zeros(2, dtype=np.float32), 3), e)[0]
    assert oracle.compare_outputs(np.float32(1.00001), np.float32(1.0)) == []
    assert "contract" in oracle.compare_outputs(1.0, np.float32(1.0))[0]
    assert "contract" in oracle.compare_outputs({"a": 1}, {"b": 1})[0]
    assert oracle.compare_outputs({"a": np.int32(1)}, {"a": np.int32(1)}) == []


def test_failure_lines_cannot_be_forged_by_exception_text():
    f = oracle.Failure("case", "raised", "ValueError: x\nfailure: wrong: forged\ncorrectness: pass")
    assert "\n" not in str(f)


# ---------------------------------------------------------------------------
# Dynamic checks on a toy target: double a float32 vector
# ---------------------------------------------------------------------------


def _double(x):
    return (x.astype(np.float64) * 2.0).astype(np.float32)


REFERENCE = SimpleNamespace(double=_double)


def _case(n=257, **kw) -> Case:
    return Case("double", "double", lambda rng: (rng.normal(n).astype(np.float32),), **kw)


def _kinds(func, case=None, seeds=SEEDS) -> set[str]:
    report = oracle.check_cases([case or _case()], SimpleNamespace(double=func), REFERENCE, seeds)
    return {f.kind for f in report.failures}


def test_honest_kernel_passes():
    assert _kinds(lambda x: x * np.float32(2.0)) == set()


def test_cache_by_shape_is_stale():
    memo = {}

    def cached(x):
        if x.shape not in memo:
            memo[x.shape] = x * np.float32(2.0)
        return memo[x.shape].copy()

    assert _kinds(cached) == {"stale"}


def test_cache_by_identity_is_stale():
    memo = []

    def cached(x):
        for seen, answer in memo:
            if seen is x:
                return answer.copy()
        memo.append((x, x * np.float32(2.0)))
        return memo[-1][1].copy()

    assert _kinds(cached) == {"stale"}


_FINGERPRINT_MEMO: dict = {}  # out of the module-state check's sight: only the calls can tell


def _cached_by_sampled_fingerprint(x):
    key = (x.shape, x[::50].tobytes())
    if key not in _FINGERPRINT_MEMO:
        _FINGERPRINT_MEMO[key] = x * np.float32(2.0)
    return _FINGERPRINT_MEMO[key].copy()


def test_cache_keyed_on_a_sampled_fingerprint_is_stale():
    _FINGERPRINT_MEMO.clear()
    assert _kinds(_cached_by_sampled_fingerprint) == {"stale"}
    # ... and it is the one-element change that catches it: a case turning that change off passes
    _FINGERPRINT_MEMO.clear()
    assert _kinds(_cached_by_sampled_fingerprint, _case(partial_change=False)) == set()


def test_timing_loop_detector_is_caught_by_repeat():
    calls = {"n": 0, "last": None}

    def skips_work(x):
        calls["n"] += 1
        if calls["last"] is not None and calls["last"].shape == x.shape and calls["n"] % 3 == 0:
            return np.zeros_like(x)  # "the same inputs again: the timer is running"
        calls["last"] = x
        return x * np.float32(2.0)

    assert "repeat" in _kinds(skips_work)


def test_returning_an_input_is_aliased():
    def in_place(x):
        x *= np.float32(2.0)
        return x

    assert {"aliased", "mutated"} <= _kinds(in_place)


def test_reusing_one_output_buffer_is_aliased():
    buffers = {}

    def reuse(x):
        out = buffers.setdefault(x.shape, np.empty_like(x))
        np.multiply(x, np.float32(2.0), out=out)
        return out

    assert "aliased" in _kinds(reuse)


def test_mutation_consistent_with_the_mutated_input_is_caught():
    def zero_out(x):
        x[:] = 0.0
        return np.zeros_like(x)  # what the reference would say about the mutated input

    assert "mutated" in _kinds(zero_out)


def test_writes_past_an_input_end_are_caught():
    rng = SplitMix64(5)
    x = case_runs._rehome(np.arange(8, dtype=np.float32), rng)
    guard = case_runs._Guard((x,))
    past = np.lib.stride_tricks.as_strided(x, shape=(9,), strides=x.strides, writeable=True)
    past[8] = 123.0
    assert guard.problems() == ["the buffer around input array 0 was written to (out of bounds)"]


def test_inputs_look_like_the_workload_s_sometimes_owned_sometimes_views():
    rng = SplitMix64(7)
    x = np.arange(100, dtype=np.float32)
    shown = [case_runs._present((x,), rng)[0] for _ in range(40)]
    assert {a.base is None for a in shown} == {True, False}
    assert len({a.ctypes.data % 64 for a in shown if a.base is not None}) > 1
    for a in shown:
        assert np.array_equal(a, x) and a.dtype == x.dtype
        assert a.flags.c_contiguous and a.flags.aligned and a.flags.writeable


def test_the_reference_runs_once_per_content_and_tells_dtypes_apart():
    calls = []

    def double(x, n):
        calls.append(1)
        return x * n

    run = case_runs._CaseRun(
        Case("c", "double", lambda rng: ()), None, SimpleNamespace(double=double)
    )
    x = np.arange(4, dtype=np.int32)
    first = run.reference((x, 2))
    assert run.reference((x.copy(), 2)) is first and len(calls) == 1  # the same content again
    assert run.reference((x.astype(np.uint32), 2)).dtype == np.uint32  # same bytes, other dtype
    assert run.reference((x, 3))[1] == 3 and len(calls) == 3
    x[0] = 7  # changed in place: a new answer
    assert run.reference((x, 2))[0] == 14 and len(calls) == 4


def test_inputs_sharing_memory_keep_sharing_it():
    x = np.arange(64, dtype=np.float32)
    for seed in range(20):
        a, b, c = case_runs._present((x, x, x[:8]), SplitMix64(seed))
        assert a is x and b is x and c.base is x


def test_kernel_correct_only_on_the_fixed_seeds_fails_on_fresh_ones():
    case = _case()
    tested = set()
    for seed in oracle.FIXED_SEEDS:
        tested.add(float(case.make(SplitMix64(seed).spawn(case.label))[0][0]))

    def tuned(x):
        exact = x * np.float32(2.0)
        return exact if float(x[0]) in tested else exact + np.float32(0.01)

    assert _kinds(tuned, case, list(oracle.FIXED_SEEDS)) == set()
    assert _kinds(tuned, case, SEEDS) == {"wrong"}


@pytest.mark.parametrize("exc", [SystemExit(0), KeyboardInterrupt(), ValueError("no")])
def test_anything_a_kernel_raises_is_a_failure(exc):
    def raises(x):
        raise exc

    assert _kinds(raises) == {"raised"}


def test_a_reference_that_rejects_a_changed_input_skips_that_check():
    def strict(x):
        if x[1] == x[2]:  # the one-element change copies a neighbour: "invalid input"
            raise ValueError("duplicate")
        return _double(x)

    report = oracle.check_cases(
        [_case()],
        SimpleNamespace(double=lambda x: x * np.float32(2.0)),
        SimpleNamespace(double=strict),
        SEEDS,
    )
    assert report.failures == []


def test_missing_function_is_a_contract_failure():
    assert _kinds(None) == {"contract"}


def test_module_state_sees_caches_counters_and_closures():
    holder = np.empty(1, dtype=object)
    holder[0] = {}
    count = np.zeros(1, dtype=np.int64)
    box = []

    def closure():
        return box

    module = SimpleNamespace(JIT={"cache": True}, holder=holder, count=count, f=closure)
    before = oracle.module_state(module)
    holder[0]["k"] = 1
    count += 1
    box.append(1)
    assert oracle.state_changes(before, oracle.module_state(module)) == ["count", "f", "holder"]


def test_module_state_ignores_numba_compiling_another_specialization():
    from numba import njit

    @njit
    def twice(x):
        return x * 2

    module = SimpleNamespace(twice=twice)
    twice(np.zeros(3))
    before = oracle.module_state(module)
    twice(np.zeros(3, dtype=np.int32))
    twice(np.zeros((3, 3))[:, ::2])
    assert oracle.state_changes(before, oracle.module_state(module)) == []


def test_module_state_ignores_a_jitted_function_passed_as_an_argument():
    from numba import njit

    @njit
    def key(x):
        return x + 1

    @njit
    def apply(f, x):
        return f(x)

    module = SimpleNamespace(key=key, apply=apply)
    key(1)
    before = oracle.module_state(module)
    assert apply(key, 1) == 2  # numba memoizes key's type on the dispatcher object
    assert oracle.state_changes(before, oracle.module_state(module)) == []
    key.stash = {}  # an attribute a kernel adds itself is still seen
    assert oracle.state_changes(before, oracle.module_state(module)) == ["key"]


def test_numpy_process_wide_state_is_watched():
    before = oracle.library_state()
    old = np.get_printoptions()
    np.set_printoptions(edgeitems=old["edgeitems"] + 1)
    try:
        assert oracle.state_changes(before, oracle.library_state()) == ["numpy print options"]
    finally:
        np.set_printoptions(**old)


def _toy_workload_inputs():
    """A target shaped like pq_l2's inputs.py: SPEED_WORKLOADS, workload(), outputs()."""
    cache = {}

    def workload(n, distribution):
        if (n, distribution) not in cache:
            rng = SplitMix64(n)
            cache[n, distribution] = {"x": rng.normal(n).astype(np.float32)}
        return cache[n, distribution]

    def outputs(impl, w):
        return [impl.double(w["x"]) for _ in range(3)]

    speed = SpeedWorkload("workload", {"n": [100, 200], "distribution": ["normal"]})
    return SimpleNamespace(SPEED_WORKLOADS={"Toy": speed}, workload=workload, outputs=outputs)


def test_speed_workload_lookup_by_fingerprint_is_stale():
    inputs = _toy_workload_inputs()
    known = {}
    for _, function, args in oracle.speed_combinations(inputs):
        x = getattr(inputs, function)(*args)["x"]
        known[x[:4].tobytes()] = _double(x)

    def lookup(x):
        hit = known.get(x[:4].tobytes())
        return hit.copy() if hit is not None else _double(x)

    rng = SplitMix64(3)
    fails, notes = oracle.speed_workload_failures(
        inputs, SimpleNamespace(double=lookup), REFERENCE, rng
    )
    assert {f.kind for f in fails} == {"stale"} and len(fails) == 2
    honest = SimpleNamespace(double=lambda x: x * np.float32(2.0))
    assert oracle.speed_workload_failures(inputs, honest, REFERENCE, rng) == (
        [],
        ["speed workload: 2 combinations checked"],
    )


def test_workload_mismatches_with_perturb_catches_a_cache_and_restores_the_workload():
    x = SplitMix64(9).normal(500).astype(np.float32)
    pristine = x.copy()
    memo = {}

    def by_identity(v):
        return memo.setdefault(id(v), _double(v)).copy()

    def outputs(impl):
        return impl.double(x)

    cheat, honest = SimpleNamespace(double=by_identity), SimpleNamespace(double=_double)
    assert oracle.workload_mismatches(outputs, cheat, REFERENCE) == 0  # same data: looks right
    assert oracle.workload_mismatches(outputs, cheat, REFERENCE, perturb=[x]) > 0
    assert oracle.workload_mismatches(outputs, honest, REFERENCE, perturb=[x]) == 0
    assert np.array_equal(x, pristine)


# ---------------------------------------------------------------------------
# Static checks: legitimate kernels pass
# ---------------------------------------------------------------------------

FAST_KERNEL = '''
"""A legitimate fast kernel: parallel numba, helpers, constant tables built with numpy."""

import math

import numba
import numpy as np
from numba import njit, prange
from numba import types as nbtypes
from numba.core import types

JIT = {"cache": True, "nogil": True, "fastmath": True}
BLOCK = 256
SQUARES = np.arange(256, dtype=np.float32) ** 2
POPCOUNT = np.empty(16, dtype=np.int64)
for i in range(16):
    POPCOUNT[i] = bin(i).count("1")
SIGNATURE = types.float32[:, :](types.float32[:, :, :], types.float32[:])
F32 = nbtypes.float32


@njit(**JIT)
def _square(x):
    return x * x


@njit(parallel=True, cache=True, fastmath=True)
def distance_table(codebook, query):
    M, K, dsub = codebook.shape
    table = np.empty((M, K), dtype=np.float32)
    for m in prange(M):
        q = query[m * dsub : (m + 1) * dsub]
        for k in range(K):
            total = np.float32(0.0)
            for d in range(dsub):
                total += _square(q[d] - codebook[m, k, d])
            table[m, k] = math.sqrt(total) ** 2
    return table


@njit(**JIT)
def _scan(table, codes, out):
    M, N = codes.shape
    for lo in range(0, N, BLOCK):
        hi = min(N, lo + BLOCK)
        for m in range(M):
            row = table[m]
            for j in range(lo, hi):
                out[j] += row[codes[m, j]]


def pq_distances(table, codes, threads=0):
    if codes.dtype != np.uint8:
        raise ValueError("codes must be uint8, got " + str(codes.dtype))
    out = np.zeros(codes.shape[1], dtype=np.float32)
    counts = {}
    counts["n"] = codes.shape[1]
    scratch = [0.0]
    scratch[0] = float(numba.get_num_threads())
    if not codes.flags.c_contiguous:
        codes = np.ascontiguousarray(codes)
    _scan(table, codes, out)
    with np.errstate(over="ignore"):
        out += np.float32(0.0)
    return out
'''


def test_a_legitimate_fast_kernel_passes_the_static_check():
    assert oracle.static_problems(FAST_KERNEL, ALLOWED, oracle.harness_secrets("pq_l2")) == []


@pytest.mark.parametrize(
    "target", [t for t in TARGETS if (PACKAGE_DIR / t / "kernels.py").exists()]
)
def test_every_target_s_kernels_pass_the_static_check(target):
    assert oracle.static_check(target) == []


def test_the_source_is_read_as_python_decodes_it_and_utf8_only():
    """A coding line other than UTF-8 is refused: Python compiles the file in the encoding it
    declares, and under unicode_escape a comment can hold a line of code (red-team
    take/hidden_by_encoding)."""
    hidden = b"# coding: unicode_escape\nimport numpy as np  #\\u000aimport os\n"
    problems = oracle.static_problems(hidden, ALLOWED)
    assert problems == ["kernels.py declares the source encoding 'unicode-escape': UTF-8 only"]
    assert oracle.static_problems(b"# coding: latin-1\nimport numpy as np\n", ALLOWED) != []
    for fine in (b"# coding: utf8\n", b"# -*- coding: UTF-8 -*-\n", b"\xef\xbb\xbf", b""):
        assert oracle.static_problems(fine + b"import numpy as np\n", ALLOWED) == [], fine
    assert "syntax error" in oracle.static_problems(b"x = '\xff'\n", ALLOWED)[0]  # not UTF-8
    # Python looks for the coding line after turning a lone carriage return into a newline;
    # tokenize, reading lines up to "\n", does not (found by a review in session 47).
    assert oracle.static_problems(b"\r" + hidden, ALLOWED) == problems
    for newline in (b"\r\n", b"\r"):
        assert oracle.static_problems(b"import numpy as np" + newline, ALLOWED) == []


def test_the_static_check_never_imports_a_module_it_refuses():
    """Resolving `import numpy.f2py.__main__` used to import it in the oracle's process, which ran
    f2py's command line and raised SystemExit (found by a review in session 47)."""
    for name in ("numpy.f2py.__main__", "numba.testing.__main__", "antigravity"):
        sys.modules.pop(name, None)
        assert oracle.static_problems(f"import {name}\n", ALLOWED) != []
        assert name not in sys.modules, name


def test_a_file_that_reads_otherwise_as_text_than_python_compiles_it_is_refused(monkeypatch):
    """Whatever the route to it (the coding line above is one), the rules walk the tree Python
    compiles, and a file whose UTF-8 text parses otherwise is refused."""
    from autoresearch.harness import static_check

    monkeypatch.setattr(static_check.tokenize, "detect_encoding", lambda readline: ("utf-8", []))
    hidden = b"# coding: unicode_escape\nimport numpy as np  #\\u000aimport os\n"
    (problem,) = oracle.static_problems(hidden, ALLOWED)
    assert problem == "kernels.py reads otherwise as UTF-8 text than Python compiles it: UTF-8 only"


def test_the_kernel_process_compiles_the_bytes_it_was_sent_not_the_file(tmp_path):
    """The static check and the kernel's process read one copy of the source: a file edited
    after the check (by a process the agent left running) is not what runs."""
    path = tmp_path / "kernels.py"
    checked = b"import numpy as np\nNAME = 'checked'\n"
    path.write_bytes(checked)
    process = oracle.KernelProcess("pq_l2", path, checked)
    path.write_text("import os\nraise ImportError('the file was read again')\n")
    try:
        hello = process.go(ALLOWED)
    finally:
        process.close()
    assert "import_error" not in hello and "NAME" in hello["names"], hello


def test_docstrings_may_name_the_harness():
    source = '"""kernels.py for autoresearch: see HARNESS.md"""\nimport numpy as np\n'
    assert oracle.static_problems(source, ALLOWED) == []


# ---------------------------------------------------------------------------
# Static checks: every spelling of a forbidden access is caught
# ---------------------------------------------------------------------------

FORBIDDEN = {
    # the reference, inputs, benchmarks, harness, tests
    "import the reference": "from autoresearch.pq_l2 import reference",
    "import the harness": "import autoresearch.oracle",
    "relative import": "from . import reference",
    "importlib": "import importlib\nimportlib.import_module('x')",
    "__import__": "m = __import__('autoresearch')",
    "star import": "from numpy import *",
    # files (the on-disk workload cache)
    "open": "data = open('/tmp/x').read()",
    "np.load": "import numpy as np\nx = np.load(p)",
    "numpy.load": "import numpy\nx = numpy.load(p)",
    "from numpy import load": "from numpy import load",
    "from numpy import load as": "from numpy import load as read",
    "np.loadtxt": "import numpy as np\nx = np.loadtxt(p)",
    "np.genfromtxt": "import numpy as np\nx = np.genfromtxt(p)",
    "np.fromfile": "import numpy as np\nx = np.fromfile(p)",
    "np.fromregex": "import numpy as np\nx = np.fromregex(p, 'x', 'f4')",
    "np.memmap": "import numpy as np\nx = np.memmap(p)",
    "np.lib.npyio": "import numpy as np\nf = np.lib.npyio.NpzFile",
    "np.lib.format": "import numpy as np\nf = np.lib.format.read_array",
    "import numpy.lib.npyio": "import numpy.lib.npyio as io",
    "from numpy.lib import npyio": "from numpy.lib import npyio",
    "np.rec.fromfile": "import numpy as np\nx = np.rec.fromfile(p)",
    "arr.tofile": "x.tofile(p)",
    "arr.dump": "x.dump(p)",
    "np.save": "import numpy as np\nnp.save(p, x)",
    "module alias": "import numpy as np\nm = np\nx = m.load(p)",
    "workload path string": "p = '/tmp/lance-autoresearch-inputs/a.npz'",
    "getattr": "import numpy as np\nf = getattr(np, 'lo' + 'ad')",
    "vars": "import numpy as np\nf = vars(np)['load']",
    "__dict__": "import numpy as np\nf = np.__dict__['load']",
    "eval": "f = eval('np.load')",
    "exec": "exec('import os')",
    "compile": "c = compile('1', 'x', 'eval')",
    "globals": "g = globals()",
    "__builtins__": "o = __builtins__['open']",
    # environment, processes, threads, network, ctypes
    "os": "import os\nx = os.environ",
    "sys": "import sys",
    "subprocess": "import subprocess",
    "threading": "import threading",
    "multiprocessing": "import multiprocessing",
    "socket": "import socket",
    "ctypes": "import ctypes",
    "np.ctypeslib": "import numpy as np\nx = np.ctypeslib.as_array",
    "arr.ctypes": "a = x.ctypes.data",
    "numba.sys": "import numba\nm = numba.sys.modules",
    "numba.config": "import numba\nn = numba.config.NUMBA_NUM_THREADS",
    "from numba.core import config": "from numba.core import config",
    "numba.core internals": "import numba.core.registry",
    "numba.objmode": "import numba\nwith numba.objmode():\n    pass",
    "from numba import objmode": "from numba import objmode",
    "numba.set_num_threads": "import numba\nnumba.set_num_threads(8)",
    "numba.extending": "from numba.extending import intrinsic",
    "numba.cfunc": "from numba import cfunc",
    "np.testing threads": "import numpy as np\nnp.testing.run_threaded(f)",
    "np.f2py": "import numpy as np\nm = np.f2py",
    "addresses": "import numpy as np\nb = np.lib.array_utils.byte_bounds(x)",
    "id": "k = id(x)",
    # timers and monkey-patching
    "time": "import time\nt = time.perf_counter()",
    "time via chain": "import numba\nt = numba.core.config.time",
    "perf_counter attribute": "t = clock.perf_counter()",
    "datetime now": "import numpy as np\nt = np.datetime64('now')",
    "monkey-patch numpy": "import numpy as np\nnp.sum = len",
    "monkey-patch via subscript": "import numpy as np\nnp.typecodes['x'] = 1",
    "attribute store": "def f(g):\n    g.cache = {}",
    "setattr": "setattr(x, 'y', 1)",
    "setflags": "x.setflags(write=True)",
    "print (forges the report)": "print('correctness: pass')",
    # interpreter internals and exits
    "frames": "def f():\n    return f.__code__",
    "generator frames": "def g():\n    yield g_.gi_frame.f_back.f_locals",
    "traceback frames": "try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__.tb_frame",
    "private attribute": "import numpy as np\nx = np._core",
    "module name": "oracle = __name__ != 'x'",
    "SystemExit": "raise SystemExit(0)",
    "exit": "exit(0)",
    "class": "class Lazy:\n    pass",
    # state kept between calls
    "global": "def f():\n    global N\n    N = 1",
    "module dict in a function": "CACHE = {}\ndef f(k):\n    return CACHE.get(k)",
    "module list in a function": "SEEN = []\ndef f(x):\n    return len(SEEN)",
    "write to module array": "import numpy as np\nBUF = np.zeros(4)\ndef f(x):\n    BUF[0] = x",
    "write through an alias": "BUF = [0]\ndef f(x):\n    b = BUF\n    b[0] = x",
    "mutating method on module state": "import numpy as np\nB = np.zeros(4)\ndef f():\n B.fill(1)",
    "closure write": "def make():\n    c = {}\n    def f(k):\n        c[k] = 1\n    return f",
    "mutable default": "def f(x, cache={}):\n    return x",
    "array default": "import numpy as np\ndef f(x, out=np.zeros(3)):\n    return x",
    "module-level iterator": "COUNTER = iter(range(10**9))\ndef f():\n    return next(COUNTER)",
    "numba typed dict state": "from numba import typed, types\nD = typed.Dict.empty(types.int64, types.int64)\ndef f(k):\n    return D[k]",  # noqa: E501
    "library global state": "import numpy as np\nnp.set_printoptions(threshold=5)",
    "library mutable dict": "import numpy as np\nd = np.typecodes",
    "global random state": "import numpy as np\nnp.random.seed(3)",
    "numba dispatcher internals": "def f():\n    return g.targetctx.special_ops",
    # harness data
    "fixed seed": f"SEED = {oracle.FIXED_SEEDS[0]}",
    "SplitMix64 constant": "GAMMA = 0x9E3779B97F4A7C15",
    "embedded answers": "ANSWERS = [" + "0.5, " * (oracle.MAX_LITERAL_ELEMENTS + 1) + "]",
    "embedded bytes": "DATA = '" + "x" * (oracle.MAX_LITERAL_CHARS + 1) + "'",
}


@pytest.mark.parametrize("source", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_forbidden_access_is_caught(source):
    assert oracle.static_problems(source, ALLOWED, oracle.harness_secrets()) != []


def test_the_speed_workload_seed_is_a_secret():
    from autoresearch.pq_l2 import inputs

    source = f"SEED = {inputs.SPEED_SEED:#x}"
    assert oracle.static_problems(source, ALLOWED, oracle.harness_secrets("pq_l2")) != []


def test_a_huge_file_is_embedded_data():
    source = "X = 1\n" * (oracle.MAX_SOURCE_BYTES // 6 + 1)
    assert "embedded data" in oracle.static_problems(source, ALLOWED)[0]


def test_allowed_imports_come_from_program_md(tmp_path):
    program = tmp_path / "program.md"
    program.write_text("# t\n\nAllowed imports: `numpy`, `numba`\n")
    assert oracle.allowed_imports(program) == ("numpy", "numba")
    assert oracle.static_problems("import math", oracle.allowed_imports(program)) != []
    assert oracle.allowed_imports(tmp_path / "missing.md") == ALLOWED


# ---------------------------------------------------------------------------
# Loading and the command line
# ---------------------------------------------------------------------------


def test_candidate_loads_under_the_real_name_in_a_process_of_its_own(tmp_path):
    from autoresearch.pq_l2 import kernels as original

    path = tmp_path / "kernels.py"
    path.write_text("import numpy as np\nNAME = 'x'\n")
    process = oracle.KernelProcess("pq_l2", path)
    try:
        hello = process.go(ALLOWED)
    finally:
        process.close()
    assert hello["module"] == "autoresearch.pq_l2.kernels"  # its name cannot tell it apart
    assert "NAME" in hello["names"] and hello["threads"] == 1  # asv's configuration
    assert sys.modules["autoresearch.pq_l2.kernels"] is original  # this process never saw it


def test_the_oracle_process_never_imports_the_kernel():
    code = (
        "import sys; from autoresearch import oracle; "
        f"r = oracle.run('pq_l2', seeds=[{oracle.FIXED_SEEDS[0]}]); "
        "print(oracle.format_report(r)); "
        "print('verdict:', r.passed, 'autoresearch.pq_l2.kernels' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert "verdict: True False" in done.stdout, done.stdout + done.stderr[-3000:]


def test_an_exit_at_import_is_a_failure_not_a_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(oracle, "static_check", lambda *args, **kwargs: [])
    path = tmp_path / "kernels.py"
    path.write_text("raise SystemExit(0)\n")
    report = oracle.run("pq_l2", path)
    assert not report.passed and report.failures[0].kind == "raised"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autoresearch.oracle", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_usage_errors_exit_usage(tmp_path):
    # 64, as from every command: never 2, which is the oracle's "fail"
    assert _cli("no_such_target").returncode == EXIT_USAGE
    missing = _cli("pq_l2", "--kernels", str(tmp_path / "missing.py"))
    assert missing.returncode == EXIT_USAGE and "no such kernels file" in missing.stderr
    assert _cli().returncode == EXIT_USAGE


def test_cli_failure_exits_2_with_a_report(tmp_path):
    path = tmp_path / "kernels.py"
    path.write_text(
        textwrap.dedent('''
        """Raises at import."""
        import numpy as np
        X = np.zeros(2)[5]
    ''')
    )
    report = tmp_path / "report.json"
    result = _cli("pq_l2", "--kernels", str(path), "--report", str(report))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "correctness: fail" in result.stdout
    assert "failure: raised: kernels.py: IndexError" in result.stdout
    data = json.loads(report.read_text())  # what the gate reads: a failed kernel is no candidate
    assert data["passed"] is False and data["speed_combinations"] == 0
    assert data["kernel_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_report_names_the_kernel_and_the_speed_combinations_it_checked(tmp_path):
    # The gate takes the speed workload's correctness from this report (no track_mismatches in
    # the experiment's decision run): for the kernel whose sha256 it names, on every combination.
    report = tmp_path / "report.json"
    result = _cli("pq_l2", "--seed", str(oracle.FIXED_SEEDS[0]), "--report", str(report))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    data = json.loads(report.read_text())
    kernels = ROOT / "autoresearch" / "pq_l2" / "kernels.py"
    assert data["passed"] is True and data["target"] == "pq_l2"
    assert data["kernel_sha256"] == hashlib.sha256(kernels.read_bytes()).hexdigest()
    inputs = importlib.import_module("autoresearch.pq_l2.inputs")
    assert data["speed_combinations"] == len(oracle.speed_combinations(inputs)) > 0


def test_disguised_workload_moves_every_float_and_keeps_what_speed_depends_on():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class W:
        x: np.ndarray
        codes: np.ndarray

    rng = SplitMix64(4)
    x = np.where(rng.uniform(1000) < 0.5, 0.0, rng.normal(1000)).astype(np.float32)
    w = W(x, np.arange(1000, dtype=np.uint8).reshape(10, 100))
    a, b = oracle.disguised(w), oracle.disguised(w)
    nonzero = x != 0
    for d in (a, b):
        assert type(d) is W and d.x.dtype == x.dtype and d.x.shape == x.shape
        assert np.array_equal(d.x == 0, x == 0) and np.array_equal(np.sign(d.x), np.sign(x))
        assert np.mean(d.x[nonzero] != x[nonzero]) > 0.95  # a full-content lookup cannot match
        assert np.abs(d.x[nonzero] / x[nonzero] - 1).max() < 1e-3  # the data is still the data
        assert np.array_equal(d.codes, w.codes) and d.codes is not w.codes
    assert not np.array_equal(a.x, b.x)  # a fresh secret every time


def test_constants_unpacked_from_a_generator_are_state_and_the_message_says_how_to_bind_them():
    # the static check cannot tell what a generator yields; one constant per line passes
    body = "\n\n@njit\ndef f(x):\n    return x + _1\n"
    unpacked = "import numpy as np\nfrom numba import njit\n_0, _1 = (np.uint64(v) for v in (0, 1))"
    problems = oracle.static_problems(unpacked + body, ALLOWED)
    assert problems and "bind a constant alone, `_1 = np.uint64(1)`" in problems[0]
    alone = "import numpy as np\nfrom numba import njit\n_1 = np.uint64(1)"
    assert oracle.static_problems(alone + body, ALLOWED) == []
    listed = "import numpy as np\nfrom numba import njit\n_1 = [np.uint64(1)]"
    assert "bind a constant alone" not in oracle.static_problems(listed + body, ALLOWED)[0]
