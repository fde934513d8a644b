"""posting_intersect: one timed call = the intersection of every query's K lists (4-64 queries)."""

import array
import functools

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("posting_intersect")


class PostingIntersect(_KernelSuite):
    target = "posting_intersect"
    speed = inputs.SPEED_WORKLOADS["PostingIntersect"]  # params, param_names, workload

    def time_search(self, k, shape):
        self.run()


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
