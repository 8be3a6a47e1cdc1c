"""Tests of dask_coded.stragglers: model stragglers (seeded) and real ones (real processes)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dask_coded import stragglers as st
from dask_coded.errors import InputError
from dask_coded.kernels import runtime as rt

SEXP = rt.ShiftedExponential(shift=0.0, rate=20.0)

CONFIG = {
    "delay": {"distribution": "shifted-exponential", "shift": 0.0, "rate": 20.0},
    "slow": {"fraction": 0.25, "factor": 10},
    "throttle": {"workers": 1, "factor": 10},
    "kill": [{"round": 5, "workers": 1}],
    "seed": 0,
}


# ---------------------------------------------------------------------------- model stragglers


def test_delays_reproducible_per_seed_and_round():
    a = st.StragglerScenario(delay_model=SEXP, seed=3)
    b = st.StragglerScenario(delay_model=SEXP, seed=3)
    d = a.delays(4, 16)
    assert d.shape == (16,)
    assert np.all(d >= 0)
    np.testing.assert_array_equal(d, a.delays(4, 16))
    np.testing.assert_array_equal(d, b.delays(4, 16))  # a new object, the same experiment
    assert not np.array_equal(d, a.delays(5, 16))  # another round, other delays
    assert not np.array_equal(d, st.StragglerScenario(delay_model=SEXP, seed=4).delays(4, 16))
    assert st.StragglerScenario().delays(0, 16) is None


def test_delays_follow_the_model():
    d = st.StragglerScenario(delay_model=SEXP, seed=1).delays(0, 20_000)
    assert abs(d.mean() - 1 / 20.0) < 0.003  # mean of Exp(20) is 0.05; sd of the mean 3.5e-4


@pytest.mark.parametrize(("fraction", "n", "k"), [(0.25, 8, 2), (0.1, 30, 3), (0.3, 7, 3),
                                                  (1.0, 5, 5), (0.01, 4, 1)])
def test_slow_subset_size_and_fixed(fraction, n, k):
    s = st.StragglerScenario(slow_fraction=fraction, slow_factor=10, seed=2)
    slow = s.slow_servers(n)
    assert slow.size == k  # ceil(fraction * n), with 0.1 * 30 counted as 3, not 4
    assert len(set(slow.tolist())) == k and slow.min() >= 0 and slow.max() < n
    np.testing.assert_array_equal(slow, s.slow_servers(n))  # fixed for the whole run
    factors = s.slowdown(n)
    np.testing.assert_array_equal(np.flatnonzero(factors == 10.0), slow)
    assert np.all(np.isin(factors, [1.0, 10.0]))
    assert st.StragglerScenario(slow_fraction=fraction, slow_factor=10,
                                seed=2).slowdown(n).tolist() == factors.tolist()


def test_no_slow_servers_gives_none():
    assert st.StragglerScenario(slow_fraction=0.0, slow_factor=10).slowdown(8) is None
    assert st.StragglerScenario(slow_fraction=0.5, slow_factor=1).slowdown(8) is None


def test_is_empty():
    assert st.StragglerScenario().is_empty
    assert st.StragglerScenario(slow_fraction=0.5).is_empty  # factor 1: nobody is slower
    assert st.StragglerScenario(throttle_workers=2).is_empty
    assert not st.StragglerScenario(delay_model=SEXP).is_empty
    assert not st.StragglerScenario(slow_fraction=0.5, slow_factor=2).is_empty
    assert not st.StragglerScenario(throttle_workers=1, throttle_factor=3).is_empty
    assert not st.StragglerScenario(kills=((1, 1),)).is_empty


def test_scenario_constructor_validation():
    with pytest.raises(InputError, match=r"^slow_fraction must be in \[0, 1\], got 2$"):
        st.StragglerScenario(slow_fraction=2)
    with pytest.raises(InputError, match=r"^throttle_factor must be >= 1, got 0.5$"):
        st.StragglerScenario(throttle_factor=0.5)
    with pytest.raises(InputError, match=r"^kills\[0\] must be a \(round, n_workers\) pair"):
        st.StragglerScenario(kills=(5,))
    with pytest.raises(InputError, match=r"^delay_model must be a RuntimeModel or None"):
        st.StragglerScenario(delay_model="pareto")
    with pytest.raises(InputError, match=r"^round_id must be >= 0"):
        st.StragglerScenario(delay_model=SEXP).delays(-1, 4)
    assert st.StragglerScenario(kills=[(5, 1), (2, 2), (5, 1)]).kills == ((2, 2), (5, 1), (5, 1))
    assert st.StragglerScenario(kills=[(5, 1), (5, 1)]).kills_at(5) == 2


def test_from_config_full_example():
    s = st.StragglerScenario.from_config(CONFIG)
    assert s == st.StragglerScenario(delay_model=SEXP, slow_fraction=0.25, slow_factor=10.0,
                                     throttle_workers=1, throttle_factor=10.0,
                                     kills=((5, 1),), seed=0)
    assert s.kills_at(5) == 1 and s.kills_at(4) == 0
    assert isinstance(s.slow_factor, float)


def test_from_config_trace(tmp_path):
    np.savetxt(tmp_path / "times.txt", [0.2, 0.4, 0.3])
    s = st.StragglerScenario.from_config({"delay": {"trace": str(tmp_path / "times.txt")}})
    assert s.delay_model == rt.Empirical([0.2, 0.3, 0.4])
    assert set(s.delays(0, 50).tolist()) <= {0.2, 0.3, 0.4}
    # A relative path is relative to base_dir (the config file's directory).
    rel = st.StragglerScenario.from_config({"delay": {"trace": "times.txt"}}, base_dir=tmp_path)
    assert rel.delay_model == s.delay_model


def test_from_config_bimodal_and_empty():
    s = st.StragglerScenario.from_config(
        {"delay": {"distribution": "bimodal", "base": 0.01, "jitter": 0.002,
                   "tail_prob": 0.05, "tail": 1.0}, "seed": 7})
    assert s.delay_model == rt.Bimodal(0.01, 0.002, 0.05, 1.0) and s.seed == 7
    assert st.StragglerScenario.from_config(None) == st.StragglerScenario()
    assert st.StragglerScenario.from_config({}).is_empty


def _with(**changes):
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CONFIG.items()}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            cfg[section][field] = value
        else:
            cfg[section] = value
    return cfg


@pytest.mark.parametrize(("config", "match"), [
    ([1, 2], r"^stragglers config must be a mapping, got list$"),
    (_with(delays={}),
     r"^unknown key 'delays'; expected one of delay, slow, throttle, kill, seed$"),
    (_with(slow__share=0.5), r"^unknown key 'slow.share'; expected one of fraction, factor$"),
    ({"slow": {"fraction": 0.5}}, r"^slow.factor is required$"),
    (_with(slow__fraction="half"), r"^slow.fraction must be a real number, got str$"),
    (_with(slow__fraction=1.5), r"^slow.fraction must be in \[0, 1\], got 1.5$"),
    (_with(slow__factor=0.5), r"^slow.factor must be >= 1, got 0.5$"),
    (_with(throttle__workers=-1), r"^throttle.workers must be >= 0, got -1$"),
    (_with(throttle__workers=1.5), r"^throttle.workers must be an integer, got float$"),
    (_with(throttle__factor=True), r"^throttle.factor must be a real number, got bool$"),
    (_with(throttle=[1, 10]), r"^throttle must be a mapping, got list$"),
    (_with(kill={"round": 5, "workers": 1}), r"^kill must be a list of \{round, workers\}"),
    (_with(kill=[5]), r"^kill\[0\] must be a mapping, got int$"),
    (_with(kill=[{"round": -1, "workers": 1}]), r"^kill\[0\].round must be >= 0, got -1$"),
    (_with(kill=[{"round": 1, "workers": 0}]), r"^kill\[0\].workers must be >= 1, got 0$"),
    (_with(kill=[{"round": 1}]), r"^kill\[0\].workers is required$"),
    (_with(seed=-3), r"^seed must be >= 0, got -3$"),
    (_with(seed="abc"), r"^seed must be an integer, got str$"),
    (_with(delay="shifted-exponential"), r"^delay must be a mapping, got str$"),
    (_with(delay={"rate": 2.0}), r"^delay needs either 'distribution' .* or 'trace'"),
    (_with(delay__distribution="gamma"),
     r"^delay.distribution 'gamma' is unknown; known: bimodal, empirical, pareto, shifted-"),
    (_with(delay__rate=-1.0), r"^delay.rate must be > 0, got -1.0$"),
    (_with(delay__shift="0"), r"^delay.shift must be a real number, got str$"),
    (_with(delay__scale=1.0), r"^unknown key 'delay.scale'; expected one of distribution, "
                              r"shift, rate$"),
    ({"delay": {"distribution": "pareto", "scale": 1.0}}, r"^delay.shape is required$"),
    (_with(delay__trace="t.txt"), r"^delay takes either 'trace' or 'distribution', not both$"),
    ({"delay": {"trace": 3}}, r"^delay.trace must be a file path, got int$"),
    ({"delay": {"trace": "/no/such/times.txt"}},
     r"^delay.trace: trace file /no/such/times.txt does not exist$"),
])
def test_from_config_rejects(config, match):
    with pytest.raises(InputError, match=match) as info:
        st.StragglerScenario.from_config(config)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------- Bimodal

BIMODAL = [rt.Bimodal(base=1.0, jitter=0.3, tail_prob=0.1, tail=6.0),
           rt.Bimodal(base=0.2, jitter=0.5, tail_prob=0.02, tail=3.0),  # folding matters
           rt.Bimodal(base=2.0, jitter=0.0, tail_prob=0.5, tail=4.0)]  # two point masses
BIMODAL_IDS = ["typical", "folded", "atoms"]


@pytest.mark.parametrize("model", BIMODAL, ids=BIMODAL_IDS)
def test_bimodal_cdf_matches_sampled_ecdf(model):
    n = 20_000
    x = np.sort(model.sample(n, np.random.default_rng(11)))
    # The model has atoms (the tail, and base when jitter = 0), so compare F and the ECDF on a
    # grid that includes them, rather than with the continuous-case KS formula.
    grid = np.concatenate([np.linspace(-1.0, 8.0, 901), [model.base, model.tail]])
    ecdf = np.searchsorted(x, grid, side="right") / n
    assert np.max(np.abs(ecdf - model.cdf(grid))) < 0.02  # 99.9% DKW bound is 0.0136


@pytest.mark.parametrize("model", BIMODAL, ids=BIMODAL_IDS)
def test_bimodal_cdf_properties(model):
    t = np.linspace(-1.0, 8.0, 301).reshape(7, 43)
    f = model.cdf(t)
    assert f.shape == t.shape and f.dtype == np.float64
    assert np.all((f >= 0) & (f <= 1)) and np.all(np.diff(f.ravel()) >= 0)
    assert model.cdf(-np.inf) == 0.0 and model.cdf(np.inf) == 1.0
    assert model.cdf(-1e-9) == 0.0  # a delay is never negative
    np.testing.assert_array_equal(model.survival(t), 1.0 - f)
    for fraction in (0.5, 0.1):
        np.testing.assert_allclose(model.scaled(fraction).cdf(t), model.cdf(t / fraction),
                                   rtol=1e-12, atol=1e-15)


def test_bimodal_closed_form_and_sampling():
    m = rt.Bimodal(base=1.0, jitter=0.5, tail_prob=0.1, tail=5.0)
    # Below the tail: 0.9 * P(|N(1, 0.5)| <= 1) = 0.9 * (Phi(0) - Phi(-4)).
    np.testing.assert_allclose(m.cdf(1.0), 0.9 * (0.5 - 3.167124183311992e-05), rtol=1e-12)
    # The tail is a point mass of 0.1 at t = 5.
    assert m.cdf(5.0) - m.cdf(np.nextafter(5.0, 0.0)) == pytest.approx(0.1, abs=1e-6)
    x = m.sample(10_000, np.random.default_rng(0))
    assert np.all(x >= 0)
    assert np.mean(x == 5.0) == pytest.approx(0.1, abs=0.01)
    np.testing.assert_array_equal(x, m.sample(10_000, np.random.default_rng(0)))
    assert m.scaled(0.5) == rt.Bimodal(0.5, 0.25, 0.1, 2.5)
    assert rt.runtime_model("bimodal", base=1, jitter=0.5, tail_prob=0.1, tail=5) == m


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"base": -1.0}, r"^base must be >= 0, got -1.0$"),
    ({"jitter": -0.1}, r"^jitter must be >= 0, got -0.1$"),
    ({"tail_prob": 1.5}, r"^tail_prob must be in \[0, 1\], got 1.5$"),
    ({"tail": np.inf}, r"^tail must be finite"),
    ({"tail_prob": "rare"}, r"^tail_prob must be a real number, got str$"),
])
def test_bimodal_validation(kwargs, match):
    params = {"base": 1.0, "jitter": 0.1, "tail_prob": 0.05, "tail": 5.0, **kwargs}
    with pytest.raises(InputError, match=match):
        rt.Bimodal(**params)


# ---------------------------------------------------------------------------- traces


@pytest.mark.parametrize("suffix", [".npy", ".txt", ".csv"])
def test_load_trace_round_trip(tmp_path, suffix):
    times = np.random.default_rng(5).gamma(2.0, 0.1, size=50) + 0.01
    path = tmp_path / f"times{suffix}"
    if suffix == ".npy":
        np.save(path, times)
    else:
        path.write_text("# observed server times, seconds\n\n"
                        + "\n".join(repr(float(t)) for t in times) + "\n")
    model = st.load_trace(path)
    assert model == rt.Empirical(times)
    assert st.load_trace(str(path)) == model


def test_load_trace_npy_column(tmp_path):
    np.save(tmp_path / "col.npy", np.array([[1.0], [2.0], [3.0]]))
    assert st.load_trace(tmp_path / "col.npy") == rt.Empirical([1.0, 2.0, 3.0])


@pytest.mark.parametrize(("name", "content", "match"), [
    ("missing.txt", None, r"^trace file .*missing.txt does not exist$"),
    ("times.txt", "0.5\nslow\n0.7\n", r"^trace .*times.txt line 2 is not a number: 'slow'$"),
    ("times.csv", "time\n0.5\n0.7\n", r"^trace .*times.csv line 1 is not a number: 'time'$"),
    ("times.csv", "0.5,1\n0.7,2\n", r"^trace .*times.csv line 1 has more than one column"),
    ("times.txt", "0.5\n", r"^trace .*times.txt: times must hold at least 2 observations, got 1$"),
    ("times.txt", "", r"^trace .*times.txt: times must hold at least 2 observations, got 0$"),
    ("times.txt", "0.5\n0.0\n", r"^trace .*times.txt: times must be > 0, got minimum 0.0$"),
    ("times.txt", "0.5\n-2\n", r"^trace .*times.txt: times must be > 0, got minimum -2.0$"),
    ("times.txt", "0.5\nnan\n", r"^trace .*times.txt: times contains NaN or Inf$"),
    ("times.json", "[1, 2]", r"^trace .*times.json must be a .npy, .txt or .csv file"),
])
def test_load_trace_errors(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=match):
        st.load_trace(path)


def test_load_trace_npy_errors(tmp_path):
    np.save(tmp_path / "grid.npy", np.ones((3, 2)))
    with pytest.raises(InputError, match=r"^trace .*grid.npy must be a 1-D array, got shape"):
        st.load_trace(tmp_path / "grid.npy")
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    with pytest.raises(InputError, match=r"^trace .*words.npy must hold real numbers"):
        st.load_trace(tmp_path / "words.npy")
    np.save(tmp_path / "neg.npy", np.array([1.0, -1.0]))
    with pytest.raises(InputError, match=r"^trace .*neg.npy: times must be > 0"):
        st.load_trace(tmp_path / "neg.npy")
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    with pytest.raises(InputError, match=r"^trace .*junk.npy is not a readable numeric .npy"):
        st.load_trace(tmp_path / "junk.npy")


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
    # ratio to an unthrottled neighbour is about 10 / k (see stragglers.throttle).
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
    assert st.start_throttles(own_client, st.StragglerScenario()) is None
    scenario = st.StragglerScenario(throttle_workers=1, throttle_factor=5, seed=1)
    handle = st.start_throttles(own_client, scenario)
    try:
        assert len(handle.addresses) == 1 and handle.factor == 5
        (addr,) = handle.addresses
        assert addr in own_client.scheduler_info()["workers"]
        helper, worker = handle.helpers[addr]["pid"], handle.helpers[addr]["worker_pid"]
        # Stop it the way a helper on another host is stopped: through its worker.
        handle.helpers[addr]["local"] = False
    finally:
        handle.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(helper, 0)
    if os.path.exists("/proc/self/stat"):
        assert "T" not in _states(worker, n=20, every=0.005)  # left running
    with pytest.raises(InputError, match=r"^throttle.workers is 4 but the cluster has 3"):
        st.start_throttles(own_client, st.StragglerScenario(throttle_workers=4,
                                                            throttle_factor=2))


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
    scenario = st.StragglerScenario(kills=((2, 1),), seed=5)
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
        st.apply_round_faults(own_client, st.StragglerScenario(kills=((0, 3),)), 0)


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
