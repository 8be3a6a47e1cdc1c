"""Shared fixtures: small seeded datasets on disk and a real multi-process LocalCluster."""

from __future__ import annotations

import logging
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
    return subprocess.run([sys.executable, "-m", "dask_coded.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess, match: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dask-coded: error: ")
    assert match in lines[0], lines[0]


@pytest.fixture(scope="session")
def client():
    """A LocalCluster with two worker processes, one thread each, for the whole session."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()
