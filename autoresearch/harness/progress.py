"""What the experiment, the loop and the re-baseline print: timed progress lines, the final block.

Progress lines carry the time since the command started; phase lines (`phase: NAME`) mark the
steps (the fault tests interrupt at each). The final block is `key: value` lines after a `---`
line, the part an agent reads (HARNESS.md).
"""

from __future__ import annotations

import os
import sys
import time

# Progress markers, printed as `phase: NAME`: the experiment's steps, then the loop's and the
# restore's.
PHASES = (
    "checks", "commit", "correctness", "bench", "gate", "remeasure", "history", "record",
)  # fmt: skip
OTHER_PHASES = ("agent", "restore")


class Progress:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def say(self, text: str) -> None:
        if self.stream is None:
            return
        try:
            for line in text.splitlines() or [""]:
                self.stream.write(f"[{self.elapsed():7.1f}s] {line}\n")
            self.stream.flush()
        except (OSError, ValueError):
            # The reader went away (`| head`, a closed terminal, a wrapper that stopped reading):
            # output is best effort, the run and its restore are not. A raise here used to abort
            # the restore itself and leave the candidate commit checked out.
            if self.stream is sys.stdout:
                silence_stdout()
            self.stream = None

    def phase(self, name: str, detail: str = "") -> None:
        assert name in PHASES or name in OTHER_PHASES, name
        self.say(f"phase: {name}" + (f" ({detail})" if detail else ""))


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader is gone, so that later prints (the final block)
    and the interpreter's flush at exit raise nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's capture)
        pass


def emit(text: str) -> None:
    """Print a command's final block; a reader that went away loses it (the log has the row)."""
    try:
        print(text, flush=True)
    except (OSError, ValueError):
        silence_stdout()


def format_block(keys: list[tuple[str, object]], extra: list[str] = ()) -> str:
    """The final block: `---`, then one `key: value` line per key, then the extra lines."""
    return "\n".join(["---", *(f"{k}: {v}" for k, v in keys), *extra])
