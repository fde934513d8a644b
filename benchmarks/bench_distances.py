"""distances: one timed call = every query of every distribution against its batch."""

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("distances")


class Distances(_KernelSuite):
    target = "distances"
    speed = inputs.SPEED_WORKLOADS["Distances"]  # params, param_names, workload

    def time_search(self, function, dim):
        self.run()


class Hamming(_KernelSuite):
    target = "distances"
    speed = inputs.SPEED_WORKLOADS["Hamming"]  # params, param_names, workload

    def time_search(self, nbytes):
        self.run()


class DistancesPeers:
    """The best public implementations on the same data and calls: how far the kernel is from them.

    numpy gets the vectors' norms precomputed (outside the timed call), its usual trick; Lance has
    no stored norms, so the kernel computes them per call. simsimd and numkong (SimSIMD's
    successor) run the same cdist call per query, single-threaded.
    """

    params = [inputs.FLOAT_FUNCTIONS, inputs.DIMS, ["numpy", "simsimd", "numkong"]]
    param_names = ["function", "dim", "peer"]
    timeout = 180

    def setup(self, function, dim, peer):
        w = inputs.workload(function, dim)
        make = {"numpy": _numpy_float, "simsimd": _simsimd_float, "numkong": _numkong_float}
        self.run = make[peer](w)
        self.run()

    def time_search(self, function, dim, peer):
        self.run()


class HammingPeers:
    params = [inputs.HAMMING_BYTES, ["numpy", "simsimd", "numkong"]]
    param_names = ["nbytes", "peer"]
    timeout = 180

    def setup(self, nbytes, peer):
        w = inputs.workload("hamming_batch", nbytes)
        make = {"numpy": _numpy_hamming, "simsimd": _simsimd_hamming, "numkong": _numkong_hamming}
        self.run = make[peer](w)
        self.run()

    def time_search(self, nbytes, peer):
        self.run()


def _calls(w):
    return [
        (q, vectors) for vectors, queries in zip(w.vectors, w.queries, strict=True) for q in queries
    ]


def _numpy_float(w):
    calls = _calls(w)
    sq_norms = {id(x): np.einsum("ij,ij->i", x, x) for _, x in calls}
    norms = {key: np.sqrt(v) for key, v in sq_norms.items()}

    def l2():
        for q, x in calls:
            out = sq_norms[id(x)] - 2.0 * (x @ q) + q @ q
        return out

    def dot():
        for q, x in calls:
            out = 1.0 - x @ q
        return out

    def cosine():
        for q, x in calls:
            out = 1.0 - (x @ q) / (norms[id(x)] * np.sqrt(q @ q))
        return out

    return {"l2_batch": l2, "dot_batch": dot, "cosine_batch": cosine}[w.function]


def _simsimd():
    try:
        import simsimd
    except ImportError:
        raise NotImplementedError("simsimd not installed (pip install '.[peers]')") from None
    return simsimd


def _simsimd_float(w):
    simsimd = _simsimd()
    calls = [(q[None, :], x) for q, x in _calls(w)]
    metric = {"l2_batch": "sqeuclidean", "dot_batch": "dot", "cosine_batch": "cosine"}[w.function]

    def run():
        for q, x in calls:
            out = simsimd.cdist(q, x, metric=metric, out_dtype="float32", threads=1)
        return out  # dot: simsimd gives q.x; 1 - q.x would add a pass over N outputs only

    return run


def _numpy_hamming(w):
    calls = _calls(w)

    def run():
        for q, codes in calls:
            out = np.bitwise_count(codes ^ q).sum(axis=1, dtype=np.uint32).astype(np.float32)
        return out

    return run


def _simsimd_hamming(w):
    simsimd = _simsimd()
    calls = [(q[None, :], codes) for q, codes in _calls(w)]

    def run():
        for q, codes in calls:
            out = simsimd.cdist(q, codes, metric="hamming", dtype="bin8", threads=1)
        return out

    return run


def _numkong():
    try:
        import numkong
    except ImportError:
        raise NotImplementedError("numkong not installed (pip install '.[peers]')") from None
    return numkong


def _numkong_float(w):
    numkong = _numkong()
    calls = [(q[None, :], x) for q, x in _calls(w)]
    # numkong calls cosine "angular" (1 - q.x / |q| |x|, as Lance's cosine distance).
    metric = {"l2_batch": "sqeuclidean", "dot_batch": "dot", "cosine_batch": "angular"}[w.function]

    def run():
        for q, x in calls:
            out = numkong.cdist(q, x, metric=metric, out_dtype="float32", threads=1)
        return out  # dot: numkong gives q.x, as simsimd does

    return run


def _numkong_hamming(w):
    numkong = _numkong()
    calls = [(q[None, :], codes) for q, codes in _calls(w)]

    def run():
        for q, codes in calls:
            # "uint1": bytes as packed bits (numkong 7.8's "u1" counts differing bytes instead).
            out = numkong.cdist(q, codes, metric="hamming", dtype="uint1", threads=1)
        return out

    return run
