"""The coded executor on a real LocalCluster: in-process workers for its logic, worker
processes where one is killed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.executor import CodedExecutor, Executor, ServersLost, StragglerTimeout
from tests.conftest import two_worker_client


def make_block(j: int) -> np.ndarray:
    return np.full(4, 1.0)  # every server holds equal data: replicas of one block


def scaled(data: np.ndarray, param: float) -> np.ndarray:
    return data * param


def scaled_by_first(data: np.ndarray, param) -> np.ndarray:
    return data * np.ravel(param)[0]


def failing(data: np.ndarray, param: float) -> np.ndarray:
    if param < 0:
        raise InputError("negative parameter")
    raise RuntimeError("server broke")


@pytest.fixture(scope="module")
def cluster_client():
    """Two in-process workers with two threads each (a sleeping straggler holds one thread):
    the executor's logic against a real scheduler, without process start-up and pickling."""
    yield from two_worker_client(processes=False, threads_per_worker=2)


@pytest.fixture(scope="module")
def killable_client():
    """Two worker processes (with nannies) with two threads each: for killing one."""
    yield from two_worker_client(processes=True, threads_per_worker=2)


def _busy_threads(dask_worker) -> int:
    return len(dask_worker.state.executing)


@pytest.fixture
def executor(cluster_client):
    # a cancelled straggler of an earlier test may still sleep on a thread: let it finish,
    # or this test's servers queue behind it
    t_end = time.monotonic() + 10.0
    while sum(cluster_client.run(_busy_threads).values()) and time.monotonic() < t_end:
        time.sleep(0.1)
    ex = CodedExecutor(cluster_client, seed=0)
    ex.place([(make_block, (j,)) for j in range(6)])
    yield ex
    ex.close()


def test_replicas_are_distinct_keys_on_both_workers(executor, cluster_client):
    keys = [f.key for f in executor._data]
    assert len(set(keys)) == 6
    placement = executor.placement()
    assert set(placement) == set(range(6))
    assert len(set(placement.values())) == 2  # round robin over both workers
    time.sleep(2.5)  # one Active Memory Manager cycle: nothing may be dropped
    assert all(len(v) == 1 for v in cluster_client.who_has(executor._data).values())


def test_round_returns_before_a_3s_straggler(executor):
    delays = np.zeros(6)
    delays[4] = 3.0  # the next test's fixture waits for it to wake: keep it short
    t0 = time.perf_counter()
    result = executor.run_round(scaled, 2.0, q=5, delays=delays)
    assert time.perf_counter() - t0 < delays[4]  # waiting for it takes at least that
    assert 4 not in result.servers and len(result.servers) == 5
    assert np.all(np.diff(result.arrival) >= 0)
    np.testing.assert_array_equal(np.vstack(result.values), 2.0)


def test_late_result_never_enters_next_round(executor):
    delays = np.zeros(6)
    delays[1] = 1.0
    first = executor.run_round(scaled, 1.0, q=5, delays=delays)
    assert 1 not in first.servers
    # the straggler of round 0 is still sleeping; round 1 asks every server again
    second = executor.run_round(scaled, 3.0, q=6)
    assert sorted(second.servers) == list(range(6))
    np.testing.assert_array_equal(np.vstack(second.values), 3.0)  # all from round 1
    assert second.round_id == first.round_id + 1 and second.dropped == 0
    time.sleep(1.0)  # let the late task finish; its result must surface nowhere
    third = executor.run_round(scaled, 5.0, q=6)
    np.testing.assert_array_equal(np.vstack(third.values), 5.0)


@pytest.fixture
def slow_pair():
    delays = np.zeros(6)
    delays[[1, 2]] = [0.8, 1.2]
    return delays


def test_on_short_proceed_rescales(executor, slow_pair):
    result = executor.run_round(scaled, 1.0, q=5, deadline=0.4, delays=slow_pair,
                                on_short="proceed")
    assert result.timed_out and len(result.servers) == 4
    assert result.scale == pytest.approx(5 / 4)


