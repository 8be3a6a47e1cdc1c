"""Safe by default (issue 15, part 6; issue 14): a local dashboard, worker warnings shown,
and sizes a solve cannot make progress with refused before any cluster starts."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
import yaml

import dask_coded as dc
from dask_coded.cluster import LOG_LEVEL, connect
from dask_coded.config import ClusterConfig
from dask_coded.errors import InputError
from dask_coded.linear_model import MAX_SERVERS_PER_BLOCK, MAX_TASKS, SMALL_BLOCK_COUNT
from tests.conftest import assert_one_line_error, cli, dense_dataset


def _bound_hosts(client) -> set[str]:
    server = client.cluster.scheduler.http_server
    return {sock.getsockname()[0] for sock in server._sockets.values()}


def _raise_input_error(x):
    raise InputError("a mistake the client reports")


def _raise_bug(x):
    raise ZeroDivisionError("a bug the worker should log")


# ------------------------------------------------------------------------------ dashboard


def test_the_embedded_dashboard_listens_on_this_machine_only():
    """Regression: connect() bound the dashboard to every interface (":0")."""
    links = []
    with connect(n_workers=1, processes=False, announce=links.append) as client:
        assert _bound_hosts(client) == {"127.0.0.1"}
    assert len(links) == 1 and links[0].startswith("http://127.0.0.1:")


def test_no_dashboard_means_no_link_and_a_local_http_server():
    links = []
    with connect(n_workers=1, processes=False, dashboard=None, announce=links.append) as client:
        assert _bound_hosts(client) == {"127.0.0.1"}  # health/metrics only, still local
    assert links == []


def test_the_dashboard_is_a_config_key():
    assert ClusterConfig.parse(None).dashboard == "127.0.0.1:0"
    assert ClusterConfig.parse({"dashboard": None}).dashboard is None
    assert ClusterConfig.parse({"dashboard": ":8787"}).dashboard == ":8787"
    for bad in ("localhost", "host:port", 8787, "h:99999"):
        with pytest.raises(InputError, match=r"cluster\.dashboard must be HOST:PORT"):
            ClusterConfig.parse({"dashboard": bad})


def test_the_link_is_printed_to_a_terminal_only(monkeypatch):
    from dask_coded.experiments.runs import announce_dashboard

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((io.StringIO(), ""), (Terminal(), "dask-coded: dashboard http://x\n")):
        monkeypatch.setattr("sys.stderr", stream)
        announce_dashboard("http://x")
        assert stream.getvalue() == shown


# ------------------------------------------------------------------------------ logs


def test_worker_logs_show_warnings_but_not_our_input_errors():
    """Issue 14: worker logs were silenced (CRITICAL): a task failing by a bug went unseen.
    An InputError is the client's one line, not repeated by the worker."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    log = logging.getLogger("distributed.worker")
    log.addHandler(handler)
    try:
        with connect(n_workers=1, processes=False) as client:
            levels = {h.level for h in logging.getLogger("distributed").handlers
                      if isinstance(h, logging.StreamHandler)}
            assert levels <= {LOG_LEVEL}
            with pytest.raises(InputError):
                client.submit(_raise_input_error, 1).result()
            with pytest.raises(ZeroDivisionError):
                client.submit(_raise_bug, 1).result()
    finally:
        log.removeHandler(handler)
    failed = [r.getMessage() for r in records if str(r.msg).startswith("Compute Failed")]
    assert any("ZeroDivisionError" in m for m in failed), failed
    assert not any("InputError" in m for m in failed), failed


def test_worker_processes_drop_only_our_input_errors(capfd):
    """The filter reaches spawned workers too (a preload), whose stderr is ours."""
    with connect(n_workers=1, processes=True) as client:
        with pytest.raises(InputError):
            client.submit(_raise_input_error, 1).result()
        with pytest.raises(ZeroDivisionError):
            client.submit(_raise_bug, 1).result()
    err = capfd.readouterr().err
    assert "ZeroDivisionError" in err and "Compute Failed" in err
    assert "a mistake the client reports" not in err


# ------------------------------------------------------------------------------ sizes


@pytest.fixture(scope="module")
def small():
    return dense_dataset(3000, 5, 1000, seed=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_blocks": 3000}, f"above {SMALL_BLOCK_COUNT} blocks each needs at least d rows "
                         "\\(n_blocks <= 600\\)"),
    ({"n_blocks": 10, "n_servers": MAX_SERVERS_PER_BLOCK * 10 + 1},
     f"more than {MAX_SERVERS_PER_BLOCK} servers per block"),
    ({"n_blocks": 20, "n_servers": 10**6}, f"n_servers=1000000 is more than {MAX_TASKS}"),
])
def test_sizes_without_progress_are_refused_before_a_cluster(small, kwargs, match):
    """n_blocks = N (1-row blocks) or n_servers = 1e6 ran into hours of scheduling (or
    memory) instead of an error; no client is given, so a cluster would start after."""
    A, b = small
    with pytest.raises(InputError, match=match) as exc:
        dc.lstsq(A, b, method="block-leverage", max_iter=1, seed=0, **kwargs)
    assert "\n" not in str(exc.value)


def test_small_blocks_stay_allowed_below_the_block_count(small):
    """The GC seed's own experiment has blocks of fewer rows than columns (K = 100)."""
    A, b = small
    res = dc.lstsq(A, b, method="sd", n_blocks=SMALL_BLOCK_COUNT, max_iter=1, seed=0,
                   client="simulate")  # 3 rows a block, 5 columns
    assert res.n_iter == 1


def _config(tmp_path, solver: dict) -> None:
    config = {"dataset": {"path": "data/d.zarr",
                          "generate": {"kind": "gaussian", "n_rows": 3000, "n_cols": 5,
                                       "chunk_rows": 1000, "seed": 0}},
              "solver": {"method": "block-leverage", **solver}, "output": {"dir": "out/run"}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.parametrize("solver, match", [
    ({"n_servers": 10**6}, "solver.n_servers=1000000 is more than 100000"),
    ({"n_blocks": 10, "n_servers": 10**4}, "more than 64 servers per block"),
    ({"n_blocks": 3000}, "solver.n_blocks=3000 makes blocks of 1 row(s), fewer than A's 5"),
])
def test_cli_refuses_sizes_without_progress_in_one_line(tmp_path, solver, match):
    _config(tmp_path, solver)
    proc = cli("solve", "run.yaml", "--no-progress", cwd=tmp_path)
    assert_one_line_error(proc, match)
    assert not (tmp_path / "data").exists()  # before the cluster (which generates it)


def test_check_sizes_accepts_what_a_cluster_can_run():
    from dask_coded.linear_model import check_sizes

    check_sizes(None, None)
    check_sizes(100, 200, 2000, 40)  # the GC seed's Section IV problem
    check_sizes(MAX_TASKS // MAX_SERVERS_PER_BLOCK + 1, MAX_TASKS, 10**8, 10)
    assert np.isfinite(MAX_TASKS)
