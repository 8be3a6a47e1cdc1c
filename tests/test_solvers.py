"""The coded least-squares solvers against numpy.linalg.lstsq, on a real LocalCluster."""

from __future__ import annotations

import logging
import os
import signal

import dask.array as da
import numpy as np
import pytest

import dask_coded as dc
from dask_coded.kernels.blocks import BlockLayout
from dask_coded.kernels.expansion import misestimation_factor
from dask_coded.leverage import compute_block_leverage
from dask_coded.linear_model import lstsq
from dask_coded.solvers import METHODS, CodedSolver, Problem, Settings
from dask_coded.sources import BlockSource
from tests.conftest import dense_dataset

ITERATIVE = ["sd", "block-leverage", "uniform", "gaussian", "rademacher", "srht",
             "weighted-leverage"]
SOLVE = ["gaussian-solve", "rademacher-solve", "srht-solve", "leverage-solve"]
EXACT = ["direct"]


@pytest.fixture(scope="module")
def consistent():
    a, b = dense_dataset(n_rows=3000, n_cols=8, chunk_rows=1000, kind="student-t", noise=0.0)
    return a, b, np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.fixture(scope="module")
def noisy():
    a, b = dense_dataset(n_rows=3000, n_cols=8, chunk_rows=1000, kind="coherent", noise=1.0)
    return a, b, np.linalg.lstsq(a, b, rcond=None)[0]


def test_every_lstsq_parameter_is_checked():
    """A parameter added to lstsq without a check in LSTSQ_PARAMETERS would go unchecked:
    A and b are opened (and checked) by as_row_chunked, runtime by what draws from it."""
    import inspect

    from dask_coded.linear_model import LSTSQ_PARAMETERS

    names = [n for n in inspect.signature(lstsq).parameters if n not in ("A", "b", "runtime")]
    assert list(LSTSQ_PARAMETERS) == names


def test_registry_is_complete():
    assert set(METHODS) == set(ITERATIVE + SOLVE + EXACT)


@pytest.mark.parametrize("method", ITERATIVE + SOLVE + EXACT)
def test_every_method_reaches_the_solution_of_a_consistent_system(method, consistent, client):
    a, b, x_star = consistent
    result = lstsq(a, b, method=method, n_blocks=20, n_servers=40, max_iter=80, tol=1e-12,
                   seed=3, reference=x_star, client=client)
    err = np.linalg.norm(result.x - x_star) / np.linalg.norm(x_star)
    assert err <= 1e-6, (method, err, result.stop_reason)
    assert result.history["error"][-1] == pytest.approx(err)
    assert len(result.history["time"]) == result.n_iter


@pytest.mark.parametrize("method", SOLVE)
def test_sketch_and_solve_within_sketch_error(method, noisy, client):
    a, b, x_star = noisy
    result = lstsq(a, b, method=method, n_blocks=20, seed=4, client=client)
    best = np.linalg.norm(a @ x_star - b)
    # a subspace embedding with small epsilon gives ||A x~ - b|| <= (1 + eps) ||A x* - b||
    assert np.linalg.norm(a @ result.x - b) <= 1.2 * best
    assert not np.allclose(result.x, x_star, rtol=1e-6)  # it is an approximation


def test_paper_iteration_on_noisy_data_reduces_the_error(noisy, client):
    """The paper's iteration (no preconditioning, plain eq. 26) still converges, slowly."""
    a, b, x_star = noisy
    for method in ("block-leverage", "uniform"):
        # 15 rounds bring it to 0.004 (block-leverage) and 0.002 (uniform) of the start
        result = lstsq(a, b, method=method, n_blocks=20, n_servers=40, max_iter=15, seed=5,
                       reference=x_star, client=client, precondition=False,
                       variance_reduction=False)
        assert result.history["error"][-1] < 0.05 * result.history["error"][0]


@pytest.fixture(scope="module")
def cond_1e8():
    """Condition 1e8 with noise: two backward-stable LAPACK solvers differ by ~5e-8 here
    (the least-squares condition number is cond(A)^2 tan(theta)), so "as close to numpy as
    another LAPACK driver" is the most any solver can promise."""
    import scipy.linalg

    a, b = dense_dataset(n_rows=3000, n_cols=8, chunk_rows=1000, condition=1e8, noise=0.1,
                         seed=3)
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    other = scipy.linalg.lstsq(a, b, lapack_driver="gelsy")[0]
    spread = np.linalg.norm(other - x_star) / np.linalg.norm(x_star)
    return a, b, x_star, spread


