"""The paired ratios confirmed by a measurement the kernel cannot reach.

abtest.py times the candidate against the baseline inside an asv benchmark process, next to the
kernel: whatever that process reports, the kernel could have edited on its way out (a patched
pairing function, clock or result writer, by routes the static check does not follow). So after
asv has run, the parent (bench.py, which the experiment runs) times the same two kernels again in
two processes of its own, on the same salted workloads, and reads their CPU time from the OS:

- one fresh interpreter per kernel (asv's own environment and checkout when they hold the
  commit benchmarked, so numba's cache and the machine code are the ones asv timed), sealed
  (integrity.py) before its kernel loads, told by the parent which combinations to prepare;
- for each combination, chunks of a fixed number of calls, alternated between the two processes
  (A B, then B A) as abtest alternates samples; the parent reads each process's CPU clock
  (clock_getcpuclockid: all its threads, in nanoseconds, kept by the kernel of the OS) before
  sending a chunk and after its reply (a chunk lasts CHUNK_SECS or more: the exchange itself,
  the same for both, costs a few hundredths of a millisecond);
- a process may use no CPU between chunks (work done after replying, or in a thread that outlives
  the chunk, shows there), must exit 0 after its final self-check, and checks its own outputs the
  way abtest does (one call per chunk at a position drawn by the parent, bit for bit its first).

The ratio of a combination is the median over pairs of candidate/baseline CPU time per call. The
gate compares these with asv's pair ratios and refuses to decide when they disagree beyond the
noise (thresholds.MAX_CONFIRM_GAP). Such a check cannot be gamed from inside asv's process (nothing
there reaches these processes) nor cheaply from inside the candidate's own process here: its CPU
time is counted by the OS, and work it hides outside a chunk is counted too.

    python -m autoresearch.confirm TARGET [--baseline REV]   # the working tree's HEAD vs REV

bench.run calls `confirm_run` after asv; this command is for looking at one by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import importlib
import itertools
import json
import math
import mmap
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoresearch.harness.outputs import extents, overlap, same_bits

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify)
# ---------------------------------------------------------------------------

CONFIRM_SECONDS = 0.2  # CPU seconds per combination, both processes together (docs/gate.md)
# One chunk runs the workload often enough to last this long. Shorter chunks measured worse: at
# 5 ms an A/A confirmation of pq_l2 read 1.07-1.15 (each chunk pays for waking its process and
# for caches the other process cooled), at 10 ms 0.97-1.04, at 20-30 ms 0.99-1.01.
CHUNK_SECS = 0.02
MIN_PAIRS = 6  # at least this many chunk pairs per combination, however slow the kernel
MAX_PAIRS = 40  # with asv's ratios given, a disagreeing combination is measured up to this
SETTLE_GAP = (
    0.02  # ... while its median is this far from asv's (thresholds.MAX_CONFIRM_COMBO_GAP: 10%)
)
IDLE_SLACK_SECS = 0.02  # CPU a process may use between chunks in all (replying, reading)
START_TIMEOUT_SECS = 180  # imports, workloads from the run's cache, kernels from numba's cache
CHUNK_TIMEOUT_SECS = 60  # one chunk (a kernel that hangs fails the confirmation)
VERSION = 1  # of the confirmation file
SHARE_MIN_BYTES = 1 << 16  # inputs this large are mapped from one file by both processes
PREPARE_NICENESS = 5  # drawing the run's workloads next to asv yields the CPU to asv's benchmarks


class ConfirmError(Exception):
    """The confirmation could not be made (a process failed, hung, or used CPU off the clock)."""

    def __init__(self, message: str, side: str | None = None):
        super().__init__(message)
        self.side = side  # "candidate": its process failed, i.e. the candidate's own doing


# ---------------------------------------------------------------------------
# The OS's view of a child's CPU time
# ---------------------------------------------------------------------------


def cpu_clock(pid: int):
    """A function returning the CPU seconds (all threads) process `pid` has used so far."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        clockid = ctypes.c_int()
        if libc.clock_getcpuclockid(pid, ctypes.byref(clockid)) != 0:
            raise OSError(ctypes.get_errno(), "clock_getcpuclockid")
        cid = clockid.value
        time.clock_gettime(cid)
        return lambda: time.clock_gettime(cid)
    except (OSError, AttributeError):
        import psutil  # clock ticks (10 ms): coarser, still the OS's count

        proc = psutil.Process(pid)
        return lambda: sum(proc.cpu_times()[:2])


# ---------------------------------------------------------------------------
# The child: one kernel, its combinations' workloads, chunks on request
# ---------------------------------------------------------------------------


