"""Tests for autoresearch.report: the results log, the progress chart, the README target table.

The table is built from a scratch git repository holding copies of real asv result files
(tests/data/report/, described in its README.md) under its own commits, and a hand-written log.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autoresearch import report
from autoresearch.harness import chart
from autoresearch.harness.cli import EXIT_USAGE

DATA = Path(__file__).parent / "data" / "report"
LOG = DATA / "logs" / "pq_l2.tsv"
MACHINE = "amd-epyc-2cpu"
ENV = "existing-py_tmp_lance-autoresearch_bin_python"
REAL = {  # the real asv result files, by the commit they were recorded for
    "kernel_only_a": DATA / "results" / MACHINE / f"208d1991-{ENV}.json",
    "kernel_only_b": DATA / "results" / MACHINE / f"c2144c75-{ENV}.json",
    "with_peers": DATA / "results" / MACHINE / f"b2800a61-{ENV}.json",
}
TARGETS = ("pq_l2", "posting_intersect", "bm25")

# The kept ratios of logs/pq_l2.tsv, in order: each candidate's time / the previous kept kernel's.
KEPT_RATIOS = (0.6712, 0.8127, 0.9124, 0.8843, 0.9402)
# 1 / (0.6712 * 0.8127 * 0.9124 * 0.8843 * 0.9402) = 2.41664...
PQ_L2_SPEEDUP = "2.42×"
# with_peers (b2800a61): per combination min(numpy, faiss) / kernel time; faiss wins all nine:
# 0.95245 0.96411 0.94696 0.89191 0.92543 0.90752 0.90818 0.94079 0.90688 -> geomean 0.92684.
WITH_PEERS_RATIO = "0.93×"
# The same file with faiss missing (NaN): numpy / kernel, geomean over nine combinations 2.13201;
# and with the kernel's 5th combination failed as well (null), over the other eight: 2.13863.
NUMPY_ONLY_RATIO = "2.13×"
NUMPY_ONLY_EIGHT_RATIO = "2.14×"
# With faiss 3x slower on the six combinations of the two small shapes numpy wins those:
# 2.32674 2.12828 2.05536 2.04042 2.07983 2.06227 (numpy), then 0.90818 0.94079 0.90688 (faiss)
# -> geomean 1.60077.
MIXED_RATIO = "1.60×"

PQ_L2_WHAT = "product-quantization L2 distances (Lance IVF_PQ search)"
POSTING_WHAT = (
    "posting-list AND for full-text search (Lance runs it through WAND, not a materialized "
    "intersection)"
)
README_TEXT = """# project

Intro text that the command must leave alone.

<!-- targets:begin -->
hand-typed table
<!-- targets:end -->

