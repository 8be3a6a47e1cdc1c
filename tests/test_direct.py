"""``method="direct"`` (the default ``auto``): exact answers in about one pass, on real
clusters and stores, with backup tasks for late chunks and a worker frozen for good."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import dask_coded as dc
from dask_coded.executor import CodedExecutor, Speculation
from dask_coded.io import read_array


def rel(x, ref) -> float:
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("direct")
    out = {}
    for name, extra in (("well", {}), ("cond-1e8", {"condition": 1e8})):
        path = root / f"{name}.zarr"
        dc.make_dataset(path, kind="gaussian", n_rows=24000, n_cols=16, chunk_rows=1500,
                        seed=3, noise=0.0, **extra)  # consistent: x0 solves it exactly
        out[name] = path
    return out


def test_default_method_is_direct_and_exact(client, stores):
    path = stores["well"]
    res = dc.lstsq(path, client=client)
    assert res.method == "direct" and res.stop_reason == "solved" and res.n_iter == 1
    assert rel(res.x, read_array(path, "x0")) < 1e-13
    assert res.setup.algorithm == "gram" and res.setup.passes == 1
    # blocks follow the 16 chunks; the scores come with the pass
    assert res.setup.layout.n_blocks == 16 and res.setup.scores.sum() == pytest.approx(1.0)
    assert res.n_servers == 0 and res.placement == {}


def test_ill_conditioned_store_within_10x_of_numpy(client, stores):
    path = stores["cond-1e8"]
    a, b = dc.open_dataset(path)
    a_np, b_np = a.compute(), b.compute()
    x0 = read_array(path, "x0")
    numpy_err = rel(np.linalg.lstsq(a_np, b_np, rcond=None)[0], x0)
    res = dc.lstsq(path, method="direct", client=client)
    assert res.setup.algorithm == "cholqr" and res.setup.passes == 3
    assert rel(res.x, x0) <= max(10 * numpy_err, 1e-15)
    assert rel(res.x, x0) <= 1e-6
    normal = np.linalg.solve(a_np.T @ a_np, a_np.T @ b_np)
    assert rel(normal, x0) > 1e-3  # what the normal equations alone would have given


def test_rank_deficient_direct_is_one_line(client):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3000, 5))
    a[:, 4] = a[:, 0] + a[:, 1]
    with pytest.raises(dc.InputError, match=r"rank deficient \(numerically\): rank 4 of 5"):
        dc.lstsq(a, a @ np.ones(5), method="direct", client=client)


def test_worker_frozen_for_good_does_not_stop_direct(process_client, stores):
    """SIGSTOP one of the two workers for the whole solve: backups finish its chunks."""
    client = process_client
    path = stores["well"]
    x0 = read_array(path, "x0")
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGSTOP)
    try:
        res = dc.lstsq(path, method="direct", client=client,
                       speculate={"min_wait": 0.5})
    finally:
        os.kill(pids[victim], signal.SIGCONT)
    assert rel(res.x, x0) < 1e-13
    assert res.setup.backups >= 1 and res.setup.backups_won >= 1


# ------------------------------------------------------------------ map_tasks, in process

_RELEASE = threading.Event()


def _square(i: int, slow_worker: str | None) -> int:
    from distributed import get_worker

    if slow_worker is not None and get_worker().address == slow_worker:
        _RELEASE.wait(60)  # a task stuck on one worker until the test lets it go
    return i * i


def _refuse(i: int) -> int:
    raise dc.InputError(f"bad chunk {i}")


@pytest.fixture
def threads_client():
    from distributed import Client, LocalCluster

    _RELEASE.clear()
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster, set_as_default=False) as c:
        yield c
        _RELEASE.set()


def test_map_tasks_backs_up_a_stuck_task_and_counts_it_once(threads_client):
    slow = sorted(threads_client.scheduler_info()["workers"])[0]
    ex = CodedExecutor(threads_client, name="t")
    res = ex.map_tasks([(_square, (i, slow)) for i in range(12)],
                       speculate=Speculation(min_wait=0.2, multiplier=1.0))
    assert res.values == [i * i for i in range(12)]
    assert res.backups >= 1 and res.backups_won >= 1
    assert res.backups_won <= res.backups


def test_map_tasks_without_speculation_waits(threads_client):
    ex = CodedExecutor(threads_client, name="t")
    res = ex.map_tasks([(_square, (i, None)) for i in range(6)], speculate=False)
    assert res.values == [i * i for i in range(6)] and res.backups == 0


def test_map_tasks_reraises_input_errors(threads_client):
    ex = CodedExecutor(threads_client, name="t")
    with pytest.raises(dc.InputError, match="bad chunk"):
        ex.map_tasks([(_refuse, (i,)) for i in range(3)])


@pytest.mark.parametrize(("value", "match"), [
    ("yes", "speculate must be True, False or a mapping"),
    ({"multiplier": 0.5}, "multiplier >= 1"),
    ({"later": 1}, "unknown speculate option"),
])
def test_bad_speculate_is_one_line(value, match):
    with pytest.raises(dc.InputError, match=match):
        dc.lstsq(np.eye(4), np.ones(4), speculate=value)


# ------------------------------------------------------------------ small problems, plain scripts


def test_plain_script_without_main_guard(tmp_path):
    """No cluster for an in-memory exact fit; one shared threaded cluster for the rest."""
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import dask_coded as dc
        from dask_coded import cluster

        rng = np.random.default_rng(0)
        X = rng.standard_normal((4000, 8))
        y = X @ np.arange(8.0) + 0.01 * rng.standard_normal(4000)
        res = dc.lstsq(X, y)
        ref = np.linalg.lstsq(X, y, rcond=None)[0]
        print("direct", res.method, float(np.linalg.norm(res.x - ref) / np.linalg.norm(ref)),
              "cluster" if cluster._EMBEDDED.get("client") else "no-cluster")
        one = dc.lstsq(X, y, method="sd", n_blocks=4, max_iter=3)
        first = cluster._EMBEDDED["client"]
        two = dc.lstsq(X, y, method="sd", n_blocks=4, max_iter=3)
        print("sd", one.n_iter, two.n_iter, cluster._EMBEDDED["client"] is first,
              cluster._EMBEDDED["processes"])
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    direct_line, sd_line = proc.stdout.strip().splitlines()[-2:]
    _, method, err, where = direct_line.split()
    assert method == "direct" and float(err) < 1e-12 and where == "no-cluster"
    assert sd_line == "sd 3 3 True False"  # reused, and threads: the script has no guard


def test_model_stragglers_in_the_pass_are_backed_up(stores):
    """The model's long-tail delays hit the chunk tasks' first copies; backups run clean.

    An in-process cluster with threads to spare: a stalled first copy sleeps on its thread
    after it has lost (cancelling does not stop a thread).
    """
    from distributed import Client, LocalCluster

    from dask_coded.stragglers import StragglerScenario

    path = stores["well"]
    scenario = StragglerScenario.from_config(
        {"delay": {"distribution": "bimodal", "base": 0.0, "jitter": 0.0, "tail_prob": 0.2,
                   "tail": 2.0}, "seed": 4})
    late = int(np.sum(scenario.delays(0, 16) > 1.0))
    assert late >= 1  # the seeded draw stalls some of the 16 chunks for 2 s
    with LocalCluster(n_workers=2, threads_per_worker=6, processes=False,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster, set_as_default=False) as c:
        res = dc.lstsq(path, method="direct", client=c, stragglers=scenario,
                       speculate={"min_wait": 0.2})
    assert rel(res.x, read_array(path, "x0")) < 1e-13
    assert res.setup.backups_won >= late
