"""Checkpoints and resume: a resumed solve reaches the uninterrupted solve's x."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

import dask_coded as dc
from dask_coded import checkpoint as ckpt
from tests.conftest import assert_one_line_error, cli, dense_dataset, run

KW = {"method": "block-leverage", "n_blocks": 16, "n_servers": 32, "q": 20,
      "client": "simulate", "seed": 3}


@pytest.fixture(scope="module")
def data():
    return dense_dataset(4000, 8, 500, seed=1, condition=30.0)


def _interrupt_at(iteration: int):
    def callback(solver):
        if solver.iteration == iteration:
            raise KeyboardInterrupt  # as a user's Ctrl-C: no chance to save
    return callback


@pytest.mark.parametrize("method", ["block-leverage", "weighted-leverage", "gaussian", "sd"])
def test_resume_repeats_the_uninterrupted_solve(data, tmp_path, method):
    A, b = data
    kw = {**KW, "method": method}
    full = dc.lstsq(A, b, max_iter=30, **kw)
    path = tmp_path / "c.json"
    with pytest.raises(KeyboardInterrupt):
        dc.lstsq(A, b, max_iter=30, checkpoint=path, checkpoint_every=5,
                 callback=_interrupt_at(13), **kw)
    assert json.loads(path.read_text())["state"]["iteration"] == 10  # the last multiple of 5
    resumed = dc.lstsq(A, b, max_iter=30, checkpoint=path, resume=True, **kw)
    assert resumed.n_iter == 30
    err = np.linalg.norm(resumed.x - full.x) / np.linalg.norm(full.x)
    assert err <= 1e-12, err
    assert resumed.history["iteration"] == list(range(1, 31))
    np.testing.assert_allclose(resumed.history["residual_norm"], full.history["residual_norm"],
                               rtol=1e-12)
    times = resumed.history["time"]
    assert all(t1 >= t0 for t0, t1 in itertools.pairwise(times))  # one clock across the break


def test_finished_checkpoint_can_be_extended(data, tmp_path):
    A, b = data
    path = tmp_path / "c.json"
    first = dc.lstsq(A, b, max_iter=8, checkpoint=path, checkpoint_every=100, **KW)
    doc = json.loads(path.read_text())
    assert doc["done"] == "max_iter" and doc["state"]["iteration"] == 8
    again = dc.lstsq(A, b, max_iter=8, checkpoint=path, resume=True, **KW)
    assert again.n_iter == 8 and np.array_equal(again.x, first.x)  # nothing left to do
    longer = dc.lstsq(A, b, max_iter=20, checkpoint=path, resume=True, **KW)
    full = dc.lstsq(A, b, max_iter=20, **KW)
    assert np.linalg.norm(longer.x - full.x) <= 1e-12 * np.linalg.norm(full.x)


def test_resume_without_a_checkpoint_file_starts_afresh(data, tmp_path):
    A, b = data
    path = tmp_path / "absent.json"
    r = dc.lstsq(A, b, max_iter=5, checkpoint=path, resume=True, **KW)
    assert r.n_iter == 5 and path.is_file()


@pytest.mark.parametrize("change, what", [({"seed": 4}, "seed"), ({"q": 19}, "q"),
                                          ({"method": "uniform"}, "method"),
                                          ({"n_blocks": 8}, "n_blocks")])
def test_checkpoint_of_another_run_is_refused(data, tmp_path, change, what):
    A, b = data
    path = tmp_path / "c.json"
    dc.lstsq(A, b, max_iter=3, checkpoint=path, **KW)
    with pytest.raises(dc.InputError, match=f"another run \\({what}") as exc:
        dc.lstsq(A, b, max_iter=6, checkpoint=path, resume=True, **{**KW, **change})
    assert "\n" not in str(exc.value)


def test_checkpoint_of_other_data_is_refused(data, tmp_path):
    A, b = data
    path = tmp_path / "c.json"
    dc.lstsq(A, b, max_iter=3, checkpoint=path, **KW)
    with pytest.raises(dc.InputError, match="another run \\(data"):
        dc.lstsq(A, 2 * b, max_iter=6, checkpoint=path, resume=True, **KW)


@pytest.mark.parametrize("text, match", [("{not json", "not valid JSON"),
                                         ('{"format": "x"}', "not a dask_coded checkpoint"),
                                         ('{"format": "dask_coded.checkpoint", "version": 99}',
                                          "format version 99")])
def test_damaged_checkpoint_is_a_clear_error(data, tmp_path, text, match):
    A, b = data
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(dc.InputError, match=match):
        dc.lstsq(A, b, max_iter=3, checkpoint=path, resume=True, **KW)


def test_checkpoint_arguments_are_checked(data, tmp_path):
    A, b = data
    with pytest.raises(dc.InputError, match="needs checkpoint="):
        dc.lstsq(A, b, resume=True, **KW)
    with pytest.raises(dc.InputError, match="checkpoint_every must be >= 1, got 0"):
        dc.lstsq(A, b, checkpoint=tmp_path / "c.json", checkpoint_every=0, **KW)
    with pytest.raises(dc.InputError, match="is a folder"):
        dc.lstsq(A, b, checkpoint=tmp_path, **KW)


def test_checkpoint_is_plain_json(data, tmp_path):
    A, b = data
    path = tmp_path / "c.json"
    dc.lstsq(A, b, max_iter=4, checkpoint=path, checkpoint_every=2, **KW)
    state = ckpt.load(path)
    assert len(state["x"]) == 8 and state["iteration"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


# ------------------------------------------------------------------ the CLI, killed for real

#: Plain sd (no preconditioner, which would solve it in one step) on a mildly
#: ill-conditioned problem: every iteration changes x.
CONFIG = {
    "dataset": {"path": "data/ck.zarr",
                "generate": {"kind": "gaussian", "n_rows": 4000, "n_cols": 10,
                             "chunk_rows": 1000, "seed": 5, "condition": 100.0}},
    "cluster": {"workers": 2, "threads_per_worker": 1},
    "solver": {"method": "sd", "n_blocks": 8, "max_iter": 40, "seed": 0,
               "precondition": False},
    "output": {"dir": "out/run", "checkpoint_every": 5},
}


def _x(folder):
    return np.load(folder / "x_sd.npy", allow_pickle=False)


def test_cli_killed_then_resumed_gives_the_uninterrupted_x(tmp_path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(CONFIG))
    full = run("solve", "run.yaml", "--no-progress", "--output", "out/full", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    assert not (tmp_path / "out" / "full.checkpoints").exists()  # removed when complete

    # the same run, SIGKILLed (with its cluster) once it has written a checkpoint
    ck = tmp_path / "out" / "run.checkpoints" / "sd.json"
    proc = subprocess.Popen([sys.executable, "-m", "dask_coded.cli", "solve", "run.yaml",
                             "--no-progress"], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t_end = time.monotonic() + 120
    while time.monotonic() < t_end and proc.poll() is None:
        if ck.is_file() and json.loads(ck.read_text())["state"]["iteration"] >= 10:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (tmp_path / "out" / "run").exists()  # no output, not a partial one
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    state = json.loads(ck.read_text())["state"]
    at = state["iteration"]
    assert 10 <= at < 40

    resumed = run("solve", "run.yaml", "--no-progress", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    x_full, x_res = _x(tmp_path / "out" / "full"), _x(tmp_path / "out" / "run")
    assert np.linalg.norm(x_res - x_full) <= 1e-12 * np.linalg.norm(x_full)
    report = json.loads((tmp_path / "out" / "run" / "report.json").read_text())
    assert report["methods"]["sd"]["n_iter"] == 40
    # Resumed, not rerun from scratch (which would give the same x): the first `at` rows
    # of the history are the killed run's, wall-clock times included.
    with open(tmp_path / "out" / "run" / "history_sd.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 41))
    assert [float(r["time"]) for r in rows[:at]] == state["history"]["time"]
    # and the iterations after the kill moved x: the check above compares two live solves.
    x_at = np.asarray(state["x"])
    assert np.linalg.norm(x_at - x_full) > 1e-6 * np.linalg.norm(x_full)
    assert not ck.parent.exists()


def test_cli_resume_with_nothing_to_resume(tmp_path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(CONFIG))
    proc = cli("solve", "run.yaml", "--resume", cwd=tmp_path)
    assert_one_line_error(proc, "nothing to resume: no checkpoints in out/run.checkpoints")
    assert not (tmp_path / "out" / "run").exists()


def test_a_seedless_run_resumes_with_its_own_seed(data, tmp_path):
    """Regression: seed=None drew a new seed on resume, so its own checkpoint was refused."""
    A, b = data
    kw = {**KW, "seed": None}
    path = tmp_path / "c.json"
    with pytest.raises(KeyboardInterrupt):
        dc.lstsq(A, b, max_iter=20, checkpoint=path, checkpoint_every=5,
                 callback=_interrupt_at(7), **kw)
    seed = json.loads(path.read_text())["fingerprint"]["seed"]
    resumed = dc.lstsq(A, b, max_iter=20, checkpoint=path, resume=True, **kw)
    full = dc.lstsq(A, b, max_iter=20, **{**KW, "seed": seed})
    assert resumed.n_iter == 20
    assert np.linalg.norm(resumed.x - full.x) <= 1e-12 * np.linalg.norm(full.x)


def test_checkpoint_of_another_code_is_refused(data, tmp_path):
    """The fingerprint covers the code itself (servers, weights, q), which a runtime model
    changes with no setting of its own changing."""
    from dask_coded.kernels.runtime import runtime_model

    A, b = data
    path = tmp_path / "c.json"
    kw = {k: v for k, v in KW.items() if k != "q"}
    dc.lstsq(A, b, max_iter=3, checkpoint=path, deadline=0.5, **kw)
    slow = runtime_model("shifted-exponential", shift=0.0, rate=1.0)
    with pytest.raises(dc.InputError, match=r"another run \((servers_q|code)"):
        dc.lstsq(A, b, max_iter=6, checkpoint=path, resume=True, runtime=slow, deadline=0.5,
                 **kw)


def test_gram_free_resume_repeats_the_uninterrupted_solve(data, tmp_path):
    """The conjugate gradients of a sketch setup keep their direction in the checkpoint."""
    A, b = data
    kw = {**KW, "leverage": "sketch"}
    full = dc.lstsq(A, b, max_iter=12, **kw)
    assert full.setup.gram is None
    path = tmp_path / "c.json"
    with pytest.raises(KeyboardInterrupt):
        dc.lstsq(A, b, max_iter=12, checkpoint=path, checkpoint_every=5,
                 callback=_interrupt_at(7), **kw)
    assert json.loads(path.read_text())["state"]["cg"]["direction"] is not None
    resumed = dc.lstsq(A, b, max_iter=12, checkpoint=path, resume=True, **kw)
    assert resumed.n_iter == 12
    np.testing.assert_array_equal(resumed.x, full.x)
    np.testing.assert_allclose(resumed.history["residual_norm"], full.history["residual_norm"],
                               rtol=1e-12)
    with pytest.raises(dc.InputError, match="another run"):  # an exact setup's run differs
        dc.lstsq(A, b, max_iter=12, checkpoint=path, resume=True, **KW)


# ------------------------------------------------------------------------------ issue 15, part 3


def _changed(A, b, change):
    """(A, b) under a change that keeps b^T b and trace(A^T A), version 1's fingerprint."""
    A, b = A.copy(), b.copy()
    if change == "negated b":
        b = -b
    elif change == "two columns swapped":
        A[:, [0, 1]] = A[:, [1, 0]]
    elif change == "b permuted":
        b = b[::-1].copy()
    elif change == "a column negated":
        A[:, 2] = -A[:, 2]
    return A, b


