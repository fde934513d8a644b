"""bm25: the reference against an independent formula, the top-k rule, the kernel against both."""

import math

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.bm25 import inputs, kernels, reference
from autoresearch.common import TOPK_DIST_TOL, SplitMix64


def _query(seed, num_docs=3000, dfs=(400, 60, 7)):
    rng = SplitMix64(seed)
    doc_lengths = inputs.doc_lengths_lognormal(rng, num_docs)
    term_offsets, doc_ids, freqs = inputs.make_query(rng, list(dfs), doc_lengths)
    return term_offsets, doc_ids, freqs, doc_lengths


def _python_scores(term_offsets, doc_ids, freqs, doc_lengths):
    """Lance's formula in plain Python floats (float64 throughout): {doc: score}."""
    n_docs = len(doc_lengths)
    avgdl = sum(int(x) for x in doc_lengths) / n_docs
    scores = {}
    for t in range(len(term_offsets) - 1):
        start, stop = int(term_offsets[t]), int(term_offsets[t + 1])
        n = stop - start
        if n == 0:
            continue
        idf = math.log((n_docs - n + 0.5) / (n + 0.5) + 1.0)
        for p in range(start, stop):
            d, f = int(doc_ids[p]), float(freqs[p])
            dl = float(doc_lengths[d])
            w = 2.2 * f / (f + 1.2 * (0.25 + 0.75 * dl / avgdl))
            scores[d] = scores.get(d, 0.0) + idf * w
    return scores


def test_reference_matches_an_independent_python_formula():
    args = _query(1)
    expected = _python_scores(*args)
    scores = reference.doc_scores(*args)
    matched = np.nonzero(scores > -np.inf)[0]
    assert sorted(expected) == matched.tolist()
    for d, value in expected.items():  # float32 steps vs float64: ~1e-6 relative
        assert scores[d] == pytest.approx(value, rel=2e-6)
    ids, top = reference.bm25_topk(*args, 25)
    # Top 25 by (score desc, id asc) of the reference's own float32 scores.
    want = sorted(matched.tolist(), key=lambda d: (-scores[d], d))[:25]
    assert ids.tolist() == want and top.dtype == np.float32
    np.testing.assert_array_equal(top, scores[want])


def test_reference_cut_at_the_kth_score_keeps_every_tie_for_any_k():
    # the reference sorts only documents scoring at least the k-th score: ties straddle the cut
    # (docs of two lengths, one term, freq 1 or 2: a handful of distinct scores among 40 docs)
    doc_lengths = np.array([10, 20] * 20, dtype=np.uint32)
    term_offsets = np.array([0, 30], dtype=np.int64)
    doc_ids = np.arange(40, 10, -1).astype(np.uint32) - 1  # not in doc-id order
    freqs = np.array([1, 2, 1] * 10, dtype=np.uint32)
    scores = reference.doc_scores(term_offsets, doc_ids, freqs, doc_lengths)
    matched = np.nonzero(scores > -np.inf)[0].tolist()
    assert len(set(scores[matched].tolist())) < 6  # ties, many of them
    for k in range(len(matched) + 2):
        ids, top = reference.bm25_topk(term_offsets, doc_ids, freqs, doc_lengths, k)
        assert ids.tolist() == sorted(matched, key=lambda d: (-scores[d], d))[:k]


def test_lance_constants_and_float32_steps():
    # Every step in float32, as Lance: 0.5 / 1.5 + 1 rounds to float32 before the log.
    inner = np.float32(0.5) / np.float32(1.5) + np.float32(1.0)
    assert reference.idf(1, 1) == np.float32(math.log(float(inner)))
    assert reference.idf(1, 1) != np.float32(math.log(0.5 / 1.5 + 1.0))
    assert np.float32(reference.idf(7, 100)) == reference.idf(7, 100)  # a float32 value
    # f = 1 in a document of average length: 2.2 / (1 + 1.2) = 1.
    assert reference.doc_weight(1, 50, np.float32(50.0)) == np.float32(1.0)
    assert reference.avg_doc_length(np.array([1, 2], dtype=np.uint32)) == np.float32(1.5)


