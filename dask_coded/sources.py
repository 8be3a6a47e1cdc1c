"""Where a server's block comes from: a store, an in-memory array, or a dask array.

Each source yields picklable loader calls ``(function, args)`` that the coded executor runs on
a worker to build that server's encoded block (GC eq. 23-24). Because the loader is the task, a
block lost with its worker is rebuilt elsewhere from the same source.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .kernels.blocks import BlockLayout
from .kernels.gradients import EncodedBlock, encode_block


def _from_store(path: os.PathLike, block: int, start: int, stop: int, weight: float
                ) -> EncodedBlock:
    from .io import read_rows

    a, b = read_rows(path, start, stop)
    return encode_block(block, a, b, weight)


def _from_arrays(block: int, a: np.ndarray, b: np.ndarray, weight: float) -> EncodedBlock:
    return encode_block(block, a, b, weight)


def _from_dask(block: int, a, b, weight: float) -> EncodedBlock:
    import dask

    a_np, b_np = dask.compute(a, b, scheduler="sync")  # on the worker, from the slice's graph
    return encode_block(block, a_np, b_np, weight)


def _rows_from_store(path: os.PathLike, start: int, stop: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    from .io import read_rows

    return read_rows(path, start, stop)


def _rows_from_arrays(a: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, Any]:
    return a, b


def _rows_from_dask(a, b) -> tuple[np.ndarray, Any]:
    import dask

    return dask.compute(a, b, scheduler="sync")  # on the worker, from the slice's graph


def _rows_from_resident(data: EncodedBlock, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    return data.a[lo:hi], data.b[lo:hi]


class ResidentRows:
    """The rows of blocks already on the workers, as :meth:`BlockSource.rows_loader` calls.

    A setup pass over data the coded servers will hold anyway reads the store once for
    both: the pass runs on the resident blocks (weight 1), where they are, and placement
    copies them into the servers' replicas.

    Parameters
    ----------
    layout : BlockLayout
    futures : dict
        Block index -> a future of that block's :class:`EncodedBlock` of weight 1.
    holders : dict, optional
        Block index -> the worker holding it (for :meth:`groups`).
    """

    def __init__(self, layout: BlockLayout, futures: dict[int, Any],
                 holders: dict[int, Any] | None = None):
        self.layout = layout
        self.futures = dict(futures)
        self.holders = dict(holders or {})

    def ranges(self) -> list[tuple[int, int]]:
        """The row range of every resident block, in block order."""
        return [self.layout.block_range(i) for i in sorted(self.futures)]

    def groups(self) -> list[list[tuple[int, int]]]:
        """The row ranges grouped by the worker holding them (one group per block whose
        holder is unknown), in block order within a group."""
        by_holder: dict[Any, list[tuple[int, int]]] = {}
        for i in sorted(self.futures):
            key = self.holders.get(i, ("block", i))
            by_holder.setdefault(key, []).append(self.layout.block_range(i))
        return list(by_holder.values())

    def rows_loader(self, start: int, stop: int) -> tuple:
        block = self.layout.block_of(start)
        first, last = self.layout.block_range(block)
        if stop > last:
            raise ValueError(f"rows {start}:{stop} cross the end of block {block}")
        return _rows_from_resident, (self.futures[block], start - first, stop - first)


class BlockSource:
    """Row blocks of (A, b) as loader calls for the executor.

    Parameters
    ----------
    A, b : path, numpy arrays or dask arrays
        A store path (with ``b=None``; a :class:`~dask_coded.io.DatasetPath` names its
        arrays), or the arrays themselves.
    layout : BlockLayout
    """

    def __init__(self, A: Any, b: Any, layout: BlockLayout):
        self.layout = layout
        if isinstance(A, (str, os.PathLike)):
            from .io import dataset_path

            # absolute: a worker's current folder is not the client's; a DatasetPath, so the
            # array names travel with every worker's read
            self.kind, self.path = "store", dataset_path(A).absolute()
        elif isinstance(A, np.ndarray):
            self.kind = "numpy"
        else:
            self.kind = "dask"
        self.A, self.b = A, b

    @classmethod
    def create(cls, A: Any, b: Any, a, b_arr, layout: BlockLayout) -> BlockSource:
        """The cheapest source for what the user passed.

        A store path is read by the workers themselves; in-memory numpy arrays are sliced
        (each slice travels with its task); anything else goes by its dask arrays ``a``,
        ``b_arr`` (as :func:`~dask_coded.io.as_row_chunked` made them).
        """
        if isinstance(A, (str, os.PathLike)):
            return cls(A, None, layout)
        if isinstance(A, np.ndarray) and (b is None or isinstance(b, np.ndarray)):
            return cls(A, b, layout)
        return cls(a, b_arr, layout)

    def rows_loader(self, start: int, stop: int) -> tuple:
        """``(function, args)`` returning the raw rows ``(A[start:stop], b[start:stop])``.

        Rerunnable on any worker that can read the source, which is what lets a late read be
        duplicated (a backup task) instead of waited for. ``b`` may come back None for an
        in-memory A given without b.
        """
        if self.kind == "store":
            return _rows_from_store, (self.path, start, stop)
        b = None if self.b is None else self.b[start:stop]
        if self.kind == "numpy":
            return _rows_from_arrays, (self.A[start:stop], b)
        return _rows_from_dask, (self.A[start:stop], b)

    def loader(self, block: int, weight: float) -> tuple:
        """``(function, args)`` building ``weight * (A_block, b_block)`` on a worker."""
        start, stop = self.layout.block_range(block)
        if self.kind == "store":
            return _from_store, (self.path, block, start, stop, weight)
        if self.kind == "numpy":
            return _from_arrays, (block, self.A[start:stop], self.b[start:stop], weight)
        return _from_dask, (block, self.A[start:stop], self.b[start:stop], weight)
