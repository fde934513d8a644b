"""topk_merge: one timed call = every merge (or per-partition top-k) of every distribution."""

import functools
import heapq
import itertools

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("topk_merge")


class TopkMerge(_KernelSuite):
    target = "topk_merge"
    speed = inputs.SPEED_WORKLOADS["TopkMerge"]  # params, param_names, workload

    def time_search(self, lists, k):
        self.run()


class Topk(_KernelSuite):
    target = "topk_merge"
    speed = inputs.SPEED_WORKLOADS["Topk"]  # params, param_names, workload

    def time_search(self, k):
        self.run()


class TopkMergePeers:
    """Public implementations on the same merges.

    numpy and heapq run one merge per call, like the kernel; faiss's merge_knn_results takes all
    merges of a distribution in one call (its natural batch API), and breaks distance ties by list
    order, not by row id.
    """

    params = [inputs.NUM_LISTS, inputs.KS, ["numpy", "heapq", "faiss"]]
    param_names = ["lists", "k", "peer"]
    timeout = 180

    def setup(self, lists, k, peer):
        w = inputs.workload(lists, k)
        if peer == "numpy":
            self.run = lambda: [_numpy_topk(d, r, k) for d, r in w.calls]
        elif peer == "heapq":
            tuples = _tuple_lists(lists, k)
            self.run = lambda: [list(itertools.islice(heapq.merge(*t), k)) for t in tuples]
        else:
            self.run = _faiss_merge(w)
        self.run()

    def time_search(self, lists, k, peer):
        self.run()


class TopkPeers:
    """numpy argpartition + lexsort per partition; faiss ResultHeap per distribution (batched)."""

    params = [inputs.KS, ["numpy", "faiss"]]
    param_names = ["k", "peer"]
    timeout = 180

    def setup(self, k, peer):
        w = inputs.topk_workload(k)
        if peer == "numpy":
            self.run = lambda: [_numpy_topk(d, r, k) for d, r in w.calls]
        else:
            self.run = _faiss_topk(w)
        self.run()

    def time_search(self, k, peer):
        self.run()


def _numpy_topk(dists, row_ids, k):
    """Exact: every entry up to the k-th smallest distance, ordered by (distance, row id)."""
    d, r = dists.ravel(), row_ids.ravel()
    if k < d.size:
        kth = d[np.argpartition(d, k - 1)[k - 1]]
        candidates = np.flatnonzero(d <= kth)
    else:
        candidates = np.arange(d.size)
    keep = candidates[np.lexsort((r[candidates], d[candidates]))[:k]]
    return d[keep], r[keep]


@functools.lru_cache(maxsize=1)
def _tuple_lists(lists, k):
    """Every merge's lists as Python lists of (distance, row id) tuples, built once per process."""
    w = inputs.workload(lists, k)
    return [
        [list(zip(dl.tolist(), rl.tolist(), strict=True)) for dl, rl in zip(d, r, strict=True)]
        for d, r in w.calls
    ]


def _faiss():
    try:
        import faiss
    except ImportError:
        raise NotImplementedError("faiss-cpu not installed (pip install '.[peers]')") from None
    faiss.omp_set_num_threads(1)
    return faiss


def _faiss_merge(w):
    faiss = _faiss()
    # (lists, merges, k) per distribution: faiss's shard-major layout; row ids as int64
    # (the padding id 2**64 - 1 becomes -1, faiss's own "no result" label).
    batches = [
        (np.ascontiguousarray(d.transpose(1, 0, 2)), np.ascontiguousarray(r.transpose(1, 0, 2)))
        for d, r in zip(w.dists, w.row_ids.view(np.int64), strict=True)
    ]
    return lambda: [faiss.merge_knn_results(d, r) for d, r in batches]


def _faiss_topk(w):
    faiss = _faiss()
    batches = list(zip(w.dists, w.row_ids.view(np.int64), strict=True))
    k = w.k

    def run():
        for d, r in batches:
            heap = faiss.ResultHeap(d.shape[0], k)
            heap.add_result(d, r)
            heap.finalize()
        return heap.D, heap.I

    return run
