"""bm25 kernels: the only file the optimizing agent edits (see program.md and HARNESS.md).

MaxScore (Turtle & Flood; what Lance 14.0.2's `Wand::maxscore_search` runs for a disjunction):
1. each term's bound idf * weight(its largest f, the shortest document), from its freqs alone;
   contributions (Lance's float32 formula, scorer.rs) only where a document is scored or probed;
2. terms ordered by that bound; the shortest prefix whose summed maxima cannot beat the k-th
   score is non-essential: only the essential terms' documents are enumerated (a merge of their
   heads), and a candidate probes the non-essential lists (galloping forward) only while its
   score plus their remaining maxima can still beat the k-th score;
   The essential lists are merged window by window (4096 doc ids): scattered into a score
   buffer and a bitset, read back in id order, no per-document minimum over the list heads;
3. a min-heap of the top k admits a document only with a strictly greater score (ties are free).
With one term there is nothing to merge: the contributions are the scores.
"""

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

K1 = np.float32(1.2)
B = np.float32(0.75)
ONE = np.float32(1.0)
HALF = np.float32(0.5)
TERMINATED = np.int64(1) << 40  # past any u32 doc id: an exhausted iterator sorts last
BOUND_SLACK = 1.0 + 1e-6  # a bound times this covers float32 rounding of the contribution
WINDOW = 4096  # doc ids scattered per window (a multiple of 64)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_SIX = np.uint64(6)
_LOW6 = np.uint64(63)
WINDOW_MIN_TERMS = 4  # fewer lists: a minimum over the heads per document costs less
# ... unless k is large: the k-th score then stays low, MaxScore leaves (almost) every list
# essential, and each window holds many documents, so three lists already pay for the window
# (at k = 10 the common list turns non-essential early and a window holds few essential postings).
WINDOW_MIN_TERMS_LARGE_K = 3
LARGE_K = 64
BOUND_TABLE = 32  # one term: frequencies below this can be skipped by their bound


@njit(**JIT)
def _idf(token_docs, num_docs):
    n = np.float32(token_docs)
    N = np.float32(num_docs)
    return np.float32(math.log((N - n + HALF) / (n + HALF) + ONE))


@njit(**JIT)
def _doc_weight(freq, doc_tokens, avg_doc_length):
    """Lance's weight with one division instead of two: K1 * (1 - B + B * dl / avgdl) is taken
    as K1 * (1 - B) + (K1 * B / avgdl) * dl, whose division is loop-invariant (LLVM hoists it
    once the function is inlined), so a contribution pays one divss (latency 11) instead of two.
    It moves a contribution by a few float32 ulps (~1e-7 relative; the contract allows 1e-4).
    The bounds stay exact: at dl = 0 the norm is K1 * (1 - B) exactly, and for dl >= 0 the
    rounded norm is never smaller, so no contribution exceeds its term's bound."""
    f = np.float32(freq)
    dl = np.float32(doc_tokens)
    doc_norm = K1 * (ONE - B) + (K1 * B / avg_doc_length) * dl
    return (K1 + ONE) * f / (f + doc_norm)


@njit(**JIT)
def _sift_down(scores, docs, size, i):
    """Sink the entry at i. It is held in registers while each smaller child moves up into the
    hole (one move per level instead of a swap), and of two children the smaller is picked by
    adding a compare's result to the index (a select: which child is smaller is a coin toss, a
    branch on it mispredicts about every other level). At k = 100 every admission and every
    pop of the final sort sinks about seven levels."""
    n = np.uint64(size)
    at = np.uint64(i)  # unsigned: no wraparound select on the accesses
    score = scores[at]
    doc = docs[at]
    child = _TWO * at + _ONE
    while child + _ONE < n:  # both children exist
        child += np.uint64(scores[child + _ONE] < scores[child])
        if not scores[child] < score:
            child = n  # in place: no lone-child step below
            break
        scores[at] = scores[child]
        docs[at] = docs[child]
        at = child
        child = _TWO * at + _ONE
    if child < n and scores[child] < score:  # a lone last child
        scores[at] = scores[child]
        docs[at] = docs[child]
        at = child
    scores[at] = score
    docs[at] = doc


