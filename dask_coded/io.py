"""Zarr I/O: the only module of dask_coded that imports ``zarr``.

Datasets are Zarr v3 groups holding ``A`` (N x d, chunked by rows, one chunk across all
columns), ``b`` (N,) and, for generated data, ``x0`` (d,); their parameters are in the
group's attributes. Everything is written into a hidden sibling folder first and renamed into
place at the end, so an interrupted write never leaves a half-written store under the name a
user asked for.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr

from ._atomic import replace_dir, writable_parent
from ._validation import DEFAULT_CHUNK_BYTES, check_pair
from .errors import InputError


class _GroupWriter:
    """Creates arrays and writes row slices into a Zarr group being built aside."""

    def __init__(self, group: zarr.Group):
        self.group = group
        self._arrays: dict[str, zarr.Array] = {}

    def create(self, name: str, shape: tuple[int, ...], chunks: tuple[int, ...],
               dtype: str) -> None:
        # every chunk stored, even an all-zero one: readers then treat a missing chunk as a
        # damaged store (see _check_complete), never as zeros
        self._arrays[name] = self.group.create_array(name, shape=shape, chunks=chunks,
                                                     dtype=dtype, config=_ALL_CHUNKS)

    def write(self, name: str, start: int, data: np.ndarray) -> None:
        self._arrays[name][start:start + data.shape[0]] = data

    def set_attrs(self, attrs: dict) -> None:
        self.group.attrs.update(attrs)


def _as_path(path: Any, what: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"{what} must be a path (str or PathLike), got {path!r}")
    return Path(path)


def _check_target(path: Any, overwrite: bool) -> Path:
    """The output path of a store: absent, or (with ``overwrite``) an earlier Zarr store."""
    path = _as_path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise InputError(f"{path} already exists (use overwrite to replace it)")
        if not (path.is_dir() and (path / "zarr.json").is_file()):
            raise InputError(f"{path} exists and is not a Zarr store, so it is not replaced; "
                             "choose another path")
    return path


@contextlib.contextmanager
def atomic_group(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[_GroupWriter]:
    """Build a Zarr group in a hidden sibling folder, then rename it to ``path``.

    Parameters
    ----------
    path : path-like
        Final location of the store.
    overwrite : bool
        Replace an existing store at ``path``; otherwise an existing path is an error.
    """
    path = _check_target(path, overwrite)
    parent = writable_parent(path)
    tmp = parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        yield _GroupWriter(zarr.open_group(str(tmp), mode="w"))
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


#: Array config of everything dask_coded writes: all chunks stored (zarr skips all-fill ones).
_ALL_CHUNKS = {"write_empty_chunks": True}


def _check_complete(arr: zarr.Array, what: str) -> None:
    """Refuse an array with chunks missing from its store.

    Zarr reads a missing chunk as its fill value (zeros): a store copied in part, or a chunk
    deleted, would otherwise give a silently wrong answer. Stores dask_coded writes hold every
    chunk; another writer may have skipped all-zero chunks (zarr's default), hence the hint.
    """
    stored, total = arr.nchunks_initialized, arr.nchunks
    if stored < total:
        raise InputError(f"{what} has {total - stored} of its {total} chunks missing from the "
                         "store (zarr would read them as zeros); copy the store again, or "
                         "rewrite it with zarr's write_empty_chunks=True if those chunks are "
                         "all zeros")


def _open_group(path: str | os.PathLike) -> zarr.Group:
    p = _as_path(path, "a dataset path")
    if not p.exists():
        raise InputError(f"no dataset at {p}: the path does not exist")
    try:
        # absolute: workers resolve a relative store root against their own folder, where
        # zarr would read every missing chunk as zeros (its fill value), silently
        return zarr.open_group(str(p.resolve()), mode="r")
    except Exception as exc:  # zarr raises several types for "not a group"
        raise InputError(f"{p} is not a readable Zarr group ({type(exc).__name__})") from None


def read_attrs(path: str | os.PathLike) -> dict:
    """The attributes of a dataset store (its generator parameters, when generated)."""
    return dict(_open_group(path).attrs)


@functools.lru_cache(maxsize=8)
def _cached_group(path: str) -> zarr.Group:
    return _open_group(path)


def read_rows(path: str | os.PathLike, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[start, stop)`` of a dataset's A and b, read on whichever process calls it.

    Workers call this to build their servers' data straight from the store, so encoded blocks
    never pass through the client. The opened group is cached per process.
    """
    group = _cached_group(str(path))
    a = np.asarray(group["A"][start:stop])
    b = np.asarray(group["b"][start:stop])
    return a, (b[:, 0] if b.ndim == 2 else b)


def read_array(path: str | os.PathLike, name: str) -> np.ndarray:
    """A small array of a store (such as ``x0``) read whole into memory."""
    group = _open_group(path)
    if name not in group:
        raise InputError(f"{path} has no array {name!r}")
    return np.asarray(group[name][...])


def open_dataset(path: str | os.PathLike) -> tuple[da.Array, da.Array]:
    """Open a stored regression dataset lazily.

    Parameters
    ----------
    path : path-like
        A Zarr group with arrays ``A`` (N x d) and ``b`` (N,).

    Returns
    -------
    A, b : dask.array.Array
        Row-chunked lazy arrays; ``A`` has one chunk across its columns. Nothing is read yet.

    Raises
    ------
    InputError
        Missing path, missing arrays, A not 2-D, b not 1-D, row counts that differ, or a dtype
        that is not real floating point.
    """
    group = _open_group(path)
    for name in ("A", "b"):
        if name not in group:
            raise InputError(f"{path} has no array {name!r}: a dataset needs A and b")
    a_store, b_store = group["A"], group["b"]
    _check_complete(a_store, f"A of {path}")
    _check_complete(b_store, f"b of {path}")
    if len(a_store.shape) != 2:
        raise InputError(f"A must be 2-D, got shape {tuple(a_store.shape)} in {path}")
    if len(b_store.shape) == 2 and b_store.shape[1] == 1:
        b = da.from_zarr(b_store)[:, 0]
    elif len(b_store.shape) == 1:
        b = da.from_zarr(b_store)
    else:
        raise InputError(f"b must be 1-D, got shape {tuple(b_store.shape)} in {path}")
    a = da.from_zarr(a_store)
    if a.chunks[1] != (a.shape[1],):
        a = a.rechunk({1: -1})  # keep whole rows in one chunk: every kernel works on row blocks
    check_pair(a, b, where=str(path))
    return a, b.rechunk({0: a.chunks[0]})


def as_row_chunked(a: Any, b: Any | None = None, *, chunk_rows: int | None = None
                   ) -> tuple[da.Array, da.Array | None]:
    """Turn numpy arrays, dask arrays or a Zarr path into row-chunked dask arrays.

    A path (str or PathLike) is opened with :func:`dask_coded.open_dataset`; then ``b`` must be
    None and the store's ``b`` is returned.
    """
    if isinstance(a, (str, os.PathLike)):
        if b is not None:
            raise InputError("pass either a dataset path or arrays A and b, not both")
        return open_dataset(a)
    if not hasattr(a, "ndim") or not hasattr(a, "dtype"):
        try:
            a = np.asarray(a)
        except Exception:
            raise InputError(f"A must be an array or a dataset path, "
                             f"got {type(a).__name__}") from None
    if b is not None and not hasattr(b, "ndim"):
        try:
            b = np.asarray(b)
        except Exception:
            raise InputError(f"b must be an array, got {type(b).__name__}") from None
    check_pair(a, b)
    if not isinstance(a, da.Array):
        if chunk_rows is None:
            chunk_rows = max(a.shape[1], DEFAULT_CHUNK_BYTES // (8 * a.shape[1]))
        a = da.from_array(np.asarray(a), chunks=(chunk_rows, -1))
    elif a.chunks[1] != (a.shape[1],):
        a = a.rechunk({1: -1})
    if b is not None:
        b = da.asarray(b).rechunk({0: a.chunks[0]}) if isinstance(b, da.Array) else \
            da.from_array(np.asarray(b), chunks=(a.chunks[0],))
    return a, b


# ------------------------------------------------------------------------------- matrices
# A matrix of a product ``C = A B`` is a bare 2-D Zarr array (not a group).


def _open_array(path: str | os.PathLike, name: str = "matrix") -> zarr.Array:
    p = _as_path(path, f"the path of {name}")
    if not p.exists():
        raise InputError(f"no {name} at {p}: the path does not exist")
    try:
        arr = zarr.open_array(str(p.resolve()), mode="r")  # absolute: see _open_group
    except Exception as exc:  # zarr raises several types for "not an array"
        raise InputError(f"{name} at {p} is not a readable Zarr array "
                         f"({type(exc).__name__})") from None
    if len(arr.shape) != 2:
        raise InputError(f"{name} at {p} must be 2-D, got shape {tuple(arr.shape)}")
    dtype = np.dtype(arr.dtype)
    if dtype.kind != "f":
        raise InputError(f"{name} at {p} has dtype {dtype}; only real floating point is "
                         "supported")
    if 0 in arr.shape:
        raise InputError(f"{name} at {p} is empty (shape {tuple(arr.shape)})")
    _check_complete(arr, f"{name} at {p}")
    return arr


def open_matrix(path: str | os.PathLike, name: str = "matrix") -> da.Array:
    """A stored 2-D real floating-point Zarr array as a lazy dask array (nothing read yet)."""
    return da.from_zarr(_open_array(path, name))


def matrix_info(path: str | os.PathLike, name: str = "matrix") -> tuple[tuple[int, int], str]:
    """``(shape, dtype)`` of a stored matrix, validated as :func:`open_matrix` does."""
    arr = _open_array(path, name)
    return (int(arr.shape[0]), int(arr.shape[1])), str(np.dtype(arr.dtype))


@functools.lru_cache(maxsize=8)
def _cached_array(path: str, stamp: int) -> zarr.Array:
    return zarr.open_array(path, mode="r")


def read_block(path: str | os.PathLike, rows: tuple[int, int], cols: tuple[int, int]
               ) -> np.ndarray:
    """``M[rows[0]:rows[1], cols[0]:cols[1]]`` of a stored matrix, read by the calling process.

    Workers call this to build their servers' encoded blocks straight from the store; the
    opened array is cached per process.
    """
    meta = Path(path) / "zarr.json"
    stamp = meta.stat().st_mtime_ns if meta.exists() else 0  # a rewritten store is reopened
    arr = _cached_array(str(path), stamp)
    return np.asarray(arr[rows[0]:rows[1], cols[0]:cols[1]])


def write_matrix(path: str | os.PathLike, data: np.ndarray, *,
                 chunks: tuple[int, int] | None = None, overwrite: bool = False) -> None:
    """Write a 2-D array to a new Zarr array at ``path``, atomically (aside, then renamed)."""
    with atomic_matrix(path, data.shape, str(data.dtype), chunks=chunks,
                       overwrite=overwrite) as arr:
        arr[...] = data


@contextlib.contextmanager
def atomic_matrix(path: str | os.PathLike, shape: tuple[int, int], dtype: str = "float64", *,
                  chunks: tuple[int, int] | None = None, overwrite: bool = False
                  ) -> Iterator[zarr.Array]:
    """Create a 2-D Zarr array in a hidden sibling folder; rename it to ``path`` on success.

    The caller writes tiles into the yielded array. On error nothing is left behind (the
    temporary folder is removed and ``path`` is untouched).
    """
    path = _check_target(path, overwrite)
    parent = writable_parent(path)
    tmp = parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    if chunks is None:
        chunks = (min(shape[0], 1024), min(shape[1], 1024))
    try:
        yield zarr.create_array(str(tmp), shape=tuple(shape), chunks=tuple(chunks),
                                dtype=dtype, config=_ALL_CHUNKS)
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def open_written_matrix(path: str | os.PathLike) -> zarr.Array:
    """A matrix written by :func:`atomic_matrix`, opened read-only."""
    return _open_array(path)


def matrix_attrs(path: str | os.PathLike) -> dict:
    """The attributes of a stored matrix (its generator parameters, when generated)."""
    return dict(_open_array(path).attrs)


def generate_matrix(path: str | os.PathLike, n: int, seed: int, *, chunk_rows: int = 1024,
                    overwrite: bool = False) -> None:
    """Write a seeded random ``n x n`` test matrix (N(0, 1/n) entries) to a Zarr array.

    Written chunk by chunk (rows ``[i c, (i+1) c)`` from the stream ``(seed, i)``), aside and
    renamed into place; the generator parameters go in the array's attributes.
    """
    with atomic_matrix(path, (n, n), "float64", chunks=(min(n, chunk_rows), n),
                       overwrite=overwrite) as arr:
        for i, start in enumerate(range(0, n, chunk_rows)):
            stop = min(start + chunk_rows, n)
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
            arr[start:stop] = rng.standard_normal((stop - start, n)) / np.sqrt(n)
        arr.attrs.update({"dask_coded": {"generator": {"n": int(n), "seed": int(seed),
                                                       "chunk_rows": int(chunk_rows)}}})
