"""Generated stores: contents, attributes, reproducibility, atomic writes and bad input."""

import numpy as np
import pytest
import zarr

import dask_coded as dc
from dask_coded import datasets
from dask_coded.io import read_array, read_attrs
from tests.conftest import dense_dataset


def test_store_matches_generator_and_opens_lazily(tmp_path):
    path = tmp_path / "g.zarr"
    dc.make_dataset(path, kind="student-t", n_rows=2500, n_cols=7, chunk_rows=1000, seed=3)
    a, b = dc.open_dataset(path)
    assert a.shape == (2500, 7) and b.shape == (2500,)
    assert a.chunks[0] == (1000, 1000, 500) and a.chunks[1] == (7,)
    assert b.chunks == (a.chunks[0],)
    ref_a, ref_b = dense_dataset(n_rows=2500, n_cols=7, chunk_rows=1000, seed=3, kind="student-t")
    np.testing.assert_array_equal(a.compute(), ref_a)
    np.testing.assert_array_equal(b.compute(), ref_b)
    attrs = read_attrs(path)["dask_coded"]
    assert attrs["generator"]["kind"] == "student-t" and attrs["generator"]["seed"] == 3
    np.testing.assert_array_equal(read_array(path, "x0"), attrs["x0"])


def test_b_is_a_x0_plus_noise(tmp_path):
    path = tmp_path / "n.zarr"
    dc.make_dataset(path, n_rows=20000, n_cols=5, chunk_rows=5000, noise=0.5, seed=1)
    a, b = dc.open_dataset(path)
    x0 = read_array(path, "x0")
    resid = b.compute() - a.compute() @ x0
    assert resid.std() == pytest.approx(0.5, rel=0.03)


def test_condition_option_reaches_target():
    a, _ = dense_dataset(n_rows=4000, n_cols=10, condition=1e8)
    assert 3e7 < np.linalg.cond(a) < 3e8


def test_coherent_blocks_are_far_from_uniform():
    a, _ = dense_dataset(n_rows=20000, n_cols=10, chunk_rows=5000, kind="coherent")
    pi = dc.block_leverage_scores(a, 100)
    assert pi.max() / pi.min() > 50


def test_seed_changes_data_and_is_reproducible():
    a1, _ = dense_dataset(seed=1)
    a2, _ = dense_dataset(seed=1)
    a3, _ = dense_dataset(seed=2)
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, a3)


def test_float32(tmp_path):
    path = tmp_path / "f.zarr"
    dc.make_dataset(path, n_rows=1000, n_cols=4, chunk_rows=300, dtype="float32")
    a, b = dc.open_dataset(path)
    assert a.dtype == np.float32 and b.dtype == np.float32


def test_existing_store_needs_overwrite(tmp_path):
    path = tmp_path / "e.zarr"
    dc.make_dataset(path, n_rows=100, n_cols=3, chunk_rows=50)
    with pytest.raises(dc.InputError, match="already exists"):
        dc.make_dataset(path, n_rows=100, n_cols=3, chunk_rows=50)
    dc.make_dataset(path, n_rows=200, n_cols=3, chunk_rows=50, overwrite=True)
    assert dc.open_dataset(path)[0].shape == (200, 3)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    real = datasets.generate_chunk

    def failing(spec, chunk, **kw):
        if chunk == 2:
            raise RuntimeError("disk full")
        return real(spec, chunk, **kw)

    monkeypatch.setattr(datasets, "generate_chunk", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        dc.make_dataset(tmp_path / "x.zarr", n_rows=1000, n_cols=3, chunk_rows=100)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_store(tmp_path, monkeypatch):
    path = tmp_path / "keep.zarr"
    dc.make_dataset(path, n_rows=100, n_cols=3, chunk_rows=50, seed=5)
    before = dc.open_dataset(path)[0].compute()
    monkeypatch.setattr(datasets, "generate_chunk",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        dc.make_dataset(path, n_rows=100, n_cols=3, chunk_rows=50, overwrite=True)
    np.testing.assert_array_equal(dc.open_dataset(path)[0].compute(), before)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.zarr"]


@pytest.mark.parametrize(("params", "match"), [
    ({"kind": "uniform"}, "unknown dataset kind"),
    ({"n_rows": 0}, "n_rows must be >= 1, got 0"),
    ({"n_rows": 5, "n_cols": 10}, "n_rows >= n_cols"),
    ({"condition": 0.5}, "condition"),
    ({"dtype": "int32"}, "dtype"),
    ({"colour": "red"}, "unknown dataset parameter"),
    # infinite df or coherence used to pass and gave NaN data (standard_t(inf) is NaN)
    ({"kind": "student-t", "df": float("inf")}, "df must be finite, got inf"),
    ({"kind": "coherent", "coherence": float("inf")}, "coherence must be finite, got inf"),
])
def test_bad_parameters_write_nothing(tmp_path, params, match):
    with pytest.raises(dc.InputError, match=match):
        dc.make_dataset(tmp_path / "bad.zarr", **params)
    assert list(tmp_path.iterdir()) == []


def test_open_missing_path(tmp_path):
    with pytest.raises(dc.InputError, match="does not exist"):
        dc.open_dataset(tmp_path / "nope.zarr")


def _raw_store(path, a, b):
    g = zarr.open_group(str(path), mode="w")
    if a is not None:
        g.create_array("A", shape=a.shape, dtype=a.dtype)[...] = a
    if b is not None:
        g.create_array("b", shape=b.shape, dtype=b.dtype)[...] = b
    return path


@pytest.mark.parametrize(("a", "b", "match"), [
    (np.ones(10), np.ones(10), "A must be 2-D"),
    (np.ones((10, 2)), np.ones(9), "different numbers of rows"),
    (np.ones((10, 2), dtype=np.int32), np.ones(10), "dtype int32"),
    (np.ones((10, 2), dtype=np.complex64), np.ones(10), "complex"),
    (np.ones((10, 2)), None, "no array 'b'"),
    (np.ones((10, 2)), np.ones((10, 3)), "b must be 1-D"),
])
def test_open_rejects_bad_stores(tmp_path, a, b, match):
    path = _raw_store(tmp_path / "raw.zarr", a, b)
    with pytest.raises(dc.InputError, match=match):
        dc.open_dataset(path)


def test_open_rejects_non_zarr(tmp_path):
    (tmp_path / "f.txt").write_text("hi")
    with pytest.raises(dc.InputError):
        dc.open_dataset(tmp_path / "f.txt")