@njit(**JIT)
def _sift_up(scores, docs, i):
    """Lift the entry at i: held in registers, each larger parent moves down into the hole."""
    at = np.uint64(i)
    score = scores[at]
    doc = docs[at]
    while at > 0:
        parent = (at - _ONE) >> _ONE
        if not score < scores[parent]:
            break
        scores[at] = scores[parent]
        docs[at] = docs[parent]
        at = parent
    scores[at] = score
    docs[at] = doc


@njit(**JIT)
def _offer(heap_scores, heap_docs, size, k, score, doc):
    """Offer (score, doc) to the top-k min-heap; returns the new size."""
    if size < k:
        heap_scores[size] = score
        heap_docs[size] = doc
        _sift_up(heap_scores, heap_docs, size)
        return size + 1
    if score > heap_scores[0]:
        heap_scores[0] = score
        heap_docs[0] = doc
        _sift_down(heap_scores, heap_docs, size, 0)
    return size


@njit(**JIT)
def _seek(doc_ids, lo, hi, target):
    """First position in [lo, hi) whose doc id is >= target: galloping, then binary search."""
    step = 1
    probe = lo
    while probe < hi and np.int64(doc_ids[np.uint64(probe)]) < target:
        lo = probe + 1
        probe = lo + step
        step <<= 1
    if probe > hi:
        probe = hi
    while lo < probe:
        mid = (lo + probe) >> 1
        if np.int64(doc_ids[np.uint64(mid)]) < target:
            lo = mid + 1
        else:
            probe = mid
    return lo


# De Bruijn sequence B(2, 6): the top six bits of DEBRUIJN << i are distinct for i in 0..63, so
# one multiply by a one-bit word and a 64-entry table give its bit's index without branches.
DEBRUIJN = np.uint64(0x022FDD63CC95386D)
_DEBRUIJN_SHIFT = np.uint64(58)
DEBRUIJN_INDEX = np.zeros(64, dtype=np.uint8)
for _i in range(64):
    DEBRUIJN_INDEX[((int(DEBRUIJN) << _i) & 0xFFFFFFFFFFFFFFFF) >> 58] = _i


@njit(**JIT)
def _bit_index(low):
    """log2 of a uint64 holding one set bit (numba has no count-trailing-zeros intrinsic): a
    De Bruijn multiply and a table lookup, no data-dependent branches (the window's set bits
    fall at random slots, so the old six-step binary search's branches were unpredictable)."""
    return np.int64(DEBRUIJN_INDEX[(low * DEBRUIJN) >> _DEBRUIJN_SHIFT])


_HIGH32 = np.uint64(32)


@njit(**JIT)
def _total_tokens(doc_lengths):
    """Sum of the lengths mod 2^64, as a plain uint64 sum of each length gives it. Summing the
    uint32 lengths widens each one (vpmovzxdq: one shuffle-port uop per 16 bytes, 16 B/cycle, which
    binds at 100k documents, where the 400 KB sit in L2). Read as uint64 words w = lo + 2^32 hi
    instead: the sum of the words is sum(lo) + 2^32 sum(hi) mod 2^64, and sum(hi) comes from
    w >> 32, so sum(lo) + sum(hi) = sum(w) - (2^32 - 1) sum(hi) mod 2^64, exact for any lengths.
    Per 32 bytes: an add, a shift and an add on any vector ALU port (32 B/cycle)."""
    n = doc_lengths.shape[0]
    total = np.uint64(0)
    if doc_lengths.strides[0] == 4:  # contiguous: whole words over the even prefix
        words = doc_lengths[: n - (n & 1)].view(np.uint64)
        sum_words = np.uint64(0)
        sum_high = np.uint64(0)
        for i in range(words.shape[0]):
            w = words[i]
            sum_words += w
            sum_high += w >> _HIGH32
        total = sum_words - (sum_high << _HIGH32) + sum_high
        if n & 1:
            total += np.uint64(doc_lengths[n - 1])
    else:  # a strided view: one length at a time
        for d in range(n):
            total += np.uint64(doc_lengths[d])
    return total