def test_on_short_wait_gets_q(executor, slow_pair):
    result = executor.run_round(scaled, 1.0, q=5, deadline=0.4, delays=slow_pair,
                                on_short="wait")
    assert result.timed_out and len(result.servers) == 5 and result.scale == 1.0
    assert result.arrival[-1] >= 0.7


def test_on_short_fail_raises(executor, slow_pair):
    with pytest.raises(StragglerTimeout, match="of q=5 servers answered within"):
        executor.run_round(scaled, 1.0, q=5, deadline=0.4, delays=slow_pair, on_short="fail")


def test_subset_of_servers(executor):
    result = executor.run_round(scaled, 1.0, q=2, servers=[0, 5])
    assert sorted(result.servers) == [0, 5]


def test_failing_servers(executor):
    with pytest.raises(InputError, match="negative parameter"):
        executor.run_round(failing, -1.0, q=1)
    with pytest.raises(ServersLost, match=r"only 0 of q=2|no server answered"):
        executor.run_round(failing, 1.0, q=2, max_wait=10)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"q": 7}, "q must be between 1 and the 6 servers"),
    ({"q": 0}, "q must be between 1"),
    ({"q": 2, "deadline": 0}, "deadline must be > 0"),
    ({"q": 2, "on_short": "retry"}, "unknown on_short policy"),
])
def test_bad_round_parameters(executor, kwargs, match):
    with pytest.raises(InputError, match=match):
        executor.run_round(scaled, 1.0, **kwargs)


def test_loader_error_surfaces_at_placement(cluster_client):
    ex = CodedExecutor(cluster_client)

    with pytest.raises(ZeroDivisionError):
        ex.place([(divmod, (1, 0))])
    ex.close()


def test_worker_killed_data_rebuilt(killable_client):
    """Kill a worker process: its servers' data is rebuilt from the loaders elsewhere."""
    import os
    import signal

    ex = CodedExecutor(killable_client, seed=1)
    ex.place([(make_block, (j,)) for j in range(6)])
    victim = ex.placement()[0]
    pid = killable_client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 30
    while victim in killable_client.scheduler_info()["workers"] and time.time() < deadline:
        time.sleep(0.1)
    assert victim not in killable_client.scheduler_info()["workers"]
    result = ex.run_round(scaled, 2.0, q=6, max_wait=60)
    assert sorted(result.servers) == list(range(6))
    np.testing.assert_array_equal(np.vstack(result.values), 2.0)
    assert victim not in ex.placement().values()
    ex.close()
    killable_client.wait_for_workers(2, timeout=30)  # the nanny brings a fresh worker back


def test_worker_killed_mid_round_tasks_are_resubmitted(killable_client):
    """A round that needs every server survives the death of a worker during the round."""
    import os
    import signal
    import threading

    killable_client.wait_for_workers(2, timeout=30)
    ex = CodedExecutor(killable_client, seed=2)
    ex.place([(make_block, (j,)) for j in range(4)])
    victim = ex.placement()[1]
    pid = killable_client.run(os.getpid, workers=[victim])[victim]
    delays = np.full(4, 0.5)  # the round is still running when the worker dies
    threading.Timer(0.2, os.kill, (pid, signal.SIGKILL)).start()
    result = ex.run_round(scaled, 4.0, q=4, delays=delays, max_wait=60)
    assert sorted(result.servers) == [0, 1, 2, 3]
    np.testing.assert_array_equal(np.vstack(result.values), 4.0)
    ex.close()
    killable_client.wait_for_workers(2, timeout=30)


@pytest.mark.parametrize("param", [3.0, np.full(200_000, 3.0)], ids=["inline", "scattered"])
def test_a_frozen_worker_does_not_hold_up_a_round(killable_client, param):
    """SIGSTOP one worker after placement: a round that needs only the other worker's servers
    ends without it. A small parameter travels inside the tasks (no scatter to wait on); a
    large one is scattered with a timeout, and the frozen worker is skipped."""
    from dask_coded.executor import SCATTER_TIMEOUT
    from dask_coded.stragglers import freeze

    killable_client.wait_for_workers(2, timeout=30)
    ex = CodedExecutor(killable_client, seed=3)
    ex.place([(make_block, (j,)) for j in range(4)])
    holders = ex.placement()
    victim = holders[0]
    live = [j for j, w in holders.items() if w != victim]
    t0 = time.monotonic()
    with freeze(killable_client, victim):
        result = ex.run_round(scaled_by_first, param, q=len(live), max_wait=60)
        seconds = time.monotonic() - t0
    assert sorted(result.servers) == live
    np.testing.assert_array_equal(np.vstack(result.values), 3.0)
    assert seconds < SCATTER_TIMEOUT + 10  # not the 400 s of issue 15
    ex.close()


