"""The name this kind of machine files its asv results and calibrations under."""

from __future__ import annotations

import os
import re
from pathlib import Path

ENV_MACHINE = "AUTORESEARCH_MACHINE"

# Names given before the name carried numba's code-generation target (2026-12-07), by what that
# target was. A VM's model name hides the generation: "AMD EPYC" was a Zen 3 without AVX-512 in
# sessions 40-44 (docs/gate.md) and a Zen 4 with AVX-512 after, two machines for numba's code and
# for the gate's noise limits. The Xeon's target was not recorded: its name stays its own. (The
# November runs in legacy-results/amd-epyc-2cpu/ came from a VM of unknown generation; only the
# report reads them, under the name recorded, never through this map.)
RENAMED = {"amd-epyc-2cpu": "amd-epyc-znver3-2cpu"}


def codegen_cpu() -> str:
    """The CPU numba compiles kernels for (LLVM's name: znver3, skylake-avx512, ...)."""
    if name := os.environ.get("NUMBA_CPU_NAME"):
        return name
    try:
        import llvmlite.binding as llvm

        return llvm.get_host_cpu_name() or "unknown-codegen"
    except Exception:  # never the bare model name: that one is RENAMED's (a Zen 3's)
        return "unknown-codegen"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_name() -> str:
    """A name for this kind of machine: CPU model, numba's target CPU and core count (hostnames
    change per VM; a VM's model name can hide the CPU generation, which numba's code follows)."""
    if os.environ.get(ENV_MACHINE):
        return os.environ[ENV_MACHINE]
    model = "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1]
                break
    except OSError:
        pass
    parts = [slug(re.sub(r"\((r|tm)\)|cpu|@.*", "", model.lower())) or "cpu"]
    if (target := slug(codegen_cpu())) and target not in parts[0]:
        parts.append(target)
    return "-".join(parts) + f"-{os.cpu_count()}cpu"


def canonical(name: str) -> str:
    """A recorded machine name as named today (RENAMED)."""
    return RENAMED.get(name, name)