@njit(**JIT)
def _one_term(
    term_offsets, doc_ids, freqs, doc_lengths, k, heap_scores, heap_docs, num_docs, shortest, avgdl
):
    """One term: its contributions are the scores. A posting contributes at most
    w * weight(f, shortest) (each float32 step of the weight rounds monotonically, so exactly):
    once the heap is full, postings with f below `fmin` (every smaller f's bound is at most the
    heap's minimum) are skipped without gathering their document's length."""
    w = _idf(term_offsets[1] - term_offsets[0], num_docs)
    small = np.empty(BOUND_TABLE, dtype=np.float32)
    for f in range(BOUND_TABLE):
        small[f] = w * _doc_weight(np.uint32(f), shortest, avgdl)
    size = 0
    fmin = np.uint32(0)  # no posting skipped until the heap is full
    for j in range(term_offsets[0], term_offsets[1]):
        at = np.uint64(j)  # unsigned: numba wraps a signed index around when negative
        f = freqs[at]
        if f < fmin:
            continue
        c = w * _doc_weight(f, doc_lengths[doc_ids[at]], avgdl)
        if size < k or c > heap_scores[0]:
            size = _offer(heap_scores, heap_docs, size, k, c, np.int64(doc_ids[at]))
            if size == k:  # the minimum rose: so may fmin (it never falls)
                floor = heap_scores[0]
                while fmin < BOUND_TABLE and small[np.uint64(fmin)] <= floor:
                    fmin += np.uint32(1)
    return size


