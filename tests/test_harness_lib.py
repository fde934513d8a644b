"""The harness library (autoresearch/harness/) in isolation: fast, no clone, no asv.

The commands built on it (experiment, loop) are tested end to end in tests/test_experiment.py and
tests/test_loop.py.
"""

from __future__ import annotations

import os
import signal

import pytest

from autoresearch.harness.progress import Progress, format_block
from autoresearch.harness.signals import Interrupted, Signals


def test_a_signal_inside_a_critical_section_is_raised_when_it_ends():
    signals = Signals().install()
    try:
        with pytest.raises(Interrupted) as caught:
            with signals.critical():
                os.kill(os.getpid(), signal.SIGTERM)
                done = True  # reached: the signal waited
        assert done and caught.value.signum == signal.SIGTERM
        with signals.shielded():
            os.kill(os.getpid(), signal.SIGINT)
        assert signals.pending == signal.SIGINT  # a shielded section raises nothing at its end
    finally:
        signals.uninstall()


def test_progress_lines_are_timed_and_phases_are_known(capsys):
    progress = Progress()
    progress.phase("checks", "detail")
    assert capsys.readouterr().out.rstrip().endswith("] phase: checks (detail)")
    with pytest.raises(AssertionError):
        progress.phase("no such phase")
    assert format_block([("decision", "keep")], ["reason: r"]) == "---\ndecision: keep\nreason: r"
