"""Row blocks of a tall matrix (GC eq. 1) and their padding (footnote 1).

Pure numpy; no dask. A tall ``A`` with N rows is cut into K consecutive blocks that differ by
at most one row (GC Section II: "no submatrix differs from another by more than one row"):
the first ``N mod K`` blocks have ``tau = ceil(N / K)`` rows, the others ``floor(N / K)``.
Where the paper assumes blocks of one size tau, a short block counts as padded with one zero
row: a zero row adds nothing to ``A^T A`` or ``A^T b``, so the least-squares solution and the
scores of the real rows do not change. (Cutting every block at ``tau`` rows and padding only
at the end, as this module did before, leaves whole blocks of padding: N = 101 and K = 50
gave 16 of them, so K was 34 in effect.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import checks


@dataclass(frozen=True)
class BlockLayout:
    """How ``n_rows`` rows are split into ``n_blocks`` blocks of near-equal size (eq. 1).

    Attributes
    ----------
    n_rows : int
        Real rows N of the data.
    n_blocks : int
        Number of blocks K.
    block_rows : int
        Rows of the largest block, tau = ceil(N / K); the first ``N mod K`` blocks have
        tau rows, the rest ``floor(N / K)``.
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
        return cls(n_rows=n_rows, n_blocks=n_blocks, block_rows=-(-n_rows // n_blocks))

    @property
    def short_rows(self) -> int:
        """Rows of a short block, ``floor(N / K)`` (>= 1: K <= N)."""
        return self.n_rows // self.n_blocks

    @property
    def long_blocks(self) -> int:
        """Blocks with tau rows, ``N mod K`` (all K when K divides N)."""
        extra = self.n_rows % self.n_blocks
        return extra if extra else self.n_blocks

    @property
    def padded_rows(self) -> int:
        """Rows with every short block padded by one zero row, K * tau (footnote 1)."""
        return self.n_blocks * self.block_rows

    @property
    def padding(self) -> int:
        """Zero rows that padding adds: one per short block, at most K - 1."""
        return self.padded_rows - self.n_rows

    def block_start(self, block: int) -> int:
        """First row of a block."""
        return block * self.short_rows + min(block, self.n_rows % self.n_blocks)

    def block_range(self, block: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of a block."""
        return self.block_start(block), self.block_start(block + 1)

    def block_of(self, rows):
        """The block holding each row (an int for an int, an int array for an array)."""
        rows = np.asarray(rows, dtype=np.int64)
        split = (self.n_rows % self.n_blocks) * self.block_rows  # rows of the long blocks
        out = np.where(rows < split, rows // self.block_rows,
                       self.n_rows % self.n_blocks + (rows - split) // self.short_rows)
        return int(out) if out.ndim == 0 else out

    def starts(self) -> np.ndarray:
        """First row of every block, and N at the end (K + 1 entries)."""
        k = np.arange(self.n_blocks + 1)
        return k * self.short_rows + np.minimum(k, self.n_rows % self.n_blocks)

    def real_rows_per_block(self) -> np.ndarray:
        """Rows in each block (tau or tau - 1; never 0)."""
        return np.diff(self.starts())


def segments(offset: int, n_rows: int, layout: BlockLayout) -> list[tuple[int, int, int]]:
    """Split the rows ``[offset, offset + n_rows)`` of a chunk at block boundaries.

    Parameters
    ----------
    offset : int
        Global index of the chunk's first row.
    n_rows : int
        Rows in the chunk.
    layout : BlockLayout
        The blocks.

    Returns
    -------
    list of (block, start, stop)
        One entry per block the chunk touches, with ``start``/``stop`` local to the chunk.
    """
    out = []
    start = 0
    while start < n_rows:
        block = layout.block_of(offset + start)
        stop = min(n_rows, layout.block_start(block + 1) - offset)
        out.append((block, start, stop))
        start = stop
    return out


def pad_rows(a: np.ndarray, n_blocks: int) -> np.ndarray:
    """``a`` with one zero row after each short block, so that its K blocks of tau rows are
    ``reshape(K, tau, ...)`` (footnote 1)."""
    layout = BlockLayout.create(a.shape[0], n_blocks)
    if layout.padding == 0:
        return a
    out = np.zeros((layout.padded_rows, *a.shape[1:]), dtype=a.dtype)
    for i, (lo, hi) in enumerate(map(layout.block_range, range(n_blocks))):
        out[i * layout.block_rows:i * layout.block_rows + hi - lo] = a[lo:hi]
    return out


def chunk_aligned_blocks(chunk_rows: tuple[int, ...], target: int = 100) -> int | None:
    """The largest block count K up to ``target`` whose blocks are whole chunks.

    Blocks (eq. 1) are unions of whole chunks when every block starts where a chunk starts
    (K divides the chunk count, and the short blocks' missing row is the last chunk's
    shortfall or none). Then nothing that reads by
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
        starts = BlockLayout.create(n_rows, k).starts()
        bounds = np.cumsum((0, *chunk_rows))
        return bool(np.isin(starts, bounds).all())  # block starts: chunk starts

    best = None
    for k in range(1, min(target, n_rows) + 1):
        if c % k == 0 and aligned(k):
            best = k
    return best
