"""Block leverage scores of a tall matrix, out of core (the GC seed's eq. 5).

The pass maps the pure kernels of :mod:`dask_coded.kernels.leverage` over the row chunks of
``A`` with ``dask.delayed`` and keeps only d x d summaries per block segment; it never holds A
whole. It runs on whatever dask scheduler is active: the distributed ``Client`` in use, or
dask's local threads when there is none.

Cost
----
``method="exact"`` reads A once and forms Gram products (about the cost of the read itself).
If the equilibrated Gram matrix is too ill-conditioned to be trusted (``cond(A)`` above about
1e3, see :data:`~dask_coded.kernels.leverage.GRAM_CONDITION_LIMIT`), A is read a second time
and each block segment is factored by Householder QR, which is accurate to ``cond(A)`` of 1e8
and beyond at 10-15x the flops. ``method="sketch"`` reads A twice (a CountSketch, then a
projected pass) with ``O(N d k)`` flops for a JL dimension ``k``; it pays off when d is large.

Memory: a worker holds one chunk of A plus ``d x d`` floats per block segment of its chunks;
the client holds a few ``d x d`` matrices and the ``K`` scores.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
from dask.delayed import Delayed, delayed

from ._validation import as_row_chunked, check_seed
from .errors import InputError
from .kernels import leverage as kern
from .kernels.blocks import BlockLayout

METHODS = ("exact", "sketch")
_FAN_IN = 8


@dataclass(frozen=True)
class LeverageResult:
    """Block leverage scores and how they were obtained.

    Attributes
    ----------
    scores : ndarray, shape (n_blocks,)
        Pi, summing to 1 (eq. 5).
    method : str
        "exact" or "sketch".
    algorithm : str
        "gram", "qr" (the stable fall-back was needed) or "countsketch".
    layout : BlockLayout
        Rows, blocks and rows per block (tau), with the padding of footnote 1.
    n_cols : int
        d.
    condition : float
        Estimated 2-norm condition number of A after column equilibration (exact method), or
        NaN.
    passes : int
        Read passes over A.
    gram : ndarray, shape (d, d) or None
        ``A^T A`` (exact method), a by-product of the same pass.
    atb, btb : ndarray (d,) and float, or None
        ``A^T b`` and ``b^T b`` when ``b`` was given, from the same pass.
    """

    scores: np.ndarray
    method: str
    algorithm: str
    layout: BlockLayout
    n_cols: int
    condition: float
    passes: int
    gram: np.ndarray | None = None
    atb: np.ndarray | None = None
    btb: float | None = None

    @property
    def sigma_max(self) -> float:
        """Largest singular value of A, from ``A^T A`` (exact method only)."""
        if self.gram is None:
            raise InputError("sigma_max needs the exact method's Gram matrix")
        return float(np.sqrt(np.linalg.eigvalsh(self.gram)[-1]))


def _offsets(chunks: tuple[int, ...]) -> list[int]:
    return [int(x) for x in np.cumsum((0, *chunks[:-1]))]


def _tree_reduce(items: list[Delayed], combine) -> Delayed:
    """Combine delayed items ``_FAN_IN`` at a time, so no task gathers every chunk's result."""
    level = list(items)
    while len(level) > 1:
        level = [delayed(combine)(level[i:i + _FAN_IN]) for i in range(0, len(level), _FAN_IN)]
    return level[0]


def _scores_pair(summary: kern.ChunkSummary, whitener: kern.Whitener):
    return summary.blocks, kern.segment_scores(summary, whitener)


def _chunk_summaries(a_chunk, b_chunk, offset: int, block_rows: int, kind: str):
    """One task per chunk, so each chunk of A is read once and released at once."""
    chunk_fn = kern.chunk_gram if kind == "gram" else kern.chunk_qr
    summary = chunk_fn(a_chunk, offset, block_rows)
    rhs = None if b_chunk is None else kern.chunk_rhs(a_chunk, b_chunk, offset, block_rows)
    return summary, kern.summary_total(summary), rhs


