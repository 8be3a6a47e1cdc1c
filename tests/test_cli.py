"""The dask-coded command line on a real store: the README's job and a worker-raised error in
a subprocess, as a user runs them (stderr then holds every log line too); other jobs and the
input errors in this process (tests/conftest.py::cli)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dask_coded as dc
from tests.conftest import assert_one_line_error, cli, run


def test_main_job_on_embedded_default(tmp_path):
    proc = run("leverage", "--blocks", "50", "--servers", "200", "--survival", "0.3",
               "--workers", "2", "--plot", "out/lev.png", "--json", "out/lev.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "data" / "quickstart.zarr").is_dir()
    assert "entropy" in proc.stdout and "Lemma 1 bound" in proc.stdout
    report = json.loads((tmp_path / "out" / "lev.json").read_text())
    assert len(report["scores"]) == 50 and sum(report["scores"]) == pytest.approx(1.0)
    assert sum(report["replicas"]) == 200
    assert report["network"]["q"] == 140  # floor((1 - 0.3) * 200), eq. 12
    assert (tmp_path / "out" / "lev.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["lev.json", "lev.png"]


def test_make_dataset_then_leverage_matches_api(tmp_path):
    store = tmp_path / "c.zarr"
    proc = cli("make-dataset", str(store), "--kind", "coherent", "--rows", "5000", "--cols", "8",
               "--chunk-rows", "1000", "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    proc = cli("leverage", str(store), "--blocks", "40", "--method", "sketch", "--workers", "1",
               "--beta", "--json", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "s.json").read_text())
    sketched = np.array(report["scores"])
    exact = dc.block_leverage_scores(store, 40)
    assert np.min(sketched / exact) == pytest.approx(report["beta"])
    assert report["beta"] > 0.5 and "beta" in proc.stdout


def test_make_dataset_from_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("kind: student-t\nn_rows: 300\nn_cols: 4\nchunk_rows: 100\ndf: 2.5\n")
    proc = cli("make-dataset", str(tmp_path / "t.zarr"), "--spec", str(spec), "--seed", "9")
    assert proc.returncode == 0, proc.stderr
    gen = dc.io.read_attrs(tmp_path / "t.zarr")["dask_coded"]["generator"]
    assert gen["df"] == 2.5 and gen["seed"] == 9 and gen["n_rows"] == 300


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "s.zarr"
    dc.make_dataset(path, n_rows=500, n_cols=4, chunk_rows=100)
    return path


@pytest.mark.parametrize(("args", "match"), [
    (["leverage", "{missing}"], "the path does not exist"),
    (["leverage", "{store}", "--blocks", "0"], "n_blocks must be between 1"),
    (["leverage", "{store}", "--blocks", "501"], "n_blocks must be between 1"),
    (["leverage", "{store}", "--servers", "0"], "--servers must be >= 1"),
    (["leverage", "{store}", "--blocks", "10", "--servers", "5"], "n_servers=5 is too few"),
    (["leverage", "{store}", "--blocks", "10", "--servers", "20", "--survival", "1.5"],
     "survival phi(T) must be in (0, 1)"),
    (["make-dataset", "{out}", "--rows", "3", "--cols", "5"], "n_rows >= n_cols"),
    (["make-dataset", "{out}", "--spec", "{missing}"], "no such file"),
])
def test_errors_are_one_line(tmp_path, small_store, args, match):
    subs = {"missing": str(tmp_path / "missing"), "store": str(small_store),
            "out": str(tmp_path / "out.zarr")}
    proc = cli(*[a.format(**subs) for a in args])
    assert_one_line_error(proc, match)
    assert not (tmp_path / "out.zarr").exists()


def test_nan_in_store_names_block(tmp_path):
    import zarr

    path = tmp_path / "nan.zarr"
    dc.make_dataset(path, n_rows=400, n_cols=3, chunk_rows=100)
    zarr.open_group(str(path), mode="r+")["A"][250, 1] = np.nan
    proc = run("leverage", str(path), "--blocks", "20", "--workers", "1")  # one line, logs too
    assert_one_line_error(proc, "A has NaN or Inf in block 12 (row 250)")


def test_bad_yaml_spec(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: [unclosed\n")
    assert_one_line_error(cli("make-dataset", str(tmp_path / "o.zarr"), "--spec", str(spec)),
                          "is not valid YAML")
