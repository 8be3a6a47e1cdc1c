"""Coded matrix products that survive real faults: killed and throttled worker processes.

These run on their own multi-process LocalCluster (not the session ``client``): killing its
workers would disturb the other tests. A nanny restarts each killed worker (new address).
"""

from __future__ import annotations

import importlib
import logging
import time

import numpy as np
import pytest

from dask_coded import InputError, matmul
from dask_coded.executor import CodedExecutor
from dask_coded.io import write_matrix
from dask_coded.stragglers import kill_workers

N_WORKERS = 3
matmul_module = importlib.import_module("dask_coded.matmul")


@pytest.fixture(scope="module")
def fault_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=N_WORKERS, threads_per_worker=2, processes=True,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def cl(fault_client, monkeypatch):
    """The fault cluster with all its workers back, and rounds bounded (no hang)."""
    fault_client.wait_for_workers(N_WORKERS, timeout=30)
    monkeypatch.setattr(matmul_module, "ROUND_MAX_WAIT", 30.0)
    return fault_client


def _operands(n: int = 16, inner: int = 12, k: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, inner)), rng.standard_normal((inner, k))


def _rel(c_hat, c) -> float:
    return float(np.linalg.norm(np.asarray(c_hat) - c) / np.linalg.norm(c))


def test_in_memory_tile_slice_survives_its_worker(cl):
    """The slice the loaders read is a rerunnable task: killing its only holder loses
    nothing (a scattered slice would be forgotten with it)."""
    A = np.random.default_rng(0).standard_normal((8, 6))
    executor = CodedExecutor(cl, name="slice")
    src, rows, cols = matmul_module._Operand(A, "A").tile_source(executor, (2, 6), (0, 6))
    assert src[0] == "array" and rows == (0, 4) and cols == (0, 6)
    fut = src[1]
    fut.result(timeout=10)
    (holder,) = cl.who_has([fut])[fut.key]
    others = [w for w in cl.scheduler_info()["workers"] if w != holder]
    assert kill_workers(cl, 1, exclude=others) == [holder]
    np.testing.assert_array_equal(fut.result(timeout=10), A[2:6])
    assert holder not in cl.who_has([fut])[fut.key]
    del fut
    executor.release()  # frees the staged slice


def test_eps_matdot_survives_kills_at_first_and_middle_tile(cl):
    """Kills just before tile 0 and tile 2 of four: the killed servers are rebuilt."""
    A, B = _operands(seed=1)
    eps = 1e-3
    t0 = time.perf_counter()
    res = matmul(A, B, code="eps-matdot", m=2, n_servers=4, eps=eps, tile=8, client=cl,
                 seed=0, stragglers={"kill": [{"round": 0, "workers": 1},
                                              {"round": 2, "workers": 1}], "seed": 3})
    wall = time.perf_counter() - t0
    assert len(res.tiles) == 4
    assert len(res.killed_workers) == 2
    assert res.summary()["killed_workers"] == res.killed_workers
    err = _rel(res.C, A @ B)
    assert err <= res.error_estimate
    assert err <= eps
    assert all(len(s) == 2 for s in res.servers_used)
    assert wall < 30


def test_matdot_exact_with_a_worker_killed(cl):
    A, B = _operands(n=12, inner=10, k=9, seed=2)
    res = matmul(A, B, code="matdot", m=2, client=cl, seed=0,
                 stragglers={"kill": [{"round": 0, "workers": 1}], "seed": 0})
    assert len(res.killed_workers) == 1
    assert _rel(res.C, A @ B) < 1e-10
    assert res.error_estimate < 1e-10


def test_matdot_with_two_of_three_workers_killed(cl):
    """P = 2m - 1 = 3 servers, all needed, one per worker: two must be rebuilt."""
    A, B = _operands(n=12, inner=10, k=9, seed=6)
    res = matmul(A, B, code="matdot", m=2, n_servers=3, client=cl, seed=0,
                 stragglers={"kill": [{"round": 0, "workers": 2}], "seed": 1})
    assert len(res.killed_workers) == 2
    assert sorted(res.servers_used[0].tolist()) == [0, 1, 2]
    assert _rel(res.C, A @ B) < 1e-10


def test_zarr_operands_with_a_kill(cl, tmp_path):
    A, B = _operands(n=20, inner=14, k=18, seed=3)
    write_matrix(tmp_path / "A.zarr", A, chunks=(8, 14))
    write_matrix(tmp_path / "B.zarr", B, chunks=(14, 6))
    res = matmul(str(tmp_path / "A.zarr"), str(tmp_path / "B.zarr"), code="matdot", m=2,
                 tile=10, client=cl, seed=1, out=tmp_path / "C.zarr",
                 stragglers={"kill": [{"round": 1, "workers": 1}], "seed": 1})
    assert len(res.killed_workers) == 1
    assert _rel(np.asarray(res.C[...]), A @ B) < 1e-10


def test_throttled_workers_give_the_right_product(cl):
    A, B = _operands(seed=4)
    res = matmul(A, B, code="matdot", m=2, tile=8, client=cl, seed=0,
                 stragglers={"throttle": {"workers": 1, "factor": 4}, "seed": 0})
    assert res.killed_workers == []
    assert _rel(res.C, A @ B) < 1e-10
    # the throttle helpers are stopped: every worker answers promptly again
    t0 = time.perf_counter()
    for _ in range(20):
        cl.run(lambda: None)
    assert time.perf_counter() - t0 < 2.0


def test_kill_past_the_last_tile_is_refused(cl):
    A, B = _operands(seed=5)
    with pytest.raises(InputError, match=r"kill at round 4, but the product has 4 tile"):
        matmul(A, B, code="matdot", m=2, tile=8, client=cl,
               stragglers={"kill": [{"round": 4, "workers": 1}]})


def test_a_worker_frozen_from_the_start_is_done_without(cl, tmp_path):
    """stragglers={"freeze": {"workers": 1}}: one of 3 workers SIGSTOPped before any server
    is placed. Placement does not wait for it, and eps-MatDot (any m of P = m + 2: at most 2
    of the 4 servers sit on one worker) decodes from the others, to its estimate. The
    operands are stores, read by each server itself: an in-memory operand is staged on one
    worker, which may be the frozen one (then every server waits for it)."""
    A, B = _operands(seed=4)
    write_matrix(tmp_path / "A.zarr", A)
    write_matrix(tmp_path / "B.zarr", B)
    t0 = time.monotonic()
    res = matmul(str(tmp_path / "A.zarr"), str(tmp_path / "B.zarr"), code="eps-matdot", m=2,
                 n_servers=4, client=cl,
                 stragglers={"freeze": {"workers": 1}, "seed": 1}, seed=0)
    assert time.monotonic() - t0 < 25  # within the patched 30 s round bound, not at it
    assert _rel(res.C, A @ B) <= res.error_estimate
    assert all(len(s) == 2 for s in res.servers_used)
