"""The second kernel process that compiles ahead what the oracle's cases reach later
(autoresearch/harness/compile_ahead.py)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autoresearch import PACKAGE_DIR, numba_cache_dir
from autoresearch.harness.cases import Case
from autoresearch.harness.compile_ahead import CompileAhead, argument_types, later_signatures
from autoresearch.harness.numba_cache import AHEAD_UID_BASE
from autoresearch.harness.static_check import allowed_imports
from autoresearch.harness.target_protocol import load_inputs


def _case(label: str, func: str, make) -> Case:
    return Case(label, func, make)


def test_argument_types_tell_layouts_and_scalars_apart():
    a = np.arange(10, dtype=np.int32)
    assert argument_types("f", (a,)) == argument_types("f", (a.copy(),))
    assert argument_types("f", (a,)) != argument_types("f", (a[::2],))  # strided: 'A' layout
    assert argument_types("f", (a,)) != argument_types("g", (a,))
    assert argument_types("f", (a, 3)) != argument_types("f", (a, 3.0))
    assert argument_types("f", (object(),))[1] == "object"  # not a numba type: named, no error


def test_later_signatures_are_the_new_argument_types_after_the_first():
    a = np.arange(12, dtype=np.float32)
    cases = [
        _case("first", "f", lambda rng: (a,)),
        _case("same types", "f", lambda rng: (a.copy(),)),
        _case("strided", "f", lambda rng: (a[::3],)),
        _case("strided again", "f", lambda rng: (a[1::2],)),
        _case("another function", "g", lambda rng: (a,)),
    ]
    later = [case.label for case, _ in later_signatures(cases, lambda c: c.make(None))]
    assert later == ["strided", "another function"]


def test_later_signatures_makes_arguments_only_as_far_as_it_is_read():
    made = []

    def make(case):
        made.append(case.label)
        return (np.zeros(3, np.int64) if case.label != "b" else np.zeros(3, np.float64),)

    cases = [_case(x, "f", None) for x in "abcd"]
    first = next(iter(later_signatures(cases, make)))
    assert first[0].label == "b" and made == ["a", "b"]


@pytest.mark.slow
def test_the_second_process_compiles_the_later_types_into_the_kernels_cache(tmp_path):
    """bm25's cases pass strided arrays once ("strided freqs and lengths"): the second process
    compiles that signature into the numba cache folder of this kernel source (under the folder
    for code compiled ahead), where the oracle's own process would find it. (A `--kernels` file
    is imported from a copy named by its content, oracle.load_module_from; numba files its code
    under that copy's folder name.)"""
    name = "autoresearch.bm25.kernels"
    source = (PACKAGE_DIR / "bm25" / "kernels.py").read_bytes()
    source += f"\n# {uuid.uuid4().hex}: a source no cache has seen\n".encode()
    path = tmp_path / "kernels.py"
    path.write_bytes(source)
    copy = hashlib.sha256(name.encode() + b"\0" + source).hexdigest()[:16]
    folder = Path(numba_cache_dir(PACKAGE_DIR)) / "ahead"  # its own (the next test says why)
    compiled = lambda: list(folder.glob(f"{copy}_*/*.nbc"))  # noqa: E731
    cases = load_inputs("bm25").correctness_cases()
    assert len(list(later_signatures(cases, lambda c: c.make(_rng(c))))) == 1
    assert not compiled()
    allowed = allowed_imports(PACKAGE_DIR / "bm25" / "program.md")
    assert _run_ahead("bm25", path, cases, allowed).calls == 1
    assert compiled()  # by the second process alone: no other process imported this source
    # The oracle's process finds it there, files it in its own folder, and runs it right.
    from autoresearch.bm25 import reference
    from autoresearch.harness.case_runs import check_case
    from autoresearch.harness.kernel_channel import KernelProcess, KernelSide

    own = Path(numba_cache_dir(PACKAGE_DIR))
    assert not list(own.glob(f"{copy}_*/*.nbc"))
    (strided,) = [c for c in cases if c.label == "bm25_topk strided freqs and lengths"]
    process = KernelProcess("bm25", path)
    try:
        side = KernelSide(process, process.go(allowed))
        assert check_case(strided, side, reference, _rng(strided), cross_call=False) == []
    finally:
        process.close()
    assert list(own.glob(f"{copy}_*/*.nbc"))


def _run_ahead(target, path, cases, allowed) -> CompileAhead:
    """A CompileAhead run to the end of its list (seed 1), of the kernel file at `path`."""
    first = SimpleNamespace(kernels_path=path, source=Path(path).read_bytes())  # as a KernelProcess
    ahead = CompileAhead(target, first, cases, 1, allowed)
    try:
        assert ahead.wait(180)
    finally:
        ahead.stop()
    return ahead