@pytest.mark.parametrize("data", ["noisy", "consistent", "cond_1e8"])
@pytest.mark.parametrize("method", ITERATIVE)
def test_iterative_methods_reach_numpy(method, data, request, client):
    """Preconditioned and variance reduced (the defaults), every iterative method reaches
    numpy's solution to 1e-10 on noisy and consistent data; at condition 1e8 to within 10x
    the spread between two LAPACK drivers."""
    a, b, x_star, *spread = request.getfixturevalue(data)
    tol = max(1e-10, 10 * spread[0]) if spread else 1e-10
    result = lstsq(a, b, method=method, n_blocks=20, n_servers=40, max_iter=8, seed=5,
                   reference=x_star, client=client)
    err = np.linalg.norm(result.x - x_star) / np.linalg.norm(x_star)
    assert err <= tol, (method, data, err, tol, result.history["error"])


def test_block_leverage_gradient_is_exactly_unbiased():
    """GC Theorem 2: averaged over every q-subset of the m servers (each equally likely when
    the first q are a uniform draw), the plain eq. 26 estimate with eq. 23's weights is the
    full gradient, to rounding. Exact enumeration, not sampling: any bias fails it (150
    sampled rounds, the test this replaces, could not see one of 1%). Whether a real
    cluster's first q are that uniform draw is tests/test_unbiased.py (slow)."""
    from itertools import combinations

    from dask_coded.simulate import SimulatedExecutor

    a, b = dense_dataset(n_rows=2000, n_cols=4, chunk_rows=1000, kind="coherent", seed=2)
    n_blocks, m, q = 5, 8, 3
    layout = BlockLayout.create(2000, n_blocks)
    problem = Problem(BlockSource(a, b, layout), layout,
                      compute_block_leverage(a, n_blocks, b=b))
    executor = SimulatedExecutor(seed=0)
    solver = CodedSolver(executor, problem, "block-leverage",
                         Settings(n_servers=m, q=q, seed=0, reweight=False))
    solver.setup()
    # unequal replication (coherent rows): equal weights would be biased here
    assert len(set(np.bincount(solver.method.server_blocks).tolist())) > 1
    x = np.random.default_rng(0).standard_normal(4)
    estimates = [solver.method.gradient(
        executor.run_round(solver.method.kernel, x, q=q, servers=list(subset)))
        for subset in combinations(range(m), q)]
    true = 2 * a.T @ (a @ x - b)
    assert np.linalg.norm(np.mean(estimates, axis=0) - true) <= 1e-12 * np.linalg.norm(true)
    assert np.std(estimates, axis=0).min() > 0  # and each estimate is a real sample


def test_inputs_numpy_dask_and_store_agree(tmp_path, client):
    path = tmp_path / "s.zarr"
    dc.make_dataset(path, n_rows=2000, n_cols=5, chunk_rows=500, noise=0.0, seed=8)
    a, b = (x.compute() for x in dc.open_dataset(path))
    results = [
        lstsq(src_a, src_b, method="sd", n_blocks=10, max_iter=40, tol=1e-12, client=client).x
        for src_a, src_b in ((a, b), (da.from_array(a, chunks=(700, 5)),
                                      da.from_array(b, chunks=700)), (str(path), None))
    ]
    for x in results[1:]:
        np.testing.assert_allclose(x, results[0], rtol=1e-9)


