"""The mixing sketches (Gaussian, Rademacher, block-SRHT) against their dense matrices."""

import numpy as np
import pytest
from scipy.linalg import hadamard

from dask_coded.errors import InputError
from dask_coded.kernels import sketches as sk
from dask_coded.kernels.blocks import BlockLayout
from dask_coded.kernels.gradients import encode_block

LAYOUT = BlockLayout.create(103, 6)  # blocks of 18 and 17 rows: t = 32, K' = 8


def dense(sketch: sk.Sketch, layout: BlockLayout = LAYOUT) -> np.ndarray:
    """S itself, from every block's share of the identity."""
    return np.hstack([sketch.share(i, np.eye(hi - lo)) for i, (lo, hi) in
                      enumerate(map(layout.block_range, range(layout.n_blocks)))])


def make(kind: str, rows: int = 40, round_id: int = 3, layout: BlockLayout = LAYOUT
         ) -> sk.Sketch:
    return sk.Sketch.create(kind, rows, 1, round_id, layout.n_blocks, layout.block_rows)


@pytest.mark.parametrize("panel", [4096, 7])  # 7: blocks of 17-18 rows drawn in 3 panels
@pytest.mark.parametrize("kind", sk.KINDS)
def test_shares_add_up_to_the_dense_sketch_and_adjoint_is_its_transpose(kind, panel,
                                                                        monkeypatch):
    monkeypatch.setattr(sk, "PANEL_COLUMNS", panel)
    sketch = make(kind)
    s = dense(sketch)
    m = np.random.default_rng(0).standard_normal((103, 3))
    shares = sum(sketch.share(i, m[lo:hi])
                 for i, (lo, hi) in enumerate(map(LAYOUT.block_range, range(6))))
    np.testing.assert_allclose(shares, s @ m, atol=1e-12)
    y = np.random.default_rng(1).standard_normal(sketch.rows)
    back = np.concatenate([sketch.adjoint(i, y, hi - lo)
                           for i, (lo, hi) in enumerate(map(LAYOUT.block_range, range(6)))])
    np.testing.assert_allclose(back, s.T @ y, atol=1e-12)


@pytest.mark.parametrize("kind", sk.KINDS)
def test_every_sketch_is_unbiased_and_mixes_all_blocks(kind):
    """E[S^T S] = I (the mean of 3000 draws within 5 standard errors, entry by entry) and
    every row of S touches every block: not block-diagonal."""
    small = BlockLayout.create(23, 3)  # blocks of 8, 8, 7 rows: t = 8, K' = 4
    draws = [dense(make(kind, rows=8, round_id=r, layout=small), small) for r in range(3000)]
    sts = np.array([s.T @ s for s in draws])
    mean, se = sts.mean(axis=0), sts.std(axis=0) / np.sqrt(len(sts)) + 1e-15
    assert np.all(np.abs(mean - np.eye(23)) <= 5 * se)
    for lo, hi in map(small.block_range, range(3)):
        assert np.all(np.abs(draws[0][:, lo:hi]).sum(axis=1) > 0)


def test_srht_is_sampled_blocks_of_the_hadamard_mixed_rows():
    """S = sqrt(K'/q) P_J H_{N'} D / sqrt(N') with every block padded to t rows (Sylvester:
    H_{N'} = H_{K'} kron H_t): checked against the dense construction."""
    sketch = make("srht", rows=40)  # rounded up to q = 2 blocks of t = 32 rows
    assert sketch.rows == 64 and len(sketch.sampled_blocks) == 2
    t, k2 = 32, 8
    signs = np.zeros(k2 * t)
    place = np.zeros((k2 * t, 103))  # the padded layout: block i at rows i t .. i t + n_i
    for i, (lo, hi) in enumerate(map(LAYOUT.block_range, range(6))):
        signs[i * t:(i + 1) * t] = sketch._signs(i)
        place[i * t + np.arange(hi - lo), lo + np.arange(hi - lo)] = 1
    mixed = hadamard(k2 * t) @ (signs[:, None] * place) / np.sqrt(k2 * t)
    rows = np.concatenate([np.arange(j * t, (j + 1) * t) for j in sketch.sampled_blocks])
    np.testing.assert_allclose(dense(sketch), np.sqrt(k2 / 2) * mixed[rows], atol=1e-12)


def test_draws_are_fresh_per_round_and_reproducible():
    for kind in sk.KINDS:
        np.testing.assert_array_equal(dense(make(kind)), dense(make(kind)))
        assert not np.allclose(dense(make(kind, round_id=4)), dense(make(kind)))


def test_server_kernels_are_the_sketched_gradient():
    rng = np.random.default_rng(2)
    a, b, x = rng.standard_normal((103, 4)), rng.standard_normal(103), rng.standard_normal(4)
    for kind in sk.KINDS:
        sketch = make(kind)
        blocks = [encode_block(i, a[lo:hi], b[lo:hi], 1.0)
                  for i, (lo, hi) in enumerate(map(LAYOUT.block_range, range(6)))]
        s = sum(sk.residual_share(blk, (x, sketch, True)) for blk in blocks)
        g = sum(sk.adjoint_gradient(blk, (s, sketch)) for blk in blocks)
        full = dense(sketch)
        np.testing.assert_allclose(g, 2 * a.T @ full.T @ full @ (a @ x - b), atol=1e-10)
        system = sum(sk.system_share(blk, sketch) for blk in blocks)
        np.testing.assert_allclose(system, full @ np.column_stack([a, b]), atol=1e-12)
        diff = sum(sk.residual_share(blk, (x, sketch, False)) for blk in blocks)
        np.testing.assert_allclose(diff, full @ (a @ x), atol=1e-12)  # no b: a difference


def test_bad_sketch_is_one_line():
    with pytest.raises(InputError, match="unknown sketch 'countsketch'; choose one of"):
        sk.Sketch.create("countsketch", 10, 0, 0, 6, 18)
    with pytest.raises(InputError, match="at least one row"):
        sk.Sketch.create("gaussian", 0, 0, 0, 6, 18)
