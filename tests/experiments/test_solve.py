"""``benchmark solve``: the table it prints, on a tiny store and a real LocalCluster."""

from __future__ import annotations

import pytest

from dask_coded.errors import InputError
from dask_coded.experiments.solve import (
    SOLVE_THRESHOLDS,
    first_time_at_or_below,
    run_solve_benchmark,
)
from tests.conftest import assert_one_line_error, cli


def test_first_time_at_or_below_takes_the_first_recorded_time():
    h = {"time": [0.5, 1.0, 1.5, 2.0], "error": [1e-2, 1e-3, 5e-7, 1e-7]}
    assert first_time_at_or_below(h, 1e-3) == 1.0  # at, not strictly below
    assert first_time_at_or_below(h, 1e-6) == 1.5  # no interpolation between 1.0 and 1.5
    assert first_time_at_or_below(h, 1e-9) is None
    assert first_time_at_or_below({"time": [], "error": []}, 1e-3) is None


@pytest.mark.parametrize("kwargs, match", [
    ({"methods": ["sd", "newton"]}, "unknown method 'newton'"),
    ({"scenarios": ["kill"]}, "unknown scenario 'kill'"),
    ({"q": 0}, "q must be"),
    ({"n_blocks": 0}, "blocks must be"),
    ({"time_budget": 0}, "time_budget must be"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, kwargs, match):
    path = tmp_path / "never.zarr"
    args = {"n_rows": 2000, "n_cols": 5, "chunk_rows": 500, "n_blocks": 4, "n_servers": 8,
            "path": str(path), "echo": lambda s: None, **kwargs}
    with pytest.raises(InputError, match=match):
        run_solve_benchmark(**args)
    assert not path.exists()


def test_cli_error_is_one_line(tmp_path):
    proc = cli("benchmark", "solve", "--methods", "sd,bogus", "--path", str(tmp_path / "s.zarr"))
    assert_one_line_error(proc, "bogus")
    assert not (tmp_path / "s.zarr").exists()


def _row_cells(line: str) -> list[str]:
    return line.split()


@pytest.mark.slow
def test_solve_benchmark_prints_a_row_per_method_and_scenario(tmp_path):
    lines: list[str] = []
    out = run_solve_benchmark(n_rows=20000, n_cols=10, chunk_rows=5000, n_blocks=8,
                              n_servers=16, n_workers=2, time_budget=1.5,
                              methods=["sd", "block-leverage"], scenarios=["none", "slow"],
                              path=str(tmp_path / "tiny.zarr"), echo=lines.append)
    text = "\n".join(lines)
    assert (tmp_path / "tiny.zarr").is_dir()  # generated on first use
    for words in ("2 workers x 1 thread", "BLAS single threaded",
                  "N = 20000", "d = 10", "K = 8", "m = 16", "q = 12", "deadline",
                  "medians of 1 repeat", "reference x*: normal equations",
                  "dask.array.linalg.lstsq"):
        assert words in text, words

    rows = {}
    for line in lines:
        cells = _row_cells(line)
        if len(cells) >= 2 and cells[0] in ("none", "slow") and \
                cells[1] in ("sd", "block-leverage"):
            rows[cells[0], cells[1]] = cells
    assert set(rows) == {(s, m) for s in ("none", "slow") for m in ("sd", "block-leverage")}
    for (_scen, method), cells in rows.items():
        assert len(cells) == 13, cells  # scenario, method, 10 numbers, stop reason
        t3, r3, t6, r6, err, iters, servers, solve, setup, peak = cells[2:12]
        for t, r in ((t3, r3), (t6, r6)):
            if t == "-":
                assert r == "-"
            else:
                assert 0 <= float(t) <= 1.5 and float(r.lstrip("<")) > 0
        assert 0 <= float(err) < 1
        assert int(iters) >= 1
        assert 1 <= float(servers) <= 16
        assert float(solve) > 0 and float(setup) > 0 and float(peak) > 50
        assert cells[12] in ("tol", "time_budget", "max_iter")
        if method == "sd":
            assert r3 in ("1.00", "-")
            # sd on a well-conditioned Gaussian problem: exact line search gets to 1e-6 fast
            assert t6 != "-"

    # The structured rows agree with the printed ones.
    by_key = {(r["scenario"], r["method"]): r for r in out["rows"]}
    assert set(by_key) == set(rows)
    for key, cells in rows.items():
        t = by_key[key][f"t_{SOLVE_THRESHOLDS[0]:.0e}"]
        assert cells[2] == ("-" if t is None else f"{t:.2f}")
    assert out["deadline"] >= 0.5 and out["q"] == 12
    assert out["reference"]["dask_error"] < 1e-10
