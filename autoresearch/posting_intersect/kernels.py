"""posting_intersect kernels: the only file the optimizing agent edits (see program.md).

The set of docs Lance's AND walk visits (lance-index src/scalar/inverted/wand.rs,
`Operator::And`), computed pairwise, shortest list first (the cost order `Wand::new` sorts by):
the running result only shrinks, so each further list is either merged with it (lists of similar
length: a branch-free two-pointer merge) or searched from it (a much longer list: galloping, as a
skip over blocks does). Dense lists (the shortest list's span at most 2 words of 64 bits per id)
use a bitmap over that span instead, ANDed list by list; the last list is probed against it and
emits the result in its own order (no last bitmap, no extraction). A query is one dispatch: the
lists go to the jitted code as a tuple, with no concatenation copy, when they have one numba type
(all writeable or all read-only, as Arrow's buffers are; C-contiguous and aligned); otherwise a
dispatch per step, as before.
"""

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# numba flags (edit freely)
# ---------------------------------------------------------------------------

JIT = {"cache": True, "nogil": True, "fastmath": False}

BITMAP_WORDS_PER_DOC = 2  # a bitmap when the shortest list's span is at most this many words per id
BITMAP_MIN_IDS = 2_000  # fewer ids: the bitmap's fixed cost (allocations, calls) loses
DENSE_IDS_PER_WORD = 4  # from this many ids per bitmap word, bits gather in a register
# Indices computed from data are used as np.uint64: numba wraps a signed index around when
# negative (a compare and a select per access).
_ONE = np.uint64(1)
_SIX = np.uint64(6)
_LOW6 = np.uint64(63)
GALLOP_RATIO = 16  # a list this many times longer than the running result is searched, not merged
BLOCK = 16  # ids a search step skips or counts at once (one 64-byte line of uint32)
NEAR_BLOCKS = 32  # blocks skipped one by one before a search gallops
MERGE_BLOCK = 8  # ids of the other list a merge step compares one id against (a 32-byte line)


@njit(**JIT)
def _merge(a, na, b, out):
    """a[:na] AND b into out (out may be a itself: it never writes ahead of its read). Each step
    takes one id of a against a block of MERGE_BLOCK ids of b (compared all at once: no chain
    between them), then moves a on if its id is at most the block's last, the block on if the
    block's last is at most the id: lists of one density take na + nb / MERGE_BLOCK steps
    instead of a two-pointer walk's na + nb. The rest goes one id at a time."""
    i = 0
    j = 0
    c = 0
    nb = b.shape[0]
    # MERGE_BLOCK, as LLVM cannot know it (nb < 2**62): a loop of a known 8 trips is unrolled
    # into eight scalar compares; of an unknown count, the loop vectorizer compares at once
    block = MERGE_BLOCK + (nb >> 62)
    while i < na and j + MERGE_BLOCK <= nb:
        x = a[i]
        hit = 0
        for t in range(j, j + block):
            hit += b[np.uint64(t)] == x
        last = b[np.uint64(j + MERGE_BLOCK - 1)]
        out[c] = x
        c += hit
        i += x <= last
        j += MERGE_BLOCK * (last <= x)
    while i < na and j < nb:
        x = a[i]
        y = b[j]
        out[c] = x
        c += x == y
        i += x <= y
        j += y <= x
    return c


@njit(**JIT)
def _gallop(a, na, b, out):
    """a[:na] AND b, b much longer: each of a's docs sought in b from the last position."""
    nb = b.shape[0]
    j = 0
    c = 0
    for i in range(na):
        x = a[i]
        # Near targets (the common gap of ~100 ids on the skewed shape): skip whole blocks of
        # BLOCK ids by their last id (sequential lines, a predictable loop), then count the
        # block's ids below x without a branch. Farther targets fall back to galloping.
        skips = 0
        while skips < NEAR_BLOCKS and j + BLOCK <= nb and b[np.uint64(j + BLOCK - 1)] < x:
            j += BLOCK
            skips += 1
        if skips < NEAR_BLOCKS or j + BLOCK > nb:
            e = min(j + BLOCK, nb)
            below = 0
            for t in range(j, e):
                below += b[np.uint64(t)] < x
            j += below
        else:
            step = 1
            hi = j
            while hi < nb and b[np.uint64(hi)] < x:
                j = hi + 1
                hi = j + step
                step <<= 1
            if hi > nb:
                hi = nb
            while j < hi:
                mid = (j + hi) >> 1
                if b[np.uint64(mid)] < x:
                    j = mid + 1
                else:
                    hi = mid
        if j >= nb:
            break
        if b[np.uint64(j)] == x:
            out[c] = x
            c += 1
    return c


