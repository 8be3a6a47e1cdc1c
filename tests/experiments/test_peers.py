"""``benchmark peers``: the JSON it writes on tiny stores and a real 2-worker cluster."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from dask_coded.cli import cli
from dask_coded.errors import InputError
from dask_coded.experiments.peers import run_peers_benchmark
from dask_coded.solvers import METHODS as LIBRARY_METHODS


def test_peers_rows_errors_and_ratios(tmp_path):
    methods = ["read", "normal-eq", "dask-lstsq"]
    if "direct" in LIBRARY_METHODS:
        methods.append("direct")
    out = tmp_path / "peers.json"
    result = CliRunner().invoke(cli, [
        "benchmark", "peers", "--rows", "20000", "--cols", "10", "--chunk-rows", "5000",
        "--ill-rows", "20000", "--workers", "2", "--repeats", "2", "--scenarios", "none",
        "--methods", ",".join(methods), "--data-dir", str(tmp_path / "data"),
        "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert not list(tmp_path.glob(".peers.tmp-*"))  # written aside, then renamed
    assert set(report["stores"]) == {"well", "ill"}
    assert report["environment"]["workers"] == 2
    assert report["environment"]["openblas_threads"] == "1"
    rows = {(r["store"], r["method"]): r for r in report["rows"]}
    assert set(rows) == {(s, m) for s in ("well", "ill") for m in methods}
    for (store, method), row in rows.items():
        assert row["scenario"] == "none"
        assert "wall_seconds" in row, row  # it ran, in both repeats
        assert row["repeats"] == 2
        for key in ("x_read", "x_dask"):
            assert math.isfinite(row[key]) and row[key] > 0, (store, method, key)
        assert row["peak_mib"] > 0
        if method == "read":
            assert row["error"] is None and row["x_read"] == 1.0
        elif store == "well" or method != "normal-eq":  # A^T A squares cond = 1e6
            assert row["error"] < 1e-8, (store, method, row["error"])
    assert rows["ill", "normal-eq"]["error"] > rows["ill", "dask-lstsq"]["error"]
    if "direct" in methods:
        assert len(rows["well", "direct"]["per_repeat_x_read"]) == 2
    assert "summary" in result.output
    if "direct" in methods:
        assert "dc direct" in result.output


@pytest.mark.parametrize("args, match", [
    (["--scenarios", "none,slow"], "unknown scenario 'slow'"),
    (["--methods", "read,lsqr"], "unknown method 'lsqr'"),
    (["--stores", "medium"], "unknown store 'medium'"),
    (["--rows", "0"], "--rows must be a whole number >= 1"),
    (["--chunk-rows", "-5"], "--chunk-rows must be"),
    (["--cols", "0"], "cols must be >= 1, got 0"),
    (["--repeats", "1"], "repeats must be >= 2, got 1"),
    (["--workers", "0"], "workers must be"),
    (["--time-budget", "0"], "time_budget must be > 0"),
    (["--condition", "0.5"], "condition must be"),
    (["--rows", "5", "--cols", "10"], "A must be tall"),
])
def test_bad_flags_are_one_line_errors_and_write_nothing(tmp_path, args, match):
    result = CliRunner().invoke(cli, ["benchmark", "peers", "--data-dir",
                                      str(tmp_path / "data"), "--json",
                                      str(tmp_path / "o.json"), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dask-coded: error: "), result.stderr
    assert match in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []  # no store folder, no JSON


def test_json_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        run_peers_benchmark(json_path=tmp_path, data_dir=tmp_path / "d", echo=lambda s: None)
    assert not (tmp_path / "d").exists()


def test_missing_dask_ml_is_a_note_not_a_crash(monkeypatch):
    import sys

    from dask_coded.experiments import peers as benchmarks_peers

    monkeypatch.setitem(sys.modules, "dask_ml", None)  # import dask_ml now fails
    monkeypatch.setitem(sys.modules, "dask_ml.linear_model", None)
    cls, why = benchmarks_peers._dask_ml_probe()
    assert cls is None
    assert "dask-ml" in why and "skipped" in why and "\n" not in why
