"""Run a target's asv suite for the checked-out commit: plain `asv run HEAD^!`, flags included.

    python -m autoresearch.bench TARGET [--part all|decision|history] [--peers] [--bench REGEX]
                                        [--baseline REV] [--run-dir DIR]

It is exactly what a user types (docs/design.md, "asv"), with the flags this project depends on:
- asv's own environment (asv.conf.json: virtualenv, numpy and numba pinned by its matrix), under
  this clone's .asv/env (a linked git worktree shares its main clone's): per-clone, nothing in
  the temporary folder, the same environment name (so result file names) on every machine;
- results are recorded for the commit benchmarked, only from a clean tree;
- samples are always recorded (`--record-samples`): the gate's statistics need them;
- `--quick` is never used (it overwrites saved results with single cold samples);
- the machine is registered first (`asv machine --yes`: CPU, cores, RAM, OS, arch), under a name
  derived from the hardware, so every clone on this kind of machine files results together.
The suites' `track_ab_ratio` pairs the commit's kernel with its first parent's (autoresearch.abtest)
on a workload drawn from a secret salt, fresh per run (drawn here and handed to the suites through
a private folder, AUTORESEARCH_RUN_DIR, so that the next step times the same workloads;
`--run-dir` names one made before: the experiment's, whose workloads were drawn while its oracle
ran). `--baseline REV` only checks that REV's kernel is that first parent's (the experiment's last
kept commit), failing otherwise.

`--part` selects the main classes' methods: `all` (the default, what `asv run` runs), `decision`
(`track_ab_ratio` and `track_ab_ratio_baseline_first`: the experiment's decision run; the gate
takes the speed workload's correctness from the oracle's report, `--oracle-report`) or `history`
(`time_*` and `track_mismatches`, the dashboard's series: the experiment runs them for a kept
commit only, into the same result file, which asv extends). A history run makes no confirmation.

`--peers` adds the *Peers classes (the libraries to beat). They run in asv's environment, not in
the user's venv: the peer libraries missing there (pyproject's `peers` extra) are installed into it
first, numpy, numba and psutil pinned to the matrix's versions; a peer that cannot be installed
skips in asv (its classes raise NotImplementedError, recorded as n/a).

Then, when the paired benchmark ran, the parent's confirmation (autoresearch/confirm.py): the two
kernels timed again in two processes of this command's own, their CPU time read from the OS, per
combination; written to .autoresearch/confirm/MACHINE/COMMIT-ENV.json for the gate
(`--confirmation FILE`), which refuses to decide when asv's ratios and these disagree.

It refuses to start while an experiment, loop or re-baseline holds this checkout's lock
(.autoresearch/lock.json): it would time beside that run's benchmark, spoiling both, and share
the asv environment that run is using.

Exit codes: 0 ran (individual benchmarks may still have failed: the gate reads that from the JSON),
1 a dirty tree, an unknown revision, a baseline that is not the pairing's, a `--run-dir` without a
run salt, or this checkout busy with an experiment, loop or re-baseline, 2 asv itself failed,
64 bad usage (a bad flag, an unknown target).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autoresearch import ENV_STATE_DIR, PACKAGE_DIR, TARGETS, env_state_dir
from autoresearch.harness import asvresults, cli, peer_env, run_folder
from autoresearch.harness.machine import ENV_MACHINE, machine_name  # noqa: F401 (bench.ENV_MACHINE)

REPO = PACKAGE_DIR.parent
RESULTS = REPO / asvresults.RESULTS_DIR
ASV_CONF = "asv.conf.json"
CONFIRM_DIR = ".autoresearch/confirm"  # git-ignored: the parent's confirmations, per machine
MACHINE_FIELDS = ("arch", "cpu", "machine", "num_cpu", "os", "ram")  # what `asv machine` fills


class BenchError(Exception):
    """A problem the user must fix (exit 1)."""


def git(*args: str, check: bool = True, cwd: Path = REPO) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise BenchError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def confirmation_path(commit: str, machine: str | None = None, repo: Path = REPO) -> Path:
    """Where `run` writes the confirmation of `commit`'s paired ratios (next to asv's results,
    outside results/: it is evidence for one decision, not history)."""
    return asvresults.path(repo / CONFIRM_DIR, machine or machine_name(), commit, env_name())


def ensure_machine(name: str) -> None:
    """Register the machine with asv as `asv machine --yes` would, every field filled (CPU, cores,
    RAM, OS, arch) but the name, which comes from the hardware (hostnames change per VM). A
    non-interactive `asv run` fails without it; with one machine registered, plain asv commands
    use it."""
    from asv.machine import Machine, MachineCollection

    try:
        known = json.loads(Path(MachineCollection.get_machine_file_path()).read_text())
    except (OSError, ValueError):
        known = {}
    entry = known.get(name)
    if isinstance(entry, dict) and all(entry.get(k) for k in MACHINE_FIELDS):
        return
    MachineCollection.save(name, {**Machine.get_defaults(), "machine": name})


def private_machine_file(home: Path, name: str, env: dict) -> None:
    """Point asv (through HOME in `env`) at a machine file of this run's own. `asv run` rewrites
    ~/.asv-machine.json at every start, in place: two clones benchmarking at once read each
    other's half-written file and one run died before it began. pip keeps the user's cache."""
    from asv.machine import Machine

    home.mkdir(mode=0o700, exist_ok=True)  # a run folder given twice (bench --run-dir)
    info = {**Machine.get_defaults(), "machine": name}
    (home / ".asv-machine.json").write_text(json.dumps({name: info, "version": 1}, indent=4))
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["HOME"] = str(home)


def load_conf(repo: Path = REPO) -> dict:
    """asv.conf.json (asv allows // comment lines; this project's has no other extension)."""
    path = repo / ASV_CONF
    try:
        text = path.read_text()
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc}") from None
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]
    try:
        return json.loads("\n".join(lines))
    except ValueError as exc:
        raise BenchError(f"{path} is not valid JSON (comments aside): {exc}") from None


