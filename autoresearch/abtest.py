"""Paired A/B timing: a commit's kernel and its first parent's, timed alternately in one process.

On a shared 2-core VM the same code measured minutes apart differs by 1.1-1.8x, while two kernels
timed alternately in one process agree within about 0.5% (docs/design.md, "Measurement"). So the
gate never compares two separate runs: every main suite class has a `track_ab_ratio` that loads the
kernels.py of the commit's first parent next to the commit's own, alternates them (A B, then B A)
and returns one candidate/baseline time ratio per pair. asv stores those ratios as ordinary samples
(`{"samples": [...], "number": 1}` from a `track_` benchmark), with its usual statistics.

So a plain `asv run HEAD^..HEAD` records HEAD's ratios against HEAD^, and `python -m
autoresearch.gate` decides from them. Experiments commit the candidate on top of the last kept
kernel's line, so its first parent carries the baseline's kernel. When the kernel equals its first
parent's (a commit that changed something else), the A/B benchmark skips (asv records NaN).
AUTORESEARCH_AB_BASELINE names another kernels.py to pair against (the quick look, calibration).

The paired workload is drawn under a secret salt, fresh per asv run (written by the suites'
`setup_cache` into asv's temporary folder for that run, which asv removes), so answers a kernel
holds for the public workload never match what is timed.

The kernel runs in this process, so nothing here takes its word for anything (docs/design.md,
"Trusting the timing"): the process is sealed before the kernel loads (autoresearch/integrity.py)
and checked after its import and after timing (HarnessChangedError on any change), and the
candidate's outputs are checked where its speed is measured (TimedCheck: WrongWhileTimedError).
The parent then confirms the ratios in processes of its own (autoresearch/confirm.py).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType, ModuleType

from autoresearch import PACKAGE_DIR, integrity, oracle
from autoresearch.harness import numba_cache, numba_text
from autoresearch.harness.numba_cache import share_kernel_cache
from autoresearch.harness.timed_check import (  # noqa: F401  (re-exported: the suites' errors)
    AFTER_CHECK_CALLS,
    CompiledWhileTimedError,
    HarnessChangedError,
    TimedCheck,
    TimingGuardError,
    UncachedKernelError,
    WrongWhileTimedError,
    recorded_call,
    warming,
)

# Seal this process (integrity.py) the moment its first kernels module is imported, before that
# file's code runs: asv's benchmark processes import this module before any suite's `setup`.
integrity.install_trigger()
# The candidate's machine code where the oracle's kernel process compiled it (one compile per
# decision, not two), and no text of it run as code (harness/numba_text): before any kernels
# module is imported, as the trigger above.
share_kernel_cache()
numba_text.guard_numba_text()
if sys.argv[1:2] == ["run_server"]:  # asv's forkserver (asv/benchmark.py run_server DIR SOCKET)
    numba_cache.warm_cpu_target()

try:  # raised in a benchmark body, asv records a skip (NaN) rather than a failure
    from asv_runner.benchmarks.mark import SkipNotImplemented
except ImportError:  # outside asv
    SkipNotImplemented = NotImplementedError

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify)
# ---------------------------------------------------------------------------

ENV_BASELINE = "AUTORESEARCH_AB_BASELINE"  # path of the baseline kernels.py to pair against
AB_SECONDS = 0.5  # CPU time spent pairing per combination (both sides together); docs/gate.md
# ... split over this many processes per combination: the suites' track_ab_ratio (the candidate
# loaded and called first) and track_ab_ratio_baseline_first (the baseline first), so that an
# offset one process fixes (where code landed, which copy came first) varies between the two
# and widens the gate's interval instead of reading as a change (docs/gate.md, "Two processes").
AB_PROCESSES = 2
AB_MIN_PAIRS = 12  # at least this many pairs, however slow the kernel
AB_MAX_PAIRS = 200  # at most this many, however fast
AB_MIN_SAMPLE_SECS = 0.002  # one sample runs the workload often enough to last this long
# Loads of the two sides in the pairing process (load_on_one_route): the first may find a new
# kernel missing from numba's cache (a child then compiles it there), the second loads it.
ROUTE_ATTEMPTS = 2

SALT_FILE = "autoresearch-speed-salt"  # in asv's setup_cache folder: the run's secret salt
SALT_BYTES = 8  # a SplitMix64 seed's worth of secret: far beyond regenerating every candidate
# A folder bench.py makes for one run (mode 0700, removed afterwards), holding the salt it drew:
# the suites' setup_cache takes that salt instead of drawing one, and the paired benchmarks cache
# their salted workloads there, so that the parent's confirmation (confirm.py) times the same
# workloads without drawing them again. Unset (a plain `asv run`): each run draws its own.
ENV_RUN_DIR = "AUTORESEARCH_RUN_DIR"
RUN_SALT_FILE = "salt"  # in ENV_RUN_DIR
# Set by bench.py for a run of the paired benchmarks alone (`--part decision`): the suites' setup
# then leaves the package's kernels module unloaded. numba names a cached function's machine code
# after its module, and the package's instance and a new instance of the same file carry the same
# names: once setup had run the package's, the "new instance" the pairing times ran the package
# instance's machine code (the same addresses), loaded before everything else in both processes,
# while the baseline's copy ran its own (docs/gate.md, "The package's instance").
ENV_PAIRED_ONLY = "AUTORESEARCH_PAIRED_ONLY"


def first_parent_kernels(target: str) -> bytes | None:
    """The kernels.py of the first parent of the commit this package was checked out at (asv's
    checkout of it: ASV_COMMIT), or None when there is none (a root commit, no git)."""
    rev = os.environ.get("ASV_COMMIT") or "HEAD"
    try:
        proc = subprocess.run(
            ["git", "show", f"{rev}^:autoresearch/{target}/kernels.py"],
            cwd=PACKAGE_DIR.parent,
            capture_output=True,
        )
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def load_baseline(target: str) -> ModuleType:
    """The kernels module to pair against; raises SkipNotImplemented when there is nothing to pair.

    AUTORESEARCH_AB_BASELINE when set; otherwise the first parent's kernels.py, skipped when it is
    byte for byte the commit's own (that commit did not change this target's kernel).
    """
    from autoresearch import state_root

    path = os.environ.get(ENV_BASELINE)
    if path:
        source = Path(path).read_bytes()
    else:
        source = first_parent_kernels(target)
        if source is None:
            raise SkipNotImplemented(f"no first parent's kernels.py to pair {target} against")
        if source == (PACKAGE_DIR / target / "kernels.py").read_bytes():
            raise SkipNotImplemented(f"{target}'s kernel is its first parent's: nothing to pair")
    digest = hashlib.sha256(source).hexdigest()[:12]
    copy = state_root() / "baselines" / digest / "kernels.py"
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(source)
        tmp.replace(copy)
    return oracle.load_module_from(copy, baseline_module_name(target, digest), source)


def baseline_module_name(target: str, digest: str) -> str:
    """The name a baseline copy is imported under. The name moves where numba places the copy's
    code (docs/gate.md, "Code placement"), so the calibration names its copies this way too."""
    return f"autoresearch_baseline_{target}_{digest}"


def _bench_salt() -> tuple[int, Path] | None:
    """The salt bench.py drew for this run and its folder (ENV_RUN_DIR), or None."""
    folder = os.environ.get(ENV_RUN_DIR)
    if not folder:
        return None
    try:
        return int((Path(folder) / RUN_SALT_FILE).read_text().strip(), 16), Path(folder)
    except (OSError, ValueError):
        return None


def write_run_salt() -> None:
    """asv `setup_cache`: one secret salt for this asv run's paired workloads, in asv's own
    temporary folder for the run (the working directory here and in every benchmark process that
    shares it), which asv deletes afterwards: bench.py's (ENV_RUN_DIR) when it made one, else a
    fresh one. Returns None, so no benchmark gets an argument."""
    drawn = _bench_salt()
    Path(SALT_FILE).write_text(f"{drawn[0]:016x}" if drawn else os.urandom(SALT_BYTES).hex())


def run_salt() -> tuple[int, Path | None]:
    """The run's salt and the folder to cache its workloads in (bench.py's run folder when the salt
    is the one it drew, so its confirmation finds them); outside an asv run (the quick look,
    calibration) a fresh salt for this process alone, cached nowhere."""
    path = Path.cwd() / SALT_FILE
    try:
        salt = int(path.read_text().strip(), 16)
    except (OSError, ValueError):
        return int.from_bytes(os.urandom(SALT_BYTES), "little"), None
    drawn = _bench_salt()
    return salt, drawn[1] if drawn and drawn[0] == salt else Path.cwd()


def _clear_memos(module: ModuleType) -> None:
    # inputs.py memoizes workloads per process (functools.lru_cache) keyed on the arguments only:
    # a salted build must neither reuse the public arrays nor leave salted ones behind.
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def salted_workload(make: Callable[..., object], args: tuple, salt: int, cache: Path | None):
    """`make(*args)` drawn under `salt` (same shapes and distributions, other values)."""
    from autoresearch import common

    module = sys.modules[make.__module__]
    _clear_memos(module)
    try:
        with common.salted(salt, cache):
            return make(*args)
    finally:
        _clear_memos(module)


# The process's CPU time, not the wall clock: on a shared 2-core VM a pair's two samples are
# preempted unequally, so wall-clock pairs spread 33% at load 8 while CPU-time pairs spread 2-3%
# and still resolve a 3% change (docs/gate.md, calibration). Kernels run single-threaded, so CPU
# time is the kernel's work; a kernel cannot look faster on extra threads (they count too).
# A kernel that rebinds it (or anything else here) fails the benchmark: integrity.py.
_clock = time.process_time


def _timed(fn: Callable[[], object], number: int) -> float:
    start = _clock()
    for _ in range(number):
        fn()
    return _clock() - start


def paired_ratios(
    run_a: Callable[[], object],
    run_b: Callable[[], object],
    seconds: float | None = None,
    b_first: bool = False,
) -> list[float]:
    """Per-pair time ratios a/b, alternating which side goes first (a in the first pair, or b
    with `b_first`).

    Both sides run once untimed first (compilation, caches). `number` is calibrated so one sample
    lasts at least AB_MIN_SAMPLE_SECS, the same for both sides.
    """
    return _pairs(run_a, run_b, seconds, b_first=b_first)[0]


def _pairs(
    run_a: Callable[[], object],
    run_b: Callable[[], object],
    seconds: float | None = None,
    warm: bool = True,
    b_first: bool = False,
) -> tuple[list[float], int]:
    """paired_ratios, and how many times `run_a` was timed. Nothing but the two sides runs inside
    the loop: a check there that keeps one side's results alive (to compare them after the
    sample) moved A/A ratios by 0.5-1.5% (heap and page-fault effects; docs/design.md), so the
    checks come after it (TimedCheck) and, inside timed chunks, in the parent's confirmation,
    where the two kernels run the same harness code in processes of their own (confirm.py)."""
    seconds = (
        AB_SECONDS if seconds is None else seconds
    )  # read at call time: the quick look sets it
    sides = (run_b, run_a) if b_first else (run_a, run_b)  # in the order each pair starts with
    if warm:  # paired_samples has called both already (load_on_one_route, TimedCheck.before)
        for run in sides:
            run()
    one = max(*(_timed(run, 1) for run in sides), 1e-9)
    number = max(1, int(AB_MIN_SAMPLE_SECS / one) + 1)
    pairs = int(seconds / (2 * one * number))
    pairs = min(AB_MAX_PAIRS, max(AB_MIN_PAIRS, pairs))
    ratios = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(pairs):
            if (i % 2 == 0) != b_first:
                ta = _timed(run_a, number)
                tb = _timed(run_b, number)
            else:
                tb = _timed(run_b, number)
                ta = _timed(run_a, number)
            ratios.append(ta / tb)
    finally:
        if gc_was_enabled:
            gc.enable()
    return ratios, pairs * number


# The file each target's candidate is loaded from when a new instance is needed: the package's
# kernels.py unless the quick look (or calibrate --offsets) named another before sealing the
# process. Never the module's own `__file__`, which the kernel's import code can rebind. A read-only
# mapping, rebound (not mutated) when set, so the seal sees any change.
_CANDIDATE_FILES: MappingProxyType = MappingProxyType({})


def set_candidate_file(target: str, path: Path) -> None:
    """Name the file `target`'s candidate is loaded from (before the process is sealed)."""
    global _CANDIDATE_FILES
    _CANDIDATE_FILES = MappingProxyType({**_CANDIDATE_FILES, target: Path(path).resolve()})


