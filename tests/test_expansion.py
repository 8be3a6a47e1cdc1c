"""The public expansion_network API."""

import numpy as np
import pytest

import dask_coded as dc
from dask_coded.kernels import expansion as kern
from dask_coded.kernels.runtime import ShiftedExponential


@pytest.fixture
def pi():
    return np.random.default_rng(0).dirichlet(np.full(20, 0.5))


def test_optimal_network(pi):
    net = dc.expansion_network(pi, 100)
    assert net.replicas.sum() == 100 and net.replicas.min() >= 1
    np.testing.assert_allclose(net.induced, net.replicas / 100)
    assert net.distortion == pytest.approx(np.mean(np.abs(pi - net.induced)))
    assert net.beta == pytest.approx(np.min(net.induced / pi))
    assert len(net.server_blocks) == 100
    np.testing.assert_array_equal(np.bincount(net.server_blocks, minlength=20), net.replicas)
    e = net.expansion_matrix
    assert e.shape == (100, 20)
    np.testing.assert_array_equal(np.asarray(e.sum(axis=0)).ravel(), net.replicas)
    assert net.q is None and net.survival is None
    with pytest.raises(dc.InputError, match="need q"):
        net.encoding_weights()


def test_optimal_is_no_worse_than_paper(pi):
    for phi in (0.1, 0.3, 0.6, 0.9):
        best = dc.expansion_network(pi, 100, survival=phi)
        paper = dc.expansion_network(pi, 100, survival=phi, method="paper")
        assert paper.replicas.sum() == 100
        assert best.distortion <= paper.distortion + 1e-15


def test_runtime_model_gives_q_and_encoding(pi):
    model = ShiftedExponential(shift=1.0, rate=2.0)
    net = dc.expansion_network(pi, 100, survival=model, deadline=1.5)
    phi = float(np.exp(-2.0 * 0.5))
    assert net.survival == pytest.approx(phi)
    assert net.q == int(np.floor((1 - phi) * 100))  # q(T) = floor(F(T) m), eq. 12
    w = net.encoding_weights()
    np.testing.assert_allclose(w, 1 / np.sqrt(net.q * net.induced))  # eq. 23
    # Theorem 2: E[sum of q uniformly drawn servers' scaled blocks] recovers every block once
    np.testing.assert_allclose(net.q * net.induced * w**2, 1.0)
    assert net.summary()["q"] == net.q


def test_lemma1_reported_for_eq19_replicas():
    pi = np.random.default_rng(1).dirichlet(np.full(10, 20.0))  # all near 0.1
    phi = 0.95  # rho_i = log(1 - Pi_i) / log(phi) ~ 2: eq. 19 never rounds to 0 here
    net = dc.expansion_network(pi, 60, survival=phi)
    unclamped = kern.replicas_from_survival(pi, phi, min_replicas=0)
    np.testing.assert_array_equal(unclamped, net.paper_replicas)
    assert 0 < net.emulation_distortion <= net.lemma1_bound
    phi = 0.5  # rho_i ~ 0.15: every block would round to 0, so min_replicas=1 lifts them
    net = dc.expansion_network(pi, 60, survival=phi)
    np.testing.assert_array_equal(net.paper_replicas, np.ones(10))
    assert net.emulation_distortion == pytest.approx(np.mean(np.abs(pi - (1 - phi))))


def test_perfect_emulation_found_when_possible():
    pi = np.array([1, 2, 3, 4]) / 10
    net = dc.expansion_network(pi, 20)
    assert net.distortion == 0 and net.beta == 1
    np.testing.assert_array_equal(net.replicas, [2, 4, 6, 8])


def test_zero_score_blocks_get_no_servers():
    pi = np.array([0.5, 0.5, 0.0])
    net = dc.expansion_network(pi, 4)
    np.testing.assert_array_equal(net.replicas, [2, 2, 0])
    w = net.encoding_weights(q=2)
    assert w[2] == 0 and np.all(w[:2] > 0)


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    (([0.5, 0.6], 4), {}, "not a distribution"),
    (([0.5, -0.5, 1.0], 4), {}, "not a distribution"),
    (([0.5, 0.5], 0), {}, "n_servers must be >= 1"),
    (([0.5, 0.5], 1), {}, "too few"),
    (([0.5, 0.5], 4), {"survival": 1.0}, r"must be in \(0, 1\)"),
    (([0.5, 0.5], 4), {"survival": 0.0}, r"must be in \(0, 1\)"),
    (([0.5, 0.5], 4), {"method": "best"}, "unknown expansion method"),
    (([0.5, 0.5], 4), {"method": "paper"}, "needs survival"),
    (([0.5, 0.5], 4), {"q": 5}, "q must be an integer in 1..n_servers"),
    (([0.5, 0.5], 4), {"deadline": 2.0}, "needs a runtime model"),
    (([0.5, 0.5], 4), {"survival": ShiftedExponential(1.0, 1.0)}, "needs a deadline"),
])
def test_bad_input(args, kwargs, match):
    with pytest.raises(dc.InputError, match=match):
        dc.expansion_network(*args, **kwargs)


def test_leverage_to_network_end_to_end():
    a = np.random.default_rng(3).standard_t(2.0, size=(4000, 6))
    pi = dc.block_leverage_scores(a, 40)
    net = dc.expansion_network(pi, 160, survival=0.25)
    assert net.replicas.sum() == 160
    assert net.distortion <= kern.distortion(pi, np.full(40, 1 / 40))
