"""Server kernels and step rules of the coded gradient solvers (pure numpy)."""

import numpy as np
import pytest
from scipy.linalg import hadamard

from dask_coded.kernels import gradients as gk
from dask_coded.kernels.blocks import BlockLayout


@pytest.fixture
def block():
    rng = np.random.default_rng(0)
    return gk.encode_block(3, rng.standard_normal((24, 5)), rng.standard_normal(24), 0.5)


def test_encode_scales_rows(block):
    assert block.weight == 0.5 and block.block == 3
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(block.a, 0.5 * rng.standard_normal((24, 5)))


def test_partial_gradient_is_eq25(block):
    x = np.arange(5.0)
    np.testing.assert_allclose(gk.partial_gradient(block, x),
                               2 * block.a.T @ (block.a @ x - block.b))


@pytest.mark.parametrize("n", [1, 2, 8, 32])
def test_fwht_is_the_orthonormal_hadamard(n):
    x = np.random.default_rng(n).standard_normal((n, 3))
    np.testing.assert_allclose(gk.fwht(x), hadamard(n) @ x / np.sqrt(n), atol=1e-12)


def test_optimal_step_is_the_exact_line_search():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((50, 4)), rng.standard_normal(50)
    x, g = rng.standard_normal(4), rng.standard_normal(4)
    xi = gk.optimal_step(g, x, a.T @ a, a.T @ b)
    f = [np.linalg.norm(a @ (x - t * g) - b) for t in (xi - 1e-4, xi, xi + 1e-4)]
    assert f[1] < f[0] and f[1] < f[2]
    assert gk.optimal_step(np.zeros(4), x, a.T @ a, a.T @ b) == 0.0


def test_objective_terms_and_step_rules():
    rng = np.random.default_rng(4)
    a, b, x = rng.standard_normal((30, 3)), rng.standard_normal(30), rng.standard_normal(3)
    resid, grad = gk.objective_terms(x, a.T @ a, a.T @ b, b @ b)
    assert resid == pytest.approx(np.linalg.norm(a @ x - b))
    np.testing.assert_allclose(grad, 2 * a.T @ (a @ x - b))
    assert gk.fixed_step(2.0, 0.25) == pytest.approx(0.125)
    assert gk.diminishing_step(1.0, 3) == pytest.approx(0.5)


def test_hessian_product_is_the_change_of_the_partial_gradient(block):
    x_ref, v = np.arange(5.0), np.linspace(-1, 1, 5)
    np.testing.assert_allclose(gk.hessian_product(block, v),
                               gk.partial_gradient(block, x_ref + v)
                               - gk.partial_gradient(block, x_ref), atol=1e-12)


@pytest.mark.parametrize("condition", [1.0, 1e4, 1e8])
def test_preconditioned_half_step_is_the_exact_solution(condition):
    """With R^T R = A^T A the step 1/2 along R^{-1} R^{-T} g solves the problem from any x."""
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.standard_normal((60, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a = u @ np.diag(np.geomspace(1.0, 1.0 / condition, 6)) @ v.T
    b = rng.standard_normal(60)
    r = np.linalg.qr(a, mode="r")
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    x = rng.standard_normal(6)
    g = 2 * a.T @ (a @ x - b)
    step = x - 0.5 * gk.preconditioned_direction(g, r)
    assert np.linalg.norm(step - x_star) <= 1e-15 * condition**2 * np.linalg.norm(x_star) + \
        1e-12 * np.linalg.norm(x_star)
    # two triangular solves: backward stable, so R^T R p = g to ~ u cond(R)^2 of ||g||
    resid = r.T @ (r @ gk.preconditioned_direction(g, r)) - g
    assert np.linalg.norm(resid) <= 1e-14 * max(condition, 1e2) * np.linalg.norm(g)


def test_gradient_and_product_matches_the_dense_formulas():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((1000, 300)), rng.standard_normal(1000)
    x, p = rng.standard_normal(300), rng.standard_normal(300)
    out = gk.gradient_and_product(gk.encode_block(0, a, b, 1.0), (x, p))  # several panels
    np.testing.assert_allclose(out[:-1, 0], 2 * a.T @ (a @ x - b), rtol=1e-12)
    np.testing.assert_allclose(out[:-1, 1], 2 * a.T @ (a @ p), rtol=1e-12)
    np.testing.assert_allclose(out[-1], [np.sum((a @ x - b) ** 2), np.sum((a @ p) ** 2)],
                               rtol=1e-12)


def _cg_problem(seed=0, n=3000, d=30):
    from dask_coded.kernels.leverage import countsketch_chunk, r_factor

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, d)) * np.exp(rng.uniform(-4, 4, d))  # cond ~ 3e3
    b = a @ rng.standard_normal(d) + rng.standard_normal(n)
    r = r_factor(countsketch_chunk(a, 0, 4 * d, 1, BlockLayout.create(n, 1)))
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    return a, b, r, x_star


def _run_cg(cg, a, b, rounds):
    for _ in range(rounds):
        x, p = cg.param()
        cg.step(gk.gradient_and_product(gk.encode_block(0, a, b, 1.0), (x, p)))
    return cg


def test_conjugate_gradients_with_a_sketch_preconditioner_reach_lstsq():
    """Preconditioned by a 4 d CountSketch's R, the iterations to 1e-12 do not depend on
    cond(A) (~3e3 here; unpreconditioned CG needs far more)."""
    a, b, r, x_star = _cg_problem()
    cg = gk.ConjugateGradient(lambda g: gk.preconditioned_direction(g, r), np.zeros(30),
                              gradient=-2 * a.T @ b)
    _run_cg(cg, a, b, 30)
    assert np.linalg.norm(cg.x - x_star) <= 1e-12 * np.linalg.norm(x_star)
    plain = _run_cg(gk.ConjugateGradient(lambda g: g, np.zeros(30)), a, b, 31)
    assert np.linalg.norm(plain.x - x_star) > 1e-6 * np.linalg.norm(x_star)


def test_conjugate_gradients_predict_the_next_round_and_restore_exactly():
    a, b, r, _ = _cg_problem(seed=1)
    def precondition(g):
        return gk.preconditioned_direction(g, r)

    cg = _run_cg(gk.ConjugateGradient(precondition, np.zeros(30)), a, b, 1)  # measures only
    assert not np.any(cg.x)
    x, p = cg.param()
    step, alpha, g_new, f_new = cg.step(gk.gradient_and_product(
        gk.encode_block(0, a, b, 1.0), (x, p)))
    assert alpha > 0
    np.testing.assert_allclose(step, alpha * p)
    np.testing.assert_allclose(g_new, 2 * a.T @ (a @ cg.x - b), rtol=1e-8, atol=1e-8)
    assert f_new == pytest.approx(np.sum((a @ cg.x - b) ** 2), rel=1e-10)
    twin = gk.ConjugateGradient.from_state(precondition, cg.get_state())
    _run_cg(cg, a, b, 5)
    _run_cg(twin, a, b, 5)
    np.testing.assert_array_equal(cg.x, twin.x)
