"""dask_coded's defaults in dask's configuration (the ``dask-coded`` namespace): shipped in the
package, read at call time, overridden by ``dask.config.set`` and ``DASK_*`` environment
variables, and always beaten by an argument given to the call."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import dask
import numpy as np
import pytest
import yaml

import dask_coded as dc
from dask_coded import _dask_config
from dask_coded.executor import SCHEDULER_TIMEOUT, UNRESPONSIVE_AFTER, CodedExecutor

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    return rng.normal(size=(400, 5)), rng.normal(size=400)


def test_the_defaults_ship_in_the_package_and_are_registered():
    shipped = resources.files("dask_coded") / "dask-coded.yaml"
    assert shipped.is_file()
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    assert "dask-coded.yaml" in package_data["dask_coded"]  # in the wheel, not only the repo
    defaults = yaml.safe_load(shipped.read_text())["dask-coded"]
    # the executor's module constants are what the yaml says (the functions that take them
    # as keyword defaults and the executor must not disagree)
    assert defaults["unresponsive-after"] == UNRESPONSIVE_AFTER
    assert defaults["scheduler-timeout"] == SCHEDULER_TIMEOUT
    for key, value in defaults.items():
        if not isinstance(value, dict):
            assert dask.config.get(f"dask-coded.{key}") == value, key
    assert dask.config.get("dask-coded.matmul.points") == "tuned"


def test_an_environment_variable_sets_a_default():
    env = {**os.environ, "DASK_DASK_CODED__UNRESPONSIVE_AFTER": "5"}
    code = ("import dask, dask_coded; print(dask.config.get('dask-coded.unresponsive-after'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.strip() == "5"


def test_the_executor_reads_its_timeouts_from_the_config_when_made(client, monkeypatch):
    with dask.config.set({"dask-coded.unresponsive-after": 4.5,
                          "dask-coded.scheduler-timeout": 7,
                          "dask-coded.no-workers-timeout": 9}):
        ex = CodedExecutor(client, name="cfg")
    try:
        assert (ex.unresponsive_after, ex.scheduler_timeout, ex.no_workers_timeout) == (
            4.5, 7.0, 9.0)
    finally:
        ex.close()
    ex = CodedExecutor(client, name="cfg")  # outside the block: the shipped defaults again
    try:
        assert (ex.unresponsive_after, ex.scheduler_timeout, ex.no_workers_timeout) == (
            10, 20, 30)
    finally:
        ex.close()
    # a value set on the class (as the fault tests do) wins over the config
    monkeypatch.setattr(CodedExecutor, "unresponsive_after", 3.0)
    with dask.config.set({"dask-coded.unresponsive-after": 4.5}):
        ex = CodedExecutor(client, name="cfg")
    try:
        assert ex.unresponsive_after == 3.0
    finally:
        ex.close()


def test_a_bad_config_value_is_named_by_its_key(client, small):
    with dask.config.set({"dask-coded.unresponsive-after": -1}), \
            pytest.raises(dc.InputError, match=r"dask-coded\.unresponsive-after must be > 0"):
        CodedExecutor(client)
    a, b = small
    with dask.config.set({"dask-coded.on-short": "sometimes"}), \
            pytest.raises(dc.InputError, match=r"dask-coded\.on-short .*'sometimes'"):
        dc.lstsq(a, b, client="simulate")
    with dask.config.set({"dask-coded.progress": "maybe"}), \
            pytest.raises(dc.InputError, match=r"dask-coded\.progress must be True, False"):
        dc.lstsq(a, b, client="simulate")


def test_lstsq_takes_its_deadline_and_server_count_from_the_config(small):
    """The deadline gives q(T) = floor(F(T) m) (GC eq. 12): a different default deadline is
    a different q; an explicit deadline wins over the config."""
    a, b = small
    runtime = dc.runtime_model("shifted-exponential", shift=0.0, rate=1.0)

    def solve(**kwargs):
        return dc.lstsq(a, b, method="block-leverage", client="simulate", runtime=runtime,
                        n_blocks=10, max_iter=2, seed=0, **kwargs)

    short, long = solve(deadline=0.5).q, solve(deadline=2.0).q
    assert short < long
    with dask.config.set({"dask-coded.deadline": 0.5}):
        assert solve().q == short
        assert solve(deadline=2.0).q == long  # the argument wins
    with dask.config.set({"dask-coded.n-servers": 30}):
        assert solve(deadline=1.0).n_servers == 30
        assert solve(deadline=1.0, n_servers=25).n_servers == 25
    assert solve(deadline=1.0).n_servers == 20  # unset: 2 K
    with dask.config.set({"dask-coded.deadline": 0.5}):
        # inf asks for no deadline where the config sets one (no runtime: q is 0.75 m)
        res = dc.lstsq(a, b, method="block-leverage", client="simulate", n_blocks=10,
                       max_iter=2, seed=0, deadline=float("inf"))
        assert res.q == 15


def test_matmul_takes_its_tile_from_the_config(client):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 12)), rng.normal(size=(12, 30))
    with dask.config.set({"dask-coded.matmul.tile": 20}):
        res = dc.matmul(a, b, code="matdot", m=2, client=client, seed=0)
        assert len(res.tiles) == 2 * 2
        assert len(dc.matmul(a, b, code="matdot", m=2, client=client, seed=0,
                             tile=100).tiles) == 1
    np.testing.assert_allclose(res.C, a @ b, rtol=1e-9, atol=1e-9)
    with dask.config.set({"dask-coded.matmul.points": "paper"}), \
            pytest.raises(dc.InputError, match="eps"):
        dc.matmul(a, b, code="eps-matdot", m=2, client=client)


def test_register_keeps_what_the_user_set():
    with dask.config.set({"dask-coded.unresponsive-after": 2}):
        _dask_config.register()
        assert dask.config.get("dask-coded.unresponsive-after") == 2