def shared_workload(w: object, folder: Path, tag: str, memo: dict) -> object:
    """`w` with its larger C-contiguous arrays replaced by copy-on-write maps of files that both
    processes map, so the two read the same physical pages: in abtest's pairs the two kernels
    read one array, and each sample finds the inputs where the other left them in the caches;
    with a copy each, every chunk started cold (an A/A chunk of ivf_select (4096,768) took 15 ms
    after one of its own and 30 ms after the other process's). A kernel that writes to its
    inputs (the oracle fails it) writes to its own copy of the page. `memo`: arrays already
    mapped (workloads share some, e.g. take's column), by id."""

    def share(a: np.ndarray, name: str) -> np.ndarray:
        if id(a) in memo:  # the original is kept with it: its id cannot be reused meanwhile
            return memo[id(a)][1]
        out = a
        if a.flags.c_contiguous and a.dtype.kind in "biufc" and a.nbytes >= SHARE_MIN_BYTES:
            path = folder / f"{name}.bin"
            if not path.exists():
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(memoryview(a).cast("B"))
                tmp.replace(path)
            with open(path, "rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
            out = np.frombuffer(mapped, dtype=a.dtype, count=a.size).reshape(a.shape)
            if memoryview(out).cast("B") != memoryview(a).cast("B"):
                raise ValueError(f"{path} does not hold the workload it was written for")
        memo[id(a)] = (a, out)
        return out

    counter = itertools.count()

    def walk(x):
        if isinstance(x, np.ndarray):
            return share(x, f"{tag}-{next(counter)}")
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return dataclasses.replace(
                x, **{f.name: walk(getattr(x, f.name)) for f in dataclasses.fields(x) if f.init}
            )
        if isinstance(x, (tuple, list)):
            return type(x)(walk(v) for v in x)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return x

    return walk(w)


def child_main(
    target: str, side: str, salt: int, cache: Path, labels: list[str], shared: Path
) -> int:
    """Serve chunks over stdin/stdout until `quit`. Exit 0 only after a clean final check."""
    from autoresearch import abtest, integrity, oracle  # noqa: F401  (_judge's, imported now)

    combinations = suite_combinations(target)
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    snapshot = integrity.seal(target)  # before the kernel loads
    wanted, found, memo = set(labels), {}, {}
    shared.mkdir(exist_ok=True)
    for label, make, args in combinations:
        if label in wanted:
            w = abtest.salted_workload(make, args, salt, cache)
            found[label] = shared_workload(w, shared, str(labels.index(label)), memo)
    if missing := wanted - found.keys():
        print(f"error: no such combination: {sorted(missing)}", file=sys.stderr)
        return 2
    workloads = [found[label] for label in labels]
    recorded, firsts = [], []

    def first_calls(kernel) -> None:  # each workload's first result, kept to check later ones
        recorded[:] = [abtest.recorded_call(inputs.search, kernel, w) for w in workloads]
        firsts[:] = [(first := record(), _deep_copy(first), extents(first)) for record in recorded]
        for w in workloads:
            inputs.search(kernel, w)

    # Loaded from numba's cache, as the asv process's sides are (abtest.load_on_one_route).
    (kernel,) = abtest.load_on_one_route([abtest.side_loader(target, side)], first_calls)
    if changes := snapshot.changes():
        print(
            f"error: the harness changed after the kernel's import: {changes[:6]}", file=sys.stderr
        )
        return 3
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            break
        index, number = int(words[1]), int(words[2])
        w = workloads[index]
        if number:  # one call untimed first: it pays for what the other process left cold
            inputs.search(kernel, w)
        print("warm", flush=True)
        if sys.stdin.readline().split() != ["go"]:  # the parent reads the clock, then says go
            return 5
        for _ in range(number):
            inputs.search(kernel, w)
        print(f"done {words[3]}", flush=True)
        if sys.stdin.readline().split() != ["check"]:  # the clock is read again meanwhile
            return 5
        # The next call, seen through a recorder (every result it computes) and checked: to the
        # kernel it is one more call of the run (chunks vary in length), and it is not timed.
        if number and (problem := _judge(recorded[index](), *firsts[index], w)):
            print(f"error: {labels[index]}: {problem}", file=sys.stderr)
            return 4
        print("checked", flush=True)
    if changes := snapshot.changes():
        print(f"error: the harness changed while timing: {changes[:6]}", file=sys.stderr)
        return 3
    return 0


def suite_combinations(target: str) -> list[tuple[str, object, tuple]]:
    """(label, workload function, its arguments) of every main-class combination, in asv's order."""
    from autoresearch import abtest
    from autoresearch.harness import asvresults

    suite = importlib.import_module(f"benchmarks.bench_{target}")
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    out = []
    for cls in abtest._suite_classes(suite):
        params = cls.params if isinstance(cls.params[0], list) else [cls.params]
        for combo in itertools.product(*params):
            label = asvresults.combo_label(cls.__name__, tuple(map(repr, combo)))
            out.append((label, getattr(inputs, cls.workload_function), cls().workload_args(*combo)))
    return out


def prepare_main(target: str, salt: int, cache: Path) -> int:
    """Draw the run's salted workloads into `cache`, in asv's order, before asv's paired
    benchmarks need them (bench.py starts this next to asv: asv times `time_*` first, one core at
    a time, so the drawing mostly uses the other core). No kernel is loaded here: the workloads
    are the harness's alone. A paired benchmark that gets there first draws its own (same bytes)."""
    from autoresearch import abtest

    with contextlib.suppress(AttributeError):
        os.nice(PREPARE_NICENESS)
    for _, make, args in suite_combinations(target):
        abtest.salted_workload(make, args, salt, cache)
    return 0


def _deep_copy(x):
    import copy

    return copy.deepcopy(x)


def _judge(kept, first, first_bits, first_extents, w) -> str | None:
    from autoresearch import oracle

    if not same_bits(kept, first_bits):
        return "a timed call returned other bits than the first call on the same inputs"
    mine = extents(kept)
    held = first_extents + extents(oracle.workload_arrays(w))
    if overlap(mine, held) or overlap(mine):
        return "a timed call returned memory shared with an earlier result or an input"
    return None


# ---------------------------------------------------------------------------
# The parent
# ---------------------------------------------------------------------------


@dataclass
class _Child:
    side: str
    proc: subprocess.Popen
    clock: object = None
    stderr_path: Path | None = None
    idle: float = 0.0
    last: float | None = None  # CPU clock when the last reply was read
    checking: float = 0.0  # CPU its output checks used (after each chunk, off the clock)
    warming: float = 0.0  # CPU its untimed first calls used (before each chunk, off the clock)
    nonce: itertools.count = field(default_factory=itertools.count)
    buffer: bytes = b""

    def read_line(self, timeout: float) -> str:
        """One line of the child's stdout within `timeout` seconds (unbuffered: select sees it)."""
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            data = os.read(fd, 65536) if ready else b""
            if not data:
                raise ConfirmError(self.failure("no reply" if ready else "timed out"), self.side)
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def send(self, text: str) -> None:
        try:
            self.proc.stdin.write(text.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise ConfirmError(self.failure("stopped reading"), self.side) from None

    def failure(self, what: str) -> str:
        code = self.proc.poll()
        tail = ""
        if self.stderr_path and self.stderr_path.exists():
            lines = self.stderr_path.read_text(errors="replace").splitlines()
            tail = " | ".join(ln for ln in lines[-6:] if ln.strip())
        state = "still running" if code is None else f"exit {code}"
        return f"the {self.side}'s process: {what} ({state}){': ' + tail if tail else ''}"

    def cpu(self) -> float:
        """The child's CPU seconds, read once it waits on its input: Linux brings a process's
        total up to date when it stops running (and at scheduler ticks, 1-10 ms apart); read
        while it still runs on another CPU it lacks the time since (that read pq_l2 chunks short
        by up to a tick, ratios 0 or 30)."""
        _wait_until_blocked(self.proc.pid)
        try:
            return self.clock()
        except Exception:  # the process is gone (OSError; psutil.NoSuchProcess)
            raise ConfirmError(self.failure("exited"), self.side) from None

    def chunk(self, index: int, number: int) -> float:
        """CPU seconds of one chunk, read from the OS around it: the child makes one untimed call
        first (a sample of abtest's finds its inputs where the other side's left them, warm),
        says `warm` and waits; the clock is read, `go` makes it run `number` calls and say
        `done`, and the clock is read again."""
        nonce = next(self.nonce)
        sent = self.cpu()
        if self.last is not None:
            self.idle += sent - self.last
        self.send(f"run {index} {number} {nonce}")
        if (reply := self.read_line(CHUNK_TIMEOUT_SECS)) != "warm":
            raise ConfirmError(self.failure(f"unexpected reply {reply[:60]!r}"), self.side)
        before = self.cpu()  # the child waits for `go`: nothing runs between these two
        self.warming += before - sent
        self.send("go")
        reply = self.read_line(CHUNK_TIMEOUT_SECS)
        after = self.cpu()
        if reply != f"done {nonce}":
            raise ConfirmError(self.failure(f"unexpected reply {reply[:60]!r}"), self.side)
        # The checked call comes after the clock stopped, and is not counted as idle either;
        # everything after it until the next chunk is.
        self.send("check")
        if (reply := self.read_line(CHUNK_TIMEOUT_SECS)) != "checked":
            raise ConfirmError(self.failure(f"unexpected reply {reply[:60]!r}"), self.side)
        self.last = self.cpu()
        self.checking += self.last - after
        return after - before


def _wait_until_blocked(pid: int, limit: float = 1.0) -> None:
    """Until process `pid` sleeps (it has said its line and waits on a read), at most `limit` s."""
    end = time.monotonic() + limit
    path = f"/proc/{pid}/stat"
    while True:
        try:
            with open(path, "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return  # not Linux, or gone: read what there is
        if state in (b"S", b"D", b"Z", b"X") or time.monotonic() > end:
            return
        time.sleep(0)


def _spawn(side, python, cwd, env, args, folder) -> _Child:
    err = folder / f"{side}.stderr"
    with open(err, "w") as stderr:
        proc = subprocess.Popen(
            [str(python), "-m", "autoresearch.confirm", "--child", *args, "--side", side],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            bufsize=0,
        )
    return _Child(side, proc, cpu_clock(proc.pid), err)


def _shared_cpu() -> int | None:
    """One CPU for both processes (None: cannot pin). Two processes on two CPUs of a shared VM ran
    the same kernel 5% apart (a busy sibling thread slows one CPU); on one CPU, with their chunks
    alternated, they meet the same conditions, as the two sides of abtest's pairs do."""
    try:
        return min(os.sched_getaffinity(0))
    except (AttributeError, OSError, ValueError):
        return None


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _secret_below(n: int) -> int:
    return int.from_bytes(os.urandom(4), "little") % n


def measure(
    children: dict[str, _Child], index: int, seconds: float, expected: float | None = None
) -> dict:
    """Chunk pairs of one combination; the median candidate/baseline CPU time per call. With
    `expected` (asv's ratio for it), pairs are added, up to MAX_PAIRS, while the median is more
    than SETTLE_GAP from it: a combination disturbed by other processes gets measured longer
    rather than read as a disagreement (agreement costs nothing extra)."""
    cand, base = children["candidate"], children["baseline"]
    one = max(cand.chunk(index, 1), base.chunk(index, 1), 1e-6)
    number = max(1, math.ceil(CHUNK_SECS / one))
    pairs = min(MAX_PAIRS, max(MIN_PAIRS, int(seconds / (2 * one * number))))
    ratios, spent = [], {"candidate": 0.0, "baseline": 0.0}

    def pair(i: int) -> None:
        order = (cand, base) if i % 2 == 0 else (base, cand)
        n = number + _secret_below(number // 4 + 1)  # no period for a kernel to count on
        t = {}
        for child in order:
            t[child.side] = max(child.chunk(index, n), 1e-9)
            spent[child.side] += t[child.side]
        ratios.append(t["candidate"] / t["baseline"])

    for i in range(pairs):
        pair(i)
    while (
        expected is not None
        and len(ratios) < MAX_PAIRS
        and abs(math.log(_median(ratios) / expected)) > math.log1p(SETTLE_GAP)
    ):
        pair(len(ratios))
        pair(len(ratios))
    q = sorted(ratios)
    median = _median(ratios)
    spread = (q[(3 * len(q)) // 4] - q[len(q) // 4]) / median
    return {
        "ratio": median,
        "pairs": len(ratios),
        "calls_per_chunk": number,
        "spread": spread,
        "candidate_s": spent["candidate"],
        "baseline_s": spent["baseline"],
    }


def confirm_run(
    target: str,
    labels: list[str],
    salt: int,
    cache: Path,
    baseline_source: bytes,
    python: Path,
    cwd: Path,
    env: dict,
    seconds: float = CONFIRM_SECONDS,
    expected: dict[str, float] | None = None,
) -> dict:
    """Time the candidate (the package `python` imports from `cwd`) against `baseline_source` on
    the combinations `labels`, drawn under `salt` (cached in `cache`). Returns the confirmation
    (`ok` false and `error` when it could not be made; `failed_side` names whose process broke).
    `expected`: asv's ratio per label, to measure longer where the two disagree (never to
    decide: the gate does)."""
    start = time.monotonic()
    out = {"version": VERSION, "target": target, "ok": False, "error": None, "combos": {}}
    out["python"] = str(python)
    folder = Path(tempfile.mkdtemp(prefix="confirm-", dir=cache))
    baseline_file = folder / "baseline" / "kernels.py"
    baseline_file.parent.mkdir()
    baseline_file.write_bytes(baseline_source)
    args = [target, "--salt", f"{salt:x}", "--cache", str(cache), "--labels", json.dumps(labels)]
    args += ["--shared", str(folder / "shared")]
    env = {k: v for k, v in env.items() if k != "PYTHONPATH"}  # as asv's processes run
    children: dict[str, _Child] = {}
    cpu = _shared_cpu()
    try:
        children["baseline"] = _spawn(
            "baseline",
            python,
            cwd,
            {**env, "AUTORESEARCH_AB_BASELINE": str(baseline_file)},
            args,
            folder,
        )
        children["candidate"] = _spawn("candidate", python, cwd, env, args, folder)
        for child in children.values():  # they start side by side, then share one CPU
            if (line := child.read_line(START_TIMEOUT_SECS)) != "ready":
                raise ConfirmError(child.failure(f"unexpected {line[:60]!r}"), child.side)
            if cpu is not None:
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(child.proc.pid, {cpu})
        for index, label in enumerate(labels):
            want = (expected or {}).get(label)
            out["combos"][label] = measure(children, index, seconds, want)
        for child in children.values():
            child.send("quit")
            code = child.proc.wait(timeout=CHUNK_TIMEOUT_SECS)
            if code != 0:
                raise ConfirmError(child.failure("failed its final check"), child.side)
            out[f"{child.side}_idle_s"] = child.idle
            out[f"{child.side}_checking_s"] = child.checking
            out[f"{child.side}_warming_s"] = child.warming
            if child.idle > IDLE_SLACK_SECS:
                raise ConfirmError(
                    f"the {child.side}'s process used {child.idle * 1e3:.1f} ms of CPU between "
                    f"chunks (at most {IDLE_SLACK_SECS * 1e3:.0f} ms): work off the clock",
                    child.side,
                )
        out["ok"] = True
    except ConfirmError as exc:
        out["error"], out["failed_side"] = str(exc), exc.side
    except (OSError, subprocess.TimeoutExpired) as exc:
        out["error"], out["failed_side"] = f"{type(exc).__name__}: {exc}", None
    finally:
        for child in children.values():
            with contextlib.suppress(OSError):
                child.proc.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                child.proc.wait(timeout=10)
            for stream in (child.proc.stdin, child.proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
    out["seconds"] = time.monotonic() - start
    return out


def main(argv: list[str] | None = None) -> int:
    from autoresearch.harness import cli

    parser = cli.UsageParser("python -m autoresearch.confirm", __doc__)
    cli.add_target(parser)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--side", choices=("candidate", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--salt", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--labels", help=argparse.SUPPRESS)
    parser.add_argument("--shared", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", default="HEAD", help="commit whose kernel to pair against")
    parser.add_argument("--match", help="only combinations whose label matches this regex")
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    if args.prepare:
        return prepare_main(args.target, int(args.salt, 16), Path(args.cache))
    if args.child:
        return child_main(
            args.target,
            args.side,
            int(args.salt, 16),
            Path(args.cache),
            json.loads(args.labels),
            Path(args.shared),
        )
    return _by_hand(args)


def _by_hand(args) -> int:
    """Confirm the working tree's kernel against REV's on a fresh salt (nothing recorded)."""
    import re

    from autoresearch import PACKAGE_DIR, abtest

    repo = PACKAGE_DIR.parent
    proc = subprocess.run(
        ["git", "show", f"{args.baseline}:autoresearch/{args.target}/kernels.py"],
        cwd=repo,
        capture_output=True,
    )
    if proc.returncode:
        print(f"error: no kernels.py at {args.baseline!r}", file=sys.stderr)
        return 1
    sys.path.insert(0, str(repo))
    labels = [
        label
        for label, _, _ in suite_combinations(args.target)
        if not args.match or re.search(args.match, label)
    ]
    with tempfile.TemporaryDirectory(prefix="confirm-") as tmp:
        salt = int.from_bytes(os.urandom(abtest.SALT_BYTES), "little")
        out = confirm_run(
            args.target, labels, salt, Path(tmp), proc.stdout, Path(sys.executable), repo,
            dict(os.environ),
        )  # fmt: skip
    for label, c in out["combos"].items():
        print(f"{label:<44} {c['ratio']:7.4f}  pairs {c['pairs']:3d}  spread {c['spread']:5.1%}")
    if not out["ok"]:
        print(f"error: {out['error']}", file=sys.stderr)
        return 2
    logs = [math.log(c["ratio"]) for c in out["combos"].values()]
    print(f"geomean {math.exp(sum(logs) / len(logs)):.4f} over {len(logs)} combinations "
          f"in {out['seconds']:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
