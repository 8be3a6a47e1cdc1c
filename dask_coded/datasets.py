"""Dataset generators: synthetic (A, b) written to Zarr chunk by chunk.

The chunks come from :mod:`dask_coded.kernels.datagen`; :mod:`dask_coded.io` writes them. At
most one chunk of A (``chunk_rows * n_cols`` values) is in memory at a time.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

from .errors import InputError
from .io import atomic_group
from .kernels.datagen import DatasetSpec, coefficients, generate_chunk, mixing_matrix

FORMAT_VERSION = 1


def make_spec(**params) -> DatasetSpec:
    """A validated :class:`DatasetSpec` from keyword parameters (unknown names are errors)."""
    known = {f.name for f in fields(DatasetSpec)} - {"extra"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(f"unknown dataset parameter(s): {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")
    return DatasetSpec(**params).validate()


def make_dataset(path: str | os.PathLike, *, overwrite: bool = False, progress: bool = False,
                 **params) -> Path:
    """Generate a synthetic regression dataset into a Zarr store.

    Parameters
    ----------
    path : path-like
        Where the store goes; written aside and renamed into place when complete.
    overwrite : bool
        Replace an existing store.
    progress : bool
        Show a progress bar over chunks.
    **params
        Fields of :class:`~dask_coded.kernels.datagen.DatasetSpec`: ``kind`` ("gaussian",
        "student-t", "coherent"), ``n_rows``, ``n_cols``, ``chunk_rows``, ``seed``, ``noise``,
        ``condition``, ``df``, ``coherence``, ``hot_fraction``, ``n_hot``, ``dtype``.

    Returns
    -------
    Path
        The store's path.

    Notes
    -----
    Memory: one chunk of A and b, ``chunk_rows * (n_cols + 1)`` values, plus the d x d mixing
    matrix. Disk: about ``n_rows * n_cols * 8`` bytes for float64 (random data barely
    compresses).
    """
    spec = make_spec(**params)
    x0 = coefficients(spec)
    mixing = mixing_matrix(spec)
    with atomic_group(path, overwrite=overwrite) as out:
        out.create("A", (spec.n_rows, spec.n_cols), (spec.chunk_rows, spec.n_cols), spec.dtype)
        out.create("b", (spec.n_rows,), (spec.chunk_rows,), spec.dtype)
        out.create("x0", (spec.n_cols,), (spec.n_cols,), "float64")
        out.write("x0", 0, x0)
        chunks = range(spec.n_chunks)
        if progress:
            # imported only for a bar: tqdm.auto warns "IProgress not found" when imported in
            # a Jupyter kernel without ipywidgets, and this module is imported by dask_coded's
            from tqdm.auto import tqdm

            chunks = tqdm(chunks, desc="make-dataset", unit="chunk")
        for chunk in chunks:
            a, b = generate_chunk(spec, chunk, mixing=mixing, x0=x0)
            out.write("A", chunk * spec.chunk_rows, a)
            out.write("b", chunk * spec.chunk_rows, b)
        out.set_attrs({"dask_coded": {"format": FORMAT_VERSION, "generator": spec.to_attrs(),
                                      "x0": x0.tolist()}})
    return Path(path)
