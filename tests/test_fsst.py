"""fsst: the reference against a pure-Python decoder, the encoder round trip, the kernel."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.fsst import inputs, kernels, reference

REDTEAM = Path(__file__).parent / "redteam" / "fsst"


def _python_decode(table: bytes, offsets: list[int], codes: bytes) -> list[bytes]:
    """The FSST decoding rule on Python bytes, straight from the serialized table."""
    n = int.from_bytes(table[:8], "little") & 255
    symbols = [table[8 + 8 * i : 8 + 8 * i + table[8 + 8 * n + i]] for i in range(n)]
    strings = []
    for start, end in itertools.pairwise(offsets):
        out, i = bytearray(), start
        while i < end:
            if codes[i] == 255:
                out.append(codes[i + 1])
                i += 2
            else:
                out += symbols[codes[i]] if codes[i] < n else b""
                i += 1
        strings.append(bytes(out))
    return strings


@pytest.mark.parametrize("label", ["fsst_decode urls", "fsst_decode random: escape runs"])
def test_reference_matches_a_pure_python_decoder(label):
    case = next(c for c in inputs.correctness_cases() if c.label == label)
    table, offsets, codes = case.make(SplitMix64(4))
    out_offsets, data = reference.fsst_decode(table, offsets, codes)
    expected = _python_decode(table.tobytes(), offsets.tolist(), codes.tobytes())
    decoded = [data[a:b].tobytes() for a, b in itertools.pairwise(out_offsets)]
    assert decoded == expected
    assert out_offsets.dtype == offsets.dtype and out_offsets[0] == 0


@pytest.mark.parametrize("kind", [*inputs.CORPORA, "short"])
def test_encoder_round_trips_and_looks_like_fsst(kind):
    rng = SplitMix64(9)
    data, offsets = inputs.corpus(rng.spawn("c"), kind, 40_000)
    table_buf, code_offsets, codes = inputs.compress(rng.spawn("t"), data, offsets)
    out_offsets, decoded = reference.fsst_decode(table_buf, code_offsets, codes)
    np.testing.assert_array_equal(decoded, data)
    np.testing.assert_array_equal(out_offsets, offsets)
    symbols, lengths, switch = reference.parse_symbol_table(table_buf)
    n = int(np.count_nonzero(lengths))
    assert switch and 100 <= n <= 255 and lengths[:n].min() >= 1 and lengths[:n].max() <= 8
    assert data.size / codes.size > 1.4  # it compresses
    used = codes[codes != 255]
    assert lengths[used].mean() > 1.5  # mostly multi-byte symbols


def test_trained_words_page_has_some_escapes_and_long_symbols():
    w = inputs.workload("words", inputs.SIZES[0])
    symbols, lengths, _ = reference.parse_symbol_table(w.symbol_table)
    escapes = np.count_nonzero(w.codes == 255) / w.codes.size
    assert 0 < escapes < 0.05 and lengths.max() >= 5
    offsets, data = reference.fsst_decode(w.symbol_table, w.offsets, w.codes)
    np.testing.assert_array_equal(data, w.data)


def test_serialized_table_is_lances_layout():
    table = inputs.SymbolTable(
        np.array([0x6968, 0x61], dtype=np.uint64), np.array([2, 1]), terminator=7, suffix_lim=1
    )
    buf = inputs.serialize(table)
    assert buf.size == 2312
    header = int.from_bytes(buf[:8].tobytes(), "little")
    assert header == (0x46535354 << 32) | (1 << 24) | (1 << 16) | (7 << 8) | 2
    assert buf[8:24].tobytes() == b"hi\0\0\0\0\0\0a\0\0\0\0\0\0\0" and buf[24:26].tolist() == [2, 1]
    symbols, lengths, switch = reference.parse_symbol_table(buf)
    assert symbols[:2].tolist() == [0x6968, 0x61] and symbols[2] == reference.FSST_CORRUPT
    assert lengths[:3].tolist() == [2, 1, 0] and switch


def test_small_pages_are_stored_raw_and_pass_through():
    data, offsets = inputs.corpus(SplitMix64(1), "urls", 4000)
    table, out_offsets, codes = inputs.compress(SplitMix64(2), data, offsets)
    assert not reference.parse_symbol_table(table)[2]
    result = reference.fsst_decode(table, out_offsets[3:], codes)
    np.testing.assert_array_equal(result[0], out_offsets[3:])  # offsets returned as given
    np.testing.assert_array_equal(result[1], data)


def test_reference_rejects_bad_input():
    table = inputs.serialize(inputs.random_table(SplitMix64(1), 10))
    with pytest.raises(ValueError):
        reference.parse_symbol_table(table[:-1])
    bad = table.copy()
    bad[7] = 0  # breaks the "FSST" magic
    with pytest.raises(ValueError):
        reference.parse_symbol_table(bad)
    with pytest.raises(ValueError):  # a string ending in a dangling escape
        reference.fsst_decode(
            table, np.array([0, 2, 3], dtype=np.int32), np.array([1, 2, 255], dtype=np.uint8)
        )


def test_workload_is_what_the_issue_asks_for():
    assert inputs.CORPORA == ["words", "urls", "emails", "hex_ids", "numbers"]
    assert inputs.SIZES == [1 << 20, 16 << 20]
    assert inputs.MAX_SYMBOLS == 255 and inputs.SAMPLE_TARGET == 1 << 14


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in ["int64", "sliced", "strided", "unaligned", "0xFF", "switch off", "empty"]:
        assert any(needle in label for label in held), needle


@pytest.mark.parametrize(
    "name, case", [("ff_classified_per_byte", "0xFF"), ("switch_ignored", "switch off")]
)
def test_decoding_shortcuts_are_rejected(name, case):
    # oracle.run loads the file under the oracle's own module name (numba's cache records it).
    report = oracle.run("fsst", REDTEAM / f"{name}.py", seeds=[oracle.FIXED_SEEDS[0]])
    # A wrong decoder returns data of the wrong length too: `contract` comes with `wrong`.
    assert not report.passed and "wrong" in {f.kind for f in report.failures}
    assert {f.kind for f in report.failures} <= {"wrong", "contract"}
    assert any(case in f.label for f in report.failures)


def test_search_and_outputs_agree_on_the_speed_workload():
    w = inputs.workload("urls", inputs.SIZES[0])
    offsets, data = inputs.search(kernels, w)
    np.testing.assert_array_equal(data, w.data)
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
