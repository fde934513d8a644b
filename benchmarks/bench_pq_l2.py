"""pq_l2: one timed call = distance_table + pq_distances for every query of the workload."""

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("pq_l2")


class PqL2(_KernelSuite):
    target = "pq_l2"
    speed = inputs.SPEED_WORKLOADS["PqL2"]  # params, param_names, workload

    def time_search(self, shape, distribution):
        self.run()


class PqL2Peers:
    """The best public implementations on the same data: how far the kernel is from them."""

    params = [inputs.SHAPES, inputs.DISTRIBUTIONS, ["numpy", "faiss"]]
    param_names = ["shape", "distribution", "peer"]
    timeout = 180

    def setup(self, shape, distribution, peer):
        w = inputs.workload(shape, distribution)
        self.w = w
        if peer == "numpy":
            # Per-sub-space take + add, the fastest numpy formulation (peer-timings.md).
            self.run = lambda: _numpy_search(w)
        elif peer == "faiss":
            self.run = _faiss_search(w)
        self.run()

    def time_search(self, shape, distribution, peer):
        self.run()


def _numpy_search(w):
    M, K, dsub = w.codebook.shape
    out = None
    for q in w.queries:
        diff = w.codebook - q.reshape(M, 1, dsub)
        table = np.einsum("mkd,mkd->mk", diff, diff)
        out = np.zeros(w.codes.shape[1], dtype=np.float32)
        for m in range(M):
            out += table[m].take(w.codes[m])
    return out


def _faiss_search(w):
    try:
        import faiss
    except ImportError:
        raise NotImplementedError("faiss-cpu not installed (pip install '.[peers]')") from None
    faiss.omp_set_num_threads(1)
    M, K, dsub = w.codebook.shape
    index = faiss.IndexPQ(M * dsub, M, 8)
    faiss.copy_array_to_vector(w.codebook.ravel(), index.pq.centroids)
    index.is_trained = True
    index.add_sa_codes(np.ascontiguousarray(w.codes.T))
    queries = np.ascontiguousarray(w.queries)
    # faiss has no bare ADC scan in Python: search k=10 includes its LUT build and top-10 heap.
    return lambda: index.search(queries, 10)
