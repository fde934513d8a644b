"""The commands' shared contract: a bad command line or an unknown target exits EXIT_USAGE from
every command, with the same message, before anything runs."""

from __future__ import annotations

import importlib

import pytest

from autoresearch import TARGETS
from autoresearch.harness import cli

# command module -> (argv naming an unknown target, argv with a bad flag, otherwise valid)
COMMANDS = {
    "gate": (["--target", "nope"], ["--target", "pq_l2", "--no-such-flag"]),
    "report": (["nope"], ["pq_l2", "--no-such-flag"]),
    "oracle": (["nope"], ["pq_l2", "--no-such-flag"]),
    "bench": (["nope"], ["pq_l2", "--no-such-flag"]),
    "abtest": (["nope"], ["pq_l2", "--seconds", "not-a-number"]),
    "calibrate": (["nope"], ["pq_l2", "--decisions", "not-a-number"]),
    "rebaseline": (["nope", "-m", "why"], ["pq_l2", "-m", "why", "--no-such-flag"]),
    "fidelity": (["pq_l2", "nope"], ["--no-such-flag"]),
    "confirm": (["nope"], ["pq_l2", "--no-such-flag"]),
    "experiment": (["nope", "-m", "idea"], ["pq_l2", "-m", "idea", "--no-such-flag"]),
    "loop": (["nope", "--agent", "true"], ["pq_l2", "--agent", "true", "--no-such-flag"]),
}


def _exit_code(module: str, argv: list[str]) -> int:
    main = importlib.import_module(f"autoresearch.{module}").main
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.mark.parametrize("module", COMMANDS)
def test_an_unknown_target_exits_usage_with_one_message(module, capsys):
    assert _exit_code(module, COMMANDS[module][0]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert f"python -m autoresearch.{module}: error: unknown target 'nope'" in err, err
    assert "usage:" in err


@pytest.mark.parametrize("module", COMMANDS)
def test_a_bad_flag_exits_usage(module, capsys):
    assert _exit_code(module, COMMANDS[module][1]) == cli.EXIT_USAGE
    assert "error:" in capsys.readouterr().err


def test_dashboard_bad_flag_value_exits_usage(capsys):
    # Flags it does not know go to `asv publish`; a bad value of one of its own is a usage error.
    assert _exit_code("dashboard", ["--port", "not-a-number"]) == cli.EXIT_USAGE


def test_every_target_is_known_and_nothing_else():
    assert all(cli.is_target(t) for t in TARGETS)
    assert not any(cli.is_target(t) for t in ("nope", "", "harness", "__pycache__", "all"))
    message = cli.unknown_target_message("nope")
    assert message.startswith("unknown target 'nope' (one of: ")
    assert all(t in message for t in TARGETS)
