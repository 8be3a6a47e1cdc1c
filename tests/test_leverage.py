"""The public leverage API on numpy, dask and Zarr inputs, on a real LocalCluster too."""

import dask.array as da
import numpy as np
import pytest

import dask_coded as dc
from dask_coded.kernels.expansion import misestimation_factor
from dask_coded.kernels.leverage import dense_block_leverage
from tests.conftest import FAMILIES, dense_dataset


@pytest.fixture(scope="module")
def family_stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("lev")
    out = {}
    for name, params in FAMILIES.items():
        path = root / f"{name}.zarr"
        dc.make_dataset(path, n_rows=6000, n_cols=12, chunk_rows=1000, seed=0, **params)
        out[name] = path
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_exact_matches_dense_reference(family, family_stores):
    a, _ = dense_dataset(**FAMILIES[family])
    for n_blocks in (60, 47):
        ref = dense_block_leverage(a, n_blocks)
        got = dc.block_leverage_scores(family_stores[family], n_blocks)
        assert got.shape == (n_blocks,)
        assert got.sum() == pytest.approx(1.0, abs=1e-14)
        np.testing.assert_allclose(got, ref, rtol=1e-8)


def test_ill_conditioned_is_refined_by_cholesky_qr(family_stores):
    """cond 1e8: shifted CholeskyQR3, three Gram-like passes in all, no Householder QR."""
    result = dc.compute_block_leverage(family_stores["cond-1e8"], 60)
    assert result.algorithm == "cholqr" and result.passes == 3
    assert len(result.pass_seconds) == 3
    assert 1e7 < result.condition < 1e9
    well = dc.compute_block_leverage(family_stores["gaussian"], 60)
    assert well.algorithm == "gram" and well.passes == 1
    # the refined passes' U_i^T U_i: a basis of range(A) to 1e-8 though cond(A) ~ 1e8
    unit = result.unit_grams
    np.testing.assert_allclose(unit.sum(axis=0), np.eye(unit.shape[1]), atol=1e-8)
    np.testing.assert_allclose(np.trace(unit, axis1=1, axis2=2) / unit.shape[1],
                               result.scores, atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_householder_algorithm_matches_dense_reference(family, family_stores):
    a, _ = dense_dataset(**FAMILIES[family])
    got = dc.compute_block_leverage(family_stores[family], 47, algorithm="qr")
    assert got.algorithm == "qr" and got.passes == 1
    np.testing.assert_allclose(got.scores, dense_block_leverage(a, 47), rtol=1e-8)


def conditioned(n: int, d: int, cond: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, d)))
    v, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (u * np.geomspace(1.0, 1.0 / cond, d)) @ v.T


@pytest.mark.parametrize("algorithm", ["auto", "qr"])
@pytest.mark.parametrize(("cond", "passes"), [(1.5, 1), (1e3, 2), (1e6, 2), (1e8, 3)])
def test_solution_within_10x_of_numpy(cond, passes, algorithm):
    """A consistent system b = A x0: the pass's solution against numpy's own error."""
    a = conditioned(12000, 20, cond, seed=int(np.log10(cond)))
    x0 = np.random.default_rng(5).standard_normal(20)
    b = a @ x0
    numpy_err = np.linalg.norm(np.linalg.lstsq(a, b, rcond=None)[0] - x0) / np.linalg.norm(x0)
    res = dc.compute_block_leverage(da.from_array(a, chunks=(1500, 20)), 40,
                                    b=da.from_array(b, chunks=1500), solve=True,
                                    algorithm=algorithm)
    err = np.linalg.norm(res.solution - x0) / np.linalg.norm(x0)
    assert err <= 10 * max(numpy_err, 1e-15)
    assert res.passes == (1 if algorithm == "qr" else passes)
    np.testing.assert_allclose(res.scores, dense_block_leverage(a, 40), rtol=1e-7)
    if cond >= 1e8:
        assert err <= 1e-6  # the bar; the normal equations alone give ~1


def test_rank_deficient_solve_says_so():
    a = conditioned(5000, 8, 10.0)
    a[:, 7] = a[:, 0] - 2.0 * a[:, 3]
    with pytest.raises(dc.InputError, match=r"^A is rank deficient \(numerically\): rank 7 "
                                            r"of 8 columns, condition estimate \d"):
        dc.compute_block_leverage(a, 10, b=np.ones(5000), solve=True)


