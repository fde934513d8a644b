"""expect: wrong

Query words deduplicated before scoring, as program.md used to say Lance does: a posting list
that occurs twice in the query is scored once. pylance 14.0.2 scores "w w" as twice "w"
(docs/targets/bm25.md, "Repeated query terms"), so the repeated-word cases must reject it; the
rest is the starting kernel unchanged.
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


@njit(**JIT)
def _idf(token_docs, num_docs):
    n = np.float32(token_docs)
    N = np.float32(num_docs)
    return np.float32(math.log((N - n + HALF) / (n + HALF) + ONE))


@njit(**JIT)
def _doc_weight(freq, doc_tokens, avg_doc_length):
    f = np.float32(freq)
    dl = np.float32(doc_tokens)
    doc_norm = K1 * (ONE - B + B * dl / avg_doc_length)
    return (K1 + ONE) * f / (f + doc_norm)


@njit(**JIT)
def _current(doc_ids, pos, stop, t):
    return np.int64(doc_ids[pos[t]]) if pos[t] < stop[t] else TERMINATED


@njit(**JIT)
def _before(doc_ids, pos, stop, bound, a, b):
    """PostingIterator::cmp: by current doc, then upper bound, then term id."""
    da = _current(doc_ids, pos, stop, a)
    db = _current(doc_ids, pos, stop, b)
    if da != db:
        return da < db
    if bound[a] != bound[b]:
        return bound[a] < bound[b]
    return a < b


@njit(**JIT)
def _advance(doc_ids, pos, stop, t, least_id):
    """PostingIterator::next on a plain list: partition_point(id < least_id) of the rest."""
    lo, hi = pos[t], stop[t]
    while lo < hi:
        mid = (lo + hi) >> 1
        if np.int64(doc_ids[mid]) < least_id:
            lo = mid + 1
        else:
            hi = mid
    pos[t] = lo


@njit(**JIT)
def _bubble_up(order, n, doc_ids, pos, stop, bound, i):
    """Wand::bubble_up: move entry i towards the end until the order holds again."""
    for j in range(i + 1, n):
        if not _before(doc_ids, pos, stop, bound, order[j], order[j - 1]):
            break
        order[j - 1], order[j] = order[j], order[j - 1]


@njit(**JIT)
def _sort(order, n, doc_ids, pos, stop, bound):
    for i in range(1, n):
        j = i
        while j > 0 and _before(doc_ids, pos, stop, bound, order[j], order[j - 1]):
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1


@njit(**JIT)
def _drop_exhausted(order, n, pos, stop):
    """Wand::move_preceding's cleanup: remove iterators at the end of their list."""
    m = 0
    for i in range(n):
        if pos[order[i]] < stop[order[i]]:
            order[m] = order[i]
            m += 1
    return m


@njit(**JIT)
def _heap_less(scores, docs, i, j):
    """Min-heap order: lower score first; among equal scores the higher doc id goes first."""
    if scores[i] != scores[j]:
        return scores[i] < scores[j]
    return docs[i] > docs[j]


@njit(**JIT)
def _sift_down(scores, docs, size, i):
    while True:
        smallest = i
        left, right = 2 * i + 1, 2 * i + 2
        if left < size and _heap_less(scores, docs, left, smallest):
            smallest = left
        if right < size and _heap_less(scores, docs, right, smallest):
            smallest = right
        if smallest == i:
            return
        scores[i], scores[smallest] = scores[smallest], scores[i]
        docs[i], docs[smallest] = docs[smallest], docs[i]
        i = smallest


@njit(**JIT)
def _sift_up(scores, docs, i):
    while i > 0:
        parent = (i - 1) // 2
        if not _heap_less(scores, docs, i, parent):
            return
        scores[i], scores[parent] = scores[parent], scores[i]
        docs[i], docs[parent] = docs[parent], docs[i]
        i = parent


