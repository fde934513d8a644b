"""bm25: Lance's full-text search scores and top-k against doc_scores / bm25_topk.

A corpus whose posting lists are the target's own (inputs.doc_lengths_lognormal, query_dfs,
make_query): term t is the word `t<t>`, in exactly the documents and with exactly the frequencies
of its posting list, and every document has exactly its length in words (datasets.corpus). An
INVERTED index with a plain whitespace tokenizer then holds those posting lists. Checked:
- every matching document's score (a search with limit = N), 1 to 8 terms;
- repeated query terms ("t0 t0", "t1 t2 t1"): the posting list enters once per occurrence;
- top-k by inputs.compare_topk (the oracle's rule), where many scores tie (two lengths, f = 1);
- an index of two segments (rows appended, then optimize_indices): scores over all documents.
The kernel's answer is compared with Lance's: both must pass compare_topk and report the same
scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch.bm25 import inputs, kernels, reference
from autoresearch.common import TOPK_DIST_TOL, SplitMix64
from autoresearch.lance_checks import KERNEL, LANCE, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import append, corpus, full_text, index_text, term, write

TARGET = "bm25"
SEED = 0xB3F1DE
RANKS = (1, 2, 4, 9, 25, 70, 200, 600)  # the corpus's words' Zipf ranks
NUM_TERMS = len(RANKS)


def query_args(lists, query: list[int], doc_lengths: np.ndarray) -> tuple:
    """The kernel's arguments for a query: one posting list per query word, repeats included."""
    offsets = np.zeros(len(query) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([lists[t][0].size for t in query])
    ids = np.concatenate([np.empty(0, np.uint32), *(lists[t][0] for t in query)])
    freqs = np.concatenate([np.empty(0, np.uint32), *(lists[t][1] for t in query)])
    return offsets, ids.astype(np.uint32), freqs.astype(np.uint32), doc_lengths


def split_lists(term_offsets, doc_ids, freqs) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (
            doc_ids[term_offsets[t] : term_offsets[t + 1]],
            freqs[term_offsets[t] : term_offsets[t + 1]],
        )
        for t in range(term_offsets.size - 1)
    ]


def _score_problems(docs: np.ndarray, scores: np.ndarray, expected: np.ndarray) -> list[str]:
    """Lance's (docs, scores) against a float32[N] score per document (-inf: no match)."""
    problems = []
    matching = np.flatnonzero(expected > -np.inf)
    if not np.array_equal(np.sort(docs), matching):
        extra = np.setdiff1d(docs, matching)[:3].tolist()
        missing = np.setdiff1d(matching, docs)[:3].tolist()
        problems.append(
            f"Lance matched {docs.size} documents, expected {matching.size}: "
            f"extra {extra}, missing {missing}"
        )
        return problems
    want = expected[docs].astype(np.float64)
    off = np.abs(scores - want) > TOPK_DIST_TOL * np.maximum(1.0, np.abs(want))
    if off.any():
        i = int(np.argmax(off))
        problems.append(
            f"doc {docs[i]}: Lance {scores[i]!r}, expected {want[i]!r} "
            f"({int(off.sum())} documents off)"
        )
    return problems


def _all_scores(ds, words: str, num_docs: int) -> tuple[np.ndarray, np.ndarray]:
    answer = full_text(ds, words, num_docs)
    return answer["pos"].astype(np.int64), answer["score"]


def _kernel_scores(args: tuple, num_docs: int) -> np.ndarray:
    ids, scores = kernels.bm25_topk(*args, num_docs)
    out = np.full(num_docs, -np.inf, dtype=np.float32)
    out[ids.astype(np.int64)] = scores
    return out


def _scores_checks(ds, lists, doc_lengths, query, label) -> Iterator[Check]:
    args = query_args(lists, query, doc_lengths)
    n = doc_lengths.shape[0]
    words = " ".join(term(t) for t in query)
    docs, scores = _all_scores(ds, words, n)
    name = f"FTS scores, {label} {words!r}"
    measure = f"{docs.size} documents"
    yield verdict(
        TARGET, name, REFERENCE, _score_problems(docs, scores, reference.doc_scores(*args)), measure
    )
    yield verdict(
        TARGET, name, KERNEL, _score_problems(docs, scores, _kernel_scores(args, n)), measure
    )


def _tie_choice(args, lance_ids, k) -> str:
    """Which documents of the tie band at the k-th score Lance kept: lowest ids, highest, other."""
    s = reference.doc_scores(*args)
    kept = np.sort(lance_ids.astype(np.int64))
    band = np.flatnonzero(s == s[kept].min())
    chosen = np.intersect1d(kept, band)
    if chosen.size == band.size:
        return "whole band"
    if np.array_equal(chosen, band[: chosen.size]):
        return "lowest ids"
    if np.array_equal(chosen, band[-chosen.size :]):
        return "highest ids"
    return "other"