def env_name(conf: dict | None = None) -> str:
    """The name asv gives this project's environment (asv.environment.get_env_name): its tool,
    Python and pinned requirements, sorted, e.g. virtualenv-py3.11-numba0.68.1-numpy2.4.6-...."""
    conf = load_conf() if conf is None else conf
    (python,) = conf["pythons"]
    reqs = {}
    for key, values in (conf.get("matrix", {}).get("req") or {}).items():
        (reqs[key],) = values if isinstance(values, list) else [values]
    parts = [conf["environment_type"], f"py{python}"]
    parts += [f"{k}{v}" if v else k for k, v in sorted(reqs.items())]
    return re.sub(r"[^\w.-]", "_", "-".join(parts))  # asv's sanitize_filename, for these names


def result_path(commit: str, machine: str | None = None, results: Path = RESULTS) -> Path:
    """Where asv writes the results of `commit` in this project's environment."""
    return asvresults.path(results, machine or machine_name(), commit, env_name())


def other_machines(commit: str | None = None, results: Path = RESULTS) -> list[str]:
    """Machines (other than this one) with results in `results`, for `commit` if given."""
    mine = machine_name()
    found = []
    for folder in asvresults.machine_dirs(results):
        if folder.name != mine and any(folder.glob(asvresults.file_pattern(commit))):
            found.append(folder.name)
    return found


def machine_hint(commit: str | None = None, results: Path = RESULTS) -> str:
    """What to say when this machine has no results: who has them, and how to make ours."""
    others = other_machines(commit, results)
    if not others:
        return ""
    return (
        f"; this machine is {machine_name()!r}, the repository's results are under "
        f"{', '.join(repr(m) for m in others)} (benchmark this one with "
        f"`python -m autoresearch.bench TARGET` or `asv run HEAD^!`)"
    )


def share_env_dir(repo: Path) -> None:
    """In a linked git worktree, use the main clone's .asv (environments are per clone, and take
    a download and 15 s to make): a symlink, removed with the worktree."""
    common = Path(git("rev-parse", "--path-format=absolute", "--git-common-dir", cwd=repo))
    main = common.parent
    link = repo / ".asv"
    if main.resolve() == repo.resolve() or link.exists() or link.is_symlink():
        return
    (main / ".asv").mkdir(exist_ok=True)
    link.symlink_to(main / ".asv", target_is_directory=True)


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


# asv forks every benchmark process from a server that imported the suites (numpy, numba, the
# harness) once, instead of starting an interpreter per process: pq_l2's decision run measured 22 s
# against 28 s with "spawn" (track_mismatches 2.3 s against 5.2 s). No kernel is imported before the
# fork (suites import kernels.py in setup(), or the pairing does), so every benchmark still gets a
# fresh kernel module.
LAUNCH_METHOD = "forkserver"

# The main classes' methods per part of a run. A decision needs the paired benchmarks alone (its
# two processes per combination: track_ab_ratio and track_ab_ratio_baseline_first): the
# experiment's oracle checked the same speed workload against the reference before (its report
# stands in for track_mismatches at the gate; 3-12 s of a decision). time_* and track_mismatches
# are the dashboard's history, measured for kept commits.
PARTS = {
    "all": "",
    # asv matches a parameterized benchmark's name with its parameters: "...track_ab_ratio(1, 2)"
    "decision": r"\w+\.track_ab_ratio(?:_baseline_first)?(?:\(|$)",
    "history": r"\w+\.(?:time_|track_mismatches)",
}


