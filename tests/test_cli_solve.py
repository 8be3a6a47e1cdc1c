"""``dask-coded solve CONFIG.yaml``, run as a user runs it: a subprocess on a tiny config."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import dask_coded as dc
from dask_coded.plotting import plot_convergence
from tests.conftest import assert_one_line_error, cli, run

PNG = b"\x89PNG\r\n\x1a\n"
COLUMNS = ["iteration", "time", "round_seconds", "servers_used", "timed_out", "step",
           "exact_round", "backups", "convergence", "residual_norm", "gradient_norm", "error"]

#: A tiny noise-free problem: 3000 x 5, K = 10 blocks on m = 20 servers, two workers.
TINY = {
    "dataset": {"path": "data/tiny.zarr",
                "generate": {"kind": "coherent", "n_rows": 3000, "n_cols": 5,
                             "chunk_rows": 1000, "seed": 2, "noise": 0}},
    "cluster": {"workers": 2, "threads_per_worker": 2},
    "solver": {"method": "block-leverage", "n_blocks": 10, "n_servers": 20, "q": 16,
               "max_iter": 60, "tol": 1e-11, "seed": 0},
    "compare": ["sd"],
    "stragglers": {"delay": {"distribution": "shifted-exponential", "shift": 0.0,
                             "rate": 500.0}, "seed": 1},
    "output": {"dir": "out/run"},
}



def write_config(tmp_path, config: dict, name: str = "run.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One real solve of TINY, over a stale earlier output folder it must replace."""
    from dask_coded._atomic import atomic_dir

    root = tmp_path_factory.mktemp("solve")
    stale = root / "out" / "run"
    with atomic_dir(stale) as tmp:  # an earlier output: its marker lists what it wrote
        (tmp / "report.json").write_text("{}")
        (tmp / "x_stale.npy").write_bytes(b"old")
    write_config(root, TINY)
    proc = run("solve", "run.yaml", "--no-progress", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root, proc


def test_readme_main_job_prints_no_traceback(tmp_path):
    """The README's main command, `dask-coded solve configs/quickstart.yaml`, as shipped.

    A scheduler-side exception shows only as a logged traceback, with exit code 0: copies'
    relays released early made cancelling their sources trip distributed's
    ``assert ts.who_wants`` here (and not in the smaller solves above)."""
    (tmp_path / "configs").mkdir()
    shutil.copy(Path(__file__).parents[1] / "configs" / "quickstart.yaml", tmp_path / "configs")
    proc = run("solve", "configs/quickstart.yaml", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "block-leverage" in proc.stdout and (tmp_path / "out" / "quickstart"
                                                / "report.json").is_file()


def test_solve_writes_every_output(solved):
    root, proc = solved
    out = root / "out" / "run"
    names = sorted(p.name for p in out.iterdir())
    assert names == [".dask-coded-output", "convergence.png", "history_block-leverage.csv",
                     "history_sd.csv", "report.json", "x_block-leverage.npy",
                     "x_sd.npy"]  # stale file gone
    assert not [p for p in (root / "out").iterdir() if p.name.startswith(".")]  # no temp left
    assert (out / "convergence.png").read_bytes()[:8] == PNG

    a, b = dc.open_dataset(root / "data" / "tiny.zarr")
    x_np, *_ = np.linalg.lstsq(np.asarray(a), np.asarray(b), rcond=None)
    for method in ("block-leverage", "sd"):
        x = np.load(out / f"x_{method}.npy", allow_pickle=False)
        assert x.shape == (5,) and x.dtype == np.float64
        assert np.linalg.norm(x - x_np) <= 1e-6 * np.linalg.norm(x_np), method

    report = json.loads((out / "report.json").read_text())
    assert report["dask_coded"]["command"] == "solve"
    assert report["config"]["solver"]["n_servers"] == 20
    assert report["config"]["stragglers"]["seed"] == 1
    assert report["config"]["compare"] == ["sd"]
    assert report["dataset"]["n_rows"] == 3000 and report["dataset"]["n_cols"] == 5
    assert report["cluster"]["workers"] == 2
    assert report["plotted"] == "error"
    assert report["network"]["n_servers"] == 20 and report["network"]["n_blocks"] == 10
    assert report["wall_seconds"] > 0
    bl, sd = report["methods"]["block-leverage"], report["methods"]["sd"]
    assert bl["n_servers"] == 20 and bl["q"] == 16 and sd["n_servers"] == 10
    # preconditioned, every round is an anchor: the first replica of each of the 10 blocks
    assert bl["mean_servers_used"] == 10 and sd["mean_servers_used"] == 10
    for m in (bl, sd):
        assert m["stop_reason"] in ("tol", "max_iter")
        assert m["final_error"] < 1e-6
        assert m["iterations"] == m["n_iter"] == m["final"]["iteration"]
        assert 0 < m["solve_seconds"] < m["wall_seconds"]
    assert report["target_error"] > 0
    assert bl["seconds_to_target"] is not None

    # the table: one row per method, with the columns the README promises
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("method"))
    for col in ("iters", "stop", "final error", "solve s", "servers/round"):
        assert col in header
    assert any(line.startswith("block-leverage ") for line in lines)
    assert any(line.startswith("sd ") for line in lines)


def test_history_csv(solved):
    root, _ = solved
    report = json.loads((root / "out" / "run" / "report.json").read_text())
    for method in ("block-leverage", "sd"):
        with open(root / "out" / "run" / f"history_{method}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == COLUMNS
        assert len(rows) == report["methods"][method]["n_iter"]
        assert [int(r["iteration"]) for r in rows] == list(range(1, len(rows) + 1))
        times = [float(r["time"]) for r in rows]
        assert times == sorted(times)
        # the preconditioned default's rounds are exact, each measuring its convergence
        assert all(r["exact_round"] == "1" for r in rows)
        if report["methods"][method]["stop_reason"] == "tol":
            assert float(rows[-1]["convergence"]) <= TINY["solver"]["tol"]
        assert all(r["convergence"] == "" or float(r["convergence"]) >= 0 for r in rows)
        assert all(int(r["backups"]) >= 0 for r in rows)
        assert float(rows[-1]["error"]) == pytest.approx(
            report["methods"][method]["final_error"])


def test_plot_convergence_without_reference(tmp_path):
    h = {"iteration": [1, 2, 3], "time": [0.1, 0.2, 0.3], "residual_norm": [3.0, 2.0, 1.5],
         "error": []}
    assert plot_convergence(tmp_path / "c.png", {"sd": h}) == "residual_norm"
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG


def _with(**changes) -> dict:
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = cfg
        for p in parents:
            node = node[p]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
    return cfg


@pytest.mark.parametrize(("config", "args", "match"), [
    (_with(solver__bogus=1), [], "unknown key solver.bogus"),
    (_with(solver__method="newton"), [], "unknown solver.method 'newton'"),
    (_with(solver__deadline=0), [], "solver.deadline must be > 0, got 0"),
    (_with(solver__q=30), [], "solver.q=30 is larger than solver.n_servers=20"),
    (_with(solver__n_servers=0), [], "solver.n_servers must be >= 1, got 0"),
    (_with(solver__step=-0.5), [], "solver.step must be > 0, got -0.5"),
    (_with(dataset__path=KeyError), [], "dataset.path is required"),
    (_with(dataset__generate=KeyError), [], "does not exist; give dataset.generate"),
    ("solver: {method: sd\n", [], "is not valid YAML"),
    (_with(cluster__timeout=0.5), ["--scheduler", "tcp://127.0.0.1:1"],
     "no Dask scheduler answers at 'tcp://127.0.0.1:1'"),
], ids=["unknown-key", "unknown-method", "deadline", "q-above-m", "no-servers", "step",
        "no-dataset-path", "absent-dataset", "bad-yaml", "no-scheduler"])
def test_config_errors_are_one_line_and_write_nothing(tmp_path, config, args, match):
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    proc = cli("solve", "run.yaml", "--no-progress", *args, cwd=tmp_path)
    assert_one_line_error(proc, match)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "data").exists()


def test_a_run_stopped_by_its_stragglers_exits_1_in_one_line(tmp_path):
    """Not the user's input (exit 2) but the cluster: every server 0.3 s late against a
    0.05 s deadline with on_short=fail stops the first round; the line names the method,
    and no output folder is left behind."""
    config = {**TINY, "compare": [], "output": {"dir": "out/run", "checkpoint_every": None},
              "solver": {**TINY["solver"], "deadline": 0.05, "on_short": "fail",
                         "variance_reduction": False},  # sampled rounds from the first
              "stragglers": {"delay": {"distribution": "shifted-exponential", "shift": 0.3,
                                       "rate": 500.0}, "seed": 1}}
    write_config(tmp_path, config)
    proc = cli("solve", "run.yaml", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dask-coded: error: block-leverage: ")
    assert "servers answered within the deadline of 0.05 s" in lines[0]
    assert not (tmp_path / "out" / "run").exists()


def test_refuses_to_replace_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    write_config(tmp_path, TINY)
    proc = cli("solve", "run.yaml", "--output", "mine", cwd=tmp_path)
    assert_one_line_error(proc, "holds no dask_coded output marker")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "data").exists()


def test_atomic_dir_keeps_the_previous_output_on_error(tmp_path):
    from dask_coded._atomic import atomic_dir

    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "report.json").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "report.json").write_text("2")
        raise RuntimeError("interrupted")
    assert (out / "report.json").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no hidden leftovers


def test_solve_direct_leads_with_the_exact_answer(tmp_path):
    """method auto (-> direct) then sd: the exact answer, its passes and read-pass ratio."""
    config = {**TINY, "solver": {**TINY["solver"], "method": "auto"}, "compare": ["sd"],
              "stragglers": None, "output": {"dir": "out/direct"}}
    write_config(tmp_path, config)
    proc = cli("solve", "run.yaml", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()
            if line.split() and line.split()[0] in ("auto", "sd")}
    assert rows["auto"][1:4] == ["1", "solved", "(reference)"]
    assert "auto: exact least squares from 1 read pass(es) of A and b (gram" in proc.stdout
    report = json.loads((tmp_path / "out" / "direct" / "report.json").read_text())
    assert report["read_pass_seconds"] > 0
    x = np.load(tmp_path / "out" / "direct" / "x_auto.npy")
    x0 = dc.io.read_array(tmp_path / "data" / "tiny.zarr", "x0")
    assert np.linalg.norm(x - x0) / np.linalg.norm(x0) < 1e-12
