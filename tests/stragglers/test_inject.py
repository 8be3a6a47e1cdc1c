"""Tests of dask_coded.stragglers.inject: real stragglers (the throttle helper, throttled and
killed worker processes)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.stragglers import inject as st
from dask_coded.stragglers.scenario import StragglerScenario

# ---------------------------------------------------------------------------- the helper


def test_helper_usage_errors(capsys):
    assert st.main([]) == 2
    assert st.main(["throttle", "x", "10", "0.05"]) == 2
    assert st.main(["throttle", "123", "0.5", "0.05"]) == 2  # a factor < 1 would speed up
    assert "usage: python -m dask_coded.stragglers throttle PID FACTOR PERIOD" in \
        capsys.readouterr().err


def _state(pid: int) -> str:
    """One-letter process state from /proc (T: stopped, Z: zombie)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _states(pid: int, n: int = 50, every: float = 0.002) -> set[str]:
    """The states of ``pid`` seen in ``n`` looks ``every`` seconds apart."""
    seen = set()
    for _ in range(n):
        seen.add(_state(pid))
        time.sleep(every)
    return seen


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once ``pid`` no longer exists (exited and reaped), within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.01)
    return False


def _start_helper(target: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dask_coded.stragglers", "throttle",
                             str(target), "10", "0.05"], stdout=subprocess.PIPE,
                            start_new_session=True)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_helper_continues_target_on_sigterm_and_exits_with_it():
    targets = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
               for _ in range(2)]
    helpers = [_start_helper(t.pid) for t in targets]
    try:
        for h in helpers:
            assert h.stdout.readline() == b"ready\n"
        assert "T" in _states(targets[0].pid)  # it really is being stopped
        # SIGTERM: the helper exits and leaves its target running.
        helpers[0].send_signal(signal.SIGTERM)
        assert helpers[0].wait(timeout=5) == 0
        assert "T" not in _states(targets[0].pid, n=20, every=0.005)
        # The target dies: the helper notices and exits by itself.
        targets[1].kill()
        targets[1].wait()
        assert helpers[1].wait(timeout=5) == 0
    finally:
        for p in helpers + targets:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()


# ---------------------------------------------------------------------------- real workers


@pytest.fixture(scope="module")
def own_client():
    """A cluster of our own: these tests throttle and kill its workers."""
    from distributed import Client, LocalCluster

    # CRITICAL: the scheduler logs an ERROR for each broadcast to a worker we kill.
    cluster = LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.CRITICAL)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def _cpu_work(reps: int) -> float:
    """A fixed CPU-bound numpy task; returns its wall time on the worker."""
    a = np.random.default_rng(0).standard_normal(20_000)
    t0 = time.perf_counter()
    for _ in range(reps):
        np.sort(a)
    return time.perf_counter() - t0


def _timed(client, workers: list[str], reps: int, k: int = 3) -> list[list[float]]:
    """``k`` timings of the task on each worker, one worker after the other.

    Interleaved, so that a change of load on a shared host hits every worker alike.
    """
    out: list[list[float]] = [[] for _ in workers]
    for _ in range(k):
        for times, w in zip(out, workers):
            times.append(client.submit(_cpu_work, reps, workers=[w], pure=False).result())
    return out


def test_worker_pids(own_client):
    pids = st.worker_pids(own_client)
    assert sorted(pids) == sorted(own_client.scheduler_info()["workers"])
    assert len(set(pids.values())) == len(pids) and os.getpid() not in pids.values()


def test_throttle_validation(own_client):
    w = sorted(own_client.scheduler_info()["workers"])[0]
    with pytest.raises(InputError, match=r"^factor must be >= 1, got 0.5$"):
        st.throttle(own_client, [w], 0.5)
    with pytest.raises(InputError, match=r"^period must be > 0, got 0$"):
        st.throttle(own_client, [w], 10, period=0)
    with pytest.raises(InputError, match=r"^'tcp://10.0.0.1:1' is not a live worker"):
        st.throttle(own_client, ["tcp://10.0.0.1:1"], 10)
    with pytest.raises(InputError, match=r"^addresses is empty"):
        st.throttle(own_client, [], 10)
    noop = st.throttle(own_client, w, 1)  # factor 1 starts nothing
    assert not noop.active
    noop.stop()


def test_throttled_worker_is_really_slower(own_client):
    slow, fast = sorted(own_client.scheduler_info()["workers"])[:2]
    # Calibrate a task of about 0.1 s on this machine, then keep it fixed.
    reps = max(1, int(10 * 0.1 / _timed(own_client, [fast], 10, k=1)[0][0]))
    _timed(own_client, [slow], reps, k=1)  # warm-up
    with st.throttle(own_client, [slow], 10) as handle:
        assert handle.active
        helper = handle.helpers[slow]["pid"]
        throttled, control = map(np.median, _timed(own_client, [slow, fast], reps))
    ratio = throttled / control
    print(f"throttle factor 10: {throttled:.3f} s vs {control:.3f} s, ratio {ratio:.1f}")
    # Not 10: the throttle caps wall time, so on a host already oversubscribed k-fold the
    # ratio to an unthrottled neighbour is about 10 / k (see inject.throttle).
    assert ratio > 2.5
    # Stopped: the helper is gone (exited and reaped, not a zombie) and speed is back.
    assert not handle.active
    with pytest.raises(ProcessLookupError):
        os.kill(helper, 0)
    after, control = _timed(own_client, [slow, fast], reps)
    # min: the back-to-normal check must not trip over one noisy run on a shared machine.
    assert min(after) / min(control) < 2
    handle.stop()  # twice is fine


