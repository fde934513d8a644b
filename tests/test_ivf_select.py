"""ivf_select: the reference against numpy, the tie-tolerant oracle rule, the kernel."""

from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.ivf_select import inputs, kernels, reference

REDTEAM = Path(__file__).parent / "redteam" / "ivf_select"


def _problem(query, centroids, nprobes, metric, ids, dists):
    args = (query, centroids, nprobes, metric)
    expected = reference.find_partitions(*args)
    return inputs.compare_selection(args, (np.asarray(ids), np.asarray(dists)), expected)


@pytest.mark.parametrize("metric", inputs.METRICS)
def test_reference_matches_numpy_sort(metric):
    rng = SplitMix64(9)
    c = inputs.make_vectors(rng, 300, 24, "gaussian")
    q = inputs.make_vectors(rng, 1, 24, "gaussian")[0]
    c64, q64 = c.astype(np.float64), q.astype(np.float64)
    exact = ((c64 - q64) ** 2).sum(1) if metric == "l2" else 1.0 - c64 @ q64
    ids, dists = reference.find_partitions(q, c, 17, metric)
    assert ids.dtype == np.uint32 and dists.dtype == np.float32
    np.testing.assert_array_equal(ids, np.argsort(exact, kind="stable")[:17])
    np.testing.assert_allclose(dists, np.sort(exact)[:17], rtol=1e-6)


def test_nprobes_above_p_returns_all_and_zero_returns_none():
    c = inputs.make_vectors(SplitMix64(2), 5, 4, "uniform")
    for impl in (reference, kernels):
        ids, dists = impl.find_partitions(c[0], c, 9, "l2")
        assert sorted(ids.tolist()) == [0, 1, 2, 3, 4] and ids[0] == 0 and dists[0] == 0.0
        ids, dists = impl.find_partitions(c[0], c, 0, "dot")
        assert ids.shape == (0,) and dists.shape == (0,)


def test_oracle_accepts_any_order_and_boundary_choice_among_ties():
    # Centroids 0 and 1 are identical, as are 2 and 3; the query is nearest to 0/1, then 2/3.
    base = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [5.0, 0.0]], np.float32)
    q = np.array([0.1, 0.0], dtype=np.float32)
    d = [0.01, 0.01, 0.81, 0.81]
    assert _problem(q, base, 4, "l2", np.array([1, 0, 3, 2], np.uint32), np.float32(d)) == []
    # Boundary: either of the tied 2 and 3 may take the third slot.
    assert _problem(q, base, 3, "l2", np.array([0, 1, 3], np.uint32), np.float32(d[:3])) == []
    assert _problem(q, base, 3, "l2", np.array([1, 0, 2], np.uint32), np.float32(d[:3])) == []


def test_oracle_rejects_what_is_not_a_tie():
    base = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]], np.float32)
    q = np.zeros(2, dtype=np.float32)

    def kinds(ids, dists, nprobes=2):
        problems = _problem(q, base, nprobes, "l2", np.array(ids), np.array(dists))
        return [p.split(":")[0] for p in problems]

    assert kinds(np.uint32([0, 1]), np.float32([0, 1])) == []
    assert kinds(np.uint32([0, 2]), np.float32([0, 4])) == ["wrong"]  # a farther centroid
    assert kinds(np.uint32([1, 0]), np.float32([1, 0])) == ["wrong"]  # not ascending
    assert kinds(np.uint32([0, 0]), np.float32([0, 0])) == ["wrong"]  # repeated id
    assert kinds(np.uint32([0, 1]), np.float32([0, 1.5])) == ["wrong"]  # distance off
    assert kinds(np.uint32([0, 9]), np.float32([0, 1])) == ["wrong"]  # out of range
    assert kinds(np.int64([0, 1]), np.float32([0, 1])) == ["contract"]  # ids must be uint32
    assert kinds(np.uint32([0]), np.float32([0])) == ["contract", "contract"]  # too short


def test_workload_is_what_the_issue_asks_for():
    assert inputs.SHAPES == [(256, 128), (1024, 768), (4096, 128), (4096, 768)]
    assert inputs.NPROBES == [1, 20, 64]
    assert inputs.METRICS == ["l2", "dot"]
    assert inputs.DISTRIBUTIONS == ["clustered", "uniform"]
    assert [inputs.queries_per_call(s) for s in inputs.SHAPES] == [64, 2, 4, 1]


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    needles = ["P=1", "nprobes = P", "nprobes > P", "nprobes = 0", "exact ties", "duplicate"]
    needles += ["zero query", "scaled_1e3", "strided", "unaligned", "D=17"]
    for needle in needles:
        for metric in inputs.METRICS:
            assert any(needle in label and metric in label for label in held), (needle, metric)
    speed = {c.label.split()[-1] for c in inputs.correctness_cases() if not c.held_out}
    assert speed == {f"nprobes={n}" for n in inputs.NPROBES}


@pytest.mark.parametrize(
    "name, kind", [("unsorted_heap_selection", "wrong"), ("cached_centroid_norms", "stale")]
)
def test_red_team_kernels_are_rejected_for_their_reason(name, kind):
    """In process, on the small cases (tests/test_redteam.py runs the full command path)."""
    path = REDTEAM / f"{name}.py"
    assert path.read_text().splitlines()[0] == f'"""expect: {kind}'
    module = oracle.load_module_from(path, f"redteam_ivf_select_{name}")
    cases = [c for c in inputs.correctness_cases() if c.held_out or "P=256 " in c.label]
    report = oracle.check_cases(cases, module, reference, [oracle.FIXED_SEEDS[0]])
    assert kind in {f.kind for f in report.failures}


def test_search_and_outputs_agree():
    w = inputs.workload((256, 128), 20)
    assert w.centroids.shape == (2, 256, 128) and w.queries.shape == (2, 64, 128)
    outs = inputs.outputs(kernels, w)
    assert len(outs) == 3 * 2 * 2 * 64
    ids, dists = inputs.search(kernels, w)
    np.testing.assert_array_equal(dists, outs[-3])
    assert all(v.all() for v in outs[2::3])  # every selection valid
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0


def test_outputs_do_not_depend_on_the_order_of_tied_ids():
    """track_mismatches compares distances rank by rank, so a tie-swapping kernel scores 0."""
    rng = SplitMix64(4)
    grid = np.stack([inputs.make_vectors(rng, 512, 8, "grid") for _ in inputs.DISTRIBUTIONS])
    queries = np.stack([inputs.make_vectors(rng, 3, 8, "grid") for _ in inputs.DISTRIBUTIONS])
    w = inputs.Workload(20, grid, queries)  # values in {-1, 0, 1}: many exactly equal distances

    class Reversed:
        @staticmethod
        def find_partitions(query, centroids, nprobes, metric):
            ids, dists = reference.find_partitions(query, centroids, nprobes, metric)
            order = np.lexsort((-ids.astype(np.int64), dists))  # ties by descending id: legal
            return ids[order], dists[order]

    swapped = [
        not np.array_equal(
            Reversed.find_partitions(q, c, 20, m)[0], reference.find_partitions(q, c, 20, m)[0]
        )
        for c, qs in zip(grid, queries, strict=True)
        for q in qs
        for m in inputs.METRICS
    ]
    assert all(swapped)  # the ids really differ from the reference's
    assert (
        oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), Reversed, reference) == 0
    )
