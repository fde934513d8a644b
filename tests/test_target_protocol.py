"""The target protocol (autoresearch/harness/target_protocol.py): what a target package must
define, checked where the harness and the suites load it, and the speed workloads it declares,
which are the asv suites' params and what the oracle's speed-workload check covers."""

from __future__ import annotations

import importlib
import itertools
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from autoresearch import TARGETS, abtest, oracle
from autoresearch.common import SplitMix64
from autoresearch.harness import cli, target_protocol
from autoresearch.harness.target_protocol import (
    DOC,
    TargetProtocolError,
    load_inputs,
    speed_workloads,
)

VALID_INPUTS = """
from autoresearch.harness.target_protocol import SpeedWorkload

SIZES = [10, 20]
SPEED_WORKLOADS = {"Fake": SpeedWorkload("workload", {"size": SIZES})}


def workload(size):
    return size


def search(impl, w):
    return w


def outputs(impl, w):
    return [w]


def correctness_cases():
    return []


def perturbable(w):
    return []
"""

_packages = itertools.count()


def fake_target(tmp_path, monkeypatch, inputs_source: str, files=("reference.py", "kernels.py")):
    """A target package `<fresh package>.fake` in tmp_path; returns the package's name."""
    package = f"fake_targets_{next(_packages)}"
    root = tmp_path / package / "fake"
    root.mkdir(parents=True)
    (tmp_path / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "inputs.py").write_text(textwrap.dedent(inputs_source))
    for name in files:
        (root / name).write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return package


def without(source: str, name: str) -> str:
    """The valid inputs with the top-level definition of `name` removed."""
    out, skipping = [], False
    for line in source.splitlines(keepends=True):
        if line.startswith((f"def {name}(", f"{name} = ")):
            skipping = True
            continue
        if skipping and line.strip() and not line.startswith(" "):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def rejected(tmp_path, monkeypatch, source: str, files=("reference.py", "kernels.py")) -> str:
    package = fake_target(tmp_path, monkeypatch, source, files)
    with pytest.raises(TargetProtocolError) as info:
        load_inputs("fake", package=package)
    message = str(info.value)
    assert message.startswith("target fake: ") and DOC in message
    return message


def test_a_complete_fake_target_loads(tmp_path, monkeypatch):
    package = fake_target(tmp_path, monkeypatch, VALID_INPUTS)
    inputs = load_inputs("fake", package=package)
    assert speed_workloads(inputs) == [
        ("Fake (10,)", "workload", (10,)),
        ("Fake (20,)", "workload", (20,)),
    ]


@pytest.mark.parametrize("name", ["search", "outputs", "correctness_cases", "SPEED_WORKLOADS"])
def test_a_missing_required_name_is_rejected(tmp_path, monkeypatch, name):
    source = without(VALID_INPUTS, name)
    assert f"def {name}(" not in source and f"{name} = " not in source  # the helper removed it
    assert f"inputs.{name} is missing" in rejected(tmp_path, monkeypatch, source)


def test_a_missing_workload_function_is_rejected(tmp_path, monkeypatch):
    message = rejected(tmp_path, monkeypatch, without(VALID_INPUTS, "workload"))
    assert "inputs.workload (named by inputs.SPEED_WORKLOADS['Fake']) is missing" in message


@pytest.mark.parametrize(
    "declaration, problem",
    [
        ("SPEED_WORKLOADS = {}", "is missing or not a non-empty dict"),
        ("SPEED_WORKLOADS = [SIZES]", "is missing or not a non-empty dict"),
        ('SPEED_WORKLOADS = {"Fake": [SIZES]}', "['Fake'] is not a SpeedWorkload"),
        ('SPEED_WORKLOADS = {"Fake": SpeedWorkload("workload", {})}', "has no axes"),
        (
            'SPEED_WORKLOADS = {"Fake": SpeedWorkload("workload", {"size": []})}',
            "an axis with no values",
        ),
    ],
)
def test_a_malformed_speed_declaration_is_rejected(tmp_path, monkeypatch, declaration, problem):
    source = VALID_INPUTS.replace(
        'SPEED_WORKLOADS = {"Fake": SpeedWorkload("workload", {"size": SIZES})}', declaration
    )
    assert declaration in source
    assert problem in rejected(tmp_path, monkeypatch, source)


def test_a_perturbable_that_is_not_a_function_is_rejected(tmp_path, monkeypatch):
    source = without(VALID_INPUTS, "perturbable") + "perturbable = [1]\n"
    assert "inputs.perturbable is not a function" in rejected(tmp_path, monkeypatch, source)


@pytest.mark.parametrize("missing", ["reference.py", "kernels.py"])
def test_a_missing_sibling_module_is_rejected(tmp_path, monkeypatch, missing):
    files = [f for f in ("reference.py", "kernels.py") if f != missing]
    assert f"{missing} is missing" in rejected(tmp_path, monkeypatch, VALID_INPUTS, files)