@pytest.mark.parametrize("leverage", ["exact", "sketch"])
@pytest.mark.parametrize("change", ["negated b", "two columns swapped", "b permuted",
                                    "a column negated"])
def test_a_finished_checkpoint_of_changed_data_is_refused(data, tmp_path, change, leverage):
    """Regression: with b negated or two columns of A swapped, a finished checkpoint was
    accepted and handed back the old x (errors of 200% and 83%)."""
    A, b = data
    kw = {**KW, "leverage": leverage}
    path = tmp_path / "c.json"
    dc.lstsq(A, b, max_iter=5, checkpoint=path, **kw)
    A2, b2 = _changed(A, b, change)
    assert np.isclose(b2 @ b2, b @ b) and np.isclose(np.sum(A2**2), np.sum(A**2))
    with pytest.raises(dc.InputError, match=r"another run \(data: A or b differs") as exc:
        dc.lstsq(A2, b2, max_iter=5, checkpoint=path, resume=True, **kw)
    assert "\n" not in str(exc.value)


def test_the_same_data_read_in_other_chunks_resumes(data, tmp_path):
    """The data sketch allows the round-off of another summation order, nothing more."""
    import dask.array as da

    A, b = data
    path = tmp_path / "c.json"
    first = dc.lstsq(A, b, max_iter=5, checkpoint=path, **KW)
    again = dc.lstsq(da.from_array(A, chunks=(125, 8)), da.from_array(b, chunks=125),
                     max_iter=5, checkpoint=path, resume=True, **KW)
    assert again.n_iter == 5 and np.array_equal(again.x, first.x)


