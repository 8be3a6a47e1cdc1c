"""``progress=`` of lstsq and matmul (tqdm.auto bars on stderr, on the callback hooks), and an
``import dask_coded`` that imports no tqdm (tqdm.auto warns in a Jupyter kernel without
ipywidgets)."""

from __future__ import annotations

import io
import subprocess
import sys

import dask
import numpy as np
import pytest

import dask_coded as dc


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 5)), rng.normal(size=400)
    return a, b, np.linalg.lstsq(a, b, rcond=None)[0]


def _solve(small, **kwargs):
    a, b, x = small
    return dc.lstsq(a, b, method="sd", client="simulate", max_iter=12, seed=0, reference=x,
                    **kwargs)


def test_import_prints_no_warning_and_imports_no_tqdm():
    code = ("import sys, dask_coded; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'tqdm'], 'tqdm imported'")
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_progress_true_writes_a_bar_to_stderr(small, capsys):
    seen = []
    result = _solve(small, progress=True, callback=lambda s: seen.append(s.iteration))
    err = capsys.readouterr().err
    assert "lstsq sd" in err and "12/12" in err and "err " in err
    assert seen == list(range(1, 13))  # the user's callback still runs, every iteration
    assert result.n_iter == 12


def test_no_bar_when_off_or_auto_without_a_terminal(small, capsys):
    _solve(small, progress=False)
    _solve(small)  # "auto", and pytest's captured stderr is no terminal
    assert capsys.readouterr().err == ""


def test_auto_shows_a_bar_on_a_terminal(small, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    _solve(small)
    assert "lstsq sd" in term.getvalue()


def test_the_config_turns_bars_on(small, capsys):
    with dask.config.set({"dask-coded.progress": True}):
        _solve(small)
        assert "lstsq sd" in capsys.readouterr().err
        _solve(small, progress=False)  # the argument wins
        assert capsys.readouterr().err == ""


def test_direct_solves_have_no_bar(small, capsys):
    a, b, _ = small
    dc.lstsq(a, b, method="direct", progress=True, client="simulate")
    assert capsys.readouterr().err == ""


def test_a_bad_progress_is_refused(small):
    with pytest.raises(dc.InputError, match="progress must be True, False or 'auto'"):
        _solve(small, progress="yes")
    with pytest.raises(dc.InputError, match="progress must be True, False or 'auto'"):
        dc.matmul(np.ones((4, 4)), np.ones((4, 4)), code="matdot", m=2, progress=1)


def test_matmul_progress_counts_tiles(client, capsys):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 12)), rng.normal(size=(12, 30))
    calls = []
    res = dc.matmul(a, b, code="matdot", m=2, tile=20, client=client, seed=0, progress=True,
                    callback=lambda done, total: calls.append((done, total)))
    err = capsys.readouterr().err
    assert "matmul matdot" in err and "4/4" in err
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    np.testing.assert_allclose(res.C, a @ b, rtol=1e-9, atol=1e-9)


def test_a_notebook_shows_a_bar_and_no_warning(tmp_path):
    """Issue 14: in Jupyter ``import dask_coded`` warned ``TqdmWarning: IProgress not found``
    and no bar was shown. A real kernel (nbclient) runs a small solve at the defaults: the
    bar is a widget where ipywidgets is installed, text on stderr where it is not, and no
    cell prints a warning."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nimport dask_coded as dc"),
                nbformat.v4.new_code_cell(
                    "rng = np.random.default_rng(0)\n"
                    "a, b = rng.normal(size=(400, 5)), rng.normal(size=400)\n"
                    "r = dc.lstsq(a, b, method='sd', client='simulate', max_iter=12, seed=0)\n"
                    "print('iterations', r.n_iter)")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Warning" not in text, text
    assert "iterations 12" in text, text
    widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                 for o in outputs)
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        assert "lstsq sd:" in text and "/12" in text, text  # the text bar, on stderr
    else:
        assert widget, outputs
