"""numba's on-disk cache for the targets' kernels.py, keyed by content instead of path.

numba files a cached function under a folder named from its source file's directory. A decision
compiled its candidate twice: in the oracle's kernel process (the clone's kernels.py) and again in
asv's first benchmark process (asv's checkout of the same commit, another path): 3-4 s each for
bm25 and topk_merge. `KernelLocator` files `autoresearch.<target>.kernels` under its module name
and its file's content hash, so a process with the same cache folder loads what another compiled
from the same bytes (the experiment runs the oracle with asv's environment's state folder when
the clone's numpy and numba are asv's: bench.asv_state_env). Another kernel under the same name
has another folder and another stamp: a miss, never its machine code. Every other function
(references, baselines' copies under their own names) keeps numba's locators.

The bytes hashed must be the bytes run: the oracle's kernel process compiles kernels.py from its
source, never from a `__pycache__` file (`import_kernels`), so a stale or planted .pyc
can neither fool the oracle nor reach asv through this cache.

`share_kernel_cache()` puts the locator first in numba's list, in this process only (not through
NUMBA_CACHE_LOCATOR_CLASSES, which children that never import the package would inherit).
abtest.py calls it on import, which benchmarks/__init__.py makes first in asv's benchmark
processes, the oracle's kernel process (it imports the suites first) and the calibration's and
quick look's: before any kernel is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import itertools
import os
import re
import shutil
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from numba.core import caching, config
from numba.core.caching import UserProvidedCacheLocator

from autoresearch import TARGETS
from autoresearch.harness.numba_text import guard_numba_text

_KERNEL_MODULE = re.compile(r"^autoresearch\.(\w+)\.kernels$")


def kernel_target(py_func, py_file: str) -> str | None:
    """The target whose kernels.py defines `py_func`, or None (not a target's kernel module)."""
    match = _KERNEL_MODULE.match(getattr(py_func, "__module__", "") or "")
    if match is None or match.group(1) not in TARGETS:
        return None
    if os.path.basename(py_file) != "kernels.py":
        return None
    if os.path.basename(os.path.dirname(os.path.abspath(py_file))) != match.group(1):
        return None
    return match.group(1)


KEEP_SOURCES = 8  # compiled sources kept per target (a decision needs one; older ones pruned)
_IMPORTED: dict[str, str] = {}  # path -> content hash of the bytes import_kernels compiled


def source_hash(py_file: str) -> str:
    """The content hash of `py_file` as this process compiled it (import_kernels), else as read."""
    known = _IMPORTED.get(os.path.abspath(py_file))
    if known is not None:
        return known
    with open(py_file, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def import_kernels(target: str, path: Path, source: bytes | None = None) -> ModuleType:
    """`autoresearch.<target>.kernels` compiled from `source` (None: the bytes of `path`, read
    once): never from a `__pycache__` file (Python trusts a .pyc whose source has the same
    modification second and size, so an edit within the second, or a planted file, would run
    other code than the source the oracle checked and this cache stamps), and stamped with the
    hash of exactly these bytes."""
    path = Path(path).resolve()
    source = path.read_bytes() if source is None else source
    _IMPORTED[str(path)] = hashlib.sha256(source).hexdigest()
    package = importlib.import_module(f"autoresearch.{target}")
    module = module_from_bytes(f"autoresearch.{target}.kernels", source, path)
    package.kernels = module
    return module


def module_from_bytes(name: str, source: bytes, path: Path) -> ModuleType:
    """Module `name` run from `source`, its file named `path`: no import system, so no
    `__pycache__` file, planted or stale, stands in for the bytes; numba's signature strings in
    it are read as types (harness/numba_text.py), never run."""
    guard_numba_text()
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        exec(compile(source, str(path), "exec", dont_inherit=True), vars(module))
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


class KernelLocator(UserProvidedCacheLocator):
    """A target's kernels.py: cached under NUMBA_CACHE_DIR/kernels-<target>/<its content hash>,
    whatever its path. A folder per source, so a process reading one kernel's index never opens
    another's machine code while it is being written; the stamp is the content hash too (numba
    before 0.68 stamps by modification time and size)."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._source_hash = source_hash(py_file)
        target = kernel_target(py_func, py_file)
        self._cache_path = str(source_folder(config.CACHE_DIR, target, self._source_hash))

    def get_source_stamp(self):
        return self._source_hash

    def ensure_cache_path(self):
        new = not os.path.isdir(self._cache_path)
        super().ensure_cache_path()
        if new:  # only a new source adds a folder: prune then, not at every function's import
            _prune(os.path.dirname(self._cache_path), keep=self._cache_path)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not config.CACHE_DIR or kernel_target(py_func, py_file) is None:
            return None
        return super().from_function(py_func, py_file)


def source_folder(cache_dir: str | Path, target: str, content_hash: str) -> Path:
    """Where KernelLocator files the compiled code of the target's kernels.py with that hash."""
    return Path(cache_dir) / f"kernels-{target}" / content_hash[:16]


def is_compiled(cache_dir: str | Path, target: str, source: bytes) -> bool:
    """Whether the numba cache at `cache_dir` holds compiled code of this kernels.py source (an
    index of at least one of its functions): what the bench says before asv runs, so that a
    decision that compiles its candidate twice says so instead of only taking longer."""
    folder = source_folder(cache_dir, target, hashlib.sha256(source).hexdigest())
    return folder.is_dir() and any(folder.glob("*.nbi"))


def _prune(folder: str, keep: str) -> None:
    """All but the KEEP_SOURCES most recently written sources' folders removed (a reader of one
    being removed finds no index or no data: numba compiles, as for any cache miss)."""
    try:
        entries = [e for e in os.scandir(folder) if e.is_dir() and e.path != keep]
        entries.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    except OSError:
        return
    for entry in entries[KEEP_SOURCES - 1 :]:
        shutil.rmtree(entry.path, ignore_errors=True)


def share_kernel_cache() -> bool:
    """KernelLocator first among numba's locators (idempotent). False where this numba keeps its
    list elsewhere: then every process compiles the candidate itself, as before."""
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)  # old name
    locators = getattr(impl, "_locator_classes", None)
    if not isinstance(locators, list):
        return False
    if KernelLocator not in locators:
        locators.insert(0, KernelLocator)
    return True


def warm_cpu_target() -> None:
    """Initialize numba's CPU target now (its registries of implementations), which numba does at
    the first compile or cache load of a process. asv's forkserver forks every benchmark process
    from one that imported the suites: initialized there, each child inherits it instead of
    paying it (0.27 s a process, 24 processes in a topk_merge decision; 0.11 s once in the
    forkserver)."""
    from numba.core.registry import cpu_target

    with contextlib.suppress(Exception):  # lazily then, in each process, as before
        cpu_target.target_context.refresh()


# ---------------------------------------------------------------------------
# The oracle's second kernel process (harness/compile_ahead.py)
# ---------------------------------------------------------------------------
# It runs calls the oracle's process has not made yet, so a kernel can tell it apart and compile
# other code there (a module global set, compiled in, restored). What it compiles therefore goes
# to a folder of its own, AHEAD_FOLDER under the cache root, which asv's processes never read: the
# oracle's process reads it after its own folder and saves what it loads from it into its own,
# so the folder asv loads holds, for every argument types the oracle's process ran, the code it
# ran (and was judged on), whoever compiled it.

# The same holds for a cache a kernel makes after its import, in either process
# (`njit(cache=True)(f.py_func)` called from a kernel function, `f.enable_caching()`): a dispatcher
# made then compiles again, under whatever state the kernel set for it, and would file that code
# under the same key as the code the oracle ran. So once kernels.py and reference.py are imported,
# the root moves to UNREAD_FOLDER, which no process reads: only functions made at import, whose
# code the oracle's process runs, file where it is loaded.

# And the names it gives its code. A cached function's machine code carries the callees it was
# compiled with, under the names numba gives each compiled function: qualified name, argument
# types and a number counted per process (FunctionIdentity's unique id). A process that loads it
# with a function of the same name already defined runs its own instead (weak symbols: the first
# definition wins). So a kernel that numbered the second process's compiles as the oracle's
# process does (a few throwaway compiles) and compiled a callee there under a flag would have the
# oracle's process run its own honest callee inside the copied caller, while an asv process,
# loading the caller first, runs the flagged one (probed in session 47: 3 there, 4 here). The
# second process numbers from AHEAD_UID_BASE, which no other process reaches: every callee it
# compiles has a name of its own, and the oracle's process runs the code the folder holds.
AHEAD_UID_BASE = 10**12
CHILD_UID_BASE = 2 * 10**12  # compile_in_child's, for the same reason: it files where asv loads

AHEAD_FOLDER = "ahead"
UNREAD_FOLDER = "unread"


def number_functions_apart(base: int = AHEAD_UID_BASE) -> None:
    """numba numbers the functions this process compiles from `base` (see AHEAD_UID_BASE)."""
    from numba.core import bytecode

    bytecode.FunctionIdentity._unique_ids = itertools.count(base)


def ahead_root(cache_dir: str) -> str:
    return os.path.join(cache_dir, AHEAD_FOLDER)


def file_later_caches_unread(cache_dir: str) -> None:
    """Caches made in this process from now on go to UNREAD_FOLDER under `cache_dir` (nothing
    when there is no cache root). numba reloads its configuration from the environment when it
    changes, so both are set."""
    if not cache_dir:
        return
    unread = os.path.join(cache_dir, UNREAD_FOLDER)
    os.environ["NUMBA_CACHE_DIR"] = unread
    config.CACHE_DIR = unread


@contextlib.contextmanager
def cache_root(path: str) -> Iterator[None]:
    """Functions whose cache is made inside (decorated, imported) are filed under `path`: numba's
    locators read the root once, when a function's cache is made."""
    old = config.CACHE_DIR
    config.CACHE_DIR = path
    try:
        yield
    finally:
        config.CACHE_DIR = old


class _AheadAfterOwn:
    """A function's cache in the oracle's kernel process: its own folder; on a miss, the
    compile-ahead folder's entry is copied into its own (as filed: the reduced compile result,
    machine code included; a library loaded from the cache cannot be serialized again) and
    loaded from there, so what this process runs is what its folder holds."""

    def __init__(self, own: object, ahead: object):
        self._own, self._ahead = own, ahead

    def load_overload(self, sig, target_context):
        data = self._own.load_overload(sig, target_context)
        if data is None:
            key = self._ahead._index_key(sig, target_context.codegen())  # the same function's
            filed = self._ahead._cache_file.load(key)
            if filed is not None:
                self._own._impl.locator.ensure_cache_path()
                self._own._cache_file.save(key, filed)
                data = self._own.load_overload(sig, target_context)
        return data

    def __getattr__(self, name: str):  # save_overload, cache_path, ...: its own folder's
        return getattr(self._own, name)


def read_ahead(module: ModuleType) -> None:
    """Give every cached function of `module` the compile-ahead folder to read after its own
    (`_AheadAfterOwn`). Functions without a cache are left alone: they read nothing."""
    from numba.core.caching import FunctionCache, NullCache

    for dispatcher in dispatchers(module):
        own = getattr(dispatcher, "_cache", None)
        if own is None or isinstance(own, NullCache):
            continue
        with cache_root(ahead_root(config.CACHE_DIR)):
            ahead = FunctionCache(dispatcher.py_func)
        dispatcher._cache = _AheadAfterOwn(own, ahead)


# ---------------------------------------------------------------------------
# One route for both sides of a pairing
# ---------------------------------------------------------------------------
# What abtest.load_on_one_route needs to time both sides as loaded from the cache (why: its
# docstring; the data: docs/gate.md, "Compiled here or loaded").


def dispatchers(module: ModuleType) -> list:
    """The numba functions `module` defines at its top level."""
    from numba.core.dispatcher import Dispatcher

    return [v for v in vars(module).values() if isinstance(v, Dispatcher)]


def cache_all(module: ModuleType) -> None:
    """Turn numba's on-disk cache on for every function of `module` that has it off, before they
    compile: a side whose kernel sets `cache=False` would compile in every process while its
    opponent loads, and be timed by the other route."""
    from numba.core.caching import NullCache

    for dispatcher in dispatchers(module):
        if isinstance(getattr(dispatcher, "_cache", None), NullCache):
            dispatcher.enable_caching()


# ---------------------------------------------------------------------------
# Compiling outside the timing process
# ---------------------------------------------------------------------------
# numba names a function's machine code after its module, and the JIT resolves a name to its first
# definition: once a process compiled a side, loading that side again from the cache (the same
# module name) calls the code compiled first (docs/gate.md, "The package's instance"). So a process
# that times must never compile a side it times: it refuses (refusing_compiles), a child compiles
# into the cache (compile_in_child), and the process loads afterwards.


class CompileRefused(BaseException):
    """Raised where numba would compile under refusing_compiles. A BaseException, so that a
    kernel's `except Exception` does not swallow it on its way out (and a kernel that swallows it
    anyway is still seen refused: refusing_compiles' list)."""


class CacheFillFailed(RuntimeError):
    """compile_in_child's child failed: the kernel raised while compiling or warming there."""


@contextlib.contextmanager
def refusing_compiles(allowed: Callable[[object], bool] | None = None) -> Iterator[list[str]]:
    """Within: wherever numba would compile a function in this process (a cache miss, a function
    whose cache is off, a signature compiled at import), CompileRefused is raised instead, before
    anything compiles; a cache hit loads as usual. Yields the list of what was refused
    ("function(signature)"), kept even when a kernel swallows the exception. `allowed(dispatcher)`
    true lets that dispatcher compile (the harness's own: reference.py's functions), and what
    numba compiles within its compile (numpy's implementations it calls: np.empty's, ...)."""
    from numba.core import event

    refused: list[str] = []
    # One entry per compile under way, whether it may proceed: numba nests a callee's compile in
    # its caller's (under its one compiler lock) and ends every compile it starts, refused or not.
    under_way: list[bool] = []

    class Refuse(event.Listener):
        def on_start(self, e):  # numba broadcasts this just before it compiles (Dispatcher.compile)
            ok = any(under_way) or (allowed is not None and allowed(e.data["dispatcher"]))
            under_way.append(ok)
            if ok:
                return
            func = e.data["dispatcher"].py_func
            name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"
            refused.append(f"{name}{tuple(e.data['args'])}")
            raise CompileRefused(f"would compile {refused[-1]}: not in numba's cache")

        def on_end(self, e):
            if under_way:
                under_way.pop()

    listener = Refuse()
    event.register("numba:compile", listener)
    try:
        yield refused
    finally:
        installed = event._registered["numba:compile"]
        if listener in installed:
            installed.remove(listener)
        else:  # a kernel unregistered it: nothing it compiled meanwhile was seen
            refused.append("(the refusal itself: it was unregistered)")


def compile_in_child(loaders: list[Callable[[bool], ModuleType]], warm: Callable) -> None:
    """Load new instances of the modules (`loader(True)`) in a forked child, turn their cache on
    and `warm` them there, so that what compiles is written to numba's cache by a process that
    times nothing. The child dies with this process. Raises CacheFillFailed when the child fails
    (its traceback is on stderr)."""
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 1
        try:
            _die_with(parent)
            number_functions_apart(CHILD_UID_BASE)  # its cached code's names are its own
            modules = [load(True) for load in loaders]
            for module in modules:
                cache_all(module)
            warm(*modules)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
    except BaseException:  # interrupted (asv's timeout, ^C): the child goes too
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    if (code := os.waitstatus_to_exitcode(status)) != 0:
        raise CacheFillFailed(
            f"the child compiling the kernels into numba's cache exited {code} (its error is above)"
        )


def _die_with(parent: int) -> None:
    """Have this child killed when `parent` dies (Linux), so that a child whose parent asv killed
    on a timeout does not compile on while the next benchmark is timed."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)
