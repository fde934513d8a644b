"""The peer libraries in asv's environment: the *Peers classes run there, not in the user's venv,
so `bench --peers` installs pyproject's `peers` extra into it, with the matrix's numpy, numba and
psutil pinned, so that a peer never changes what the kernels are timed with."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# The `peers` extra of pyproject.toml (distribution: module); tests/test_peers.py holds this to
# pyproject's list and to what the suites import.
PEER_PACKAGES = {
    "pyarrow": "pyarrow",
    "simsimd": "simsimd",
    "numkong": "numkong",
    "faiss-cpu": "faiss",
    "pyroaring": "pyroaring",
    "bm25s": "bm25s",
    "tantivy": "tantivy",
}


def ensure_env(python: Path, setup: Callable[[], object]) -> None:
    """Make asv's environment (its interpreter is `python`) with `setup` unless it exists.
    `asv setup` exits 1 after making the environment: asv 0.6.5 and 0.6.6 hand the command's
    return value, the list of environments, to sys.exit. Its status says nothing; the
    interpreter it leaves does."""
    if python.exists():
        return
    try:
        setup()
    except RuntimeError:
        if not python.exists():
            raise
    if not python.exists():
        raise RuntimeError(f"asv setup made no environment ({python} is missing)")


def install_missing(python: Path, pins: list[str]) -> None:
    """pip-install the peers whose module `python` cannot import, `pins` alongside. A peer that
    cannot be installed (no network, no wheel) is reported; its classes skip in asv
    (NotImplementedError, recorded as n/a)."""
    probe = "import importlib.util as u, sys; "
    probe += "print(*(m for m in sys.argv[1:] if not u.find_spec(m)))"  # the absent modules
    absent = subprocess.run(
        [str(python), "-c", probe, *PEER_PACKAGES.values()], capture_output=True, text=True
    ).stdout.split()
    wanted = [dist for dist, module in PEER_PACKAGES.items() if module in absent]
    if not wanted:
        return
    print(f"peers: installing {', '.join(wanted)} into asv's environment", file=sys.stderr)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *wanted, *pins], capture_output=True, text=True
    )
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        print(f"peers: pip failed ({'; '.join(tail)}): those classes will skip", file=sys.stderr)