def test_proceed_waits_for_q_min(executor, slow_pair):
    delays = slow_pair.copy()
    delays[[3, 4, 5]] = 0.9  # at most server 0 answers before the deadline
    result = executor.run_round(scaled, 1.0, q=5, deadline=0.3, delays=delays,
                                on_short="proceed", q_min=2)
    # past the deadline the round waits for the second result (server 0 may itself be
    # queued behind two slow servers: the order within a worker is random)
    assert result.timed_out and len(result.servers) == 2
    assert result.arrival[-1] >= 0.7
    with pytest.raises(InputError, match="q_min must be between 1 and q=5"):
        executor.run_round(scaled, 1.0, q=5, q_min=6)


def test_a_failed_round_does_not_shift_round_ids(executor, slow_pair):
    """Regression: a round that raised used up an id, so the solvers' round numbering (which
    weighted-leverage keys its draws by) and the results' ids drifted apart."""
    first = executor.run_round(scaled, 1.0, q=2)
    assert first.round_id == 0 and executor.rounds_run == 1
    with pytest.raises(StragglerTimeout):
        executor.run_round(scaled, 1.0, q=5, deadline=0.4, delays=slow_pair, on_short="fail")
    again = executor.run_round(scaled, 1.0, q=2)
    assert again.round_id == 1 == executor.rounds_run - 1


def test_placing_on_no_workers_is_refused(cluster_client):
    ex = CodedExecutor(cluster_client)
    with pytest.raises(InputError, match="workers= is empty"):
        ex.place([(make_block, (0,))], workers=[])


def _slow_block(j: int) -> np.ndarray:
    time.sleep(3.0)
    return np.full(4, 1.0)


