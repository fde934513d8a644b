"""The one reader of asv result files, and the one place their names are built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoresearch import bench, report
from autoresearch.harness import asvresults

COMMIT = "0123456789abcdef0123456789abcdef01234567"
GOOD = {
    "commit_hash": COMMIT,
    "result_columns": ["result", "params", "version", "started_at", "samples"],
    "results": {"bench_x.X.time_x": [[1.5], [["1"]], "v" * 64]},  # trailing cells dropped
    "version": 2,
}


def test_names_are_built_in_one_place():
    assert asvresults.file_name(COMMIT, "env") == "01234567-env.json"
    assert asvresults.relpath("m", COMMIT, "env") == "results/m/01234567-env.json"
    match = asvresults.relpath_regex(COMMIT).fullmatch("results/m-2cpu/01234567-other.json")
    assert match and match.group(1) == "m-2cpu"
    assert not asvresults.relpath_regex(COMMIT).fullmatch("results/m/01234568-env.json")
    # bench's result path is this one, in this project's environment
    path = bench.result_path(COMMIT, "m", Path("/r"))
    assert path == asvresults.path(Path("/r"), "m", COMMIT, bench.env_name())


def test_a_result_file_is_read_by_column_name():
    data = asvresults.parse(json.dumps(GOOD), "f")
    assert asvresults.commit_hash(data, "f") == COMMIT
    ((name, cells),) = asvresults.rows(data, "f")
    assert name == "bench_x.X.time_x" and cells["version"] == "v" * 64
    assert "samples" not in cells  # asv dropped it: absent, not misplaced
    assert asvresults.parse('{"result": NaN, ' + json.dumps(GOOD)[1:], "f")  # asv's bare NaN


@pytest.mark.parametrize(
    "text, why",
    [
        ("[1, 2, 3]", "not an asv result file (the top level is a JSON list, not an object)"),
        ('"text"', "not an asv result file (the top level is a JSON str, not an object)"),
        (json.dumps({**GOOD, "result_columns": None}), "not an asv result file (no result_columns"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "results"}), "(no results object)"),
        (json.dumps({**GOOD, "version": 1}), "not an asv result file (format version 1, not 2)"),
        (json.dumps(GOOD)[:40], "f is unreadable (truncated or corrupt?)"),
        ("", "f is unreadable (truncated or corrupt?)"),
    ],
)
def test_what_is_not_a_result_file_says_so(text, why):
    with pytest.raises(asvresults.NotAResultFile) as exc:
        asvresults.parse(text, "f")
    assert why in str(exc.value)


def test_a_row_that_is_not_a_list_and_a_missing_commit_are_named():
    bad = {**GOOD, "results": {"bench_x.X.time_x": {"result": 1}}}
    with pytest.raises(asvresults.NotAResultFile, match=r"bench_x\.X\.time_x: result row is not a"):
        list(asvresults.rows(asvresults.check(bad, "f"), "f"))
    with pytest.raises(asvresults.NotAResultFile, match="no commit_hash"):
        asvresults.commit_hash({**GOOD, "commit_hash": None}, "f")


def test_machines_and_their_files(tmp_path):
    (tmp_path / "m1").mkdir()
    (tmp_path / "m1" / "machine.json").write_text("{}")
    (tmp_path / "m1" / "01234567-env.json").write_text("{}")
    (tmp_path / "m1" / "89abcdef-env.json").write_text("{}")
    (tmp_path / "no-machine").mkdir()  # asv skips a folder without machine.json
    (tmp_path / "no-machine" / "01234567-env.json").write_text("{}")
    dirs = asvresults.machine_dirs(tmp_path)
    assert [d.name for d in dirs] == ["m1"]
    assert [p.name for p in asvresults.result_files(dirs[0])] == [
        "01234567-env.json",
        "89abcdef-env.json",
    ]
    assert [p.name for p in asvresults.result_files(dirs[0], COMMIT)] == ["01234567-env.json"]


def test_report_skips_what_is_not_a_result_file_and_says_why(tmp_path, capsys):
    machine = tmp_path / "m1"
    machine.mkdir()
    (machine / "machine.json").write_text("{}")
    (machine / "01234567-env.json").write_text(json.dumps(GOOD))
    (machine / "89abcdef-env.json").write_text("[1, 2, 3]")
    (machine / "aaaaaaaa-env.json").write_text(json.dumps({**GOOD, "result_columns": None}))
    files = report.load_result_files(tmp_path)
    assert [(f.machine, f.commit) for f in files] == [("m1", COMMIT)]
    assert files[0].results["bench_x.X.time_x"]["result"] == [1.5]
    err = capsys.readouterr().err
    assert "89abcdef-env.json: not an asv result file (the top level is a JSON list" in err
    assert "aaaaaaaa-env.json: not an asv result file (no result_columns list), skipped" in err
