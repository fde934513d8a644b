"""The name this kind of machine files its asv results and calibrations under."""

from __future__ import annotations

import os
import re
from pathlib import Path

ENV_MACHINE = "AUTORESEARCH_MACHINE"


def machine_name() -> str:
    """A name for this kind of machine: CPU model and core count (hostnames change per VM)."""
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
    slug = re.sub(r"\((r|tm)\)|cpu|@.*", "", model.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-") or "cpu"
    return f"{slug}-{os.cpu_count()}cpu"