def candidate_module(target: str, reload: bool = False) -> ModuleType:
    """The candidate kernels module; with `reload`, a new instance of it from its file (the
    package's kernels.py, or the one set_candidate_file named)."""
    if not reload:
        return importlib.import_module(f"autoresearch.{target}.kernels")
    path = _CANDIDATE_FILES.get(target, PACKAGE_DIR / target / "kernels.py")
    return numba_cache.import_kernels(target, path)


def side_loader(target: str, side: str) -> Callable[[bool], ModuleType]:
    """load_on_one_route's loader of one side: "candidate" (a new instance on reload) or
    "baseline" (a new copy at every load)."""
    if side == "baseline":
        return lambda _reload: load_baseline(target)
    return lambda reload: candidate_module(target, reload)


def load_on_one_route(
    loaders: list[Callable[[bool], ModuleType]], warm: Callable[..., object]
) -> list[ModuleType]:
    """Kernels modules whose machine code this process loaded from numba's cache, none compiled
    here.

    The same kernel compiled in the process that times it and loaded there from the cache runs at
    different speeds: pq_l2's by 7% (docs/gate.md, "Compiled here or loaded"). A new kernel's
    first process would compile it (the cache is empty): a pairing there read the route, not the
    kernels. And a process that compiled a side cannot load it afterwards: the loaded copy defines
    the same symbols and calls the code compiled first (docs/gate.md, "The package's instance").
    So: load each module (`loader(reload)`, in the order given: the process's order of the two
    copies), turn the cache on for every function (a kernel's `cache=False` would choose its
    route), and `warm(*modules)`, with every compile refused meanwhile; when one was, a forked
    child compiles them all into the cache and they are loaded again. A side that would still
    compile then (numba will not cache it) raises UncachedKernelError.
    """
    for attempt in range(ROUTE_ATTEMPTS):
        modules: list[ModuleType] = []
        with numba_cache.refusing_compiles() as refused:
            try:
                modules = [load(attempt > 0) for load in loaders]  # may compile: a signature given
                for module in modules:
                    numba_cache.cache_all(module)
                warm(*modules)
            except numba_cache.CompileRefused:
                pass
        if not refused:
            return modules
        if attempt + 1 < ROUTE_ATTEMPTS:
            numba_cache.compile_in_child(loaders, warm)
    raise UncachedKernelError(
        f"{refused[0]} would still compile in the timing process after a child compiled the "
        "kernels into numba's cache: numba does not cache it (a function reading a large global "
        "array: pass the array as an argument or build it inside the call; a signature given "
        "with cache=False, which compiles at import, before the pairing turns the cache on; a "
        "numba function kept elsewhere than the module's top level with cache=False), so it would "
        "be timed compiled here against an opponent loaded"
    )


