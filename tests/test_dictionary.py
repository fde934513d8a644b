"""dictionary: the reference against numpy and Python formulas; the kernel against the reference."""

from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.dictionary import inputs, kernels, reference

REDTEAM = Path(__file__).parent / "redteam" / "dictionary"


def _bits(a):
    return a.view(np.uint64) if a.dtype == np.float64 else a


@pytest.mark.parametrize("index_dtype", ["uint8", "uint16", "uint32", "int32"])
@pytest.mark.parametrize("value_type", ["int64", "float64", "bytes16"])
def test_reference_matches_numpy_take_bit_for_bit(index_dtype, value_type):
    rng = SplitMix64(7)
    w = inputs.build(rng, (index_dtype, value_type, 200), "uniform", 3000)
    inputs._special_values(w.dictionary)
    got = reference.dict_decode(w.indices, w.dictionary)
    expected = np.take(w.dictionary, w.indices.astype(np.int64), axis=0)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(_bits(got), _bits(expected))


@pytest.mark.parametrize("value_type", ["binary", "large_binary"])
def test_binary_reference_matches_python_bytes(value_type):
    rng = SplitMix64(8)
    w = inputs.build_binary(rng, ("uint16", value_type, 300), "zipf", 2000)
    strings = [
        w.dict_data[w.dict_offsets[j] : w.dict_offsets[j + 1]].tobytes()
        for j in range(len(w.dict_offsets) - 1)
    ]
    chosen = [strings[j] for j in w.indices]
    offsets, data = reference.dict_decode_binary(w.indices, w.dict_offsets, w.dict_data)
    assert offsets.dtype == w.dict_offsets.dtype and data.dtype == np.uint8
    assert offsets.tolist() == [0, *np.cumsum([len(s) for s in chosen]).tolist()]
    assert data.tobytes() == b"".join(chosen)


def test_reference_rejects_out_of_range_indices():
    dictionary = np.arange(4, dtype=np.int64)
    with pytest.raises(IndexError):
        reference.dict_decode(np.array([0, 4], dtype=np.uint8), dictionary)
    with pytest.raises(IndexError):
        reference.dict_decode(np.array([-1], dtype=np.int32), dictionary)
    offsets, data = np.array([0, 2, 5], dtype=np.int32), np.zeros(5, dtype=np.uint8)
    with pytest.raises(IndexError):
        reference.dict_decode_binary(np.array([2], dtype=np.int32), offsets, data)


def test_workload_is_what_the_issue_asks_for():
    sizes = {size for _, _, size in inputs.SHAPES + inputs.BINARY_SHAPES}
    assert sizes == {16, 256, 65536}
    assert {v for _, v, _ in inputs.SHAPES} == {"int64", "float64", "bytes16"}
    assert {v for _, v, _ in inputs.BINARY_SHAPES} == {"binary", "large_binary"}
    assert inputs.DISTRIBUTIONS == ["uniform", "zipf", "runs"]
    for index_dtype, _, size in inputs.SHAPES + inputs.BINARY_SHAPES:
        assert size - 1 <= np.iinfo(index_dtype).max  # every dictionary entry is addressable
    # 16 of Lance's 8192-row scan batches: what its decode expands at once, in cache
    assert inputs.NUM_VALUES == inputs.NUM_BINARY_VALUES == 16 * 8192


def test_index_distributions_look_like_their_names():
    rng = SplitMix64(5)
    zipf = inputs.make_indices(rng, 100_000, 256, "zipf", np.int32)
    counts = np.bincount(zipf, minlength=256)
    assert counts[0] > 5 * counts[50] > 0 and zipf.max() < 256
    runs = inputs.make_indices(rng, 100_000, 256, "runs", np.uint8)
    changes = np.count_nonzero(np.diff(runs.astype(np.int64)))
    assert 100_000 / 64 < changes < 100_000 / 16  # mean run length ~32
    uniform = inputs.make_indices(rng, 100_000, 16, "uniform", np.uint8)
    assert np.bincount(uniform, minlength=16).min() > 5000


def test_string_dictionaries_have_the_same_size_for_every_seed():
    a = inputs.make_strings(SplitMix64(1), 50, 600, np.int32)
    b = inputs.make_strings(SplitMix64(2), 50, 600, np.int32)
    assert a[0].shape == b[0].shape and a[1].shape == b[1].shape == (600,)
    assert a[0][0] == 0 and a[0][-1] == 600 and np.all(np.diff(a[0]) >= 0)
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in [
        "NaN payloads",
        "int64 extremes",
        "above 65535",
        "n=0",
        "n=1",
        "K=1",
        "strided indices",
        "unaligned 16-byte rows",
        "sliced offsets",
        "all strings empty",
    ]:
        assert any(needle in label for label in held), needle


def _cases(*needles):
    return [c for c in inputs.correctness_cases() if any(n in c.label for n in needles)]


def _kinds(kernel_module, cases):
    kinds = set()
    for case in cases:
        rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
        kinds |= {f.kind for f in oracle.check_case(case, kernel_module, reference, rng, True)}
    return kinds


def test_float32_rounding_passes_a_tolerance_compare_but_not_the_bit_compare():
    lossy = oracle.load_module_from(REDTEAM / "float32_dictionary.py", "dictionary_rt_float32")
    case = _cases("('int32', 'float64', 256) uniform")[0]
    args = case.make(SplitMix64(3))
    actual = lossy.dict_decode(*args)
    expected = reference.dict_decode(*args)
    assert oracle.compare_outputs(actual, expected) == []  # within 1e-4: tolerance would accept
    assert inputs.compare_bits(args, actual, expected)  # bits differ: rejected
    assert _kinds(lossy, [case]) == {"wrong"}


def test_nan_payloads_and_negative_zero_must_survive():
    canonical = np.float64(np.nan)
    case = _cases("NaN payloads")[0]
    args = case.make(SplitMix64(4))
    expected = reference.dict_decode(*args)
    actual = expected.copy()
    actual[np.isnan(actual)] = canonical  # the same floats by ==, other NaN bits
    actual[actual == 0] = 0.0  # -0.0 becomes +0.0
    problems = inputs.compare_bits(args, actual, expected)
    assert problems and "wrong" in problems[0]
    assert inputs.compare_bits(args, actual.view(np.int64), expected)[0].startswith("contract")


def test_a_dictionary_cached_across_calls_is_caught_without_the_static_check():
    cached = oracle.load_module_from(REDTEAM / "cached_dictionary.py", "dictionary_rt_cached")
    kinds = _kinds(cached, _cases("('uint16', 'bytes16', 65536) uniform"))
    assert kinds and kinds <= {"stale", "wrong"}  # old dictionary: stale, or wrong with new indices


def test_zero_based_offsets_fail_on_sliced_dictionaries_only():
    rebased = oracle.load_module_from(REDTEAM / "zero_based_offsets.py", "dictionary_rt_rebased")
    assert _kinds(rebased, _cases("('int32', 'binary', 256) zipf")) == set()
    assert _kinds(rebased, _cases("sliced offsets")) == {"wrong"}


@pytest.mark.parametrize("shape", [inputs.SHAPES[2], inputs.BINARY_SHAPES[0]])
def test_search_and_outputs_agree(shape):
    rng = SplitMix64(9)
    w = (inputs.build_binary if inputs.is_binary(shape) else inputs.build)(rng, shape, "runs", 5000)
    outs = inputs.outputs(kernels, w)
    assert len(outs) == 1
    assert inputs.compare_bits((), inputs.search(kernels, w), inputs.search(reference, w)) == []
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