## After
More text.
"""


# ---------------------------------------------------------------------------
# Helpers: a scratch repository with results
# ---------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def _commit(repo: Path, message: str) -> str:
    with (repo / "history.txt").open("a") as f:
        f.write(message + "\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _place_result(repo: Path, source: Path, commit: str, mutate=None, machine=MACHINE) -> Path:
    """A copy of a real result file, recorded for `commit` (optionally changed by `mutate`)."""
    data = json.loads(source.read_text())
    data["commit_hash"] = commit
    if mutate is not None:
        mutate(data)
    out = repo / "results" / machine / f"{commit[:8]}-{ENV}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data))
    _git(repo, "add", str(out.relative_to(repo)))  # the table reads tracked files only
    return out


def _column(data: dict, bench: str, column: str) -> list:
    return data["results"][bench][data["result_columns"].index(column)]


def _drop_faiss(data: dict) -> None:
    """faiss not installed: asv records its combinations as skipped (NaN)."""
    values = _column(data, "bench_pq_l2.PqL2Peers.time_search", "result")
    values[1::2] = [math.nan] * len(values[1::2])  # the peer axis ['numpy', 'faiss'] is fastest


def _fail_kernel_combo(data: dict) -> None:
    _drop_faiss(data)
    _column(data, "bench_pq_l2.PqL2.time_search", "result")[4] = None  # a failed combination


def _slow_faiss_on_small_shapes(data: dict) -> None:
    values = _column(data, "bench_pq_l2.PqL2Peers.time_search", "result")
    for i in range(1, 12, 2):  # faiss at (128, 16, 256) and (256, 16, 256), 3 distributions each
        values[i] *= 3


def _faiss_as_a_fast_copy_roof(data: dict) -> None:
    """faiss renamed to the copy roof and made 10x faster: a roof is never the best peer."""
    params = _column(data, "bench_pq_l2.PqL2Peers.time_search", "params")
    params[-1] = [p if p != "'faiss'" else "'numpy copy'" for p in params[-1]]
    values = _column(data, "bench_pq_l2.PqL2Peers.time_search", "result")
    values[1::2] = [v / 10 for v in values[1::2]]


def _ten_times_faster_peers(data: dict) -> None:
    values = _column(data, "bench_pq_l2.PqL2Peers.time_search", "result")
    values[:] = [v / 10 for v in values]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """main: first -> peers -> latest; a side branch whose results must be ignored."""
    root = tmp_path_factory.mktemp("report") / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text(README_TEXT)
    for target in ("pq_l2", "posting_intersect"):
        package = root / "autoresearch" / target
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        shutil.copy(DATA / "programs" / f"{target}.md", package / "program.md")
    first = _commit(root, "first kernel")
    peers = _commit(root, "peers run")
    latest = _commit(root, "latest")
    _git(root, "checkout", "-q", "-b", "side", first)
    side = _commit(root, "a discarded candidate")
    _git(root, "checkout", "-q", "main")

    results = root / "results"
    shutil.copytree(DATA / "results", results)
    for path in REAL.values():  # only the copies filed under the scratch commits count
        (results / MACHINE / path.name).unlink()
    _place_result(root, REAL["kernel_only_a"], first)
    _place_result(root, REAL["with_peers"], peers)
    _place_result(root, REAL["kernel_only_b"], latest)
    _place_result(root, REAL["with_peers"], side, _ten_times_faster_peers)
    for exp in _kept()[::2]:  # a kept experiment's commit has its asv results (A/B ratios in them)
        _place_result(root, REAL["kernel_only_b"], exp.commit)
    (results / "experiments").mkdir()
    shutil.copy(LOG, results / "experiments" / "pq_l2.tsv")
    _git(root, "add", "results")
    return {"root": root, "first": first, "peers": peers, "latest": latest, "side": side}


@pytest.fixture
def repo(template: dict, tmp_path: Path) -> dict:
    """A fresh copy of the template repository for one test (building it takes ~20 git calls)."""
    root = tmp_path / "repo"
    shutil.copytree(template["root"], root, symlinks=True)
    return {**template, "root": root}


def _kept() -> list[report.Experiment]:
    return [e for e in report.read_log(LOG) if e.decision == "keep"]


def _rows(root: Path) -> dict[str, report.TargetRow]:
    return {r.target: r for r in report.target_rows(root, TARGETS)}


# ---------------------------------------------------------------------------
# The log and the speed-ups
# ---------------------------------------------------------------------------


def test_log_is_read_by_column_name_and_speedups_compound():
    experiments = report.read_log(LOG, "pq_l2")
    assert len(experiments) == 16
    assert [e.decision for e in experiments].count("keep") == 5
    assert tuple(e.ratio for e in experiments if e.decision == "keep") == KEPT_RATIOS

    points = report.progress(experiments)
    assert points[-1].frontier == pytest.approx(1 / math.prod(KEPT_RATIOS), rel=1e-12)
    # #2 (discarded, 1.0041) was timed against #1's kernel: it sits at 1/0.6712 / 1.0041.
    assert points[1].speedup == pytest.approx(1 / 0.6712 / 1.0041, rel=1e-12)
    assert points[1].frontier == pytest.approx(1 / 0.6712, rel=1e-12)
    # #4 failed: no timing, the frontier stays at #3's.
    assert points[3].decision == "fail" and math.isnan(points[3].speedup)
    assert points[3].frontier == pytest.approx(1 / (0.6712 * 0.8127), rel=1e-12)


def test_the_baseline_column_says_what_a_row_was_timed_against(tmp_path):
    header, *rows = LOG.read_text().splitlines()
    kept = _kept()
    # Row 13 (discard, 1.0021) timed against #6's kernel instead of #10's, the previous kept one.
    rows[12] = rows[12].replace(kept[3].commit, kept[2].commit)
    moved = tmp_path / "pq_l2.tsv"
    moved.write_text("\n".join([header, *rows]) + "\n")
    points = report.progress(report.read_log(moved))
    assert points[12].speedup == pytest.approx(1 / (0.6712 * 0.8127 * 0.9124) / 1.0021, rel=1e-12)
    assert points[12].frontier == pytest.approx(1 / math.prod(KEPT_RATIOS[:4]), rel=1e-12)

    # Without the column the loop's order decides, which for a consistent log is the same.
    col = header.split("\t").index("baseline")
    table = [line.split("\t") for line in LOG.read_text().splitlines()]
    no_baseline = tmp_path / "old.tsv"
    no_baseline.write_text("\n".join("\t".join(r[:col] + r[col + 1 :]) for r in table) + "\n")
    assert _plain(report.progress(report.read_log(no_baseline))) == _plain(
        report.progress(report.read_log(LOG))
    )


def _plain(points: list[report.Point]) -> list[tuple]:
    """Comparable points (NaN, the speed-up of an untimed experiment, equals nothing)."""
    return [(p.number, p.decision, repr(p.speedup), p.frontier, p.description) for p in points]


def test_columns_may_come_in_any_order(tmp_path):
    lines = LOG.read_text().splitlines()
    table = [line.split("\t") for line in lines]
    order = list(reversed(range(len(table[0]))))
    shuffled = tmp_path / "pq_l2.tsv"
    shuffled.write_text("\n".join("\t".join(row[i] for i in order) for row in table) + "\n")
    assert report.read_log(shuffled) == report.read_log(LOG)


def test_empty_and_header_only_logs_hold_no_experiments(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    header_only = tmp_path / "header.tsv"
    header_only.write_text(LOG.read_text().splitlines()[0] + "\n")
    assert report.read_log(empty) == []
    assert report.read_log(header_only) == []


def test_a_truncated_last_line_is_ignored_with_a_warning(tmp_path):
    text = LOG.read_text()
    cut = tmp_path / "pq_l2.tsv"
    cut.write_text(text[: len(text) - 30])  # a killed writer: half a row, no newline
    warnings = []
    experiments = report.read_log(cut, "pq_l2", warn=warnings.append)
    assert len(experiments) == 15
    assert len(warnings) == 1 and ":17: last line is incomplete" in warnings[0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows.__setitem__(3, rows[3].replace("\t", " ", 1)), ":4: 15 tab-separated"),
        (lambda rows: rows.__setitem__(2, rows[2].replace("\tdiscard\t", "\tdrop\t")), "'drop'"),
        (lambda rows: rows.__setitem__(2, rows[2].replace("\t1.0041\t", "\tfast\t")), ":3: bad"),
        (lambda rows: rows.__setitem__(2, rows[2].replace("\t1.0041\t", "\t-1\t")), ":3: bad"),
        (lambda rows: rows.__setitem__(5, rows[5].replace("\tpq_l2\t", "\tbm25\t")), "'bm25'"),
        (lambda rows: rows.__setitem__(0, rows[0].replace("decision", "status")), "decision"),
    ],
    ids=["split-row", "unknown-decision", "bad-ratio", "negative-ratio", "wrong-target", "header"],
)
def test_malformed_logs_name_the_line(tmp_path, edit, message):
    rows = LOG.read_text().splitlines()
    edit(rows)
    bad = tmp_path / "pq_l2.tsv"
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(report.ReportError, match=message):
        report.read_log(bad, "pq_l2")


def test_shorten_cuts_at_a_word():
    assert chart.shorten("short") == "short"
    long = "process 4 sub-spaces per pass: 4 table rows live in registers, one store per code"
    cut = chart.shorten(long)
    assert cut == "process 4 sub-spaces per pass: 4 table…"
    assert len(cut) <= chart.LABEL_CHARS


# ---------------------------------------------------------------------------
# The chart command
# ---------------------------------------------------------------------------


def test_chart_needs_a_log(tmp_path, capsys):
    code = report.main(["pq_l2", "--log", str(tmp_path / "none.tsv")])
    assert code == report.EXIT_BAD_INPUT
    assert "no results log" in capsys.readouterr().err


def test_chart_of_a_header_only_log_is_refused(tmp_path, capsys):
    log = tmp_path / "pq_l2.tsv"
    log.write_text(LOG.read_text().splitlines()[0] + "\n")
    assert report.main(["pq_l2", "--log", str(log)]) == report.EXIT_BAD_INPUT
    assert "no experiments yet" in capsys.readouterr().err
    assert not log.with_suffix(".png").exists()


def test_chart_of_an_unknown_target_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        report.main(["no_such_target", "--log", str(LOG)])
    assert exc.value.code == EXIT_USAGE
    assert "unknown target 'no_such_target'" in capsys.readouterr().err


def test_chart_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    log = tmp_path / "pq_l2.tsv"
    shutil.copy(LOG, log)
    assert report.main(["pq_l2", "--log", str(log)]) == report.EXIT_NO_MATPLOTLIB
    assert "pip install '.[plot]'" in capsys.readouterr().err
    assert not log.with_suffix(".png").exists()


def _chart(tmp_path: Path, text: str) -> list[Path]:
    pytest.importorskip("matplotlib")
    log = tmp_path / "pq_l2.tsv"
    log.write_text(text)
    assert report.main(["pq_l2", "--log", str(log)]) == report.EXIT_OK
    return [log.with_suffix(".png"), log.with_suffix(".svg")]


def test_chart_files_are_written_beside_the_log(tmp_path):
    png, svg = _chart(tmp_path, LOG.read_text())
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000
    assert b"<svg" in svg.read_bytes()[:1000]
    svg_text = svg.read_text()
    assert "pq_l2: 2.42× over the first kernel after 16 experiments (5 kept)" in svg_text
    for kept in ("#1 hoist table row pointer", "#14 write distances into a preallocated…"):
        assert kept in svg_text
    first_svg = svg.read_bytes()
    _chart(tmp_path, LOG.read_text())
    assert svg.read_bytes() == first_svg  # no date, fixed ids: a re-run changes nothing


def test_chart_of_wide_and_of_untimed_logs(tmp_path):
    """A log scale once speed-ups span a wide range; a log where nothing was timed still draws."""
    header, *rows = LOG.read_text().splitlines()
    wide = [r.replace("\t0.6712\t", "\t0.0500\t") for r in rows]  # #1 kept at 20x
    for path in _chart(tmp_path, "\n".join([header, *wide]) + "\n"):
        assert path.stat().st_size > 0
    failed = [r for r in rows if "\tcrash\t" in r or "\ttimeout\t" in r]
    for path in _chart(tmp_path, "\n".join([header, *failed]) + "\n"):
        assert path.stat().st_size > 0


# ---------------------------------------------------------------------------
# The README table
# ---------------------------------------------------------------------------


def test_table_rows_from_results(repo):
    rows = _rows(repo["root"])
    assert rows["pq_l2"] == report.TargetRow(
        "pq_l2",
        PQ_L2_WHAT,
        "optimized (5 kept / 16 experiments)",
        PQ_L2_SPEEDUP,
        f"{WITH_PEERS_RATIO} vs faiss @ {repo['peers'][:8]}",  # not the side branch's 10x faster
        MACHINE,
    )
    assert rows["posting_intersect"] == report.TargetRow(
        "posting_intersect", POSTING_WHAT, "baseline", "1.00×", "n/a", "n/a"
    )
    assert rows["bm25"] == report.TargetRow("bm25", "", "not started", "n/a", "n/a", "n/a")


def test_newest_peer_run_on_the_branch_wins_and_skips_missing_peers(repo):
    root = repo["root"]
    _place_result(root, REAL["with_peers"], repo["latest"], _drop_faiss)
    assert _rows(root)["pq_l2"].vs_peer == f"{NUMPY_ONLY_RATIO} vs numpy @ {repo['latest'][:8]}"
    _place_result(root, REAL["with_peers"], repo["latest"], _fail_kernel_combo)
    assert _rows(root)["pq_l2"].vs_peer == (
        f"{NUMPY_ONLY_EIGHT_RATIO} vs numpy @ {repo['latest'][:8]}"
    )


def test_best_peer_is_taken_per_combination(repo):
    root = repo["root"]
    _place_result(root, REAL["with_peers"], repo["latest"], _slow_faiss_on_small_shapes)
    # numpy is fastest in six combinations, faiss in three: both named, most often first.
    assert _rows(root)["pq_l2"].vs_peer == f"{MIXED_RATIO} vs numpy/faiss @ {repo['latest'][:8]}"


def test_a_bandwidth_roof_is_not_a_peer(repo):
    root = repo["root"]
    _place_result(root, REAL["with_peers"], repo["latest"], _faiss_as_a_fast_copy_roof)
    assert _rows(root)["pq_l2"].vs_peer == f"{NUMPY_ONLY_RATIO} vs numpy @ {repo['latest'][:8]}"


def test_no_peer_results_give_na(repo):
    root = repo["root"]
    (root / "results" / MACHINE / f"{repo['peers'][:8]}-{ENV}.json").unlink()
    row = _rows(root)["pq_l2"]
    assert row.vs_peer == "n/a"
    assert row.machine == MACHINE  # still: where the kept experiments' A/B runs were recorded


def test_machine_lists_every_machine_that_measured(repo):
    root = repo["root"]
    other = root / "results" / "intel-xeon-4cpu"
    other.mkdir()
    (other / "machine.json").write_text(json.dumps({"machine": other.name, "version": 1}))
    _git(root, "add", str(other.relative_to(root)))
    _place_result(root, REAL["kernel_only_a"], _kept()[1].commit, machine=other.name)
    assert _rows(root)["pq_l2"].machine == f"{MACHINE}, intel-xeon-4cpu"


def test_status_counts_a_log_without_kept_experiments(repo):
    root = repo["root"]
    header, *rows = LOG.read_text().splitlines()
    log = root / "results" / "experiments" / "posting_intersect.tsv"
    discards = [
        r.replace("\tpq_l2\t", "\tposting_intersect\t") for r in rows if "\tdiscard\t" in r
    ][:2]
    log.write_text("\n".join([header, *discards]) + "\n")
    assert _rows(root)["posting_intersect"].status == "baseline"  # not tracked: not counted
    _git(root, "add", str(log.relative_to(root)))
    row = _rows(root)["posting_intersect"]
    assert (row.status, row.vs_first) == ("baseline (0 kept / 2 experiments)", "1.00×")


def test_untracked_work_in_progress_does_not_show(repo):
    """What a fresh clone would hold: another engineer's untracked package or results are not."""
    root = repo["root"]
    package = root / "autoresearch" / "bm25"
    package.mkdir()
    (package / "__init__.py").write_text("")
    data = json.loads(REAL["with_peers"].read_text())
    data["commit_hash"] = repo["latest"]
    untracked = root / "results" / MACHINE / f"{repo['latest'][:8]}-virtualenv-py3.11.json"
    untracked.write_text(json.dumps(data))
    rows = _rows(root)
    assert rows["bm25"].status == "not started"
    assert rows["pq_l2"].vs_peer == f"{WITH_PEERS_RATIO} vs faiss @ {repo['peers'][:8]}"