def test_start_throttles_from_scenario(own_client):
    assert st.start_throttles(own_client, StragglerScenario()) is None
    scenario = StragglerScenario(throttle_workers=1, throttle_factor=5, seed=1)
    faults = st.start_throttles(own_client, scenario)
    handle = faults.throttled
    try:
        assert faults.frozen is None
        assert len(handle.addresses) == 1 and handle.factor == 5
        (addr,) = handle.addresses
        assert addr in own_client.scheduler_info()["workers"]
        helper, worker = handle.helpers[addr]["pid"], handle.helpers[addr]["worker_pid"]
        # Stop it the way a helper on another host is stopped: through its worker.
        handle.helpers[addr]["local"] = False
    finally:
        faults.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(helper, 0)
    if os.path.exists("/proc/self/stat"):
        assert "T" not in _states(worker, n=20, every=0.005)  # left running
    with pytest.raises(InputError, match=r"^throttle.workers is 4 but the cluster has 3"):
        st.start_throttles(own_client, StragglerScenario(throttle_workers=4, throttle_factor=2))


def test_kill_all_or_too_many_is_refused(own_client):
    workers = sorted(own_client.scheduler_info()["workers"])
    with pytest.raises(InputError, match=r"^refusing to kill 3 of the 3 live workers"):
        st.kill_workers(own_client, 3)
    with pytest.raises(InputError, match=r"^cannot kill 2 workers: only 1 live workers are "):
        st.kill_workers(own_client, 2, exclude=workers[:2])
    with pytest.raises(InputError, match=r"^n must be >= 0"):
        st.kill_workers(own_client, -1)
    assert st.kill_workers(own_client, 0) == []
    assert sorted(own_client.scheduler_info()["workers"]) == workers  # nobody was killed


def test_kill_one_of_three(own_client):
    own_client.wait_for_workers(3, timeout=30)
    before = sorted(own_client.scheduler_info()["workers"])
    pids = st.worker_pids(own_client)
    killed = st.kill_workers(own_client, 1, rng=0, exclude=before[0])
    assert len(killed) == 1 and killed[0] in before[1:]
    after = set(own_client.scheduler_info()["workers"])
    # The nanny starts a replacement (a new address) a moment later; the dead one never returns.
    assert killed[0] not in after
    assert set(before) - set(killed) <= after
    assert _wait_gone(pids[killed[0]])  # really dead, not just disconnected
    own_client.wait_for_workers(3, timeout=30)


def test_apply_round_faults(own_client):
    own_client.wait_for_workers(3, timeout=30)
    scenario = StragglerScenario(kills=((2, 1),), seed=5)
    assert st.apply_round_faults(own_client, scenario, 1) == []
    before = set(own_client.scheduler_info()["workers"])
    killed = st.apply_round_faults(own_client, scenario, 2)
    assert len(killed) == 1 and killed[0] in before
    assert killed[0] not in own_client.scheduler_info()["workers"]
    # The scenario's own generator picks the victim: the same index every run.
    idx = scenario.fault_rng(2).choice(3, size=1, replace=False)[0]
    assert killed[0] == sorted(before)[idx]
    own_client.wait_for_workers(3, timeout=30)
    with pytest.raises(InputError, match=r"^kill at round 0: refusing to kill 3 of the 3"):
        st.apply_round_faults(own_client, StragglerScenario(kills=((0, 3),)), 0)


@pytest.mark.slow
def test_killed_throttled_worker_takes_its_helper_along(own_client):
    own_client.wait_for_workers(3, timeout=30)
    victim = sorted(own_client.scheduler_info()["workers"])[-1]
    handle = st.throttle(own_client, [victim], 10)
    helper = handle.helpers[victim]["pid"]
    others = [w for w in own_client.scheduler_info()["workers"] if w != victim]
    assert st.kill_workers(own_client, 1, exclude=others) == [victim]
    # Re-parented when its worker died, the helper exits by itself (it may linger as a zombie
    # until the new parent reaps it).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if _state(helper) == "Z":
                break
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the helper outlived its worker")
    handle.stop()  # nothing left to stop; must not raise
    own_client.wait_for_workers(3, timeout=30)


def test_a_scenario_freezes_other_workers_than_it_throttles(own_client):
    """freeze: {workers: 1} beside throttle: {workers: 1}: two different workers; the frozen
    one is stopped (state T) until the run's faults are stopped, then runs again."""
    scenario = StragglerScenario(throttle_workers=1, throttle_factor=5, freeze_workers=1,
                                 seed=2)
    faults = st.start_throttles(own_client, scenario)
    try:
        (frozen,) = faults.frozen.addresses
        assert frozen not in faults.throttled.addresses and len(faults.addresses) == 2
        pid = faults.frozen.pids[frozen]
        time.sleep(0.2)  # the stop is delivered when the process is next scheduled
        if os.path.exists("/proc/self/stat"):
            assert set(_states(pid, n=5, every=0.01)) == {"T"}
    finally:
        faults.stop()
    if os.path.exists("/proc/self/stat"):
        assert "T" not in _states(pid, n=20, every=0.005)
    with pytest.raises(InputError, match=r"^freeze.workers is 4 but the cluster has 3"):
        st.start_throttles(own_client, StragglerScenario(freeze_workers=4))
