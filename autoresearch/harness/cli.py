"""The commands' shared contract: exit codes for situations every command meets, one usage parser.

Each command keeps its own decision codes (the gate's 0 keep / 1 discard / 2 fail / 3 undecided,
the experiment's 4 refused, ...); what is the same situation everywhere has one code here, so an
agent or a script reads a bad command line, an unknown target or an interrupt the same way from
every command. HARNESS.md has the table.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from autoresearch import PACKAGE_DIR, TARGETS

EXIT_OK = 0
# sysexits' EX_USAGE: a bad flag or argument, or an unknown target. Far from every decision code,
# so a typo never reads as a keep (0), a discard (1), a correctness failure (2) or "re-measure" (3).
EXIT_USAGE = 64
EXIT_SIGINT = 130  # 128 + SIGINT, as a shell reports it
EXIT_SIGTERM = 143  # 128 + SIGTERM


class UsageParser(argparse.ArgumentParser):
    """argparse, but a usage error exits EXIT_USAGE (argparse's own 2 is a decision code here)."""

    def __init__(self, prog: str, description: str | None = None, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(prog=prog, description=description, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def is_target(name: str) -> bool:
    """A target the harness knows and whose package is in this checkout."""
    return name in TARGETS and (PACKAGE_DIR / name / "kernels.py").is_file()


def unknown_target_message(name: str) -> str:
    return f"unknown target {name!r} (one of: {', '.join(TARGETS)})"


def add_target(parser: argparse.ArgumentParser, **kwargs) -> argparse.Action:
    """The positional TARGET argument, with the same help in every command."""
    kwargs.setdefault("help", f"one of: {', '.join(TARGETS)}")
    return parser.add_argument("target", metavar="TARGET", **kwargs)


def check_targets(
    parser: argparse.ArgumentParser, *names: str | None, protocol: bool = False
) -> None:
    """Exit EXIT_USAGE, through the parser's usage error, on the first name that is no target;
    with `protocol` (commands that load the target's code), also on one whose package breaks the
    target protocol (harness/target_protocol.py: imports inputs.py, ~0.1 s) before anything runs."""
    for name in names:
        if name is not None and not is_target(name):
            parser.error(unknown_target_message(name))
    if protocol:
        from autoresearch.harness.target_protocol import TargetProtocolError, load_inputs

        for name in names:
            if name is not None:
                try:
                    load_inputs(name)
                except TargetProtocolError as exc:
                    parser.error(str(exc))
