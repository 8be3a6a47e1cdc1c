"""Where a server's block comes from: a store, an in-memory array, or a dask array.

Each source yields picklable loader calls ``(function, args)`` that the coded executor runs on
a worker to build that server's encoded block (eq. 23-24). Because the loader is the task, a
block lost with its worker is rebuilt elsewhere from the same source.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .kernels.blocks import BlockLayout
from .kernels.gradients import EncodedBlock, encode_block


def _from_store(path: str, block: int, start: int, stop: int, weight: float) -> EncodedBlock:
    from .io import read_rows

    a, b = read_rows(path, start, stop)
    return encode_block(block, a, b, weight)


def _from_arrays(block: int, a: np.ndarray, b: np.ndarray, weight: float) -> EncodedBlock:
    return encode_block(block, a, b, weight)


def _from_dask(block: int, a, b, weight: float) -> EncodedBlock:
    import dask

    a_np, b_np = dask.compute(a, b, scheduler="sync")  # on the worker, from the slice's graph
    return encode_block(block, a_np, b_np, weight)


class BlockSource:
    """Row blocks of (A, b) as loader calls for the executor.

    Parameters
    ----------
    A, b : path, numpy arrays or dask arrays
        A store path (with ``b=None``), or the arrays themselves.
    layout : BlockLayout
    """

    def __init__(self, A: Any, b: Any, layout: BlockLayout):
        self.layout = layout
        if isinstance(A, (str, os.PathLike)):
            # absolute: a worker's current folder is not the client's
            self.kind, self.path = "store", os.path.abspath(A)
        elif isinstance(A, np.ndarray):
            self.kind = "numpy"
        else:
            self.kind = "dask"
        self.A, self.b = A, b

    def loader(self, block: int, weight: float) -> tuple:
        """``(function, args)`` building ``weight * (A_block, b_block)`` on a worker."""
        start, stop = self.layout.block_range(block)
        if self.kind == "store":
            return _from_store, (self.path, block, start, stop, weight)
        if self.kind == "numpy":
            return _from_arrays, (block, self.A[start:stop], self.b[start:stop], weight)
        return _from_dask, (block, self.A[start:stop], self.b[start:stop], weight)
