"""numba's on-disk cache: keyed on the harness source, and shared across paths for a kernel.

The stale cache trap: numba stamps a cached function by its own file's hash only, so a kernel
whose helper module changed would run stale machine code, and a keep gate would time the wrong
kernel. autoresearch keys NUMBA_CACHE_DIR on the package source (the targets' kernels.py aside:
they import no package module, and numba's own stamp covers a function's own file); the first
tests show the trap with numba's default keying, its absence with ours, and the stamp that covers
a kernel's own edits. The later ones: a target's kernels.py compiled once for the oracle and
asv's processes (harness/numba_cache.py), never another source's code, never a stale .pyc's.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import autoresearch
from autoresearch import numba_cache_dir, source_digest

KERN = """
from numba import njit
from pkg.helper import helper

@njit(cache=True)
def outer(x):
    return helper(x)
"""
HELPER = """
from numba import njit

@njit
def helper(x):
    return x * {factor}
"""
RUN = "import pkg.kern as k; print(k.outer(1.0))"


def _make_pkg(root, factor):
    pkg = root / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kern.py").write_text(textwrap.dedent(KERN))
    (pkg / "helper.py").write_text(textwrap.dedent(HELPER.format(factor=factor)))
    return pkg


def _run(root, cache_dir):
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


def test_default_keying_runs_a_stale_kernel(tmp_path):
    pkg = _make_pkg(tmp_path, 2.0)
    cache = tmp_path / "cache"
    assert _run(tmp_path, cache) == 2.0
    _make_pkg(tmp_path, 3.0)  # only the helper changed
    assert _run(tmp_path, cache) == 2.0  # the trap: numba loaded the old machine code
    assert pkg.exists()


def test_source_keyed_cache_dir_sees_the_change(tmp_path):
    pkg = _make_pkg(tmp_path, 2.0)
    assert _run(tmp_path, numba_cache_dir(pkg)) == 2.0
    _make_pkg(tmp_path, 3.0)
    assert _run(tmp_path, numba_cache_dir(pkg)) == 3.0


def test_numba_stamps_a_functions_own_file(tmp_path):
    """Why a kernels.py can stay out of the digest: an edit of the cached function's own file is
    seen with the same cache directory."""
    pkg = _make_pkg(tmp_path, 2.0)
    cache = tmp_path / "cache"
    assert _run(tmp_path, cache) == 2.0
    (pkg / "kern.py").write_text(textwrap.dedent(KERN).replace("helper(x)", "helper(x) + 1.0"))
    assert _run(tmp_path, cache) == 3.0


def test_digest_follows_every_source_file(tmp_path):
    pkg = _make_pkg(tmp_path, 2.0)
    before = source_digest(pkg)
    (pkg / "helper.py").write_text((pkg / "helper.py").read_text() + "\n# edit\n")
    assert source_digest(pkg) != before


def test_importing_autoresearch_keys_the_cache_on_its_source():
    code = "import autoresearch, os; print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == numba_cache_dir(autoresearch.PACKAGE_DIR)


LOAD = """
import sys
from autoresearch import oracle
module = oracle.load_module_from(sys.argv[1], sys.argv[2])
print(module.double(2.0))
"""


def test_one_file_loaded_under_two_module_names_in_turn(tmp_path):
    """numba's cache records the module name: a red-team file tested in-process under one name and
    then checked by the oracle under another must not load the first name's machine code."""
    kernel = tmp_path / "kernel.py"
    kernel.write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef double(x):\n    return 2 * x\n"
    )
    env = {**os.environ, "AUTORESEARCH_NUMBA_CACHE_KEYED": "0", "NUMBA_CACHE_DIR": str(tmp_path)}
    for name in ("first_name", "autoresearch.pq_l2.kernels", "first_name"):
        out = subprocess.run(
            [sys.executable, "-c", LOAD, str(kernel), name], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "4.0"


# The candidate's machine code, shared by path-independent keys (harness/numba_cache.py)
# ---------------------------------------------------------------------------

TOY_KERNEL = "from numba import njit\n\n\n@njit(cache=True)\ndef double(x):\n    return {body}\n"
COMPILED = """
from autoresearch.harness.numba_cache import share_kernel_cache
share_kernel_cache()  # as abtest.py does in every process that imports a kernel
import autoresearch.take.kernels as k
stats = k.double.stats
print(k.__file__, k.double(2.0), len(stats.cache_hits), len(stats.cache_misses))
"""


def _package_copy(root, body="2 * x"):
    """A copy of the package at root/autoresearch whose take/kernels.py is a toy kernel."""
    ignore = shutil.ignore_patterns("__pycache__", "_vendor_assets")
    shutil.copytree(autoresearch.PACKAGE_DIR, root / "autoresearch", ignore=ignore)
    (root / "autoresearch" / "take" / "kernels.py").write_text(TOY_KERNEL.format(body=body))
    return root


def _compiled(root, state):
    env = {**os.environ, "PYTHONPATH": str(root), autoresearch.ENV_STATE_DIR: str(state)}
    env.pop("AUTORESEARCH_NUMBA_CACHE_KEYED", None)
    out = subprocess.run(
        [sys.executable, "-c", COMPILED], env=env, cwd=root, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    path, value, hits, misses = out.stdout.split()
    assert path == str(root / "autoresearch" / "take" / "kernels.py")
    return float(value), int(hits), int(misses)


def test_a_kernel_compiled_at_one_path_is_loaded_at_another(tmp_path):
    """The oracle's kernel process (the clone's kernels.py) and asv's benchmark processes (asv's
    checkout of the same commit) share one compile of the candidate: keyed by module name and
    content, not by the file's folder."""
    from autoresearch.harness.numba_cache import is_compiled

    state = tmp_path / "state"
    first, second = _package_copy(tmp_path / "a"), _package_copy(tmp_path / "b")
    cache = autoresearch.numba_cache_dir(first / "autoresearch", state)  # as the bench finds it
    source = (first / "autoresearch" / "take" / "kernels.py").read_bytes()
    assert not is_compiled(cache, "take", source)  # the bench says: asv compiles it
    assert _compiled(first, state) == (4.0, 0, 1)  # compiled
    assert is_compiled(cache, "take", source)  # the bench says: asv loads it
    assert not is_compiled(cache, "take", source + b"# another source\n")
    assert _compiled(second, state) == (4.0, 1, 0)  # loaded: another path, the same source
    assert len(list((state / "numba").glob("*/kernels-take/*/*.nbi"))) == 1  # one source, one index


def test_another_kernel_under_the_same_name_is_compiled_not_loaded(tmp_path):
    """A kernels.py is filed under its content hash (and stamped with it): a different one never
    gets the machine code of the one compiled before it, even while that one is being written."""
    state = tmp_path / "state"
    first = _package_copy(tmp_path / "a")
    second = _package_copy(tmp_path / "b", body="3 * x")
    assert _compiled(first, state) == (4.0, 0, 1)
    assert _compiled(second, state) == (6.0, 0, 1)
    assert _compiled(first, state) == (4.0, 1, 0)  # and back: its own folder, still there
    assert len(list((state / "numba").glob("*/kernels-take/*"))) == 2  # a folder per source


def test_only_a_targets_kernels_module_gets_the_content_key(tmp_path):
    from autoresearch.harness.numba_cache import kernel_target

    def func(module):
        f = lambda: None  # noqa: E731
        f.__module__ = module
        return f

    path = str(tmp_path / "autoresearch" / "take" / "kernels.py")
    assert kernel_target(func("autoresearch.take.kernels"), path) == "take"
    assert kernel_target(func("autoresearch.take.reference"), path) is None
    assert kernel_target(func("autoresearch_baseline_take_0123"), path) is None  # a copy's name
    assert kernel_target(func("autoresearch.nosuch.kernels"), path) is None
    other = str(tmp_path / "autoresearch" / "bm25" / "kernels.py")
    assert kernel_target(func("autoresearch.take.kernels"), other) is None


def test_every_process_importing_the_suites_shares_the_kernel_cache():
    code = (
        "import benchmarks, numba.core.caching as c; "
        "from autoresearch.harness.numba_cache import KernelLocator; "
        "print(c.CacheImpl._locator_classes[0] is KernelLocator)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_only_the_most_recent_sources_are_kept(tmp_path):
    from autoresearch.harness import numba_cache

    folder = tmp_path / "kernels-take"
    for i in range(numba_cache.KEEP_SOURCES + 3):
        (folder / f"src{i:02d}").mkdir(parents=True)
        os.utime(folder / f"src{i:02d}", (1000 + i, 1000 + i))
    keep = folder / "src00"  # the oldest, but the one being written now
    numba_cache._prune(str(folder), keep=str(keep))
    left = sorted(p.name for p in folder.iterdir())
    newest = [f"src{i:02d}" for i in range(4, numba_cache.KEEP_SOURCES + 3)]
    assert left == sorted(["src00", *newest])
    assert len(left) == numba_cache.KEEP_SOURCES


STALE = """
import sys
from autoresearch.harness.numba_cache import import_kernels
if sys.argv[1] == "import":
    import autoresearch.take.kernels as k
else:
    k = import_kernels("take", sys.argv[2])
print(k.double(2.0))
"""


def test_the_kernel_process_runs_the_source_not_a_stale_pyc(tmp_path):
    """Python trusts a .pyc whose source kept its modification second and size: an edit within
    the second (or a planted file) would run other code than the source the oracle checked and
    this cache stamps. import_kernels (the oracle's kernel process) compiles the bytes it hashes."""
    root = _package_copy(tmp_path / "a")
    kernels = root / "autoresearch" / "take" / "kernels.py"
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def double(how):
        # A state folder (numba's cache) per run: the stale run files the old code under the new
        # file's stamp, so the cache itself would serve it to the next process.
        env[autoresearch.ENV_STATE_DIR] = str(tmp_path / f"state-{len(os.listdir(tmp_path))}")
        cmd = [sys.executable, "-c", STALE, how, str(kernels)]
        out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return float(out.stdout)

    assert double("import") == 4.0  # writes __pycache__/kernels.cpython-*.pyc
    before = kernels.stat()
    kernels.write_text(TOY_KERNEL.format(body="3 * x"))  # the same size
    os.utime(kernels, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert double("import") == 4.0  # the trap: the old bytecode ran
    assert double("source") == 6.0


# One route for both sides of a pairing (abtest.load_on_one_route)
# ---------------------------------------------------------------------------

# The functions compiled in this process (numba's "numba:compile" event, completed), whatever a
# dispatcher's own statistics say.
COMPILES = """
from numba.core import event
compiles = []

class _Compiles(event.Listener):
    def on_start(self, e):
        pass

    def on_end(self, e):  # a compile that ran (a refused one ends with its exception, compiling
        # nothing; numba 0.68's Event.is_failed reads the other way round, so the details are read)
        if (e._exc_details or (None,))[0] is None:
            compiles.append(e.data["dispatcher"].py_func.__name__)

event.register("numba:compile", _Compiles())
"""

ROUTE = (
    COMPILES
    + """
import json, sys
from pathlib import Path
from autoresearch import abtest, oracle
loads = {}

def loader(path, name):
    def load(reload):
        loads.setdefault(name, []).append(reload)
        return oracle.load_module_from(Path(path), name)
    return load

paths = sys.argv[1:]
names = [f"route_{i}" for i in range(len(paths))]
try:
    modules = abtest.load_on_one_route(
        [loader(p, n) for p, n in zip(paths, names)], lambda *ms: [m.double(1.0) for m in ms]
    )
    error, values = None, [m.double(2.0) for m in modules]
except (abtest.UncachedKernelError, abtest.numba_cache.CacheFillFailed) as exc:
    error, values = f"{type(exc).__name__}: {exc}", None
print(json.dumps({"loads": [loads[n] for n in names], "compiled": compiles, "values": values,
                  "error": error}))
"""
)


def _route(state, *kernels) -> dict:
    """load_on_one_route over these kernel files (in this order) in a fresh process: each file's
    loads, the functions compiled in that process, double(2.0) of each, the refusal."""
    env = {**os.environ, autoresearch.ENV_STATE_DIR: str(state)}
    env.pop("AUTORESEARCH_NUMBA_CACHE_KEYED", None)
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", ROUTE, *map(str, kernels)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _kernel(tmp_path, name: str, source: str):
    path = tmp_path / name
    path.write_text(source)
    return path


def test_a_kernel_new_to_the_cache_is_compiled_by_a_child_never_in_the_pairing_process(tmp_path):
    """Compiled in the timing process, pq_l2's kernel ran 7% apart from the same kernel loaded from
    the cache, and a process that compiled a kernel cannot load it afterwards (the loaded copy
    calls the code compiled first: docs/gate.md, "The package's instance"). The first load refuses
    to compile, a child compiles into the cache, the second loads: nothing compiles here."""
    kernel = _kernel(tmp_path, "kernel.py", TOY_KERNEL.format(body="2 * x"))
    state = tmp_path / "state"
    first = {"loads": [[False, True]], "compiled": [], "values": [4.0], "error": None}
    assert _route(state, kernel) == first
    assert _route(state, kernel) == {**first, "loads": [[False]]}


def test_a_kernel_that_turns_the_cache_off_is_still_timed_as_loaded_from_it(tmp_path):
    """Red team: `cache=False` would keep a side compiled in every timing process while its
    opponent loads, and time the route: the pairing turns the cache on before anything compiles."""
    source = TOY_KERNEL.format(body="2 * x").replace("cache=True", "cache=False")
    kernel = _kernel(tmp_path, "kernel.py", source)
    state = tmp_path / "state"
    first = {"loads": [[False, True]], "compiled": [], "values": [4.0], "error": None}
    assert _route(state, kernel) == first
    assert _route(state, kernel) == {**first, "loads": [[False]]}


SWALLOWS = """from numba import njit


@njit(cache=True)
def _double(x):
    return 2 * x


def double(x):
    try:
        return _double(x)
    except BaseException:  # whatever stopped the compile: the route's refusal, for one
        return _double.py_func(x)
"""


def test_a_kernel_that_swallows_the_refusal_is_still_compiled_by_the_child(tmp_path):
    """Red team: a kernel that catches the refusal and runs on would look loaded in the first
    attempt (and then compile here during the timing); the refusal is recorded, not only raised."""
    kernel = _kernel(tmp_path, "kernel.py", SWALLOWS)
    expected = {"loads": [[False, True]], "compiled": [], "values": [4.0], "error": None}
    assert _route(tmp_path / "state", kernel) == expected


EAGER = """from numba import njit


@njit("float64(float64)", cache={cache})
def double(x):
    return 2 * x
"""


# The refusal names the function with its module (route_<i>: the i-th kernel file loaded).
STILL_COMPILES = r"UncachedKernelError: route_\d\.double\(float64,\) would still compile"


def test_a_signature_compiled_at_import_is_compiled_by_the_child_or_refused(tmp_path):
    """Red team: a signature given to njit compiles at import, before the pairing could refuse it
    per function or turn the cache on. Cached, the child compiles it and the pairing loads it;
    with cache=False it can only ever compile in the timing process: refused, nothing compiled."""
    cached = _kernel(tmp_path, "cached.py", EAGER.format(cache=True))
    expected = {"loads": [[False, True]], "compiled": [], "values": [4.0], "error": None}
    assert _route(tmp_path / "state", cached) == expected
    uncached = _kernel(tmp_path, "uncached.py", EAGER.format(cache=False))
    result = _route(tmp_path / "state", uncached)
    assert result["compiled"] == [] and result["values"] is None
    assert re.match(STILL_COMPILES, result["error"]), result["error"]


def test_a_kernel_numba_cannot_cache_is_refused_not_timed_on_another_route(tmp_path):
    """Red team: numba will not cache a function that uses a large global array, so that side
    would compile in every timing process while its opponent loads: the kernel would have chosen
    its route. The pairing refuses it (UncachedKernelError, a failed benchmark), naming the
    function, with nothing compiled in the timing process."""
    cacheable = _kernel(tmp_path, "a.py", TOY_KERNEL.format(body="2 * x"))
    big = "import numpy as np\n\n_BIG = np.zeros(2_000_000)\n" + TOY_KERNEL.format(
        body="2 * x + _BIG[0]"
    )
    uncacheable = _kernel(tmp_path, "b.py", big)
    result = _route(tmp_path / "state", cacheable, uncacheable)
    assert result["compiled"] == [] and result["values"] is None
    assert re.match(STILL_COMPILES, result["error"]), result["error"]
    assert result["loads"] == [[False, True], [False, True]]


PARALLEL = """from numba import njit, prange


@njit(parallel=True, cache=True)
def double(x):
    s = 0.0
    for i in prange(2):
        s += x
    return s
"""


def test_the_child_is_forked_safely_after_a_side_ran_parallel_code(tmp_path):
    """A side's parallel=True code run before the fork: GNU OpenMP's threading layer (numba's
    default where it is installed) kills a child forked after it ran; the harness's processes use
    workqueue's, which does not."""
    parallel = _kernel(tmp_path, "parallel.py", PARALLEL)
    state = tmp_path / "state"
    _route(state, parallel)  # now in the cache: the next process runs it before the refusal
    new = _kernel(tmp_path, "new.py", TOY_KERNEL.format(body="2 * x"))
    result = _route(state, parallel, new)
    assert result["error"] is None and result["compiled"] == []
    assert result["values"] == [4.0, 4.0]


def test_a_kernel_that_fails_in_the_child_fails_the_pairing(tmp_path):
    """The child's failure (here the kernel raising once compiled) is the pairing's: reported,
    with the child's exit status, never a pairing of a side that did not run."""
    raises = TOY_KERNEL.format(body="x // 0")
    kernel = _kernel(
        tmp_path, "raises.py", raises.replace("return", "raise ValueError(x)\n    return")
    )
    result = _route(tmp_path / "state", kernel)
    assert result["error"].startswith("CacheFillFailed: the child compiling the kernels")
    assert "exited 1" in result["error"] and result["compiled"] == []


def test_a_refusal_taken_out_by_a_kernel_is_itself_a_refusal():
    """A kernel sharing the process could unregister the listener and compile unseen: the
    refusal's exit finds its listener gone and says so, in the list a pairing fails on."""
    from numba.core import event

    from autoresearch.harness.numba_cache import refusing_compiles

    with refusing_compiles() as refused:
        event._registered["numba:compile"].clear()  # what such a kernel would do
    assert refused == ["(the refusal itself: it was unregistered)"]
    with refusing_compiles() as refused:
        pass
    assert refused == [] and not event._registered["numba:compile"]


FORKSERVER = """
import sys
sys.argv[1:] = sys.argv[2:]  # what asv's benchmark.py is given
import autoresearch.abtest
from numba.core.runtime import rtsys
print(rtsys._init)
"""


def test_asvs_forkserver_initializes_numbas_target_for_every_process_it_forks():
    """abtest on import in asv's forkserver (`benchmark.py run_server DIR SOCKET`): each benchmark
    process forked from it inherits numba's CPU target instead of initializing it (0.27 s)."""

    def initialized(*argv):
        cmd = [sys.executable, "-c", FORKSERVER, "-", *argv]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()

    assert initialized("run_server", "benchmarks", "socket") == "True"
    assert initialized("run", "benchmarks", "id") == "False"  # a process of its own: left lazy


NESTED = """
import numpy as np
from numba import njit

@njit(cache=False)
def allowed(n):
    return np.empty((n, 2), np.float32)  # numba compiles np.empty's implementation within it

@njit(cache=False)
def other(n):
    return np.zeros((n, 3), np.float64)
"""


def test_an_allowed_function_compiles_with_what_numba_compiles_within_it(tmp_path):
    """The pairing lets reference.py's functions compile (a candidate judged with the
    reference): numba compiles the numpy functions they call as functions of their own, within
    the caller's compile, and those must pass too; a function not allowed is refused, and the
    allowance ends with the allowed compile."""
    from autoresearch.harness.numba_cache import CompileRefused, refusing_compiles
    from autoresearch.oracle import load_module_from

    path = tmp_path / "nested.py"
    path.write_text(NESTED)
    module = load_module_from(path, "nested_compiles")
    with refusing_compiles(lambda d: d is module.allowed) as refused:
        assert module.allowed(3).shape == (3, 2)
        try:
            module.other(3)
        except CompileRefused:
            pass
    assert len(refused) == 1 and "nested_compiles.other" in refused[0], refused