def test_the_oracle_refuses_a_target_that_breaks_the_protocol(tmp_path, monkeypatch):
    package = fake_target(tmp_path, monkeypatch, without(VALID_INPUTS, "outputs"))
    monkeypatch.setattr(oracle, "load_inputs", lambda target: load_inputs(target, package=package))
    with pytest.raises(TargetProtocolError, match=r"inputs\.outputs is missing"):
        oracle._check_target("fake", SimpleNamespace(), seeds=[])


COMMANDS_THAT_LOAD_A_TARGET = {
    "oracle": ["pq_l2"],
    "abtest": ["pq_l2"],
    "bench": ["pq_l2"],
    "confirm": ["pq_l2"],
    "calibrate": ["pq_l2"],
    "experiment": ["pq_l2", "-m", "a hypothesis"],
    "loop": ["pq_l2", "--agent", "true"],
    "rebaseline": ["pq_l2", "-m", "why"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS_THAT_LOAD_A_TARGET))
def test_every_command_refuses_a_target_that_breaks_the_protocol_as_bad_usage(
    command, tmp_path, monkeypatch, capsys
):
    """The same situation, the same exit (HARNESS.md): 64 and the protocol's message, before the
    command does anything (no traceback, no oracle `fail` row for a target the agent cannot edit).
    """
    package = fake_target(tmp_path, monkeypatch, without(VALID_INPUTS, "outputs"))
    real = target_protocol.load_inputs
    monkeypatch.setattr(
        target_protocol, "load_inputs", lambda target, package_=package: real("fake", package_)
    )
    main = importlib.import_module(f"autoresearch.{command}").main
    with pytest.raises(SystemExit) as info:
        main(COMMANDS_THAT_LOAD_A_TARGET[command])
    assert info.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "inputs.outputs is missing" in err and DOC in err, err


# ---------------------------------------------------------------------------
# The real targets: one declaration, read by the suites and the oracle
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_suite_class_is_one_declared_speed_workload(target):
    inputs = load_inputs(target)
    suite = importlib.import_module(f"benchmarks.bench_{target}")
    classes = {cls.__name__: cls for cls in abtest._suite_classes(suite)}
    assert list(classes) == list(inputs.SPEED_WORKLOADS)  # every class checked, none extra
    for name, cls in classes.items():
        speed = inputs.SPEED_WORKLOADS[name]
        assert cls.params == speed.params and cls.param_names == speed.param_names
        assert cls.workload_function == speed.function
        combos = [cls().workload_args(*c) for c in itertools.product(*cls.params)]
        assert combos == [speed.arguments(*c) for c in speed.combinations()]


def test_the_oracle_checks_the_classes_a_parameter_product_used_to_miss():
    labels = {
        target: {label.split()[0] for label, _, _ in speed_workloads(load_inputs(target))}
        for target in ("take", "distances", "topk_merge")
    }
    assert {"Take", "TakeBinary"} == labels["take"]
    assert {"Distances", "Hamming"} == labels["distances"]
    assert {"TopkMerge", "Topk"} == labels["topk_merge"]


def _address_memo(func, min_rows: int):
    """`func` answering from a memo keyed by its arrays' addresses once one is as long as a speed
    workload's: the timing loop hands it the same arrays again and again."""
    memo = {}

    def cheat(*args):
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        if max(len(a) for a in arrays) < min_rows:
            return func(*args)
        key = tuple((a.ctypes.data, a.shape) for a in arrays)
        if key not in memo:
            memo[key] = func(*args)
        out = memo[key]
        return tuple(x.copy() for x in out) if isinstance(out, tuple) else out.copy()

    return cheat


@pytest.mark.parametrize(
    "target, function, suite, min_rows",
    [
        ("distances", "hamming_batch", "Hamming", 65_536),
        ("take", "take_binary", "TakeBinary", 1_000_000),
    ],
)
def test_a_kernel_stale_on_one_class_workload_only_is_caught(target, function, suite, min_rows):
    """Hamming and TakeBinary were outside the speed check (a product of params covers one
    class). Topk was too, but one element changed in a partition seldom moves its top k, so a
    memo there goes unseen by this check whichever class it is in."""
    inputs = load_inputs(target)
    kernels = importlib.import_module(f"autoresearch.{target}.kernels")
    reference = importlib.import_module(f"autoresearch.{target}.reference")
    names = [n for n in dir(kernels) if not n.startswith("_") and callable(getattr(kernels, n))]
    honest = SimpleNamespace(**{n: getattr(kernels, n) for n in names})
    cheat = SimpleNamespace(**vars(honest))
    setattr(cheat, function, _address_memo(getattr(kernels, function), min_rows))
    # The class's own workload only: the other classes' are honest here and slow to check.
    only = SimpleNamespace(**vars(inputs))
    only.SPEED_WORKLOADS = {suite: inputs.SPEED_WORKLOADS[suite]}
    fails, notes = oracle.speed_workload_failures(only, cheat, reference, SplitMix64(11))
    assert fails and {f.kind for f in fails} == {"stale"}, (fails, notes)
    assert all(f.label.startswith(f"speed workload {suite} ") for f in fails)
    assert oracle.speed_workload_failures(only, honest, reference, SplitMix64(11))[0] == []
