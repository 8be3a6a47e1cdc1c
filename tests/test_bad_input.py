"""Bad input, systematically (issue 6, item 3).

Hypothesis drives wrong types, shapes, dtypes, NaN/Inf, empty arrays, missing or unreadable
stores, read-only output folders and contradictory parameters through the public API and the
CLI. Every case must end in ONE clear line: an :class:`~dask_coded.InputError` (never a
TypeError/ValueError/KeyError from numpy, dask or zarr) for the API, exit status 2 and one
``dask-coded: error: ...`` line on stderr for the CLI; and nothing is written.

The CLI properties run in-process (click's CliRunner); a few real subprocesses check the
entry point itself. Every case fails during validation, before a cluster starts, except the
few that need worker-side checks (NaN in a matmul operand), which use the session cluster.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import yaml
import zarr
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import DataConversionWarning

import dask_coded as dc
from dask_coded import InputError
from dask_coded.cli import cli
from dask_coded.io import write_matrix
from tests.conftest import assert_one_line_error, run

#: Reproducible in CI: derandomized, no example database, no deadline (first calls import).
FAST = settings(derandomize=True, database=None, deadline=None, max_examples=30,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
FEW = settings(FAST, max_examples=12)

NAN, INF = float("nan"), float("inf")
ROWS, COLS = 60, 3
_rng = np.random.default_rng(0)
A_OK = _rng.standard_normal((ROWS, COLS))
B_OK = _rng.standard_normal(ROWS)
M_OK = _rng.standard_normal((8, 6))  # matmul: M_OK @ N_OK, inner dimension 6
N_OK = _rng.standard_normal((6, 5))


def one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert isinstance(exc, InputError), f"{type(exc).__name__}: {msg}"
    assert msg and "\n" not in msg and "Traceback" not in msg, repr(msg)
    assert len(msg) < 400, msg
    return msg


def expect_input_error(fn, *args, **kwargs) -> str:
    """Call ``fn``; it must raise a one-line InputError (anything else fails the test)."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        return one_line(exc)
    pytest.fail(f"no error from {getattr(fn, '__name__', fn)} with {kwargs}")


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def cli_error(args: list[str], match: str | None = None) -> str:
    res = CliRunner().invoke(cli, [str(a) for a in args], prog_name="dask-coded")
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("dask-coded: error: "), lines[0]
    if match is not None:
        assert match in lines[0], lines[0]
    return lines[0]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no file can be created in: chmod 555 for a normal user; for root (whom
    permission bits do not stop) a read-only file system, /proc."""
    if not is_root():
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        yield ro
        ro.chmod(0o755)
        return
    from dask_coded._atomic import is_writable

    ro = Path("/proc")
    if not ro.is_dir() or is_writable(ro):
        pytest.skip("running as root with no read-only file system to write to")
    yield ro


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """A valid dataset, matrices, and paths that are not what they claim to be."""
    root = tmp_path_factory.mktemp("bad-input")
    dc.make_dataset(root / "s.zarr", n_rows=ROWS, n_cols=COLS, chunk_rows=20, seed=0)
    write_matrix(root / "M.zarr", M_OK)
    write_matrix(root / "N.zarr", N_OK)
    write_matrix(root / "wide.zarr", _rng.standard_normal((5, 4)))
    (root / "plain").mkdir()
    (root / "plain" / "notes.txt").write_text("not a store")
    (root / "empty-dir").mkdir()
    (root / "file.txt").write_text("x")
    g = zarr.open_group(str(root / "no-b.zarr"), mode="w")
    g.create_array("A", shape=(10, 2), chunks=(5, 2), dtype="float64")
    g = zarr.open_group(str(root / "int.zarr"), mode="w")
    g.create_array("A", shape=(10, 2), chunks=(5, 2), dtype="int32")
    g.create_array("b", shape=(10,), chunks=(5,), dtype="float64")
    g = zarr.open_group(str(root / "flat.zarr"), mode="w")
    g.create_array("A", shape=(10,), chunks=(5,), dtype="float64")
    g.create_array("b", shape=(10,), chunks=(5,), dtype="float64")
    zarr.create_array(str(root / "int-matrix.zarr"), shape=(6, 5), chunks=(6, 5), dtype="int32")
    return {"root": root, "store": root / "s.zarr", "M": root / "M.zarr",
            "N": root / "N.zarr", "wide": root / "wide.zarr", "plain": root / "plain",
            "empty-dir": root / "empty-dir", "file": root / "file.txt",
            "missing": root / "missing.zarr", "no-b": root / "no-b.zarr",
            "int": root / "int.zarr", "flat": root / "flat.zarr",
            "int-matrix": root / "int-matrix.zarr"}


#: Paths that are no dataset: (name in ``stores``) or literal values.
BAD_DATASET_PATHS = ["missing", "plain", "empty-dir", "file", "M", "no-b", "int", "flat"]
BAD_MATRIX_PATHS = ["missing", "plain", "empty-dir", "file", "store", "int-matrix"]


# ------------------------------------------------------------------------------ arrays


def _with(a: np.ndarray, i: int, value: float) -> np.ndarray:
    a = a.copy()
    a.flat[i % a.size] = value
    return a


@st.composite
def bad_pairs(draw) -> tuple:
    """(A, b) with at least one thing wrong: type, shape, dtype, NaN/Inf, emptiness."""
    i = draw(st.integers(0, ROWS * COLS - 1))
    kind = draw(st.sampled_from([
        "type", "ragged", "A-1d", "A-3d", "b-2d", "b-short", "wide", "empty-rows",
        "empty-cols", "int", "bool", "complex", "str", "object", "A-nan", "A-inf",
        "A-ninf", "b-nan", "b-inf", "b-type", "b-ragged", "b-complex", "zero-col", "huge"]))
    a, b = A_OK, B_OK
    if kind == "type":
        a = draw(st.sampled_from([None, 3, 2.5, {"a": 1}, object(), [["a", "b"]]]))
    elif kind == "ragged":
        a = [[1.0], [1.0, 2.0]]
    elif kind == "A-1d":
        a = B_OK
    elif kind == "A-3d":
        a = A_OK[None]
    elif kind == "b-2d":
        b = B_OK[:, None]
    elif kind == "b-short":
        b = B_OK[: draw(st.integers(1, ROWS - 1))]
    elif kind == "wide":
        a, b = A_OK[:2], B_OK[:2]
    elif kind == "empty-rows":
        a, b = np.empty((0, COLS)), np.empty(0)
    elif kind == "empty-cols":
        a = np.empty((ROWS, 0))
    elif kind == "int":
        a = (A_OK * 10).astype(draw(st.sampled_from(["int8", "int64", "uint16"])))
    elif kind == "bool":
        a = A_OK > 0
    elif kind == "complex":
        a = A_OK + 1j
    elif kind == "str":
        a = A_OK.astype(str)
    elif kind == "object":
        a = A_OK.astype(object)
    elif kind in ("A-nan", "A-inf", "A-ninf"):
        a = _with(A_OK, i, {"A-nan": NAN, "A-inf": INF, "A-ninf": -INF}[kind])
    elif kind in ("b-nan", "b-inf"):
        b = _with(B_OK, i, NAN if kind == "b-nan" else INF)
    elif kind == "b-type":
        b = draw(st.sampled_from(["abc", {"a": 1}, object(), 7]))
    elif kind == "b-ragged":
        b = [[1.0], [1.0, 2.0]]
    elif kind == "b-complex":
        b = B_OK + 0j
    elif kind == "zero-col":
        a = A_OK.copy()
        a[:, i % COLS] = 0.0
    elif kind == "huge":
        a = A_OK * 1e300
    if draw(st.booleans()) and isinstance(a, np.ndarray) and a.dtype != object:
        a = da.from_array(a, chunks=(draw(st.sampled_from([7, 20, ROWS])), *a.shape[1:]))
    return kind, a, b


# ------------------------------------------------------------------------------ lstsq


#: One wrong or contradictory keyword set each (all with 60 x 3 data and default K = 60).
BAD_LSTSQ = [
    {"method": "nope"}, {"method": None}, {"method": ["sd"]}, {"method": 3},
    {"n_blocks": 0}, {"n_blocks": -1}, {"n_blocks": 2.5}, {"n_blocks": "3"},
    {"n_blocks": True}, {"n_blocks": NAN}, {"n_blocks": ROWS + 1}, {"n_blocks": 10**9},
    {"n_servers": 0}, {"n_servers": -4}, {"n_servers": "x"}, {"n_servers": 10**12},
    {"n_servers": np.int64(-3)}, {"n_servers": 3, "q": 5}, {"n_blocks": 5, "q": 50},
    {"q": 0}, {"q": 1.5},
    {"deadline": 0}, {"deadline": -1.0}, {"deadline": NAN}, {"deadline": "1"},
    {"deadline": True}, {"on_short": "x"}, {"on_short": []},
    {"step": NAN}, {"step": -1}, {"step": 0}, {"step": INF}, {"step": "x"}, {"step": [1]},
    {"step_scale": 0}, {"step_scale": NAN}, {"step_scale": INF}, {"step_scale": "a"},
    {"step_scale": None}, {"max_iter": 0}, {"max_iter": "x"}, {"max_iter": 1.5},
    {"tol": -1}, {"tol": NAN}, {"tol": "x"}, {"time_budget": 0}, {"time_budget": -1},
    {"time_budget": "x"}, {"time_budget": NAN}, {"sketch_rows": 0, "method": "gaussian"},
    {"seed": -1}, {"seed": "x"}, {"seed": 1.5}, {"client": "foo"}, {"client": 5},
    {"stragglers": {"foo": 1}}, {"stragglers": "x"}, {"stragglers": [1]},
    {"stragglers": {"kill": {"round": 1, "workers": 1}}},
    {"x0": [1.0, 2.0]}, {"x0": "abc"}, {"x0": [NAN, 1.0, 1.0]}, {"x0": [[1.0], [1.0, 2]]},
    {"reference": "foo"}, {"reference": [1.0]}, {"reference": ["a", "b", "c"]},
    {"callback": 5}, {"setup": 5}, {"runtime": "x", "deadline": 1.0},
    {"checkpoint": 5}, {"resume": True},
]


@FAST
@given(pair=bad_pairs())
def test_lstsq_bad_arrays(pair):
    _, a, b = pair
    expect_input_error(dc.lstsq, a, b, client="simulate", max_iter=2, seed=0)


@FAST
@given(bad=st.sampled_from(BAD_LSTSQ), dask_input=st.booleans())
def test_lstsq_bad_parameters(bad, dask_input):
    a = da.from_array(A_OK, chunks=(20, COLS)) if dask_input else A_OK
    kwargs = {"client": "simulate", "max_iter": 2, "seed": 0, **bad}
    expect_input_error(dc.lstsq, a, B_OK, **kwargs)


@FEW
@given(name=st.sampled_from([*BAD_DATASET_PATHS, "", 5, None, b"bytes"]))
def test_lstsq_bad_store(stores, name):
    path = stores[name] if name in stores else name
    before = listing(stores["root"])
    if path is None:  # A=None: no path, no array
        expect_input_error(dc.lstsq, None, client="simulate")
    else:
        expect_input_error(dc.lstsq, path, client="simulate", max_iter=2)
    assert listing(stores["root"]) == before


def test_lstsq_store_and_b_is_contradictory(stores):
    assert "not both" in expect_input_error(dc.lstsq, stores["store"], B_OK,
                                            client="simulate")


BAD_CLR = [
    {"method": "nope"}, {"n_blocks": 0}, {"n_blocks": ROWS + 5}, {"n_servers": -1},
    {"n_servers": 2, "q": 3}, {"deadline": 0}, {"deadline": NAN}, {"step": "x"},
    {"max_iter": 0}, {"tol": NAN}, {"seed": "x"}, {"fit_intercept": "no"},
    {"fit_intercept": None}, {"client": "nope"}, {"stragglers": {"foo": 1}},
]


#: Bad for lstsq, fine for the estimator, which casts as scikit-learn does: integer, boolean
#: and object-dtype X to float64, a column-vector y raveled with a DataConversionWarning.
ESTIMATOR_TAKES = {"int", "bool", "object", "b-2d"}


@FAST
@given(pair=bad_pairs(), bad=st.one_of(st.none(), st.sampled_from(BAD_CLR)),
       intercept=st.booleans())
def test_coded_linear_regression_fit(pair, bad, intercept):
    kind, x, y = pair
    params = {"client": "simulate", "max_iter": 2, "seed": 0, "fit_intercept": intercept,
              **(bad or {})}
    model = dc.CodedLinearRegression(**params)
    if bad is None and kind in ESTIMATOR_TAKES:
        with pytest.warns(DataConversionWarning) if kind == "b-2d" else nullcontext():
            model.fit(x, y)
        assert model.coef_.shape == (COLS,) and np.all(np.isfinite(model.coef_))
    else:
        expect_input_error(model.fit, x, y)


@FEW
@given(bad=st.sampled_from(BAD_CLR))
def test_coded_linear_regression_bad_params_good_data(bad):
    params = {"client": "simulate", "max_iter": 2, "seed": 0, **bad}
    expect_input_error(dc.CodedLinearRegression(**params).fit, A_OK, B_OK)


def test_coded_linear_regression_predict_and_score():
    """Regression: predict on a list or 1-D X and score with a wrong-length y raised
    AttributeError / broadcasting ValueError from numpy."""
    expect_input_error(dc.CodedLinearRegression().predict, A_OK)
    model = dc.CodedLinearRegression(client="simulate", max_iter=2, seed=0).fit(A_OK, B_OK)
    assert "Expected 2D array" in expect_input_error(model.predict, B_OK)
    expect_input_error(model.predict, [[1.0, 2.0]])
    expect_input_error(model.predict, [[1.0], [1.0, 2.0]])
    assert "inconsistent numbers of samples" in expect_input_error(model.score, A_OK, B_OK[:4])
    expect_input_error(model.set_params, foo=1)
    assert model.predict(A_OK.tolist()).shape == (ROWS,)  # a list of rows is still fine


def test_lstsq_regressions():
    """Each of these escaped as a TypeError/ValueError/AttributeError/MemoryError/LinAlgError."""
    s = {"client": "simulate", "max_iter": 2}
    cases = [({"method": ["sd"]}, "unknown method"), ({"step_scale": "a"}, "step_scale"),
             ({"step_scale": None}, "step_scale"), ({"time_budget": "x"}, "time_budget"),
             ({"seed": "x"}, "seed"), ({"seed": -1}, "seed"), ({"client": 5}, "client"),
             ({"x0": "abc"}, "x0"), ({"reference": ["a", "b", "c"]}, "reference"),
             ({"callback": 5}, "callback"), ({"setup": 5}, "setup"),
             ({"n_servers": 10**12}, "n_servers"), ({"deadline": True}, "deadline")]
    for kwargs, match in cases:
        assert match in expect_input_error(dc.lstsq, A_OK, B_OK, **{**s, **kwargs}), kwargs
    assert "b must be an array" in expect_input_error(dc.lstsq, A_OK, [[1], [1, 2]], **s)
    assert "overflows" in expect_input_error(dc.lstsq, A_OK * 1e300, B_OK, **s)
    fit = dc.CodedLinearRegression(client="simulate", max_iter=2).fit
    expect_input_error(fit, [[1.0], [1.0, 2.0]], B_OK)
    assert "2-D" in expect_input_error(fit, da.from_array(B_OK), B_OK)
    assert "2-D" in expect_input_error(fit, da.zeros((3, 3, 3)), B_OK)


def test_expansion_regressions():
    """A str deadline with a runtime model raised TypeError; str/ragged Pi ValueError; a str
    min_replicas TypeError."""
    model = dc.runtime_model("shifted-exponential", shift=0.1, rate=1.0)
    assert "deadline" in expect_input_error(dc.expansion_network, [0.5, 0.5], 4,
                                            survival=model, deadline="x")
    for pi in ("abc", ["a", "b"], [[1], [1, 2]]):
        assert "Pi" in expect_input_error(dc.expansion_network, pi, 4)
    assert "min_replicas" in expect_input_error(dc.expansion_network, [0.5, 0.5], 4,
                                                min_replicas="x")
    assert "unknown option" in expect_input_error(dc.block_leverage_scores, A_OK, 3, foo=1)
    for opt in ({"sketch_rows": "x"}, {"jl_dim": "x"}, {"seed": "x"}, {"seed": -1}):
        expect_input_error(dc.block_leverage_scores, A_OK, 3, method="sketch", **opt)


# ------------------------------------------------------------------------------ leverage


BAD_LEVERAGE = [
    {"n_blocks": 0}, {"n_blocks": ROWS + 1}, {"n_blocks": "3"}, {"n_blocks": 3.5},
    {"n_blocks": None}, {"n_blocks": True}, {"method": "x"}, {"method": ["x"]},
    {"algorithm": "x"}, {"algorithm": []}, {"foo": 1},
    {"method": "sketch", "sketch_rows": "x"}, {"method": "sketch", "sketch_rows": 1},
    {"method": "sketch", "jl_dim": "x"}, {"method": "sketch", "jl_dim": 0},
    {"method": "sketch", "seed": "x"}, {"method": "sketch", "seed": -1},
]


@FAST
@given(pair=bad_pairs())
def test_block_leverage_scores_bad_arrays(pair):
    kind, a, _ = pair
    if kind.startswith("b-"):
        a = A_OK * np.nan  # b plays no part here: make A bad instead
    expect_input_error(dc.block_leverage_scores, a, 3)


@FAST
@given(bad=st.sampled_from(BAD_LEVERAGE))
def test_block_leverage_scores_bad_parameters(bad):
    kwargs = {"n_blocks": 3, **bad}
    n_blocks = kwargs.pop("n_blocks")
    expect_input_error(dc.block_leverage_scores, A_OK, n_blocks, **kwargs)


@FEW
@given(name=st.sampled_from([*BAD_DATASET_PATHS, "", 5, None]), sketch=st.booleans())
def test_leverage_and_open_dataset_bad_store(stores, name, sketch):
    path = stores[name] if name in stores else name
    before = listing(stores["root"])
    expect_input_error(dc.open_dataset, path)
    if path is not None:
        expect_input_error(dc.block_leverage_scores, path, 3,
                           method="sketch" if sketch else "exact")
    assert listing(stores["root"]) == before


def test_unreadable_store(tmp_path):
    path = tmp_path / "locked.zarr"
    dc.make_dataset(path, n_rows=20, n_cols=2, chunk_rows=10)
    meta = path / "zarr.json"
    if is_root():
        # permission bits do not stop root: make the metadata unreadable another way
        meta.unlink()
        meta.mkdir()
    else:
        meta.chmod(0)
    try:
        expect_input_error(dc.open_dataset, path)
        cli_error(["leverage", path, "--blocks", "2"])
    finally:
        if not is_root():
            meta.chmod(0o644)


def test_unreadable_chunk_of_a_store(tmp_path):
    """Metadata fine, one chunk of A unreadable: a clear error, not zeros or a traceback."""
    path = tmp_path / "chunk.zarr"
    dc.make_dataset(path, n_rows=20, n_cols=2, chunk_rows=10)
    chunks = sorted(p for p in (path / "A").rglob("*") if p.is_file() and p.name != "zarr.json")
    assert chunks
    chunks[0].unlink()
    chunks[0].mkdir()  # unreadable for root too
    msg = expect_input_error(dc.lstsq, path, method="sd", n_blocks=2, max_iter=2,
                             client="simulate")
    assert "1 of its 2 chunks missing" in msg


def test_all_zero_chunks_are_stored_and_read_back(tmp_path):
    """What we write holds every chunk, so the missing-chunk check never refuses it."""
    from dask_coded.io import open_matrix, write_matrix

    data = np.zeros((40, 3))
    data[30:] = 1.0
    write_matrix(tmp_path / "z.zarr", data, chunks=(10, 3))
    np.testing.assert_array_equal(np.asarray(open_matrix(tmp_path / "z.zarr")), data)


# ------------------------------------------------------------------------------ expansion


BAD_EXPANSION = [
    {"Pi": [0.5, 0.6]}, {"Pi": [1.5, -0.5]}, {"Pi": [NAN, 1.0]}, {"Pi": [INF, 0.0]},
    {"Pi": []}, {"Pi": [[0.5, 0.5]]}, {"Pi": "abc"}, {"Pi": ["a", "b"]},
    {"Pi": [[1], [1, 2]]}, {"Pi": None}, {"Pi": {"a": 1}},
    {"n_servers": 0}, {"n_servers": 1}, {"n_servers": 2.0}, {"n_servers": "4"},
    {"n_servers": True}, {"n_servers": None}, {"q": 5}, {"q": 0}, {"q": "1"}, {"q": 1.5},
    {"survival": 1.0}, {"survival": 0.0}, {"survival": -0.1}, {"survival": "x"},
    {"survival": [0.1, 0.2]}, {"survival": NAN}, {"deadline": 1.0},
    {"survival": "model", "deadline": 0}, {"survival": "model", "deadline": "x"},
    {"survival": "model"}, {"method": "x"}, {"method": []}, {"method": "paper"},
    {"min_replicas": -1}, {"min_replicas": "x"}, {"min_replicas": 1.5},
    {"min_replicas": 3},
]


@FAST
@given(bad=st.sampled_from(BAD_EXPANSION))
def test_expansion_network(bad):
    kwargs = {"Pi": [0.5, 0.5], "n_servers": 4, **bad}
    if kwargs.get("survival") == "model":
        kwargs["survival"] = dc.runtime_model("shifted-exponential", shift=0.1, rate=1.0)
    expect_input_error(dc.expansion_network, kwargs.pop("Pi"), kwargs.pop("n_servers"),
                       **kwargs)


# ------------------------------------------------------------------------------ make_dataset


GOOD_SPEC = {"n_rows": 40, "n_cols": 3, "chunk_rows": 10}
BAD_SPEC = [
    {"kind": "x"}, {"kind": ["x"]}, {"kind": None}, {"n_rows": 0}, {"n_rows": -1},
    {"n_rows": "10"}, {"n_rows": 1.5}, {"n_rows": NAN}, {"n_rows": True},
    {"n_cols": 50}, {"n_cols": 0}, {"chunk_rows": 0}, {"chunk_rows": "x"},
    {"dtype": "int8"}, {"dtype": [1]}, {"dtype": "complex128"},
    {"noise": NAN}, {"noise": -1}, {"noise": "x"}, {"noise": INF},
    {"condition": 0}, {"condition": 0.5}, {"condition": INF}, {"condition": 1e16},
    {"condition": "x"}, {"df": 0, "kind": "student-t"}, {"df": NAN, "kind": "student-t"},
    {"coherence": -1.0, "kind": "coherent"}, {"hot_fraction": 2.0, "kind": "coherent"},
    {"hot_fraction": 0.0}, {"n_hot": 0, "kind": "coherent"}, {"seed": -1}, {"seed": "x"},
    {"seed": 1.5}, {"seed": None}, {"foo": 1},
    {"n_rows": 10**15, "n_cols": 10**6, "chunk_rows": 10**12},
    {"n_rows": 10**7, "n_cols": 10**3, "chunk_rows": 10**6},
]


@FAST
@given(bad=st.sampled_from(BAD_SPEC))
def test_make_dataset_bad_parameters(tmp_path, bad):
    out = tmp_path / "new.zarr"
    before = listing(tmp_path)
    expect_input_error(dc.make_dataset, out, **{**GOOD_SPEC, **bad})
    assert listing(tmp_path) == before


@FEW
@given(target=st.sampled_from(["store", "plain", "file", "under-file", 5, None, ""]),
       overwrite=st.booleans())
def test_make_dataset_bad_target(stores, target, overwrite):
    """Existing paths are never replaced unless they are a Zarr store and overwrite is set;
    a non-store (a folder of other files, a plain file) is never replaced."""
    if target == "store" and overwrite:
        overwrite = False  # replacing a store is legitimate; keep this case an error
    path = {"under-file": stores["file"] / "x.zarr"}.get(target, stores.get(target, target))
    before = listing(stores["root"])
    text = stores["file"].read_text()
    expect_input_error(dc.make_dataset, path, overwrite=overwrite, **GOOD_SPEC)
    assert listing(stores["root"]) == before
    assert stores["file"].read_text() == text


def test_make_dataset_read_only_folder(read_only_folder):
    ro = read_only_folder
    assert "not writable" in expect_input_error(dc.make_dataset, ro / "a.zarr", **GOOD_SPEC)
    cli_error(["make-dataset", ro / "b.zarr", "--rows", "20", "--cols", "2"], "not writable")
    assert not [p for p in ro.iterdir() if "a.zarr" in p.name or "b.zarr" in p.name]


def test_make_dataset_regressions(tmp_path):
    """overwrite=True used to replace a plain file or a folder that is no Zarr store (and left
    a hidden .old- file behind); a str noise raised TypeError; a negative or str seed raised
    ValueError from numpy; a huge chunk raised MemoryError; an int path TypeError."""
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "keep.txt").write_text("data")
    (tmp_path / "f.txt").write_text("data")
    for path in (plain, tmp_path / "f.txt"):
        assert "not a Zarr store" in expect_input_error(
            dc.make_dataset, path, overwrite=True, **GOOD_SPEC)
    assert (plain / "keep.txt").read_text() == "data"
    assert listing(tmp_path) == ["f.txt", "plain", "plain/keep.txt"]
    for bad, match in [({"noise": "x"}, "noise"), ({"seed": -1}, "seed"),
                       ({"seed": "x"}, "seed"), ({"n_cols": 10**6, "n_rows": 10**12,
                                                   "chunk_rows": 10**9}, "memory")]:
        assert match in expect_input_error(dc.make_dataset, tmp_path / "x.zarr",
                                           **{**GOOD_SPEC, **bad})
    assert "must be a path" in expect_input_error(dc.make_dataset, 5, **GOOD_SPEC)
    assert "must be a path" in expect_input_error(dc.open_dataset, None)
    dc.make_dataset(tmp_path / "ok.zarr", **GOOD_SPEC)
    dc.make_dataset(tmp_path / "ok.zarr", overwrite=True, **{**GOOD_SPEC, "seed": 3})
    assert dc.io.read_attrs(tmp_path / "ok.zarr")["dask_coded"]["generator"]["seed"] == 3


# ------------------------------------------------------------------------------ matmul


BAD_MATMUL = [
    {"code": "nope"}, {"code": 5}, {"code": ["a"]}, {"code": "missing.npz"},
    {"code": "optimized"}, {"m": None}, {"m": 0}, {"m": 2.0}, {"m": "2"}, {"m": True},
    {"m": 7}, {"m": 3, "n_servers": 2}, {"code": "matdot", "m": 3, "n_servers": 4},
    {"n_servers": 0}, {"n_servers": 10**12}, {"n_servers": "x"},
    {"eps": -1}, {"eps": 0}, {"eps": NAN}, {"eps": "x"}, {"eps": 1e-300},
    {"deadline": 0}, {"deadline": NAN}, {"deadline": "1"}, {"deadline": -1},
    {"points": "x"}, {"points": [1, 2]}, {"points": ["a", "b"], "n_servers": 2},
    {"points": [1, 1, 2], "n_servers": 3}, {"points": [1, NAN, 2], "n_servers": 3},
    {"points": [[1], [1, 2]], "n_servers": 3}, {"points": 5}, {"points": "paper"},
    {"tile": 0}, {"tile": "x"}, {"tile": -1}, {"delays": [1]}, {"delays": "abc"},
    {"delays": [[1], [1, 2]]}, {"delays": [-1, 0, 0, 0]}, {"delays": [NAN, 0, 0, 0]},
    {"stragglers": {"foo": 1}}, {"stragglers": "x"},
    {"stragglers": {"kill": {"round": 0, "workers": 1}}},
    {"seed": "x"}, {"seed": -1}, {"seed": 1.5}, {"client": "x"}, {"client": 3},
    {"out": 5}, {"out": ""}, {"out": "M"},
]

BAD_OPERANDS = [
    ("A", None), ("A", object()), ("A", "missing"), ("A", "plain"), ("A", "file"),
    ("A", "store"), ("A", "int-matrix"), ("A", "empty-dir"), ("A", [[1.0], [1.0, 2.0]]),
    ("A", B_OK), ("A", M_OK[None]), ("A", np.empty((0, 6))), ("A", M_OK + 1j),
    ("A", M_OK.astype(str)), ("B", M_OK), ("B", "wide"), ("B", N_OK.T),
    ("B", np.empty((6, 0))), ("B", da.from_array(N_OK.astype(int))),
    ("B", da.from_array(N_OK.astype(complex))),
]


@FAST
@given(bad=st.sampled_from(BAD_MATMUL), stored=st.booleans())
def test_matmul_bad_parameters(stores, bad, stored):
    a, b = (stores["M"], stores["N"]) if stored else (M_OK, N_OK)
    kwargs = {"m": 2, **bad}
    if kwargs.get("out") == "M":
        kwargs["out"] = stores["M"]
    before = listing(stores["root"])
    # client=None: a case that passed validation would start a cluster and then fail here
    expect_input_error(dc.matmul, a, b, **kwargs)
    assert listing(stores["root"]) == before


@FAST
@given(bad=st.sampled_from(BAD_OPERANDS), stored_other=st.booleans())
def test_matmul_bad_operands(stores, bad, stored_other):
    which, value = bad
    if isinstance(value, str):
        value = stores[value]
    a, b = (stores["M"], stores["N"]) if stored_other else (M_OK, N_OK)
    a, b = (value, b) if which == "A" else (a, value)
    expect_input_error(dc.matmul, a, b, m=2)


@settings(FAST, max_examples=3)
@given(where=st.integers(0, 47), value=st.sampled_from([NAN, INF, -INF]),
       operand=st.sampled_from(["A", "B"]))
def test_matmul_nan_found_by_workers(client, tmp_path, where, value, operand):
    """NaN/Inf is found by the loaders on the workers; nothing is left at ``out``."""
    a, b = M_OK.copy(), N_OK.copy()
    (a if operand == "A" else b).flat[where % (a.size if operand == "A" else b.size)] = value
    out = tmp_path / "C.zarr"
    msg = expect_input_error(dc.matmul, a, b, m=2, client=client, out=out)
    assert "NaN or Inf" in msg
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_matmul_read_only_out(client, read_only_folder):
    ro = read_only_folder
    assert "not writable" in expect_input_error(dc.matmul, M_OK, N_OK, m=2, client=client,
                                                out=ro / "C.zarr")
    assert not [p for p in ro.iterdir() if "C.zarr" in p.name]


BAD_OPTIMIZE = [
    {"m": 0}, {"m": "2"}, {"m": True}, {"k": 0}, {"k": 5}, {"n_servers": 0},
    {"n_servers": 50, "k": 20}, {"n_servers": 10**12}, {"restarts": 0}, {"restarts": "x"},
    {"max_iter": -1}, {"max_iter": 1.5}, {"seed": "x"}, {"seed": -1},
    {"save": 5}, {"save": ""}, {"save": "DIR"},
]


@FAST
@given(bad=st.sampled_from(BAD_OPTIMIZE))
def test_optimize_code(tmp_path, bad):
    kwargs = {"m": 2, "k": 2, "n_servers": 3, "restarts": 1, "max_iter": 2, **bad}
    if kwargs.get("save") == "DIR":
        kwargs["save"] = tmp_path
    before = listing(tmp_path)
    expect_input_error(dc.optimize_code, kwargs.pop("m"), kwargs.pop("k"),
                       kwargs.pop("n_servers"), **kwargs)
    assert listing(tmp_path) == before


def test_matmul_and_optimize_regressions(tmp_path, stores):
    """Escaped before: ragged points/delays (ValueError), str/negative seed (TypeError /
    ValueError from SeedSequence), a bad client (AttributeError), an int ``out``
    (TypeError), a huge n_servers (MemoryError), ``save=`` a folder (IsADirectoryError) or an
    int (wrote to file descriptor 5!)."""
    cases = [({"points": [[1], [1, 2]], "n_servers": 3}, "points"),
             ({"delays": "abc"}, "delays"), ({"delays": [[1], [1, 2]]}, "delays"),
             ({"seed": "x"}, "seed"), ({"seed": -1}, "seed"), ({"client": "x"}, "client"),
             ({"client": 3}, "client"), ({"out": 5}, "out"),
             ({"n_servers": 10**12}, "n_servers"), ({"out": stores["M"]}, "already exists")]
    for kwargs, match in cases:
        assert match in expect_input_error(dc.matmul, M_OK, N_OK, m=2, **kwargs), kwargs
    for save in (tmp_path, 5):
        assert "save" in expect_input_error(dc.optimize_code, 2, 2, 3, restarts=1, max_iter=2,
                                            save=save)
    assert "seed" in expect_input_error(dc.optimize_code, 2, 2, 3, seed="x")
    code = dc.optimize_code(2, 2, 3, restarts=1, max_iter=2, seed=0,
                            save=tmp_path / "c.npz")
    assert listing(tmp_path) == ["c.npz"] and code.m == 2


# ------------------------------------------------------------------------------ controls


def test_the_valid_baselines_are_valid(stores, tmp_path, client):
    """Every property mutates something valid: check the unmutated inputs pass."""
    from dask_coded.config import load_config, load_matmul_config
    from dask_coded.experiments.runs import check_matmul_inputs

    dc.lstsq(A_OK, B_OK, client="simulate", max_iter=2, seed=0)
    dc.lstsq(stores["store"], client="simulate", max_iter=2, seed=0, n_blocks=6,
             n_servers=12, q=9, deadline=0.5, on_short="proceed")
    dc.CodedLinearRegression(client="simulate", max_iter=2).fit(A_OK, B_OK)
    dc.block_leverage_scores(A_OK, 3)
    dc.block_leverage_scores(stores["store"], 3, method="sketch")
    dc.expansion_network([0.5, 0.5], 4)
    dc.make_dataset(tmp_path / "ok.zarr", **GOOD_SPEC)
    for a, b in ((M_OK, N_OK), (stores["M"], stores["N"])):
        res = dc.matmul(a, b, m=2, client=client)
        np.testing.assert_allclose(np.asarray(res.C), M_OK @ N_OK, rtol=1e-6, atol=1e-8)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(_solve_base(stores, tmp_path / "o")))
    load_config(tmp_path / "run.yaml")
    (tmp_path / "mm.yaml").write_text(yaml.safe_dump(_matmul_base(stores, tmp_path / "o")))
    check_matmul_inputs(load_matmul_config(tmp_path / "mm.yaml"))


# ------------------------------------------------------------------------------ CLI: solve


def _solve_base(stores, out: Path) -> dict:
    return {"dataset": {"path": str(stores["store"])},
            "cluster": {"workers": 1, "threads_per_worker": 1, "timeout": 5},
            "solver": {"method": "block-leverage", "n_blocks": 6, "n_servers": 12, "q": 9,
                       "deadline": 0.5, "on_short": "proceed", "max_iter": 3, "seed": 0,
                       "reference": "auto"},
            "compare": ["sd"],
            "stragglers": {"slow": {"fraction": 0.25, "factor": 2.0}, "seed": 0},
            "output": {"dir": str(out), "target_error": 1e-4}}


#: (key path, invalid value); ``"@name"`` values are paths from the ``stores`` fixture.
SOLVE_MUTATIONS = [
    (("solver", "method"), v) for v in ("nope", 3, None, [])] + [
    (("solver", "n_blocks"), v) for v in (0, -1, "6", 6.5, True, NAN, 10**12, [])] + [
    (("solver", "n_servers"), v) for v in (0, "x", 1.5, 10**12, 3, NAN)] + [
    (("solver", "q"), v) for v in (0, 13, "x", 10**12)] + [
    (("solver", "deadline"), v) for v in (0, -1, NAN, INF, "1", True)] + [
    (("solver", "on_short"), v) for v in ("x", 1)] + [
    (("solver", "step"), v) for v in ("x", -1, 0, NAN, True, [])] + [
    (("solver", "step_scale"), v) for v in (0, -1, NAN, INF, "x", None)] + [
    (("solver", "max_iter"), v) for v in (0, -1, 1.5, "x", None)] + [
    (("solver", "tol"), v) for v in (-1, NAN, "x", INF)] + [
    (("solver", "time_budget"), v) for v in (0, -1, "x", NAN)] + [
    (("solver", "sketch_rows"), v) for v in (0, "x", 1.5)] + [
    (("solver", "seed"), v) for v in (-1, "x", 1.5, None)] + [
    (("solver", "reference"), v) for v in ("x.txt", 5, [], "", "missing.npy")] + [
    (("solver", "runtime"), v) for v in ("x", {"distribution": "nope"}, {},
                                         {"distribution": "exponential", "foo": 1})] + [
    (("cluster", "workers"), v) for v in (0, -1, "x", 10**12, 1.5)] + [
    (("cluster", "threads_per_worker"), v) for v in (0, "x", 10**12)] + [
    (("cluster", "timeout"), v) for v in (0, -1, NAN, "x")] + [
    (("cluster", "scheduler"), v) for v in (5, "", [])] + [
    (("dataset", "path"), v) for v in (5, "", [], None, "@missing", "@plain", "@file",
                                       "@M", "@no-b", "@int", "@flat")] + [
    (("dataset", "generate"), v) for v in ({"kind": "x"}, {"n_rows": -1}, "x", {"foo": 1},
                                           {"noise": "x"}, {"seed": -1})] + [
    (("compare",), v) for v in ("nope", ["block-leverage"], ["sd", "sd"], 5, {"a": 1})] + [
    (("stragglers",), v) for v in ("x", {"foo": 1}, {"delay": {"distribution": "nope"}},
                                   [1])] + [
    (("output", "dir"), v) for v in (5, "", [], "@store", "@file", "@under-file")] + [
    (("output", "target_error"), v) for v in (0, -1, "x", NAN)] + [
    (("output",), v) for v in ("x", {"foo": 1})] + [
    (("dataset",), v) for v in (None, "x", {})] + [
    (("solver",), v) for v in ("x", [1])] + [
    (("solverr",), {}), (("cluster", "nodes"), 2), (("solver", "blocks"), 6),
    (("dataset", "store"), "x"), (("output", "folder"), "x")]

DROP = object()


def _apply(config: dict, path: tuple, value, stores) -> None:
    if isinstance(value, str) and value.startswith("@"):
        name = value[1:]
        value = str(stores["file"] / "x" if name == "under-file" else stores[name])
    node = config
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if value is DROP:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


@FAST
@given(mutations=st.lists(st.sampled_from([*SOLVE_MUTATIONS, (("dataset", "path"), DROP),
                                            (("dataset",), DROP)]),
                          min_size=1, max_size=3, unique_by=lambda m: m[0]))
def test_cli_solve_bad_config(stores, tmp_path, mutations):
    out = tmp_path / "out"
    config = _solve_base(stores, out)
    for path, value in mutations:
        _apply(config, path, value, stores)
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text(yaml.safe_dump(config))
    before, before_stores = listing(tmp_path), listing(stores["root"])
    cli_error(["solve", cfg_file, "--no-progress"])
    assert not out.exists()
    assert listing(tmp_path) == before and listing(stores["root"]) == before_stores


@FEW
@given(text=st.sampled_from(["", "[1, 2]", "just a string", "dataset: [unclosed\n",
                             "a: 1\n\tb: 2\n", "\x00\x01binary", "dataset: {path: 5}\n"]))
def test_cli_solve_bad_file(tmp_path, text):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_bytes(text.encode() if text != "\x00\x01binary" else b"\xff\xfe\x00bad")
    cli_error(["solve", cfg_file])
    assert listing(tmp_path) == ["run.yaml"]


def test_cli_config_missing_dir_unreadable(tmp_path, stores):
    cli_error(["solve", tmp_path / "nope.yaml"], "no such config file")
    cli_error(["solve", tmp_path], "no such config file")
    cli_error(["matmul", tmp_path / "nope.yaml"], "no such config file")
    if is_root():
        return  # chmod does not block reads for root; the rest needs a normal user
    cfg_file = tmp_path / "locked.yaml"
    cfg_file.write_text(yaml.safe_dump(_solve_base(stores, tmp_path / "out")))
    cfg_file.chmod(0)
    try:
        cli_error(["solve", cfg_file], "cannot read")
        cli_error(["matmul", cfg_file], "cannot read")
    finally:
        cfg_file.chmod(0o644)


def test_cli_solve_read_only_output(stores, tmp_path):
    """Regression: a read-only (or file-blocked) output folder was found only after the
    solves, by then having started a cluster; now before."""
    blocked = tmp_path / "file"
    blocked.write_text("x")
    config = _solve_base(stores, blocked / "out")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    cli_error(["solve", tmp_path / "run.yaml"], "is not a folder")


def test_cli_solve_read_only_output_folder(stores, tmp_path, read_only_folder):
    config = _solve_base(stores, read_only_folder / "dask-coded-out")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    cli_error(["solve", tmp_path / "run.yaml"], "not writable")
    assert not [p for p in read_only_folder.iterdir() if "dask-coded-out" in p.name]


# ------------------------------------------------------------------------------ CLI: matmul


def _matmul_base(stores, out: Path) -> dict:
    return {"a": {"path": str(stores["M"])}, "b": str(stores["N"]), "code": "eps-matdot",
            "m": 2, "n_servers": 4, "deadline": 1.0, "tile": 16, "seed": 0,
            "cluster": {"workers": 1, "threads_per_worker": 1}, "output": {"dir": str(out)}}


MATMUL_MUTATIONS = [
    (("a",), v) for v in (None, 5, "", {"foo": 1}, {"generate": {"n": 0}},
                          {"generate": {"seed": 1}}, {}, "@missing", "@plain", "@file",
                          "@store", "@int-matrix", {"generate": {"n": 6, "seed": -1}})] + [
    (("b",), v) for v in (None, [], "@missing", "@wide", "@M", {"path": "@plain"})] + [
    (("code",), v) for v in ("nope", 5, "", "missing.npz", "optimized", "@file")] + [
    (("m",), v) for v in (0, -1, "2", 1.5, True, None, 10**6, 5)] + [
    (("n_servers",), v) for v in (0, "x", 1, 10**12)] + [
    (("eps",), v) for v in (0, -1, NAN, "x")] + [
    (("deadline",), v) for v in (0, -1, NAN, "x", True)] + [
    (("points",), v) for v in ("x", 5, [1, 2])] + [
    (("tile",), v) for v in (0, "x", 1.5)] + [
    (("seed",), v) for v in (-1, "x")] + [
    (("stragglers",), v) for v in ("x", {"foo": 1})] + [
    (("cluster", "workers"), v) for v in (0, 10**12, "x")] + [
    (("output",), v) for v in ("x", {"foo": 1}, {"dir": 5}, {"dir": "@store"},
                               {"target_error": 1})] + [
    (("mm",), 1), (("a", "generate"), {"n": 4, "seed": 0, "x": 1})]


@FAST
@given(mutations=st.lists(st.sampled_from(MATMUL_MUTATIONS), min_size=1, max_size=2,
                          unique_by=lambda m: m[0][0]))
def test_cli_matmul_bad_config(stores, tmp_path, mutations):
    out = tmp_path / "out"
    config = _matmul_base(stores, out)
    for path, value in mutations:
        if isinstance(value, dict):
            value = {k: (str(stores[v[1:]]) if isinstance(v, str) and v.startswith("@")
                         else v) for k, v in value.items()}
        _apply(config, path, value, stores)
    (tmp_path / "mm.yaml").write_text(yaml.safe_dump(config))
    before, before_stores = listing(tmp_path), listing(stores["root"])
    cli_error(["matmul", tmp_path / "mm.yaml"])
    assert not out.exists()
    assert listing(tmp_path) == before and listing(stores["root"]) == before_stores


def test_cli_matmul_regressions(stores, tmp_path):
    """Found only after a cluster had started (and generated operands were written) before:
    m > n_servers, matdot with n_servers < 2m-1, operands of different sizes, m > N, a
    stored operand that is no Zarr array, a missing code file, cluster.workers: 10**12."""
    cases = [({"m": 5}, "exceeds n_servers"),
             ({"code": "matdot", "m": 3}, "2m-1"),
             ({"a": {"generate": {"n": 8}}, "b": {"generate": {"n": 6}}}, "differ"),
             ({"a": {"generate": {"n": 3}}, "m": 4, "n_servers": 6}, "inner dimension"),
             ({"m": 7, "n_servers": 9}, "inner dimension"),
             ({"a": str(stores["plain"])}, "not a readable Zarr array"),
             ({"code": str(tmp_path / "c.npz")}, "no optimized code file"),
             ({"cluster": {"workers": 10**12}}, "cluster.workers")]
    for change, match in cases:
        config = {**_matmul_base(stores, tmp_path / "out"), **change}
        for key in ("a", "b"):
            if isinstance(config[key], dict) and "generate" in config[key]:
                config[key]["path"] = str(tmp_path / f"{key}.zarr")
        (tmp_path / "mm.yaml").write_text(yaml.safe_dump(config))
        cli_error(["matmul", tmp_path / "mm.yaml"], match)
        assert listing(tmp_path) == ["mm.yaml"], change


# ------------------------------------------------------------------------------ CLI: others


LEVERAGE_ARGS = [
    ["--blocks", "0"], ["--blocks", "-1"], ["--blocks", str(ROWS + 1)], ["--blocks", "abc"],
    ["--blocks", "1.5"], ["--servers", "0"], ["--servers", "abc"], ["--survival", "1.5"],
    ["--survival", "0"], ["--survival", "abc"], ["--survival", "nan"], ["--method", "x"],
    ["--workers", "0"], ["--expansion", "paper"], ["--expansion", "x"], ["--bogus"],
    ["--blocks"], ["extra-arg"],
]


@FAST
@given(path=st.sampled_from(["store", *BAD_DATASET_PATHS]),
       extra=st.lists(st.sampled_from(LEVERAGE_ARGS), max_size=2))
def test_cli_leverage(stores, path, extra):
    if path == "store" and not extra:
        extra = [["--blocks", "0"]]
    args = ["leverage", stores[path], *[a for pair in extra for a in pair]]
    before = listing(stores["root"])
    cli_error(args)
    assert listing(stores["root"]) == before


MAKE_ARGS = [
    ["--rows", "0"], ["--rows", "abc"], ["--rows", "3", "--cols", "5"], ["--kind", "x"],
    ["--chunk-rows", "0"], ["--noise", "-1"], ["--noise", "nan"], ["--condition", "0"],
    ["--dtype", "int8"], ["--df", "0", "--kind", "student-t"], ["--seed", "-1"],
    ["--hot-fraction", "2", "--kind", "coherent"], ["--spec", "@missing"],
    ["--spec", "@bad-yaml"], ["--spec", "@list-yaml"], ["--spec", "@unknown-key"],
    ["--spec", "@plain"], ["--rows", "1000000000000000", "--cols", "1000000"],
]


@FAST
@given(extra=st.lists(st.sampled_from(MAKE_ARGS), min_size=1, max_size=2),
       target=st.sampled_from(["new", "new", "store", "plain", "under-file"]))
def test_cli_make_dataset(stores, tmp_path, extra, target):
    specs = {"bad-yaml": "kind: [unclosed\n", "list-yaml": "- 1\n- 2\n",
             "unknown-key": "n_rows: 20\nfoo: 1\n"}
    for name, text in specs.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    subs = {"missing": str(tmp_path / "missing.yaml"), "plain": str(stores["plain"]),
            **{k: str(tmp_path / f"{k}.yaml") for k in specs}}
    args = [subs[a[1:]] if a.startswith("@") else a for pair in extra for a in pair]
    path = {"new": tmp_path / "new.zarr", "under-file": stores["file"] / "x.zarr"}.get(
        target, stores.get(target))
    before, before_stores = listing(tmp_path), listing(stores["root"])
    cli_error(["make-dataset", path, "--rows", "20", "--cols", "2", *args])
    assert listing(tmp_path) == before and listing(stores["root"]) == before_stores


def test_cli_usage_errors_are_one_line():
    """Regression: click's usage errors (bad option value, unknown option or command) printed
    the usage text and several lines; now one ``dask-coded: error:`` line."""
    cli_error(["leverage", "--blocks", "abc"], "'abc' is not a valid integer")
    cli_error(["make-dataset", "x.zarr", "--kind", "x"], "--kind")
    cli_error(["nope"], "No such command")
    cli_error(["solve"], "Missing argument")
    cli_error(["--bogus"], "No such option")
    res = CliRunner().invoke(cli, ["--help"], prog_name="dask-coded")
    assert res.exit_code == 0 and "Usage" in res.output


def test_cli_leverage_checks_before_cluster(stores):
    """Regression: --blocks out of range, --survival outside (0, 1), --workers 0 and
    --expansion paper without --survival were found after a cluster had started."""
    for extra, match in [(["--blocks", "0"], "n_blocks must be between 1"),
                         (["--blocks", "61"], "n_blocks must be between 1"),
                         (["--survival", "1.5"], "survival phi(T) must be in (0, 1)"),
                         (["--workers", "0"], "--workers"),
                         (["--expansion", "paper"], "--survival")]:
        cli_error(["leverage", stores["store"], *extra], match)


# ------------------------------------------------------------------------------ subprocesses


def test_subprocess_errors_are_one_line(stores, tmp_path):
    """The real entry point, once per command (each costs an interpreter start)."""
    config = _solve_base(stores, tmp_path / "out")
    config["solver"]["q"] = 99
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    assert_one_line_error(run("solve", str(tmp_path / "run.yaml")), "is larger than")
    config = _matmul_base(stores, tmp_path / "out")
    config["b"] = str(stores["wide"])
    (tmp_path / "mm.yaml").write_text(yaml.safe_dump(config))
    assert_one_line_error(run("matmul", str(tmp_path / "mm.yaml")), "A B is not defined")
    assert_one_line_error(run("leverage", str(stores["plain"]), "--blocks", "x"),
                          "not a valid integer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mm.yaml", "run.yaml"]