def _rng(case):
    from autoresearch.common import SplitMix64

    return SplitMix64(1).spawn(case.label)


# A kernel that tells the compile-ahead process apart by its first call (strided indices: the
# oracle's process starts with contiguous ones) and there compiles the contiguous signature with
# a flag frozen in (numba copies a global array into the machine code), twice: through its
# import-time function and through a function it makes then (`njit(cache=True)(f.py_func)`, the
# same cache key), then restores the flag. Filed where asv loads from, that code (a wrong first
# element) would be timed without the oracle ever running it. It passes the static check.
_SWITCHING_KERNEL = """
import numpy as np
from numba import njit

FLAG = np.zeros(1, np.int64)


@njit(cache=True)
def _gather(values, indices):
    out = np.empty(indices.shape[0], values.dtype)
    for i in range(indices.shape[0]):
        out[i] = values[indices[i]]
    if FLAG[0] and out.shape[0]:
        out[0] = out[0] + 1
    return out


@njit
def _set(flag, value):
    flag[0] = value


def take(values, indices):
    if not indices.flags.c_contiguous:
        _set(FLAG, 1)
        _gather(values, np.ascontiguousarray(indices))
        njit(cache=True)(_gather.py_func)(values, np.ascontiguousarray(indices))
        _set(FLAG, 0)
    return _gather(values, indices)
"""


# Loads (or compiles) the kernel as asv's benchmark processes do: the cache root keyed on the
# package, kernel code filed by content, nothing but that root read.
_AS_ASV = """
import sys
import numpy as np
from autoresearch.harness.numba_cache import share_kernel_cache
from autoresearch.oracle import load_module_from

share_kernel_cache()
kernels = load_module_from(sys.argv[1], "autoresearch.take.kernels")
out = kernels.take(np.arange(1000, dtype=np.int64) * 7, np.arange(0, 1000, 3, dtype=np.uint64))
print(int(out[0]), sum(kernels._gather.stats.cache_hits.values()))
"""


@pytest.mark.slow
def test_code_compiled_ahead_never_reaches_the_folder_asv_loads(tmp_path):
    """The switch fires in the second process (its first call is strided) while nothing is
    cached yet. What a kernel would aim for is a race: its compile there looking up before the
    oracle's process files the same key and filing after it, over the code the oracle ran. No
    test can time that race; this checks what closes it: nothing the second process compiles,
    at import or later, is filed where asv loads (were it, the process below would load it)."""
    import subprocess
    import sys

    from autoresearch.harness.static_check import static_problems

    path = tmp_path / "kernels.py"
    path.write_text(_SWITCHING_KERNEL + f"# {uuid.uuid4().hex}\n")
    allowed = allowed_imports(PACKAGE_DIR / "take" / "program.md")
    assert static_problems(path.read_text(), allowed) == []  # a kernel the oracle would run
    values = np.arange(1000, dtype=np.int64) * 7
    indices = np.arange(0, 1000, 3, dtype=np.uint64)
    strided = np.arange(0, 2000, 6, dtype=np.uint64)[::2]
    cases = [Case("contiguous", "take", lambda rng: (values, indices))]
    cases.append(Case("strided", "take", lambda rng: (values, strided)))
    assert _run_ahead("take", path, cases, allowed).calls == 1
    copy = hashlib.sha256(b"autoresearch.take.kernels\0" + path.read_bytes()).hexdigest()[:16]
    ahead_folder = Path(numba_cache_dir(PACKAGE_DIR)) / "ahead"
    assert list(ahead_folder.glob(f"{copy}_*/kernels._gather-*.nbc"))  # the switch fired there
    unread = Path(numba_cache_dir(PACKAGE_DIR)) / "unread"
    assert list(unread.glob(f"{copy}_*/kernels._gather-*.nbc"))  # and through the late function
    run = [sys.executable, "-c", _AS_ASV, str(path)]
    first, hits = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split()
    assert int(first) == 0 and int(hits) == 0  # compiled there, from the source: FLAG is 0
    first, hits = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split()
    assert int(first) == 0 and int(hits) == 1  # the control: the same route loads what it filed


class _Folder:
    """numba's function cache as _AheadAfterOwn uses it: entries filed under an index key."""

    def __init__(self, entries=None):
        self.entries, self.asked = dict(entries or {}), []
        self._cache_file, self._impl = self, self
        self.locator = self

    def ensure_cache_path(self):
        pass

    def _index_key(self, sig, codegen):
        return sig

    def load(self, key):
        return self.entries.get(key)

    def save(self, key, data):
        self.entries[key] = data

    def load_overload(self, sig, target_context):
        self.asked.append(sig)
        return self.entries.get(sig)

    def save_overload(self, sig, data):
        self.entries[sig] = data