def test_the_readme_command_names_result_files_it_does_not_read(repo, capsys):
    root = repo["root"]
    report.update_readme(root, check=False, targets=TARGETS)
    assert "not tracked by git" not in capsys.readouterr().err
    data = json.loads(REAL["with_peers"].read_text())
    data["commit_hash"] = repo["latest"]
    name = f"{repo['latest'][:8]}-virtualenv-py3.11.json"
    (root / "results" / MACHINE / name).write_text(json.dumps(data))
    assert report.update_readme(root, check=True, targets=TARGETS) == report.EXIT_OK
    err = capsys.readouterr().err
    assert f"1 result file(s) not tracked by git, not read: results/{MACHINE}/{name}" in err


def test_cells_escape_the_table_separator():
    row = report.TargetRow("t", "a | b", "baseline", "1.00×", "n/a", "n/a")
    assert "| `t` | a \\| b | baseline |" in report.render_table([row])


def test_readme_rewrite_then_check(repo, capsys):
    root = repo["root"]
    readme = root / "README.md"
    assert report.update_readme(root, check=True, targets=TARGETS) == report.EXIT_STALE
    assert readme.read_text() == README_TEXT  # --check never writes

    assert report.update_readme(root, check=False, targets=TARGETS) == report.EXIT_OK
    text = readme.read_text()
    head, rest = text.split(report.README_BEGIN)
    block, tail = rest.split(report.README_END)
    assert head == README_TEXT.split(report.README_BEGIN)[0]
    assert tail == README_TEXT.split(report.README_END)[1]
    assert (
        f"| `pq_l2` | {PQ_L2_WHAT} | optimized (5 kept / 16 experiments) | {PQ_L2_SPEEDUP} | "
        f"{WITH_PEERS_RATIO} vs faiss @ {repo['peers'][:8]} | {MACHINE} |"
    ) in block.splitlines()
    assert "Lance runs it through WAND, not a materialized intersection" in block
    assert report.update_readme(root, check=True, targets=TARGETS) == report.EXIT_OK
    assert report.update_readme(root, check=False, targets=TARGETS) == report.EXIT_OK
    assert readme.read_text() == text  # idempotent

    # One more kept experiment: the committed table is stale until rewritten.
    log = root / "results" / "experiments" / "pq_l2.tsv"
    fields = log.read_text().splitlines()[1].split("\t")
    fields[:2] = ["0" * 40, _kept()[-1].commit]  # commit, baseline: the last kept kernel
    fields[5] = "0.5000"  # geomean_ratio
    log.write_text(log.read_text() + "\t".join(fields) + "\n")
    capsys.readouterr()
    assert report.update_readme(root, check=True, targets=TARGETS) == report.EXIT_STALE
    err = capsys.readouterr().err
    assert "+| `pq_l2` |" in err and "optimized (6 kept / 17 experiments) | 4.83×" in err
    assert readme.read_text() == text


