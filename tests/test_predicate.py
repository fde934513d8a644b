"""predicate: Lance's float semantics (arrow-rs total order, -0.0 == +0.0), the reference against
pure Python, the kernel against it."""

import struct
from pathlib import Path

import numpy as np
import pytest

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.predicate import inputs, kernels, reference

PY_OPS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


def _total_key(x, dtype) -> int:
    """IEEE 754 totalOrder key from the bytes, in pure Python (Rust's f64::total_cmp), with -0.0
    read as +0.0 first (Lance's filter compares the zeros as equal)."""
    if dtype.startswith("float") and float(x) == 0.0:
        return 0  # both zeros: +0.0's key
    if dtype == "float32":
        bits = struct.unpack("<i", np.asarray(x, dtype).tobytes())[0]
        return bits ^ ((bits >> 31) & 0x7FFFFFFF)
    if dtype == "float64":
        bits = struct.unpack("<q", np.asarray(x, dtype).tobytes())[0]
        return bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)
    return int(x)


def _python_bitmap(values, holds, validity):
    out = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        valid = validity is None or (validity[i // 8] >> (i % 8)) & 1
        if valid and holds(v):
            out[i // 8] |= 1 << (i % 8)
    return np.frombuffer(bytes(out), dtype=np.uint8)


@pytest.mark.parametrize("dtype", inputs.DTYPES)
def test_reference_matches_pure_python_lance_order(dtype):
    rng = SplitMix64(7)
    values = inputs._column(rng, dtype, 203, "extremes")
    validity = inputs.random_validity(rng, 203, 0.2)
    for op, fn in PY_OPS.items():
        for s in values[:9]:
            sc = np.asarray(s, dtype=dtype).reshape(())
            key = _total_key(sc, dtype)
            want = _python_bitmap(
                values, lambda v, fn=fn, key=key: fn(_total_key(v, dtype), key), validity
            )
            np.testing.assert_array_equal(reference.compare_scalar(values, op, sc, validity), want)
    lo, hi = (np.asarray(x, dtype=dtype).reshape(()) for x in (values[3], values[5]))
    klo, khi = _total_key(lo, dtype), _total_key(hi, dtype)
    want = _python_bitmap(values, lambda v: klo <= _total_key(v, dtype) <= khi, None)
    np.testing.assert_array_equal(reference.between(values, lo, hi, None), want)


@pytest.mark.parametrize("impl", [reference, kernels], ids=["reference", "kernels"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lance_float_semantics(impl, dtype):
    """Lance's filter: arrow-ord cmp.rs's total_cmp and bit equality for NaNs, unlike IEEE; but
    -0.0 == +0.0 in every op and in BETWEEN, like IEEE (pylance 14.0.2, see the fidelity checks)."""

    def one(x, op, s):
        values = np.array([x], dtype=dtype)
        return bool(
            impl.compare_scalar(values, op, np.asarray(s, dtype=dtype).reshape(()), None)[0]
        )

    def zeros_between(lo, hi):
        values = np.array([-0.0, 0.0], dtype=dtype)
        bounds = (np.asarray(b, dtype=dtype).reshape(()) for b in (lo, hi))
        return impl.between(values, *bounds, None).tolist()

    payload = np.array([inputs.NAN_PAYLOAD[dtype]]).view(dtype)[0]
    for x, s in [(-0.0, 0.0), (0.0, -0.0), (-0.0, -0.0), (0.0, 0.0)]:
        assert one(x, "eq", s) and one(x, "le", s) and one(x, "ge", s), (x, s)
        assert not (one(x, "ne", s) or one(x, "lt", s) or one(x, "gt", s)), (x, s)
    assert one(-0.0, "gt", -1e-45) and one(-0.0, "lt", 1e-45) and one(-1.5, "lt", -0.0)
    assert one(-np.nan, "lt", -0.0) and one(np.nan, "gt", -0.0) and one(np.nan, "ne", 0.0)
    for lo, hi in [(-0.0, 0.0), (0.0, -0.0), (0.0, 0.0), (-0.0, -0.0)]:
        assert zeros_between(lo, hi) == [0b11], (lo, hi)
    assert zeros_between(-np.inf, -0.0) == [0b11] and zeros_between(0.0, np.inf) == [0b11]
    assert zeros_between(-np.inf, -1e-45) == [0] and zeros_between(1e-45, np.inf) == [0]
    assert one(np.nan, "gt", np.inf) and one(np.nan, "eq", np.nan)  # same bits: equal
    assert one(-np.nan, "lt", -np.inf) and one(-np.nan, "lt", np.nan)
    assert one(payload, "ne", np.nan) and one(payload, "gt", np.nan)  # payload orders by bits
    assert not one(np.nan, "lt", np.nan) and one(np.nan, "ge", np.nan)
    assert one(-np.inf, "lt", -3.0e38) and one(np.inf, "le", np.inf)


@pytest.mark.parametrize("impl", [reference, kernels], ids=["reference", "kernels"])
def test_bitmap_layout_padding_and_nulls(impl):
    values = np.arange(11, dtype=np.int32)
    everything = impl.compare_scalar(values, "ge", np.asarray(0, np.int32).reshape(()), None)
    assert everything.dtype == np.uint8 and everything.tolist() == [0xFF, 0x07]  # padding 0
    validity = np.array([0b10101010, 0xFF], dtype=np.uint8)  # padding bits of byte 1 set
    out = impl.compare_scalar(values, "lt", np.asarray(4, np.int32).reshape(()), validity)
    assert out.tolist() == [0b00001010, 0x00]  # rows 1 and 3: valid and < 4
    out = impl.between(values, *(np.asarray(v, np.int32).reshape(()) for v in (2, 9)), validity)
    assert out.tolist() == [0b10101000, 0b00000011]
    assert impl.between(
        values[:0], *(np.asarray(v, np.int32).reshape(()) for v in (0, 1)), None
    ).shape == (0,)


def test_workload_is_what_the_issue_asks_for():
    assert inputs.NUM_VALUES == 16 * 8192  # Lance's scan batches; 1 MB at float64: fits L2
    assert inputs.DTYPES == ["int32", "int64", "float32", "float64"]
    assert inputs.ORDERS == ["random", "sorted"]
    assert sorted({sel for _, _, sel in inputs.CALL}) == [0.001, 0.5, 0.999]
    assert {op for op, _, _ in inputs.CALL} == set(reference.OPS)
    w = inputs.workload("float32", "random", 200_000)
    outs = inputs.outputs(reference, w)
    valid = np.unpackbits(w.validity, count=200_000, bitorder="little").astype(bool)
    for (op, _, selectivity), bitmap in zip(inputs.CALL, outs, strict=False):
        hit = np.unpackbits(bitmap, count=200_000, bitorder="little").astype(bool)
        assert hit.mean() == pytest.approx(selectivity * valid.mean(), abs=0.002), op
    assert np.unpackbits(outs[-1], count=200_000, bitorder="little").mean() == pytest.approx(
        0.5, abs=0.01
    )


@pytest.mark.parametrize("case", inputs.correctness_cases(), ids=lambda c: c.label)
def test_kernel_passes_every_correctness_case(case):
    rng = SplitMix64(oracle.FIXED_SEEDS[0]).spawn(case.label)
    assert oracle.check_case(case, kernels, reference, rng, cross_call=True) == []


def test_held_out_cases_exist_beyond_the_speed_workload():
    held = [c.label for c in inputs.correctness_cases() if c.held_out]
    for needle in ["scalar=nan", "scalar=-0.0", "all null", "None", "n=63", "n=0", "strided"]:
        assert any(needle in label for label in held), needle


def _ieee_kernels():
    """The tempting shortcut: numpy's IEEE comparisons (NaN compares false, -0.0 == 0.0)."""

    class Ieee:
        ops = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
               "eq": np.equal, "ne": np.not_equal}  # fmt: skip

        @classmethod
        def compare_scalar(cls, values, op, scalar, validity):
            hit = cls.ops[op](values, scalar)
            if validity is not None:
                hit &= np.unpackbits(validity, count=values.size, bitorder="little").astype(bool)
            return np.packbits(hit, bitorder="little")

        @staticmethod
        def between(values, lo, hi, validity):
            hit = (values >= lo) & (values <= hi)
            if validity is not None:
                hit &= np.unpackbits(validity, count=values.size, bitorder="little").astype(bool)
            return np.packbits(hit, bitorder="little")

    return Ieee


def test_ieee_comparisons_are_rejected_on_floats_only():
    shortcut = _ieee_kernels()
    rejected = set()
    for case in inputs.correctness_cases():
        rng = SplitMix64(5).spawn(case.label)
        fails = oracle.check_case(case, shortcut, reference, rng, cross_call=False)
        assert {f.kind for f in fails} <= {"wrong"}, fails
        if fails:
            rejected.add(case.label)
    assert any("scalar=nan" in label for label in rejected)
    assert any("scalar=-nan" in label for label in rejected)
    assert all("float" in label for label in rejected), rejected


def test_total_order_zeros_are_rejected_on_zero_cases_only():
    """The kernel from before the contract followed Lance (-0.0 < +0.0, arrow-rs's total_cmp taken
    literally; tests/redteam/predicate/total_order_zeros.py) fails exactly where a zero meets the
    other zero: float cases with a zero scalar or zero bounds. NaN, integer and grid cases pass."""
    path = Path(__file__).parent / "redteam" / "predicate" / "total_order_zeros.py"
    old = oracle.load_module_from(path, "predicate_rt_total_order_zeros")
    rejected = set()
    for case in inputs.correctness_cases():
        fails = oracle.check_case(case, old, reference, SplitMix64(5).spawn(case.label), False)
        assert {f.kind for f in fails} <= {"wrong"}, fails
        if fails:
            rejected.add(case.label)
    # Against +0.0 total order differs where -0.0 rows fall (lt, ge, eq, ne), against -0.0 where
    # +0.0 rows do (le, gt, eq, ne): the fidelity checks' 32 former mismatches.
    differ = {"0.0": ("lt", "ge", "eq", "ne"), "-0.0": ("le", "gt", "eq", "ne")}
    for dtype in ("float32", "float64"):
        for zero, ops in differ.items():
            for op in ops:
                assert f"compare_scalar {op} {dtype} scalar={zero}" in rejected, (op, zero)
        for lo_hi in ("0.0..-0.0", "0.0..0.0", "-inf..-0.0"):
            assert any(f"between {dtype} {lo_hi} " in label for label in rejected), lo_hi
        for special in ("nan", "-nan", "inf", "-inf"):
            assert not any(f"{dtype} scalar={special}" in label for label in rejected), special
        assert not any(f"{dtype} -nan..nan" in label for label in rejected)
    assert all("float" in label for label in rejected), rejected


def test_search_and_outputs_agree():
    w = inputs.workload("int64", "sorted", 100_000)
    outs = inputs.outputs(kernels, w)
    assert len(outs) == len(inputs.CALL) + 1
    np.testing.assert_array_equal(inputs.search(kernels, w), outs[-1])
    assert oracle.workload_mismatches(lambda impl: inputs.outputs(impl, w), kernels, reference) == 0
