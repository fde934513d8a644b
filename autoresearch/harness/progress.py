"""What the experiment, the loop and the re-baseline print: timed progress lines, the final block.

Progress lines carry the time since the command started; phase lines (`phase: NAME`) mark the
steps (the fault tests interrupt at each). The final block is `key: value` lines after a `---`
line, the part an agent reads (HARNESS.md).
"""

from __future__ import annotations

import sys
import time

# Progress markers, printed as `phase: NAME`: the experiment's steps, then the loop's and the
# restore's.
PHASES = (
    "checks", "commit", "correctness", "bench", "gate", "remeasure", "record",
)  # fmt: skip
OTHER_PHASES = ("agent", "restore")


class Progress:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.stream.write(f"[{self.elapsed():7.1f}s] {line}\n")
        self.stream.flush()

    def phase(self, name: str, detail: str = "") -> None:
        assert name in PHASES or name in OTHER_PHASES, name
        self.say(f"phase: {name}" + (f" ({detail})" if detail else ""))


def format_block(keys: list[tuple[str, object]], extra: list[str] = ()) -> str:
    """The final block: `---`, then one `key: value` line per key, then the extra lines."""
    return "\n".join(["---", *(f"{k}: {v}" for k, v in keys), *extra])
