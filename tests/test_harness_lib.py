"""The harness library (autoresearch/harness/) in isolation: fast, no clone, no asv.

The commands built on it (experiment, loop) are tested end to end in tests/test_experiment.py and
tests/test_loop.py.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from autoresearch.harness.errors import HarnessError
from autoresearch.harness.git import Git
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


def make_repo(path):
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for key, value in (("user.email", "t@localhost"), ("user.name", "t")):
        subprocess.run(["git", "-C", str(path), "config", key, value], check=True)
    (path / "a.txt").write_text("a\n")
    git = Git(path)
    git.run("add", "a.txt")
    git.run("commit", "-q", "-m", "first")
    return git


def test_git_reads_revisions_files_and_every_kind_of_change(tmp_path):
    git = make_repo(tmp_path)
    head = git.head()
    assert git.rev("HEAD") == head and git.parent(head) is None and git.rev("nope") is None
    assert git.subject(head) == "first" and git.show(head, "a.txt") == "a\n"
    assert git.show(head, "missing.txt") is None and not git.tracked(head, "missing.txt")
    git.run("mv", "a.txt", "b.txt")
    (tmp_path / "new dir").mkdir()
    (tmp_path / "new dir" / "c.txt").write_text("c")
    assert git.status() == [("R ", "a.txt -> b.txt"), ("??", "new dir/c.txt")]
    with pytest.raises(HarnessError, match="git rev-parse nope failed"):
        git.run("rev-parse", "nope")
