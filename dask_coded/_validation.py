"""Validation shared by the public API: one clear InputError per mistake."""

from __future__ import annotations

import os
from typing import Any

import dask.array as da
import numpy as np

from .errors import InputError

#: Row chunk used when a numpy array is wrapped as a dask array (about 64 MiB at d=100).
DEFAULT_CHUNK_BYTES = 64 * 2**20


def check_dtype(x: Any, name: str) -> None:
    """Raise unless ``x`` has a real floating-point dtype."""
    dtype = np.dtype(x.dtype)
    if dtype.kind == "c":
        raise InputError(f"{name} has complex dtype {dtype}; only real floating point is supported")
    if dtype.kind != "f":
        raise InputError(f"{name} has dtype {dtype}; convert it to float64 (or float32) first")


def check_pair(a: Any, b: Any | None, where: str = "") -> None:
    """Shape and dtype checks of a tall matrix ``a`` and optional right-hand side ``b``."""
    suffix = f" in {where}" if where else ""
    if a.ndim != 2:
        raise InputError(f"A must be 2-D, got {a.ndim}-D shape {tuple(a.shape)}{suffix}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"A is empty (shape {tuple(a.shape)}){suffix}")
    check_dtype(a, "A")
    if b is not None:
        if b.ndim != 1:
            raise InputError(f"b must be 1-D, got shape {tuple(b.shape)}{suffix}")
        if b.shape[0] != a.shape[0]:
            raise InputError(f"A and b have different numbers of rows: {a.shape[0]} and "
                             f"{b.shape[0]}{suffix}")
        check_dtype(b, "b")


def as_row_chunked(a: Any, b: Any | None = None, *, chunk_rows: int | None = None
                   ) -> tuple[da.Array, da.Array | None]:
    """Turn numpy arrays, dask arrays or a Zarr path into row-chunked dask arrays.

    A path (str or PathLike) is opened with :func:`dask_coded.open_dataset`; then ``b`` must be
    None and the store's ``b`` is returned.
    """
    if isinstance(a, (str, os.PathLike)):
        if b is not None:
            raise InputError("pass either a dataset path or arrays A and b, not both")
        from .io import open_dataset

        return open_dataset(a)
    if not hasattr(a, "ndim") or not hasattr(a, "dtype"):
        try:
            a = np.asarray(a)
        except Exception:
            raise InputError(f"A must be an array or a dataset path, "
                             f"got {type(a).__name__}") from None
    if b is not None and not hasattr(b, "ndim"):
        b = np.asarray(b)
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
