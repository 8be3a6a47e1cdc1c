"""Frozen processes (SIGSTOP: a long GC pause, swapping, a VM migration) on real clusters.

A frozen worker keeps its sockets open and never answers, so nothing but its missing
heartbeats tells it from a slow one; a frozen scheduler likewise. Issue 15: each of these
hung a solve for good (400 s and counting). Here each must end, within a bound these tests
shorten (``unresponsive_after``, ``scheduler_timeout``) to keep them quick.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from dask_coded.executor import CodedExecutor, SchedulerLost, ServersLost
from dask_coded.stragglers import freeze
from tests.conftest import two_worker_client


def make_block(j: int) -> np.ndarray:
    return np.full(4, float(j))


def scaled(data: np.ndarray, param: float) -> np.ndarray:
    return data * param


@pytest.fixture(scope="module")
def nanny_client():
    """Two worker processes with nannies (a retired worker is restarted by its nanny)."""
    yield from two_worker_client(processes=True)


@pytest.fixture
def quick(monkeypatch):
    # the floor is distributed's 10 heartbeat intervals (5 s on a small cluster)
    monkeypatch.setattr(CodedExecutor, "unresponsive_after", 3.0)


def test_a_worker_frozen_for_good_is_retired_and_its_servers_rebuilt(nanny_client, quick):
    """A round that needs every server: the frozen worker's servers are rebuilt on the other
    from their loaders once it is retired, and the round completes with the right values."""
    nanny_client.wait_for_workers(2, timeout=30)
    ex = CodedExecutor(nanny_client, seed=0)
    ex.place([(make_block, (j,)) for j in range(6)])
    victim = ex.placement()[0]
    t0 = time.monotonic()
    with freeze(nanny_client, victim):
        result = ex.run_round(scaled, 2.0, q=6, max_wait=120)
        seconds = time.monotonic() - t0
    assert sorted(result.servers) == list(range(6))
    for j, value in zip(result.servers, result.values):
        np.testing.assert_array_equal(value, 2.0 * j)
    assert ex.retired_workers == [victim]
    assert seconds < 60, seconds  # detection (>= 5 s) + the nanny's kill (4 s) + rebuild
    ex.close()
    nanny_client.wait_for_workers(2, timeout=60)  # the nanny brought a fresh one


def test_every_worker_frozen_is_one_clear_error(nanny_client, quick):
    """No worker to go on with: a clear error soon after the bound, and no worker retired
    (they are the user's, and may thaw)."""
    nanny_client.wait_for_workers(2, timeout=30)
    ex = CodedExecutor(nanny_client, seed=1)
    ex.place([(make_block, (j,)) for j in range(4)])
    workers = sorted(nanny_client.scheduler_info()["workers"])
    t0 = time.monotonic()
    with freeze(nanny_client, workers), pytest.raises(ServersLost) as info:
        ex.run_round(scaled, 1.0, q=4, max_wait=120)
    seconds = time.monotonic() - t0
    message = str(info.value)
    assert "every worker (2) has sent no heartbeat" in message and "\n" not in message
    assert seconds < 30, seconds
    assert ex.retired_workers == []
    ex.close()


def test_a_setup_pass_survives_a_worker_frozen_for_good(nanny_client, quick, tmp_path):
    """Freeze a worker while lstsq's setup pass runs over the blocks resident on it: the
    pass is run again on the blocks placed anew, and the solve is exact."""
    import threading

    from dask_coded import lstsq, make_dataset, open_dataset

    nanny_client.wait_for_workers(2, timeout=30)
    store = tmp_path / "d.zarr"
    make_dataset(store, kind="gaussian", n_rows=4000, n_cols=5, chunk_rows=500, noise=0.0,
                 seed=3)
    a, b = (np.asarray(v) for v in open_dataset(store))
    x_ref = np.linalg.lstsq(a, b, rcond=None)[0]
    victim = sorted(nanny_client.scheduler_info()["workers"])[0]
    box = {}

    def freeze_on_setup():
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end:
            if nanny_client.run_on_scheduler(_setup_tasks) > 0:
                box["frozen"] = freeze(nanny_client, victim)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=freeze_on_setup, daemon=True)
    watcher.start()
    try:
        result = lstsq(str(store), method="block-leverage", n_blocks=8, n_servers=16, q=16,
                       max_iter=3, tol=0.0, anchor_every=1, client=nanny_client, seed=0)
    finally:
        watcher.join(timeout=60)
        if "frozen" in box:
            box["frozen"].thaw()
    assert "frozen" in box, "the setup pass ended before the freeze"
    np.testing.assert_allclose(result.x, x_ref, rtol=1e-8, atol=1e-10)
    nanny_client.wait_for_workers(2, timeout=60)


def _setup_tasks(dask_scheduler) -> int:
    # the pass's own tasks (not the block loads before it, which placement heals): the pass
    # reads blocks resident on the frozen worker, and must place them again (DataLost)
    return sum(1 for key in dask_scheduler.tasks if "-setup-p" in str(key))


@pytest.mark.slow  # ~35 s: a scheduler process of its own, frozen, and the client's reconnect
def test_a_frozen_scheduler_ends_the_solve_in_one_line(tmp_path, monkeypatch):
    """SIGSTOP the scheduler mid-solve: the guard drops the connection after
    ``scheduler_timeout``, the client fails to reconnect, and the solve ends with one line
    naming the freeze (it waited forever before)."""
    from distributed import Client

    from dask_coded import lstsq, make_dataset
    from dask_coded.experiments.faults import ProcessCluster

    monkeypatch.setattr(CodedExecutor, "scheduler_timeout", 3.0)
    store = tmp_path / "d.zarr"
    make_dataset(store, kind="gaussian", n_rows=4000, n_cols=5, chunk_rows=500, seed=4)
    cluster = ProcessCluster(2)
    client = Client(cluster.address, timeout=5)
    try:
        client.wait_for_workers(2, timeout=60)

        def freeze_at_3(solver):
            if solver.iteration == 3:
                os.kill(cluster._scheduler.pid, signal.SIGSTOP)

        t0 = time.monotonic()
        with pytest.raises(SchedulerLost) as info:
            lstsq(str(store), method="block-leverage", n_blocks=8, n_servers=16, q=12,
                  max_iter=200, tol=0.0, client=client, seed=0, reconnect_timeout=5.0,
                  callback=freeze_at_3)
        seconds = time.monotonic() - t0
    finally:
        cluster.close()
        client.close(timeout=2)
    message = str(info.value)
    assert "stopped answering for 3 s" in message and "\n" not in message, message
    assert seconds < 60, seconds
