"""The exact-solve kernels against numpy's Householder least squares, on dense inputs."""

from __future__ import annotations

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels import direct
from dask_coded.kernels.blocks import BlockLayout, chunk_aligned_blocks
from dask_coded.kernels.leverage import chunk_qr_augmented, combine_r


def conditioned(n: int, d: int, cond: float, seed: int = 0) -> np.ndarray:
    """A random n x d matrix with singular values spread evenly in log from 1 to 1 / cond."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, d)))
    v, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (u * np.geomspace(1.0, 1.0 / cond, d)) @ v.T


def rel(x, ref) -> float:
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


def numpy_error(a, x0) -> float:
    return rel(np.linalg.lstsq(a, a @ x0, rcond=None)[0], x0)


def test_normal_equations_at_small_condition():
    a = conditioned(3000, 10, 3.0)
    x0 = np.arange(1.0, 11.0)
    x = direct.solve_normal(a.T @ a, a.T @ (a @ x0))
    assert rel(x, x0) <= 10 * max(numpy_error(a, x0), 1e-16)


@pytest.mark.parametrize("cond", [1e3, 1e6, 1e8])
def test_cholesky_qr_refinement_matches_householder(cond):
    """CholeskyQR2 / shifted CholeskyQR3 from the Gram, as the pass does it in one chunk."""
    a = conditioned(4000, 12, cond, seed=1)
    x0 = np.random.default_rng(2).standard_normal(12)
    b = a @ x0
    factor = direct.gram_factor(a.T @ a, a.shape[0])
    assert factor.shifted == (cond > direct.SHIFT_CONDITION / 2)
    for _ in range(direct.MAX_REFINEMENTS):
        from scipy.linalg import solve_triangular

        q = solve_triangular(factor.r, a.T, trans="T").T
        factor, r_step, deviation = direct.refine(factor, q.T @ q)
        if deviation <= direct.ORTHOGONAL_ENOUGH:
            break
    x = direct.solve_refined(factor, r_step, q.T @ b)
    assert rel(x, x0) <= 10 * numpy_error(a, x0)
    assert factor.condition == pytest.approx(cond, rel=0.5)


def test_augmented_householder_gives_solution_and_residual():
    rng = np.random.default_rng(3)
    a = conditioned(2000, 8, 1e4, seed=3)
    b = rng.standard_normal(2000)
    summary, aug = chunk_qr_augmented(a, b, 0, BlockLayout.create(2000, 4))
    assert summary.factors.shape == (4, 8, 8)
    x, resid = direct.solve_augmented(combine_r([aug]))
    ref = np.linalg.lstsq(a, b, rcond=None)[0]
    assert rel(x, ref) < 1e-9
    assert resid == pytest.approx(np.linalg.norm(a @ ref - b), rel=1e-10)


def test_rank_deficient_names_rank_and_condition():
    r = np.triu(np.random.default_rng(4).standard_normal((6, 6))) + 3 * np.eye(6)
    r[5, 5] = 1e-18
    with pytest.raises(InputError, match=r"rank deficient \(numerically\): rank 5 of 6 "
                                         r"columns, condition estimate"):
        direct.check_rank(r)
    zero = conditioned(100, 3, 2.0)
    zero[:, 1] = 0.0
    with pytest.raises(InputError, match="column 1 is all zeros"):
        direct.solve_normal(zero.T @ zero, np.zeros(3))


@pytest.mark.parametrize(("chunks", "expected"), [
    ((25000,) * 8, 8), ((100000,) * 20, 20), ((64,) * 300, 100), ((10, 5, 10), None),
    ((1000,) * 3 + (400,), 1), ((7, 7, 3), 1),
])
def test_chunk_aligned_blocks(chunks, expected):
    k = chunk_aligned_blocks(chunks, 100)
    assert k == expected
    if k is not None:
        tau = -(-sum(chunks) // k)
        bounds = set(np.cumsum((0, *chunks)).tolist())
        assert all(start in bounds for start in range(0, sum(chunks), tau))