@pytest.mark.parametrize("method", ["direct", "auto", "gaussian-solve"])
def test_resume_with_a_method_that_keeps_no_checkpoint_is_refused(data, tmp_path, method):
    """Regression: a method without checkpoints (direct) ignored the one given to resume."""
    A, b = data
    path = tmp_path / "c.json"
    dc.lstsq(A, b, max_iter=3, checkpoint=path, **KW)
    want = "direct" if method == "auto" else method
    with pytest.raises(dc.InputError, match=f"another run \\(method: 'block-leverage' there, "
                                            f"'{want}' here\\)"):
        dc.lstsq(A, b, checkpoint=path, resume=True, **{**KW, "method": method})


def _real_checkpoint(data, tmp_path) -> tuple:
    A, b = data
    path = tmp_path / "c.json"
    dc.lstsq(A, b, max_iter=3, checkpoint=path, **KW)
    return path, json.loads(path.read_text())


def _npz_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, x=np.arange(8.0))
    return buf.getvalue()


@pytest.mark.parametrize("damage, match", [
    (lambda text, doc: b"\x80\x81\xfe\xff" * 64, "binary, not JSON text"),
    (lambda text, doc: _npz_bytes(), "binary, not JSON text"),
    (lambda text, doc: text[:len(text) // 2].encode(), "is not valid JSON"),
    (lambda text, doc: b"", "is not valid JSON"),
    (lambda text, doc: json.dumps({**doc, "version": 1}).encode(), "format version 1;"),
    (lambda text, doc: json.dumps({**doc, "fingerprint": [1, 2]}).encode(),
     "its fingerprint is not a mapping"),
    (lambda text, doc: json.dumps({**doc, "state": "x"}).encode(), "holds no solver state"),
    (lambda text, doc: json.dumps({**doc, "fingerprint": {**doc["fingerprint"],
                                                          "method": 5}}).encode(),
     r"another run \(method: 5 there"),
    (lambda text, doc: json.dumps({**doc, "fingerprint": {**doc["fingerprint"],
                                                          "data": "x"}}).encode(),
     r"another run \(data"),
    (lambda text, doc: json.dumps({**doc, "state": {**doc["state"], "x": "abc"}}).encode(),
     "holds a damaged solver state"),
    (lambda text, doc: json.dumps({**doc, "state": {**doc["state"],
                                                    "iteration": None}}).encode(),
     "holds a damaged solver state"),
    (lambda text, doc: json.dumps({**doc, "state": {k: v for k, v in doc["state"].items()
                                                    if k != "executor"}}).encode(),
     "holds a damaged solver state"),
])
def test_a_malformed_checkpoint_is_one_line(data, tmp_path, damage, match):
    """Regression: a binary checkpoint crashed checkpoint.load with an AttributeError."""
    A, b = data
    path, doc = _real_checkpoint(data, tmp_path)
    path.write_bytes(damage(path.read_text(), doc))
    with pytest.raises(dc.InputError, match=match) as exc:
        dc.lstsq(A, b, max_iter=6, checkpoint=path, resume=True, **KW)
    assert "\n" not in str(exc.value)


def _cli_checkpoints(tmp_path, monkeypatch, config: dict):
    """A checkpoint folder as a killed `solve` of ``config`` leaves it (its record, and a
    checkpoint of its first method)."""
    from dask_coded.config import load_config
    from dask_coded.experiments import runs

    monkeypatch.chdir(tmp_path)  # the record holds the dataset's absolute path
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    ck_dir = tmp_path / "out" / "run.checkpoints"
    runs._write_run_record(ck_dir, runs._run_record(load_config("run.yaml")))
    (ck_dir / f"{config['solver']['method']}.json").write_text("{}")
    return ck_dir


@pytest.mark.parametrize("change, match", [
    ({"solver": {**CONFIG["solver"], "method": "uniform"}},
     "--resume: the checkpoints in out/run.checkpoints are of methods sd, this config's "
     "are uniform"),
    ({"compare": ["uniform"]}, "are of methods sd, this config's are sd, uniform"),
    ({"dataset": {**CONFIG["dataset"], "path": "data/other.zarr"}}, "are of dataset "),
])
def test_cli_resume_of_another_run_is_refused(tmp_path, monkeypatch, change, match):
    """Regression: --resume with another method started it afresh without a word, and one
    with another dataset mixed two datasets in one report."""
    _cli_checkpoints(tmp_path, monkeypatch, CONFIG)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({**CONFIG, **change}))
    proc = cli("solve", "run.yaml", "--no-progress", "--resume", cwd=tmp_path)
    assert_one_line_error(proc, match)
    assert not (tmp_path / "data").exists()  # refused before the cluster (and generation)


def test_cli_resume_without_a_run_record_is_refused(tmp_path, monkeypatch):
    ck_dir = _cli_checkpoints(tmp_path, monkeypatch, CONFIG)
    (ck_dir / "run.json").unlink()
    proc = cli("solve", "run.yaml", "--no-progress", "--resume", cwd=tmp_path)
    assert_one_line_error(proc, "holds no run.json")
    (ck_dir / "run.json").write_bytes(b"\xff\x00")
    proc = cli("solve", "run.yaml", "--no-progress", "--resume", cwd=tmp_path)
    assert_one_line_error(proc, "run.json is damaged")
