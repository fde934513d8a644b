"""Plumbing shared by every target: the seeded generator, geomean, peak memory, tolerances.

Plumbing only. Nothing here knows about a particular kernel; each target keeps its own natural
signature in its own package (see docs/design.md, "Why no Target class").
"""

from __future__ import annotations

import hashlib
import math
import os
import resource
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------
# Constants (fixed, do not modify: every recorded result depends on them)
# ---------------------------------------------------------------------------

# Float outputs: |kernel - reference| <= MAX_ABS_ERR * max(1, scale), where scale is the magnitude
# of the reference value (or of the sum of absolute terms that make it, for results that can
# cancel). An absolute bound near 1 and a relative one for large magnitudes: summation order and
# float32 rounding stay far inside it (~1e-6 relative), an 8-bit quantized table (~4e-3) does not.
MAX_ABS_ERR = 1e-4

# Top-k outputs: two candidates whose distances differ by at most this (same scaling rule as
# MAX_ABS_ERR) may swap places or trade the last slot; everything else must match exactly.
TOPK_DIST_TOL = 1e-4

# Wall-clock bound for one whole experiment (correctness + benchmark + gate). An experiment that
# exceeds it is recorded as `timeout` and reverted.
TIME_BUDGET_SECS = 600

# Wall-clock bound for the correctness run of one kernel in its subprocess: a kernel that hangs is
# a `crash`/`timeout`, never a harness failure.
CHECK_TIMEOUT_SECS = 180

# The secret salt of a paired timing run. The suites' track_ab_ratio draws its workload under one
# (abtest.run_salt: a fresh one per asv run, from os.urandom, out of the kernel's reach): same
# shapes, sizes and distributions, other values, so answers a kernel precomputed from the public
# seeds never match what is timed. time_*, track_mismatches, the oracle and the peers use the
# public workloads, comparable across commits. ENV_SPEED_SALT salts a whole process (tests).
ENV_SPEED_SALT = "AUTORESEARCH_SPEED_SALT"

# Generated public workloads are cached under state_root()/INPUTS_DIR, keyed on the generator's
# source. A salted build is cached only where its run says (the asv run's own temporary folder,
# which asv removes), in a subfolder SALTED_PREFIX + a digest of the salt (never the salt).
INPUTS_DIR = "inputs"
SALTED_PREFIX = "salted-"

# ---------------------------------------------------------------------------
# SplitMix64 (Steele, Lea, Flood 2014): seeded, portable, identical in every language
# ---------------------------------------------------------------------------

GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_MASK64 = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 output function on uint64 lanes (numpy wraps uint64 arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    return z ^ (z >> np.uint64(31))


def _mix64(z: int) -> int:
    """The SplitMix64 output function on one Python int."""
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
    return z ^ (z >> 31)


def salted_seed(seed: int, salt: int) -> int:
    """`seed` mixed with a secret `salt` by SplitMix64 output rounds: same salt, same seed."""
    mixed_salt = _mix64((salt + GOLDEN_GAMMA) & _MASK64)
    return _mix64(((mixed_salt ^ seed) + GOLDEN_GAMMA) & _MASK64)


# The salt and cache folder of the salted build in progress in this process (see `salted`).
_context_salt: int | None = None
_context_cache: Path | None = None


def speed_salt() -> int | None:
    """The secret salt of the workload being drawn now, or None: public workloads."""
    if _context_salt is not None:
        return _context_salt
    value = os.environ.get(ENV_SPEED_SALT, "").strip()
    if not value:
        return None
    try:
        return int(value, 16) & _MASK64
    except ValueError:  # never fall back to the public workload silently
        raise ValueError(f"{ENV_SPEED_SALT} must be hexadecimal") from None


@contextmanager
def salted(salt: int, cache_dir: Path | None = None) -> Iterator[None]:
    """Draw workloads from seeds mixed with `salt` inside the block; cache them in `cache_dir`
    (None: not on disk, the build stays in this process)."""
    global _context_salt, _context_cache
    saved = _context_salt, _context_cache
    _context_salt, _context_cache = salt & _MASK64, cache_dir
    try:
        yield
    finally:
        _context_salt, _context_cache = saved


def speed_seed(seed: int) -> int:
    """The seed a speed workload is drawn from: `seed` itself, or mixed with the run's salt."""
    salt = speed_salt()
    return seed if salt is None else salted_seed(seed, salt)


# The salt of the workload cached_arrays is building right now (None: public, or not building).
_build_salt: int | None = None


class SplitMix64:
    """The standard SplitMix64 stream, with vectorized bulk draws that continue the same stream.

    `u64(n)` returns exactly what `n` calls of `next_u64()` would, so arrays are cheap to generate
    (input generation must never dominate a benchmark run) yet reproducible element by element.
    """

    def __init__(self, seed: int):
        # While cached_arrays builds a workload under a salt, a generator seeded by the caller (the
        # inputs.py files' `SplitMix64(SPEED_SEED)`) starts from the salted seed instead: every
        # draw of the speed workload changes, with no change to the generators that make it.
        if _build_salt is not None:
            seed = salted_seed(seed, _build_salt)
        self.state = seed & _MASK64

    @classmethod
    def _at(cls, state: int) -> SplitMix64:
        """A stream at `state` as is (spawned streams: their parent was already salted)."""
        rng = cls.__new__(cls)
        rng.state = state & _MASK64
        return rng

    def next_u64(self) -> int:
        self.state = (self.state + GOLDEN_GAMMA) & _MASK64
        return _mix64(self.state)

    def u64(self, n: int) -> np.ndarray:
        """The next n outputs as uint64."""
        with np.errstate(over="ignore"):
            steps = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA)
            out = _mix(steps + np.uint64(self.state))
        self.state = (self.state + n * GOLDEN_GAMMA) & _MASK64
        return out

    def uniform(self, n: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """float64 in [low, high), from the top 53 bits."""
        unit = (self.u64(n) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
        return low + (high - low) * unit

    def normal(self, n: int) -> np.ndarray:
        """Standard normal float64 by Box-Muller on pairs of draws."""
        m = (n + 1) // 2
        u1 = 1.0 - self.uniform(m)  # (0, 1]: log stays finite
        u2 = self.uniform(m)
        r = np.sqrt(-2.0 * np.log(u1))
        out = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])
        return out[:n]

    def integers(self, n: int, high: int) -> np.ndarray:
        """int64 in [0, high) for 0 < high <= 2**32, by the multiply-shift method (Lemire)."""
        if not 0 < high <= 1 << 32:
            raise ValueError(f"high must be in (0, 2**32], got {high}")
        top = self.u64(n) >> np.uint64(32)
        return ((top * np.uint64(high)) >> np.uint64(32)).astype(np.int64)

    def permutation(self, n: int) -> np.ndarray:
        """A uniformly random permutation of range(n) (sort by random keys)."""
        return np.argsort(self.u64(n), kind="stable")

    def spawn(self, label: str) -> SplitMix64:
        """An independent stream for a named purpose, so adding one case never shifts another."""
        h = 0
        for ch in label.encode():
            h = (h * 0x100000001B3 ^ ch) & _MASK64
        return SplitMix64._at(self.next_u64() ^ h)