@njit(**JIT)
def _many_terms(
    term_offsets, doc_ids, freqs, doc_lengths, k, heap_scores, heap_docs, num_docs, shortest, avgdl
):
    """MaxScore over two or more terms (the module docstring); returns the heap's size."""
    num_terms = term_offsets.shape[0] - 1
    size = 0
    # 2. MaxScore. A term's bound: idf * weight(its largest f, the shortest document),
    # from its freqs alone (weight grows with f and falls with dl); contributions are
    # computed only where a document is scored or probed.
    idf = np.zeros(num_terms, dtype=np.float32)
    max_contrib = np.zeros(num_terms, dtype=np.float64)
    for t in range(num_terms):
        start, stop = term_offsets[t], term_offsets[t + 1]
        if stop <= start:
            continue
        idf[t] = _idf(stop - start, num_docs)
        top = np.uint32(0)
        for j in range(start, stop):
            top = max(top, freqs[j])
        # f32 rounding may put a contribution an ulp above the exact-arithmetic bound
        most = idf[t] * _doc_weight(top, shortest, avgdl)
        max_contrib[t] = np.float64(most) * BOUND_SLACK
    order = np.argsort(max_contrib, kind="mergesort")
    bound = np.empty(num_terms, dtype=np.float64)
    weight = np.empty(num_terms, dtype=np.float32)
    acc = 0.0
    for i in range(num_terms):
        acc += max_contrib[order[i]]
        bound[i] = acc
        weight[i] = idf[order[i]]
    pos = np.empty(num_terms, dtype=np.int64)
    end = np.empty(num_terms, dtype=np.int64)
    for i in range(num_terms):
        pos[i] = term_offsets[order[i]]
        end[i] = term_offsets[order[i] + 1]
    threshold = -1.0  # the k-th score once the heap is full
    essential = 0  # order[essential:] are enumerated; order[:essential] only probed
    min_terms = WINDOW_MIN_TERMS_LARGE_K if k >= LARGE_K else WINDOW_MIN_TERMS
    if num_terms < min_terms:
        while True:
            doc = TERMINATED
            for i in range(essential, num_terms):
                if pos[i] < end[i]:
                    d = np.int64(doc_ids[np.uint64(pos[i])])
                    if d < doc:
                        doc = d
            if doc == TERMINATED:
                break
            # unsigned indices: no wraparound select on the data-dependent accesses
            dl = doc_lengths[np.uint64(doc)]
            score = np.float32(0.0)
            for i in range(essential, num_terms):
                at = np.uint64(pos[i])
                if pos[i] < end[i] and np.int64(doc_ids[at]) == doc:
                    score += weight[i] * _doc_weight(freqs[at], dl, avgdl)
                    pos[i] += 1
            for i in range(essential - 1, -1, -1):
                if np.float64(score) + bound[i] <= threshold:
                    break
                p = _seek(doc_ids, pos[i], end[i], doc)
                pos[i] = p
                if p < end[i] and np.int64(doc_ids[np.uint64(p)]) == doc:
                    score += weight[i] * _doc_weight(freqs[np.uint64(p)], dl, avgdl)
                    pos[i] = p + 1
            if size < k or score > heap_scores[0]:
                size = _offer(heap_scores, heap_docs, size, k, score, doc)
                if size == k:
                    threshold = np.float64(heap_scores[0])
                    while essential < num_terms and bound[essential] <= threshold:
                        essential += 1
                    if essential == num_terms:
                        break
    else:
        # Windows of WINDOW doc ids (tantivy's union horizon): the essential lists are
        # scattered into a score buffer and a bitset, then the window's documents are
        # visited in id order (probes need it) and its buffer cleared as it is read.
        acc = np.zeros(WINDOW, dtype=np.float32)
        bits = np.zeros(WINDOW // 64, dtype=np.uint64)
        while essential < num_terms:
            lo = TERMINATED
            for i in range(essential, num_terms):
                if pos[i] < end[i]:
                    lo = min(lo, np.int64(doc_ids[pos[i]]))
            if lo == TERMINATED:
                break
            hi = lo + WINDOW
            for i in range(essential, num_terms):
                p, e, w = pos[i], end[i], weight[i]
                while p < e:
                    # unsigned indices: no wraparound select on the five accesses
                    at = np.uint64(p)
                    d = np.int64(doc_ids[at])
                    if d >= hi:
                        break
                    slot = np.uint64(d - lo)
                    dl = doc_lengths[np.uint64(d)]
                    acc[slot] += w * _doc_weight(freqs[at], dl, avgdl)
                    bits[slot >> _SIX] |= _ONE << (slot & _LOW6)
                    p += 1
                pos[i] = p
            for word in range(WINDOW // 64):
                b = bits[word]
                if b == 0:
                    continue
                bits[word] = 0
                while b != 0:
                    low = b & (~b + np.uint64(1))
                    slot = word * 64 + _bit_index(low)
                    b ^= low
                    score = acc[slot]
                    acc[slot] = 0.0
                    doc = lo + slot
                    for i in range(essential - 1, -1, -1):
                        if np.float64(score) + bound[i] <= threshold:
                            break
                        p = _seek(doc_ids, pos[i], end[i], doc)
                        pos[i] = p
                        if p < end[i] and np.int64(doc_ids[p]) == doc:
                            dl = doc_lengths[doc]
                            score += weight[i] * _doc_weight(freqs[p], dl, avgdl)
                            pos[i] = p + 1
                    if size < k or score > heap_scores[0]:
                        size = _offer(heap_scores, heap_docs, size, k, score, doc)
                        if size == k:
                            threshold = np.float64(heap_scores[0])
                            while essential < num_terms and bound[essential] <= threshold:
                                essential += 1

    return size


@njit(**JIT)
def bm25_topk(term_offsets, doc_ids, freqs, doc_lengths, k):
    num_terms = term_offsets.shape[0] - 1
    num_docs = doc_lengths.shape[0]
    heap_scores = np.empty(max(k, 1), dtype=np.float32)
    heap_docs = np.empty(max(k, 1), dtype=np.int64)
    size = 0
    if k > 0 and num_docs > 0 and num_terms > 0:
        # One pass over the lengths for their sum (avgdl): at 1M documents it is most of a
        # one-term query (4 MB at cache bandwidth). The bounds take dl = 0 rather than the
        # shortest length: no minimum in the pass, and the bounds barely loosen (the shortest
        # document is a few tokens against an average of ~130).
        total = _total_tokens(doc_lengths)
        avgdl = np.float32(total) / np.float32(num_docs)
        shortest = np.uint32(0)

        if num_terms == 1:
            size = _one_term(
                term_offsets, doc_ids, freqs, doc_lengths, k, heap_scores, heap_docs,
                num_docs, shortest, avgdl,
            )  # fmt: skip
        else:
            size = _many_terms(
                term_offsets, doc_ids, freqs, doc_lengths, k, heap_scores, heap_docs,
                num_docs, shortest, avgdl,
            )  # fmt: skip
    # into_sorted_vec: pop the minimum into the last free slot.
    out_docs = np.empty(size, dtype=np.uint32)
    out_scores = np.empty(size, dtype=np.float32)
    for i in range(size - 1, -1, -1):
        out_docs[i] = heap_docs[0]
        out_scores[i] = heap_scores[0]
        heap_scores[0] = heap_scores[i]
        heap_docs[0] = heap_docs[i]
        _sift_down(heap_scores, heap_docs, i, 0)
    return out_docs, out_scores
