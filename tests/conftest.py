"""Shared fixtures: small seeded datasets on disk, CLI runners, and two real LocalClusters
(in-process for logic, multi-process where a process is the point)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from dask_coded.kernels.datagen import DatasetSpec, generate_chunk

#: The four dataset families the leverage tests run on (kind, extra parameters).
FAMILIES = {
    "gaussian": {"kind": "gaussian"},
    "student-t": {"kind": "student-t", "df": 3.0},
    "coherent": {"kind": "coherent"},
    "cond-1e8": {"kind": "gaussian", "condition": 1e8},
}


def dense_dataset(n_rows: int = 6000, n_cols: int = 12, chunk_rows: int = 1000, seed: int = 0,
                  **params) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) in memory, built from the same chunk generator the stores use."""
    spec = DatasetSpec(n_rows=n_rows, n_cols=n_cols, chunk_rows=chunk_rows, seed=seed,
                       **params).validate()
    parts = [generate_chunk(spec, c) for c in range(spec.n_chunks)]
    return np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: a fresh interpreter (entry point, imports, embedded cluster)."""
    return subprocess.run([sys.executable, "-m", "dask_coded.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The CLI in this process (click's CliRunner): what a command does, minus the fresh
    interpreter (its clusters, embedded or not, are as real as under :func:`run`).

    The same result shape as :func:`run`, so :func:`assert_one_line_error` reads both; it
    saves the ~1.3 s a fresh interpreter spends importing dask and distributed, which is
    most of an input-error test's time. The entry point and the README's commands as a user
    types them are checked by the tests that still use :func:`run`.
    """
    from click.testing import CliRunner

    from dask_coded.cli import cli as command

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        res = CliRunner().invoke(command, [str(a) for a in args], prog_name="dask-coded")
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return subprocess.CompletedProcess(list(args), res.exit_code, res.stdout, res.stderr)


def assert_one_line_error(proc: subprocess.CompletedProcess, match: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dask-coded: error: ")
    assert match in lines[0], lines[0]


def two_worker_client(processes: bool, threads_per_worker: int = 1):
    """Yield a Client of a two-worker LocalCluster (for fixtures), closed after."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=threads_per_worker,
                           processes=processes, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="session")
def client():
    """Two in-process workers, one thread each, for the whole session: the solver, matmul
    and leverage logic against a real scheduler and real workers, without the inter-process
    hop that makes a round cost tens of milliseconds (issue 12)."""
    yield from two_worker_client(processes=False)


@pytest.fixture(scope="session")
def process_client():
    """Two worker processes, one thread each: for tests where a real process is the point
    (SIGSTOP, pids, where a result is decided by which process reports first)."""
    yield from two_worker_client(processes=True)
