"""The in-process simulated executor: the seed's probabilistic model, no cluster."""

import time

import numpy as np
import pytest

import dask_coded as dc
from dask_coded.executor import StragglerTimeout
from dask_coded.kernels.runtime import Pareto, ShiftedExponential
from dask_coded.linear_model import lstsq
from dask_coded.simulate import SimulatedExecutor
from tests.conftest import dense_dataset


def ident(data, param):
    return data * param


@pytest.fixture
def executor():
    ex = SimulatedExecutor(seed=0)
    ex.place([(float, (j,)) for j in range(10)])
    return ex


@pytest.mark.parametrize("runtime", [None, ShiftedExponential(shift=1.0, rate=2.0),
                                     Pareto(scale=1.0, shape=1.5)],
                         ids=["exponential", "shifted-exponential", "pareto"])
def test_first_q_is_a_uniform_subset(runtime):
    """Remark 3 / Theorem 2's premise: the first q of m i.i.d. servers are a uniformly random
    q-subset. Not only each server's rate q / m (a sampler that took q consecutive servers
    from a random start has that too) but every pair's, q (q - 1) / (m (m - 1))."""
    m, q, rounds = 10, 3, 4000
    executor = SimulatedExecutor(runtime, seed=0)
    executor.place([(float, (j,)) for j in range(m)])
    single, pair = np.zeros(m), np.zeros((m, m))
    for _ in range(rounds):
        used = executor.run_round(ident, 1.0, q=q).servers
        single[used] += 1
        pair[np.ix_(used, used)] += 1
    np.testing.assert_allclose(single / rounds, q / m, atol=0.03)  # ~4 SE
    off = ~np.eye(m, dtype=bool)
    # each pair's count has SE ~ 16 of ~267 here: 0.02 is 5 SE
    np.testing.assert_allclose(pair[off] / rounds, q * (q - 1) / (m * (m - 1)), atol=0.02)


def test_delays_order_the_arrivals(executor):
    delays = np.arange(10.0)[::-1] * 10  # server 9 fastest
    result = executor.run_round(ident, 2.0, q=3, delays=delays)
    assert list(result.servers) == [9, 8, 7]
    assert result.values == [18.0, 16.0, 14.0]


def test_deadline_policies(executor):
    delays = np.full(10, 100.0)
    delays[:2] = 0.0
    short = executor.run_round(ident, 1.0, q=5, deadline=50.0, delays=delays,
                               on_short="proceed")
    assert short.timed_out and len(short.servers) == 2 and short.scale == pytest.approx(2.5)
    assert len(executor.run_round(ident, 1.0, q=5, deadline=50.0, delays=delays,
                                  on_short="proceed", q_min=4).servers) == 4
    assert len(executor.run_round(ident, 1.0, q=5, deadline=50.0, delays=delays).servers) == 5
    with pytest.raises(StragglerTimeout):
        executor.run_round(ident, 1.0, q=5, deadline=50.0, delays=delays, on_short="fail")


def test_seed_experiment_size_runs_fast():
    """The GC seed's Section IV size: 2000 x 40 Student-t, K = 100, q = 20, 600 iterations."""
    a, b = dense_dataset(n_rows=2000, n_cols=40, chunk_rows=2000, kind="student-t")
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    t0 = time.perf_counter()
    result = lstsq(a, b, method="block-leverage", n_blocks=100, n_servers=200, q=20,
                   step=0.25, max_iter=600, client="simulate", seed=0, reference=x_star,
                   runtime=ShiftedExponential(0.0, 1.0), deadline=10.0,
                   precondition=False, variance_reduction=False)  # the paper's iteration
    assert time.perf_counter() - t0 < 60
    assert result.n_iter == 600 and result.history["servers_used"][-1] == 20
    assert result.history["error"][-1] < 0.5 * result.history["error"][0]


def test_simulate_refuses_real_faults():
    a, b = dense_dataset(n_rows=500, n_cols=3)
    with pytest.raises(dc.InputError, match="no worker processes"):
        lstsq(a, b, client="simulate", stragglers={"kill": [{"round": 1, "workers": 1}]})
    with pytest.raises(dc.InputError, match="'simulate'"):
        lstsq(a, b, client="local")


def test_simulated_solve_matches_numpy_on_a_consistent_system():
    a, b = dense_dataset(n_rows=3000, n_cols=8, kind="coherent", noise=0.0)
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    for method in ("sd", "block-leverage", "uniform", "weighted-leverage"):
        result = lstsq(a, b, method=method, n_blocks=30, n_servers=60, max_iter=100,
                       tol=1e-12, client="simulate", seed=1)
        np.testing.assert_allclose(result.x, x_star, rtol=1e-6, err_msg=method)


def test_round_parameters_are_checked_like_the_real_executor(executor):
    with pytest.raises(dc.InputError, match="deadline must be > 0"):
        executor.run_round(ident, 1.0, q=2, deadline=0)
    with pytest.raises(dc.InputError, match="q_min must be between 1 and q=2"):
        executor.run_round(ident, 1.0, q=2, q_min=3)
