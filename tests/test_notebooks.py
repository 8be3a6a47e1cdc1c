"""Execute every notebook in notebooks/ at DASK_CODED_NOTEBOOK_SIZE=small."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    work = tmp_path / path.name
    shutil.copy(path, work)
    monkeypatch.setenv("DASK_CODED_NOTEBOOK_SIZE", "small")  # the kernel inherits it
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' data go under tmp_path
    monkeypatch.chdir(tmp_path)
    nb = nbformat.read(work, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error
    assert os.environ["DASK_CODED_NOTEBOOK_SIZE"] == "small"
