"""SIGINT and SIGTERM as an exception in the main thread, held back inside critical sections."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Interrupted(BaseException):
    """SIGINT or SIGTERM; a BaseException (as KeyboardInterrupt): `except Exception` lets it by."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    """SIGINT/SIGTERM raise Interrupted, but never in the middle of a git write or a restore.

    Inside `critical()` a signal is remembered and raised when the section ends, so git never
    dies holding index.lock and a restore always completes.
    """

    def __init__(self):
        self.pending: int | None = None
        self.depth = 0
        self.previous: dict[int, object] = {}

    def _handler(self, signum, frame):
        if self.depth:
            self.pending = self.pending or signum
            return
        raise Interrupted(signum)

    def install(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self.previous[s] = signal.signal(s, self._handler)
        return self

    def uninstall(self) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)
        self.previous.clear()

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if not self.depth and self.pending:
            signum, self.pending = self.pending, None
            raise Interrupted(signum)

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """A critical section whose end raises nothing (restores, on the way out anyway)."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
