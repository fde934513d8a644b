"""The experiment's secret workload: speed workloads drawn from a salted seed under
AUTORESEARCH_SPEED_SALT (common.speed_seed, cached_arrays), set by bench.py for paired runs only.

Small workloads only, and no asv: bench.run's call to asv is replaced by a recorder.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from autoresearch import bench, common, oracle
from autoresearch.common import ENV_SPEED_SALT, SplitMix64, cached_arrays, speed_seed

REDTEAM = Path(__file__).resolve().parent / "redteam"
SALT_A, SALT_B = "3f1c0ffee0ddba11", "9a7e5eed00c0ffee"
PQ_COMBO = ((128, 16, 256), "uniform")  # the combination the pq_l2 seed-answer kernels hold


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Workload caches (and module copies) in a fresh temp dir, no salt until a test sets one."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(ENV_SPEED_SALT, raising=False)
    return tmp_path


def _clear_workload_caches(*modules) -> None:
    # workload() functions are lru-cached per process: a salt set mid-process must not hit them.
    for m in modules:
        m.workload.cache_clear()


def test_speed_seed_is_the_seed_without_a_salt(monkeypatch):
    monkeypatch.delenv(ENV_SPEED_SALT, raising=False)
    assert speed_seed(0x1A2CE) == 0x1A2CE
    monkeypatch.setenv(ENV_SPEED_SALT, "")
    assert speed_seed(0x1A2CE) == 0x1A2CE


def test_speed_seed_is_secret_and_deterministic_per_salt(monkeypatch):
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_A)
    a = speed_seed(0x1A2CE)
    assert a != 0x1A2CE and a == speed_seed(0x1A2CE)  # every asv process of a run agrees
    assert speed_seed(0xB17BAC) != a  # targets' seeds stay apart
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_B)
    assert speed_seed(0x1A2CE) not in (a, 0x1A2CE)
    monkeypatch.setenv(ENV_SPEED_SALT, "not hex")
    with pytest.raises(ValueError, match=ENV_SPEED_SALT):
        speed_seed(1)


def test_generators_outside_a_workload_build_ignore_the_salt(monkeypatch):
    """Correctness cases, the gate's bootstrap: only cached_arrays' builds are salted."""
    monkeypatch.delenv(ENV_SPEED_SALT, raising=False)
    public = SplitMix64(7).spawn("x").u64(5)
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_A)
    assert np.array_equal(SplitMix64(7).spawn("x").u64(5), public)


def test_cached_arrays_keys_on_the_salt_in_its_own_folder(private_tmp, monkeypatch):
    source = private_tmp / "gen.py"
    source.write_text("v1")
    builds = []

    def build():
        builds.append(1)
        return {"a": SplitMix64(0x5EED).spawn("k").u64(8)}

    public = cached_arrays(source, "k", build)["a"]
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_A)
    salted_a = cached_arrays(source, "k", build)["a"]
    again_a = cached_arrays(source, "k", build)["a"]  # from disk: same salt, same data
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_B)
    salted_b = cached_arrays(source, "k", build)["a"]
    assert len(builds) == 3
    assert np.array_equal(salted_a, again_a)
    assert not np.array_equal(salted_a, public) and not np.array_equal(salted_a, salted_b)
    monkeypatch.delenv(ENV_SPEED_SALT)
    assert np.array_equal(cached_arrays(source, "k", build)["a"], public) and len(builds) == 3

    folder = common.salted_cache_dir(int(SALT_A, 16))
    assert len(list(folder.glob("*.npz"))) == 1 and folder.parent == common.inputs_cache_dir()
    names = [str(p) for p in common.inputs_cache_dir().rglob("*")]
    assert not any(salt in n for n in names for salt in (SALT_A, SALT_B))  # never the salt itself


def test_prune_removes_only_abandoned_salted_folders(private_tmp):
    old = common.salted_cache_dir(1)
    young = common.salted_cache_dir(2)
    for folder in (old, young):
        folder.mkdir(parents=True)
        (folder / "w.npz").write_bytes(b"x")
    long_ago = time.time() - common.SALTED_CACHE_MAX_AGE_SECS - 60
    for p in (old, old / "w.npz"):
        os.utime(p, (long_ago, long_ago))
    public = common.inputs_cache_dir() / "public.npz"
    public.write_bytes(b"x")
    os.utime(public, (long_ago, long_ago))
    assert common.prune_salted_caches() == [old]
    assert not old.exists() and young.exists() and public.exists()


def _same_layout_other_values(public, salted) -> None:
    assert public.keys() == salted.keys()
    for name in public:
        a, b = np.asarray(public[name]), np.asarray(salted[name])
        assert a.shape == b.shape and a.dtype == b.dtype, name
    assert any(not np.array_equal(public[n], salted[n]) for n in public)


@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_predicate_workload_under_a_salt(private_tmp, monkeypatch, dtype):
    """Integer and float columns: same shape, dtype, cardinality and null fraction, other draws."""
    from autoresearch.predicate import inputs

    n = 4096
    _clear_workload_caches(inputs)
    public = vars(inputs.workload(dtype, "random", n))
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_A)
    _clear_workload_caches(inputs)
    try:
        salted = vars(inputs.workload(dtype, "random", n))
    finally:
        _clear_workload_caches(inputs)
    public = {k: v for k, v in public.items() if isinstance(v, np.ndarray)}
    salted = {k: v for k, v in salted.items() if isinstance(v, np.ndarray)}
    _same_layout_other_values(public, salted)
    assert np.unique(public["values"]).size == pytest.approx(np.unique(salted["values"]).size, 0.1)
    ones = [np.unpackbits(w["validity"]).mean() for w in (public, salted)]
    assert ones[0] == pytest.approx(ones[1], abs=0.03)


def _pq_workload(monkeypatch, salt: str | None):
    from autoresearch.pq_l2 import inputs

    if salt is None:
        monkeypatch.delenv(ENV_SPEED_SALT, raising=False)
    else:
        monkeypatch.setenv(ENV_SPEED_SALT, salt)
    _clear_workload_caches(inputs)
    try:
        return inputs.workload(*PQ_COMBO)
    finally:
        _clear_workload_caches(inputs)


def test_pq_l2_workload_under_a_salt(private_tmp, monkeypatch):
    import dataclasses

    public = dataclasses.asdict(_pq_workload(monkeypatch, None))
    salted = dataclasses.asdict(_pq_workload(monkeypatch, SALT_A))
    _same_layout_other_values(public, salted)
    assert all(not np.array_equal(public[n], salted[n]) for n in public)


def test_seed_answers_kernel_never_hits_the_salted_workload(private_tmp, monkeypatch):
    """tests/redteam/pq_l2/seed_answers_disguised.py holds the public workload's answers (the
    oracle passes it); the experiment times a salted workload, where its lookup finds nothing."""
    from autoresearch.pq_l2 import reference

    monkeypatch.delenv(ENV_SPEED_SALT, raising=False)
    cheat = oracle.load_module_from(
        REDTEAM / "pq_l2" / "seed_answers_disguised.py", "redteam_seed_answers_salt_test"
    )
    public = _pq_workload(monkeypatch, None)
    assert np.array_equal(cheat.CODEBOOK, public.codebook)  # it would hit the public workload
    assert np.array_equal(cheat.CODES, public.codes)
    salted = _pq_workload(monkeypatch, SALT_A)
    assert not np.array_equal(cheat.CODEBOOK, salted.codebook)
    assert not np.array_equal(cheat.CODES, salted.codes)
    assert all(cheat._row(cheat.QUERY_ROWS, q) < 0 for q in salted.queries)
    # So every timed call computes, and computes right.
    q = salted.queries[0]
    table = cheat.distance_table(salted.codebook, q)
    expected = reference.distance_table(salted.codebook, q)
    assert np.allclose(table, expected, rtol=0, atol=common.MAX_ABS_ERR * np.abs(expected).max())


def test_reading_the_salt_through_libc_is_what_the_static_check_rejects(private_tmp, monkeypatch):
    """tests/redteam/pq_l2/salt_from_libc.py really reads the salt (numba's ExternalFunction calls
    getenv) and holds the secret workload's answers; the static check names only that."""
    path = REDTEAM / "pq_l2" / "salt_from_libc.py"
    source = path.read_text()
    problems = oracle.static_problems(
        source, oracle.DEFAULT_ALLOWED_IMPORTS, oracle.harness_secrets("pq_l2")
    )
    assert problems and all("ExternalFunction" in p for p in problems), problems
    without_rule = oracle.FORBIDDEN_ATTRS - {"ExternalFunction"}
    monkeypatch.setattr(oracle, "FORBIDDEN_ATTRS", without_rule)
    monkeypatch.setattr(
        oracle, "DENIED_OBJECTS", tuple(d for d in oracle.DENIED_OBJECTS if "External" not in d)
    )
    secrets = oracle.harness_secrets("pq_l2")
    assert oracle.static_problems(source, oracle.DEFAULT_ALLOWED_IMPORTS, secrets) == []

    monkeypatch.setenv(ENV_SPEED_SALT, SALT_B)
    cheat = oracle.load_module_from(path, "redteam_salt_from_libc_test")
    salted = _pq_workload(monkeypatch, SALT_B)
    assert np.array_equal(cheat.CODEBOOK, salted.codebook)  # the hole the static check closes
    assert np.array_equal(cheat.CODES, salted.codes)