def test_fewer_matches_than_k_gives_a_shorter_answer():
    args = _query(2, num_docs=500, dfs=(3, 2))
    matched = int((reference.doc_scores(*args) > -np.inf).sum())
    for impl in (reference, kernels):
        ids, scores = impl.bm25_topk(*args, 10)
        assert ids.shape == scores.shape == (matched,) and ids.dtype == np.uint32
        assert impl.bm25_topk(*args, 0)[0].shape == (0,)


def _near_tie_query(k):
    """Docs 0 and 2 tie exactly; doc 1 (one token longer) is lower by ~5e-6 relative: a near tie."""
    doc_lengths = np.array([100_000, 100_001, 100_000, 5], dtype=np.uint32)
    term_offsets = np.array([0, 3], dtype=np.int64)
    doc_ids = np.array([0, 1, 2], dtype=np.uint32)
    freqs = np.ones(3, dtype=np.uint32)
    return (term_offsets, doc_ids, freqs, doc_lengths, k)


def test_compare_accepts_near_tie_swaps_and_rejects_real_errors():
    args = _near_tie_query(2)
    expected = reference.bm25_topk(*args)
    s = reference.doc_scores(*args[:4])
    assert s[0] == s[2] and 0 < s[0] - s[1] < TOPK_DIST_TOL
    assert expected[0].tolist() == [0, 2]
    assert inputs.compare_topk(args, expected, expected) == []
    top = np.float32(s[0])
    # Doc 1 may take the last slot from doc 2: their scores are within tolerance.
    swapped = (np.array([0, 1], np.uint32), np.array([top, top], np.float32))
    assert inputs.compare_topk(args, swapped, expected) == []
    # Equal scores may come in any id order, and any document of a tie may take the last slot:
    # Lance follows no id rule there (docs/targets/bm25.md, "Ties").
    reversed_tie = (np.array([2, 0], np.uint32), np.array([top, top], np.float32))
    assert inputs.compare_topk(args, reversed_tie, expected) == []
    args1 = _near_tie_query(1)
    higher_of_tie = (np.array([2], np.uint32), np.array([top], np.float32))
    assert inputs.compare_topk(args1, higher_of_tie, reference.bm25_topk(*args1)) == []
    # A lower score listed before a higher one is still wrong.
    low_first = (np.array([1, 0], np.uint32), np.array([s[1], s[0]], np.float32))
    assert any("not sorted" in p for p in inputs.compare_topk(args, low_first, expected))

    args = (*_query(3), 20)
    expected = reference.bm25_topk(*args)
    ids, scores = expected
    # Dropping the best document (and taking the 21st instead) is wrong.
    ids21, scores21 = reference.bm25_topk(*args[:4], 21)
    dropped = (ids21[1:].copy(), scores21[1:].copy())
    assert any("missing" in p for p in inputs.compare_topk(args, dropped, expected))
    # A score off by 1% is wrong.
    off = scores.copy()
    off[0] *= np.float32(1.01)
    assert any("score of doc" in p for p in inputs.compare_topk(args, (ids, off), expected))
    # Padding to k when fewer match is a contract violation.
    few = (*_query(4, num_docs=500, dfs=(3,)), 10)
    e_ids, e_sc = reference.bm25_topk(*few)
    padded = (np.zeros(10, np.uint32), np.zeros(10, np.float32))
    padded[0][: e_ids.size], padded[1][: e_ids.size] = e_ids, e_sc
    assert inputs.compare_topk(few, padded, (e_ids, e_sc))[0].startswith("contract")


def test_any_choice_among_exact_ties_passes_and_nothing_else_does():
    case = next(c for c in inputs.correctness_cases() if "all tied" in c.label)
    args = case.make(SplitMix64(5))
    ids, scores = reference.bm25_topk(*args)
    first_docs = np.sort(args[1])[: args[4]]
    np.testing.assert_array_equal(ids, first_docs.astype(np.uint32))  # the reference: lowest ids
    # Lance may keep any k of the tied documents, in any order.
    later = (np.sort(args[1])[1 : args[4] + 1].astype(np.uint32), scores)
    assert inputs.compare_topk(args, later, (ids, scores)) == []
    reordered = (ids[::-1].copy(), scores)
    assert inputs.compare_topk(args, reordered, (ids, scores)) == []
    # A document outside the tie (it matches no term here) never may.
    outside = np.setdiff1d(np.arange(args[3].shape[0]), args[1])[0]
    stranger = (np.concatenate([ids[:-1], [outside]]).astype(np.uint32), scores)
    assert inputs.compare_topk(args, stranger, (ids, scores))