@njit(**JIT)
def _set_bits(a, lo, bits):
    for i in range(a.shape[0]):
        v = np.uint64(np.int64(a[i]) - lo)
        bits[v >> _SIX] |= _ONE << (v & _LOW6)


@njit(**JIT)
def _and_bits(b, lo, hi, bits_in, bits_out):
    """bits_out = bits_in AND the bits of b's values in [lo, hi] (bits_out zeroed)."""
    for i in range(b.shape[0]):
        x = np.int64(b[i])
        if x < lo:
            continue
        if x > hi:
            break
        v = np.uint64(x - lo)
        word = v >> _SIX
        bit = _ONE << (v & _LOW6)
        bits_out[word] |= bits_in[word] & bit


@njit(**JIT)
def _set_bits_dense(a, lo, bits):
    """As _set_bits, for lists with several ids per word (`bits` zeroed, ids sorted): a word's
    bits gathered in a register (reset by a select when the word changes, no branch) and the
    word stored, never loaded: no read-modify-write chain through memory."""
    word = np.uint64(0)
    acc = np.uint64(0)
    for i in range(a.shape[0]):
        v = np.uint64(np.int64(a[i]) - lo)
        w = v >> _SIX
        acc = (acc if w == word else np.uint64(0)) | (_ONE << (v & _LOW6))
        word = w
        bits[w] = acc


@njit(**JIT)
def _and_bits_dense(b, lo, hi, bits_in, bits_out):
    """As _and_bits, for lists with several ids per word: the word's bits so far in a register,
    the word stored each id and never loaded."""
    word = np.uint64(0)
    acc = np.uint64(0)
    for i in range(b.shape[0]):
        x = np.int64(b[i])
        if x < lo:
            continue
        if x > hi:
            break
        v = np.uint64(x - lo)
        w = v >> _SIX
        acc = (acc if w == word else np.uint64(0)) | (_ONE << (v & _LOW6))
        word = w
        bits_out[w] = acc & bits_in[w]


@njit(**JIT)
def _probe_bits(b, lo, hi, bits, out):
    """out = b's values in [lo, hi] whose bit is set, in b's (sorted) order: the last list is
    tested against the bitmap directly, with no bitmap of its own to zero, AND and extract."""
    c = 0
    for i in range(b.shape[0]):
        x = np.int64(b[i])
        if x < lo:
            continue
        if x > hi:
            break
        v = np.uint64(x - lo)
        out[np.uint64(c)] = np.uint32(x)
        c += (bits[v >> _SIX] >> (v & _LOW6)) & _ONE
    return c


@njit(**JIT)
def _bitmap_intersect(lists, order):
    """Dense lists: a bitmap over the shortest list's span, ANDed list by list; the last list
    probes it and emits the result in its own order."""
    first = lists[order[0]]
    lo, hi = np.int64(first[0]), np.int64(first[first.shape[0] - 1])
    words = (hi - lo) // 64 + 1
    bits = np.zeros(words, dtype=np.uint64)
    dense = first.shape[0] >= DENSE_IDS_PER_WORD * words
    if dense:
        _set_bits_dense(first, lo, bits)
    else:
        _set_bits(first, lo, bits)
    k = len(lists)
    if k > 2:
        spare = np.empty(words, dtype=np.uint64)
        for i in range(1, k - 1):
            spare[:] = 0
            if dense:
                _and_bits_dense(lists[order[i]], lo, hi, bits, spare)
            else:
                _and_bits(lists[order[i]], lo, hi, bits, spare)
            bits, spare = spare, bits
    out = np.empty(first.shape[0] + 1, dtype=np.uint32)  # one slot past: the branch-free store
    count = _probe_bits(lists[order[k - 1]], lo, hi, bits, out)
    return out[:count]