def test_solve_survives_a_killed_worker(tmp_path):
    """Kill a worker process mid-solve: its blocks are rebuilt from the store elsewhere."""
    from distributed import Client, LocalCluster

    path = tmp_path / "k.zarr"
    dc.make_dataset(path, n_rows=3000, n_cols=6, chunk_rows=500, noise=0.0, seed=9,
                    kind="student-t")
    a, b = (x.compute() for x in dc.open_dataset(path))
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    cluster = LocalCluster(n_workers=3, threads_per_worker=1, dashboard_address=":0",
                           silence_logs=logging.CRITICAL)
    client = Client(cluster)
    killed = []

    def kill_at_third(solver):  # a kill from outside, between rounds
        if solver.iteration == 3:
            victim = solver.executor.placement()[0]
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            killed.append(victim)

    try:
        before = set(client.scheduler_info()["workers"])
        result = lstsq(str(path), method="block-leverage", n_blocks=15, n_servers=30,
                       max_iter=10, seed=1, client=client, callback=kill_at_third,
                       stragglers={"kill": [{"round": 6, "workers": 1}]})  # and a scheduled one
        after = set(client.scheduler_info()["workers"])
    finally:
        client.close()
        cluster.close()
    assert killed and killed[0] not in set(result.placement.values())
    assert len(result.killed_workers) == 1  # the scheduled kill
    assert killed[0] in before - after  # gone (its nanny started a replacement)
    assert not set(result.killed_workers) & set(result.placement.values())
    assert len(result.placement) == 30 and None not in result.placement.values()
    np.testing.assert_allclose(result.x, x_star, rtol=1e-6)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"deadline": 0}, "deadline must be"),
    ({"deadline": -1.0}, "deadline must be"),
    ({"q": 50, "n_servers": 40}, "q=50 is larger than n_servers=40"),
    ({"n_servers": 0}, "n_servers must be >= 1, got 0"),
    ({"method": "newton"}, "unknown method 'newton'"),
    ({"step": 0.0}, "step must be > 0"),
    ({"step": -1}, "step must be > 0"),
    ({"step": "armijo"}, "unknown step rule"),
    ({"on_short": "retry"}, "unknown on_short"),
    ({"max_iter": 0}, "max_iter must be"),
    ({"n_blocks": 0}, "n_blocks must be between 1"),
    ({"scores": "approximate"}, "unknown scores 'approximate'; choose one of exact, sketch"),
    ({"network": "paper"}, "unknown network 'paper'; choose one of optimal, eq19"),
    ({"method": "sd", "scores": "sketch"}, "scores='sketch' is for the methods that sample "
     "by the block leverage scores \\(block-leverage, weighted-leverage, leverage-solve\\), "
     "not 'sd'"),
    ({"method": "block-leverage", "network": "eq19", "n_servers": 40, "q": 40},
     "network='eq19' needs phi\\(T\\) in \\(0, 1\\)"),
])
def test_bad_parameters(kwargs, match, consistent):
    a, b, _ = consistent
    with pytest.raises(dc.InputError, match=match):
        lstsq(a, b, **kwargs)


def test_mismatched_arrays():
    with pytest.raises(dc.InputError, match="different numbers of rows"):
        lstsq(np.ones((10, 2)), np.ones(9))
    with pytest.raises(dc.InputError, match="b is required"):
        lstsq(np.ones((10, 2)))


def test_setup_pass_can_be_reused(consistent, client):
    a, b, x_star = consistent
    first = lstsq(a, b, method="sd", n_blocks=20, max_iter=30, tol=1e-12, client=client)
    second = lstsq(a, b, method="uniform", n_blocks=20, n_servers=40, max_iter=60, tol=1e-12,
                   setup=first.setup, seed=2, client=client)
    assert second.setup is first.setup
    np.testing.assert_allclose(second.x, x_star, rtol=1e-6)
    with pytest.raises(dc.InputError, match="different problem"):
        lstsq(a, b, n_blocks=30, setup=first.setup, client=client)


GRAM_FREE = ["sd", "block-leverage", "uniform"]


@pytest.mark.parametrize("data", ["noisy", "consistent", "cond_1e8"])
@pytest.mark.parametrize("method", GRAM_FREE)
def test_gram_free_setup_reaches_numpy(method, data, request, client):
    """A sketch setup (no A^T A anywhere) and conjugate gradients preconditioned by the
    sketch's R reach numpy's solution as the exact setup does, and the residual norms the
    rounds report are the true ones."""
    a, b, x_star, *spread = request.getfixturevalue(data)
    tol = max(1e-10, 10 * spread[0]) if spread else 1e-10
    # CG is exact in d = 8 steps; these runs reach tol at 8 (10 at cond 1e8): 15 leaves room.
    result = lstsq(a, b, method=method, leverage="sketch", n_blocks=20, n_servers=40,
                   max_iter=15, seed=5, reference=x_star, client=client)
    assert result.setup.method == "sketch" and result.setup.gram is None
    assert result.setup.r_factor is not None
    err = np.linalg.norm(result.x - x_star) / np.linalg.norm(x_star)
    assert err <= tol, (method, data, err, tol, result.history["error"])
    true_residual = np.linalg.norm(a @ result.x - b)
    assert result.history["residual_norm"][-1] == pytest.approx(true_residual, rel=1e-8)
    assert all(result.history["exact_round"])