def test_cli_readme_works_without_matplotlib(repo, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    root = str(repo["root"])
    assert report.main(["--readme", "--check", "--repo", root]) == report.EXIT_STALE
    assert report.main(["--readme", "--repo", root]) == report.EXIT_OK
    assert report.main(["--readme", "--check", "--repo", root]) == report.EXIT_OK
    block = (repo["root"] / "README.md").read_text()
    from autoresearch import TARGETS as all_targets

    for target in all_targets:  # every target gets a row, started or not
        assert f"| `{target}` |" in block


@pytest.mark.parametrize(
    "readme", [None, "no markers here\n", "<!-- targets:begin -->\n<!-- targets:begin -->\n"]
)
def test_readme_without_its_markers_is_refused(repo, capsys, readme):
    path = repo["root"] / "README.md"
    if readme is None:
        path.unlink()
    else:
        path.write_text(readme)
    assert report.main(["--readme", "--check", "--repo", str(repo["root"])]) == 2
    assert "report: error:" in capsys.readouterr().err


def test_runs_as_a_module(repo):
    cmd = [sys.executable, "-m", "autoresearch.report", "--readme", "--repo", str(repo["root"])]
    repo_root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(repo_root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "README.md: target table rewritten\n"


def test_the_repository_readme_table_is_current():
    """The committed README's table is what the committed results give (else: run --readme)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    code = report.update_readme(root, check=True)
    assert code == report.EXIT_OK, "README.md is stale: python -m autoresearch.report --readme"


@pytest.mark.parametrize(
    "argv", [["pq_l2", "--readme"], ["pq_l2", "--check"], ["nope"], ["pq_l2", "--no-such-flag"]]
)
def test_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        report.main(argv)
    assert exc.value.code == EXIT_USAGE


def test_undecided_rows_are_read_and_drawn_but_move_nothing(tmp_path):
    header, *rows = LOG.read_text().splitlines()
    i = next(n for n, r in enumerate(rows) if "\tdiscard\t" in r)
    undecided = [*rows[:i], rows[i].replace("\tdiscard\t", "\tundecided\t"), *rows[i + 1 :]]
    path = tmp_path / "pq_l2.tsv"
    path.write_text("\n".join([header, *undecided]) + "\n")
    before = [p.frontier for p in report.progress(report.read_log(LOG))]
    after = report.progress(report.read_log(path))
    assert [p.frontier for p in after] == before
    assert after[i].decision == "undecided"
    if importlib.util.find_spec("matplotlib"):
        for chart in _chart(tmp_path, path.read_text()):
            assert chart.stat().st_size > 0


def _row(params: list, result: list) -> dict:
    return {"params": params, "result": result}


def test_peer_ratio_skips_an_information_only_peers_class_silently(capsys):
    combos = [["2"], ["'balanced'"]]
    results = {
        "bench_t.Main.time_search": _row(combos, [2.0]),
        "bench_t.MainPeers.time_search": _row([*combos, ["'numpy'"]], [4.0]),
        # no bench_t.CountOnly.*: an information-only Peers class (posting_intersect's simsimd)
        "bench_t.CountOnlyPeers.time_search": _row([*combos, ["'simsimd'"]], [0.1]),
    }
    cmp = report.peer_comparison(report.ResultFile(Path("r.json"), "m", "c", results), "t")
    assert cmp is not None and cmp.ratio == pytest.approx(2.0)
    assert "matches no" not in capsys.readouterr().err


def test_peer_ratio_warns_when_a_main_class_does_not_match_its_peers(capsys):
    results = {
        "bench_t.Main.time_search": _row([["2"], ["'a'"]], [2.0]),
        "bench_t.MainPeers.time_search": _row([["3"], ["'b'"], ["'numpy'"]], [4.0]),
    }
    report.peer_comparison(report.ResultFile(Path("r.json"), "m", "c", results), "t")
    assert "matches no bench_t.Main.time_search" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Epochs (autoresearch.rebaseline): the chain starts again on the same kernel
# ---------------------------------------------------------------------------

EPOCH_COMMIT = "e0" * 20


def _with_epochs(tmp_path: Path) -> Path:
    """The fixture log with an epoch after experiment 7 (experiments 8-10 then measured against
    the epoch's commit) and another one at the end."""
    header, *rows = LOG.read_text().splitlines()
    cols = header.split("\t")
    before = rows[6].split("\t")

    def epoch(commit: str, baseline: str, text: str) -> str:
        values = dict.fromkeys(cols, "nan") | {
            "commit": commit, "baseline": baseline, "timestamp": "2026-11-26T10:00:00Z",
            "target": "pq_l2", "correctness": "pass", "worst_combo": "", "best_combo": "",
            "decision": "epoch", "description": text,
        }  # fmt: skip
        return "\t".join(values[c] for c in cols)

    base = before[cols.index("baseline")]
    moved = [r.replace(base, EPOCH_COMMIT) for r in rows[7:10]]
    last_kept = rows[13].split("\t")[0]
    rows = [
        *rows[:7],
        epoch(EPOCH_COMMIT, base, "epoch: suite fixed; versions changed: PqL2.time_search a->b"),
        *moved,
        *rows[10:],
        epoch("e1" * 20, last_kept, "epoch: oracle rule; versions changed: none"),
    ]
    path = tmp_path / "pq_l2.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_epochs_take_no_number_and_the_product_carries_across(tmp_path):
    rows = report.read_log(_with_epochs(tmp_path), "pq_l2")
    plain = report.read_log(LOG, "pq_l2")
    experiments = [e for e in rows if e.decision != "epoch"]
    assert [e.number for e in experiments] == [e.number for e in plain] == list(range(1, 17))
    assert [e.number for e in rows if e.decision == "epoch"] == [7, 16]  # after #7, after #16
    points = report.progress(rows)
    assert points[-1].frontier == pytest.approx(1 / math.prod(KEPT_RATIOS), rel=1e-12)
    # #8 (discard 1.0712) was measured against the epoch's commit: the kernel of #6.
    eighth = next(p for p in points if p.number == 8 and p.decision != "epoch")
    assert eighth.speedup == pytest.approx(1 / (0.6712 * 0.8127 * 0.9124) / 1.0712, rel=1e-12)
    same = [p for p in points if p.decision != "epoch"]
    assert _plain(same) == _plain(report.progress(plain))


def test_table_status_counts_epochs_apart(repo):
    root = repo["root"]
    shutil.copy(_with_epochs(root / ".."), root / "results" / "experiments" / "pq_l2.tsv")
    _git(root, "add", "results")
    row = _rows(root)["pq_l2"]
    assert row.status == "optimized (5 kept / 16 experiments, 2 epochs)"
    assert row.vs_first == PQ_L2_SPEEDUP
    assert "across epochs" in report.render_table([row])


def test_chart_marks_each_epoch(tmp_path):
    log = _with_epochs(tmp_path)
    png, svg = _chart(tmp_path, log.read_text())
    text = svg.read_text()
    assert "pq_l2: 2.42× over the first kernel after 16 experiments (5 kept, 2 epochs)" in text
    assert "<!-- epoch: suite fixed -->" in text  # its label: the reason, not the versions
    assert "epoch (2): the chain starts again" in text
    only = tmp_path / "only.tsv"
    only.write_text("\n".join(log.read_text().splitlines()[:1] + log.read_text().splitlines()[-1:]))
    only.write_text(only.read_text() + "\n")
    with pytest.raises(report.ReportError, match="no experiments"):
        report.chart("pq_l2", only)


# ---------------------------------------------------------------------------
# Tracked files are written only when asked: a chart leaves the checkout clean
# ---------------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A clean checkout with a committed log (and the repository's .gitignore rule)."""
    root = tmp_path / "checkout"
    (root / "results" / "experiments").mkdir(parents=True)
    (root / ".gitignore").write_text(".autoresearch/\nignored/\n")
    shutil.copy(LOG, root / "results" / "experiments" / "pq_l2.tsv")
    _git(root, "init", "-q", "-b", "main")
    _commit(root, "a log")
    return root


def test_the_chart_of_a_log_in_the_tree_goes_to_the_ignored_folder_unless_asked(checkout, tmp_path):
    log = checkout / "results" / "experiments" / "pq_l2.tsv"
    assert report.chart_base(log, checkout, False) == checkout / report.CHART_DIR / "pq_l2"
    assert report.chart_base(log, checkout, True) == log.with_suffix("")
    (checkout / "ignored").mkdir()
    ignored = checkout / "ignored" / "pq_l2.tsv"  # git-ignored: no tracked file to spoil
    assert report.chart_base(ignored, checkout, False) == ignored.with_suffix("")
    outside = tmp_path / "elsewhere" / "pq_l2.tsv"  # outside the checkout: as before
    assert report.chart_base(outside, checkout, False) == outside.with_suffix("")


def _report(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autoresearch.report", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_plain_chart_leaves_git_status_clean_and_write_tracked_updates_it(checkout):
    pytest.importorskip("matplotlib")
    done = _report("pq_l2", "--repo", str(checkout), cwd=checkout)
    assert done.returncode == report.EXIT_OK, done.stderr
    assert _git(checkout, "status", "--porcelain") == ""
    assert (checkout / report.CHART_DIR / "pq_l2.svg").is_file()
    done = _report("pq_l2", "--repo", str(checkout), "--write-tracked", cwd=checkout)
    assert done.returncode == report.EXIT_OK, done.stderr
    status = _git(checkout, "status", "--porcelain").splitlines()
    assert sorted(status) == [
        "?? results/experiments/pq_l2.png",
        "?? results/experiments/pq_l2.svg",
    ]


def test_a_plain_chart_of_this_repository_leaves_its_git_status_as_it_was():
    pytest.importorskip("matplotlib")
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists() or not (root / "results/experiments/pq_l2.tsv").exists():
        pytest.skip("not a git checkout with a pq_l2 log")
    before = _git(root, "status", "--porcelain")
    done = _report("pq_l2", cwd=root)
    assert done.returncode == report.EXIT_OK, done.stderr
    assert _git(root, "status", "--porcelain") == before


def test_write_tracked_goes_with_a_target():
    with pytest.raises(SystemExit) as exc:
        report.main(["--readme", "--write-tracked"])
    assert exc.value.code == EXIT_USAGE
