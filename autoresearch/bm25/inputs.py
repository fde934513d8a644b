"""bm25 inputs: the seeded speed workload, the top-k compare rule and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.

A query is what Lance's WAND sees for one partition: one posting list per query word, a word
repeated in the query repeating its list (Lance scores "w w" as twice "w"), concatenated
(`term_offsets` int64[T + 1], `doc_ids` uint32 sorted within each list, `freqs` uint32), and every
document's token count (`doc_lengths` uint32[N]).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from autoresearch import sorted_sets
from autoresearch.common import TOPK_DIST_TOL, SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case, count_mismatches
from autoresearch.sorted_sets import sample_unique

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

NUM_DOCS = [100_000, 1_000_000]  # documents in the partition
NUM_TERMS = [1, 3, 8]  # posting lists per query (distinct query tokens)
TOP_K = [10, 100]  # the query's limit
QUERIES = {100_000: 64, 1_000_000: 16}  # queries per timed call: 6.4M document slots either way
TOP_DF_FRACTION = 0.1  # Zipf: the rank-r term is in TOP_DF_FRACTION * N / r documents
MAX_RANK = 10_000  # query terms' vocabulary ranks are log-uniform in [1, MAX_RANK]
DOC_LENGTH_MEDIAN = 100.0  # log-normal document lengths (tokens) ...
DOC_LENGTH_SIGMA = 0.8  # ... with this sigma of the log
TF_PARETO_ALPHA = 2.5  # in-document frequency floor(u ** -1/alpha): 1 in ~82% of postings
GENERATORS = [sorted_sets.__file__]  # the shared helpers the cached workload is built with
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "Bm25": SpeedWorkload(
        "workload",
        {
            "num_docs": NUM_DOCS,  # documents in the partition (N)
            "num_terms": NUM_TERMS,  # posting lists per query (T)
            "k": TOP_K,  # the query's limit (k)
        },
    ),
}
SPEED_SEED = 0xB3425  # the speed workload's seed (correctness uses fresh ones too)
CASE_SHAPE_SEED = 0xB3426  # fixes each correctness case's posting-list lengths across seeds


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------


def query_dfs(rng: SplitMix64, num_docs: int, num_terms: int) -> list[int]:
    """Posting-list lengths of one query: Zipf document frequencies at log-uniform ranks."""
    ranks = np.exp(rng.uniform(num_terms, 0.0, np.log(MAX_RANK)))
    return [max(1, min(num_docs, round(TOP_DF_FRACTION * num_docs / r))) for r in ranks]


def doc_lengths_lognormal(rng: SplitMix64, num_docs: int) -> np.ndarray:
    z = rng.normal(num_docs)
    dl = np.maximum(1.0, np.round(DOC_LENGTH_MEDIAN * np.exp(DOC_LENGTH_SIGMA * z)))
    return dl.astype(np.uint32)


def make_query(
    rng: SplitMix64, dfs: list[int], doc_lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(term_offsets, doc_ids, freqs) for posting lists of the given lengths.

    Frequencies are heavy-tailed (Pareto) and never exceed the document's length.
    """
    num_docs = doc_lengths.shape[0]
    ids = [sample_unique(rng, df, num_docs) for df in dfs]
    doc_ids = np.concatenate([np.empty(0, dtype=np.int64), *ids]).astype(np.uint32)
    u = 1.0 - rng.uniform(doc_ids.size)  # (0, 1]
    tf = np.floor(u ** (-1.0 / TF_PARETO_ALPHA))
    freqs = np.minimum(tf, doc_lengths[doc_ids].astype(np.float64)).astype(np.uint32)
    term_offsets = np.concatenate([[0], np.cumsum(dfs, dtype=np.int64)]).astype(np.int64)
    return term_offsets, doc_ids, freqs


@dataclass(frozen=True)
class Workload:
    doc_lengths: np.ndarray  # uint32[N]
    queries: list  # [(term_offsets, doc_ids, freqs)] per query, views into one cached buffer
    k: int


@functools.lru_cache(maxsize=4)
def _arrays(num_docs: int, num_terms: int) -> dict:
    key = f"{num_docs} {num_terms}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        doc_lengths = doc_lengths_lognormal(rng, num_docs)
        offsets, ids, freqs = [], [], []
        for _ in range(QUERIES[num_docs]):
            o, d, f = make_query(rng, query_dfs(rng, num_docs, num_terms), doc_lengths)
            offsets.append(o)
            ids.append(d)
            freqs.append(f)
        sizes = np.array([d.size for d in ids], dtype=np.int64)
        return {
            "doc_lengths": doc_lengths,
            "term_offsets": np.stack(offsets),  # [queries, T + 1], each from 0
            "query_starts": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "doc_ids": np.concatenate(ids),
            "freqs": np.concatenate(freqs),
        }

    return cached_arrays(__file__, key, make, GENERATORS)


