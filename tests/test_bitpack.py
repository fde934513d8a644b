"""bitpack: the layout against hand-derived words and a bigint formula; kernel vs reference."""

from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.bitpack import inputs, kernels, reference
from autoresearch.common import SplitMix64

REDTEAM = Path(__file__).parent / "redteam" / "bitpack"


def _words(buf, dtype):
    return buf.view(np.dtype(dtype).newbyteorder("<"))


@pytest.mark.parametrize(
    "dtype, position, word, value",
    [
        # Lance's index(row, lane) = FL_ORDER[row // 8] * 16 + (row % 8) * 128 + lane, by hand:
        (np.uint8, 5 * 128 + 3, 3, 1 << 5),  # row 5, lane 3: bit 5 of lane 3's word
        (np.uint16, 64, 0, 1 << 8),  # FL_ORDER[1] = 4 -> 64: row 8, lane 0
        (np.uint32, 32, 0, 1 << 16),  # FL_ORDER[2] = 2 -> 32: row 16, lane 0
        (np.uint32, 96 + 128 + 7, 7, 1 << 25),  # FL_ORDER[3] = 6 -> 96, +1*128: row 25, lane 7
        (np.uint64, 16 + 2 * 128, 0, 1 << 34),  # FL_ORDER[4] = 1 -> 16, +2*128: row 34, lane 0
    ],
)
def test_one_set_bit_lands_where_lances_index_formula_puts_it(dtype, position, word, value):
    values = np.zeros(1024, dtype=dtype)
    values[position] = 1
    packed = _words(inputs.pack(values, 1, dtype), dtype)
    assert np.flatnonzero(packed).tolist() == [word] and int(packed[word]) == value
    np.testing.assert_array_equal(
        reference.unpack(inputs.pack(values, 1, dtype), 1, 1024, dtype), values
    )


def _bigint_unpack_block(words: np.ndarray, width: int, bits: int) -> list[int]:
    """One block decoded through each lane's stream as a Python integer (independent formula)."""
    lanes = 1024 // bits
    out = [0] * 1024
    for lane in range(lanes):
        stream = sum(int(words[lanes * w + lane]) << (w * bits) for w in range(width))
        for row in range(bits):
            index = inputs.FL_ORDER[row // 8] * 16 + (row % 8) * 128 + lane
            out[index] = (stream >> (row * width)) & ((1 << width) - 1)
    return out


@pytest.mark.parametrize(
    "dtype, width",
    [(np.uint8, 3), (np.uint16, 11), (np.uint32, 13), (np.uint32, 31), (np.uint64, 45)],
)
def test_reference_matches_a_bigint_stream_formula(dtype, width):
    bits = np.dtype(dtype).itemsize * 8
    values = inputs.uniform_values(SplitMix64(width), 2048, width, dtype)
    buf = inputs.pack(values, width, dtype)
    words = _words(buf, dtype)
    per_block = 1024 * width // bits
    expected = []
    for block in range(2):
        expected += _bigint_unpack_block(words[block * per_block :], width, bits)
    assert expected == values.tolist()
    np.testing.assert_array_equal(reference.unpack(buf, width, 2048, dtype), values)


def test_tail_layouts_follow_lances_rule():
    # padding costs W * (1024 - tail) bits, saves (T - W) * tail: pad only when it saves space.
    assert inputs.tail_is_padded(32, 3, 128) and not inputs.tail_is_padded(32, 7, 128)
    assert not inputs.tail_is_padded(32, 8, 256)  # a tie stores the tail raw (and decodes raw)
    assert not inputs.tail_is_padded(32, 32, 1000)
    values = inputs.uniform_values(SplitMix64(1), 1024 + 256, 8, np.uint32)
    raw = inputs.pack(values, 8, np.uint32)
    assert raw.size == 4 * (256 + 256)  # one packed block, then the 256 tail values as they are
    np.testing.assert_array_equal(_words(raw, np.uint32)[256:], values[1024:])
    np.testing.assert_array_equal(reference.unpack(raw, 8, values.size, np.uint32), values)


def test_miniblock_chunks_lead_with_their_width():
    widths = np.array([5, 0, 32, 17])
    values = inputs.values_with_widths(SplitMix64(2), 3 * 1024 + 100, widths, np.uint32)
    np.testing.assert_array_equal(inputs.chunk_widths(values, np.uint32), widths)
    words = _words(inputs.pack_miniblock(values, np.uint32), np.uint32)
    starts = [0, 1 + 5 * 32, 1 + 5 * 32 + 1, 1 + 5 * 32 + 1 + 1 + 1024]
    assert words[starts].tolist() == widths.tolist()
    assert words.size == starts[-1] + 1 + 17 * 32
    np.testing.assert_array_equal(
        reference.decode_miniblock(words.view(np.uint8), values.size, np.uint32), values
    )


def test_reference_rejects_malformed_buffers():
    buf = inputs.pack(np.arange(3000, dtype=np.uint32) % 128, 7, np.uint32)
    with pytest.raises(ValueError):
        reference.unpack(buf[:-4], 7, 3000, np.uint32)
    with pytest.raises(TypeError):
        reference.unpack(buf, 7, 3000, np.int32)
    bad = inputs.pack_miniblock(np.arange(100, dtype=np.uint16), np.uint16)
    bad[0] = 17  # a width word above 16 bits
    with pytest.raises(ValueError):
        reference.decode_miniblock(bad, 100, np.uint16)


def test_workload_is_what_the_issue_asks_for():
    u32 = [w for t, w in inputs.UNPACK_SHAPES if t == "uint32"]
    assert u32 == [1, 3, 7, 13, 24, 32]
    assert {t for t, _ in inputs.UNPACK_SHAPES + inputs.MINIBLOCK_SHAPES} == {
        "uint16",
        "uint32",
        "uint64",
    }
    assert inputs.DISTRIBUTIONS == ["uniform", "skewed"]
    assert 1_000_000 <= inputs.NUM_VALUES <= 10_000_000 and inputs.NUM_VALUES % 1024


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in ["uint8", "W=0", "W=64", "raw tail", "N=0", "N=1", "unaligned", "np.dtype"]:
        assert any(needle in label for label in held), needle


@pytest.mark.parametrize(
    "name, kind",
    [("no_fl_order", "wrong"), ("padded_tail_only", "wrong"), ("replay_by_id", "static")],
)
def test_shortcuts_are_rejected(name, kind):
    # oracle.run loads the file under the oracle's own module name: numba's cache records that
    # name, so loading the file under any other name would break the oracle's later cache loads.
    report = oracle.run("bitpack", REDTEAM / f"{name}.py", seeds=[oracle.FIXED_SEEDS[0]])
    assert not report.passed and {f.kind for f in report.failures} == {kind}


def test_search_and_outputs_agree_on_the_speed_workload():
    w = inputs.workload("decode_miniblock", ("uint32", 13), "skewed")
    np.testing.assert_array_equal(inputs.search(kernels, w), w.values)
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
