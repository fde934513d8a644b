"""Many experiments: an external agent edits the kernel, the harness judges, again and again.

    python -m autoresearch.loop TARGET --agent "CMD" [--iterations N] [--hours H]

CMD is any program (Claude Code, Codex, a script), run through the shell in the repository.
Each iteration:
1. Prompt: HARNESS.md, autoresearch/TARGET/program.md, the last LOG_ROWS_IN_PROMPT rows of
   results/experiments/TARGET.tsv and the previous iteration's outcome block. It goes to CMD's
   stdin and to the file named by AUTORESEARCH_PROMPT_FILE.
2. CMD runs with a time limit (AUTORESEARCH_AGENT_TIMEOUT_SECS, default AGENT_TIMEOUT_SECS). It
   edits autoresearch/TARGET/kernels.py and states its one-line hypothesis: the first non-empty
   line of the file named by AUTORESEARCH_HYPOTHESIS_FILE, or else its last non-empty output line.
   Its environment also has AUTORESEARCH_TARGET and AUTORESEARCH_ITERATION (from 1). When it
   returns, every process it left running is killed, however detached (the loop is the child
   subreaper of what it starts, on Linux): nothing of the agent's runs beside the experiment.
3. One experiment (autoresearch.experiment) under the loop's lock.
4. A refused experiment (the agent changed something outside kernels.py, or committed): the
   agent's changes are kept off-branch (refs/autoresearch/TARGET/<sha>), the tree is reset to
   where the iteration started and cleaned, and a `refused` row is committed to the log, so the
   agent reads next time what was refused and why. An agent that changed nothing, failed or
   timed out gets no row; the tree is restored the same way.

It stops after N iterations or H hours (checked between iterations: a running experiment
finishes), on Ctrl-C or SIGTERM (the running agent or experiment is stopped, the tree restored),
on a harness error, or after MAX_IDLE iterations in a row in which the agent produced nothing to
test. It never leaves the tree dirty; a killed loop is recovered by the next run (stale lock).

Exit codes: 0 done (limit reached), 4 refused to start (lock held, dirty tree, HEAD not where the
last experiment left it, no program.md), 5 harness error (see the message; repository restored),
6 the agent produced nothing to test MAX_IDLE times in a row, 64 bad usage, 130 / 143
interrupted by SIGINT / SIGTERM.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from pathlib import Path

from autoresearch import PACKAGE_DIR
from autoresearch.experiment import (
    EXIT_ERROR,
    EXIT_REFUSED,
    run_experiment,
)
from autoresearch.harness import cli
from autoresearch.harness.checks import UNCHANGED, check_head
from autoresearch.harness.errors import HarnessError, Refused
from autoresearch.harness.git import Git, ensure_git_identity
from autoresearch.harness.layout import log_relpath, state_dir
from autoresearch.harness.lock import Lock
from autoresearch.harness.procs import adopt_orphans, descendants, kill_leftovers, run_tree
from autoresearch.harness.progress import Progress, emit, format_block
from autoresearch.harness.recovery import restore, undo_agent
from autoresearch.harness.runlog import append_row, clean_field, format_rows, log_row, read_log
from autoresearch.harness.signals import Interrupted, Signals

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

LOG_ROWS_IN_PROMPT = 15  # enough to see what was tried lately, short enough to stay a footnote
AGENT_TIMEOUT_SECS = 1800  # one edit; an agent that thinks longer is stopped and its edit dropped
MAX_IDLE = 3  # iterations in a row without anything to test: the agent command is broken
MAX_HYPOTHESIS_CHARS = 200  # one line in the log
EXIT_DONE = 0  # the iteration or time limit was reached
EXIT_IDLE = 6

ENV_AGENT_TIMEOUT = "AUTORESEARCH_AGENT_TIMEOUT_SECS"
ENV_PROMPT_FILE = "AUTORESEARCH_PROMPT_FILE"
ENV_HYPOTHESIS_FILE = "AUTORESEARCH_HYPOTHESIS_FILE"
ENV_TARGET = "AUTORESEARCH_TARGET"
ENV_ITERATION = "AUTORESEARCH_ITERATION"
LOOP_DIR = "loop"  # under .autoresearch/: the prompt and hypothesis files


def build_prompt(repo: Path, target: str, last_block: str | None, iteration: int) -> str:
    """HARNESS.md + program.md + the log's last rows + what happened last time + the task."""
    harness = (repo / "HARNESS.md").read_text()
    program = (repo / "autoresearch" / target / "program.md").read_text()
    log = repo / log_relpath(target)
    rows = read_log(log)[-LOG_ROWS_IN_PROMPT:]  # the strict reader: a broken log stops the loop
    empty = not log.exists() or not log.stat().st_size
    table = "(no experiments yet)" if empty else "\n".join(format_rows(rows))
    return "\n\n".join(
        [
            f"# HARNESS.md\n\n{harness.strip()}",
            f"# autoresearch/{target}/program.md\n\n{program.strip()}",
            f"# The last {len(rows)} rows of {log_relpath(target)}\n\n```\n{table}\n```",
            f"# The previous iteration\n\n```\n{last_block or 'none yet'}\n```",
            f"# Now (loop iteration {iteration}, target {target})\n\n"
            f"Make one change to autoresearch/{target}/kernels.py, write your one-line hypothesis "
            f"to the file named by ${ENV_HYPOTHESIS_FILE} (or print it as your last line), then "
            "exit. Do not commit and do not run the experiment: the loop does both when you exit.",
        ]
    )