# ---------------------------------------------------------------------------
# Small numeric helpers
# ---------------------------------------------------------------------------


def geomean(values: Iterable[float]) -> float:
    """Geometric mean of positive values; NaN for an empty input, never a silent 0."""
    vals = [float(v) for v in values]
    if not vals:
        return math.nan
    if any(not v > 0 for v in vals):
        raise ValueError(f"geomean needs positive values, got {vals}")
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size in MB of this process (or of its finished children).

    The kernel's own memory is what matters; a numba process is ~150 MB before any kernel runs, so
    read this as a level to watch for jumps, not as the kernel's footprint.
    """
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kb = resource.getrusage(who).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def rss_mb(pid: int | None = None) -> float:
    """Current RSS in MB of a live process (psutil), e.g. a correctness subprocess being watched."""
    import psutil

    return psutil.Process(pid).memory_info().rss / (1024 * 1024)


def inputs_cache_dir() -> Path:
    """Where generated public workloads are kept between processes (read at call time)."""
    from autoresearch import state_root

    return state_root() / INPUTS_DIR


def salted_cache_dir(salt: int) -> Path | None:
    """Where one salt's workloads are kept (None: nowhere), named by a digest of the salt."""
    if _context_salt is not None and _context_cache is None:
        return None
    digest = hashlib.sha256(salt.to_bytes(8, "little")).hexdigest()[:16]
    root = _context_cache if _context_salt is not None else inputs_cache_dir()
    return root / f"{SALTED_PREFIX}{digest}"


def cached_arrays(
    source: str | Path,
    key: str,
    build: Callable[[], dict[str, np.ndarray]],
    also: Sequence[str | Path] = (),
) -> dict[str, np.ndarray]:
    """Arrays from `build()`, kept on disk between processes, keyed on the generating file's bytes.

    asv runs every combination in a fresh process; regenerating a 20k-vector workload (with its
    k-means codebook) each time would cost more than timing it. The key includes the SHA-256 of
    `source` (the target's inputs.py), of the other generator files `also` names (shared helpers)
    and of this file, so a changed generator never reuses data.
    Under a speed salt (ENV_SPEED_SALT) `build()` runs salted (see SplitMix64) and the arrays are
    keyed on the salt too and kept in that salt's own folder.
    """
    global _build_salt
    salt = speed_salt()
    tag = b"" if salt is None else salt.to_bytes(8, "little")
    generators = b"".join(Path(f).read_bytes() for f in (source, *also))
    h = hashlib.sha256(generators + Path(__file__).read_bytes() + key.encode() + tag)
    folder = inputs_cache_dir() if salt is None else salted_cache_dir(salt)
    path = None if folder is None else folder / f"{h.hexdigest()[:24]}.npz"
    try:
        if path is not None:
            with np.load(path) as data:
                return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError):
        pass  # missing or half-written by a killed process: build it again
    saved, _build_salt = _build_salt, salt
    try:
        arrays = build()
    finally:
        _build_salt = saved
    if path is None:
        return arrays
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)  # atomic: readers see the whole file or none
    return arrays
