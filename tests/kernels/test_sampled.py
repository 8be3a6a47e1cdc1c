"""Block-sampled products on an expansion network: distribution, unbiasedness, error estimate."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.expansion import expansion_network
from dask_coded.kernels import matdot as md
from dask_coded.kernels import sampled as smp


def _operands(n=6, inner=12, k=5, seed=0, scales=None):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, inner))
    B = rng.standard_normal((inner, k))
    if scales is not None:  # one scale per column of A / row of B
        A = A * scales
        B = B * scales[:, None]
    return A, B


def _setup(A, B, m, P, q):
    """(network, server results, block products) of the sampled code for q results."""
    a_blk, b_blk = md.split_inner(A, B, m)
    p = smp.sampling_distribution(smp.block_sq_norms(A, m, 1), smp.block_sq_norms(B, m, 0))
    net = expansion_network(p, P, q=q)
    alpha = smp.sampled_coefficients(net.server_blocks, net.encoding_weights(q), m)
    results = md.server_products(md.linear_encode(alpha, a_blk), md.linear_encode(alpha, b_blk))
    return net, results, np.einsum("inr,irk->ink", a_blk, b_blk)


@pytest.mark.parametrize(("inner", "m"), [(12, 3), (10, 3), (10, 6), (7, 7), (5, 1)])
def test_block_norms_match_split_inner(inner, m):
    A, B = _operands(inner=inner, seed=inner + m)
    a_blk, b_blk = md.split_inner(A, B, m)  # the dense reference (zero padded)
    np.testing.assert_allclose(smp.block_sq_norms(A, m, 1),
                               [np.linalg.norm(x) ** 2 for x in a_blk], rtol=1e-13)
    np.testing.assert_allclose(smp.block_sq_norms(B, m, 0),
                               [np.linalg.norm(x) ** 2 for x in b_blk], rtol=1e-13)
    a = A.copy()
    a[0, -1] = np.nan
    r = -(-inner // m)
    assert np.isnan(smp.block_sq_norms(a, m, 1)[(inner - 1) // r])


def test_distribution_is_dkm_and_minimises_the_variance_bound():
    scales = np.repeat([1.0, 5.0, 0.1, 2.0], 3)
    A, B = _operands(scales=scales)
    a_sq, b_sq = smp.block_sq_norms(A, 4, 1), smp.block_sq_norms(B, 4, 0)
    p = smp.sampling_distribution(a_sq, b_sq)
    a_blk, b_blk = md.split_inner(A, B, 4)
    dense = np.array([np.linalg.norm(x) * np.linalg.norm(y) for x, y in zip(a_blk, b_blk)])
    np.testing.assert_allclose(p, dense / dense.sum(), rtol=1e-13)
    # DKM's bound sum_i ||A_i||^2 ||B_i||^2 / p_i is smallest at p (Cauchy-Schwarz)
    best = float(np.sum(a_sq * b_sq / p))
    rng = np.random.default_rng(1)
    for _ in range(200):
        other = rng.dirichlet(np.ones(4))
        assert np.sum(a_sq * b_sq / other) >= best * (1 - 1e-12)
    assert best == pytest.approx(dense.sum() ** 2, rel=1e-12)


def test_distribution_edge_cases():
    np.testing.assert_array_equal(smp.sampling_distribution([0.0, 0.0], [1.0, 0.0]), [0.5, 0.5])
    np.testing.assert_allclose(smp.sampling_distribution([4.0, 1.0, 0.0], [1.0, 1.0, 9.0]),
                               [2 / 3, 1 / 3, 0.0])
    big = smp.sampling_distribution([1e308, 1e308], [1e308, 1e308])  # products overflow
    np.testing.assert_allclose(big, [0.5, 0.5])
    for a, b in (([np.nan, 1.0], [1.0, 1.0]), ([-1.0, 1.0], [1.0, 1.0]), ([1.0], [1.0, 2.0])):
        with pytest.raises(InputError):
            smp.sampling_distribution(a, b)


@pytest.mark.parametrize("scales", [None, np.repeat([1.0, 8.0, 0.05], 4)])
def test_unbiased_by_enumerating_every_subset(scales):
    """GC Theorem 2's premise, a uniformly random first-q subset, by exact enumeration: the
    mean of C_hat over every q-subset is C, the mean squared error is expected_mse, and so is
    the mean of the decoder's estimate (q >= 2; an upper bound at q = 1)."""
    A, B = _operands(seed=3, scales=scales)
    C = A @ B
    m, P = 3, 6
    for q in range(1, P + 1):
        net, results, blocks = _setup(A, B, m, P, q)
        assert net.replicas.sum() == P and np.all(net.replicas >= 1)
        expected = smp.expected_mse(blocks, net.replicas, q)
        c_sum, sq_err, est, careful = np.zeros_like(C), 0.0, 0.0, 0.0
        subsets = list(itertools.combinations(range(P), q))
        for s in subsets:
            c_hat, mse = smp.decode_sampled(results[list(s)], q, P)
            c_sum += c_hat
            sq_err += float(np.sum((c_hat - C) ** 2))
            est += mse
            # told the blocks, a one-block sample gets the upper estimate, never less
            _, upper = smp.decode_sampled(results[list(s)], q, P, net.server_blocks[list(s)])
            assert upper >= mse
            if len(set(net.server_blocks[list(s)])) == 1 and q < P:
                assert mse <= 1e-12 * upper or q == 1  # 0 up to round-off
                assert upper > 0
            careful += upper
        n = len(subsets)
        assert careful / n >= expected * (1 - 1e-12)
        np.testing.assert_allclose(c_sum / n, C, rtol=0, atol=1e-12 * np.abs(C).max())
        assert sq_err / n == pytest.approx(expected, rel=1e-9, abs=1e-20)
        if q == 1:
            assert est / n >= expected
        else:
            assert est / n == pytest.approx(expected, rel=1e-9, abs=1e-20)
        assert expected <= smp.mse_bound(smp.block_sq_norms(A, m, 1),
                                         smp.block_sq_norms(B, m, 0), net.replicas, q) * (1 + 1e-12)


