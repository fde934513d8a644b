"""Run a target's asv suite the way this project needs, recording ordinary asv results.

    python -m autoresearch.bench TARGET [--baseline REV] [--peers]

It handles the traps of asv on these machines (docs/design.md, "asv"):
- benchmarks run in this interpreter (`existing`), reached through a wrapper at a fixed path, so the
  environment name, and so the result file names, are the same in every clone;
- results are saved under the commit being measured (`--set-commit-hash`), only from a clean tree
  (otherwise they would be filed under a commit that is not what ran);
- samples are always recorded (`--record-samples`): the gate's statistics need them;
- `--quick` is never used (it overwrites saved results with single cold samples);
- the machine is registered first (`asv machine --yes`), under a name derived from the hardware;
- with `--baseline REV`, that commit's kernels.py is written out and the suite's `track_ab_ratio`
  times it against the working tree's kernel, interleaved (autoresearch.abtest); the pairing is
  appended to results/<machine>/ab_pairs.jsonl so the gate can tell what was paired with what;
- with `--baseline REV`, every speed workload is also drawn from a secret seed (a fresh salt in
  asv's environment, common.ENV_SPEED_SALT; removed with its cached workloads after the run), so a
  kernel holding answers for the public workload gains nothing where it is timed. Plain and
  `--peers` runs time the public workload, comparable across commits.

Exit codes: 0 ran (individual benchmarks may still have failed: the gate reads that from the JSON),
1 bad usage or a dirty tree, 2 asv itself failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autoresearch import PACKAGE_DIR, TARGETS, common

REPO = PACKAGE_DIR.parent
RESULTS = REPO / "results"
PYTHON_WRAPPER = Path("/tmp/lance-autoresearch/bin/python")
ENV_MACHINE = "AUTORESEARCH_MACHINE"
SALT_BYTES = 8  # a SplitMix64 seed's worth of secret: far beyond regenerating every candidate


class BenchError(Exception):
    """A problem the user must fix (exit 1)."""


def git(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise BenchError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def machine_name() -> str:
    """A name for this kind of machine: CPU model and core count (hostnames change per VM)."""
    if os.environ.get(ENV_MACHINE):
        return os.environ[ENV_MACHINE]
    model = "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1]
                break
    except OSError:
        pass
    slug = re.sub(r"\((r|tm)\)|cpu|@.*", "", model.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-") or "cpu"
    return f"{slug}-{os.cpu_count()}cpu"


def ensure_python_wrapper() -> Path:
    """A fixed path that runs this interpreter, so asv's `existing` env name never varies."""
    PYTHON_WRAPPER.parent.mkdir(parents=True, exist_ok=True)
    script = f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'
    if not PYTHON_WRAPPER.exists() or PYTHON_WRAPPER.read_text() != script:
        tmp = PYTHON_WRAPPER.with_suffix(f".{os.getpid()}")
        tmp.write_text(script)
        tmp.chmod(0o755)
        tmp.replace(PYTHON_WRAPPER)  # atomic: a concurrent run never sees half a script
    return PYTHON_WRAPPER


def ensure_machine(name: str) -> None:
    """Register the machine with asv once (a non-interactive `asv run` fails without it)."""
    path = Path.home() / ".asv-machine.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if name not in known:
        asv("machine", "--machine", name, "--yes", capture=True)


def env_name() -> str:
    return "existing-py" + str(PYTHON_WRAPPER).replace(os.sep, "_")


def result_path(commit: str, machine: str | None = None) -> Path:
    """Where asv writes the results of `commit` in this project's environment."""
    return RESULTS / (machine or machine_name()) / f"{commit[:8]}-{env_name()}.json"


