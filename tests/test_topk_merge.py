"""topk_merge: the reference against Python's sort, the inputs' shape, the kernel against both."""

from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.topk_merge import inputs, kernels, reference

REDTEAM = Path(__file__).parent / "redteam" / "topk_merge"
PAD = inputs.PADDING_ROW_ID


def _python_topk(dists, row_ids, k):
    pairs = sorted(zip(dists.ravel().tolist(), row_ids.ravel().tolist(), strict=True))[:k]
    return [d for d, _ in pairs], [r for _, r in pairs]


@pytest.mark.parametrize("distribution", ["uniform", "ties", "equal", "negative"])
def test_reference_matches_python_sorted(distribution):
    rng = SplitMix64(7)
    dists, row_ids = inputs.make_lists(rng, 1, 12, 30, distribution, short_odds=3)
    d, r = reference.topk_merge(dists[0], row_ids[0], 50)
    expected_d, expected_r = _python_topk(dists[0], row_ids[0], 50)
    assert d.dtype == np.float32 and r.dtype == np.uint64
    assert d.tolist() == expected_d and r.tolist() == expected_r
    flat_d, flat_r = dists[0].ravel()[::-1].copy(), row_ids[0].ravel()[::-1].copy()
    d, r = reference.topk(flat_d, flat_r, 77)
    assert (d.tolist(), r.tolist()) == _python_topk(flat_d, flat_r, 77)


def test_reference_cut_at_the_kth_distance_keeps_every_tie_for_any_k():
    # the reference sorts only entries no farther than the k-th smallest distance: every k,
    # ties straddling the cut, padding, k = 0 and k past the entries included
    rng = np.random.default_rng(3)
    for n in (1, 7, 40):
        d = rng.integers(-2, 3, n).astype(np.float32)
        d[rng.random(n) < 0.25] = np.inf
        r = rng.integers(0, 4, n).astype(np.uint64)
        r[rng.random(n) < 0.25] = PAD
        for k in range(n + 3):
            got = reference.topk(d, r, k)
            assert (got[0].tolist(), got[1].tolist()) == _python_topk(d, r, k)


def test_padding_fills_the_tail_when_fewer_than_k_finite_entries():
    dists = np.array([[0.5, np.inf, np.inf], [0.25, 0.75, np.inf]], dtype=np.float32)
    row_ids = np.array([[7, PAD, PAD], [9, 3, PAD]], dtype=np.uint64)
    for impl in (reference, kernels):
        d, r = impl.topk_merge(dists, row_ids, 5)
        assert d.tolist() == [0.25, 0.5, 0.75, np.inf, np.inf]
        assert r.tolist() == [9, 7, 3, int(PAD), int(PAD)]


def test_row_ids_break_ties_as_unsigned_integers():
    dists = np.full((2, 2), 1.0, dtype=np.float32)
    row_ids = np.array([[5, 2**63 + 1], [2**63, 2**64 - 2]], dtype=np.uint64)
    for impl in (reference, kernels):
        assert impl.topk_merge(dists, row_ids, 3)[1].tolist() == [5, 2**63, 2**63 + 1]


def test_lists_are_sorted_and_some_are_short():
    dists, row_ids = inputs.make_lists(SplitMix64(3), 50, 64, 100, "ties")
    key_sorted = (dists[..., 1:] > dists[..., :-1]) | (
        (dists[..., 1:] == dists[..., :-1]) & (row_ids[..., 1:] >= row_ids[..., :-1])
    )
    assert key_sorted.all()
    short = np.isinf(dists[..., -1])
    assert 0.08 < short.mean() < 0.17  # one list in SHORT_LIST_ODDS = 8
    assert (row_ids[np.isinf(dists)] == PAD).all()
    assert len(np.unique(np.floor(dists[np.isfinite(dists)] * 1000))) == inputs.TIE_LEVELS


def test_skewed_lists_put_most_winners_in_the_first_list():
    dists, row_ids = inputs.make_lists(SplitMix64(4), 20, 64, 100, "skewed", short_odds=0)
    from_first = [
        np.isin(reference.topk_merge(d, r, 100)[1], r[0]).mean()
        for d, r in zip(dists, row_ids, strict=True)
    ]
    assert 0.8 < np.mean(from_first) < 0.97


def test_workload_is_what_the_issue_asks_for():
    assert inputs.NUM_LISTS == [8, 64, 512]
    assert inputs.KS == [10, 100, 1000]
    assert inputs.DISTRIBUTIONS == ["uniform", "ties", "skewed"]
    merges = [[inputs.merges_per_call(n, k) for k in inputs.KS] for n in inputs.NUM_LISTS]
    assert merges == [[1024, 655, 65], [819, 81, 8], [102, 10, 1]]
    assert inputs.partitions_per_call() == 32


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    needles = ["k < list width", "k > list width", "padding included", "all padding", "L=1"]
    needles += ["k=0", "k=1", "all distances equal", "negative", "high row ids", "strided"]
    needles += ["unaligned", "k=N", "with +inf", "descending"]
    for needle in needles:
        assert any(needle in label for label in held), needle
    assert {label.split()[0] for label in held} == {"topk_merge", "topk"}


@pytest.mark.parametrize(
    "name, kind", [("distance_only_order", "wrong"), ("signed_row_id_merge", "wrong")]
)
def test_red_team_kernels_are_rejected_for_their_reason(name, kind):
    """In process, on the small cases (tests/test_redteam.py runs the full command path)."""
    path = REDTEAM / f"{name}.py"
    assert path.read_text().splitlines()[0] == f'"""expect: {kind}'
    module = oracle.load_module_from(path, f"redteam_topk_merge_{name}")
    cases = [c for c in inputs.correctness_cases() if c.held_out or "L=8 " in c.label]
    report = oracle.check_cases(cases, module, reference, [oracle.FIXED_SEEDS[0]])
    assert kind in {f.kind for f in report.failures}


@pytest.mark.parametrize("which", ["merge", "topk"])
def test_search_and_outputs_agree(which):
    w = inputs.workload(64, 100) if which == "merge" else inputs.topk_workload(100)
    outs = inputs.outputs(kernels, w)
    assert len(outs) == len(w.calls) == w.dists.shape[0] * w.dists.shape[1]
    d, r = inputs.search(kernels, w)
    np.testing.assert_array_equal(d, outs[-1][0])
    np.testing.assert_array_equal(r, outs[-1][1])
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
