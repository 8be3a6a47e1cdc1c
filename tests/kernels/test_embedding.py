"""The embedding error of block sketches (GC Theorem 1), measured against the bound."""

import math
from itertools import combinations

import numpy as np
import pytest

from dask_coded.kernels import embedding as emb
from dask_coded.kernels.blocks import BlockLayout
from tests.conftest import dense_dataset


@pytest.fixture(scope="module")
def problem():
    """Coherent rows (unequal block leverage), 2000 x 6 in 20 blocks."""
    a, _ = dense_dataset(n_rows=2000, n_cols=6, chunk_rows=500, kind="coherent", seed=3)
    layout = BlockLayout.create(2000, 20)
    unit = emb.unit_block_grams(emb.block_grams(a, layout))
    pi = np.trace(unit, axis1=1, axis2=2) / a.shape[1]  # block leverage scores
    return a, unit, pi


def test_unit_grams_are_the_blocks_of_an_orthonormal_basis(problem):
    a, unit, pi = problem
    u = np.linalg.qr(a)[0]
    layout = BlockLayout.create(2000, 20)
    for i in (0, 7, 19):  # equal up to the choice of basis (U Q for orthogonal Q)
        lo, hi = layout.block_range(i)
        np.testing.assert_allclose(np.linalg.eigvalsh(unit[i]),
                                   np.linalg.eigvalsh(u[lo:hi].T @ u[lo:hi]), atol=1e-12)
    np.testing.assert_allclose(unit.sum(axis=0), np.eye(6), atol=1e-12)
    assert pi.sum() == pytest.approx(1.0) and pi.max() > 2 / 20  # really non-uniform


def test_theorem1_epsilon_solves_the_chernoff_bound():
    d, q, delta = 6, 400, 0.1
    eps = emb.theorem1_epsilon(d, q, delta)
    gamma, sigma2 = 1 + d, d - 1  # GC Proposition 4 with beta = 1
    assert 2 * d * math.exp(-q * eps**2 / (sigma2 + gamma * eps / 3)) == pytest.approx(delta)
    assert emb.theorem1_epsilon(d, 4 * q, delta) < eps  # more blocks, smaller eps
    assert emb.theorem1_epsilon(d, q, delta, beta=0.5) > eps  # worse scores, larger eps


def test_algorithm1_is_unbiased_and_inside_theorem1(problem):
    _, unit, pi = problem
    d, delta = 6, 0.1
    # E[G_i / pi_i] over i ~ pi is exactly the identity (GC Proposition 4's E[X] = 0)
    np.testing.assert_allclose(np.tensordot(pi, unit / pi[:, None, None], axes=1), np.eye(d),
                               atol=1e-12)
    rng = np.random.default_rng(0)
    small, large = (emb.algorithm1_errors(unit, pi, q, 200, rng) for q in (25, 400))
    assert np.median(large) < np.median(small) / 2  # error ~ 1 / sqrt(q)
    bound = emb.theorem1_epsilon(d, 400, delta)
    assert np.mean(large > bound) <= delta  # the theorem's promise (measured: never close)


def test_leverage_sampling_beats_uniform_on_coherent_blocks(problem):
    _, unit, pi = problem
    rng = np.random.default_rng(1)
    lev = emb.algorithm1_errors(unit, pi, 100, 200, rng)
    uni = emb.algorithm1_errors(unit, np.full(20, 1 / 20), 100, 200, rng)
    assert np.median(lev) < np.median(uni)


def test_expansion_sketch_has_mean_identity_over_every_first_q(problem):
    """Eq. 23's weights make the first-q sketch unbiased (GC Theorem 2), exactly."""
    _, unit, pi = problem
    replicas = np.ones(20, dtype=int)
    replicas[np.argsort(pi)[-4:]] = 3  # the heaviest blocks replicated: m = 28
    m, q = int(replicas.sum()), 3
    server_blocks = np.repeat(np.arange(20), replicas)
    w2 = m / (q * replicas)
    mean = np.mean([np.tensordot(w2[server_blocks[list(s)]], unit[server_blocks[list(s)]], axes=1)
                    for s in combinations(range(m), q)], axis=0)
    np.testing.assert_allclose(mean, np.eye(6), atol=1e-12)
    rng = np.random.default_rng(2)
    errs = {qq: np.median(emb.expansion_errors(unit, replicas, qq, 100, rng)) for qq in (5, 24)}
    assert errs[24] < errs[5]


def test_bad_inputs_are_one_line():
    unit = np.stack([np.eye(2) / 2] * 2)
    with pytest.raises(emb.InputError, match="pi must be 2 non-negative probabilities"):
        emb.algorithm1_errors(unit, [0.7, 0.7], 3, 5, np.random.default_rng(0))
    with pytest.raises(emb.InputError, match="q must be <= 2, got 3"):
        emb.expansion_errors(unit, [1, 1], 3, 5, np.random.default_rng(0))
    with pytest.raises(emb.InputError, match="delta must be in"):
        emb.theorem1_epsilon(2, 10, 1.5)
