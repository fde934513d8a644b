"""distances: the reference against independent formulas, the kernel against the reference."""

from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.distances import inputs, kernels, reference

REDTEAM = Path(__file__).parent / "redteam" / "distances"


def test_reference_matches_independent_numpy_formulas():
    rng = SplitMix64(5)
    x = inputs.make_vectors(rng, 50, 37, "gaussian")
    q = inputs.make_vectors(rng, 1, 37, "gaussian")[0]
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    np.testing.assert_allclose(reference.l2_batch(q, x), ((x64 - q64) ** 2).sum(1), rtol=1e-6)
    np.testing.assert_allclose(reference.dot_batch(q, x), 1.0 - x64 @ q64, rtol=1e-6, atol=1e-7)
    cos = 1.0 - (x64 @ q64) / (np.linalg.norm(x64, axis=1) * np.linalg.norm(q64))
    np.testing.assert_allclose(reference.cosine_batch(q, x), cos, rtol=1e-6, atol=1e-7)
    codes = inputs.make_codes(rng, 40, 9, "uniform")
    bits = np.unpackbits(codes ^ codes[3], axis=1).sum(1)
    np.testing.assert_array_equal(reference.hamming_batch(codes[3], codes), bits)


def test_cosine_of_a_zero_vector_is_nan_as_in_lance():
    x = np.array([[0.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    for impl in (reference, kernels):
        out = impl.cosine_batch(np.array([1.0, 0.0], dtype=np.float32), x)
        assert np.isnan(out[0]) and out[1] == 0.0
        assert np.isnan(impl.cosine_batch(np.zeros(2, dtype=np.float32), x)).all()


def test_dot_distance_can_be_negative():
    q = np.array([2.0, 0.0], dtype=np.float32)
    x = np.array([[3.0, 1.0]], dtype=np.float32)
    assert reference.dot_batch(q, x)[0] == -5.0
    assert kernels.dot_batch(q, x)[0] == -5.0


def test_workload_is_what_the_issue_asks_for():
    assert inputs.FLOAT_FUNCTIONS == ["l2_batch", "dot_batch", "cosine_batch"]
    assert inputs.DIMS == [128, 768, 1536]
    assert inputs.HAMMING_BYTES == [32, 64]
    assert inputs.DISTRIBUTIONS == ["gaussian", "uniform", "sparse"]
    assert [inputs.float_rows(d) for d in inputs.DIMS] == [8192, 1365, 682]


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    needles = ["D=17", "D=1 ", "N=1", "N=0", "zero query", "zero vectors", "near duplicates"]
    needles += ["mixed_range", "scaled_1e3", "strided", "unaligned", "B=65", "all bits differ"]
    for needle in needles:
        assert any(needle in label + " " for label in held), needle
    for function in [*inputs.FLOAT_FUNCTIONS, "hamming_batch"]:
        assert sum(label.startswith(function) for label in held) >= 10


@pytest.mark.parametrize(
    "name, function, kind",
    [
        ("norm_expansion_l2", "l2_batch", "wrong"),
        ("zero_vector_guard", "cosine_batch", "wrong"),
        ("cached_vector_norms", "cosine_batch", "stale"),
    ],
)
def test_red_team_kernels_are_rejected_for_their_reason(name, function, kind):
    """In process and on the function each cheats in (tests/test_redteam.py runs the full path)."""
    path = REDTEAM / f"{name}.py"
    assert path.read_text().splitlines()[0] == f'"""expect: {kind}'
    module = oracle.load_module_from(path, f"redteam_distances_{name}")
    cases = [c for c in inputs.correctness_cases() if c.func == function]
    report = oracle.check_cases(cases, module, reference, [oracle.FIXED_SEEDS[0]])
    assert kind in {f.kind for f in report.failures}


def test_search_and_outputs_agree():
    w = inputs.workload("cosine_batch", 128)
    assert w.vectors.shape == (3, 8192, 128) and w.queries.shape == (3, inputs.QUERIES, 128)
    outs = inputs.outputs(kernels, w)
    assert len(outs) == 3 * inputs.QUERIES
    np.testing.assert_array_equal(inputs.search(kernels, w), outs[-1])
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0


def test_hamming_codes_have_the_documented_bit_density():
    dense = inputs.make_codes(SplitMix64(1), 4096, 32, "gaussian")
    sparse = inputs.make_codes(SplitMix64(1), 4096, 32, "sparse")
    assert dense.shape == (4096, 32) and dense.dtype == np.uint8
    assert abs(np.unpackbits(dense).mean() - 0.5) < 0.01
    assert abs(np.unpackbits(sparse).mean() - 1 / 16) < 0.01