def _require_untouched(snapshot: integrity.Snapshot, when: str) -> None:
    if changes := snapshot.changes():
        shown = "; ".join(changes[:6]) + (
            f"; and {len(changes) - 6} more" if len(changes) > 6 else ""
        )
        raise HarnessChangedError(
            f"the harness changed {when}: {shown} (a kernel may not touch the code that judges it)"
        )


def paired_samples(
    target: str,
    make: Callable[..., object],
    args: tuple,
    run: Callable[[ModuleType, object], object],
    baseline_first: bool = False,
) -> dict:
    """asv track_ result: candidate/baseline ratios for one combination, `run(impl, w)` timed on
    the workload `make(*args)` drawn under the run's secret salt, for AB_SECONDS / AB_PROCESSES.

    `baseline_first`: this process loads the baseline's copy first, then the candidate's (a new
    instance of its file), warms and times the baseline first; else the candidate comes first in
    each of these. The ratios are candidate/baseline either way.

    The process's seal (integrity.py; taken here when setup loaded no kernel) is checked at the
    start, after both loads, and after timing, and
    the candidate's outputs where they are timed (TimedCheck). Raises SkipNotImplemented (asv:
    skipped, NaN) when there is no baseline to pair against, a TimingGuardError (asv: failed)
    when what was measured cannot be trusted.
    """
    snapshot = integrity.sealed() or integrity.seal(target)  # sealed late: tests, quick look
    _require_untouched(snapshot, "at the pairing's start (after setup)")
    w = salted_workload(make, args, *run_salt())
    loaded: dict[str, integrity.Snapshot] = {}

    def baseline_watched() -> ModuleType:
        module = load_baseline(target)  # after the candidate's (re)import, never before it
        loaded["watched"] = integrity.Snapshot.of(module)  # the candidate may not touch it either
        return module

    # The candidate as a new instance from its file, as the baseline is loaded; its functions are
    # its own only where setup ran no kernel (ENV_PAIRED_ONLY: docs/gate.md, "The package's
    # instance"). Loaded after the baseline (baseline_first), a change its import makes to the
    # baseline shows in `watched` before timing.
    loaders = [lambda _reload: candidate_module(target, True), lambda _reload: baseline_watched()]
    inputs = sys.modules[make.__module__]
    step = -1 if baseline_first else 1  # this process's order of loading and warming
    candidate, baseline = load_on_one_route(loaders[::step], warming(inputs, run, w))[::step]
    watched = loaded["watched"]
    check = TimedCheck(target, inputs, candidate, baseline, w, run)
    seconds = AB_SECONDS / AB_PROCESSES  # read at call time: the quick look sets AB_SECONDS
    # No compile from the warm-up's end: both sides were warmed on this workload, and the check
    # before timing calls what the warm-up did, so a compile now is a kernel's own doing (a switch
    # to code compiled here: another route than its opponent's), reference.py's functions aside.
    refused: list[str] = []
    try:  # the refusal, swallowed by a kernel or turned into another exception, still fails
        with numba_cache.refusing_compiles(check.compiles_allowed) as refused:
            check.before()
            for snap in (snapshot, watched):
                _require_untouched(snap, "before timing")
            ratios, calls = _pairs(
                lambda: run(candidate, w), lambda: run(baseline, w), seconds, False, baseline_first
            )
    finally:  # read after the refusal's exit, which finds a listener taken out (a refusal too)
        if refused:
            raise CompiledWhileTimedError(f"{target}: {refused[0]} compiled while timed")
    check.after(calls)
    for snap in (snapshot, watched):
        _require_untouched(snap, "after timing")
    return {"samples": ratios, "number": 1}


