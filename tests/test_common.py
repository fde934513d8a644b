import math

import numpy as np
import pytest

from autoresearch.common import SplitMix64, cached_arrays, geomean, peak_rss_mb


def test_splitmix64_reference_vectors():
    rng = SplitMix64(1234567)
    assert [rng.next_u64() for _ in range(3)] == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
    ]


def test_bulk_draws_continue_the_scalar_stream():
    scalar = SplitMix64(99)
    expected = [scalar.next_u64() for _ in range(1000)]
    bulk = SplitMix64(99)
    got = bulk.u64(10).tolist() + bulk.u64(990).tolist()
    assert got == expected
    assert bulk.next_u64() == scalar.next_u64()


def test_distributions_have_their_shape():
    rng = SplitMix64(7)
    u = rng.uniform(100_000, -1.0, 1.0)
    assert u.min() >= -1.0 and u.max() < 1.0 and abs(u.mean()) < 0.02
    n = rng.normal(100_001)
    assert len(n) == 100_001 and abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02
    i = rng.integers(100_000, 10)
    assert i.min() == 0 and i.max() == 9 and np.bincount(i).min() > 9000
    p = rng.permutation(1000)
    assert sorted(p.tolist()) == list(range(1000))
    with pytest.raises(ValueError):
        rng.integers(3, 0)


def test_spawned_streams_are_independent_and_reproducible():
    a = SplitMix64(5).spawn("x").u64(4)
    assert np.array_equal(a, SplitMix64(5).spawn("x").u64(4))
    assert not np.array_equal(a, SplitMix64(5).spawn("y").u64(4))


def test_geomean():
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert math.isnan(geomean([]))
    with pytest.raises(ValueError):
        geomean([1.0, 0.0])


def test_peak_rss_is_a_plausible_size():
    assert 10 < peak_rss_mb() < 100_000


def test_cached_arrays_round_trip_and_key(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_STATE_DIR", str(tmp_path))  # caches live in state_root()
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    source = tmp_path / "gen.py"
    source.write_text("v1")
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(5)}

    first = cached_arrays(source, "k", build)
    again = cached_arrays(source, "k", build)
    assert np.array_equal(first["a"], again["a"]) and len(calls) == 1
    source.write_text("v2")  # a changed generator never reuses old data
    cached_arrays(source, "k", build)
    assert len(calls) == 2
    helper = tmp_path / "helper.py"  # nor does one whose shared helper changed
    helper.write_text("h1")
    cached_arrays(source, "k", build, [helper])
    cached_arrays(source, "k", build, [helper])
    assert len(calls) == 3
    helper.write_text("h2")
    cached_arrays(source, "k", build, [helper])
    assert len(calls) == 4