def test_workload_is_what_the_issue_asks_for():
    assert inputs.NUM_DOCS == [100_000, 1_000_000]
    assert inputs.NUM_TERMS == [1, 3, 8]
    assert inputs.TOP_K == [10, 100]
    w = inputs.workload(100_000, 3, 10)
    assert len(w.queries) == inputs.QUERIES[100_000]
    for term_offsets, doc_ids, freqs in w.queries:
        assert term_offsets.shape == (4,) and term_offsets[0] == 0
        assert doc_ids.dtype == freqs.dtype == np.uint32
        for t in range(3):
            ids = doc_ids[term_offsets[t] : term_offsets[t + 1]]
            assert np.all(np.diff(ids.astype(np.int64)) > 0)
        assert np.all(freqs >= 1) and np.all(freqs <= w.doc_lengths[doc_ids])


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in ["fewer matches", "k=0", "no query terms", "all tied", "extreme", "strided"]:
        assert any(needle in label for label in held), needle


def _integer_avgdl_kernels():
    """Lance's Nov-2025 MemBM25Scorer: avgdl by integer division (total // N), else exact."""

    class IntegerAvgdl:
        @staticmethod
        def bm25_topk(term_offsets, doc_ids, freqs, doc_lengths, k):
            n = doc_lengths.shape[0]
            avgdl = np.float32(int(doc_lengths.sum(dtype=np.uint64)) // max(n, 1))
            k1, b, one = np.float32(1.2), np.float32(0.75), np.float32(1.0)
            total = np.zeros(n)
            matched = np.zeros(n, dtype=bool)
            for t in range(term_offsets.shape[0] - 1):
                ids = doc_ids[term_offsets[t] : term_offsets[t + 1]].astype(np.int64)
                if ids.size:
                    f = freqs[term_offsets[t] : term_offsets[t + 1]].astype(np.float32)
                    dl = doc_lengths[ids].astype(np.float32)
                    w = (k1 + one) * f / (f + k1 * (one - b + b * dl / avgdl))
                    total[ids] += reference.idf(ids.size, n) * w
                    matched[ids] = True
            candidates = np.nonzero(matched)[0]
            scores = total.astype(np.float32)
            top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
            return top.astype(np.uint32), scores[top]

    return IntegerAvgdl


def test_integer_avgdl_is_rejected():
    shortcut = _integer_avgdl_kernels()
    kinds = set()
    for case in inputs.correctness_cases():
        if "N=1000000" in case.label:
            continue  # the smaller cases suffice and keep the test quick
        rng = SplitMix64(11).spawn(case.label)
        kinds |= {f.kind for f in oracle.check_case(case, shortcut, reference, rng, False)}
    assert kinds == {"wrong"}


def test_search_and_outputs_agree():
    w = inputs.workload(100_000, 1, 10)
    outs = inputs.outputs(kernels, w)
    assert len(outs) == inputs.QUERIES[100_000]
    last = inputs.search(kernels, w)
    np.testing.assert_array_equal(last[0], outs[-1][0])
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0


def test_a_repeated_word_counts_once_per_occurrence():
    """Lance (pylance 14.0.2) scores "w w" as twice "w": the posting list enters once per word."""
    term_offsets, doc_ids, freqs, doc_lengths = _query(6, dfs=(300, 40))
    once = reference.doc_scores(term_offsets[:2], doc_ids[:300], freqs[:300], doc_lengths)
    twice_ids = np.concatenate([doc_ids[:300], doc_ids[:300]])
    twice_freqs = np.concatenate([freqs[:300], freqs[:300]])
    offsets = np.array([0, 300, 600], dtype=np.int64)
    twice = reference.doc_scores(offsets, twice_ids, twice_freqs, doc_lengths)
    matched = once > -np.inf
    np.testing.assert_array_equal(twice[matched], 2 * once[matched])
    labels = [c.label for c in inputs.correctness_cases()]
    assert any("repeated word (w w)" in label for label in labels)
