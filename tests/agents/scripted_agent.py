"""A scripted stand-in for an LLM agent: one prepared patch per loop iteration.

    python tests/agents/scripted_agent.py STEP[,STEP...]

Run by `python -m autoresearch.loop pq_l2 --agent "..."` in a disposable clone. Iteration i
(AUTORESEARCH_ITERATION, from 1) applies the i-th STEP of the plan to the repository in the
working directory and states its hypothesis, as an agent would. Steps (STEPS below):

  faster     kernels.py: four sub-vectors per pass + fastmath (really faster: kept)
  slower     kernels.py: every table and scan computed twice (discarded)
  wrong      kernels.py: the scan skips the last sub-vector (correctness failure)
  segfault   kernels.py: a store at a non-canonical address with boundscheck off (SIGSEGV)
  hang       kernels.py: a loop that never ends (timeout)
  forbidden  kernels.py faster, and reference.py edited plus a new file (refused)
  benchmark  kernels.py faster, and the asv suite's timed method made a no-op (refused)
  commit     kernels.py faster, committed by the agent itself (refused: HEAD moved)
  nothing    no change at all (no row: nothing to test)
  fail       exits 1 without touching anything (the agent failed)
  sleep      kernels.py faster, then sleeps (an agent to interrupt or kill mid-edit)
  daemon     no change, but leaves a process running in a session of its own that forks anew
             every 10 ms, its parent exiting each time (to be killed all the same)

Checks what the loop promises an agent: the prompt on stdin equals the file named by
AUTORESEARCH_PROMPT_FILE and holds HARNESS.md, program.md and the log header. With
SCRIPTED_AGENT_RECORD=DIR it also saves each prompt as DIR/prompt-<i>.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PATCHES = Path(__file__).resolve().parent / "patches"
KERNELS = Path("autoresearch/pq_l2/kernels.py")

STEPS = {
    "faster": {"kernels": "faster", "hypothesis": "sum four sub-vectors per pass; fastmath"},
    "slower": {"kernels": "slower", "hypothesis": "compute everything twice", "say": True},
    "wrong": {"kernels": "wrong", "hypothesis": "stop the scan one sub-vector early"},
    "segfault": {"kernels": "segfault", "hypothesis": "store past the end, bounds unchecked"},
    "hang": {"kernels": "hang", "hypothesis": "spin until done"},
    "forbidden": {
        "kernels": "faster",
        "hypothesis": "loosen the reference",
        "append": {"autoresearch/pq_l2/reference.py": "\n# the agent was here\n"},
        "create": {"notes.txt": "scratch notes\n"},
    },
    "benchmark": {
        "kernels": "faster",
        "hypothesis": "time nothing",
        "append": {"benchmarks/bench_pq_l2.py": "\n\nPqL2.time_search = lambda *args: None\n"},
    },
    "commit": {"kernels": "faster", "hypothesis": "commit it myself", "commit": True},
    "nothing": {"hypothesis": "think only"},
    "fail": {"exit": 1},
    "sleep": {"kernels": "faster", "hypothesis": "never finishes", "sleep": 600},
    "daemon": {"hypothesis": "edit later, from a process of my own", "daemon": True},
}


# A new pid every 10 ms, each the only one alive: a scan that kills what it saw misses it.
DAEMON = """
import os, time
end = time.monotonic() + 600
while time.monotonic() < end:
    if os.fork():
        os._exit(0)
    time.sleep(0.01)
"""


def check_prompt(prompt: str) -> None:
    path = os.environ["AUTORESEARCH_PROMPT_FILE"]
    if Path(path).read_text() != prompt:
        sys.exit(f"scripted agent: stdin differs from {path}")
    log = "commit\tbaseline\t" if "(no experiments yet)" not in prompt else "(no experiments yet)"
    for needed in ("# HARNESS.md", "## CAN / CANNOT", "# autoresearch/pq_l2/program.md", log):
        if needed not in prompt:
            sys.exit(f"scripted agent: the prompt lacks {needed!r}")


def apply(step: dict) -> None:
    if "kernels" in step:
        KERNELS.write_text((PATCHES / f"{step['kernels']}.py").read_text())
    for rel, text in step.get("append", {}).items():
        with open(rel, "a") as f:
            f.write(text)
    for rel, text in step.get("create", {}).items():
        Path(rel).write_text(text)
    if step.get("commit"):
        subprocess.run(["git", "commit", "-q", "-am", step["hypothesis"]], check=True)


def main() -> int:
    plan = sys.argv[1].split(",")
    iteration = int(os.environ["AUTORESEARCH_ITERATION"])
    prompt = sys.stdin.read()
    check_prompt(prompt)
    record = os.environ.get("SCRIPTED_AGENT_RECORD")
    if record:
        Path(record, f"prompt-{iteration}.md").write_text(prompt)
    step = STEPS[plan[(iteration - 1) % len(plan)]]
    print(f"scripted agent: iteration {iteration}: {plan[(iteration - 1) % len(plan)]}", flush=True)
    if "exit" in step:
        return step["exit"]
    apply(step)
    if step.get("daemon"):  # detached: its own session, not waited for, outlives this process
        subprocess.Popen([sys.executable, "-c", DAEMON, record or ""], start_new_session=True)
    if step.get("sleep"):
        if record:
            Path(record, "agent.pid").write_text(str(os.getpid()))
        print("scripted agent: sleeping", flush=True)
        time.sleep(step["sleep"])
    if step.get("say"):  # the fallback channel: the last line of output
        print(step["hypothesis"])
    else:
        Path(os.environ["AUTORESEARCH_HYPOTHESIS_FILE"]).write_text(step["hypothesis"] + "\n")
        print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
