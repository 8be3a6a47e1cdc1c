"""Row blocks of a tall matrix (GC eq. 1) and their padding (footnote 1).

Pure numpy; no dask. A tall ``A`` with ``n_rows`` rows is cut into ``n_blocks`` blocks of
``tau = ceil(n_rows / n_blocks)`` rows. When ``n_blocks`` does not divide ``n_rows`` the last
rows are padded with zeros up to ``n_blocks * tau``: a zero row adds nothing to ``A^T A`` or
``A^T b``, so the least-squares solution and the scores of the real rows do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import checks


@dataclass(frozen=True)
class BlockLayout:
    """How ``n_rows`` rows are split into ``n_blocks`` blocks of ``block_rows`` rows (eq. 1).

    Attributes
    ----------
    n_rows : int
        Real rows N of the data.
    n_blocks : int
        Number of blocks K.
    block_rows : int
        Rows per block, tau = ceil(N / K).
    """

    n_rows: int
    n_blocks: int
    block_rows: int

    @classmethod
    def create(cls, n_rows: int, n_blocks: int) -> BlockLayout:
        """Validate ``n_blocks`` against ``n_rows`` and build the layout."""
        n_blocks = checks.integer("n_blocks", n_blocks)
        if n_blocks < 1 or n_blocks > n_rows:
            raise InputError(f"n_blocks must be between 1 and the number of rows {n_rows}, "
                             f"got {n_blocks}")
        block_rows = -(-n_rows // n_blocks)  # ceil: footnote 1 pads the remainder with zeros
        return cls(n_rows=n_rows, n_blocks=n_blocks, block_rows=block_rows)

    @property
    def padded_rows(self) -> int:
        """Rows after zero padding, K * tau (footnote 1)."""
        return self.n_blocks * self.block_rows

    @property
    def padding(self) -> int:
        """Number of zero rows appended."""
        return self.padded_rows - self.n_rows

    def block_range(self, block: int) -> tuple[int, int]:
        """Real rows ``[start, stop)`` of a block; padding rows are excluded."""
        start = block * self.block_rows
        return min(start, self.n_rows), min(start + self.block_rows, self.n_rows)

    def real_rows_per_block(self) -> np.ndarray:
        """Number of real (non-padding) rows in each block."""
        starts = np.arange(self.n_blocks) * self.block_rows
        return np.clip(self.n_rows - starts, 0, self.block_rows)


def segments(offset: int, n_rows: int, block_rows: int) -> list[tuple[int, int, int]]:
    """Split the rows ``[offset, offset + n_rows)`` of a chunk at block boundaries.

    Parameters
    ----------
    offset : int
        Global index of the chunk's first row.
    n_rows : int
        Rows in the chunk.
    block_rows : int
        Rows per block (tau).

    Returns
    -------
    list of (block, start, stop)
        One entry per block the chunk touches, with ``start``/``stop`` local to the chunk.
    """
    out = []
    start = 0
    while start < n_rows:
        block = (offset + start) // block_rows
        stop = min(n_rows, (block + 1) * block_rows - offset)
        out.append((block, start, stop))
        start = stop
    return out


def pad_rows(a: np.ndarray, n_blocks: int) -> np.ndarray:
    """Append zero rows to ``a`` so that ``n_blocks`` divides its row count (footnote 1)."""
    layout = BlockLayout.create(a.shape[0], n_blocks)
    if layout.padding == 0:
        return a
    pad = np.zeros((layout.padding, *a.shape[1:]), dtype=a.dtype)
    return np.concatenate([a, pad], axis=0)


def chunk_aligned_blocks(chunk_rows: tuple[int, ...], target: int = 100) -> int | None:
    """The largest block count K up to ``target`` whose blocks are whole chunks.

    Blocks of ``tau = ceil(N / K)`` rows (eq. 1) are unions of whole chunks when K divides
    the chunk count and ``tau`` is a multiple of the chunk size. Then nothing that reads by
    block (the placement of the servers' data) decodes a chunk twice: a block smaller than
    a chunk decodes its whole chunk, once per block, and one that straddles chunks decodes
    both.

    Parameters
    ----------
    chunk_rows : tuple of int
        Rows of each chunk, in order (all equal but possibly the last).
    target : int
        Largest K wanted.

    Returns
    -------
    int or None
        None when no K up to ``target`` aligns (irregular chunks).
    """
    n_rows = int(sum(chunk_rows))
    c = len(chunk_rows)
    size = int(chunk_rows[0])
    if c > 1 and (len(set(chunk_rows[:-1])) > 1 or chunk_rows[-1] > size):
        return None

    def aligned(k: int) -> bool:
        tau = -(-n_rows // k)
        starts = np.arange(k) * tau
        bounds = np.cumsum((0, *chunk_rows))
        return bool(np.isin(starts[starts < n_rows], bounds).all())  # block starts: chunk starts

    best = None
    for k in range(1, min(target, n_rows) + 1):
        if c % k == 0 and aligned(k):
            best = k
    return best
