"""bm25: one timed call = the top k of every query of the workload (16 or 64 queries)."""

import functools

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("bm25")


class Bm25(_KernelSuite):
    target = "bm25"
    speed = inputs.SPEED_WORKLOADS["Bm25"]  # params, param_names, workload

    def time_search(self, num_docs, num_terms, k):
        self.run()


class Bm25Peers:
    """Public implementations on the same data, the query part timed, single-threaded.

    numpy: a term-at-a-time scatter-add formula. bm25s: its eager sparse index (every posting's
    score precomputed at index time with BM25(k1=1.2, b=0.75, method="atire",
    idf_method="lucene"), Lance's formula), its numba retrieve. tantivy: a real engine (BM25 with
    K1 = 1.2, B = 0.75 fixed, document lengths quantized to one byte), a disjunction of term
    queries, block-max WAND top k. Both indexes are built in setup, outside the timed call, from
    the workload's posting lists (docs/targets/bm25.md says what each does differently).
    """

    params = [inputs.NUM_DOCS, inputs.NUM_TERMS, inputs.TOP_K, ["numpy", "bm25s", "tantivy"]]
    param_names = ["num_docs", "num_terms", "k", "peer"]
    timeout = 180

    def setup(self, num_docs, num_terms, k, peer):
        w = inputs.workload(num_docs, num_terms, k)
        if peer == "numpy":
            self.run = lambda: _numpy_search(w)
        elif peer == "bm25s":
            self.run = _bm25s_search(w)
        elif peer == "tantivy":
            self.run = _tantivy_search(w)
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


def _postings(w):
    """Every query's term postings as one column each: (token per query, doc ids, freqs)."""
    tokens, columns, token = [], [], 0
    for term_offsets, doc_ids, freqs in w.queries:
        terms = []
        for t in range(term_offsets.shape[0] - 1):
            lo, hi = term_offsets[t], term_offsets[t + 1]
            columns.append((doc_ids[lo:hi], freqs[lo:hi]))
            terms.append(token)
            token += 1
        tokens.append(terms)
    return tokens, columns


def _bm25s_search(w):
    """bm25s's retrieve over an index of its own eager scores, built from the posting lists.

    bm25s builds its index from token lists (document length = list length); the workload has
    posting lists, so the index is filled with bm25s's own idf (lucene) and tf (atire) functions
    over the same statistics Lance uses: exact document lengths and their mean.
    """
    try:
        import bm25s
        from bm25s import scoring
    except ImportError:
        raise NotImplementedError("bm25s not installed (pip install '.[peers]')") from None
    k1, b = 1.2, 0.75
    retriever = bm25s.BM25(k1=k1, b=b, method="atire", idf_method="lucene", backend="numba")
    num_docs = w.doc_lengths.shape[0]
    avgdl = float(w.doc_lengths.mean(dtype=np.float64))
    idf, tfc = scoring._select_idf_scorer("lucene"), scoring._select_tfc_scorer("atire")
    tokens, columns = _postings(w)
    data, indices = [], []
    for doc_ids, freqs in columns:
        lengths = w.doc_lengths[doc_ids].astype(np.float64)
        weight = tfc(freqs.astype(np.float32), lengths, avgdl, k1, b) * idf(doc_ids.size, num_docs)
        data.append(weight.astype(np.float32))
        indices.append(doc_ids.astype(np.int32))
    indptr = np.concatenate([[0], np.cumsum([d.size for d in data])]).astype(np.int64)
    retriever.scores = {
        "data": np.concatenate(data),
        "indices": np.concatenate(indices),
        "indptr": indptr,
        "num_docs": num_docs,
    }
    retriever.nonoccurrence_array = None  # only bm25l and bm25+ use one
    retriever.unique_token_ids_set = set(range(len(columns)))
    retriever.vocab_dict = {str(t): t for t in range(len(columns))}
    k = min(w.k, num_docs)

    def run():
        # One call per query, as the kernel and Lance answer them (bm25s would batch them).
        for query in tokens:
            out = retriever.retrieve([query], k=k, n_threads=0, show_progress=False)
        return out

    return run


_TANTIVY_FIELD = "body"


@functools.lru_cache(maxsize=1)
def _tantivy_index(num_docs, num_terms):
    """The index of one (N, T) combination (its k values share the posting lists)."""
    return tantivy_build(inputs.workload(num_docs, num_terms, inputs.TOP_K[0]))


def tantivy_build(w):
    """An in-memory tantivy index of a corpus with the workload's posting lists (all its queries;
    token "t<i>" for the i-th list) and document lengths (filler tokens "x"); each document stores
    its id. Returns (index, schema, tokens per query, documents whose length grew).

    The queries were drawn independently, so a document's postings over all queries can outnumber
    its length: it then gets that many tokens (a few short documents: 3 of 100k at T = 1).
    """
    import tantivy

    num_docs = w.doc_lengths.shape[0]
    tokens, columns = _postings(w)
    doc_ids = np.concatenate([d for d, _ in columns]).astype(np.int64)
    freqs = np.concatenate([f for _, f in columns]).astype(np.int64)
    token_of = np.repeat(np.arange(len(columns)), [d.size for d, _ in columns])
    order = np.argsort(doc_ids, kind="stable")
    doc_ids, freqs, token_of = doc_ids[order], freqs[order], token_of[order]
    starts = np.searchsorted(doc_ids, np.arange(num_docs + 1))
    used = np.zeros(num_docs, dtype=np.int64)
    np.add.at(used, doc_ids, freqs)
    filler = np.maximum(w.doc_lengths.astype(np.int64) - used, 0)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(_TANTIVY_FIELD, index_option="freq")
    builder.add_integer_field("id", stored=True, indexed=False)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=1 << 30, num_threads=1)
    words = [f"t{t} " * f for t, f in zip(token_of.tolist(), freqs.tolist(), strict=True)]
    bounds, fill = starts.tolist(), filler.tolist()
    for d in range(num_docs):
        text = "".join(words[bounds[d] : bounds[d + 1]]) + "x " * fill[d]
        writer.add_document(tantivy.Document(id=d, **{_TANTIVY_FIELD: text}))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index, schema, tokens, int(np.count_nonzero(used > w.doc_lengths))


def _tantivy_search(w, built=None):
    """tantivy's top k of every query; `built`: tantivy_build(w) (default: the cached index)."""
    try:
        import tantivy
    except ImportError:
        raise NotImplementedError("tantivy not installed (pip install '.[peers]')") from None
    num_terms = w.queries[0][0].shape[0] - 1
    index, schema, tokens, _ = built or _tantivy_index(w.doc_lengths.shape[0], num_terms)
    searcher = index.searcher()
    should = tantivy.Occur.Should
    queries = [
        tantivy.Query.boolean_query(
            [(should, tantivy.Query.term_query(schema, _TANTIVY_FIELD, f"t{t}")) for t in terms]
        )
        for terms in tokens
    ]
    k = w.k

    def run():
        for query in queries:
            out = searcher.search(query, limit=k, count=False)
        return out

    return run
