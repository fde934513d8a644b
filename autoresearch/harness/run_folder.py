"""The run folder of a decision's asv run: a private folder (0700) holding the run's secret salt,
into which a child draws the run's salted workloads before asv's paired benchmarks (and the
confirmation after them) need them; asv's processes find it through AUTORESEARCH_RUN_DIR
(abtest.run_salt). bench.py makes one per run unless given one (`--run-dir`: the experiment's,
made before its oracle so that the drawing overlaps the oracle)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autoresearch import PACKAGE_DIR


class NotARunFolder(Exception):
    """A folder given as a run folder holds no readable run salt."""


# asv_runner imports numpy (through pympler) before benchmarks/__init__.py runs, so thread limits
# must already be in the environment: a two-thread BLAS peer on a loaded 2-core VM measured 0.25 s
# instead of 0.9 ms; and the workloads drawn beside the benchmarks keep to one core.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def one_thread(env: dict) -> dict:
    for var in THREAD_VARS:
        env.setdefault(var, "1")
    return env


def start_drawing(
    target: str, env: dict | None = None, cwd: Path = PACKAGE_DIR.parent
) -> tuple[Path, subprocess.Popen]:
    """A private run folder (0700) holding a fresh secret salt, and a child drawing the run's
    salted workloads into it (confirm.prepare_main, nice'd, no kernel loaded): asv's paired
    benchmarks, and the confirmation after them, load them instead of drawing them. The
    experiment starts it before its oracle (pq_l2: 15 s of drawing, which the first process of
    each combination paid inside asv's run, overlaps the oracle's 8 s on the other core); `run`
    starts its own otherwise. The caller stops the child (stop_drawing) and removes the folder."""
    from autoresearch import abtest

    run_dir = Path(tempfile.mkdtemp(prefix="autoresearch-run-"))
    try:
        salt = int.from_bytes(os.urandom(abtest.SALT_BYTES), "little")
        (run_dir / abtest.RUN_SALT_FILE).write_text(f"{salt:016x}")
        drawing = subprocess.Popen(
            [sys.executable, "-m", "autoresearch.confirm", target, "--prepare",
             "--salt", f"{salt:x}", "--cache", str(run_dir)],
            cwd=cwd, env=one_thread(dict(os.environ if env is None else env)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir, drawing


def stop_drawing(drawing: subprocess.Popen | None) -> None:
    """The drawing child stopped (what it has not drawn, a benchmark draws itself)."""
    if drawing is None:
        return
    if drawing.poll() is None:
        drawing.kill()
    drawing.wait()


def run_salt(run_dir: Path) -> int:
    """The salt start_drawing put in `run_dir`; NotARunFolder when there is none."""
    from autoresearch import abtest

    try:
        return int((Path(run_dir) / abtest.RUN_SALT_FILE).read_text().strip(), 16)
    except (OSError, ValueError) as exc:
        raise NotARunFolder(f"{run_dir} is not a run folder (no readable run salt: {exc})") from exc