def bench_regex(target: str, peers: bool, part: str = "all") -> str:
    # The kernel's own classes; *Peers classes only when asked (they are slow and optional).
    if peers:
        return rf"^bench_{target}\."
    return rf"^bench_{target}\.(?!\w*Peers\.){PARTS[part]}"


def paired_only(target: str, regex: str) -> bool:
    """Does this selection run the paired benchmarks alone (the decision's part, exactly)? Only
    then may setup leave the kernel unloaded (abtest.ENV_PAIRED_ONLY): time_*, track_mismatches
    and the peers need it; another --bench (a test's one combination, say) gets the full setup."""
    return regex == bench_regex(target, False, "decision")


def check_baseline(target: str, commit: str, baseline: str, repo: Path = REPO) -> None:
    """The suite pairs `commit`'s kernel with its first parent's: `baseline` must carry that one."""
    from autoresearch.harness.git import other_kernel

    parent = git("rev-parse", "--verify", "--quiet", f"{commit}^", check=False, cwd=repo)
    base = git("rev-parse", "--verify", "--quiet", f"{baseline}^{{commit}}", check=False, cwd=repo)
    if not base:
        raise BenchError(f"--baseline {baseline!r} is not a commit")
    if not parent:
        raise BenchError(f"{commit[:12]} has no parent to pair its kernel against")
    if path := other_kernel(repo, parent, base, [target]):
        raise BenchError(
            f"the A/B benchmark pairs {commit[:12]} with its first parent {parent[:12]}, whose "
            f"{path} is not {baseline}'s: commit the candidate on top of the baseline's kernel"
        )


def check_idle(repo: Path) -> None:
    """Refuse while a live experiment, loop or re-baseline holds `repo`, unless it is this
    process's own ancestor (the experiment's bench child runs this command; a re-baseline calls
    `run`). Checked once, at the start."""
    import psutil

    from autoresearch.harness.layout import LOCK_FILE, state_dir
    from autoresearch.harness.lock import describe_holder, live_holder

    held = live_holder(repo)
    if held and held["pid"] not in {p.pid for p in psutil.Process().parents()}:
        path = state_dir(repo) / LOCK_FILE
        raise BenchError(f"{describe_holder(path, held)}: wait for it to finish")


def run(
    target: str,
    baseline: str | None = None,
    peers: bool = False,
    bench: str | None = None,
    allow_dirty: bool = False,
    stream=None,
    confirm: bool = True,
    part: str = "all",
    repair: bool = False,
    run_dir: Path | None = None,
) -> Path:
    """Benchmark HEAD for `target` (`asv run HEAD^!`), then confirm its paired ratios (unless
    `confirm` is false); returns the result file written. `run_dir`: a run folder from
    run_folder.start_drawing (its salt, its workloads drawn or being drawn), kept; by default
    one of its own, removed at the end."""
    from autoresearch import abtest

    if target not in TARGETS or not (PACKAGE_DIR / target / "inputs.py").exists():
        raise BenchError(f"unknown target {target!r}")
    dirty = dirty_paths()
    if dirty and not allow_dirty:
        raise BenchError("uncommitted changes would be recorded under HEAD: " + ", ".join(dirty))
    commit = git("rev-parse", "HEAD")
    if baseline is not None:
        check_baseline(target, commit, baseline)
    machine = machine_name()
    ensure_machine(machine)
    share_env_dir(REPO)
    if peers:
        ensure_peers(stream)
    if part != "history":
        print(f"bench: {candidate_cache_note(target)}", file=stream or sys.stderr, flush=True)
    env = dict(os.environ)
    env.pop("AUTORESEARCH_AB_BASELINE", None)  # pair with the first parent, as plain asv does
    env.pop("AUTORESEARCH_SPEED_SALT", None)  # the suites draw the run's salt themselves
    env.pop(abtest.ENV_PAIRED_ONLY, None)
    selected = bench or bench_regex(target, peers, part)
    if paired_only(target, selected):  # setup leaves the package's module be
        env[abtest.ENV_PAIRED_ONLY] = "1"
    run_folder.one_thread(env)
    own_run = run_dir is None
    drawing = None
    if own_run:
        run_dir, drawing = run_folder.start_drawing(target, env)
    try:
        try:
            salt = run_folder.run_salt(run_dir)
        except run_folder.NotARunFolder as exc:
            raise BenchError(str(exc)) from None
        private_machine_file(run_dir / "home", machine, env)
        env[abtest.ENV_RUN_DIR] = str(run_dir)
        try:
            asv(
                "run",
                f"{commit}^!",
                "--machine",
                machine,
                "--record-samples",
                "--launch-method",
                LAUNCH_METHOD,
                "--show-stderr",
                "-b",
                selected,
                env=env,
                stream=stream,
            )
        finally:
            run_folder.stop_drawing(drawing)
        path = result_path(commit, machine)
        if not path.exists():
            raise RuntimeError(f"asv wrote no results at {path}")
        if confirm and part != "history":
            confirm_paired(target, commit, path, run_dir, salt, env, stream, repair)
    finally:
        run_folder.stop_drawing(drawing)  # before the folder goes: it would make it again
        if own_run:
            shutil.rmtree(run_dir, ignore_errors=True)
    return path


