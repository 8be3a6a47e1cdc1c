"""The matmul and Fig. 1 benchmarks with tiny budgets: rows present, numbers parse."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from dask_coded.cli import cli
from dask_coded.experiments.matmul import FIG1_GRID, run_fig1_benchmark, run_matmul_benchmark


def _table(lines: list[str], header_start: str) -> list[list[str]]:
    """Rows (split on whitespace) of the table whose header line starts with header_start."""
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(header_start))
    rows = []
    for line in lines[start + 1:]:
        cells = line.split()
        if not cells or not (cells[0].isdigit() or (len(cells) > 1 and cells[1].isdigit())):
            break
        rows.append(cells)
    return rows


def test_matmul_kernel_tables_small():
    out: list[str] = []
    res = run_matmul_benchmark(kernels_only=True, ms=range(2, 4), opt_restarts=1,
                               opt_max_iter=30, echo=lambda s="": out.extend(str(s).split("\n")))
    assert "cluster" not in res
    comp = res["comparison"]
    assert [r["m"] for r in comp] == [2, 3]
    for r in comp:
        for key in ("tuned real", "tuned cplx", "paper rule", "MatDot 2m-1 (P=2m+1)",
                    "opt k=m", "opt k=2m-2", "opt k=2m-2 (P=k+1)"):
            assert isinstance(r[key], float) and math.isfinite(r[key]), (key, r[key])
        assert r["MatDot 2m-1 (P=2m+1)"] < 1e-12
        assert r["tuned real"] < 1e-3 and r["tuned cplx"] < 1e-3
        assert r["eps17"] > 0
    assert "restarts=1, max_iter=30" in "\n".join(out)
    rows = _table(out, "m  P  tuned real")
    assert [int(r[0]) for r in rows] == [2, 3]
    for r in rows:
        [float(v) for v in r]  # every cell parses
    sampled = _table(out, "matrix  P  q  replicas")
    assert len(sampled) == len(res["sampled"]) == 3 * (6 + 8)  # m = 4: P = 6 and 8, q = 1..P
    for r in sampled:
        assert r[0] in ("gaussian", "graded", "spike")
        [float(v) for v in r[4:8]]


def test_sampled_table_against_eps_matdot():
    from dask_coded.experiments.matmul import sampled_table

    rows = sampled_table(3, servers=(5,))
    assert [(r["matrix"], r["q"]) for r in rows] == [
        (k, q) for k in ("gaussian", "graded", "spike") for q in range(1, 6)]
    for r in rows:
        if r["q"] == r["P"]:  # every server: exact
            assert r["sampled rms"] < 1e-14 and r["estimate rms"] < 1e-13
        else:
            assert 0 < r["sampled rms"] <= r["sampled worst"]
            assert r["estimate rms"] >= r["sampled rms"] * (1 - 1e-9)  # unbiased or upper
        assert (r["eps-MatDot worst"] == "-") == (r["q"] < 3)
        if r["matrix"] != "gaussian" and r["q"] < r["P"]:
            assert r["sampled rms"] < r["uniform rms"]  # importance sampling pays


def test_matmul_comparison_dash_when_k_exceeds_p():
    from dask_coded.experiments.matmul import comparison_table

    (row,) = comparison_table(range(5, 6), restarts=1, max_iter=2)
    assert row["opt k=2m-2"] == "-"  # k = 8 > P = 7
    assert isinstance(row["opt k=2m-2 (P=k+1)"], float)


@pytest.mark.parametrize("plain", [False, True])
def test_fig1_quick_table(plain):
    out: list[str] = []
    rows = run_fig1_benchmark(quick=True, plain=plain,
                              echo=lambda s="": out.extend(str(s).split("\n")))
    assert [(r["m"], r["k"], r["P"]) for r in rows] == [(m, k, P) for _, m, k, P in FIG1_GRID]
    for r in rows:
        assert 0 <= r["random best"] <= r["random mean"] * (1 + 1e-9)
        assert r["won"] in ("random", "eps-matdot")
        # the eps-MatDot start beats every random start wherever a code is not exact
        if r["k"] < 2 * r["m"] - 1:
            assert r["won"] == "eps-matdot" and r["eps-MatDot start"] < 1e-6 * r["random best"]
    exact = next(r for r in rows if r["k"] == 2 * r["m"] - 1)
    assert exact["random best"] < 1e-20  # k = 2m - 1: MatDot exists, loss 0
    stall = next(r for r in rows if (r["m"], r["k"], r["P"]) == (3, 3, 6))
    assert stall["authors"].startswith("~1 ") and stall["random/authors"] > 1
    assert next(r for r in rows if r["m"] == 2)["authors"] == "~1e-6 (logs)"
    header = next(line for line in out if line.startswith("Fig. 1"))
    assert ("plain, as in the seed" in header) == plain
    assert ("accelerated" in header) == (not plain)
    table = _table(out, "panel")
    assert len(table) == len(FIG1_GRID)
    for r in table:
        assert r[0] in ("a", "b")
        int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5]), float(r[6]), float(r[-1])
        assert r[7] in ("random", "eps-matdot")


def test_fig1_cli_quick():
    res = CliRunner().invoke(cli, ["benchmark", "fig1", "--quick", "--plain"])
    assert res.exit_code == 0, res.output
    assert "2 random starts + 1 eps-MatDot start, 50 iterations each" in res.output
    assert "plain, as in the seed" in res.output