def read_hypothesis(path: Path, output: str) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()][-1:]
    return clean_field(lines[0])[:MAX_HYPOTHESIS_CHARS] if lines else ""


def refused_row(commit: str | None, baseline: str, target: str, seconds: float, text: str) -> dict:
    return log_row(commit, baseline, target, "refused", text, seconds=seconds)


class Loop:
    def __init__(self, repo: Path, target: str, agent: str, progress: Progress, signals: Signals):
        self.repo = Path(repo)
        self.git = Git(repo)
        self.target = target
        self.agent = agent
        self.progress = progress
        self.signals = signals
        self.counts: collections.Counter = collections.Counter()
        self.lock: Lock | None = None
        files = state_dir(repo) / LOOP_DIR
        self.prompt_file = files / "prompt.md"
        self.hypothesis_file = files / "hypothesis.txt"

    def check_start(self) -> None:
        problems = [f"{xy.strip() or '?'} {path}" for xy, path in self.git.status()]
        if problems:
            problems = [f"the tree must be clean to start a loop: {', '.join(problems[:10])}"]
        program = self.repo / "autoresearch" / self.target / "program.md"
        for path in (self.repo / "HARNESS.md", program):
            if not path.is_file():
                problems.append(f"{path.relative_to(self.repo)} is missing (part of the prompt)")
        try:
            check_head(self.git, self.target)
        except Refused as exc:
            problems += exc.problems
        if problems:
            raise Refused(problems)

    def run_agent(self, iteration: int, prompt: str) -> tuple[bool, str, float]:
        """(whether it exited 0 in time, its output, seconds)."""
        self.prompt_file.parent.mkdir(parents=True, exist_ok=True)
        self.prompt_file.write_text(prompt)
        self.hypothesis_file.unlink(missing_ok=True)
        env = dict(os.environ)
        env.update(
            {
                ENV_PROMPT_FILE: str(self.prompt_file),
                ENV_HYPOTHESIS_FILE: str(self.hypothesis_file),
                ENV_TARGET: self.target,
                ENV_ITERATION: str(iteration),
            }
        )
        limit = float(os.environ.get(ENV_AGENT_TIMEOUT, AGENT_TIMEOUT_SECS))
        self.progress.phase("agent", f"iteration {iteration}, limit {limit:.0f}s: {self.agent}")
        before = descendants()  # the loop's own (a detached `git gc`): not the agent's
        try:
            done = run_tree(
                self.agent,
                cwd=self.repo,
                timeout=limit,
                progress=self.progress,
                tag="agent",
                env=env,
                stdin_text=prompt,
                on_start=lambda ident: self.lock.journal(child=ident),
            )
        finally:
            # Nothing the agent started may run on into the experiment, or after an interrupted
            # loop (a process that edits the harness or kernels.py after the checks read them):
            # its orphans are ours (main: adopt_orphans), and killed.
            for line in kill_leftovers(spare=before):
                self.progress.say(f"agent: left a process running, killed: {line}")
        if done.timed_out:
            self.progress.say(f"agent: still running after {limit:.0f}s: stopped")
        elif done.returncode:
            self.progress.say(f"agent: exited {done.returncode}")
        return (not done.timed_out and done.returncode == 0), done.output, done.seconds

    def drop_changes(self, pre_head: str, why: str) -> str | None:
        with self.signals.shielded():
            text, kept = undo_agent(self.git, self.target, pre_head, why)
        self.progress.say(text)
        return kept

    def record_refusal(self, pre_head: str, hypothesis: str, problems: list[str], secs: float):
        """Keep the agent's attempt off-branch, restore the tree, commit a `refused` row."""
        kept = self.drop_changes(pre_head, "refused")
        if self.git.head() != pre_head:
            raise HarnessError("could not return to the iteration's start")
        baseline = check_head(self.git, self.target)
        text = f"{hypothesis or '(no hypothesis given)'} [refused: {'; '.join(problems)}]"
        row = refused_row(kept, baseline, self.target, secs, text)
        with self.signals.shielded():
            log = log_relpath(self.target)
            line = append_row(self.repo / log, row)
            self.git.run("add", "--", log)
            short = (kept or "")[:12] or "-"
            self.git.run(
                "commit", "-q", "--no-verify", "-m", f"results({self.target}): refused {short}: "
                f"{clean_field(hypothesis)[:80] or '(no hypothesis given)'}",
            )  # fmt: skip
        return line

    def iterate(self, iteration: int, last_block: str | None) -> tuple[str, str, int | None]:
        """One iteration: (outcome kind, the block to show the agent next time, the experiment's
        exit code; None when none ran)."""
        pre_head = self.git.head()
        self.lock.journal(
            kind="agent", target=self.target, phase="agent", pre_head=pre_head,
            loop_pre_head=pre_head, candidate=None, created=[], child=None,
        )  # fmt: skip
        prompt = build_prompt(self.repo, self.target, last_block, iteration)
        ok, output, secs = self.run_agent(iteration, prompt)
        hypothesis = read_hypothesis(self.hypothesis_file, output)
        if not ok:
            self.drop_changes(pre_head, "abandoned")
            self.lock.journal(phase=None)
            block = format_block(
                [("decision", "none"), ("target", self.target)],
                ["reason: the agent failed or timed out; its changes were dropped"],
            )
            return "idle", block, None
        self.progress.say(f"hypothesis: {hypothesis or '(none given)'}")
        result = run_experiment(
            self.repo,
            self.target,
            hypothesis,
            lock=self.lock,
            signals=self.signals,
            progress=self.progress,
        )
        emit(result.block)
        if result.decision == "refused":
            problems = result.reasons
            if len(problems) == 1 and problems[0].endswith(UNCHANGED):
                self.drop_changes(pre_head, "abandoned")  # ignored-file leftovers aside
                self.lock.journal(phase=None)
                return "idle", result.block, result.exit_code
            line = self.record_refusal(pre_head, hypothesis, problems, secs)
            self.lock.journal(phase=None)
            self.progress.say(f"recorded: {line}")
            return "refused", result.block, result.exit_code
        return result.decision, result.block, result.exit_code

    def restore(self) -> str:
        with self.signals.shielded():
            try:
                return restore(self.git, self.lock.step(), self.progress)
            except (HarnessError, OSError) as err:
                self.lock.release = lambda: None  # keep the journal: the next run retries
                return f"RESTORE FAILED: {err}; the journal {self.lock.path} is kept"

    def run(self, iterations: int | None, hours: float | None) -> int:
        self.lock = Lock.acquire(self.repo, "loop", self.progress)
        try:
            self.check_start()
            end = None if hours is None else time.monotonic() + hours * 3600
            last_block, idle, i = None, 0, 0
            while iterations is None or i < iterations:
                if end is not None and time.monotonic() >= end:
                    self.progress.say(f"loop: {hours} h elapsed")
                    break
                i += 1
                kind, last_block, code = self.iterate(i, last_block)
                self.counts[kind] += 1
                if kind in ("interrupted", "error"):
                    return code  # the experiment's (Result.exit_code)
                if self.signals.pending:  # arrived while an experiment was recording
                    return 128 + self.signals.pending
                idle = idle + 1 if kind == "idle" else 0
                if idle >= MAX_IDLE:
                    self.progress.say(f"loop: {idle} iterations in a row with nothing to test")
                    return EXIT_IDLE
            return EXIT_DONE
        except Interrupted as exc:
            self.progress.say(f"interrupted ({exc}): {self.restore()}")
            return 128 + exc.signum
        except (HarnessError, OSError) as exc:
            done = self.restore()
            reasons = [f"reason: {type(exc).__name__}: {exc}", f"reason: {done}"]
            emit(format_block([("decision", "error"), ("exit_code", EXIT_ERROR)], reasons))
            return EXIT_ERROR
        finally:
            self.lock.release()
            self.progress.say(
                f"loop: {sum(self.counts.values())} iteration(s) "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
                + f"; HEAD {self.git.head()[:12]}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = cli.UsageParser("python -m autoresearch.loop", __doc__)
    cli.add_target(parser)
    parser.add_argument("--agent", required=True, help="shell command of the agent")
    parser.add_argument("--iterations", type=int, help="stop after this many (default: never)")
    parser.add_argument("--hours", type=float, help="stop starting new iterations after this")
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    if args.iterations is not None and args.iterations < 1:
        parser.error("--iterations must be at least 1")
    ensure_git_identity(PACKAGE_DIR.parent)
    progress = Progress()
    if not adopt_orphans():
        progress.say("note: this system cannot hand this loop the processes its agent leaves")
    signals = Signals().install()
    loop = Loop(PACKAGE_DIR.parent, args.target, args.agent, progress, signals)
    try:
        return loop.run(args.iterations, args.hours)
    except Refused as exc:
        emit(format_block([("decision", "refused"), ("exit_code", EXIT_REFUSED)],
                          [f"reason: {p}" for p in exc.problems]))  # fmt: skip
        return EXIT_REFUSED
    except (HarnessError, OSError) as exc:
        emit(format_block([("decision", "error"), ("exit_code", EXIT_ERROR)],
                          [f"reason: {type(exc).__name__}: {exc}"]))  # fmt: skip
        return EXIT_ERROR
    finally:
        signals.uninstall()


if __name__ == "__main__":
    sys.exit(main())