def test_scheduler_lost_while_placing_is_recovered():
    """Regression: a scheduler lost while placing escaped as distributed's
    FuturesCancelledError; it is SchedulerLost, and recover() places everything again."""
    import threading

    from distributed import Client

    from dask_coded.executor import SchedulerLost
    from dask_coded.experiments.faults import ProcessCluster

    cluster = ProcessCluster(2, 1)
    try:
        with Client(cluster.address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            ex = CodedExecutor(client, seed=0)
            timer = threading.Timer(1.0, cluster.restart_scheduler, args=(client,))
            timer.start()
            with pytest.raises(SchedulerLost, match="placing the servers' data"):
                ex.place([(_slow_block, (j,)) for j in range(2)])
            timer.join()
            ex.recover(60)
            result = ex.run_round(scaled, 3.0, q=2)
            np.testing.assert_array_equal(np.vstack(result.values), 3.0)
            assert ex.recoveries == 1
    finally:
        cluster.close()


def _scheduler_clients(dask_scheduler) -> list:
    return list(dask_scheduler.clients)


def test_releasing_copies_keeps_the_client_connected(cluster_client):
    """Releasing data whose copies are still in flight cancels the sources, their relays
    and the copies; the client stays connected and usable. (The relay bug this guards
    against, ``assert ts.who_wants`` in the scheduler's cancel, showed in the README's main
    job but not here: ``test_readme_main_job_prints_no_traceback`` catches it.)"""
    ex = CodedExecutor(cluster_client, seed=0)
    # released at once, while the copies (and so their relays) are still pending, as a
    # solve's placement that does not wait for its copies can be
    ex.place([(make_block, (j,)) for j in range(4)], copy_of=[None, 0, None, 2],
             wait=False, delays=np.full(4, 1.0))  # the sources load for 1 s
    ex.release()
    time.sleep(0.5)
    assert cluster_client.id in cluster_client.run_on_scheduler(_scheduler_clients)
    assert cluster_client.submit(make_block, 0).result(timeout=10).sum() == 4.0


def test_both_executors_satisfy_the_protocol(executor):
    from dask_coded.simulate import SimulatedExecutor

    assert isinstance(executor, Executor)
    assert isinstance(SimulatedExecutor(seed=0), Executor)
    assert not isinstance(object(), Executor)


def test_cover_round_takes_one_result_per_group(executor):
    result = executor.run_round(scaled, 2.0, q=1, cover=[0, 0, 1, 1, 2, 2])
    groups = [j // 2 for j in result.servers]
    assert sorted(groups) == [0, 1, 2] and result.backups == 0
    np.testing.assert_array_equal(np.vstack(result.values), 2.0)


def test_cover_round_backs_up_a_group_whose_replicas_all_straggle(executor):
    late = 3.0  # sleeping threads delay the next tests: keep it short
    delays = np.zeros(6)
    delays[[0, 1]] = late  # both replicas of group 0
    t0 = time.perf_counter()
    result = executor.run_round(scaled, 3.0, q=1, cover=[0, 0, 1, 1, 2, 2], delays=delays,
                                speculate={"min_wait": 0.2})
    # not a speed test: a round that waited for its stragglers would take >= 3 s
    assert time.perf_counter() - t0 < late
    assert sorted(j // 2 for j in result.servers) == [0, 1, 2]
    assert result.backups >= 1 and result.backups_won == 1
    np.testing.assert_array_equal(np.vstack(result.values), 3.0)


def test_placement_backs_up_a_late_load(cluster_client):
    ex = CodedExecutor(cluster_client, seed=0)
    delays = np.zeros(4)
    delays[1] = 3.0
    t0 = time.perf_counter()
    try:
        ex.place([(make_block, (j,)) for j in range(4)], delays=delays,
                 speculate={"min_wait": 0.3})
        assert time.perf_counter() - t0 < delays[1]  # waiting for the late load takes that
        assert ex._data[1].key.endswith("-b1")  # the backup's data is server 1's now
        result = ex.run_round(scaled, 1.0, q=4)
        assert sorted(result.servers) == [0, 1, 2, 3]
    finally:
        ex.close()


def test_resident_data_is_copied_not_reloaded_and_survives_hand_over(cluster_client):
    staged = CodedExecutor(cluster_client, name="staged", seed=0)
    staged.place([(make_block, (j,)) for j in range(2)])
    holders = staged.placement()
    ex = CodedExecutor(cluster_client, seed=0)
    try:
        # servers 0, 1 are replicas of staged block 0; 2, 3 of block 1
        ex.place([(failing, (None, -1.0))] * 4,  # the loaders must not run
                 resident=[staged.data[0], staged.data[0], staged.data[1], staged.data[1]])
        placement = ex.placement()
        assert placement[0] == holders[0] and placement[2] == holders[1]  # holder first
        assert placement[1] != placement[0] and placement[3] != placement[2]  # then spread
        staged.hand_over()  # not a cancel: the copies must stay
        time.sleep(0.5)
        result = ex.run_round(scaled, 2.0, q=4)
        np.testing.assert_array_equal(np.vstack(result.values), 2.0)
    finally:
        ex.close()
        staged.close()


def test_cover_rounds_run_the_least_late_replica_of_each_group_first():
    """Pure ordering logic: primaries (least late, ties in the random order) lead."""
    ex = CodedExecutor(None, seed=0)
    cover = np.array([0, 0, 1, 1, 2, 2])
    ex._lateness = {0: 0.9, 1: 0.1, 4: 0.5, 5: 0.5}
    order = ex._primaries_first([5, 0, 3, 1, 4, 2], cover)
    assert order[:3] == [5, 3, 1] and sorted(order) == list(range(6))
    ex._learn_lateness(cover, list(range(6)), [(1, "r-s1"), (2, "r-s2"), (5, "r-s5-backup")])
    assert ex._lateness[1] < 0.1 and ex._lateness[0] > 0.9  # 1 first again, 0 late again
    assert ex._lateness[4] > 0.5 and ex._lateness[5] > 0.5  # a backup won: both were late
