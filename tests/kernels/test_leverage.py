"""Leverage kernels against a dense numpy reference, one chunk at a time."""

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels import leverage as kern
from dask_coded.kernels.blocks import BlockLayout
from tests.conftest import FAMILIES, dense_dataset


def _chunked_scores(a, n_blocks, chunk_rows, kind):
    layout = BlockLayout.create(a.shape[0], n_blocks)
    fn = kern.chunk_gram if kind == "gram" else kern.chunk_qr
    summaries = [fn(a[s:s + chunk_rows], s, layout)
                 for s in range(0, a.shape[0], chunk_rows)]
    totals = [kern.summary_total(s) for s in summaries]
    if kind == "gram":
        whitener = kern.gram_whitener(kern.combine_gram(totals))
    else:
        whitener = kern.r_whitener(kern.combine_r(totals))
    blocks = np.concatenate([s.blocks for s in summaries])
    scores = np.concatenate([kern.segment_scores(s, whitener) for s in summaries])
    return kern.scores_to_distribution(blocks, scores, n_blocks), whitener


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("n_blocks", "chunk_rows"), [(60, 1000), (47, 777)])
def test_qr_path_matches_dense(family, n_blocks, chunk_rows):
    a, _ = dense_dataset(**FAMILIES[family])
    ref = kern.dense_block_leverage(a, n_blocks)
    got, _ = _chunked_scores(a, n_blocks, chunk_rows, "qr")
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    assert got.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("family", ["gaussian", "student-t", "coherent"])
def test_gram_path_matches_dense_when_well_conditioned(family):
    a, _ = dense_dataset(**FAMILIES[family])
    got, whitener = _chunked_scores(a, 60, 1000, "gram")
    assert whitener.condition < kern.GRAM_CONDITION_LIMIT
    np.testing.assert_allclose(got, kern.dense_block_leverage(a, 60), rtol=1e-10)


def test_gram_condition_flags_ill_conditioned():
    a, _ = dense_dataset(**FAMILIES["cond-1e8"])
    _, whitener = _chunked_scores(a, 60, 1000, "gram")
    # the Gram path must refuse this matrix: its answer would be off by ~cond^2 u
    assert not whitener.condition <= kern.GRAM_CONDITION_LIMIT


def test_column_scaling_is_not_ill_conditioning():
    a, _ = dense_dataset()
    scaled = a * np.logspace(0, 8, a.shape[1])
    got, whitener = _chunked_scores(scaled, 30, 1000, "gram")
    assert whitener.condition < 10
    np.testing.assert_allclose(got, kern.dense_block_leverage(a, 30), rtol=1e-10)


def test_nan_names_the_block():
    a, _ = dense_dataset()
    a[2345, 3] = np.nan
    with pytest.raises(InputError, match=r"NaN or Inf in block 23 \(row 2345\)"):
        kern.chunk_gram(a[2000:3000], 2000, BlockLayout.create(6000, 60))


def test_rank_deficient_is_an_error():
    a, _ = dense_dataset()
    a[:, 5] = 0.0
    with pytest.raises(InputError, match="rank deficient"):
        _chunked_scores(a, 30, 1000, "gram")


def test_countsketch_is_independent_of_chunking():
    a, _ = dense_dataset(n_rows=3000)
    blocks = BlockLayout.create(3000, 30)
    one = kern.countsketch_chunk(a, 0, 50, 7, blocks)
    parts = sum(kern.countsketch_chunk(a[s:s + 700], s, 50, 7, blocks)
                for s in range(0, 3000, 700))
    np.testing.assert_allclose(parts, one, rtol=1e-12, atol=1e-12)
    # a CountSketch preserves the squared column norms in expectation; here roughly
    np.testing.assert_allclose((one**2).sum(0), (a**2).sum(0), rtol=0.3)


def test_countsketch_accumulates_shares_in_place():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3000, 6))
    blocks = BlockLayout.create(3000, 30)
    whole = kern.countsketch_chunk(a, 0, 40, 5, blocks)
    out = np.zeros((40, 6))
    for s in range(0, 3000, 700):
        assert kern.countsketch_chunk(a[s:s + 700], s, 40, 5, blocks, out=out) is out
    np.testing.assert_allclose(out, whole, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        kern.countsketch_chunk(a, 0, 40, 5, blocks, out=np.zeros((41, 6)))


@pytest.mark.parametrize(("kind", "family"), [("gram", "coherent"), ("qr", "coherent"),
                                              ("qr", "cond-1e8")])
def test_block_unit_grams_are_the_blocks_of_an_orthonormal_basis(kind, family):
    """Per block, U_i^T U_i (in some rotation): they sum to I_d, their traces are d Pi_i, and
    any weighted sum has the spectrum the dense U gives (a block sketch's U^T S^T S U).
    (The Gram path is not used at cond 1e8: it refines by Cholesky-QR, tested in
    tests/test_leverage.py.)"""
    a, _ = dense_dataset(**FAMILIES[family])
    n_blocks, layout = 47, BlockLayout.create(a.shape[0], 47)
    fn = kern.chunk_gram if kind == "gram" else kern.chunk_qr
    summaries = [fn(a[s:s + 777], s, layout) for s in range(0, a.shape[0], 777)]
    scores, whitener = _chunked_scores(a, n_blocks, 777, kind)
    blocks = np.concatenate([s.blocks for s in summaries])
    grams = np.concatenate([kern.segment_unit_grams(s, whitener) for s in summaries])
    unit = kern.block_unit_grams(blocks, grams, n_blocks)
    d = a.shape[1]
    np.testing.assert_allclose(unit.sum(axis=0), np.eye(d), atol=1e-8)
    np.testing.assert_allclose(np.trace(unit, axis1=1, axis2=2) / d, scores, atol=1e-10)
    u = np.linalg.qr(a)[0]
    w = np.random.default_rng(0).random(n_blocks)
    dense = sum(w[i] * u[lo:hi].T @ u[lo:hi]
                for i, (lo, hi) in enumerate(map(layout.block_range, range(n_blocks))))
    np.testing.assert_allclose(np.linalg.eigvalsh(np.tensordot(w, unit, axes=1)),
                               np.linalg.eigvalsh(dense), atol=1e-8)
