"""pq_l2: the reference against an independent formula, the kernel against the reference."""

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.pq_l2 import inputs, kernels, reference


def test_reference_matches_an_independent_numpy_formula():
    rng = SplitMix64(3)
    w = inputs.build(rng, (64, 8, 256), "gaussian", n=500, queries=2, train_rows=256)
    M, K, dsub = w.codebook.shape
    for q in w.queries:
        diff = w.codebook.astype(np.float64) - q.astype(np.float64).reshape(M, 1, dsub)
        expected_table = (diff**2).sum(-1)
        table = reference.distance_table(w.codebook, q)
        np.testing.assert_allclose(table, expected_table, rtol=1e-6)
        expected = table.astype(np.float64)[np.arange(M)[:, None], w.codes].sum(0)
        np.testing.assert_allclose(reference.pq_distances(table, w.codes), expected, rtol=1e-6)


def test_workload_is_what_the_issue_asks_for():
    assert inputs.SHAPES == [(128, 16, 256), (256, 16, 256), (768, 96, 256)]
    assert inputs.DISTRIBUTIONS == ["clustered", "uniform", "sparse"]
    assert (inputs.NUM_VECTORS, inputs.NUM_QUERIES) == (20_000, 32)


def test_codes_are_column_major_nearest_centroids():
    rng = SplitMix64(11)
    w = inputs.build(rng, (32, 4, 16), "clustered", n=300, queries=1, train_rows=64)
    assert w.codes.shape == (4, 300) and w.codes.dtype == np.uint8
    sub = inputs.make_vectors(SplitMix64(1), 1, 32, "uniform")  # shape check of the generator
    assert sub.shape == (1, 32) and sub.dtype == np.float32


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in ["N=1", "not a multiple of 16", "M=1", "scaled_1e3", "mostly_zero", "strided"]:
        assert any(needle in label for label in held), needle


def _quantized_kernels():
    """Lance's 4-bit fastscan trick: the table quantized to u8 between its min and max."""

    class Lossy:
        distance_table = staticmethod(kernels.distance_table)

        @staticmethod
        def pq_distances(table, codes):
            lo, hi = float(table.min()), float(table.max())
            q = np.round((table - lo) * 255.0 / (hi - lo)).astype(np.uint8)
            deq = q.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
            return reference.pq_distances(deq.astype(np.float32), codes)

    return Lossy


def test_a_lossy_u8_table_is_rejected():
    lossy = _quantized_kernels()
    report = oracle.check_target("pq_l2", kernels=lossy, seeds=[oracle.FIXED_SEEDS[0]])
    wrong = [f for f in report.failures if f.kind == "wrong"]
    assert wrong and all(f.label.startswith("pq_distances") for f in wrong)
    assert not report.passed


def test_search_and_outputs_agree():
    w = inputs.workload((128, 16, 256), "uniform")
    outs = inputs.outputs(kernels, w)
    assert len(outs) == 2 * inputs.NUM_QUERIES
    np.testing.assert_array_equal(inputs.search(kernels, w), outs[-1])
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
