"""The two ways a harness step stops that every command maps to an exit code of its own."""

from __future__ import annotations


class Refused(Exception):
    """The step will not run; nothing was changed (experiment, loop, rebaseline: exit 4)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class HarnessError(Exception):
    """Something other than the candidate failed; the repository was restored (exit 5)."""