class _Context:
    def codegen(self):
        return None


def test_the_oracles_process_reads_its_own_folder_first_and_files_what_it_loads_ahead():
    from autoresearch.harness.numba_cache import _AheadAfterOwn

    own, ahead = _Folder({"C": "own C"}), _Folder({"C": "ahead C", "A": "ahead A"})
    cache, context = _AheadAfterOwn(own, ahead), _Context()
    assert cache.load_overload("C", context) == "own C" and ahead.asked == []  # never the other's
    assert cache.load_overload("A", context) == "ahead A"
    assert own.entries["A"] == "ahead A"  # filed where asv loads: the code this process runs
    assert own.asked == ["C", "A", "A"]  # and loaded from there
    assert cache.load_overload("F", context) is None and "F" not in own.entries
    cache.save_overload("F", "compiled F")  # what it compiles goes to its own folder only
    assert own.entries["F"] == "compiled F" and "F" not in ahead.entries


# A caller's cached machine code carries its callee under the callee's compiled name (qualified
# name, argument types, a per-process number); a process that already defined that name runs its
# own callee inside the loaded caller. `g` is recursive, so `f` calls it by name (not inlined).
_NAMES_MODULE = """
import numpy as np
from numba import njit

FLAG = np.zeros(1, np.int64)


@njit(cache=True)
def g(x):
    if x <= 0:
        return FLAG[0]
    return g(x - 1) + 2


@njit(cache=True)
def f(x):
    return g(x) + 1


@njit
def _set(flag, value):
    flag[0] = value
"""

# second: the compile-ahead process, f (and g inside it) compiled with the flag set, its number
# printed. oracle: g compiled honestly under that very number (the kernel aligned them), then f's
# cache files copied in from the second's folder (as _AheadAfterOwn files them) and called.
# asv: a fresh process loading the oracle's folder.
_NAMES_ROLE = """
import itertools, shutil, sys
from pathlib import Path

role, folder, apart = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "apart"
from numba.core import bytecode
from autoresearch.harness import numba_cache

sys.path.insert(0, str(folder))
if role == "second":
    if apart:
        numba_cache.number_functions_apart()
    import m
    m._set(m.FLAG, 1)
    m.f(1)
    print(m.g.overloads[m.g.signatures[0]].fndesc.uid)
elif role == "oracle":
    bytecode.FunctionIdentity._unique_ids = itertools.count(int(sys.argv[4]))
    import m
    m.g(1)
    copied = 0
    for p in (folder / "second").rglob("m.f-*.nb*"):
        dest = folder / "oracle" / p.relative_to(folder / "second")
        dest.parent.mkdir(parents=True, exist_ok=True)
        copied += bool(shutil.copy(p, dest))
    assert copied == 2, copied  # its index and its one entry
    print(m.f(1))
else:
    import m
    print(m.f(1))
"""


@pytest.mark.parametrize("apart", [False, True], ids=["same numbers", "numbered apart"])
def test_the_oracles_process_runs_the_callee_the_copied_caller_carries(tmp_path, apart):
    """Session 47's probe: numbered as the oracle's process numbers, the second process's flagged
    callee is shadowed there by the oracle's own honest one (the oracle judges 3, asv times 4);
    numbered from numba_cache.AHEAD_UID_BASE, as the compile-ahead process is, the oracle's
    process runs what asv's will."""
    import subprocess
    import sys

    (tmp_path / "m.py").write_text(_NAMES_MODULE)

    def run(role: str, *extra: str) -> str:
        env = dict(os.environ, AUTORESEARCH_NUMBA_CACHE_KEYED="0")
        env["NUMBA_CACHE_DIR"] = str(tmp_path / ("second" if role == "second" else "oracle"))
        mode = "apart" if apart else "same"
        done = subprocess.run(
            [sys.executable, "-c", _NAMES_ROLE, role, str(tmp_path), mode, *extra],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.split()[-1]

    number = int(run("second"))
    # The kernel can raise the oracle's process's numbers by compiling throwaway functions, one a
    # compile: to the second process's own in the first case; numbered apart, reaching them would
    # take AHEAD_UID_BASE compiles, so the closest it gets is the same place in its own count.
    reachable = number % AHEAD_UID_BASE
    judged = run("oracle", str(reachable))
    timed = run("asv")
    assert timed == "4"  # the flagged callee, from the cache
    if apart:
        assert judged == timed
    else:  # the hole: the oracle's process judged other code than asv's times
        assert judged == "3"
