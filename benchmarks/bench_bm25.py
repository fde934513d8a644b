"""bm25: one timed call = the top k of every query of the workload (16 or 64 queries)."""

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("bm25")


class Bm25(_KernelSuite):
    target = "bm25"
    speed = inputs.SPEED_WORKLOADS["Bm25"]  # params, param_names, workload

    def time_search(self, num_docs, num_terms, k):
        self.run()


class Bm25Peers:
    """The best public implementation on the same data: how far the kernel is from it."""

    params = [inputs.NUM_DOCS, inputs.NUM_TERMS, inputs.TOP_K, ["numpy"]]
    param_names = ["num_docs", "num_terms", "k", "peer"]
    timeout = 180

    def setup(self, num_docs, num_terms, k, peer):
        w = inputs.workload(num_docs, num_terms, k)
        if peer == "numpy":
            self.run = lambda: _numpy_search(w)
        self.run()

    def time_search(self, num_docs, num_terms, k, peer):
        self.run()


def _numpy_topk(term_offsets, doc_ids, freqs, doc_lengths, k):
    """Term-at-a-time scatter-add into a dense float32 score array, then argpartition + sort."""
    num_docs = doc_lengths.shape[0]
    k1, b, one = np.float32(1.2), np.float32(0.75), np.float32(1.0)
    avgdl = np.float32(doc_lengths.sum(dtype=np.uint64)) / np.float32(num_docs)
    scores = np.zeros(num_docs, dtype=np.float32)
    matched = np.zeros(num_docs, dtype=bool)
    for t in range(term_offsets.shape[0] - 1):
        ids = doc_ids[term_offsets[t] : term_offsets[t + 1]]
        if ids.size == 0:
            continue
        n, big_n = np.float32(ids.size), np.float32(num_docs)
        idf = np.log((big_n - n + np.float32(0.5)) / (n + np.float32(0.5)) + one)
        f = freqs[term_offsets[t] : term_offsets[t + 1]].astype(np.float32)
        dl = doc_lengths[ids].astype(np.float32)
        # Doc ids are unique within a term, so a fancy-indexed += adds each posting once.
        scores[ids] += idf * ((k1 + one) * f / (f + k1 * (one - b + b * dl / avgdl)))
        matched[ids] = True
    candidates = np.nonzero(matched)[0]
    m = min(k, candidates.size)
    if m == 0:
        return np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.float32)
    # Everything scoring at least the m-th best, then (score desc, id asc): ties to lower ids.
    kth = -np.partition(-scores[candidates], m - 1)[m - 1]
    top = candidates[scores[candidates] >= kth]
    top = top[np.lexsort((top, -scores[top]))][:m]
    return top.astype(np.uint32), scores[top]


def _numpy_search(w):
    out = None
    for term_offsets, doc_ids, freqs in w.queries:
        out = _numpy_topk(term_offsets, doc_ids, freqs, w.doc_lengths, w.k)
    return out
