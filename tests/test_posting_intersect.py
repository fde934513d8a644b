"""posting_intersect: the reference against numpy and sets, the kernel against the reference."""

import functools

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.posting_intersect import inputs, kernels, reference


@pytest.mark.parametrize("lengths", [[300, 5000], [800, 900, 700], [50, 4000, 4000, 4000, 9000]])
def test_reference_matches_numpy_and_python_sets(lengths):
    lists = inputs.make_lists(SplitMix64(len(lengths)), 20_000, lengths, 25)
    expected = functools.reduce(lambda a, b: np.intersect1d(a, b, assume_unique=True), lists)
    got = reference.intersect(lists)
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, expected)
    assert got.tolist() == sorted(set.intersection(*(set(a.tolist()) for a in lists)))


def test_generated_lists_are_sorted_unique_and_share_the_core():
    rng = SplitMix64(3)
    lists = inputs.make_lists(rng, 1 << 31, [1000, 100_000, 100_000], 100)
    for a, n in zip(lists, [1000, 100_000, 100_000], strict=True):
        assert a.dtype == np.uint32 and a.shape == (n,)
        assert np.all(np.diff(a.astype(np.int64)) > 0)
    assert reference.intersect(lists).size >= 100


def test_workload_is_what_the_issue_asks_for():
    assert inputs.NUM_LISTS == [2, 3, 5]
    universe, short, long, _ = inputs.SHAPES["balanced"]
    assert short == long == universe // 100  # 1% of 1M
    universe, short, long, _ = inputs.SHAPES["skewed"]
    assert long == 100 * short
    universe, short, long, _ = inputs.SHAPES["dense"]
    assert (universe, short) == (10_000, 5_000)
    assert inputs.SHAPES["sparse"][0] == 1 << 31
    w = inputs.workload(3, "skewed")
    for lists in w.queries:
        assert sorted(a.shape[0] for a in lists) == [4_000, 400_000, 400_000]


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in ["empty list", "length-1", "2^32 - 1", "block edges", "strided", "K=4"]:
        assert any(needle in label for label in held), needle


def _signed_kernels():
    """A shortcut that reads ids as int32 (fine below 2^31, the workload's sparse bound)."""

    class Signed:
        @staticmethod
        def intersect(lists):
            signed = [a.view(np.int32) for a in lists]
            out = functools.reduce(lambda a, b: np.intersect1d(a, b, assume_unique=True), signed)
            return out.astype(np.uint32)

    return Signed


def test_int32_ids_are_rejected():
    shortcut = _signed_kernels()
    rejected = []
    for case in inputs.correctness_cases():
        rng = SplitMix64(9).spawn(case.label)
        fails = oracle.check_case(case, shortcut, reference, rng, cross_call=False)
        assert {f.kind for f in fails} <= {"wrong"}, fails
        if fails:
            rejected.append(case.label)
    assert rejected == ["intersect ids across 2^31 up to 2^32 - 1"]


def test_search_and_outputs_agree():
    w = inputs.workload(2, "balanced")
    outs = inputs.outputs(kernels, w)
    assert len(outs) == len(w.queries)
    np.testing.assert_array_equal(inputs.search(kernels, w), outs[-1])
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