@functools.lru_cache(maxsize=4)
def workload(num_docs: int, num_terms: int, k: int) -> Workload:
    """The speed workload of one combination (cached per process; never mutate it)."""
    a = _arrays(num_docs, num_terms)
    starts = a["query_starts"]
    queries = [
        (a["term_offsets"][q], a["doc_ids"][s:e], a["freqs"][s:e])
        for q, (s, e) in enumerate(itertools.pairwise(starts))
    ]
    return Workload(a["doc_lengths"], queries, k)


def search(impl, w: Workload):
    """What one timed call does: every query's top k."""
    out = None
    for term_offsets, doc_ids, freqs in w.queries:
        out = impl.bm25_topk(term_offsets, doc_ids, freqs, w.doc_lengths, w.k)
    return out


def outputs(impl, w: Workload) -> list:
    """Every query's top k, judged: the reference's answer where the kernel's passes the top-k
    rule (compare_topk), the kernel's own answer where it does not, so track_mismatches counts
    the elements of failing answers and never a legitimate near-tie swap."""
    from autoresearch.bm25 import reference

    result = []
    for term_offsets, doc_ids, freqs in w.queries:
        args = (term_offsets, doc_ids, freqs, w.doc_lengths, w.k)
        expected = reference.bm25_topk(*args)
        if impl is reference:
            result.append(expected)
            continue
        actual = impl.bm25_topk(*args)
        same = count_mismatches(actual, expected) == 0  # the usual case, without the full rule
        result.append(expected if same or not compare_topk(args, actual, expected) else actual)
    return result


def perturbable(w: Workload) -> list:
    """Arrays the oracle may change one element of (lengths and freqs; never the sorted ids or
    the offsets, where a copied neighbour would make an invalid query)."""
    return [w.doc_lengths] + [freqs for _, _, freqs in w.queries]


# ---------------------------------------------------------------------------
# The top-k rule
# ---------------------------------------------------------------------------


def _tol(score):
    return TOPK_DIST_TOL * np.maximum(1.0, np.abs(np.asarray(score, dtype=np.float64)))


