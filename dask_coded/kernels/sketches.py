"""Data-oblivious sketches that mix all N rows, computed block by block (GC Section II, IV).

Pure numpy; no dask. The baselines the gradient-coding paper compares block leverage score
sampling with are sketches ``S`` (``r x N``) of the whole of A: a Gaussian projection
``S = Theta / sqrt(r)`` (Section II, i), a Rademacher one (Section IV), and the block-SRHT
(Section II, iii; Appendix C): a random-sign, Hadamard-mixed A whose blocks of rows are then
sampled uniformly. None of them is block-diagonal: every sketched row mixes rows of every block.

They are computed where the blocks are. ``S`` splits by columns into the blocks' pieces,
``S = [S_1, ..., S_K]``, so ``S M = sum_i S_i M_i`` for any ``M`` with the rows of A: each
server returns its *share* ``S_i M_i`` (:func:`share`) and the shares add up; the adjoint
``S^T s`` restricted to block i is ``S_i^T s`` (:func:`adjoint`). A server generates its own
``S_i`` from ``(seed, round, block)``, so nothing of size N ever travels.

* Gaussian / Rademacher: ``S_i`` is ``r x n_i`` of i.i.d. ``N(0, 1/r)`` or ``+-1/sqrt(r)``
  entries, drawn in column panels (:data:`PANEL_COLUMNS`): ``O(r n_i)`` random numbers and
  flops per server and round (``O(r N)`` in all: these are baselines for moderate N, as in
  the paper's experiments).
* Block-SRHT: pad every block to ``t = 2^ceil(log2 tau)`` rows and K to ``K' = 2^ceil(log2 K)``
  blocks, so ``N' = K' t`` and the Walsh-Hadamard matrix factors as ``H_{N'} = H_{K'} (x)
  H_t`` (Sylvester). Then block j of ``H_{N'} D r`` is ``sum_i H_{K'}[j, i] H_t D_i r_i``: each
  server transforms its own block (an FWHT of t rows, ``O(t log t)``) and the block-sign
  matrix ``H_{K'}[j, i] = (-1)^popcount(j & i)`` mixes the blocks. ``S = sqrt(K'/q) P_J
  H_{N'} D / sqrt(N')`` samples q of the K' transformed blocks uniformly with replacement
  (``J``), so ``E[S^T S] = I`` (the block-SRHT of GC Theorem 5 / Proposition 5). Server i's
  share of block ``j`` of ``S r`` is ``H_{K'}[j, i] FWHT(D_i r_i) / sqrt(q)`` (FWHT
  orthonormal: the scalars ``sqrt(K' t / (q N'))`` make 1/sqrt(q)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .gradients import EncodedBlock, fwht

#: The mixing sketches, by the name their methods carry.
KINDS = ("gaussian", "rademacher", "srht")

#: Columns of a Gaussian or Rademacher ``S_i`` drawn at a time: memory ``8 r`` bytes per
#: column, 160 MiB for r = 5000.
PANEL_COLUMNS = 4096


def _pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


@dataclass(frozen=True)
class Sketch:
    """One draw of a mixing sketch ``S`` of ``rows`` rows over N rows in K blocks.

    Small and picklable: it is the parameter every server receives, and each generates its
    own piece ``S_i`` from it.

    Attributes
    ----------
    kind : {"gaussian", "rademacher", "srht"}
    rows : int
        r, the sketch's rows (for srht ``q t``: q sampled blocks of t rows).
    seed, round_id : int
        Which draw (a fresh sketch per iteration: iterative sketching).
    n_blocks : int
        K.
    block_rows : int
        tau, the largest block's rows.
    """

    kind: str
    rows: int
    seed: int
    round_id: int
    n_blocks: int
    block_rows: int

    @classmethod
    def create(cls, kind: str, rows: int, seed: int, round_id: int, n_blocks: int,
               block_rows: int) -> Sketch:
        """Validate; for srht round ``rows`` up to whole blocks of ``t`` rows."""
        if kind not in KINDS:
            raise InputError(f"unknown sketch {kind!r}; choose one of {', '.join(KINDS)}")
        if rows < 1:
            raise InputError(f"a sketch needs at least one row, got {rows}")
        if kind == "srht":
            t = _pow2(block_rows)
            rows = t * max(1, -(-rows // t))
        return cls(kind, int(rows), int(seed), int(round_id), int(n_blocks), int(block_rows))

    @property
    def padded_block_rows(self) -> int:
        """t: tau up to a power of two (srht)."""
        return _pow2(self.block_rows)

    @property
    def sampled_blocks(self) -> np.ndarray:
        """J: the q transformed blocks of ``H_{N'} D A`` the srht keeps, uniform from K',
        with replacement; the same on every server (a function of seed and round)."""
        q = self.rows // self.padded_block_rows
        rng = np.random.default_rng([self.seed, 5, self.round_id])
        return rng.integers(0, _pow2(self.n_blocks), size=q)

    def _panels(self, block: int, n: int):
        """``S_i`` of a Gaussian or Rademacher sketch, as ``(start, stop, panel)`` for column
        panels of :data:`PANEL_COLUMNS`: a block's ``r x n_i`` piece is never whole in
        memory (5000 x 100000 doubles would be 4 GB), and each panel is drawn from its own
        stream, so share and adjoint see the same S."""
        for k, start in enumerate(range(0, n, PANEL_COLUMNS)):
            stop = min(n, start + PANEL_COLUMNS)
            rng = np.random.default_rng([self.seed, 4, self.round_id, block, k])
            if self.kind == "gaussian":
                panel = rng.standard_normal((self.rows, stop - start))
            else:
                bits = rng.integers(0, 2, size=(self.rows, stop - start), dtype=np.int8)
                panel = bits * 2.0 - 1.0
            yield start, stop, panel / np.sqrt(self.rows)

    def _signs(self, block: int) -> np.ndarray:
        """D_i, the block's t random signs (srht; the padding rows' signs are unused)."""
        rng = np.random.default_rng([self.seed, 6, self.round_id, block])
        return rng.integers(0, 2, size=self.padded_block_rows) * 2.0 - 1.0

    def _block_signs(self, block: int) -> np.ndarray:
        """``H_{K'}[j, i]`` for the sampled j: ``(-1)^popcount(j & i)``."""
        return 1.0 - 2.0 * (np.bitwise_count(self.sampled_blocks & block) % 2)

    def share(self, block: int, m: np.ndarray) -> np.ndarray:
        """``S_i M_i`` for block i's rows ``M_i`` (``n_i`` rows, any trailing shape)."""
        m = np.asarray(m, dtype=np.float64)
        n = m.shape[0]
        if self.kind != "srht":
            out = np.zeros((self.rows, *m.shape[1:]))
            for start, stop, panel in self._panels(block, n):
                out += panel @ m[start:stop]
            return out
        t = self.padded_block_rows
        if n > t:
            raise InputError(f"block {block} has {n} rows, more than the sketch's {t}")
        padded = np.zeros((t, *m.shape[1:]))
        padded[:n] = m
        padded *= self._signs(block).reshape(-1, *([1] * (m.ndim - 1)))
        mixed = fwht(padded) / np.sqrt(len(self.sampled_blocks))
        signs = self._block_signs(block)
        # one t-row slab per sampled block j, signed by H_{K'}[j, i]
        out = signs.reshape(-1, *([1] * m.ndim)) * mixed[None]
        return out.reshape(self.rows, *m.shape[1:])

    def adjoint(self, block: int, s: np.ndarray, n: int) -> np.ndarray:
        """``S_i^T s``: block i's rows of ``S^T s`` (``n`` of them) for ``s`` of ``rows``."""
        s = np.asarray(s, dtype=np.float64)
        if self.kind != "srht":
            out = np.empty((n, *s.shape[1:]))
            for start, stop, panel in self._panels(block, n):
                out[start:stop] = panel.T @ s
            return out
        t = self.padded_block_rows
        slabs = s.reshape(-1, t, *s.shape[1:])
        signs = self._block_signs(block).reshape(-1, *([1] * (slabs.ndim - 1)))
        mixed = (signs * slabs).sum(axis=0) / np.sqrt(len(self.sampled_blocks))
        # H_t is symmetric and orthonormal (FWHT), so its transpose is itself
        back = fwht(mixed) * self._signs(block).reshape(-1, *([1] * (mixed.ndim - 1)))
        return back[:n]


# ------------------------------------------------------------------------- server kernels


def residual_share(data: EncodedBlock, param: tuple) -> np.ndarray:
    """A server's share ``S_i (A_i x - b_i)`` of ``S (A x - b)``; ``param = (x, sketch,
    with_b)`` (``with_b=False``: ``S_i A_i v``, a variance-reduced round's difference)."""
    x, sketch, with_b = param
    r = data.a @ x
    if with_b:
        r = r - data.b
    return sketch.share(data.block, r)


def adjoint_gradient(data: EncodedBlock, param: tuple) -> np.ndarray:
    """A server's term ``2 A_i^T S_i^T s`` of the sketched gradient ``2 A^T S^T S (A x - b)``
    for ``s = S (A x - b)``; ``param = (s, sketch)``."""
    s, sketch = param
    return 2.0 * (data.a.T @ sketch.adjoint(data.block, s, data.a.shape[0]))


def system_share(data: EncodedBlock, sketch: Sketch) -> np.ndarray:
    """A server's share ``S_i [A_i, b_i]`` of the sketched system (sketch-and-solve)."""
    return sketch.share(data.block, np.column_stack([data.a, data.b]))