def _exact_pass(a, b, layout: BlockLayout, kind: str):
    """One read pass: per-segment summaries, a tree-reduced global factor, segment scores.

    Returns the scores (empty when the Gram path is not accurate enough), the whitener, the
    global factor (Gram or R) and ``(A^T b, b^T b)`` when ``b`` is given.
    """
    tau = layout.block_rows
    combine = kern.combine_gram if kind == "gram" else kern.combine_r
    whiten = kern.gram_whitener if kind == "gram" else kern.r_whitener
    a_parts = a.to_delayed()[:, 0]
    b_parts = [None] * len(a_parts) if b is None else b.to_delayed()
    outs = [delayed(_chunk_summaries, nout=3)(p, q, off, tau, kind)
            for p, q, off in zip(a_parts, b_parts, _offsets(a.chunks[0]))]
    total = _tree_reduce([o[1] for o in outs], combine)
    rhs = None if b is None else _tree_reduce([o[2] for o in outs], kern.combine_rhs)
    whitener = delayed(whiten)(total)
    pairs = [delayed(_scores_pair)(o[0], whitener) for o in outs]
    whitener_value, total_value, rhs_value, *pair_values = dask.compute(
        whitener, total, rhs, *pairs)
    if kind == "gram" and not whitener_value.condition <= kern.GRAM_CONDITION_LIMIT:
        return np.empty(0), whitener_value, total_value, rhs_value
    blocks = np.concatenate([p[0] for p in pair_values])
    scores = np.concatenate([p[1] for p in pair_values])
    return (kern.scores_to_distribution(blocks, scores, layout.n_blocks), whitener_value,
            total_value, rhs_value)


def _sketch_pass(a, layout: BlockLayout, sketch_rows: int, jl_dim: int | None,
                 seed: int) -> np.ndarray:
    """Two read passes: a CountSketch of A for R_s, then ``||A_seg R_s^{-1} Omega||_F^2``."""
    tau = layout.block_rows
    parts = a.to_delayed()[:, 0]
    offsets = _offsets(a.chunks[0])
    shares = [delayed(kern.countsketch_chunk)(p, off, sketch_rows, seed, tau)
              for p, off in zip(parts, offsets)]
    sketch = _tree_reduce(shares, kern.combine_gram)  # CountSketch shares add up
    r_sketch = delayed(kern._r_factor)(sketch)
    # Separate computes: in one graph every chunk of A would stay in memory between passes.
    projection = dask.compute(delayed(kern.sketch_projection)(r_sketch, jl_dim, seed))[0]
    pairs = dask.compute(*[delayed(kern.projected_segment_scores)(p, off, tau, projection)
                           for p, off in zip(parts, offsets)])
    blocks = np.concatenate([p[0] for p in pairs])
    scores = np.concatenate([p[1] for p in pairs])
    return kern.scores_to_distribution(blocks, scores, layout.n_blocks)


def default_sketch_rows(n_cols: int) -> int:
    """CountSketch rows: 20 d, enough for a subspace embedding with small distortion."""
    return 20 * n_cols


def default_jl_dim(n_cols: int) -> int | None:
    """JL dimension: none (exact whitening) up to d = 64, else 64."""
    return None if n_cols <= 64 else 64


