"""The user's own data (issue 14): stores with other array names, zarr v2 and v3, written by
``dask.array.to_zarr`` (or xarray), with chunks zarr skipped because they were all zeros;
through the API, a run config and the CLI."""

from __future__ import annotations

import importlib.util
import json
import pickle

import dask.array as da
import numpy as np
import pytest
import yaml
import zarr

import dask_coded as dc
from dask_coded import io
from dask_coded.config import DatasetConfig, RunConfig
from dask_coded.io import DatasetPath
from tests.conftest import assert_one_line_error, cli

ROWS, COLS, CHUNK = 400, 3, 100
COEF = np.array([1.0, -2.0, 0.5])


def _data(zero_chunk: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A tall (A, b); rows 100:200 (the second chunk) all zero, so writers skip that chunk."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((ROWS, COLS))
    if zero_chunk:
        a[CHUNK:2 * CHUNK] = 0.0
    return a, a @ COEF + 0.01 * rng.standard_normal(ROWS)


def _exact(a, b) -> np.ndarray:
    return np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.fixture
def to_zarr_store(tmp_path):
    """X and y written by ``dask.array.to_zarr``: zarr's defaults, the zero chunk left out."""
    a, b = _data()
    path = tmp_path / "xy.zarr"
    da.to_zarr(da.from_array(a, chunks=(CHUNK, COLS)), str(path), component="X")
    da.to_zarr(da.from_array(b, chunks=CHUNK), str(path), component="y")
    assert not (path / "X" / "c" / "1").exists()  # the all-zero chunk is absent
    return path, a, b


def test_to_zarr_store_with_other_names_through_the_api(to_zarr_store, client):
    """Today: "has no array 'A'" and no way to name X and y; an absent all-zero chunk would
    be refused as "missing chunks" although zarr defines it as the fill value."""
    path, a, b = to_zarr_store
    x, _ = dc.open_dataset(path, A="X", b="y")
    np.testing.assert_array_equal(x.compute(), a)
    res = dc.lstsq(DatasetPath(path, A="X", b="y"), method="direct", client=client)
    np.testing.assert_allclose(res.x, _exact(a, b), rtol=1e-10)
    # coded servers read their blocks on the workers, by the names the path carries
    res = dc.lstsq(DatasetPath(path, A="X", b="y"), method="block-leverage", n_blocks=4,
                   n_servers=8, max_iter=30, tol=1e-12, client=client)
    np.testing.assert_allclose(res.x, _exact(a, b), rtol=1e-6)
    # the lazy arrays work too (their graph reads the store, on whichever worker)
    res = dc.lstsq(*dc.open_dataset(path, A="X", b="y"), method="direct", client=client)
    np.testing.assert_allclose(res.x, _exact(a, b), rtol=1e-10)
    assert io.integrity(path, A="X", b="y") == "unverified"


def test_unnamed_arrays_are_listed_in_one_line(to_zarr_store):
    path, _, _ = to_zarr_store
    with pytest.raises(dc.InputError, match=r"has no array 'A'.*it holds X, y.*A=") as exc:
        dc.open_dataset(path)
    assert "\n" not in str(exc.value)
    with pytest.raises(dc.InputError, match="no array 'Z'"):
        dc.open_dataset(path, A="Z", b="y")


def test_dataset_path_is_a_path_that_keeps_its_names(tmp_path):
    ref = DatasetPath(tmp_path / "s.zarr", A="X", b="y")
    assert str(ref) == str(tmp_path / "s.zarr") and ref.path == str(tmp_path / "s.zarr")
    assert pickle.loads(pickle.dumps(ref)) == ref  # travels to the workers intact
    assert io.dataset_path(ref, b="z") == DatasetPath(ref.path, A="X", b="z")
    assert DatasetPath("rel.zarr").absolute().path.startswith("/")
    with pytest.raises(dc.InputError, match="array name A="):
        DatasetPath("s.zarr", A="")


def test_zarr_v2_store(tmp_path, client):
    a, b = _data()
    g = zarr.open_group(str(tmp_path / "v2.zarr"), mode="w", zarr_format=2)
    g.create_array("features", data=a, chunks=(CHUNK, COLS))
    g.create_array("target", data=b.reshape(-1, 1), chunks=(CHUNK, 1))  # (N, 1) is b too
    assert not (tmp_path / "v2.zarr" / "features" / "1.0").exists()  # zero chunk skipped
    res = dc.lstsq(DatasetPath(tmp_path / "v2.zarr", A="features", b="target"),
                   method="direct", client=client)
    np.testing.assert_allclose(res.x, _exact(a, b), rtol=1e-10)


def test_nested_names_and_column_chunks(tmp_path, client):
    """Arrays in a subgroup, A chunked across its columns too (rechunked to whole rows)."""
    a, b = _data()
    g = zarr.open_group(str(tmp_path / "n.zarr"), mode="w")
    g.create_group("train")
    g.create_array("train/X", data=a, chunks=(CHUNK, 2))
    g.create_array("train/y", data=b, chunks=(CHUNK,))
    x, _ = dc.open_dataset(tmp_path / "n.zarr", A="train/X", b="train/y")
    assert x.chunks[1] == (COLS,)
    res = dc.lstsq(DatasetPath(tmp_path / "n.zarr", A="train/X", b="train/y"),
                   method="sd", n_blocks=4, max_iter=200, tol=1e-12, client=client)
    np.testing.assert_allclose(res.x, _exact(a, b), rtol=1e-5)


def test_plain_array_store_is_one_line(tmp_path):
    zarr.create_array(str(tmp_path / "m.zarr"), shape=(10, 2), chunks=(5, 2), dtype="f8")
    with pytest.raises(dc.InputError, match="single Zarr array, not a group") as exc:
        dc.open_dataset(tmp_path / "m.zarr")
    assert "\n" not in str(exc.value)


def test_a_chunk_missing_from_our_own_store_is_still_refused(tmp_path):
    """dask_coded writes every chunk and records it: there an absent chunk is damage."""
    path = tmp_path / "own.zarr"
    dc.make_dataset(path, n_rows=ROWS, n_cols=COLS, chunk_rows=CHUNK, seed=0)
    (path / "A" / "c" / "1" / "0").unlink()
    with pytest.raises(dc.InputError, match="1 of its 4 chunks missing"):
        dc.open_dataset(path)


@pytest.mark.skipif(importlib.util.find_spec("xarray") is None,
                    reason="xarray is not installed (an optional writer of Zarr stores)")
def test_xarray_store(tmp_path, client):  # pragma: no cover - runs where xarray is installed
    import xarray as xr

    a, b = _data(zero_chunk=False)
    xr.Dataset({"X": (("row", "col"), a), "y": (("row",), b)}).chunk({"row": CHUNK}).to_zarr(
        tmp_path / "xr.zarr")
    res = dc.lstsq(DatasetPath(tmp_path / "xr.zarr", A="X", b="y"), method="direct",
                   client=client)
    np.testing.assert_allclose(res.x, _exact(a, b), rtol=1e-10)


# ------------------------------------------------------------------------------- config, CLI


def test_config_names_the_arrays(tmp_path):
    ds = DatasetConfig.parse({"path": "mine.zarr", "A": "X", "b": "y"})
    assert (ds.A, ds.b) == ("X", "y")
    assert ds.store == DatasetPath("mine.zarr", A="X", b="y")
    assert ds.to_dict() == {"path": "mine.zarr", "generate": None, "A": "X", "b": "y"}
    assert DatasetConfig.parse({"path": "p.zarr"}).store == DatasetPath("p.zarr")
    cfg = RunConfig.from_dict({"dataset": {"path": "mine.zarr", "A": "X", "b": "y"}})
    assert cfg.dataset.A == "X"
    with pytest.raises(dc.InputError, match=r"dataset\.A must be a non-empty string"):
        DatasetConfig.parse({"path": "p.zarr", "A": 3})
    with pytest.raises(dc.InputError, match="a generated one"):
        DatasetConfig.parse({"path": "p.zarr", "A": "X",
                             "generate": {"n_rows": 100, "n_cols": 2}})
    with pytest.raises(dc.InputError, match=r"unknown key dataset\.x"):
        DatasetConfig.parse({"path": "p.zarr", "x": "X"})


def test_cli_solves_a_to_zarr_store_named_in_the_config(to_zarr_store, tmp_path):
    path, a, b = to_zarr_store
    config = {"dataset": {"path": str(path), "A": "X", "b": "y"},
              "cluster": {"workers": 1, "threads_per_worker": 1},
              "solver": {"method": "direct"}, "output": {"dir": str(tmp_path / "out")}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    proc = cli("solve", tmp_path / "run.yaml", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert f"A: {ROWS} x {COLS} (4 chunks, unverified)" in proc.stdout
    np.testing.assert_allclose(np.load(tmp_path / "out" / "x_direct.npy"), _exact(a, b),
                               rtol=1e-10)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["dataset"]["integrity"] == "unverified"
    assert report["config"]["dataset"]["A"] == "X"
    # the same store without the names: one line, listing what it holds
    config["dataset"] = {"path": str(path)}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    assert_one_line_error(cli("solve", tmp_path / "bad.yaml", "--no-progress"),
                          "has no array 'A'")