# ---------------------------------------------------------------------------
# `python -m autoresearch.abtest TARGET`: a quick look before spending an experiment
# ---------------------------------------------------------------------------

QUICK_HELP = """\
Time the working tree's kernels.py against a committed one (HEAD by default), alternated in this
process over the target's speed workload, as the first of the experiment's two asv A/B processes
per combination does (`--baseline-first`: as the second), and print the median
candidate/baseline ratio per combination and their geomean. Below 1 is faster.

A look, not a decision: nothing is checked for correctness, recorded or committed, and one process
on a busy machine can be off by a few percent. `python -m autoresearch.experiment` decides.
Exit codes: 0 measured, 1 an unknown revision or file, or no combination matched, 2 the kernel
raised, 64 bad usage (a bad flag, an unknown target).
"""


def _suite_classes(module: ModuleType) -> list[type]:
    """The suite's main classes (Peers classes are informational), in definition order."""
    return [
        cls
        for name, cls in vars(module).items()
        if isinstance(cls, type)
        and hasattr(cls, "track_ab_ratio")
        and not name.endswith("Peers")
        and not name.startswith("_")  # asv skips these too: the shared base
    ]


class KernelRaised(Exception):
    """A kernel (candidate or baseline) raised during setup or pairing of one combination."""


def quick_ratios(
    target: str, seconds: float, match: str | None, out, baseline_first: bool = False
) -> list:
    """Run every main-class combination's `track_ab_ratio` (`track_ab_ratio_baseline_first`) in
    this one process, `seconds` each; one gate `Measured` per combination."""
    import itertools
    import re

    from autoresearch.harness import asvresults, pairstats

    global AB_SECONDS
    suite = importlib.import_module(f"benchmarks.bench_{target}")
    measured = []
    # The suite calls paired_samples itself, which pairs for AB_SECONDS / AB_PROCESSES.
    saved, AB_SECONDS = AB_SECONDS, seconds * AB_PROCESSES
    method = "track_ab_ratio_baseline_first" if baseline_first else "track_ab_ratio"
    paired_only = os.environ.get(ENV_PAIRED_ONLY)
    os.environ[ENV_PAIRED_ONLY] = "1"  # setup as in the decision's processes
    try:
        for cls in _suite_classes(suite):
            params = cls.params if isinstance(cls.params[0], list) else [cls.params]
            for combo in itertools.product(*params):
                label = asvresults.combo_label(cls.__name__, tuple(map(repr, combo)))
                if match and not re.search(match, label):
                    continue
                bench = cls()
                try:
                    if hasattr(bench, "setup"):
                        bench.setup(*combo)
                    samples = getattr(bench, method)(*combo)["samples"]
                except NotImplementedError:  # the suite skips this combination
                    continue
                except Exception as exc:
                    raise KernelRaised(f"{label}: {type(exc).__name__}: {exc}") from exc
                c = pairstats.measure(label, samples, None)
                measured.append(c)
                c = c.combo
                print(
                    f"{label:<44} {c.ratio:7.4f}  [{c.ci_lo:.4f}, {c.ci_hi:.4f}]"
                    f"  spread {c.spread:5.1%}  {c.verdict}",
                    file=out,
                    flush=True,
                )
    finally:
        AB_SECONDS = saved
        if paired_only is None:
            os.environ.pop(ENV_PAIRED_ONLY, None)
        else:
            os.environ[ENV_PAIRED_ONLY] = paired_only
    return measured


