"""take: the reference against numpy and Python formulas; the kernel against the reference."""

from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.take import inputs, kernels, reference

REDTEAM = Path(__file__).parent / "redteam" / "take"


def _bits(a):
    return a.view(np.uint64) if a.dtype == np.float64 else a


@pytest.mark.parametrize("index_dtype", ["uint32", "uint64"])
@pytest.mark.parametrize("value_type", ["int32", "int64", "float64", "bytes16"])
def test_reference_matches_numpy_fancy_indexing_bit_for_bit(index_dtype, value_type):
    rng = SplitMix64(7)
    values = inputs.make_values(rng, value_type, 5000)
    if value_type == "float64":
        values.view(np.uint64)[: len(inputs.SPECIAL_FLOAT_BITS)] = inputs.SPECIAL_FLOAT_BITS
    indices = inputs.make_indices(rng, 3000, 5000, "clustered", index_dtype)
    got = reference.take(values, indices)
    expected = values[indices.astype(np.int64)]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(_bits(got), _bits(expected))


@pytest.mark.parametrize("value_type", ["binary", "large_binary"])
def test_binary_reference_matches_python_bytes(value_type):
    rng = SplitMix64(8)
    offsets, data = inputs.make_strings(rng, 400, 3200, inputs.OFFSET_DTYPES[value_type])
    indices = inputs.make_indices(rng, 1000, 400, "random", np.uint64)
    strings = [data[offsets[j] : offsets[j + 1]].tobytes() for j in range(400)]
    chosen = [strings[j] for j in indices]
    out_offsets, out_data = reference.take_binary(offsets, data, indices)
    assert out_offsets.dtype == offsets.dtype and out_data.dtype == np.uint8
    assert out_offsets.tolist() == [0, *np.cumsum([len(s) for s in chosen]).tolist()]
    assert out_data.tobytes() == b"".join(chosen)


def test_reference_rejects_out_of_range_indices():
    with pytest.raises(IndexError):
        reference.take(np.arange(4, dtype=np.int64), np.array([0, 4], dtype=np.uint32))
    offsets, data = np.array([0, 2, 5], dtype=np.int64), np.zeros(5, dtype=np.uint8)
    with pytest.raises(IndexError):
        reference.take_binary(offsets, data, np.array([2], dtype=np.uint64))


def test_reference_rejects_offsets_that_overflow_int32():
    offsets = np.array([0, 2**30], dtype=np.int32)  # one string of 1 GiB, taken twice
    with pytest.raises(OverflowError):
        reference.take_binary(offsets, np.zeros(0, dtype=np.uint8), np.zeros(2, dtype=np.uint32))


def test_workload_is_lances_call_of_arrow_take():
    assert inputs.NUM_ROWS == 10_000_000
    assert inputs.DISTRIBUTIONS == ["random", "clustered"]  # unsorted: one take from rows read
    assert inputs.SELECTIVITIES == [0.001, 0.1, 1.0]
    assert inputs.SHAPES == [("int64", "uint64")]  # Lance's UInt64Array remapping index
    assert {i for _, i in inputs.BINARY_SHAPES} == {"uint64"}
    assert inputs.taken_per_call(0.001) == (100, 10_000)
    assert inputs.taken_per_call(1.0) == (1, 10_000_000)


def test_the_remapping_index_restores_the_callers_order_from_the_distinct_rows_read():
    rng = SplitMix64(11)
    n = 1000
    column = inputs.make_values(rng, "int64", n)
    for dist in ("random", "clustered", "sorted"):
        request = inputs.make_indices(rng, 3000, n, dist, np.int64)
        rows, indices = inputs.lance_remap(request, n)
        read = np.unique(request)  # what Lance reads: the distinct rows, ascending
        assert rows == len(read) and indices.dtype == np.uint64
        np.testing.assert_array_equal(column[read][indices], column[request])
    assert inputs.lance_remap(np.zeros(0, dtype=np.int64), n)[0] == 0


def test_a_speed_take_gathers_from_the_rows_its_request_read():
    w = inputs.workload(inputs.SHAPES[0], "random", 0.001)
    assert len(w.takes) == 100
    for values, indices in w.takes[:3]:
        assert indices.dtype == np.uint64 and len(indices) == 10_000
        # every row read is asked for at least once, and nothing else: 0..D - 1 all appear
        assert np.array_equal(np.unique(indices), np.arange(len(values)))
        assert len(values) > 9_990  # 10,000 of 10M rows: repeats are rare


def test_index_distributions_look_like_their_names():
    rng = SplitMix64(5)
    n = 100_000
    random = inputs.make_indices(rng, 10_000, n, "random", np.uint64)
    assert random.max() < n and np.count_nonzero(np.diff(random.astype(np.int64)) < 0) > 4000
    every = inputs.make_indices(rng, n, n, "sorted", np.uint64)
    np.testing.assert_array_equal(every, np.arange(n))  # 100%: every row in order
    sparse = inputs.make_indices(rng, 1000, n, "sorted", np.uint32).astype(np.int64)
    assert np.all(np.diff(sparse) > 0) and sparse[0] < 100 and sparse[-1] >= n - 100
    clustered = inputs.make_indices(rng, 10_000, n, "clustered", np.uint64).astype(np.int64)
    steps = np.diff(clustered)
    assert 10_000 / 64 < np.count_nonzero(steps != 1) < 10_000 / 16 and clustered.max() < n


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in [
        "int32 values",
        "NaN payloads",
        "16-byte rows",
        "full length sorted with repeats",
        "n=0",
        "n=1",
        "one-row column",
        "strided indices",
        "unaligned 16-byte rows",
        "sliced offsets",
        "all strings empty",
    ]:
        assert any(needle in label for label in held), needle


def _kinds(kernel_module, *needles):
    kinds = set()
    for case in inputs.correctness_cases():
        if any(n in case.label for n in needles):
            rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
            kinds |= {f.kind for f in oracle.check_case(case, kernel_module, reference, rng, True)}
    return kinds


def test_an_identity_guessed_from_the_ends_is_wrong_on_sorted_repeats():
    guess = oracle.load_module_from(REDTEAM / "identity_by_ends.py", "take_rt_ends")
    assert _kinds(guess, "full length sorted with repeats") == {"wrong"}


def test_returning_the_column_itself_is_aliasing():
    shared = oracle.load_module_from(REDTEAM / "zero_copy_identity.py", "take_rt_shared")
    assert _kinds(shared, "('int64', 'uint64') random 0.1") == set()
    assert _kinds(shared, "int64 every row in order") == {"aliased"}


@pytest.mark.parametrize("shape", [inputs.SHAPES[0], inputs.BINARY_SHAPES[1]])
def test_search_and_outputs_agree(shape):
    rng = SplitMix64(9)
    takes = []
    for _ in range(3):
        rows, indices = inputs.lance_remap(
            inputs.make_indices(rng, 500, 5000, "clustered", np.int64), 5000
        )
        if inputs.is_binary(shape):
            dtype = inputs.OFFSET_DTYPES[shape[0]]
            takes.append((*inputs.make_strings(rng, rows, 8 * rows, dtype), indices))
        else:
            takes.append((inputs.make_values(rng, shape[0], rows), indices))
    binary = inputs.is_binary(shape)
    w = inputs.BinaryWorkload(tuple(takes)) if binary else inputs.Workload(tuple(takes))
    outs = inputs.outputs(kernels, w)
    assert len(outs) == len(w.takes)
    last = inputs.call(reference, w, w.takes[-1])
    assert inputs.compare_bits((), inputs.search(kernels, w), last) == []
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
