"""The machine's name: what asv files results under and the gate looks its noise limits up by."""

from __future__ import annotations

import sys

from autoresearch.harness import machine, thresholds


def _named(monkeypatch, model: str, codegen: str, cpus: int = 2) -> str:
    monkeypatch.delenv(machine.ENV_MACHINE, raising=False)
    monkeypatch.setattr(machine, "codegen_cpu", lambda: codegen)
    monkeypatch.setattr(machine.os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(
        machine.Path, "read_text", lambda self: f"processor\t: 0\nmodel name\t: {model}\n"
    )
    return machine.machine_name()


def test_the_name_tells_apart_generations_a_vm_hides(monkeypatch):
    """A VM reported "AMD EPYC" for a Zen 3 (AVX2) and a Zen 4 (AVX-512): numba compiles other
    code for each, and the gate's noise limits were measured per machine, so the names differ."""
    zen3 = _named(monkeypatch, "AMD EPYC", "znver3")
    zen4 = _named(monkeypatch, "AMD EPYC", "znver4")
    assert (zen3, zen4) == ("amd-epyc-znver3-2cpu", "amd-epyc-znver4-2cpu")
    assert _named(monkeypatch, "Intel(R) Xeon(R) CPU @ 2.20GHz", "skylake-avx512", 4) == (
        "intel-xeon-skylake-avx512-4cpu"
    )


def test_an_unknown_codegen_cpu_never_gives_the_bare_model_name(monkeypatch):
    """The bare name (amd-epyc-2cpu) is the Zen 3's, recorded before names carried the CPU."""
    monkeypatch.delenv("NUMBA_CPU_NAME", raising=False)
    monkeypatch.setitem(sys.modules, "llvmlite.binding", None)  # its import fails
    assert machine.codegen_cpu() == "unknown-codegen"


def test_the_environment_names_the_machine(monkeypatch):
    monkeypatch.setenv(machine.ENV_MACHINE, "lab-box")
    assert machine.machine_name() == "lab-box"


def test_numba_cpu_name_is_the_codegen_target(monkeypatch):
    """NUMBA_CPU_NAME makes numba compile for another CPU: results are then that CPU's code."""
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")
    assert machine.codegen_cpu() == "generic"


def test_results_recorded_under_the_old_name_keep_their_machine_limits():
    """amd-epyc-2cpu's results (Zen 3, sessions 40-44) are judged under the limits its
    calibrations set, now filed under its full name; another machine does not inherit them."""
    old, new = "amd-epyc-2cpu", machine.canonical("amd-epyc-2cpu")
    assert new == "amd-epyc-znver3-2cpu" and new in thresholds.MACHINE_SPREAD_LIMITS
    assert thresholds.max_pair_spread("distances", old) == thresholds.MAX_PAIR_SPREAD_WIDEST
    assert thresholds.max_pair_spread("distances", new) == thresholds.MAX_PAIR_SPREAD_WIDEST
    unlisted = thresholds.max_pair_spread("distances", "amd-epyc-znver9-2cpu")
    assert unlisted == thresholds.MAX_PAIR_SPREAD_WIDE


def test_machine_limits_are_filed_under_names_of_today():
    """A limit filed under a renamed machine's old name would never be found (lookups go
    through machine.canonical)."""
    assert not set(thresholds.MACHINE_SPREAD_LIMITS) & set(machine.RENAMED)
