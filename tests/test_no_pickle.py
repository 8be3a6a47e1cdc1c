"""dask_coded never unpickles a user's file: no pickle imports, safe YAML, ``np.load`` without
pickles, and a code file holding an object array is refused, not unpickled."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import dask_coded
from dask_coded.errors import InputError
from dask_coded.kernels.optcodes import OptimizedCode

SOURCES = sorted(Path(dask_coded.__file__).parent.rglob("*.py"))
BANNED_MODULES = {"pickle", "cloudpickle", "dill", "shelve", "marshal", "joblib"}
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load",
               "full_load_all", "Loader", "UnsafeLoader", "FullLoader"}


def _trees():
    assert SOURCES
    for path in SOURCES:
        yield path, ast.parse(path.read_text(), filename=str(path))


def test_no_pickle_imports():
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in BANNED_MODULES, f"{path}:{node.lineno}: {name}"


def test_yaml_is_safe_load_only():
    for path, tree in _trees():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "yaml"):
                assert node.attr not in UNSAFE_YAML, f"{path}:{node.lineno}: yaml.{node.attr}"
            if isinstance(node, ast.ImportFrom) and node.module == "yaml":
                names = {a.name for a in node.names}
                assert not names & UNSAFE_YAML, f"{path}:{node.lineno}: from yaml import"


def test_every_np_load_refuses_pickles():
    calls = 0
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in {"np", "numpy"}):
                continue
            calls += 1
            kw = {k.arg: k.value for k in node.keywords}
            value = kw.get("allow_pickle")
            assert isinstance(value, ast.Constant) and value.value is False, (
                f"{path}:{node.lineno}: np.load without allow_pickle=False")
    assert calls >= 1  # the check sees the package's np.load calls


def _mark_unpickled() -> _Unpickled:
    _Unpickled.seen = True
    return _Unpickled()


class _Unpickled:
    """Records that it was unpickled (it must not be)."""

    seen = False

    def __reduce__(self):
        return _mark_unpickled, ()


def test_code_file_with_an_object_array_is_refused(tmp_path):
    P, m, k = 3, 2, 2
    n_sub = 3
    path = tmp_path / "code.npz"
    with open(path, "wb") as fh:
        np.savez(fh, version=np.int64(1), m=np.int64(m), k=np.int64(k), P=np.int64(P),
                 alpha=np.array([[_Unpickled()] * m] * P, dtype=object),
                 beta=np.ones((P, m)), subsets=np.zeros((n_sub, k), dtype=np.int64),
                 d=np.ones((n_sub, k)), loss=np.float64(0.0), loss_history=np.zeros(1),
                 metadata=np.array("{}"))
    with pytest.raises(InputError, match="cannot read code file") as info:
        OptimizedCode.load(path)
    assert "\n" not in str(info.value)
    assert "allow_pickle" in str(info.value)
    assert not _Unpickled.seen
