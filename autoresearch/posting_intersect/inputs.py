"""posting_intersect inputs: the seeded speed workload (list counts x shapes) and the cases.

One source of truth: the asv suite, the oracle and the tests all import from here.

Each query is K sorted, duplicate-free uint32 posting lists. A planted core (10% of the shortest
list) is in every list, as correlated terms of a real AND query are, so the intersection is never
trivially empty; the rest of each list is drawn independently. The lists come in a random order
(the shortest is not always first).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from autoresearch import sorted_sets
from autoresearch.common import SplitMix64, cached_arrays
from autoresearch.harness.target_protocol import SpeedWorkload
from autoresearch.oracle import Case
from autoresearch.sorted_sets import sample_unique

# ---------------------------------------------------------------------------
# Speed workload (fixed; append only: changing it rebases every recorded result)
# ---------------------------------------------------------------------------

NUM_LISTS = [2, 3, 5]  # K posting lists per query
# name -> (universe, shortest list, longest list, queries per timed call)
SHAPES = {
    "balanced": (1_000_000, 10_000, 10_000, 16),  # every list at 1% of a 1M universe
    "skewed": (4_000_000, 4_000, 400_000, 8),  # one list 100x shorter than the others (10%)
    "dense": (10_000, 5_000, 5_000, 64),  # every list at 50% of a 10k universe
    "sparse": (1 << 31, 100_000, 100_000, 4),  # ids anywhere below 2^31
}
DISTRIBUTIONS = list(SHAPES)
GENERATORS = [sorted_sets.__file__]  # the shared helpers the cached workload is built with
SPEED_WORKLOADS = {  # asv class: its workload (target_protocol.SpeedWorkload)
    "PostingIntersect": SpeedWorkload(
        "workload",
        {
            "k": NUM_LISTS,  # K posting lists per query
            "shape": DISTRIBUTIONS,  # list lengths and id density (SHAPES)
        },
    ),
}
CORE_FRACTION = 0.1  # of the shortest list, planted in every list
CASE_SCALE = {"balanced": 1, "skewed": 4, "dense": 1, "sparse": 4}  # correctness: sizes / this
SPEED_SEED = 0x1A7E5  # the speed workload's seed (correctness uses fresh ones too)


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------


def make_lists(rng: SplitMix64, universe: int, lengths: list[int], core: int) -> list[np.ndarray]:
    """Sorted unique uint32 lists of exactly the given lengths sharing `core` planted values."""
    shared = sample_unique(rng, core, universe)
    lists = []
    for n in lengths:
        # n distinct draws keep at least n - core after dropping the core's values.
        others = np.setdiff1d(sample_unique(rng, n, universe), shared, assume_unique=True)
        others = others[rng.permutation(others.size)[: n - core]]
        lists.append(np.sort(np.concatenate([shared, others])).astype(np.uint32))
    return lists


def query_lengths(shape: str, k: int, scale: int = 1) -> list[int]:
    universe, short, long, _ = SHAPES[shape]
    return [short // scale] + [long // scale] * (k - 1)


@dataclass(frozen=True)
class Workload:
    queries: list  # [[uint32 arrays]] per query


@functools.lru_cache(maxsize=2)
def workload(k: int, shape: str) -> Workload:
    """The speed workload of one combination (cached per process; never mutate it)."""
    key = f"{k} {shape}"
    universe, short, _, queries = SHAPES[shape]
    lengths = query_lengths(shape, k)

    def make():
        rng = SplitMix64(SPEED_SEED).spawn(key)
        arrays = {}
        for q in range(queries):
            lists = make_lists(rng, universe, lengths, int(CORE_FRACTION * short))
            for j, pos in enumerate(rng.permutation(k)):  # random order of the lists
                arrays[f"q{q}_{j}"] = lists[pos]
        return arrays

    a = cached_arrays(__file__, key, make, GENERATORS)
    return Workload([[a[f"q{q}_{j}"] for j in range(k)] for q in range(queries)])


def search(impl, w: Workload):
    """What one timed call does: every query's intersection."""
    out = None
    for lists in w.queries:
        out = impl.intersect(lists)
    return out