def compare_topk(args: tuple, actual, expected, scores_of=None) -> list[str]:
    """Problems with a top-k answer (empty list: correct). s(d) is the reference's float32 score.

    - contract: a tuple (uint32[m], float32[m]) with m = min(k, documents matching any term);
    - ids are distinct documents that match at least one term;
    - each reported score is within TOPK_DIST_TOL (scaled by max(1, |s|)) of s(id);
    - membership: every id has s(id) >= S_k - tol, and every document with s > S_k + tol is
      returned (S_k = the reference's k-th score): only ties and near-ties may trade the last
      slots, and which of several documents tied at the k-th score are kept is free;
    - order: reported scores never increase, and s itself never increases by more than tol from
      one entry to the next; documents with equal scores may come in any order.
    Ties are free because Lance's are: pylance 14.0.2 keeps the lower row ids of a tie band at
    the k-th place in some queries and the higher ones or neither in others, and lists runs of
    equal scores in no fixed id order (docs/targets/bm25.md, "Ties").
    `scores_of` is reference.doc_scores(*args[:4]) when the caller has it already.
    """
    from autoresearch.bm25 import reference

    if not isinstance(actual, tuple) or len(actual) != 2:
        return [f"contract: expected a tuple (doc_ids, scores), got {type(actual).__name__}"]
    ids, scores = actual
    for name, a, e in (("doc_ids", ids, expected[0]), ("scores", scores, expected[1])):
        if type(a) is not np.ndarray:
            return [f"contract: {name} is {type(a).__name__}, expected numpy.ndarray"]
        if a.dtype != e.dtype or a.shape != e.shape:
            return [f"contract: {name} {a.dtype}{a.shape}, expected {e.dtype}{e.shape}"]
    m = ids.shape[0]
    if m == 0:
        return []
    s = reference.doc_scores(*args[:4]) if scores_of is None else scores_of
    ids64 = ids.astype(np.int64)
    if ids64.max() >= s.shape[0] or np.any(s[np.minimum(ids64, s.shape[0] - 1)] == -np.inf):
        return ["wrong: returned a document that matches no query term"]
    if np.unique(ids64).size != m:
        return ["wrong: a document is returned twice"]
    true = s[ids64].astype(np.float64)
    problems = []
    off = ~(np.abs(scores.astype(np.float64) - true) <= _tol(true))  # NaN counts as off
    if off.any():
        i = int(np.argmax(off))
        problems.append(f"wrong: score of doc {ids64[i]} is {scores[i]!r}, expected {true[i]!r}")
    kth = float(expected[1][-1])
    band = float(_tol(kth))
    low = true < kth - band
    if low.any():
        i = int(np.argmax(low))
        problems.append(f"wrong: doc {ids64[i]} (score {true[i]!r}) is not in the top k")
    must = np.nonzero(s.astype(np.float64) > kth + band)[0]
    missing = np.setdiff1d(must, ids64)
    if missing.size:
        problems.append(f"wrong: doc {missing[0]} (score {s[missing[0]]!r}) is missing")
    rep = scores.astype(np.float64)
    for i in range(m - 1):
        if rep[i] < rep[i + 1] or true[i] < true[i + 1] - _tol(true[i + 1]):
            problems.append(f"wrong: not sorted by score at position {i}")
            break
    return problems


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def _case(
    label: str,
    num_docs: int,
    dfs: list[int] | None,
    k: int,
    held_out: bool = False,
    num_terms: int = 0,
    lengths: str = "lognormal",
    freqs_rule: str = "pareto",
    view: str | None = None,
    words: tuple[int, ...] | None = None,
) -> Case:
    """One query. Posting-list lengths come from a stream fixed by the label, so every seed gives
    arrays of the same shapes; contents come from the seed. `words` lists the query's words by
    index into `dfs`, repeats allowed (default: each once, in order)."""
    if dfs is None:
        dfs = query_dfs(SplitMix64(CASE_SHAPE_SEED).spawn(label), num_docs, num_terms)

    def make(rng):
        if lengths == "lognormal":
            dl = doc_lengths_lognormal(rng, num_docs)
        elif lengths == "constant":  # every document the same length: exact score ties
            dl = np.full(num_docs, 100, dtype=np.uint32)
        elif lengths == "two":  # two lengths only: wide tie bands
            dl = np.where(rng.uniform(num_docs) < 0.5, 50, 120).astype(np.uint32)
        elif lengths == "extreme":  # 1 token up to the u32 maximum
            dl = np.where(rng.uniform(num_docs) < 0.5, 1, 0xFFFFFFFF - rng.integers(num_docs, 99))
            dl = dl.astype(np.uint32)
        else:
            raise ValueError(lengths)
        term_offsets, doc_ids, freqs = make_query(rng, dfs, dl)
        if freqs_rule == "one":
            freqs = np.ones_like(freqs)
        elif freqs_rule == "huge":  # up to the whole document
            u = rng.uniform(freqs.size)
            freqs = np.maximum(1, (u * dl[doc_ids].astype(np.float64))).astype(np.uint32)
        if words is not None:  # a repeated word repeats its posting list
            lists = [(term_offsets[t], term_offsets[t + 1]) for t in words]
            term_offsets = np.concatenate([[0], np.cumsum([b - a for a, b in lists])]).astype(
                np.int64
            )
            doc_ids = np.concatenate([doc_ids[a:b] for a, b in lists])
            freqs = np.concatenate([freqs[a:b] for a, b in lists])
        if view == "offset":  # doc ids starting 4 bytes into their buffer
            buf = np.empty(doc_ids.size + 1, dtype=np.uint32)
            buf[1:] = doc_ids
            doc_ids = buf[1:]
        elif view == "strided":  # every other element of wider arrays: non-contiguous
            freqs = np.repeat(freqs, 2)[::2]
            dl = np.repeat(dl, 2)[::2]
        return (term_offsets, doc_ids, freqs, dl, k)

    return Case(
        f"bm25_topk {label}",
        "bm25_topk",
        make,
        compare_topk,
        held_out=held_out,
        partial_change=False,  # a neighbour copied into doc ids or offsets breaks the query
    )


def correctness_cases() -> list[Case]:
    cases = []
    for num_docs in NUM_DOCS:
        for num_terms in NUM_TERMS:
            for k in TOP_K:
                label = f"N={num_docs} T={num_terms} k={k}"
                cases.append(_case(label, num_docs, None, k, num_terms=num_terms))
    cases += [
        _case("fewer matches than k", 1000, [3, 4], 10, held_out=True),
        _case("k=0", 1000, [50, 20], 0, held_out=True),
        _case("no query terms", 1000, [], 10, held_out=True),
        _case("a term with no postings", 5000, [40, 0, 300], 25, held_out=True),
        _case("one document", 1, [1], 5, held_out=True),
        _case("k=1", 20_000, None, 1, held_out=True, num_terms=4),
        _case("T=16 k=37", 50_000, None, 37, held_out=True, num_terms=16),
        _case("term in every document", 3000, [3000, 200], 15, held_out=True),
        _case("all tied (one term)", 4000, [900], 10, True, lengths="constant", freqs_rule="one"),
        _case("wide tie bands", 6000, [800, 1500, 300], 50, True, lengths="two", freqs_rule="one"),
        _case("extreme lengths", 2000, [300, 700], 20, True, lengths="extreme", freqs_rule="huge"),
        _case("unaligned doc ids", 10_000, None, 30, True, num_terms=5, view="offset"),
        _case("strided freqs and lengths", 10_000, None, 30, True, num_terms=5, view="strided"),
        _case("repeated word (w w)", 3000, [400], 20, True, words=(0, 0)),
        _case(
            "repeated words (a b a c b)", 10_000, [500, 60, 2000], 30, True, words=(0, 1, 0, 2, 1)
        ),
    ]
    return cases