def asv(*args: str, capture: bool = False, env: dict | None = None, stream=None) -> str:
    cmd = [sys.executable, "-m", "asv", *args]
    if capture:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise BenchError(f"asv {args[0]} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out = []
    for line in proc.stdout:
        out.append(line)
        (stream or sys.stdout).write(f"[{time.monotonic() - start:6.1f}s] {line}")
        (stream or sys.stdout).flush()
    if proc.wait() not in (0, 2):  # 2: some benchmark failed, which the JSON records
        raise RuntimeError(f"asv {args[0]} exited {proc.returncode}:\n{''.join(out[-20:])}")
    return "".join(out)


def dirty_paths() -> list[str]:
    """Changes that would make the results lie about which code ran."""
    status = git(
        "status", "--porcelain", "--untracked-files=no", "--", "autoresearch", "benchmarks"
    )
    return [line[3:] for line in status.splitlines() if line.strip()]


def bench_regex(target: str, peers: bool) -> str:
    # The kernel's own classes; *Peers classes only when asked (they are slow and optional).
    return rf"^bench_{target}\." if peers else rf"^bench_{target}\.(?!\w*Peers\.)"


def write_baseline(target: str, baseline: str) -> Path:
    """The baseline commit's kernels.py, where the A/B benchmark can import it from."""
    source = git("show", f"{baseline}:autoresearch/{target}/kernels.py")
    path = REPO / ".asv" / "ab" / baseline[:12] / f"{target}_kernels.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source + "\n")
    return path


def record_pair(
    target: str, commit: str, baseline: str, kernels_file: Path, machine: str, salted: bool
) -> None:
    row = {
        "target": target,
        "candidate": commit,
        "baseline": baseline,
        "baseline_kernels_sha256": hashlib.sha256(kernels_file.read_bytes()).hexdigest(),
        "env_name": env_name(),
        "salted": salted,  # timed on a secret workload (the salt itself is never written down)
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = RESULTS / machine / "ab_pairs.jsonl"
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run(
    target: str,
    baseline: str | None = None,
    peers: bool = False,
    bench: str | None = None,
    allow_dirty: bool = False,
    stream=None,
) -> Path:
    """Benchmark HEAD's working tree for `target`; returns the result file written."""
    if target not in TARGETS or not (PACKAGE_DIR / target / "inputs.py").exists():
        raise BenchError(f"unknown target {target!r}")
    dirty = dirty_paths()
    if dirty and not allow_dirty:
        raise BenchError("uncommitted changes would be recorded under HEAD: " + ", ".join(dirty))
    commit = git("rev-parse", "HEAD")
    machine = machine_name()
    python = ensure_python_wrapper()
    ensure_machine(machine)
    env = dict(os.environ)
    env.pop("AUTORESEARCH_AB_BASELINE", None)
    env.pop(common.ENV_SPEED_SALT, None)
    # asv_runner imports numpy (through pympler) before benchmarks/__init__.py runs, so thread
    # limits must already be in the environment: a two-thread BLAS peer on a loaded 2-core VM
    # measured 0.25 s instead of 0.9 ms.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.setdefault(var, "1")
    # This clone's package, whatever else is installed in the interpreter (asv drops PYTHONPATH
    # and passes ASV_PYTHONPATH on instead).
    env["ASV_PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    kernels_file = salt = None
    if baseline is not None:
        baseline = git("rev-parse", "--verify", f"{baseline}^{{commit}}")
        kernels_file = write_baseline(target, baseline)
        env["AUTORESEARCH_AB_BASELINE"] = str(kernels_file)
        # A secret workload for the decision: fresh per run (the re-measurement too), the same in
        # every asv process of this run, out of the kernel's reach (no os, no environment).
        common.prune_salted_caches()
        salt = os.urandom(SALT_BYTES).hex()
        env[common.ENV_SPEED_SALT] = salt
    try:
        asv(
            "run",
            "-E",
            f"existing:{python}",
            "--set-commit-hash",
            commit,
            "--machine",
            machine,
            "--record-samples",
            "--launch-method",
            "spawn",
            "--show-stderr",
            "-b",
            bench or bench_regex(target, peers),
            env=env,
            stream=stream,
        )
    finally:
        if salt is not None:  # never reused, and large: predicate's alone is ~500 MB
            shutil.rmtree(common.salted_cache_dir(int(salt, 16)), ignore_errors=True)
    path = result_path(commit, machine)
    if not path.exists():
        raise RuntimeError(f"asv wrote no results at {path}")
    if baseline is not None:
        record_pair(target, commit, baseline, kernels_file, machine, salted=salt is not None)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autoresearch.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", help=f"one of: {', '.join(TARGETS)}")
    parser.add_argument("--baseline", help="pair the kernel against this commit's (A/B timing)")
    parser.add_argument("--peers", action="store_true", help="also time the peer libraries")
    parser.add_argument("--bench", help="asv -b regex overriding the target's default selection")
    args = parser.parse_args(argv)
    try:
        path = run(args.target, args.baseline, args.peers, args.bench)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"results: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