def compute_block_leverage(A: Any, n_blocks: int, *, method: str = "exact",
                           algorithm: str = "auto", sketch_rows: int | None = None,
                           jl_dim: int | None = None, seed: int = 0,
                           b: Any = None) -> LeverageResult:
    """Block leverage scores with diagnostics; see :func:`block_leverage_scores`.

    Parameters
    ----------
    A : ndarray, dask array or path
        The tall matrix (N x d), or a dataset store holding it.
    n_blocks : int
        K, the number of row blocks (eq. 1); tau = ceil(N / K) rows each, zero padded.
    method : {"exact", "sketch"}
    algorithm : {"auto", "gram", "qr"}
        Exact method only: "auto" uses the Gram pass and falls back to per-block QR when the
        Gram matrix is too ill-conditioned; "gram" and "qr" force one.
    sketch_rows, jl_dim, seed
        Sketch method only: CountSketch rows (default 20 d), JL dimension (default none up to
        d = 64, else 64) and the seed of both.
    b : array, optional
        Right-hand side: the exact method then also returns ``A^T b`` and ``b^T b`` from the
        same pass (and checks b for NaN and Inf). Not with a store path: open the store with
        :func:`~dask_coded.open_dataset` and pass both arrays.
    """
    if method not in METHODS:
        raise InputError(f"unknown leverage method {method!r}; choose one of {', '.join(METHODS)}")
    if algorithm not in ("auto", "gram", "qr"):
        raise InputError(f"unknown algorithm {algorithm!r}; choose auto, gram or qr")
    a, b_arr = as_row_chunked(A, b)
    if isinstance(A, (str, os.PathLike)):
        b_arr = None  # a store's b is not needed for the scores
    layout = BlockLayout.create(a.shape[0], n_blocks)
    d = a.shape[1]
    if d > a.shape[0]:
        raise InputError(f"A must be tall (rows >= columns), got {a.shape[0]} x {d}")
    if method == "sketch":
        for name, value in (("sketch_rows", sketch_rows), ("jl_dim", jl_dim)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, np.integer))):
                raise InputError(f"{name} must be an integer, got {value!r}")
        check_seed(seed)
        sketch_rows = default_sketch_rows(d) if sketch_rows is None else int(sketch_rows)
        if sketch_rows < d:
            raise InputError(f"sketch_rows must be at least d = {d}, got {sketch_rows}")
        if jl_dim is None:
            jl_dim = default_jl_dim(d)
        elif jl_dim < 1:
            raise InputError(f"jl_dim must be >= 1, got {jl_dim}")
        scores = _sketch_pass(a, layout, sketch_rows, jl_dim, seed)
        return LeverageResult(scores, "sketch", "countsketch", layout, d, math.nan, 2)
    passes = 0
    rhs = (None, None)
    if algorithm in ("auto", "gram"):
        scores, whitener, gram, rhs = _exact_pass(a, b_arr, layout, "gram")
        rhs = rhs or (None, None)
        passes += 1
        if scores.size or algorithm == "gram":
            if not scores.size:
                raise InputError(f"A is too ill-conditioned for the Gram algorithm "
                                 f"(cond ~ {whitener.condition:.1e}); use algorithm='qr'")
            return LeverageResult(scores, "exact", "gram", layout, d, whitener.condition,
                                  passes, gram, *rhs)
        b_arr = None  # A^T b and b^T b came with the Gram pass
    scores, whitener, r, rhs2 = _exact_pass(a, b_arr, layout, "qr")
    rhs = rhs2 or rhs
    return LeverageResult(scores, "exact", "qr", layout, d, whitener.condition, passes + 1,
                          r.T @ r, *rhs)


def block_leverage_scores(A: Any, n_blocks: int, *, method: str = "exact",
                          **options) -> np.ndarray:
    """Normalised block leverage scores Pi of the row blocks of A (the GC seed's eq. 5).

    ``Pi_i = ||U_(K_i)||_F^2 / d`` where U is an orthonormal basis of A's columns and ``K_i``
    the rows of block i; the scores sum to 1.

    Parameters
    ----------
    A : ndarray, dask array, or str / PathLike
        Tall N x d matrix of real floats, or the path of a dataset store.
    n_blocks : int
        K in ``1..N``; blocks have ``tau = ceil(N / K)`` rows and the last rows are zero padded
        (footnote 1), which leaves the scores of the real rows unchanged.
    method : {"exact", "sketch"}
        "exact": one Gram pass, with a per-block QR pass only if A is ill-conditioned; accurate
        to about 1e-10 relative up to cond(A) = 1e8. "sketch": CountSketch + JL, two passes,
        approximate (compare with :func:`misestimation_factor`).
    **options
        ``algorithm`` ("auto", "gram", "qr") for exact; ``sketch_rows``, ``jl_dim``, ``seed``
        for sketch.

    Returns
    -------
    ndarray of shape (n_blocks,)

    Raises
    ------
    InputError
        A not 2-D or not real floating point, NaN or Inf (naming the block), ``n_blocks`` out
        of range, rank-deficient A.
    """
    unknown = sorted(set(options) - {"algorithm", "sketch_rows", "jl_dim", "seed"})
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; known: algorithm, "
                         "sketch_rows, jl_dim, seed")
    return compute_block_leverage(A, n_blocks, method=method, **options).scores