# ---------------------------------------------------------------------------
# bench.run: a salt for the paired run only, cleaned up, recorded as a flag
# ---------------------------------------------------------------------------


@pytest.fixture
def fake_bench(private_tmp, monkeypatch):
    """bench.run with asv replaced by a recorder that creates the salted cache folder, as the
    benchmark processes would; results and the baseline's kernels.py in the temp dir."""
    calls = []
    result = private_tmp / "result.json"
    result.write_text("{}")
    baseline_kernels = private_tmp / "baseline_kernels.py"
    baseline_kernels.write_text("# baseline\n")

    def fake_asv(*args, env=None, **kwargs):
        salt = env.get(ENV_SPEED_SALT)
        folder = common.salted_cache_dir(int(salt, 16)) if salt else None
        if folder is not None:
            folder.mkdir(parents=True)
            (folder / "w.npz").write_bytes(b"x")
        calls.append({"args": args, "env": env, "folder": folder})
        if fake_asv.fail:
            raise RuntimeError("asv run exited 1")
        return ""

    fake_asv.fail = False
    monkeypatch.setenv(bench.ENV_MACHINE, "test-machine")
    monkeypatch.setattr(bench, "RESULTS", private_tmp / "results")
    (private_tmp / "results" / "test-machine").mkdir(parents=True)
    monkeypatch.setattr(bench, "asv", fake_asv)
    monkeypatch.setattr(bench, "dirty_paths", lambda: [])
    monkeypatch.setattr(bench, "ensure_python_wrapper", lambda: Path(sys.executable))
    monkeypatch.setattr(bench, "ensure_machine", lambda name: None)
    monkeypatch.setattr(bench, "write_baseline", lambda target, rev: baseline_kernels)
    monkeypatch.setattr(bench, "result_path", lambda commit, machine=None: result)
    return calls, fake_asv, private_tmp / "results" / "test-machine" / "ab_pairs.jsonl"