@njit(**JIT)
def _bm25_topk(term_offsets, doc_ids, freqs, doc_lengths, k):
    num_terms = term_offsets.shape[0] - 1
    num_docs = doc_lengths.shape[0]
    heap_scores = np.empty(max(k, 1), dtype=np.float32)
    heap_docs = np.empty(max(k, 1), dtype=np.int64)
    size = 0
    if k > 0 and num_docs > 0:
        total = np.uint64(0)
        for d in range(num_docs):
            total += np.uint64(doc_lengths[d])
        avgdl = np.float32(total) / np.float32(num_docs)

        # One PostingIterator per term that has postings (absent tokens are dropped).
        pos = np.empty(num_terms, dtype=np.int64)
        stop = np.empty(num_terms, dtype=np.int64)
        weight = np.zeros(num_terms, dtype=np.float32)
        bound = np.zeros(num_terms, dtype=np.float32)
        order = np.empty(num_terms, dtype=np.int64)
        n = 0
        for t in range(num_terms):
            pos[t], stop[t] = term_offsets[t], term_offsets[t + 1]
            if stop[t] > pos[t]:
                weight[t] = _idf(stop[t] - pos[t], num_docs)
                bound[t] = weight[t] * (K1 + ONE)
                order[n] = t
                n += 1
        _sort(order, n, doc_ids, pos, stop, bound)

        threshold = np.float32(0.0)
        while n > 0:
            # find_pivot_term: the first prefix whose summed upper bounds reach the threshold.
            acc = np.float32(0.0)
            pivot = -1
            for i in range(n):
                acc += bound[order[i]]
                if acc >= threshold:
                    pivot = i
                    break
            if pivot < 0:
                break
            doc = _current(doc_ids, pos, stop, order[pivot])
            max_pivot = pivot
            while max_pivot + 1 < n and _current(doc_ids, pos, stop, order[max_pivot + 1]) == doc:
                max_pivot += 1

            # check_block_max: a plain list's block max is its upper bound.
            block_sum = np.float32(0.0)
            for i in range(max_pivot + 1):
                block_sum += bound[order[i]]
            if not block_sum > threshold:
                # get_new_candidate + move_term: advance the term with the largest bound.
                picked = max_pivot
                least_id = TERMINATED
                t = order[max_pivot]
                if pos[t] + 1 < stop[t]:
                    least_id = np.int64(doc_ids[pos[t] + 1])
                for i in range(max_pivot - 1, -1, -1):
                    t = order[i]
                    nxt = np.int64(doc_ids[pos[t] + 1]) if pos[t] + 1 < stop[t] else TERMINATED
                    least_id = min(least_id, nxt)
                    if bound[t] > bound[order[picked]]:
                        picked = i
                for i in range(max_pivot + 1, n):
                    least_id = min(least_id, _current(doc_ids, pos, stop, order[i]))
                if least_id == TERMINATED:
                    break
                # With plain lists the bounds of every term at or before this doc sum to at most
                # the threshold, so no doc up to it can win: skipping past it guarantees progress
                # (Lance's next-posting target could leave the picked term where it is).
                least_id = max(least_id, doc + 1)
                _advance(doc_ids, pos, stop, order[picked], least_id)
                if pos[order[picked]] >= stop[order[picked]]:
                    order[picked] = order[n - 1]  # swap_remove
                    n -= 1
                _bubble_up(order, n, doc_ids, pos, stop, bound, picked)
                continue

            # check_pivot_aligned: move the terms before the pivot onto the pivot's doc.
            aligned = True
            for i in range(pivot, -1, -1):
                t = order[i]
                _advance(doc_ids, pos, stop, t, doc)
                if _current(doc_ids, pos, stop, t) != doc:
                    if pos[t] >= stop[t]:
                        order[i] = order[n - 1]  # swap_remove
                        n -= 1
                    _bubble_up(order, n, doc_ids, pos, stop, bound, i)
                    aligned = False
                    break
                _bubble_up(order, n, doc_ids, pos, stop, bound, i)
            if not aligned:
                continue

            # Wand::score: sum the contributions of the terms on this doc, in iterator order.
            dl = doc_lengths[doc]
            score = np.float32(0.0)
            for i in range(max_pivot + 1):
                t = order[i]
                score += weight[t] * _doc_weight(freqs[pos[t]], dl, avgdl)

            if size < k:
                heap_scores[size] = score
                heap_docs[size] = doc
                _sift_up(heap_scores, heap_docs, size)
                size += 1
                if size == k:
                    threshold = heap_scores[0]
            elif score > heap_scores[0]:
                heap_scores[0] = score
                heap_docs[0] = doc
                _sift_down(heap_scores, heap_docs, size, 0)
                threshold = heap_scores[0]

            # move_preceding: every term on this doc moves past it; re-sort.
            for i in range(max_pivot + 1):
                _advance(doc_ids, pos, stop, order[i], doc + 1)
            n = _drop_exhausted(order, n, pos, stop)
            _sort(order, n, doc_ids, pos, stop, bound)

    # into_sorted_vec: pop the minimum into the last free slot.
    out_docs = np.empty(size, dtype=np.uint32)
    out_scores = np.empty(size, dtype=np.float32)
    for i in range(size - 1, -1, -1):
        out_docs[i] = heap_docs[0]
        out_scores[i] = heap_scores[0]
        last = i  # the heap now holds i elements once the root is replaced by the last one
        heap_scores[0] = heap_scores[last]
        heap_docs[0] = heap_docs[last]
        _sift_down(heap_scores, heap_docs, last, 0)
    return out_docs, out_scores


def bm25_topk(term_offsets, doc_ids, freqs, doc_lengths, k):
    """The starting kernel over the distinct posting lists of the query (repeats dropped)."""
    seen, keep = set(), []
    for t in range(term_offsets.shape[0] - 1):
        a, b = int(term_offsets[t]), int(term_offsets[t + 1])
        key = doc_ids[a:b].tobytes()
        if key not in seen:
            seen.add(key)
            keep.append((a, b))
    offsets = np.zeros(len(keep) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([b - a for a, b in keep])
    ids = np.concatenate([np.empty(0, doc_ids.dtype)] + [doc_ids[a:b] for a, b in keep])
    fs = np.concatenate([np.empty(0, freqs.dtype)] + [freqs[a:b] for a, b in keep])
    return _bm25_topk(offsets, ids, fs, doc_lengths, k)
