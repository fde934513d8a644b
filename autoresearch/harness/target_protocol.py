"""What a target package must define, in one place, checked where the harness loads it.

A target `autoresearch/<target>/` holds reference.py and kernels.py (same function names; the
harness only imports them and hands them to inputs.py's functions) and an inputs.py defining:

- `SPEED_WORKLOADS`: {asv class name: SpeedWorkload}, one entry per main class of
  benchmarks/bench_<target>.py. The class's `params`/`param_names` come from it, and the oracle
  checks every combination of every entry on the benchmark's own data.
- the workload functions the entries name (`workload`, `topk_workload`, ...).
- `search(impl, w)`: one timed call; `outputs(impl, w)`: what `track_mismatches` compares.
- `correctness_cases()`: the oracle's cases.
- optionally `perturbable(w)`: the workload arrays safe to change one element of.
- optionally `judged_calls(impl, w)`: the kernel calls `outputs` makes that `search` does not
  (the pairing warms them too: nothing may compile between its warm-up and its timing).

`load_inputs` imports inputs.py and checks all of it: a missing or malformed name raises one
TargetProtocolError naming the target, the name and docs/adding-a-target.md.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

DOC = "docs/adding-a-target.md"
REQUIRED_FUNCTIONS = ("search", "outputs", "correctness_cases")
OPTIONAL_FUNCTIONS = ("perturbable", "judged_calls")
SIBLING_FILES = ("reference.py", "kernels.py")


class TargetProtocolError(Exception):
    """A target package lacks (or misdeclares) something the harness relies on."""

    def __init__(self, target: str, name: str, problem: str):
        super().__init__(f"target {target}: {name} {problem} (see {DOC})")
        self.target, self.name = target, name


@dataclasses.dataclass(frozen=True)
class SpeedWorkload:
    """One asv class's speed workload: `inputs.<function>(*args(*params))` for every combination
    of the axes' values (asv times the product of its params, so every workload is a product).

    axes: {asv param name: values}, in the order the class's time_* method takes them.
    args: the workload function's arguments for one combination (default: the params as they are),
    for a function shared by classes that fix some of its arguments (bitpack's `workload`).
    """

    function: str
    axes: dict[str, list]
    args: Callable[..., tuple] | None = None

    @property
    def params(self) -> list[list]:
        return [list(values) for values in self.axes.values()]

    @property
    def param_names(self) -> list[str]:
        return list(self.axes)

    def combinations(self) -> list[tuple]:
        """Every combination of params, in asv's order."""
        return list(itertools.product(*self.params))

    def arguments(self, *params: Any) -> tuple:
        return tuple(self.args(*params)) if self.args is not None else tuple(params)


def speed_workloads(inputs: ModuleType) -> list[tuple[str, str, tuple]]:
    """(label, workload function name, its arguments) of every combination of every declared
    speed workload, in declaration order."""
    out = []
    for suite, speed in inputs.SPEED_WORKLOADS.items():
        for combo in speed.combinations():
            out.append((f"{suite} {combo!r}", speed.function, speed.arguments(*combo)))
    return out


def check_inputs(target: str, inputs: ModuleType) -> None:
    """Raise TargetProtocolError unless `inputs` defines everything the harness relies on."""
    for name in REQUIRED_FUNCTIONS:
        if not callable(getattr(inputs, name, None)):
            raise TargetProtocolError(target, f"inputs.{name}", "is missing or not a function")
    for name in OPTIONAL_FUNCTIONS:
        if hasattr(inputs, name) and not callable(getattr(inputs, name)):
            raise TargetProtocolError(target, f"inputs.{name}", "is not a function")
    declared = getattr(inputs, "SPEED_WORKLOADS", None)
    if not isinstance(declared, dict) or not declared:
        raise TargetProtocolError(
            target, "inputs.SPEED_WORKLOADS", "is missing or not a non-empty dict"
        )
    for suite, speed in declared.items():
        where = f"inputs.SPEED_WORKLOADS[{suite!r}]"
        if not isinstance(speed, SpeedWorkload):
            raise TargetProtocolError(target, where, "is not a SpeedWorkload")
        if not callable(getattr(inputs, speed.function, None)):
            raise TargetProtocolError(
                target, f"inputs.{speed.function}", f"(named by {where}) is missing"
            )
        if not speed.axes or any(not list(values) for values in speed.axes.values()):
            raise TargetProtocolError(target, where, "has no axes or an axis with no values")


def check_files(target: str, directory: Path) -> None:
    for name in SIBLING_FILES:
        if not (directory / name).is_file():
            raise TargetProtocolError(target, name, f"is missing from {directory}")


def load_inputs(target: str, package: str = "autoresearch") -> ModuleType:
    """`<package>.<target>.inputs`, checked against the protocol (cheap: names only)."""
    inputs = importlib.import_module(f"{package}.{target}.inputs")
    check_files(target, Path(inputs.__file__).parent)
    check_inputs(target, inputs)
    return inputs