def test_exact_when_every_server_answers():
    A, B = _operands(seed=4, scales=np.repeat([1.0, 30.0, 0.01, 1.0], 3))
    m, P = 4, 9
    _, results, _ = _setup(A, B, m, P, q=3)  # encoded for 3, all 9 arrive
    order = np.random.default_rng(0).permutation(P)
    c_hat, mse = smp.decode_sampled(results[order], 3, P)
    assert mse == 0.0
    assert md.relative_error(c_hat, A @ B) < 1e-14
    assert smp.expected_mse(np.ones((2, 1, 1)), [1, 1], 2) == 0.0


def test_error_estimate_matches_monte_carlo():
    """Random first-q subsets as the executor draws them: the squared error averages to
    expected_mse, and so does the decoder's unbiased estimate."""
    A, B = _operands(n=8, inner=20, k=7, seed=5, scales=np.repeat([1.0, 3.0, 0.3, 1.0, 6.0], 4))
    C = A @ B
    m, P, q = 5, 11, 4
    net, results, blocks = _setup(A, B, m, P, q)
    expected = smp.expected_mse(blocks, net.replicas, q)
    rng = np.random.default_rng(6)
    errs, ests = [], []
    for _ in range(4000):
        s = rng.choice(P, size=q, replace=False)
        c_hat, mse = smp.decode_sampled(results[s], q, P)
        errs.append(float(np.sum((c_hat - C) ** 2)))
        ests.append(mse)
    assert np.mean(errs) == pytest.approx(expected, rel=0.08)
    assert np.mean(ests) == pytest.approx(expected, rel=0.08)
    # more results, less error: (1 - k/P) / k falls with k
    assert smp.expected_mse(blocks, net.replicas, q + 3) < expected


def test_importance_sampling_beats_uniform_on_unequal_blocks():
    A, B = _operands(seed=7, scales=np.repeat([1.0, 20.0, 0.05, 0.5], 3))
    m, P, q = 4, 12, 4
    net, _, blocks = _setup(A, B, m, P, q)
    uniform = smp.expected_mse(blocks, np.full(m, P // m), q)
    assert smp.expected_mse(blocks, net.replicas, q) < 0.5 * uniform


def test_bad_inputs():
    with pytest.raises(InputError, match="need 1 to 4 results, got 5"):
        smp.decode_sampled(np.zeros((5, 2, 2)), 2, 4)
    with pytest.raises(InputError, match=r"m must be in 1\.\.3"):
        smp.block_sq_norms(np.ones((2, 3)), 4, 1)
    with pytest.raises(InputError, match="biased"):
        smp.population(np.ones((2, 1, 1)), [2, 0])
    with pytest.raises(InputError, match="server_blocks"):
        smp.sampled_coefficients([0, 3], np.ones(3), 3)