def test_bench_salts_the_paired_run_only(fake_bench, monkeypatch):
    calls, _, pairs = fake_bench
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_A)  # inherited: must not leak into a plain run
    bench.run("pq_l2")
    bench.run("pq_l2", peers=True)
    assert [ENV_SPEED_SALT in c["env"] for c in calls] == [False, False]
    assert not pairs.exists()

    bench.run("pq_l2", baseline="HEAD")
    bench.run("pq_l2", baseline="HEAD")
    salts = [c["env"][ENV_SPEED_SALT] for c in calls[2:]]
    assert len(set(salts)) == 2 and SALT_A not in salts  # fresh every paired run
    assert all(len(bytes.fromhex(s)) == bench.SALT_BYTES for s in salts)
    assert all(not c["folder"].exists() for c in calls[2:])  # the salted workloads are gone
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert [r["salted"] for r in rows] == [True, True]
    assert not any(s in pairs.read_text() for s in salts)  # a flag, never the salt


def test_bench_removes_the_salted_workloads_when_asv_fails(fake_bench):
    calls, fake_asv, pairs = fake_bench
    fake_asv.fail = True
    with pytest.raises(RuntimeError):
        bench.run("pq_l2", baseline="HEAD")
    assert calls[0]["folder"] is not None and not calls[0]["folder"].exists()
    assert not pairs.exists()
