"""bench.py and asv.conf.json: asv's own environment, named as asv names it, per clone; the
machine registered as `asv machine` registers it; two clones benchmarking at once stay apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from autoresearch import bench

REPO = Path(__file__).resolve().parents[1]


def test_env_name_is_asvs_own():
    from asv import config, environment

    conf = config.Config.load(str(REPO / "asv.conf.json"))
    (env,) = list(environment.get_environments(conf, None))
    assert bench.env_name() == env.name
    assert bench.result_path("0123456789abcdef").name == f"01234567-{env.name}.json"


def test_environment_pins_what_the_kernels_speed_depends_on():
    conf = bench.load_conf()
    assert conf["environment_type"] == "virtualenv"
    assert {"numpy", "numba"} <= set(conf["matrix"]["req"])
    assert all(len(v) == 1 for v in conf["matrix"]["req"].values())  # one environment, pinned
    assert conf["env_dir"] == ".asv/env"  # inside the clone: nothing shared through /tmp
    assert "existing" not in json.dumps(conf)


def test_machine_is_registered_with_every_field(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    bench.ensure_machine("some-cpu-2cpu")
    entry = json.loads((tmp_path / ".asv-machine.json").read_text())["some-cpu-2cpu"]
    assert all(entry.get(k) for k in bench.MACHINE_FIELDS), entry
    assert entry["machine"] == "some-cpu-2cpu" and entry["num_cpu"] == str(os.cpu_count())


def test_state_lives_in_this_environment_or_clone_not_a_shared_folder(monkeypatch, tmp_path):
    """numba's cache, workloads and module copies: under the interpreter's own environment (a
    clone's .venv, asv's environment in the clone's .asv), else the clone's ignored state folder;
    never a fixed path that every clone on the machine shares."""
    import autoresearch
    from autoresearch import common

    monkeypatch.delenv("AUTORESEARCH_STATE_DIR", raising=False)
    root = autoresearch.state_root()
    inside = Path(sys.prefix) if sys.prefix != sys.base_prefix else REPO / ".autoresearch"
    assert root.is_relative_to(inside), root
    assert common.inputs_cache_dir().is_relative_to(root)
    assert autoresearch.numba_cache_dir(autoresearch.PACKAGE_DIR).startswith(str(root))
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)  # a plain interpreter: the clone's folder
    assert autoresearch.state_root().is_relative_to(REPO / ".autoresearch")
    monkeypatch.setenv("AUTORESEARCH_STATE_DIR", str(tmp_path))
    assert autoresearch.state_root() == tmp_path


def test_a_kernel_edit_leaves_the_harness_digest_alone(tmp_path):
    """numba's cache is keyed on the harness source, not on kernels.py (numba stamps that file
    itself): a commit that changes one target's kernel keeps every other target's cache."""
    import shutil

    import autoresearch

    pkg = tmp_path / "autoresearch"
    shutil.copytree(autoresearch.PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = autoresearch.source_digest(pkg)
    (pkg / "pq_l2" / "kernels.py").write_text("# another kernel\n")
    assert autoresearch.source_digest(pkg) == before
    (pkg / "pq_l2" / "inputs.py").write_text("# another workload\n")
    assert autoresearch.source_digest(pkg) != before


# ---------------------------------------------------------------------------
# Real asv runs (slow): two clones at once, each timing its own kernel in its own environment
# ---------------------------------------------------------------------------

ONE = r"bench_pq_l2\.PqL2\.track_mismatches\(\(128, 16, 256\), 'uniform'\)"


def _clone(dest: Path, broken: bool) -> Path:
    subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True)
    if broken:  # a kernel that is wrong by a constant: track_mismatches counts every output
        kernels = dest / "autoresearch" / "pq_l2" / "kernels.py"
        text = kernels.read_text()
        text += (
            "\n\n_pq_distances_orig = pq_distances\n\n\n"
            "def pq_distances(table, codes):\n    return _pq_distances_orig(table, codes) + 1.0\n"
        )
        kernels.write_text(text)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "broken"]
        subprocess.run(git, cwd=dest, check=True)
    return dest


@pytest.mark.slow
def test_two_clones_benchmarking_at_once_do_not_affect_each_other(tmp_path):
    clones = {"good": _clone(tmp_path / "good", False), "broken": _clone(tmp_path / "broken", True)}
    outputs = {}

    def run(name: str, clone: Path) -> None:
        env = dict(os.environ)  # this machine, as a user's run registers it (no test machine
        env.pop("AUTORESEARCH_STATE_DIR", None)  # in ~/.asv-machine.json: asv would then ask)
        cmd = [sys.executable, "-m", "autoresearch.bench", "pq_l2", "--bench", ONE]
        outputs[name] = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True)

    threads = [threading.Thread(target=run, args=item) for item in clones.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mismatches = {}
    for name, clone in clones.items():
        proc = outputs[name]
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True)
        path = bench.result_path(head.stdout.decode().strip(), results=clone / "results")
        data = json.loads(path.read_text())
        cells = data["results"]["bench_pq_l2.PqL2.track_mismatches"]
        row = dict(zip(data["result_columns"], cells, strict=False))
        mismatches[name] = [x for x in row["result"] if x == x]  # the one combination run
        assert data["requirements"] == bench.load_conf()["matrix"]["req"] | data["requirements"]
        # each clone's environment, under the clone
        pth = list(
            (clone / ".asv" / "env").glob("*/lib/python*/site-packages/lance_autoresearch.pth")
        )
        assert len(pth) == 1 and pth[0].read_text().strip().startswith(str(clone / ".asv"))
    assert mismatches["good"] == [0] and mismatches["broken"][0] > 0, mismatches


@pytest.mark.slow
def test_the_plain_asv_workflow_then_the_gate_then_an_experiment(tmp_path):
    """README's workflow in a fresh clone: commit a kernel edit, `asv run HEAD^..HEAD`, the gate
    decides HEAD against HEAD^; what asv left behind does not block the next experiment."""
    clone = _clone(tmp_path / "clone", False)
    env = dict(os.environ)
    env.pop("AUTORESEARCH_STATE_DIR", None)
    machine = bench.machine_name()
    kernels = clone / "autoresearch" / "pq_l2" / "kernels.py"

    def sh(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True)

    bench.ensure_machine(machine)  # as bench.py does on a user's first run
    kernels.write_text(kernels.read_text() + "\n# A/A: a comment only\n")
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "A/A")
    head = sh("git", "rev-parse", "HEAD").stdout.strip()
    parent = sh("git", "rev-parse", "HEAD^").stdout.strip()
    asv = [sys.executable, "-m", "asv", "run", "HEAD^..HEAD", "--machine", machine]
    run = sh(*asv, "--record-samples", "-b", r"^bench_pq_l2\.PqL2\.")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    gate = sh(sys.executable, "-m", "autoresearch.gate")  # this machine, by default
    block = dict(ln.split(": ", 1) for ln in gate.stdout.splitlines() if ": " in ln)
    assert (block["candidate"], block["baseline"]) == (head, parent), gate.stdout
    assert block["target"] == "all" and "target_result: pq_l2" in gate.stdout, gate.stdout
    # A keep here was the first combination timed on two routes (docs/gate.md, "Compiled here or
    # loaded"): the block says which combination read what.
    assert block["decision"] in ("discard", "undecided"), gate.stdout
    assert gate.returncode in (1, 3), gate.stdout

    # What asv left (its result file, machine file, benchmark list) never blocks an experiment:
    # only kernels.py may differ from HEAD, and results are not code.
    from autoresearch.harness.checks import check_tree
    from autoresearch.harness.git import Git

    sh("git", "reset", "-q", "--hard", "HEAD^")  # experiments chain on kept commits, not ours
    left = sh("git", "status", "--porcelain", "--untracked-files=all", "results").stdout
    assert machine in left, left
    kernels.write_text(kernels.read_text() + "# the next idea\n")
    check_tree(Git(clone), "pq_l2")  # raises Refused if anything blocks


def test_asv_gets_a_machine_file_of_the_runs_own(tmp_path):
    """asv rewrites ~/.asv-machine.json in place at every `asv run`: two clones starting at once
    read each other's half-written file. bench's asv reads and rewrites a copy of its own."""
    from asv.machine import MachineCollection

    env = {"HOME": "/nonexistent"}
    bench.private_machine_file(tmp_path / "home", "some-cpu-2cpu", env)
    assert env["HOME"] == str(tmp_path / "home") and env["PIP_CACHE_DIR"]
    entry = MachineCollection.load(
        "some-cpu-2cpu", _path=str(tmp_path / "home" / ".asv-machine.json")
    )
    assert all(entry.get(k) for k in bench.MACHINE_FIELDS) and entry["machine"] == "some-cpu-2cpu"


def test_importing_the_suites_imports_no_kernel():
    # asv's forkserver (bench.LAUNCH_METHOD) imports every suite once and forks each benchmark
    # from it: a kernel imported there would be shared by every benchmark and outlive its own.
    code = (
        "import importlib, pkgutil, sys, benchmarks\n"
        "for m in pkgutil.iter_modules(benchmarks.__path__):\n"
        "    importlib.import_module('benchmarks.' + m.name)\n"
        "print(sorted(n for n in sys.modules if n.endswith('.kernels')))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert bench.LAUNCH_METHOD == "forkserver"


def test_a_decision_run_measures_the_ratios_and_a_kept_commit_the_rest():
    """bench --part: the experiment's decision runs the two paired benchmarks alone (the oracle's
    report stands in for track_mismatches); a kept commit adds time_* and track_mismatches. Names
    as asv matches `-b` against a parameterized benchmark: with its parameters."""
    import re

    methods = ("track_ab_ratio", "track_ab_ratio_baseline_first", "track_mismatches")
    names = [f"bench_pq_l2.PqL2.{m}" for m in methods]
    names += ["bench_pq_l2.PqL2.time_search", "bench_pq_l2.PqL2Peers.time_search"]
    names = [f"{n}((128, 16, 256), 'uniform')" for n in names]

    def selected(part: str) -> list[str]:
        return [n for n in names if re.search(bench.bench_regex("pq_l2", False, part), n)]

    assert selected("decision") == names[:2]
    assert selected("history") == names[2:4]
    assert selected("all") == names[:4]  # what `asv run` runs: every main method, no peers
    plain = "bench_pq_l2.PqL2.track_ab_ratio_baseline_first"  # a benchmark without parameters
    assert re.search(bench.bench_regex("pq_l2", False, "decision"), plain)


def test_only_the_decisions_selection_leaves_the_kernel_unloaded():
    """abtest.ENV_PAIRED_ONLY (setup imports no kernel) is for the paired benchmarks alone: any
    selection that may run time_*, track_mismatches or the peers gets the full setup."""
    assert bench.paired_only("pq_l2", bench.bench_regex("pq_l2", False, "decision"))
    for part in ("all", "history"):
        assert not bench.paired_only("pq_l2", bench.bench_regex("pq_l2", False, part))
    assert not bench.paired_only("pq_l2", bench.bench_regex("pq_l2", True, "decision"))
    assert not bench.paired_only("pq_l2", r"^bench_pq_l2\.PqL2\.track_ab_ratio\(")
    assert not bench.paired_only("pq_l2", bench.bench_regex("bitpack", False, "decision"))


def test_the_oracle_compiles_where_asvs_processes_look(tmp_path, monkeypatch):
    """The experiment runs the oracle with asv's environment's state folder (numba's cache there),
    so asv's first benchmark process loads the candidate instead of compiling it again: the folder
    an asv process computes for itself (autoresearch.state_root under its own prefix)."""
    from autoresearch import ENV_STATE_DIR, env_state_dir

    assert bench.asv_state_env(tmp_path) == {}  # no environment yet: the oracle's own
    folder = bench.env_folder(tmp_path)
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").touch()
    if sys.prefix != sys.base_prefix:  # in a virtual environment, as asv's processes are
        env = {k: v for k, v in os.environ.items() if k != ENV_STATE_DIR}
        code = "import autoresearch; print(autoresearch.state_root())"
        own = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout.strip()
        assert own == str(env_state_dir(Path(sys.prefix)))  # the rule asv_state_env applies
    monkeypatch.setattr(bench, "runs_pinned_versions", lambda conf=None: True)
    assert bench.asv_state_env(tmp_path) == {ENV_STATE_DIR: str(env_state_dir(folder))}
    monkeypatch.setattr(bench, "runs_pinned_versions", lambda conf=None: False)
    assert bench.asv_state_env(tmp_path) == {}  # another numpy or numba: compile in asv


def test_pinned_versions_are_compared_with_this_interpreters():
    from importlib import metadata

    numpy = metadata.version("numpy")
    assert bench.runs_pinned_versions({"matrix": {"req": {"numpy": [numpy]}}})
    assert not bench.runs_pinned_versions({"matrix": {"req": {"numpy": ["0.0.1"]}}})
    assert not bench.runs_pinned_versions({"matrix": {"req": {"no-such-dist": ["1"]}}})


def test_the_command_refuses_while_an_experiment_holds_the_checkout(tmp_path, monkeypatch, capsys):
    """A live lock (an experiment, loop or re-baseline in this checkout) stops `bench` with exit 1
    before it touches asv; neither the holder's own descendants nor a dead owner's lock do (the
    next experiment recovers that one)."""
    from autoresearch.harness.layout import LOCK_FILE, state_dir
    from autoresearch.harness.procs import process_identity

    lock = state_dir(tmp_path) / LOCK_FILE
    lock.parent.mkdir(parents=True)
    ran = []
    monkeypatch.setattr(bench, "REPO", tmp_path)
    monkeypatch.setattr(bench, "run", lambda *a, **k: ran.append(a))
    live = {**process_identity(os.getpid()), "owner": "experiment", "step": {"phase": "bench"}}
    lock.write_text(json.dumps(live))
    assert bench.main(["pq_l2"]) == 1 and not ran
    err = capsys.readouterr().err
    assert "another experiment holds" in err and f"pid {os.getpid()}" in err and "step bench" in err

    # The holder's own child (the experiment's bench, in its worktree or not) is not refused.
    parent = {**process_identity(os.getppid()), "owner": "experiment"}
    lock.write_text(json.dumps(parent))
    bench.check_idle(tmp_path)

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_identity = process_identity(dead.pid)
    dead.wait()
    lock.write_text(json.dumps({**dead_identity, "owner": "experiment"}))
    bench.check_idle(tmp_path)  # no error: its owner is gone
    lock.unlink()
    bench.check_idle(tmp_path)
