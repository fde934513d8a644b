"""calibrate --offsets: the per-process offset of an A/A pairing (issue 18, "Across processes").

A run is `processes` fresh worker processes, one after another (`calibrate T --offsets-worker`),
each pairing the target's kernels.py against a separately loaded copy of itself exactly as the
quick look (`abtest T --kernels FILE`) pairs them; the spread of their ratios between processes is
the offset that pairs inside one process cannot see. The table is made by harness/calibration.py.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from autoresearch import PACKAGE_DIR, abtest
from autoresearch.harness.calibration_timing import MeasurementFailed
from autoresearch.harness.machine import machine_name

DEFAULT_PROCESSES = 6  # fresh processes per run: enough to see a between-process spread at all
# How a worker process orders the two copies. "production": the quick look as is (the candidate
# is compiled in the suite's setup, before the baseline, which paired_samples loads afresh for
# every combination); "baseline"/"candidate": one baseline copy per process, compiled before or
# after the candidate for every combination; "alternate": a run of processes alternating those two.
OFFSET_ORDERS = ("production", "baseline", "candidate", "alternate")
PAD_ALIGN = 64  # a realigned workload array starts at a random multiple of a cache line ...
PAD_SPAN = 4096  # ... within one page, so each process sees another placement of the same data
OFFSET_MARK = "\n# calibrate --offsets: the same kernel source, a separately loaded copy\n"


def realigned(value: object, rng: np.random.Generator) -> object:
    """A copy of every array in a workload (dataclass, tuple, list, dict) at a random offset."""
    if isinstance(value, np.ndarray):
        if value.nbytes == 0:
            return value
        raw = np.empty(value.nbytes + PAD_SPAN + PAD_ALIGN, dtype=np.uint8)
        start = (-raw.ctypes.data) % PAD_ALIGN + PAD_ALIGN * int(
            rng.integers(PAD_SPAN // PAD_ALIGN)
        )
        out = raw[start : start + value.nbytes].view(value.dtype).reshape(value.shape)
        out[...] = value
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: realigned(getattr(value, f.name), rng) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **fields)
    if isinstance(value, (tuple, list)):
        return type(value)(realigned(v, rng) for v in value)
    if isinstance(value, dict):
        return {k: realigned(v, rng) for k, v in value.items()}
    return value


def offsets_worker(target: str, order: str, pad: bool, seconds: float, match: str | None) -> dict:
    """One fresh process's A/A pairing, as the quick look (`abtest T --kernels FILE`) makes it:
    the target's kernels.py against a separately loaded copy of itself (a comment line added),
    every combination through the suite's own track_ab_ratio (paired_samples: seal, salted
    workload, TimedCheck). Returns {label: pair ratios} with what the process saw."""
    from autoresearch import integrity, oracle

    source = (PACKAGE_DIR / target / "kernels.py").read_text()
    folder = Path(tempfile.mkdtemp(prefix="calibrate-offsets-"))
    try:
        base_file = folder / "baseline" / "kernels.py"
        cand_file = folder / "candidate" / "kernels.py"
        for path, text in ((base_file, source), (cand_file, source + OFFSET_MARK)):
            path.parent.mkdir()
            path.write_text(text)
        os.environ[abtest.ENV_BASELINE] = str(base_file)
        suite = importlib.import_module(f"benchmarks.bench_{target}")
        # Patched before the seal, so the seal watches the patched harness as it would the real one.
        if pad:
            rng = np.random.default_rng()
            plain = abtest.salted_workload
            abtest.salted_workload = lambda *a: realigned(plain(*a), rng)
        if order != "production":
            baseline = oracle.load_module_from(base_file, f"autoresearch_offsets_baseline_{target}")
            abtest.load_baseline = lambda _target: baseline
            if order == "baseline":  # compile the baseline before setup compiles the candidate
                for cls in abtest._suite_classes(suite):
                    cls.setup = baseline_first(cls.setup, baseline)
        samples: list[list[float]] = []  # every combination's ratios, in quick_ratios' order
        paired = abtest.paired_samples

        def recorded(*a):
            out = paired(*a)
            samples.append(list(out["samples"]))
            return out

        abtest.paired_samples = recorded
        abtest.set_candidate_file(target, cand_file)  # a new instance comes from it too
        integrity.seal(target)
        name = f"autoresearch.{target}.kernels"
        sys.modules[name] = oracle.load_module_from(cand_file, name)
        measured = abtest.quick_ratios(target, seconds, match, sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {m.combo.label: s for m, s in zip(measured, samples, strict=True)}


def baseline_first(setup: Callable, baseline: object) -> Callable:
    def wrapped(self, *params):
        inputs = importlib.import_module(f"autoresearch.{self.target}.inputs")
        make = getattr(inputs, self.workload_function)
        inputs.search(baseline, make(*self.workload_args(*params)))
        return setup(self, *params)

    return wrapped


def run_offsets(
    target: str, processes: int, order: str, pad: bool, seconds: float, match: str | None, log
) -> dict:
    """`processes` fresh worker processes, one after another; their raw pair ratios."""
    runs = []
    data = {
        "kind": "offsets",
        "target": target,
        "order": order,
        "pad": pad,
        "ab_seconds": seconds,
        "match": match,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "name": machine_name()},
        "runs": runs,
    }
    for i in range(processes):
        side = order if order != "alternate" else ("baseline", "candidate")[i % 2]
        cmd = [sys.executable, "-m", "autoresearch.calibrate", target, "--offsets-worker"]
        cmd += ["--order", side, "--ab-seconds", str(seconds)] + (["--pad"] if pad else [])
        cmd += ["--match", match] if match else []
        load0, start = os.getloadavg()[0], time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=PACKAGE_DIR.parent)
        secs, load1 = time.monotonic() - start, os.getloadavg()[0]
        if proc.returncode != 0:
            raise MeasurementFailed(f"worker {i} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        try:
            ratios = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise MeasurementFailed(
                f"worker {i} printed no ratios: {proc.stdout[-500:]!r}"
            ) from None
        runs.append(
            {"order": side, "load_start": load0, "load_end": load1, "secs": secs, "ratios": ratios}
        )
        geo = math.exp(np.mean([math.log(np.median(s)) for s in ratios.values()]))
        print(
            f"process {i + 1}/{processes} ({side}{', pad' if pad else ''}): geomean {geo:.4f} "
            f"({secs:.1f} s, load {load1:.2f})",
            file=log,
            flush=True,
        )
    return data
