"""Start a target's chain of experiments again at HEAD (an epoch), after its definition changed.

    python -m autoresearch.rebaseline TARGET -m "why"

Experiments chain on the last kept commit: `experiment.check_head` refuses every experiment of
TARGET once its package (autoresearch/TARGET/ other than kernels.py), a shared module it imports
(autoresearch/arrow_layouts.py, sorted_sets.py) or what times it (anything under benchmarks/ but
the other targets' suites) changed since that commit, and the gate fails
closed when a benchmark's asv version differs from the baseline's. When such a change is meant (a
fixed suite, workload or oracle rule), or after a harness change the chain should not span, this
command makes HEAD the new baseline (whoever made the change runs it, not the agent: HARNESS.md):

1. Refuse, changing nothing, if another experiment, loop or re-baseline holds the repository lock,
   if the tree is not clean (modified, staged, deleted or untracked files; ignored ones aside), if
   nothing but results/ and README.md changed since TARGET's baseline (nothing to start again), if
   the log's baseline is not a commit of this repository, or if the log lost lines since it (the
   log only grows: restore it).
2. Correctness: `python -m autoresearch.oracle TARGET` on HEAD's kernel, in a subprocess with the
   experiment's time limit. A kernel the current oracle rejects cannot be a baseline: refused,
   with the oracle's failure lines (fix kernels.py in a commit, by hand, and run this again).
3. Benchmark HEAD: `autoresearch.bench.run(TARGET)`, in a subprocess in its own session (killed
   whole on a timeout or an interrupt). A benchmark that failed inside asv (recorded null) cannot
   be a baseline either: refused, the repository restored.
4. One commit, "results(TARGET): epoch <HEAD>: why": the asv files the run wrote under results/,
   an `epoch` row appended to results/experiments/TARGET.tsv and the README target table
   regenerated. The row: commit = HEAD (the new baseline), baseline = the previous baseline (empty
   if there was none), correctness `pass`, numeric columns `nan`, description "epoch: why;
   versions changed: ..." (the target's asv benchmark versions, old->new short hashes, where they
   differ between the previous baseline's results and this run).

The next experiment of TARGET is measured against HEAD. The kernel does not change at an epoch,
so the reports' "kernel vs first kernel" (the product of the kept experiments' ratios) carries
across it (docs/reports.md).

Exit codes (as autoresearch.experiment's): 0 recorded, 4 refused (nothing changed), 5 harness error
(repository restored, nothing recorded), 64 bad usage, 130 / 143 interrupted by SIGINT / SIGTERM
(repository restored, nothing recorded). A killed re-baseline is undone by the next command that
takes the lock (its journal, as an experiment's). Environment: AUTORESEARCH_TIME_BUDGET_SECS and
AUTORESEARCH_CHECK_TIMEOUT_SECS as for the experiment; AUTORESEARCH_BENCH_REGEX restricts the asv
selection (tests only: the epoch's results then cover that selection only).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

from autoresearch import PACKAGE_DIR
from autoresearch.experiment import EXIT_ERROR, EXIT_REFUSED, Result
from autoresearch.harness import asvresults, cli
from autoresearch.harness.asvrun import asv_errors, failed_benchmarks
from autoresearch.harness.checks import chain_of
from autoresearch.harness.env import ENV_BENCH_REGEX, budget, check_timeout, child_env
from autoresearch.harness.errors import HarnessError, Refused
from autoresearch.harness.git import Git, ensure_git_identity
from autoresearch.harness.layout import log_relpath
from autoresearch.harness.lock import Lock, phase_of
from autoresearch.harness.machine import machine_name
from autoresearch.harness.oraclerun import MAX_FAILURE_LINES
from autoresearch.harness.procs import Finished, run_tree
from autoresearch.harness.progress import Progress, emit, format_block
from autoresearch.harness.recovery import restore_after
from autoresearch.harness.runlog import append_row, clean_field, log_row
from autoresearch.harness.signals import Interrupted, Signals

EXIT_EPOCH = 0
DECISION = "epoch"
SHORT = 8  # characters of an asv benchmark version (a SHA-256) in the description
WRITES = ("results", "README.md")  # all a re-baseline writes in the tree (asv, the log, the table)
# What experiments' records change: a baseline followed by these only is still the chain's.
SAME_CHAIN = tuple(f":(exclude){p}" for p in WRITES)
RESULTS_MARK = "rebaseline-results: "  # the bench child's last line names the file it wrote
# The benchmark child: bench.run(TARGET) as the experiment's bench runs, in its own session.
BENCH_CHILD = (
    "import sys\n"
    "from autoresearch import bench\n"
    "path = bench.run(sys.argv[1], bench=sys.argv[2] or None)\n"
    f"print({RESULTS_MARK!r} + str(path), flush=True)\n"
)


def _subject_prefix(target: str, head: str) -> str:
    return f"results({target}): epoch {head[:12]}"


# ---------------------------------------------------------------------------
# asv benchmark versions: which benchmarks of the target changed
# ---------------------------------------------------------------------------


def target_versions(data: dict, target: str) -> dict[str, str]:
    """{benchmark name: asv version} of `target`, from an asv result file or a benchmarks.json."""
    prefix = f"bench_{target}."
    if "result_columns" in data:  # a result file
        try:
            found = {n: cells.get("version") for n, cells in asvresults.rows(data, "results")}
        except asvresults.NotAResultFile:
            return {}
    else:  # benchmarks.json: name -> {..., "version": ...}, plus its own format "version": 2
        found = {n: b.get("version") for n, b in data.items() if isinstance(b, dict)}
    return {n: v for n, v in found.items() if n.startswith(prefix) and isinstance(v, str) and v}


def _json_at(git: Git, rev: str, path: str) -> dict:
    proc = git.run("show", f"{rev}:{path}", check=False)
    if proc.returncode:
        return {}
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def baseline_versions(git: Git, head: str, base: str, target: str, machine: str) -> dict:
    """The target's versions as the previous baseline was benchmarked: its asv result file
    committed at HEAD (this machine's first), else results/benchmarks.json at the baseline."""
    listed = git.out("ls-tree", "-r", "--name-only", head, "--", "results").splitlines()
    own = asvresults.relpath_regex(base)
    files = [(m.group(1) != machine, f) for f in listed if (m := own.fullmatch(f))]
    for _, path in sorted(files):
        if found := target_versions(_json_at(git, head, path), target):
            return found
    return target_versions(_json_at(git, base, "results/benchmarks.json"), target)


def describe_versions(old: dict, ran: dict, suite: dict, target: str) -> str:
    """`PqL2.time_search 1a2b3c4d->4d5e6f7a, ...`: what changed between the previous baseline's
    versions (`old`), the benchmarks this run measured (`ran`) and the suite it found (`suite`)."""
    if not old:
        return "unknown (no asv results of a previous baseline)"
    prefix = f"bench_{target}."
    changes = []
    for name in sorted(ran):
        short = name.removeprefix(prefix)
        if name not in old:
            changes.append(f"{short} new {ran[name][:SHORT]}")
        elif old[name] != ran[name]:
            changes.append(f"{short} {old[name][:SHORT]}->{ran[name][:SHORT]}")
    for name in sorted(set(old) - set(suite) - set(ran)):
        changes.append(f"{name.removeprefix(prefix)} removed")
    return ", ".join(changes) or "none"


# ---------------------------------------------------------------------------
# Undoing an unfinished re-baseline (called by harness.recovery.restore: after a failure, an
# interrupt, or from the journal of a killed one)
# ---------------------------------------------------------------------------


def undo_rebaseline(git: Git, step: dict) -> tuple[str, bool]:
    """(what was done, whether the re-baseline had in fact finished).

    It writes only under results/ (asv, the log) and README.md (the table), from a clean tree, and
    commits once: undoing puts those paths back as HEAD has them and removes the untracked files
    asv wrote there. Anything else in the tree (an edit made since a kill) is left alone."""
    pre_head, target, phase = step.get("pre_head"), step.get("target", ""), step.get("phase")
    if not pre_head or phase in (None, "checks"):
        return "nothing to undo", False
    head = git.head()
    if head != pre_head:
        if git.parent(head) == pre_head and git.subject(head).startswith(
            _subject_prefix(target, pre_head)
        ):
            return "the re-baseline had finished; nothing to undo", True
        raise HarnessError(
            f"HEAD is {head}, not the re-baseline's start {pre_head}: someone else moved it; "
            "not touching the repository"
        )
    # Its own paths only: asv's output, the target's log and README.md (WRITES' parts it wrote),
    # never another command's file under results/.
    written = asv_paths(step.get("machine"))  # the killed run's machine, not this process's
    own = (*written, log_relpath(target), "README.md") if target else WRITES
    if not git.status(None, *own):
        return "nothing to undo", False
    git.run("reset", "-q", pre_head, "--", *own)  # unstage
    tracked = [p for p in own if git.tracked(pre_head, p)]
    if tracked:
        git.run("checkout", pre_head, "--", *tracked)
    # The files asv wrote that HEAD does not have (ignored ones stay), then the directories it
    # made for them: those not there before the benchmark (the journal lists them).
    new = git.out("ls-files", "-z", "--others", "--exclude-standard", "--", *written)
    for rel in filter(None, new.split("\0")):
        (git.repo / rel).unlink(missing_ok=True)
    before = set(step.get("dirs") or [])
    for path in sorted(_dirs(git.repo), key=len, reverse=True):  # the deepest first
        if path not in before:
            with contextlib.suppress(OSError):  # not empty: someone else's files
                (git.repo / path).rmdir()
    return f"reset {', '.join(own)} to {pre_head[:12]}", False


def _dirs(repo: Path) -> list[str]:
    """The directories under results/, relative to the repository."""
    root = Path(repo) / "results"
    return [str(p.relative_to(repo)) for p in root.rglob("*") if p.is_dir()]


# ---------------------------------------------------------------------------
# One re-baseline
# ---------------------------------------------------------------------------


def asv_paths(machine: str | None = None) -> tuple[str, str]:
    """Where asv's run writes: the machine's results folder (this one's by default) and
    benchmarks.json. Not the rest of results/, where another command may save a file while a
    re-baseline runs (a calibration was committed with an epoch once, session 42): neither
    committed nor removed on an undo."""
    return ("results/benchmarks.json", f"results/{machine or machine_name()}")


def asv_written(git: Git, repo: Path) -> list[str]:
    """The files asv's run wrote or changed (asv_paths)."""
    return [p for _, p in git.status(repo, *asv_paths())]


class Rebaseline:
    def __init__(
        self, repo: Path, target: str, reason: str, lock: Lock, signals: Signals, progress: Progress
    ):
        self.repo = Path(repo)
        self.git = Git(repo)
        self.target = target
        self.reason = clean_field(reason) or "(no reason given)"
        self.lock = lock
        self.signals = signals
        self.progress = progress
        self.deadline = time.monotonic() + budget()
        self.head: str | None = None
        self.previous: str | None = None  # the log's baseline before the epoch
        self.notes: list[str] = []  # for the commit message

    def journal(self, **step) -> None:
        self.lock.journal(kind="rebaseline", target=self.target, **step)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run_child(self, tag: str, args: list[str], limit: float) -> Finished:
        return run_tree(
            [sys.executable, *args],
            cwd=self.repo,
            timeout=min(limit, self.remaining()),
            progress=self.progress,
            tag=tag,
            env=child_env(),
            on_start=lambda ident: self.journal(child=ident),
        )

    def check(self) -> None:
        self.progress.phase("checks")
        self.journal(phase="checks", pre_head=None)
        changed = [f"{xy.strip() or '?'} {path}" for xy, path in self.git.status()]
        problems = []
        if changed:
            problems.append(
                "the tree must be clean (the epoch's results are filed under HEAD): "
                + ", ".join(changed[:10])
            )
        chain = chain_of(self.git, self.target)
        self.head, self.previous = chain.head, chain.base or chain.recorded
        if chain.recorded and chain.base is None:
            problems.append(
                f"the log's baseline {chain.recorded} is not a commit of this repository"
            )
        elif chain.base and not self.git.out(
            "diff", "--name-only", chain.base, chain.head, "--", ".", *SAME_CHAIN
        ):
            problems.append(
                f"nothing but results changed since {self.target}'s baseline {chain.base[:12]}: "
                "nothing to start again"
            )
        if chain.lost_lines:
            problems.append(
                f"{log_relpath(self.target)} lost lines since {chain.base[:12]} (append-only): "
                "restore it from git history; an epoch does not hide a rewritten log"
            )
        if problems:
            raise Refused(problems)
        if chain.base and not chain.descends:
            self.notes.append(f"HEAD does not descend from the previous baseline {chain.base}")
        if chain.moved:
            self.notes.append(
                f"files defining {self.target} changed since the previous baseline: "
                + ", ".join(chain.moved)
            )

    def correctness(self) -> None:
        limit = check_timeout()
        self.progress.phase(
            "correctness", f"HEAD's kernel, limit {min(limit, self.remaining()):.0f}s"
        )
        self.journal(phase="correctness", pre_head=self.head)
        args = ["-X", "faulthandler", "-m", "autoresearch.oracle", self.target]
        done = self.run_child("oracle", args, limit)
        failures = [ln for ln in done.output.splitlines() if ln.startswith("failure: ")]
        if done.timed_out:
            raise Refused(
                [
                    f"HEAD's kernel cannot be a baseline: the oracle still ran after "
                    f"{done.seconds:.0f}s (a busy machine: raise AUTORESEARCH_CHECK_TIMEOUT_SECS)"
                ]
            )
        if done.returncode == 0 and "correctness: pass" in done.output.splitlines():
            return
        if done.returncode == 1 and not failures:
            raise HarnessError(
                "the oracle exited 1 (usage or harness): " + " | ".join(done.tail(5))
            )
        died = f"killed by {done.signal_name}" if done.signal_name else f"exited {done.returncode}"
        why = failures[:MAX_FAILURE_LINES] or [
            f"the oracle {died}",
            *(f"output: {ln}" for ln in done.tail(5)),
        ]
        raise Refused(
            [
                f"HEAD's kernel cannot be a baseline: the current oracle rejects it; fix "
                f"{self.target}'s kernels.py in a commit (by hand: the chain starts again here "
                "anyway) and run this again",
                *why,
            ]
        )

    def bench(self) -> tuple[Path, str]:
        """Benchmark HEAD; (its asv result file, relative to the repository; the run's output)."""
        self.progress.phase("bench", f"{self.head[:12]}, the new baseline")
        # What asv may add to, undone; the machine its results are filed under, for an undo by
        # another process (AUTORESEARCH_MACHINE may differ there).
        self.journal(phase="bench", dirs=_dirs(self.repo), machine=machine_name())
        regex = os.environ.get(ENV_BENCH_REGEX) or ""
        done = self.run_child("bench", ["-c", BENCH_CHILD, self.target, regex], self.remaining())
        if done.timed_out:
            raise HarnessError(
                f"the time budget ({budget():.0f}s) ran out benchmarking HEAD "
                "(AUTORESEARCH_TIME_BUDGET_SECS raises it)"
            )
        marks = [ln for ln in done.output.splitlines() if ln.startswith(RESULTS_MARK)]
        if done.returncode != 0 or not marks:
            raise HarnessError(
                f"benchmarking HEAD failed (exit {done.returncode}): " + " | ".join(done.tail(5))
            )
        path = Path(marks[-1][len(RESULTS_MARK) :].strip())
        try:
            rel = path.resolve().relative_to(self.repo.resolve())
        except ValueError:
            raise HarnessError(f"bench wrote {path}, outside {self.repo}") from None
        if not (self.repo / rel).is_file():
            raise HarnessError(f"bench named {rel}, which does not exist")
        return rel, done.output

    def make_row(self, rel: Path) -> dict:
        from autoresearch import bench  # names asv's machine exactly as bench.py does

        old = {}
        if self.previous:
            old = baseline_versions(
                self.git, self.head, self.previous, self.target, bench.machine_name()
            )
        ran = target_versions(json.loads((self.repo / rel).read_text()), self.target)
        try:
            suite_json = json.loads((self.repo / "results" / "benchmarks.json").read_text())
        except (OSError, ValueError):
            suite_json = {}
        suite = target_versions(suite_json, self.target) or ran
        versions = describe_versions(old, ran, suite, self.target)
        description = f"epoch: {self.reason}; versions changed: {versions}"
        return log_row(
            self.head, self.previous, self.target, DECISION, description, correctness="pass"
        )

    def record(self, row: dict) -> str:
        log = log_relpath(self.target)
        # Shielded, as the experiment's record: a signal now waits until the commit is made.
        with self.signals.shielded():
            self.progress.phase("record", DECISION)
            publish = asv_written(self.git, self.repo)
            self.journal(phase="record")
            line = append_row(self.repo / log, row)
            self.git.run("add", "--", *publish, log)
            self.refresh_readme()
            body = "\n".join([row["description"], *self.notes])
            subject = f"{_subject_prefix(self.target, self.head)}: {self.reason}"
            self.git.run("commit", "-q", "--no-verify", "-m", subject, "-m", body)
            self.journal(phase=None)
        return line

    def refresh_readme(self) -> None:
        """The README target table in the same commit, as the experiment's record does."""
        from autoresearch import report

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                report.update_readme(self.repo, check=False)
        except report.ReportError as exc:  # no README or no generated block: nothing to update
            self.progress.say(f"README table not refreshed: {exc}")
            return
        if self.git.status(self.repo, "README.md"):
            self.git.run("add", "--", "README.md")


def run_rebaseline(
    repo: Path, target: str, reason: str, *, progress: Progress | None = None
) -> Result:
    """One re-baseline end to end; the Result's block is what the command prints."""
    progress = progress or Progress()
    signals = Signals().install()
    lock = rb = None
    try:
        lock = Lock.acquire(repo, "rebaseline", progress)
        rb = Rebaseline(repo, target, reason, lock, signals, progress)
        rb.check()
        rb.correctness()
        rel, output = rb.bench()
        if failed := failed_benchmarks(repo / rel, target):
            raise Refused(
                [
                    "HEAD cannot be a baseline: a benchmark failed in asv: "
                    + ", ".join(failed[:4]),
                    *(f"output: {ln}" for ln in asv_errors(output)),
                ]
            )
        row = rb.make_row(rel)
        line = rb.record(row)
        keys = [
            ("decision", DECISION),
            ("exit_code", EXIT_EPOCH),
            ("target", target),
            ("commit", rb.head),
            ("baseline", rb.previous or ""),
            ("head", rb.git.head()),
            ("results", rel),
            ("log", log_relpath(target)),
            ("log_row", line),
        ]
        extra = [
            f"reason: the chain of {target} starts again at {rb.head[:12]}: the next experiment "
            "is measured against it",
            *(f"reason: {n}" for n in rb.notes),
        ]
        if signals.pending:
            extra.append("reason: interrupted while recording: the record was completed first")
        return Result(EXIT_EPOCH, DECISION, format_block(keys, extra), row, rb.head)
    except Refused as exc:
        problems = list(exc.problems)
        if phase_of(lock) == "bench":  # asv has written results: put the repository back
            problems.append(f"restored: {restore_after(lock, signals, progress)}")
        keys = [("decision", "refused"), ("exit_code", EXIT_REFUSED), ("target", target)]
        extra = [f"reason: {p}" for p in problems]
        return Result(EXIT_REFUSED, "refused", format_block(keys, extra), reasons=problems)
    except Interrupted as exc:
        phase = phase_of(lock)
        done = restore_after(lock, signals, progress)
        code = 128 + exc.signum
        keys = [("decision", "interrupted"), ("exit_code", code), ("target", target)]
        extra = [f"reason: {exc} during {phase}: {done}; nothing recorded"]
        return Result(code, "interrupted", format_block(keys, extra))
    except (HarnessError, OSError, ValueError) as exc:
        phase = phase_of(lock)
        done = restore_after(lock, signals, progress)
        keys = [("decision", "error"), ("exit_code", EXIT_ERROR), ("target", target)]
        extra = [f"reason: {type(exc).__name__}: {exc} (during {phase})", f"reason: {done}"]
        return Result(EXIT_ERROR, "error", format_block(keys, extra))
    finally:
        if lock is not None:
            lock.release()
        signals.uninstall()


def main(argv: list[str] | None = None) -> int:
    parser = cli.UsageParser("python -m autoresearch.rebaseline", __doc__)
    cli.add_target(parser)
    parser.add_argument("-m", "--message", required=True, help="why: what changed, one line")
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    if not args.message.strip():
        parser.error("-m: say why the chain starts again")
    ensure_git_identity(PACKAGE_DIR.parent)
    result = run_rebaseline(PACKAGE_DIR.parent, args.target, args.message)
    emit(result.block)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
