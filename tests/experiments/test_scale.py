"""``benchmark scale``: the simulated scale study's rows, and its bad input."""

from __future__ import annotations

import json

import pytest

from dask_coded.errors import InputError
from dask_coded.experiments.scale import run_scale_study
from tests.conftest import assert_one_line_error, cli


@pytest.mark.parametrize("gram_free", [False, True])
def test_scale_rows_reach_the_target_and_compare_to_sd(tmp_path, gram_free):
    out = tmp_path / "scale.json"
    report = run_scale_study(servers=(20, 40), models=["pareto"], gram_free=gram_free,
                             json_path=out, echo=lambda _: None)
    rows = report["rows"]
    contenders = {r["contender"] for r in rows}
    assert contenders == ({"sd", "repetition", "block-leverage"} if gram_free
                          else {"sd", "repetition", "block-leverage", "block-leverage-q"})
    for r in rows:
        if r["contender"] == "block-leverage-q":  # unpreconditioned: may need > max_iter
            assert r["rounds"] is None or r["simulated_seconds"] > 0
            continue
        assert r["rounds"] is not None and r["final_error"] <= 1e-8, r
        assert r["simulated_seconds"] > 0
    sd = {r["servers"]: r["simulated_seconds"] for r in rows if r["contender"] == "sd"}
    for r in rows:
        if r["simulated_seconds"] is not None:
            assert r["x_sd"] == pytest.approx(r["simulated_seconds"] / sd[r["servers"]])
    rep = {r["servers"]: r for r in rows if r["contender"] == "repetition"}
    # heavy tails: waiting for the first of two replicas beats waiting for every block
    assert all(rep[m]["x_sd"] < 1.0 for m in rep)
    assert json.loads(out.read_text())["rows"] == json.loads(json.dumps(rows))


@pytest.mark.parametrize("kwargs, match", [
    ({"servers": (7,)}, "even integers"),
    ({"models": ["weibull"]}, "unknown model"),
    ({"target": 2.0}, "target must be"),
])
def test_scale_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        run_scale_study(echo=lambda _: None, **kwargs)


def test_scale_cli_bad_servers_is_one_line():
    assert_one_line_error(cli("benchmark", "scale", "--servers", "10,x"), "--servers must be")
