"""ivf_select: one timed call = find_partitions per query, distribution and metric."""

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("ivf_select")


class IvfSelect(_KernelSuite):
    target = "ivf_select"
    speed = inputs.SPEED_WORKLOADS["IvfSelect"]  # params, param_names, workload

    def time_search(self, shape, nprobes):
        self.run()


class IvfSelectPeers:
    """The best public implementations on the same queries, one query per call as Lance does.

    numpy gets the centroids' squared norms precomputed (the IVF model is fixed, so a real system
    could keep them); faiss IndexFlatL2 / IndexFlatIP hold the centroids and search one query.
    """

    params = [inputs.SHAPES, inputs.NPROBES, ["numpy", "faiss"]]
    param_names = ["shape", "nprobes", "peer"]
    timeout = 180

    def setup(self, shape, nprobes, peer):
        w = inputs.workload(shape, nprobes)
        self.run = _numpy_search(w) if peer == "numpy" else _faiss_search(w)
        self.run()

    def time_search(self, shape, nprobes, peer):
        self.run()


def _numpy_select(dists, nprobes):
    if nprobes < dists.shape[0]:
        ids = np.argpartition(dists, nprobes - 1)[:nprobes]
    else:
        ids = np.arange(dists.shape[0])
    ids = ids[np.argsort(dists[ids])]
    return ids.astype(np.uint32), dists[ids]


def _numpy_search(w):
    sets = [
        (c, np.einsum("ij,ij->i", c, c), queries)
        for c, queries in zip(w.centroids, w.queries, strict=True)
    ]
    nprobes = w.nprobes

    def run():
        for centroids, sq_norms, queries in sets:
            for q in queries:  # l2
                out = _numpy_select(sq_norms - 2.0 * (centroids @ q) + q @ q, nprobes)
            for q in queries:  # dot
                out = _numpy_select(1.0 - centroids @ q, nprobes)
        return out

    return run


def _faiss_search(w):
    try:
        import faiss
    except ImportError:
        raise NotImplementedError("faiss-cpu not installed (pip install '.[peers]')") from None
    faiss.omp_set_num_threads(1)
    sets = []
    for centroids, queries in zip(w.centroids, w.queries, strict=True):
        l2 = faiss.IndexFlatL2(centroids.shape[1])
        ip = faiss.IndexFlatIP(centroids.shape[1])
        l2.add(np.ascontiguousarray(centroids))
        ip.add(np.ascontiguousarray(centroids))
        sets.append((l2, ip, [np.ascontiguousarray(q[None, :]) for q in queries]))
    nprobes = w.nprobes

    def run():
        for l2, ip, queries in sets:
            for q in queries:
                out = l2.search(q, nprobes)
            for q in queries:
                sims, ids = ip.search(q, nprobes)
                out = 1.0 - sims, ids  # dot distance from the inner product
        return out

    return run