def outputs(impl, w: Workload) -> list:
    """Every query's intersection (what track_mismatches compares, exactly)."""
    return [impl.intersect(lists) for lists in w.queries]


def perturbable(w: Workload) -> list:
    """None: a value copied from its neighbour would make a list hold a duplicate."""
    return []


# ---------------------------------------------------------------------------
# Correctness cases
# ---------------------------------------------------------------------------


def compare_ids(args: tuple, actual, expected) -> list[str]:
    """Exact: a uint32 ndarray equal to the reference's. A different length is a wrong answer
    (the result's length is data, not part of the contract), reported with the first difference."""
    if type(actual) is not np.ndarray or actual.dtype != np.uint32 or actual.ndim != 1:
        kind = type(actual).__name__ + (
            f" {actual.dtype}{actual.shape}" if hasattr(actual, "dtype") else ""
        )
        return [f"contract: expected a 1-d uint32 numpy.ndarray, got {kind}"]
    if actual.shape == expected.shape and np.array_equal(actual, expected):
        return []
    m = min(actual.size, expected.size)
    diff = np.nonzero(actual[:m] != expected[:m])[0]
    at = int(diff[0]) if diff.size else m
    got = int(actual[at]) if at < actual.size else "end"
    want = int(expected[at]) if at < expected.size else "end"
    return [f"wrong: {actual.size} ids, expected {expected.size}; at {at}: {got} != {want}"]


def _case(label, universe, lengths, core, held_out=False, view=None, top=False) -> Case:
    def make(rng):
        lists = make_lists(rng, universe, lengths, core)
        if top:  # every list ends at 2^32 - 1, the largest id
            for a in lists:
                if a.size:
                    a[-1] = 0xFFFFFFFF
        order = rng.permutation(len(lists))
        lists = [lists[i] for i in order]
        if view == "strided":  # every other element of a doubled array: non-contiguous
            lists = [np.repeat(a, 2)[::2] for a in lists]
        elif view == "offset":  # starting 4 bytes into the buffer: unaligned
            lists = [np.concatenate([[np.uint32(7)], a]).astype(np.uint32)[1:] for a in lists]
        return (lists,)

    # partial_change off: a value copied from its neighbour would put a duplicate in a list.
    return Case(
        f"intersect {label}",
        "intersect",
        make,
        compare_ids,
        held_out=held_out,
        partial_change=False,
    )


def correctness_cases() -> list[Case]:
    cases = []
    for shape in DISTRIBUTIONS:
        # The same densities and skew as the speed workload; the big shapes 4x smaller (quick).
        universe, short, _, _ = SHAPES[shape]
        scale = CASE_SCALE[shape]
        for k in NUM_LISTS:
            lengths = query_lengths(shape, k, scale)
            core = int(CORE_FRACTION * short / scale)
            cases.append(_case(f"K={k} {shape}", universe // scale, lengths, core))
    cases += [
        _case("K=4 held-out count", 200_000, [3000, 9000, 1500, 6000], 100, held_out=True),
        _case("an empty list", 1000, [50, 0, 70], 0, held_out=True),
        _case("all lists empty", 1000, [0, 0], 0, held_out=True),
        _case("length-1 lists, same value", 1000, [1, 1, 1], 1, held_out=True),
        _case("length-1 list in long ones", 10_000, [1, 5000, 5000], 0, held_out=True),
        _case("disjoint-ish (no core)", 1 << 20, [777, 1333], 0, held_out=True),
        _case("identical lists (all core)", 1 << 16, [2049, 2049, 2049], 2049, held_out=True),
        _case("odd lengths 129/257/1023", 50_000, [129, 257, 1023], 17, held_out=True),
        _case("block edges 128/256/384", 1000, [128, 256, 384], 64, held_out=True),
        _case("ids across 2^31 up to 2^32 - 1", 1 << 32, [5000, 50_000], 500, True, top=True),
        _case("full universe", 4096, [4096, 4096], 4096, held_out=True),
        _case("1000:1 skew", 2_000_000, [100, 100_000, 100_000], 10, held_out=True),
        _case("strided views", 100_000, [2000, 3000, 4000], 200, held_out=True, view="strided"),
        _case("unaligned views", 100_000, [2000, 3000], 200, held_out=True, view="offset"),
    ]
    return cases
