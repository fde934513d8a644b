"""topk_merge inputs: the seeded speed workloads (merge: L x k; topk: k) and the correctness cases.

One source of truth: the asv suite, the oracle and the tests all import from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case, compare_outputs

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

NUM_LISTS = [8, 64, 512]  # L: result lists merged (probed partitions, index deltas)
KS = [10, 100, 1000]  # k (k * refine_factor in Lance): entries per list and in the result
DISTRIBUTIONS = ["uniform", "ties", "skewed"]  # every timed call covers all three
ENTRIES_PER_CALL = 1 << 19  # list entries per distribution in one timed call
MAX_MERGES = 1024  # at most this many merges per distribution (small merges cost ~1 µs each)
TIE_LEVELS = 16  # ties: distances take only this many values (quantized distances)
SKEW_OFFSET = 0.9  # skewed: every list but the first sits this far up (~90% winners in list 0)
SHORT_LIST_ODDS = 8  # one list in this many holds fewer than k results (a small partition)
PADDING_ROW_ID = np.uint64(2**64 - 1)  # the row id of the +inf entries padding a short list
TOPK_ROWS = 16_384  # topk: rows scanned per partition
TOP_BIT = np.uint64(1 << 63)  # ids at or above it: row address (frag << 32 | offset), frag >= 2**31
SPEED_SEED = 0x70B4
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "TopkMerge": SpeedWorkload(
        "workload",
        {
            "lists": NUM_LISTS,  # L: sorted result lists merged
            "k": KS,  # k: entries per list and in the result
        },
    ),
    "Topk": SpeedWorkload(
        "topk_workload",
        {"k": KS},  # k kept from each partition of TOPK_ROWS unsorted rows
    ),
}


def merges_per_call(num_lists: int, k: int) -> int:
    """Merges per distribution in one timed call: ENTRIES_PER_CALL entries, at most MAX_MERGES."""
    return min(MAX_MERGES, max(1, ENTRIES_PER_CALL // (num_lists * k)))


def partitions_per_call() -> int:
    """topk calls (partitions) per distribution in one timed call."""
    return ENTRIES_PER_CALL // TOPK_ROWS


def random_row_ids(rng: SplitMix64, n: int) -> np.ndarray:
    """uint64 row ids below 2**63 (distinct with overwhelming probability)."""
    return rng.u64(n) >> np.uint64(1)


def make_distances(rng: SplitMix64, shape: tuple, distribution: str) -> np.ndarray:
    """float32 distances of `shape`; for lists (2-D or more) the last axis is one list.

    uniform: U(0, 1). ties: U(0, 1) rounded down to TIE_LEVELS levels. skewed: lists other than
    the first are shifted up by SKEW_OFFSET, so the first list holds ~90% of the winners; for one
    array (1-D, the topk workload) skewed means a downward drift along the array, so late rows
    keep displacing the heap's top (a partition stored in an order correlated with distance).
    negative: U(-2, 0) (dot distances can be negative). equal: every distance 0.5.
    """
    size = int(np.prod(shape))
    d = rng.uniform(size).reshape(shape)
    if distribution == "ties":
        d = np.floor(d * TIE_LEVELS) / TIE_LEVELS
    elif distribution == "skewed" and len(shape) >= 2:
        d[..., 1:, :] += SKEW_OFFSET
    elif distribution == "skewed":
        d = 0.2 * d + np.linspace(1.0, 0.0, size)
    elif distribution == "negative":
        d = d * 2.0 - 2.0
    elif distribution == "equal":
        d = np.full(shape, 0.5)
    elif distribution != "uniform":
        raise ValueError(f"unknown distribution {distribution!r}")
    return d.astype(np.float32)


def make_lists(
    rng: SplitMix64,
    merges: int,
    num_lists: int,
    width: int,
    distribution: str,
    short_odds: int = SHORT_LIST_ODDS,
) -> tuple[np.ndarray, np.ndarray]:
    """(float32[merges, L, width], uint64[...]): each list sorted by (distance, row id).

    One list in `short_odds` (0: none) keeps only a random count (0 .. width-1) of its entries;
    the rest is padding, (+inf, PADDING_ROW_ID), as a partition with fewer than k results.
    """
    shape = (merges, num_lists, width)
    dists = make_distances(rng, shape, distribution)
    row_ids = random_row_ids(rng, merges * num_lists * width).reshape(shape)
    if short_odds:
        short = rng.integers(merges * num_lists, short_odds).reshape(merges, num_lists) == 0
        kept = rng.integers(merges * num_lists, width).reshape(merges, num_lists)
        pad = short[..., None] & (np.arange(width) >= kept[..., None])
        dists[pad] = np.inf
        row_ids[pad] = PADDING_ROW_ID
    order = np.lexsort((row_ids, dists), axis=-1)
    dists = np.take_along_axis(dists, order, axis=-1)
    row_ids = np.take_along_axis(row_ids, order, axis=-1)
    return np.ascontiguousarray(dists), np.ascontiguousarray(row_ids)


@dataclass(frozen=True)
class MergeWorkload:
    k: int
    dists: np.ndarray  # float32[len(DISTRIBUTIONS), merges, L, k], each list sorted
    row_ids: np.ndarray  # uint64, same shape
    calls: tuple  # (dists[s, m], row_ids[s, m]) views, built once: no slicing in the timed loop


@dataclass(frozen=True)
class TopkWorkload:
    k: int
    dists: np.ndarray  # float32[len(DISTRIBUTIONS), partitions, TOPK_ROWS], unsorted
    row_ids: np.ndarray  # uint64, same shape
    calls: tuple  # (dists[s, p], row_ids[s, p]) views, built once


def _calls(dists: np.ndarray, row_ids: np.ndarray) -> tuple:
    """The argument pairs of every call, over the two leading axes (distribution, call)."""
    return tuple(
        (dists[s, c], row_ids[s, c]) for s in range(dists.shape[0]) for c in range(dists.shape[1])
    )


@functools.lru_cache(maxsize=2)
def workload(num_lists: int, k: int) -> MergeWorkload:
    """The topk_merge speed workload of one combination (cached per process; never mutate)."""
    key = f"merge {num_lists} {k}"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        merges = merges_per_call(num_lists, k)
        lists = [make_lists(rng.spawn(d), merges, num_lists, k, d) for d in DISTRIBUTIONS]
        return {
            "dists": np.stack([d for d, _ in lists]),
            "row_ids": np.stack([r for _, r in lists]),
        }

    a = cached_arrays(__file__, key, make)
    return MergeWorkload(k, a["dists"], a["row_ids"], _calls(a["dists"], a["row_ids"]))


@functools.lru_cache(maxsize=2)
def topk_workload(k: int) -> TopkWorkload:
    """The topk speed workload for one k (cached per process; never mutate)."""
    key = "topk"

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        dists, row_ids = [], []
        for dist in DISTRIBUTIONS:
            data = rng.spawn(dist)
            parts = [make_distances(data, (TOPK_ROWS,), dist) for _ in range(partitions_per_call())]
            dists.append(np.stack(parts))
            row_ids.append(random_row_ids(data, dists[-1].size).reshape(dists[-1].shape))
        return {"dists": np.stack(dists), "row_ids": np.stack(row_ids)}

    a = cached_arrays(__file__, key, make)
    return TopkWorkload(k, a["dists"], a["row_ids"], _calls(a["dists"], a["row_ids"]))


def search(impl, w: MergeWorkload | TopkWorkload):
    """One timed call: every merge (or every partition's topk) of every distribution."""
    out = None
    if isinstance(w, MergeWorkload):
        for d, r in w.calls:
            out = impl.topk_merge(d, r, w.k)
    else:
        for d, r in w.calls:
            out = impl.topk(d, r, w.k)
    return out


def outputs(impl, w: MergeWorkload | TopkWorkload) -> list:
    """Every result of the workload (what track_mismatches compares)."""
    func = impl.topk_merge if isinstance(w, MergeWorkload) else impl.topk
    return [func(d, r, w.k) for d, r in w.calls]


def perturbable(w: MergeWorkload | TopkWorkload) -> list:
    """Arrays the oracle may change one element of: none for merges (a copied neighbour can break
    a list's sort order, which the kernel may rely on); both arrays for topk's unsorted rows."""
    return [] if isinstance(w, MergeWorkload) else [w.dists, w.row_ids]


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def compare_exact(args: tuple, actual, expected) -> list[str]:
    """The contract checks of the default compare, then bit-exact distances and row ids."""
    problems = compare_outputs(actual, expected)
    if problems:
        return problems
    for name, a, e in zip(("distances", "row ids"), actual, expected, strict=True):
        if not np.array_equal(a, e):
            bad = np.flatnonzero(a != e)
            return [f"wrong: {name} differ at {bad[:5].tolist()}: {a[bad[:5]]} != {e[bad[:5]]}"]
    return []


def _merge_case(
    label: str,
    num_lists: int,
    width: int,
    k: int,
    distribution: str,
    held_out: bool = True,
    view: str | None = None,
    short_odds: int = SHORT_LIST_ODDS,
    special: str | None = None,
) -> Case:
    def make(rng):
        rows = 2 * num_lists if view == "strided lists" else num_lists
        cols = 2 * width if view == "strided entries" else width + (view == "offset")
        dists, row_ids = make_lists(rng, 1, rows, cols, distribution, short_odds)
        dists, row_ids = dists[0], row_ids[0]
        if special == "all padding":  # no partition found anything: k padding entries out
            dists[:] = np.inf
            row_ids[:] = PADDING_ROW_ID
        elif special == "high row ids":  # half at or above 2**63: signed comparisons misorder
            row_ids = row_ids | (rng.u64(row_ids.size).reshape(row_ids.shape) & TOP_BIT)
            order = np.lexsort((row_ids, dists), axis=-1)
            dists = np.take_along_axis(dists, order, axis=-1)
            row_ids = np.take_along_axis(row_ids, order, axis=-1)
        if view == "strided lists":  # every other list: lists not adjacent in memory
            dists, row_ids = dists[::2], row_ids[::2]
        elif view == "strided entries":  # every other entry of each (still sorted) list
            dists, row_ids = dists[:, ::2], row_ids[:, ::2]
        elif view == "offset":  # each list starts one entry into its row: unaligned
            dists, row_ids = dists[:, 1:], row_ids[:, 1:]
        return (dists, row_ids, k)

    return Case(
        f"topk_merge {label}",
        "topk_merge",
        make,
        compare=compare_exact,
        held_out=held_out,
        # The oracle's one-element change copies a neighbour's value, which can break a list's
        # sort order, the merge's precondition.
        partial_change=False,
    )


def _topk_case(
    label: str,
    n: int,
    k: int,
    distribution: str,
    held_out: bool = True,
    view: str | None = None,
    special: str | None = None,
) -> Case:
    def make(rng):
        size = 2 * n if view == "strided" else n + (view == "offset")
        dists = make_distances(rng, (size,), distribution)
        row_ids = random_row_ids(rng, size)
        if special == "ascending":
            dists = np.sort(dists)
        elif special == "with +inf":  # every fourth entry is padding
            dists[::4] = np.inf
            row_ids[::4] = PADDING_ROW_ID
        elif special == "high row ids":  # half at or above 2**63
            row_ids |= rng.u64(size) & TOP_BIT
        if view == "strided":
            dists, row_ids = dists[::2], row_ids[::2]
        elif view == "offset":
            dists, row_ids = dists[1:], row_ids[1:]
        return (dists, row_ids, k)

    return Case(f"topk {label}", "topk", make, compare=compare_exact, held_out=held_out)


def correctness_cases() -> list[Case]:
    cases = []
    for num_lists in NUM_LISTS:
        for k in KS:
            for dist in DISTRIBUTIONS:
                label = f"L={num_lists} k={k} {dist}"
                cases.append(_merge_case(label, num_lists, k, k, dist, held_out=False))
    cases += [
        _merge_case("k < list width", 8, 100, 10, "uniform"),
        _merge_case("k > list width", 8, 5, 30, "ties"),
        _merge_case("k = L * width, padding included", 4, 10, 40, "uniform", short_odds=1),
        _merge_case("all padding", 3, 5, 5, "uniform", special="all padding"),
        _merge_case("L=1", 1, 50, 50, "uniform"),
        _merge_case("k=1", 64, 10, 1, "ties"),
        _merge_case("k=0 (empty)", 8, 10, 0, "uniform"),
        _merge_case("all distances equal", 16, 20, 20, "equal", short_odds=0),
        _merge_case("negative distances", 16, 20, 20, "negative"),
        _merge_case("high row ids (>= 2**63)", 16, 30, 30, "ties", special="high row ids"),
        _merge_case("strided lists", 16, 30, 30, "ties", view="strided lists"),
        _merge_case("strided entries", 16, 30, 30, "ties", view="strided entries"),
        _merge_case("unaligned offset lists", 16, 30, 30, "uniform", view="offset"),
    ]
    for k in KS:
        for dist in DISTRIBUTIONS:
            cases.append(_topk_case(f"N={TOPK_ROWS} k={k} {dist}", TOPK_ROWS, k, dist, False))
    cases += [
        _topk_case("N=1 k=1", 1, 1, "uniform"),
        _topk_case("k=N (a full sort)", 777, 777, "ties"),
        _topk_case("k=0 (empty)", 100, 0, "uniform"),
        _topk_case("N=1001 k=37", 1001, 37, "negative"),
        _topk_case("all distances equal", 500, 50, "equal"),
        _topk_case("ascending input", 2000, 100, "uniform", special="ascending"),
        _topk_case("descending drift", 2000, 100, "skewed"),
        _topk_case("with +inf entries", 300, 250, "ties", special="with +inf"),
        _topk_case("high row ids (>= 2**63)", 1000, 100, "ties", special="high row ids"),
        _topk_case("strided", 1000, 50, "ties", view="strided"),
        _topk_case("unaligned offset", 1000, 50, "uniform", view="offset"),
    ]
    return cases
