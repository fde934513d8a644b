"""posting_intersect: one timed call = the intersection of every query's K lists (4-64 queries)."""

import array
import functools

import numpy as np

from autoresearch import abtest, oracle
from autoresearch.posting_intersect import inputs, kernels, reference


class PostingIntersect:
    params = [
        inputs.NUM_LISTS,  # K posting lists per query
        inputs.DISTRIBUTIONS,  # list lengths and id density (inputs.SHAPES)
    ]
    param_names = ["k", "shape"]
    timeout = 180

    def setup(self, k, shape):
        # Cached per process: cheap even when asv_runner >= 0.3 calls setup before every sample.
        self.w = inputs.workload(k, shape)
        inputs.search(kernels, self.w)  # compile (or load from cache) outside the timed body

    def time_search(self, k, shape):
        inputs.search(kernels, self.w)

    def track_mismatches(self, k, shape):
        return oracle.workload_mismatches(
            lambda impl: inputs.outputs(impl, self.w), kernels, reference
        )

    track_mismatches.unit = "mismatches"

    def track_ab_ratio(self, k, shape):
        return abtest.paired_samples("posting_intersect", lambda impl: inputs.search(impl, self.w))

    track_ab_ratio.unit = "ratio"


class PostingIntersectPeers:
    """The best public implementations on the same data: how far the kernel is from them."""

    params = [inputs.NUM_LISTS, inputs.DISTRIBUTIONS, ["numpy", "pyroaring"]]
    param_names = ["k", "shape", "peer"]
    timeout = 180

    def setup(self, k, shape, peer):
        w = inputs.workload(k, shape)
        if peer == "numpy":
            self.run = lambda: _numpy_search(w)
        elif peer == "pyroaring":
            self.run = _pyroaring_search(w)
        self.run()

    def time_search(self, k, shape, peer):
        self.run()


class PostingIntersectCountPeers:
    """Information only: simsimd counts the intersection of exactly two lists (no K-way form, no
    output array), so it is a lower bound on the work, kept out of the best-peer ratio (a Peers
    class without a main class of the same params)."""

    params = [[2], inputs.DISTRIBUTIONS, ["simsimd"]]
    param_names = ["k", "shape", "peer"]
    timeout = 180

    def setup(self, k, shape, peer):
        self.run = _simsimd_search(inputs.workload(k, shape))
        self.run()

    def time_search(self, k, shape, peer):
        self.run()


def _numpy_intersect(lists):
    return functools.reduce(lambda a, b: np.intersect1d(a, b, assume_unique=True), lists)


def _numpy_search(w):
    out = None
    for lists in w.queries:
        out = _numpy_intersect(lists)
    return out


def _pyroaring_search(w):
    try:
        from pyroaring import BitMap
    except ImportError:
        raise NotImplementedError("pyroaring not installed (pip install '.[peers]')") from None
    # Bitmaps built here, outside the timed call (array('I') is pyroaring's fast constructor):
    # the peer gets its native format for free, as a roaring index would store it.
    bitmaps = [[BitMap(array.array("I", a.tobytes())) for a in lists] for lists in w.queries]

    def run():
        out = None
        for bms in bitmaps:
            out = BitMap.intersection(*bms).to_array()
        return out

    return run


def _simsimd_search(w):
    try:
        import simsimd
    except ImportError:
        raise NotImplementedError("simsimd not installed (pip install '.[peers]')") from None

    def run():
        out = None
        for a, b in w.queries:
            out = simsimd.intersect(a, b)  # the count only
        return out

    return run