def test_gram_free_setup_on_a_store_reads_it_once(tmp_path, client):
    """On a store the sketch runs on the blocks already placed (one task per worker); its
    scores are close to the exact ones (beta = min Pi~ / Pi, Section III-B, near 1)."""
    path = tmp_path / "s.zarr"
    dc.make_dataset(path, n_rows=4000, n_cols=16, chunk_rows=500, noise=1.0, seed=2,
                    kind="coherent")
    a, b = (x.compute() for x in dc.open_dataset(path))
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]
    result = lstsq(str(path), method="block-leverage", leverage="sketch", max_iter=40,
                   tol=1e-13, seed=1, reference=x_star, client=client)
    assert result.stop_reason == "tol"
    assert result.history["error"][-1] <= 1e-10
    exact = compute_block_leverage(a, result.setup.layout.n_blocks).scores
    beta = misestimation_factor(exact, result.setup.scores)  # 1: the exact scores
    assert 0.5 <= beta <= 1.0, beta


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "gaussian", "leverage": "sketch"}, "needs the exact setup"),
    ({"method": "direct", "leverage": "sketch"}, "iterative methods"),
    ({"method": "sd", "leverage": "sketch", "step": "fixed"}, "step='fixed' needs"),
    ({"method": "sd", "leverage": "fast"}, "unknown leverage 'fast'"),
])
def test_gram_free_bad_input_is_one_line(kwargs, match, consistent):
    """Refused before any setup runs (client="simulate": nothing to start)."""
    a, b, _ = consistent
    with pytest.raises(dc.InputError, match=match) as info:
        lstsq(a, b, n_blocks=10, client="simulate", **kwargs)
    assert "\n" not in str(info.value)


def test_the_papers_approximate_scores_drive_the_network(noisy, client):
    """scores="sketch": the replicas follow GC Section III-C's Pi-tilde (a CountSketch pass on
    the placed blocks), beta and the distortion are measured against the exact scores, and
    the solve still reaches numpy (R and the steps come from the exact setup)."""
    a, b, x_star = noisy
    res = lstsq(a, b, method="block-leverage", n_blocks=30, n_servers=60, q=45,
                scores="sketch", max_iter=6, client=client, seed=4, reference=x_star)
    exact = res.setup.scores
    approx = dc.compute_block_leverage(a, 30, method="sketch", seed=4).scores
    assert not np.allclose(approx, exact, rtol=1e-6)  # really other scores
    np.testing.assert_array_equal(res.network.replicas,
                                  dc.expansion_network(approx, 60, q=45).replicas)
    quality = res.scores
    assert quality["beta"] == pytest.approx(misestimation_factor(exact, approx))
    assert 0.5 < quality["beta"] < 1.0 and 0 < quality["distortion"] < 0.01
    assert res.history["error"][-1] < 1e-8


def test_the_papers_eq19_network_is_selectable(noisy):
    """network="eq19": r-hat of GC eq. 19 at phi = 1 - q/m, then Algorithm 2 to m servers;
    its emulation distortion and Lemma 1's bound are reported, and on these coherent blocks
    the default (eq. 21's optimum) matches the scores at least as well."""
    a, b, _ = noisy
    kw = dict(method="block-leverage", n_blocks=30, n_servers=60, q=45, max_iter=3,
              client="simulate", seed=0)
    paper, best = lstsq(a, b, network="eq19", **kw), lstsq(a, b, **kw)
    net = paper.network
    assert net.method == "paper" and net.survival == pytest.approx(0.25)
    assert net.n_servers == 60 and net.q == 45
    summary = net.summary()
    assert summary["emulation_distortion"] <= summary["lemma1_bound"]  # GC Lemma 1
    assert best.network.method == "optimal"
    assert best.network.distortion <= net.distortion + 1e-12