def main(argv: list[str] | None = None) -> int:
    import subprocess
    import sys
    import tempfile

    from autoresearch import PACKAGE_DIR
    from autoresearch.harness import cli

    parser = cli.UsageParser("python -m autoresearch.abtest", QUICK_HELP)
    cli.add_target(parser)
    parser.add_argument(
        "--baseline", default="HEAD", help="commit whose kernels.py to pair against"
    )
    parser.add_argument("--kernels", help="candidate file (default: the working tree's kernels.py)")
    parser.add_argument("--seconds", type=float, default=AB_SECONDS, help="CPU-s per combination")
    parser.add_argument("--match", help="only combinations whose label matches this regex")
    parser.add_argument(
        "--baseline-first",
        action="store_true",
        help="load, warm and time the baseline's copy first (the suites' second process)",
    )
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    repo = PACKAGE_DIR.parent
    proc = subprocess.run(
        ["git", "show", f"{args.baseline}:autoresearch/{args.target}/kernels.py"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"error: no kernels.py at {args.baseline!r}: {proc.stderr.strip()}", file=sys.stderr)
        return 1
    saved = os.environ.get(ENV_BASELINE)
    # The baseline's file lives as long as the measurement that loads it, and no longer.
    with tempfile.TemporaryDirectory(prefix="abtest-") as tmp:
        baseline_file = Path(tmp) / "kernels.py"
        baseline_file.write_text(proc.stdout)
        os.environ[ENV_BASELINE] = str(baseline_file)
        try:
            return _quick_look(args, repo)
        finally:
            if saved is None:
                os.environ.pop(ENV_BASELINE, None)
            else:
                os.environ[ENV_BASELINE] = saved


def _quick_look(args, repo: Path) -> int:
    """main's measurement, once the baseline's kernels.py is where ENV_BASELINE says."""
    import sys

    sys.path.insert(0, str(repo))
    importlib.import_module(f"benchmarks.bench_{args.target}")
    if args.kernels:
        path = Path(args.kernels)
        if not path.is_file():
            print(f"error: no such file {path}", file=sys.stderr)
            return 1
        set_candidate_file(args.target, path)
    integrity.seal(args.target)  # before any kernel loads, as in asv's processes
    print(
        f"candidate: {args.kernels or 'working tree'}  baseline: {args.baseline}  "
        f"({args.seconds} CPU-s per combination"
        f"{', the baseline first' if args.baseline_first else ''}; below 1 is faster)",
        flush=True,
    )
    try:
        measured = quick_ratios(
            args.target, args.seconds, args.match, sys.stdout, args.baseline_first
        )
    except KernelRaised as exc:
        import traceback

        traceback.print_exception(exc.__cause__)
        print(f"error: a kernel raised in {exc}", file=sys.stderr)
        return 2
    if not measured:
        print("error: no combination matched", file=sys.stderr)
        return 1
    from autoresearch.harness import pairstats

    point, lo, hi = pairstats.geomean_with_interval(measured)
    print(f"geomean {point:.4f}  [{lo:.4f}, {hi:.4f}] over {len(measured)} combinations")
    return 0


if __name__ == "__main__":
    # As the package's module, not as __main__: the suites import autoresearch.abtest, so what the
    # quick look sets (AB_SECONDS, the candidate's file) must be set there. Run as __main__, its
    # --seconds set a copy the suites never read (every quick look paired for AB_SECONDS).
    from autoresearch import abtest as _package_module

    raise SystemExit(_package_module.main())
