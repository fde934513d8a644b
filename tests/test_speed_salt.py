"""The paired timing's secret workload: speed workloads drawn from a salted seed (common.salted,
common.speed_seed, cached_arrays) under a salt the suites' setup_cache draws once per asv run
(abtest.write_run_salt); AUTORESEARCH_SPEED_SALT salts a whole process.

Small workloads only, and no asv: bench.run's call to asv is replaced by a recorder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autoresearch import bench, common, oracle
from autoresearch.common import ENV_SPEED_SALT, SplitMix64, cached_arrays, speed_seed
from autoresearch.harness import run_folder
from autoresearch.harness import static_check as static_check_module

REDTEAM = Path(__file__).resolve().parent / "redteam"
SALT_A, SALT_B = "3f1c0ffee0ddba11", "9a7e5eed00c0ffee"
PQ_COMBO = ((128, 16, 256), "uniform")  # the combination the pq_l2 seed-answer kernels hold


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Workload caches (and module copies) in a fresh temp dir, no salt until a test sets one."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("AUTORESEARCH_STATE_DIR", str(tmp_path))
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
    rules = static_check_module  # the rules live where the checker reads them
    monkeypatch.setattr(rules, "FORBIDDEN_ATTRS", without_rule)
    monkeypatch.setattr(
        rules, "DENIED_OBJECTS", tuple(d for d in rules.DENIED_OBJECTS if "External" not in d)
    )
    secrets = oracle.harness_secrets("pq_l2")
    assert oracle.static_problems(source, oracle.DEFAULT_ALLOWED_IMPORTS, secrets) == []

    monkeypatch.setenv(ENV_SPEED_SALT, SALT_B)
    cheat = oracle.load_module_from(path, "redteam_salt_from_libc_test")
    salted = _pq_workload(monkeypatch, SALT_B)
    assert np.array_equal(cheat.CODEBOOK, salted.codebook)  # the hole the static check closes
    assert np.array_equal(cheat.CODES, salted.codes)


# ---------------------------------------------------------------------------
# The run's salt: drawn by asv's setup_cache, read by every paired benchmark of the run
# ---------------------------------------------------------------------------


def _fake_asv_run(monkeypatch, private_tmp) -> list:
    """bench.run with asv, the tree and the machine faked: the asv calls it makes."""
    calls = []
    monkeypatch.setenv(bench.ENV_MACHINE, "test-machine")
    monkeypatch.setattr(bench, "asv", lambda *a, env=None, **k: calls.append((a, env)) or "")
    monkeypatch.setattr(bench, "dirty_paths", lambda: [])
    monkeypatch.setattr(bench, "ensure_machine", lambda name: None)
    result = private_tmp / "result.json"
    result.write_text("{}")
    monkeypatch.setattr(bench, "result_path", lambda commit, machine=None: result)
    return calls


def test_bench_never_passes_a_salt_or_a_baseline_to_asv(private_tmp, monkeypatch):
    """bench.run is a plain `asv run COMMIT^!`: no salt or baseline in the environment. It names
    a private folder holding the salt it drew for the run (its confirmation times the same
    workloads), removed when the run ends."""
    calls = _fake_asv_run(monkeypatch, private_tmp)
    monkeypatch.setenv(ENV_SPEED_SALT, SALT_A)  # inherited: must not leak into asv's processes
    monkeypatch.setenv("AUTORESEARCH_AB_BASELINE", "/elsewhere/kernels.py")
    assert bench.run("pq_l2") == private_tmp / "result.json"
    (args, env), head = calls[0], bench.git("rev-parse", "HEAD")
    assert args[:2] == ("run", f"{head}^!") and "--record-samples" in args
    assert ENV_SPEED_SALT not in env and "AUTORESEARCH_AB_BASELINE" not in env
    from autoresearch import abtest

    run_dir = Path(env[abtest.ENV_RUN_DIR])
    assert not run_dir.exists()  # removed after the run


def test_the_experiments_run_folder_is_drawn_into_before_asv_and_kept(private_tmp, monkeypatch):
    """start_drawing (the experiment's, before its oracle): a private folder with a fresh salt and
    a child drawing every salted workload of the suite into it; bench.run(run_dir=...) hands that
    folder to asv's processes and leaves it for the caller (who may run bench in it again)."""
    from autoresearch import abtest, confirm

    calls = _fake_asv_run(monkeypatch, private_tmp)
    run_dir, drawing = run_folder.start_drawing("predicate")
    try:
        assert drawing.wait(timeout=120) == 0
        salt = run_folder.run_salt(run_dir)
        drawn = {p: p.stat().st_ino for p in run_dir.rglob("*.npz")}
        combos = confirm.suite_combinations("predicate")
        assert len(drawn) == len(combos)
        for _, make, args in combos:  # what asv's processes do: each loads, none draws again
            abtest.salted_workload(make, args, salt, run_dir)
        assert {p: p.stat().st_ino for p in run_dir.rglob("*.npz")} == drawn
        for _ in range(2):
            bench.run("predicate", run_dir=run_dir, confirm=False)
        assert calls[0][1][abtest.ENV_RUN_DIR] == str(run_dir) and run_dir.is_dir()
        assert run_folder.run_salt(run_dir) == salt
    finally:
        run_folder.stop_drawing(drawing)
        shutil.rmtree(run_dir, ignore_errors=True)


def test_a_run_folder_without_a_salt_is_refused(private_tmp, monkeypatch, capsys):
    _fake_asv_run(monkeypatch, private_tmp)
    with pytest.raises(bench.BenchError, match="not a run folder"):
        bench.run("predicate", run_dir=private_tmp, confirm=False)
    monkeypatch.setattr(bench, "check_idle", lambda repo: None)
    assert bench.main(["predicate", "--run-dir", str(private_tmp / "nowhere")]) == 1
    assert "not a run folder" in capsys.readouterr().err


def test_each_run_draws_a_fresh_salt_shared_by_its_processes(private_tmp, monkeypatch):
    from autoresearch import abtest

    monkeypatch.delenv(abtest.ENV_RUN_DIR, raising=False)
    monkeypatch.chdir(private_tmp)  # asv's setup_cache folder for the run
    abtest.write_run_salt()
    first = abtest.run_salt()
    assert first == abtest.run_salt() and first[1] == private_tmp  # every process of the run
    abtest.write_run_salt()
    assert abtest.run_salt()[0] != first[0]  # the next run's
    assert len(bytes.fromhex((private_tmp / abtest.SALT_FILE).read_text())) == abtest.SALT_BYTES
    monkeypatch.chdir(private_tmp / "..")  # outside asv: one salt per process, cached nowhere
    salt, cache = abtest.run_salt()
    assert cache is None and salt != first[0]


def test_a_bench_run_hands_its_salt_and_folder_to_the_suites(private_tmp, monkeypatch):
    from autoresearch import abtest

    run_dir, asv_dir = private_tmp / "run", private_tmp / "asv"
    run_dir.mkdir()
    asv_dir.mkdir()
    (run_dir / abtest.RUN_SALT_FILE).write_text(SALT_A)
    monkeypatch.setenv(abtest.ENV_RUN_DIR, str(run_dir))
    monkeypatch.chdir(asv_dir)  # asv's setup_cache folder
    abtest.write_run_salt()
    assert abtest.run_salt() == (int(SALT_A, 16), run_dir)  # cached where bench.py looks
    (asv_dir / abtest.SALT_FILE).write_text(SALT_B)  # not bench's salt: asv's own folder
    assert abtest.run_salt() == (int(SALT_B, 16), asv_dir)


def test_the_paired_workload_is_salted_and_leaves_the_public_one_alone(private_tmp, monkeypatch):
    from autoresearch import abtest
    from autoresearch.pq_l2 import inputs

    shape = ((16, 4, 16), "uniform")
    public = inputs.workload(*shape)
    salted = abtest.salted_workload(inputs.workload, shape, int(SALT_A, 16), private_tmp)
    again = abtest.salted_workload(inputs.workload, shape, int(SALT_A, 16), private_tmp)
    assert not np.array_equal(public.codes, salted.codes)  # other values ...
    assert public.codes.shape == salted.codes.shape  # ... same shapes
    assert np.array_equal(salted.codes, again.codes)  # the same in every process of the run
    assert any(p.name.startswith(common.SALTED_PREFIX) for p in private_tmp.iterdir())
    assert np.array_equal(inputs.workload(*shape).codes, public.codes)  # memo not poisoned
    in_memory = abtest.salted_workload(inputs.workload, shape, int(SALT_B, 16), None)
    assert not np.array_equal(in_memory.codes, salted.codes)
