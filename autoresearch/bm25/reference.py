"""bm25 reference: naive scalar loops, the oracle (do not edit).

Mirrors Lance's full-text scoring (lance-index src/scalar/inverted/scorer.rs: K1, B, `idf`,
`MemBM25Scorer::avg_doc_length`, `doc_weight`, `Scorer::score`; wand.rs sums the query terms'
contributions, `score_contributions_in_query_order`, and `TopKCollector::insert` keeps the top
`limit` by score). Which of
several documents tied at the k-th score Lance keeps, and in which order it lists equal scores,
follows no rule on ids (measured, docs/targets/bm25.md): this reference lists ties by doc id
ascending, one of the answers the oracle accepts (inputs.compare_topk), not Lance's rule.

Each term's contribution is Lance's float32 arithmetic, operation for operation, so a kernel that
evaluates the formula as Lance does gets the same per-term value bit for bit. The contributions are
summed in float64 and rounded once to float32: Lance sums them in float32 in an order that depends
on its iterators, so the sum is the one place where kernels may legitimately differ (the oracle
compares scores within TOPK_DIST_TOL). Exhaustive term-at-a-time scoring of every document, then a
stable sort: the definition, not a fast path.
"""

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# Lance's BM25 constants (scorer.rs), float32 as in Lance
# ---------------------------------------------------------------------------

K1 = np.float32(1.2)
B = np.float32(0.75)
ONE = np.float32(1.0)
HALF = np.float32(0.5)


@njit(cache=True)
def idf(token_docs, num_docs):
    """scorer.rs `idf`: ln((N - n + 0.5) / (n + 0.5) + 1), every operation in float32."""
    n = np.float32(token_docs)
    N = np.float32(num_docs)
    return np.float32(math.log((N - n + HALF) / (n + HALF) + ONE))


@njit(cache=True)
def doc_weight(freq, doc_tokens, avg_doc_length):
    """scorer.rs `doc_weight`: (K1 + 1) f / (f + K1 (1 - B + B dl / avgdl)), in float32."""
    f = np.float32(freq)
    dl = np.float32(doc_tokens)
    doc_norm = K1 * (ONE - B + B * dl / avg_doc_length)
    return (K1 + ONE) * f / (f + doc_norm)


@njit(cache=True)
def avg_doc_length(doc_lengths):
    """scorer.rs `MemBM25Scorer::avg_doc_length`: total tokens (u64) / num docs, each as float32."""
    total = np.uint64(0)
    for d in range(doc_lengths.shape[0]):
        total += np.uint64(doc_lengths[d])
    return np.float32(total) / np.float32(doc_lengths.shape[0])


@njit(cache=True)
def doc_scores(term_offsets, doc_ids, freqs, doc_lengths):
    """float32[num_docs]: every document's BM25 score; -inf for documents matching no term.

    Term t's postings are doc_ids[term_offsets[t]:term_offsets[t + 1]] with their freqs; n_t is
    that list's length, N = len(doc_lengths). Contribution = idf(n_t, N) * doc_weight (float32
    product, as `Scorer::score`), summed over terms in float64, rounded once to float32.
    """
    num_docs = doc_lengths.shape[0]
    total = np.zeros(num_docs, dtype=np.float64)
    matched = np.zeros(num_docs, dtype=np.bool_)
    if num_docs == 0:
        return np.empty(0, dtype=np.float32)
    avgdl = avg_doc_length(doc_lengths)
    for t in range(term_offsets.shape[0] - 1):
        start, stop = term_offsets[t], term_offsets[t + 1]
        if stop == start:
            continue  # a token absent from the index has no weight (scorer.rs query_weight)
        query_weight = idf(stop - start, num_docs)
        for p in range(start, stop):
            d = doc_ids[p]
            contribution = query_weight * doc_weight(freqs[p], doc_lengths[d], avgdl)
            total[d] += np.float64(contribution)
            matched[d] = True
    scores = np.empty(num_docs, dtype=np.float32)
    for d in range(num_docs):
        scores[d] = np.float32(total[d]) if matched[d] else -np.inf
    return scores


@njit(cache=True)
def bm25_topk(term_offsets, doc_ids, freqs, doc_lengths, k):
    """(uint32[m] doc ids, float32[m] scores), m = min(k, documents matching any term).

    Sorted by score descending, ties by doc id ascending (a deterministic choice among the
    answers Lance may give). Documents that match no query term are never returned (Lance only
    scores documents in a posting list), so the result is shorter than k when fewer documents
    match.
    """
    scores = doc_scores(term_offsets, doc_ids, freqs, doc_lengths)
    candidates = np.nonzero(scores > -np.inf)[0]  # ascending doc ids
    if 0 < k < candidates.shape[0]:
        # Only documents scoring at least the k-th highest score can be in the top k: sorting
        # only those (still in doc-id order) cuts the oracle's time, not the answer.
        kth = np.partition(-scores[candidates], k - 1)[k - 1]
        candidates = candidates[-scores[candidates] <= kth]
    # A stable sort on -score keeps equal scores in doc-id order.
    order = np.argsort(-scores[candidates], kind="mergesort")
    m = min(k, candidates.shape[0])
    top = np.empty(m, dtype=np.uint32)
    top_scores = np.empty(m, dtype=np.float32)
    for i in range(m):
        top[i] = candidates[order[i]]
        top_scores[i] = scores[candidates[order[i]]]
    return top, top_scores