@pytest.mark.parametrize("family", FAMILIES)
def test_sketch_beta_at_defaults(family, family_stores):
    a, _ = dense_dataset(**FAMILIES[family])
    ref = dense_block_leverage(a, 60)
    approx = dc.block_leverage_scores(family_stores[family], 60, method="sketch")
    assert approx.sum() == pytest.approx(1.0)
    assert misestimation_factor(ref, approx) >= 0.5


def test_sketch_with_jl_projection():
    a, _ = dense_dataset(n_rows=8000, n_cols=80, chunk_rows=2000, kind="coherent")
    ref = dense_block_leverage(a, 40)
    approx = dc.block_leverage_scores(a, 40, method="sketch", seed=1)  # d = 80 > 64: JL on
    assert misestimation_factor(ref, approx) >= 0.5
    # not the exact answer: the JL projection does make an error
    assert np.max(np.abs(approx / ref - 1)) > 1e-6


def test_numpy_dask_and_store_agree(family_stores):
    a, _ = dense_dataset(**FAMILIES["coherent"])
    from_numpy = dc.block_leverage_scores(a, 50)
    from_dask = dc.block_leverage_scores(da.from_array(a, chunks=(1300, 12)), 50)
    from_store = dc.block_leverage_scores(family_stores["coherent"], 50)
    np.testing.assert_allclose(from_dask, from_numpy, rtol=1e-12)
    np.testing.assert_allclose(from_store, from_numpy, rtol=1e-12)


def test_padding_leaves_real_blocks_unchanged():
    """Footnote 1's padding: 5003 rows in 50 blocks are 3 of 101 rows and 47 of 100; padding
    each short block with one zero row (pad_rows) changes neither its score nor x."""
    from dask_coded.kernels.blocks import pad_rows

    a, b = dense_dataset(n_rows=5003, kind="student-t")
    n_blocks = 50
    padded, padded_b = pad_rows(a, n_blocks), pad_rows(b, n_blocks)
    assert padded.shape[0] == 50 * 101
    got = dc.block_leverage_scores(a, n_blocks)
    np.testing.assert_allclose(got, dc.block_leverage_scores(padded, n_blocks), rtol=1e-12)
    np.testing.assert_allclose(got, dense_block_leverage(a, n_blocks), rtol=1e-8)
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    xp = np.linalg.lstsq(padded, padded_b, rcond=None)[0]
    np.testing.assert_allclose(xp, x, rtol=1e-12)


def test_no_block_is_all_padding():
    """1000 rows in 600 blocks: 400 blocks of 2 rows and 200 of 1, every one scored (cutting
    at ceil(N / K) = 2 rows left blocks 500.. empty, K = 500 in effect)."""
    a, _ = dense_dataset(n_rows=1000)
    scores = dc.block_leverage_scores(a, 600)
    assert scores.min() > 0
    np.testing.assert_allclose(scores, dense_block_leverage(a, 600), rtol=1e-8)


def test_runs_on_distributed_cluster(client, family_stores):
    a, _ = dense_dataset(**FAMILIES["cond-1e8"])
    got = dc.block_leverage_scores(family_stores["cond-1e8"], 60)
    np.testing.assert_allclose(got, dense_block_leverage(a, 60), rtol=1e-8)
    assert len(client.scheduler_info()["workers"]) == 2


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_blocks": 0}, "n_blocks must be between 1"),
    ({"n_blocks": 6001}, "n_blocks must be between 1"),
    ({"n_blocks": 10, "method": "nope"}, "unknown leverage method"),
])
def test_bad_parameters(family_stores, kwargs, match):
    with pytest.raises(dc.InputError, match=match):
        dc.block_leverage_scores(family_stores["gaussian"], **kwargs)


@pytest.mark.parametrize(("array", "match"), [
    (np.ones(10), "A must be 2-D"),
    (np.ones((10, 2, 2)), "A must be 2-D"),
    (np.ones((10, 2), dtype=np.int64), "dtype int64"),
    (np.ones((10, 2), dtype=np.complex128), "complex"),
    (np.ones((0, 2)), "empty"),
])
def test_bad_arrays(array, match):
    with pytest.raises(dc.InputError, match=match):
        dc.block_leverage_scores(array, 2)


def test_nan_and_inf_name_the_block():
    a, _ = dense_dataset()
    a[3456, 0] = np.inf
    with pytest.raises(dc.InputError, match=r"block 34 \(row 3456\)"):
        dc.block_leverage_scores(a, 60)