@njit(**JIT)
def _intersect(lists):
    """One query in one dispatch: `lists` a tuple of 2-5 arrays of one type."""
    k = len(lists)
    lengths = np.empty(k, dtype=np.int64)
    for i in range(k):
        lengths[i] = lists[i].shape[0]
    order = np.argsort(lengths, kind="mergesort")  # shortest first, ties in order (as sorted())
    first = lists[order[0]]
    count = first.shape[0]
    if count == 0:
        return np.empty(0, dtype=np.uint32)
    span_words = (np.int64(first[count - 1]) - np.int64(first[0])) // 64 + 1
    if lengths.sum() >= BITMAP_MIN_IDS and span_words <= BITMAP_WORDS_PER_DOC * count:
        if lengths.max() <= GALLOP_RATIO * count:
            return _bitmap_intersect(lists, order)
    result = np.empty(count, dtype=np.uint32)
    second = lists[order[1]]
    if second.shape[0] > GALLOP_RATIO * count:
        count = _gallop(first, count, second, result)
    else:
        count = _merge(first, count, second, result)
    for i in range(2, k):
        if count == 0:
            break
        other = lists[order[i]]
        if other.shape[0] > GALLOP_RATIO * count:
            count = _gallop(result, count, other, result)
        else:
            count = _merge(result, count, other, result)
    if count < result.shape[0] // 2:
        return result[:count].copy()
    return result[:count]


def _bitmap_each(ordered):
    """Dense lists: a bitmap over the shortest list's span, ANDed list by list."""
    first = ordered[0]
    lo, hi = int(first[0]), int(first[-1])
    words = (hi - lo) // 64 + 1
    bits = np.zeros(words, dtype=np.uint64)
    _set_bits(first, lo, bits)
    if len(ordered) > 2:
        spare = np.empty(words, dtype=np.uint64)
        for other in ordered[1:-1]:
            spare[:] = 0
            _and_bits(other, lo, hi, bits, spare)
            bits, spare = spare, bits
    out = np.empty(first.shape[0] + 1, dtype=np.uint32)  # one slot past: the branch-free store
    count = _probe_bits(ordered[-1], lo, hi, bits, out)
    return out[:count]


def _intersect_each(lists):
    """A dispatch per step: lists whose types differ (some read-only, some not)."""
    ordered = sorted(lists, key=lambda a: a.shape[0])
    first = ordered[0]
    result = np.empty(first.shape[0], dtype=np.uint32)
    if first.shape[0] == 0:
        return result
    count = first.shape[0]
    span_words = (int(first[-1]) - int(first[0])) // 64 + 1
    total = sum(o.shape[0] for o in ordered)
    if (
        total >= BITMAP_MIN_IDS
        and span_words <= BITMAP_WORDS_PER_DOC * count
        and all(o.shape[0] <= GALLOP_RATIO * count for o in ordered[1:])
    ):
        return _bitmap_each(ordered)
    second = ordered[1]
    if second.shape[0] > GALLOP_RATIO * count:
        count = _gallop(first, count, second, result)
    else:
        count = _merge(first, count, second, result)
    for other in ordered[2:]:
        if count == 0:
            break
        if other.shape[0] > GALLOP_RATIO * count:
            count = _gallop(result, count, other, result)
        else:
            count = _merge(result, count, other, result)
    return result[:count].copy() if count < result.shape[0] // 2 else result[:count]


def _plain(a):
    f = a.flags
    return f.c_contiguous and f.aligned


def intersect(lists):
    t = tuple(lists)
    if all(_plain(a) for a in t):
        writeable = [a.flags.writeable for a in t]
        if all(writeable) or not any(writeable):  # one numba type for the tuple
            return _intersect(t)
    return _intersect_each(t)