def _topk_checks(ds, lists, doc_lengths, query, k, label, tally=None) -> Iterator[Check]:
    args = (*query_args(lists, query, doc_lengths), k)
    words = " ".join(term(t) for t in query)
    answer = full_text(ds, words, k)
    lance = (answer["pos"].astype(np.uint32), answer["score"])
    expected = reference.bm25_topk(*args)
    name = f"FTS top {k}, {label} {words!r}"
    measure = ""
    if tally is not None and lance[0].size:
        choice = _tie_choice(args[:4], lance[0], k)
        tally[choice] = tally.get(choice, 0) + 1
        measure = f"k-th place tie: {choice}"
    yield verdict(TARGET, name, REFERENCE, inputs.compare_topk(args, lance, expected), measure)
    mine = kernels.bm25_topk(*args)
    problems = inputs.compare_topk(args, mine, expected)
    if not problems and mine[1].size == lance[1].size:
        off = np.abs(mine[1].astype(np.float64) - lance[1]) > TOPK_DIST_TOL * np.maximum(
            1.0, np.abs(mine[1])
        )
        if off.any():
            i = int(np.argmax(off))
            problems.append(f"rank {i}: kernel score {mine[1][i]!r}, Lance {lance[1][i]!r}")
    elif not problems:
        problems.append(f"kernel returned {mine[1].size} documents, Lance {lance[1].size}")
    yield verdict(TARGET, name, KERNEL, problems, measure)


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    n = scale.pick(3000, 20_000)

    # A corpus with the workload's shapes: log-normal lengths, Zipf frequencies, Pareto tf.
    doc_lengths = inputs.doc_lengths_lognormal(rng.spawn("lengths"), n)
    # The workload's Zipf rule (the rank-r word is in TOP_DF_FRACTION * N / r documents) at fixed
    # ranks from common to rare, so every query has documents to score at any N.
    dfs = [max(2, round(inputs.TOP_DF_FRACTION * n / r)) for r in RANKS]
    lists = split_lists(*inputs.make_query(rng.spawn("lists"), dfs, doc_lengths))
    ds = index_text(write(workdir / "corpus.lance", {"text": corpus(lists, doc_lengths)}))
    for label, query in (
        ("1 term", [0]),
        ("3 terms", [0, 1, 2]),
        ("8 terms", list(range(NUM_TERMS))),
        ("repeated term", [0, 0]),
        ("repeated terms", [1, 2, 1]),
    ):
        yield from _scores_checks(ds, lists, doc_lengths, query, label)
    for k in (10, 100):
        yield from _topk_checks(ds, lists, doc_lengths, [0, 1, 2], k, "3 terms")
        yield from _topk_checks(ds, lists, doc_lengths, [3, 3, 4], k, "repeated term")

    # Ties: two document lengths and f = 1, so every matching document of a one-term query has
    # one of two scores (the correctness case "wide tie bands").
    tied_lengths = np.where(rng.spawn("tie lengths").uniform(n) < 0.5, 50, 120).astype(np.uint32)
    tie_dfs = [max(20, n // d) for d in (5, 12, 30, 60)]
    tie_lists = split_lists(*inputs.make_query(rng.spawn("tie lists"), tie_dfs, tied_lengths))
    tie_lists = [(ids, np.ones_like(f)) for ids, f in tie_lists]
    ties = index_text(write(workdir / "ties.lance", {"text": corpus(tie_lists, tied_lengths)}))
    tally: dict[str, int] = {}
    for t in range(len(tie_lists)):
        for k in (5, 10, 37):
            yield from _topk_checks(ties, tie_lists, tied_lengths, [t], k, "ties, 1 term", tally)
    # Information, not a check: which tied documents Lance kept (the oracle accepts any).
    summary = ", ".join(f"{v} {c}" for c, v in sorted(tally.items()))
    yield verdict(TARGET, "FTS top k at a tie: the tied documents Lance kept", LANCE, [], summary)

    # Two index segments: the first rows indexed, the rest appended and indexed by
    # optimize_indices as a second segment; scores are over all documents.
    first = n * 3 // 5
    texts = corpus(lists, doc_lengths)
    segmented = index_text(write(workdir / "segments.lance", {"text": texts[:first]}))
    segmented = append(segmented, {"text": texts[first:]}, first)
    segmented.optimize.optimize_indices(num_indices_to_merge=0)
    import lance

    segmented = lance.dataset(segmented.uri)
    segments = segmented.stats.index_stats("text_idx")["num_segments"]
    yield verdict(
        TARGET,
        "index of appended rows: two segments",
        LANCE,
        [] if segments == 2 else [f"{segments} segments"],
    )
    for label, query in (("2 segments", [0, 1, 2]), ("2 segments, repeated", [5, 6, 5])):
        yield from _scores_checks(segmented, lists, doc_lengths, query, label)
