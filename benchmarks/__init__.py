"""asv suites, one per target (bench_<target>.py): plain `asv run`, or `autoresearch.bench`.

Importing `autoresearch` first keys numba's on-disk cache on the package source (the stale-cache
trap, docs/design.md). Kernels are timed single-threaded, as one Lance query thread runs them.
What the suites share lives here: `_KernelSuite` (every main class) and `encoded_to_decoded_copy`
(the decode suites' copy roof).
"""

import importlib
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings: BLAS reads them when it loads)

from autoresearch import abtest, oracle  # noqa: E402  (sets NUMBA_CACHE_DIR before numba loads)
from autoresearch.harness.target_protocol import SpeedWorkload, load_inputs  # noqa: E402


class _KernelSuite:
    """What every main suite class shares (asv skips names starting with `_`).

    A subclass sets `target`, `speed` (its entry of inputs.SPEED_WORKLOADS, whence asv's `params`
    and `param_names`) and one `time_*` method whose body is `self.run()`. Its workload is
    `inputs.<workload_function>(*workload_args(*params))`, as the oracle builds it.
    - `setup_cache`: once per commit of an asv run, the run's secret salt for the paired workload.
    - `track_mismatches`: the kernel against the reference on the speed workload (correctness where
      speed is measured; the gate fails a candidate with any).
    - `track_ab_ratio`: the kernel timed against its commit's first parent's, interleaved in this
      process (autoresearch.abtest), on a salted draw of the same workload;
      `track_ab_ratio_baseline_first` the same in a second process, the baseline loaded first.
    """

    target = ""
    speed: SpeedWorkload
    timeout = 180

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.params, cls.param_names = cls.speed.params, cls.speed.param_names
        cls.workload_function = cls.speed.function

    def workload_args(self, *params):
        return self.speed.arguments(*params)

    def setup_cache(self):
        abtest.write_run_salt()

    def setup(self, *params):
        package = f"autoresearch.{self.target}"
        self.inputs = load_inputs(self.target)
        self.args = self.workload_args(*params)
        if os.environ.get(abtest.ENV_PAIRED_ONLY):  # the pairing loads both copies itself
            return
        self.kernels = importlib.import_module(f"{package}.kernels")
        self.reference = importlib.import_module(f"{package}.reference")
        # Cached per process: cheap even when asv_runner >= 0.3 calls setup before every sample.
        self.w = getattr(self.inputs, self.workload_function)(*self.args)
        self.run()  # compile (or load from cache) outside the timed body

    def run(self):
        self.inputs.search(self.kernels, self.w)

    def track_mismatches(self, *params):
        return oracle.workload_mismatches(
            lambda impl: self.inputs.outputs(impl, self.w), self.kernels, self.reference
        )

    track_mismatches.unit = "mismatches"

    def track_ab_ratio(self, *params):
        make = getattr(self.inputs, self.workload_function)
        return abtest.paired_samples(self.target, make, self.args, self.inputs.search)

    track_ab_ratio.unit = "ratio"

    def track_ab_ratio_baseline_first(self, *params):
        """track_ab_ratio in a second process, the baseline's copy loaded, warmed and timed first:
        the gate reads both processes of each combination (docs/gate.md, "Two processes")."""
        make = getattr(self.inputs, self.workload_function)
        return abtest.paired_samples(
            self.target, make, self.args, self.inputs.search, baseline_first=True
        )

    track_ab_ratio_baseline_first.unit = "ratio"


def encoded_to_decoded_copy(encoded: list, decoded_nbytes: int):
    """The copy roof of a decoder (issue 21): read the page's encoded bytes, write the decoded
    size into a new array, the least memory traffic any decoder of the page has. The encoded
    bytes are tiled over the output in one broadcast copy: the first tile reads them from memory,
    later tiles mostly from cache, as a decoder reads each input byte once."""
    source = np.concatenate([np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in encoded])
    tiles, rest = divmod(decoded_nbytes, source.size)

    def run():
        out = np.empty(decoded_nbytes, dtype=np.uint8)
        np.copyto(out[: tiles * source.size].reshape(tiles, source.size), source)
        out[tiles * source.size :] = source[:rest]
        return out

    return run