def paired_ratios(results: Path, target: str) -> dict[str, float]:
    """The median pair ratio per combination whose paired benchmarks have one in `results`, by
    gate label: the geometric mean over its processes (track_ab_ratio and, where it ran,
    track_ab_ratio_baseline_first), as the gate reads it (asv's ratio, which the confirmation
    measures longer where it disagrees)."""
    from statistics import geometric_mean, median

    from autoresearch.harness import decide

    try:
        benches = asvresults.benches(asvresults.read(results), "results")
    except (OSError, asvresults.NotAResultFile):
        return {}
    per: dict[str, list[float]] = {}
    for name, b in asvresults.target_benches(benches, target).items():
        if name.split(".")[-1] in decide.AB_METHODS:
            cls = name.split(".")[1]
            for i, (combo, result) in enumerate(zip(b.combos, b.results, strict=False)):
                if asvresults.finite(result):
                    samples = b.samples[i] if b.samples else None
                    ok = (
                        isinstance(samples, list)
                        and samples
                        and all(map(asvresults.finite, samples))
                    )
                    per.setdefault(asvresults.combo_label(cls, combo), []).append(
                        median(samples) if ok else float(result)
                    )
    return {label: r[0] if len(r) == 1 else geometric_mean(r) for label, r in per.items()}


def env_folder(repo: Path = REPO) -> Path:
    """asv's environment of this project (asv names its folder by the environment's name)."""
    return repo / ".asv" / "env" / hashlib.md5(env_name().encode()).hexdigest()


def asv_state_env(repo: Path = REPO) -> dict:
    """{ENV_STATE_DIR: the state folder of asv's environment} when that environment exists and
    this interpreter has its pinned versions (numba compiles differently per numpy version, and
    its cache checks only its own), else {}: an oracle run with it compiles the candidate into the
    numba cache asv's benchmark processes read (harness/numba_cache.py), so the first of them
    loads instead of compiling (3-4 s)."""
    folder = env_folder(repo)
    if not (folder / "bin" / "python").exists() or not runs_pinned_versions():
        return {}
    return {ENV_STATE_DIR: str(env_state_dir(folder))}


def candidate_cache_note(target: str, repo: Path = REPO) -> str:
    """Whether asv's processes will load HEAD's kernel from the numba cache the oracle filled
    (experiment: bench.asv_state_env) or compile it themselves (3-4 s on bm25 and topk_merge)."""
    from autoresearch import numba_cache_dir
    from autoresearch.harness.numba_cache import is_compiled

    cache = numba_cache_dir(PACKAGE_DIR, env_state_dir(env_folder(repo)))
    source = (PACKAGE_DIR / target / "kernels.py").read_bytes()
    if is_compiled(cache, target, source):
        return "the candidate's machine code is in asv's numba cache: asv's processes load it"
    return "the candidate is not in asv's numba cache: asv's first process has a child compile it"


def runs_pinned_versions(conf: dict | None = None) -> bool:
    """Whether this interpreter's versions of the matrix's requirements are the pinned ones."""
    from importlib import metadata

    conf = load_conf() if conf is None else conf
    for name, versions in (conf.get("matrix", {}).get("req") or {}).items():
        pinned = versions[0] if isinstance(versions, list) else versions
        try:
            if pinned and metadata.version(name) != pinned:
                return False
        except metadata.PackageNotFoundError:
            return False
    return True


def ensure_peers(stream=None) -> None:
    """Install the peer libraries missing from asv's environment (made first if need be), with
    the matrix's versions pinned (harness/peer_env.py)."""
    python = env_folder() / "bin" / "python"
    peer_env.ensure_env(python, lambda: asv("setup", stream=stream))
    pins = [f"{name}=={versions[0]}" for name, versions in load_conf()["matrix"]["req"].items()]
    peer_env.install_missing(python, pins)


