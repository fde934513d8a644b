"""One experiment: commit an edited kernel, check it, time it against the baseline, keep or revert.

    python -m autoresearch.experiment TARGET -m "one-line hypothesis"

Run it after editing autoresearch/TARGET/kernels.py, the only file an experiment may change
(HARNESS.md, the CAN / CANNOT table). In order:

1. Refuse, changing nothing, if another experiment or loop holds the repository lock
   (.autoresearch/lock.json), if anything but that file changed (modified, staged, deleted or
   untracked; ignored files aside), if it did not change, or if HEAD is not where the last
   experiment of TARGET left it (the tree outside results/ must be the baseline's).
2. Commit the candidate: "experiment(TARGET): hypothesis".
3. Correctness: `python -m autoresearch.oracle TARGET` (fixed and fresh seeds, held-out cases) in a
   subprocess with a time limit (numba's cache in asv's environment: the bench reuses its compile).
   A kernel that raises, dies on a signal or hangs is a crash or a timeout, never a harness failure.
   The baseline's kernel is checked too (once, cached): if the current oracle rejects it, the
   candidate is a repair (gate --repair: not slower is enough).
4. Speed: `python -m autoresearch.bench TARGET --baseline BASELINE --part decision --run-dir DIR`
   (the run's secret salt and its salted workloads, drawn by a child started before step 3, so
   that they are ready when asv's processes need them; removed when the experiment ends;
   a plain `asv run CANDIDATE^!` of the methods the gate reads, whose A/B benchmark pairs the
   candidate's kernel with its first parent's, the baseline's) in a temporary git worktree of the
   candidate sharing this clone's asv environment, then `python -m autoresearch.gate`. A "cannot
   decide" (exit 3, e.g. a suspect speed-up) is measured once more and judged again with
   --confirmed; only a keep then keeps. A keep then times the candidate's `time_*` (`--part
   history`, the dashboard's series) into the same result file. A candidate benchmark that raised
   inside asv (recorded null) is a crash.
5. Keep: the candidate commit stays and a second commit adds its asv results and its log row
   (results/ is committed history; the results cannot go into the candidate's own commit because
   they are filed under its hash). Anything else: HEAD back to where the experiment started
   (`git reset --keep`: edits made elsewhere in the tree meanwhile stay), then a commit of the log
   row alone. The asv results of a discarded candidate never enter results/ (they stay in the
   worktree, archived under .autoresearch/runs/), so the published history holds kept commits
   only. Every candidate commit stays reachable from refs/autoresearch/TARGET/<sha>.
6. The row goes to results/experiments/TARGET.tsv: tab-separated, header once, append-only, never
   rewritten, fsynced, columns LOG_COLUMNS.
7. Print a `key: value` block after a `---` line: the experiment's keys, then the gate's.

Exit codes: 0 keep, 1 discard, 2 correctness failure (fail), 3 crash or timeout, 4 refused
(nothing changed), 5 harness error (repository restored, nothing recorded), 64 bad usage,
130 / 143 interrupted by SIGINT / SIGTERM (repository restored, nothing recorded).

A failed, crashed, interrupted or killed experiment leaves HEAD and every file where they were
before step 2 (a killed one: the next run finds the stale lock and restores from its journal);
a finished one adds exactly one commit (discards) or two (keeps). Whole experiment within
TIME_BUDGET_SECS.

Environment (tests, slow machines): AUTORESEARCH_TIME_BUDGET_SECS and
AUTORESEARCH_CHECK_TIMEOUT_SECS override the limits of autoresearch.common;
AUTORESEARCH_BENCH_REGEX restricts the asv selection (bench.py --bench). A restricted run leaves
combinations unmeasured, so the gate cannot keep it: tests use it to reach the later phases fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autoresearch import PACKAGE_DIR
from autoresearch.harness import cli, decide, run_folder
from autoresearch.harness.archive import Archive
from autoresearch.harness.asvrun import asv_errors, failed_benchmarks, guard_errors
from autoresearch.harness.checks import check_head, check_tree, drop_bytecode
from autoresearch.harness.env import bench_regex, budget, check_timeout, child_env
from autoresearch.harness.errors import HarnessError, Refused
from autoresearch.harness.files import copy_atomic
from autoresearch.harness.git import Git, ensure_git_identity
from autoresearch.harness.layout import kernels_relpath, log_relpath
from autoresearch.harness.lock import Lock, phase_of
from autoresearch.harness.oraclerun import baseline_failures, judge, verdict_cache
from autoresearch.harness.procs import Finished, run_tree
from autoresearch.harness.progress import Progress, emit, format_block
from autoresearch.harness.recovery import drop_candidate, restore_after, save_ref
from autoresearch.harness.runlog import append_row, clean_field, log_row
from autoresearch.harness.signals import Interrupted, Signals
from autoresearch.harness.verdict import gate_args, gate_lines, read_gate_json, repeated_lines
from autoresearch.harness.worktrees import add_worktree, remove_worktrees, worktree_path

# ---------------------------------------------------------------------------
# Constants (fixed: the results log and the tests depend on them)
# ---------------------------------------------------------------------------

EXIT_KEEP, EXIT_DISCARD, EXIT_FAIL, EXIT_CRASH, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2, 3, 4, 5
EXIT_USAGE = cli.EXIT_USAGE
EXIT_FOR_DECISION = {
    "keep": EXIT_KEEP, "discard": EXIT_DISCARD, "undecided": EXIT_DISCARD, "fail": EXIT_FAIL,
    "crash": EXIT_CRASH, "timeout": EXIT_CRASH,
}  # fmt: skip

# The gate's exit codes as experiment decisions (UNDECIDED is one only after a re-measurement).
GATE_DECISIONS = {
    decide.KEEP: "keep", decide.DISCARD: "discard", decide.INCORRECT: "fail",
    decide.UNDECIDED: "undecided",
}  # fmt: skip
ORACLE_REPORT = "oracle.json"  # in the run's archive: the gate's word on the speed workload


# ---------------------------------------------------------------------------
# One experiment
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    decision: str  # keep | discard | fail | crash | timeout
    correctness: str = ""  # pass | fail | crash | timeout
    verdict: decide.Decision | None = None  # the gate's, read from its --json
    gate_lines: list[str] = field(default_factory=list)  # its lines, as the block repeats them
    reasons: list[str] = field(default_factory=list)
    peak_mem_mb: float = 0.0


@dataclass
class Result:
    exit_code: int
    decision: str  # an Outcome decision, or refused | error | interrupted
    block: str
    row: dict | None = None
    candidate: str | None = None
    reasons: list[str] = field(default_factory=list)


class Experiment:
    def __init__(
        self,
        repo: Path,
        target: str,
        hypothesis: str,
        lock: Lock,
        signals: Signals,
        progress: Progress,
    ):
        self.git = Git(repo)
        self.repo = Path(repo)
        self.target = target
        self.hypothesis = clean_field(hypothesis) or "(no hypothesis given)"
        self.lock = lock
        self.signals = signals
        self.progress = progress
        self.start = time.monotonic()
        self.deadline = self.start + budget()
        self.candidate: str | None = None
        self.baseline: str | None = None
        self.pre_head: str | None = None
        self.archive: Archive | None = None  # once the candidate is committed
        self.run_dir: Path | None = None  # the run's salt and workloads (evaluate)
        from autoresearch import bench  # names asv's files exactly as bench.py writes them

        self.machine = bench.machine_name()
        self.env_name = bench.env_name()
        self.asv_state = bench.asv_state_env(self.repo)
        self.bench_regex = bench_regex()

    # -- helpers ----------------------------------------------------------------------------

    def result_relpath(self, commit: str) -> str:
        return f"results/{self.machine}/{commit[:8]}-{self.env_name}.json"

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def journal(self, **step) -> None:
        self.lock.journal(kind="experiment", target=self.target, **step)

    def run_child(
        self, tag: str, args: list[str], cwd: Path, limit: float, echo: bool = True
    ) -> Finished:
        env = child_env() | (self.asv_state if tag == "oracle" else {})  # compiles for asv
        return run_tree(
            [sys.executable, *args],
            cwd=cwd,
            timeout=min(limit, self.remaining()),
            progress=self.progress,
            tag=tag,
            env=env,
            on_start=lambda ident: self.journal(child=ident),
            echo=echo,
        )

    # -- the steps --------------------------------------------------------------------------

    def check(self) -> None:
        self.progress.phase("checks")
        self.journal(phase="checks", pre_head=None)
        problems = []
        try:
            check_tree(self.git, self.target)
        except Refused as exc:
            problems += exc.problems
        try:
            self.baseline = check_head(self.git, self.target)
        except Refused as exc:
            problems += exc.problems
        if problems:
            raise Refused(problems)
        drop_bytecode(self.repo)  # before any child imports the harness from this tree
        self.pre_head = self.git.head()
        from autoresearch import bench

        if not (self.repo / "results" / self.machine).is_dir():
            # Not a problem (the pairing needs no earlier results): so nobody compares machines.
            hint = bench.machine_hint(results=self.repo / "results")
            self.progress.say(f"note: no results from this machine yet{hint}")

    def commit(self) -> None:
        self.progress.phase("commit", f"baseline {self.baseline[:12]}")
        self.journal(phase="commit", pre_head=self.pre_head, candidate=None, created=[])
        with self.signals.critical():
            self.git.run(
                "commit", "-q", "--no-verify", "-m",
                f"experiment({self.target}): {self.hypothesis}", "--",
                kernels_relpath(self.target),
            )  # fmt: skip
            self.candidate = self.git.head()
            save_ref(self.git, self.target, self.candidate)
            self.archive = Archive(self.repo, self.target, self.candidate)
            self.journal(candidate=self.candidate)
        self.progress.say(f"candidate: {self.candidate}")

    def correctness(self) -> Outcome | None:
        limit = check_timeout()
        self.progress.phase("correctness", f"oracle, limit {min(limit, self.remaining()):.0f}s")
        self.journal(phase="correctness")
        done = self.run_child(
            "oracle",
            ["-X", "faulthandler", "-m", "autoresearch.oracle", self.target,
             "--report", str(self.archive.path / ORACLE_REPORT)],
            self.repo,
            limit,
        )  # fmt: skip
        self.archive.save("oracle.txt", done.output)
        self.peak = done.peak_rss_mb
        if judged := judge(done):
            correctness, reasons = judged  # fail, crash or timeout: the decision too
            return Outcome(correctness, correctness, peak_mem_mb=self.peak, reasons=reasons)
        self.repair = self.baseline_failures()
        return None

    def baseline_failures(self) -> list[str]:
        """The current oracle's failure lines for the baseline's kernel (empty: it passes).

        The oracle grows stricter (a red-team kernel, a trap the loop hit): a kept kernel can fail
        a check that did not exist when it was kept. Then the candidate is a repair, kept when
        correct and not slower (gate --repair): the faster-only rule would keep the flawed
        baseline forever. Cached per baseline kernel and harness (oraclerun.verdict_cache).
        """
        source = self.git.out("show", f"{self.baseline}:{kernels_relpath(self.target)}")
        cache = verdict_cache(self.repo, self.target, source.encode())
        if cache.exists():
            return [ln for ln in cache.read_text().splitlines() if ln]
        self.progress.phase("correctness", f"the baseline {self.baseline[:12]} under this oracle")
        with tempfile.TemporaryDirectory(prefix="baseline-") as tmp:
            path = Path(tmp) / "kernels.py"
            path.write_text(source)
            done = self.run_child(
                "oracle",
                ["-m", "autoresearch.oracle", self.target, "--kernels", str(path)],
                self.repo,
                check_timeout(),
            )
        failures = baseline_failures(done)
        if failures is None:
            return []  # no verdict: judge the candidate by the normal rules
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("".join(f"{ln}\n" for ln in failures))
        return failures

    def bench_args(
        self, baseline: str | None, part: str = "decision", run_dir: Path | None = None
    ) -> list[str]:
        args = ["-m", "autoresearch.bench", self.target]
        if baseline:
            args += ["--baseline", baseline]
        if self.repair and part == "decision":
            args.append("--repair")  # the gate judges a repair: not slower may keep (confirm it)
        if self.bench_regex:
            args += ["--bench", self.bench_regex]
        else:
            args += ["--part", part]
        if run_dir is not None:
            args += ["--run-dir", str(run_dir)]
        return args

    def bench_candidate(self, cand_wt: Path, phase: str) -> Outcome | None:
        self.progress.phase(phase, f"{self.candidate[:12]} paired against {self.baseline[:12]}")
        self.journal(phase=phase)
        drawn = self.run_dir if phase == "bench" else None  # a remeasure draws a salt of its own
        args = self.bench_args(self.baseline, run_dir=drawn)
        done = self.run_child("bench", args, cand_wt, self.remaining())
        self.peak = max(self.peak, done.peak_rss_mb)
        if done.timed_out:
            return Outcome(
                "timeout", "pass", peak_mem_mb=self.peak,
                reasons=[f"the time budget ({budget():.0f}s) ran out benchmarking the candidate"],
            )  # fmt: skip
        if done.returncode != 0 or not (cand_wt / self.result_relpath(self.candidate)).exists():
            # The baseline benchmarked fine in the same harness: the candidate broke the run.
            return Outcome(
                "crash", "pass", peak_mem_mb=self.peak,
                reasons=[f"benchmark run failed (exit {done.returncode})",
                         *(f"output: {ln}" for ln in done.tail())],
            )  # fmt: skip
        results = cand_wt / self.result_relpath(self.candidate)
        guarded = guard_errors(done.output)
        if failed := failed_benchmarks(results, self.target, paired=bool(guarded)):
            # asv records a benchmark that raised or ran out of time as null and exits 0. In
            # time_* and track_mismatches only the candidate's kernel runs: its crash, not noise.
            # The paired benchmark's refusals (GUARD_ERRORS) are the candidate's too.
            return Outcome(
                "crash", "pass", peak_mem_mb=self.peak,
                reasons=[f"benchmark failed in asv: {', '.join(failed[:4])}",
                         *(f"output: {ln}" for ln in guarded or asv_errors(done.output))],
            )  # fmt: skip
        confirmation = self.confirmation_path(cand_wt)
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(confirmation.read_text())
            self.archive.save(f"confirm-{phase}.json", json.dumps(data, indent=1))
            if not data.get("ok") and data.get("failed_side") == "candidate":
                # The parent's process running the candidate failed its checks, died or hung.
                return Outcome(
                    "crash", "pass", peak_mem_mb=self.peak,
                    reasons=[f"the confirmation failed: {data.get('error')}"],
                )  # fmt: skip
        return None

    def bench_history(self, cand_wt: Path) -> Outcome | None:
        """A kept candidate's `time_*` (the dashboard's series), added to its result file: the
        decision measured only what the gate reads, so a discard never pays for these."""
        self.progress.phase("history", f"time_* of {self.candidate[:12]} for the dashboard")
        self.journal(phase="history")
        args = self.bench_args(None, part="history")
        done = self.run_child("bench", args, cand_wt, self.remaining())
        self.peak = max(self.peak, done.peak_rss_mb)
        if done.timed_out:
            return Outcome(
                "timeout", "pass", peak_mem_mb=self.peak,
                reasons=[f"the time budget ({budget():.0f}s) ran out timing the kept candidate's "
                         "time_* for the history"],
            )  # fmt: skip
        results = cand_wt / self.result_relpath(self.candidate)
        failed = failed_benchmarks(results, self.target) if results.exists() else ["(no results)"]
        if done.returncode != 0 or failed:
            # Only the candidate's kernel runs in time_*: a failure there is its crash.
            return Outcome(
                "crash", "pass", peak_mem_mb=self.peak,
                reasons=[f"the kept candidate's time_* run failed (exit {done.returncode}"
                         f"{', failed: ' + ', '.join(failed[:4]) if failed else ''})",
                         *(f"output: {ln}" for ln in asv_errors(done.output) or done.tail())],
            )  # fmt: skip
        return None

    def confirmation_path(self, cand_wt: Path) -> Path:
        from autoresearch import bench

        return bench.confirmation_path(self.candidate, self.machine, repo=cand_wt)

    def run_gate(self, cand_wt: Path, confirmed: bool) -> tuple[int | None, decide.Decision | None]:
        """(the gate's exit code, None on a timeout; its Decision, read from its --json)."""
        self.progress.phase("gate", "--confirmed" if confirmed else "")
        self.journal(phase="gate")
        # Always --confirmation: a keep needs asv's ratios confirmed by the parent's own
        # measurement (a missing confirmation is "cannot decide").
        args = gate_args(
            self.target, self.candidate, self.baseline, confirmed=confirmed,
            repair=bool(self.repair), confirmation=str(self.confirmation_path(cand_wt)),
            oracle_report=str(self.archive.path / ORACLE_REPORT),
        )  # fmt: skip
        done = self.run_child("gate", args, cand_wt, self.remaining(), echo=False)
        verdict, before = read_gate_json(done.output)
        # Shown and kept as the gate prints them without --json: its stderr, then its block.
        text = before + ("\n".join(gate_lines(verdict)) + "\n" if verdict else "")
        for line in text.splitlines():
            self.progress.say(f"gate| {line}")
        self.archive.save("gate-confirmed.txt" if confirmed else "gate.txt", text)
        code = None if done.timed_out else done.returncode
        if code is not None and (verdict is None or verdict.exit_code != code):
            raise HarnessError(
                f"the gate exited {code} without a verdict of that code: "
                + " | ".join(done.output.splitlines()[-5:])
            )
        return code, verdict

    def speed(self) -> Outcome:
        cand_wt = add_worktree(self.git, "candidate", self.candidate, self.signals)
        out = self.bench_candidate(cand_wt, "bench")
        if out:
            return out
        code, verdict = self.run_gate(cand_wt, confirmed=False)
        if code == decide.UNDECIDED:
            self.progress.say("gate: cannot decide; measuring once more, then --confirmed")
            out = self.bench_candidate(cand_wt, "remeasure")
            if out:
                return out
            code, verdict = self.run_gate(cand_wt, confirmed=True)
        if code == decide.KEEP and not self.bench_regex:
            out = self.bench_history(cand_wt)
            if out:
                return out
        lines = repeated_lines(verdict) if verdict else []
        judged = {"verdict": verdict, "gate_lines": lines, "peak_mem_mb": self.peak}
        if code is None:
            return Outcome(
                "timeout", "pass", **judged, reasons=["the time budget ran out in the gate"]
            )
        # Cannot decide twice (UNDECIDED): never keep on doubt, but say so. A discard is evidence
        # against the idea; "undecided" (a noisy machine, an unconfirmed huge speed-up) is not,
        # and only it is worth running again as it is.
        decision = GATE_DECISIONS[code]
        why = {
            "keep": "the gate kept it",
            "discard": "the gate discarded it",
            "undecided": "the gate could not decide twice (see its reasons): not kept; the idea "
            "may be re-run unchanged when the machine is quieter",
            "fail": "the gate found mismatches on the speed workload",
        }[decision]
        reasons = [why]
        if self.repair:
            reasons.append(
                "repair: the baseline fails the current oracle, so not slower is enough: "
                + self.repair[0].removeprefix("failure: ")
            )
        return Outcome(
            decision, "pass" if decision != "fail" else "fail", **judged, reasons=reasons
        )

    def make_row(self, out: Outcome, seconds: float) -> dict:
        return log_row(
            self.candidate, self.baseline, self.target, out.decision, self.hypothesis,
            correctness=out.correctness, verdict=out.verdict, peak_mem_mb=out.peak_mem_mb,
            seconds=seconds,
        )  # fmt: skip

    def record(self, out: Outcome, row: dict) -> str:
        """Step 5 and 6: keep (results + row committed) or revert and commit the row."""
        log = log_relpath(self.target)
        cand_wt = worktree_path(self.repo, "candidate")
        # Shielded: a signal waits (Signals.pending) until the record is complete, so the outcome
        # printed is recorded; whoever reacts to the phase line (printed inside) cannot interrupt.
        with self.signals.shielded():
            self.progress.phase("record", out.decision)
            if out.decision == "keep":
                publish = [p for _, p in self.git.status(cand_wt, "results")]
                created = [p for p in publish if not self.git.tracked("HEAD", p)]
                self.journal(phase="record", created=created)
                for rel in publish:
                    copy_atomic(cand_wt / rel, self.repo / rel)
                line = append_row(self.repo / log, row)
                self.git.run("add", "--", *publish, log)
                message = f"results({self.target}): keep {self.candidate[:12]}: {self.hypothesis}"
            else:
                self.journal(phase="record")
                self.archive.keep_results(self.git, cand_wt)
                if kept := drop_candidate(self.git, self.target, self.pre_head):
                    self.progress.say(f"note: kernels.py was edited while it ran: kept as {kept}")
                line = append_row(self.repo / log, row)
                self.git.run("add", "--", log)
                message = (
                    f"results({self.target}): {out.decision} {self.candidate[:12]}: "
                    f"{self.hypothesis}"
                )
            self.refresh_readme()
            self.git.run("commit", "-q", "--no-verify", "-m", message)
            self.journal(phase=None)
            remove_worktrees(self.git)
        return line

    def refresh_readme(self) -> None:
        """The README target table is generated from results: regenerate it in the same commit, so
        the repository's own check (`report --readme --check`) holds after every experiment."""
        from autoresearch import report

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                report.update_readme(self.repo, check=False)
        except report.ReportError as exc:  # no README or no generated block: nothing to update
            self.progress.say(f"README table not refreshed: {exc}")
            return
        if self.git.status(self.repo, "README.md"):
            self.git.run("add", "--", "README.md")

    def evaluate(self) -> Outcome:
        self.peak = 0.0
        self.repair: list[str] = []  # the baseline's failures under the current oracle
        # The run's salted workloads drawn while the oracle runs (on the other core), not by the
        # first benchmark process of each combination: the decision's bench --run-dir.
        self.run_dir, drawing = run_folder.start_drawing(self.target, child_env(), cwd=self.repo)
        try:
            out = self.correctness()
            if out:
                return out
            if self.remaining() <= 0:
                return Outcome("timeout", "pass", peak_mem_mb=self.peak, reasons=["no time left"])
            return self.speed()
        finally:
            with self.signals.shielded():  # a second ^C does not leave the folder behind
                run_folder.stop_drawing(drawing)
                shutil.rmtree(self.run_dir, ignore_errors=True)
                self.run_dir = None


def run_experiment(
    repo: Path,
    target: str,
    hypothesis: str,
    *,
    lock: Lock | None = None,
    signals: Signals | None = None,
    progress: Progress | None = None,
) -> Result:
    """One experiment end to end. `lock`: the loop's (it holds the lock across iterations)."""
    progress = progress or Progress()
    own_signals = signals is None
    signals = signals or Signals().install()
    own_lock = lock is None
    exp = None
    try:
        if own_lock:
            lock = Lock.acquire(repo, "experiment", progress)
        exp = Experiment(repo, target, hypothesis, lock, signals, progress)
        exp.check()
        exp.commit()
        out = exp.evaluate()
        seconds = time.monotonic() - exp.start
        row = exp.make_row(out, seconds)
        line = exp.record(out, row)
        keys = [
            ("decision", out.decision),
            ("exit_code", EXIT_FOR_DECISION[out.decision]),
            ("target", target),
            ("commit", exp.candidate),
            ("baseline", exp.baseline),
            ("correctness", out.correctness),
            ("seconds", f"{seconds:.1f}"),
            ("peak_mem_mb", f"{out.peak_mem_mb:.0f}"),
            ("head", exp.git.head()),
            ("log", log_relpath(target)),
            ("log_row", line),
        ]
        extra = [f"reason: {r}" for r in out.reasons]
        if signals.pending:
            extra.append("reason: interrupted while recording: the record was completed first")
        extra += out.gate_lines
        code = EXIT_FOR_DECISION[out.decision]
        return Result(code, out.decision, format_block(keys, extra), row, exp.candidate)
    except Refused as exc:
        # Nothing was changed. A loop's journal stays as it is: the loop restores the agent's
        # changes next, and a kill before it finishes is recovered from that journal.
        keys = [("decision", "refused"), ("exit_code", EXIT_REFUSED), ("target", target)]
        extra = [f"reason: {p}" for p in exc.problems]
        return Result(EXIT_REFUSED, "refused", format_block(keys, extra), reasons=exc.problems)
    except Interrupted as exc:
        phase = phase_of(lock)
        done = restore_after(lock, signals, progress)
        code = 128 + exc.signum
        keys = [("decision", "interrupted"), ("exit_code", code), ("target", target)]
        extra = [f"reason: {exc} during {phase}: {done}; nothing recorded"]
        return Result(code, "interrupted", format_block(keys, extra), candidate=_cand(exp))
    except (HarnessError, OSError) as exc:
        phase = phase_of(lock)
        done = restore_after(lock, signals, progress)
        keys = [("decision", "error"), ("exit_code", EXIT_ERROR), ("target", target)]
        extra = [f"reason: {type(exc).__name__}: {exc} (during {phase})", f"reason: {done}"]
        return Result(EXIT_ERROR, "error", format_block(keys, extra), candidate=_cand(exp))
    finally:
        if own_lock and lock is not None:
            lock.release()
        if own_signals:
            signals.uninstall()


def _cand(exp: Experiment | None) -> str | None:
    return exp.candidate if exp else None


# ---------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = cli.UsageParser("python -m autoresearch.experiment", __doc__)
    cli.add_target(parser)
    parser.add_argument("-m", "--message", required=True, help="one-line hypothesis")
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    ensure_git_identity(PACKAGE_DIR.parent)
    result = run_experiment(PACKAGE_DIR.parent, args.target, args.message)
    emit(result.block)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