def asv_env_python(commit: str, repo: Path = REPO) -> Path | None:
    """The interpreter of asv's environment for this project, when asv's checkout there is
    `commit` (it is right after `asv run COMMIT^!`): children started with it import the harness
    and kernels asv timed and find their machine code in numba's cache there. None otherwise."""
    folder = env_folder(repo)
    python = folder / "bin" / "python"
    try:
        status = json.loads((folder / "asv-install-status.json").read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(status, dict) and status.get("commit_hash") == commit
    return python if ok and python.exists() and (folder / "project").is_dir() else None


def confirm_paired(
    target: str,
    commit: str,
    results: Path,
    run_dir: Path,
    salt: int,
    env: dict,
    stream=None,
    repair: bool = False,
) -> Path | None:
    """The parent's confirmation of `commit`'s paired ratios (confirm.py), written for the gate;
    None (and no file) when the paired benchmark did not run."""
    from autoresearch import confirm
    from autoresearch.harness import decide

    out_stream = stream or sys.stdout
    dest = confirmation_path(commit)
    dest.unlink(missing_ok=True)
    expected = paired_ratios(results, target)
    labels = list(expected)
    if not labels:
        return None
    source = subprocess.run(
        ["git", "show", f"{commit}^:autoresearch/{target}/kernels.py"],
        cwd=REPO,
        capture_output=True,
    )
    python = asv_env_python(commit)
    try:
        keepable = decide.could_keep(asvresults.read(results), target, repair)
    except (OSError, ValueError, asvresults.NotAResultFile):
        keepable = True  # unreadable here: confirm, and let the gate say what is wrong
    if not keepable:
        # A discard (or incorrect) for the gate as it will be run (--confirmed, and --repair when
        # given): the confirmation could only turn a keep into "cannot decide", so it is not made
        # (6-76 s of a decision). The gate fails closed on a skipped confirmation should its rules
        # keep after all (decide.decide).
        out = {"version": confirm.VERSION, "target": target, "ok": False, "skipped": True}
        out.update(combos={}, error="asv's ratios are a discard for the gate as it will be run")
    elif source.returncode:
        error = f"no first parent's kernels.py: {source.stderr.decode().strip()}"
        out = {"version": confirm.VERSION, "target": target, "ok": False, "combos": {}}
        out["error"] = error
    else:
        out_stream.write(f"confirmation: {len(labels)} combinations in processes of this command\n")
        out_stream.flush()
        out = confirm.confirm_run(
            target, labels, salt, run_dir, source.stdout, python or Path(sys.executable),
            run_dir if python else REPO, env, expected=expected,
        )  # fmt: skip
    out.update(commit=commit, baseline_kernel=hashlib.sha256(source.stdout).hexdigest())
    for label, c in out["combos"].items():
        out_stream.write(
            f"confirmation: {label} ratio={c['ratio']:.4f} pairs={c['pairs']} "
            f"spread={c['spread']:.4f}\n"
        )
    state = "ok" if out["ok"] else ("skipped: " if out.get("skipped") else "failed: ")
    state += "" if out["ok"] else str(out["error"])
    out_stream.write(f"confirmation: {state} ({out.get('seconds', 0):.1f} s)\n")
    out_stream.flush()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = cli.UsageParser("python -m autoresearch.bench", __doc__)
    cli.add_target(parser)
    parser.add_argument(
        "--baseline", help="check that the A/B pairing's side (the first parent) has REV's kernel"
    )
    parser.add_argument(
        "--part",
        choices=sorted(PARTS),
        default="all",
        help="all main methods (default), the gate's track_* only (decision), or time_* only "
        "(history, added to the commit's existing results)",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="the gate will judge with --repair: confirm ratios that are merely not slower too",
    )
    parser.add_argument("--peers", action="store_true", help="also time the peer libraries")
    parser.add_argument("--bench", help="asv -b regex overriding the target's default selection")
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="a run folder whose salted workloads are drawn or being drawn (the experiment's, "
        "started before its oracle); kept afterwards",
    )
    args = parser.parse_args(argv)
    cli.check_targets(parser, args.target, protocol=True)
    try:
        check_idle(REPO)
        path = run(
            args.target, args.baseline, args.peers, args.bench, part=args.part,
            repair=args.repair, run_dir=args.run_dir and args.run_dir.resolve(),
        )  # fmt: skip
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"results: {path.relative_to(REPO)}")
    commit = git("rev-parse", "HEAD")
    if confirmation_path(commit).exists():
        print(f"confirmation: {confirmation_path(commit).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
