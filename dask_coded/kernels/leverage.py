"""Block leverage scores (GC eq. 5) from per-block d x d summaries.

Pure numpy; no dask. The out-of-core pass (``dask_coded.leverage``) maps the chunk kernels
below over the row chunks of ``A`` and combines their small results; nothing here ever sees
more than one chunk of ``A``.

With ``A = U Sigma V^T`` and ``A = Q R`` the rows of ``U`` and ``A R^{-1}`` span the same
orthonormal basis, so for a block of rows ``K_i``

    Pi_i = ||U_(K_i)||_F^2 / d = ||A_i R^{-1}||_F^2 / d = trace(R^{-T} A_i^T A_i R^{-1}) / d

(eq. 5). Both quantities below are sums over any split of a block's rows, which is why a
block that straddles two storage chunks can be scored from two partial summaries.

Two ways to get ``R`` and the per-block ``A_i^T A_i``:

* Gram (``a.T @ a``): as cheap as reading the data, but its rounding error is about
  ``cond(A)^2 * u``; with columns equilibrated first, it is accurate when ``cond(A)`` is
  below about 1e3.
* Householder QR of each block segment: ``R_seg^T R_seg = A_seg^T A_seg`` without squaring
  the condition number, then the R of the stacked ``R_seg`` (TSQR). Accurate up to
  ``cond(A)`` of about 1e8 and beyond, at 10-15x the flops of a Gram product.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..errors import InputError
from .blocks import BlockLayout, segments
from .direct import Equilibrated, equilibrate

#: Equilibrated Gram matrices with a condition number above this are not trusted: the Gram
#: error ``cond(G) * u`` would exceed about 1e-10 relative (DESIGN.md, "Facts measured here").
GRAM_CONDITION_LIMIT = 1e6


@dataclass
class ChunkSummary:
    """Per-segment d x d summaries of one row chunk.

    Attributes
    ----------
    blocks : ndarray of int, shape (s,)
        Block index of each segment.
    factors : ndarray, shape (s, d, d)
        ``A_seg^T A_seg`` (kind "gram") or an R with ``R^T R = A_seg^T A_seg`` (kind "qr").
    kind : str
        "gram" or "qr".
    """

    blocks: np.ndarray
    factors: np.ndarray
    kind: str


def _check_finite(a: np.ndarray, offset: int, layout: BlockLayout) -> None:
    """Raise InputError naming the first block of ``a`` holding NaN or Inf."""
    if np.isfinite(a).all():
        return
    bad_row = int(np.argwhere(~np.isfinite(a))[0, 0]) + offset
    block = layout.block_of(bad_row)
    raise InputError(f"A has NaN or Inf in block {block} (row {bad_row})")


def chunk_gram(a: np.ndarray, offset: int, layout: BlockLayout) -> ChunkSummary:
    """Gram summaries ``A_seg^T A_seg`` of the block segments of one chunk.

    Parameters
    ----------
    a : ndarray, shape (n, d)
        The chunk's rows.
    offset : int
        Global index of the chunk's first row.
    layout : BlockLayout
        The blocks (eq. 1).
    """
    _check_finite(a, offset, layout)
    a = np.asarray(a, dtype=np.float64)
    segs = segments(offset, a.shape[0], layout)
    factors = np.empty((len(segs), a.shape[1], a.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, in one line
        for k, (_, start, stop) in enumerate(segs):
            part = a[start:stop]
            factors[k] = part.T @ part
    if not np.all(np.isfinite(factors)):
        raise InputError(f"A^T A overflows float64 in rows {offset}..{offset + a.shape[0] - 1}: "
                         "A's entries are too large; rescale A")
    return ChunkSummary(np.array([s[0] for s in segs], dtype=np.int64), factors, "gram")


def r_factor(a: np.ndarray) -> np.ndarray:
    """Square upper-triangular R with ``R^T R = a^T a`` (zero rows added when rows < cols)."""
    d = a.shape[1]
    r = np.linalg.qr(a, mode="r")
    if r.shape[0] < d:
        r = np.vstack([r, np.zeros((d - r.shape[0], d), dtype=r.dtype)])
    return r


def chunk_qr(a: np.ndarray, offset: int, layout: BlockLayout) -> ChunkSummary:
    """Householder R factors of the block segments of one chunk (stable path of eq. 5)."""
    _check_finite(a, offset, layout)
    a = np.asarray(a, dtype=np.float64)
    segs = segments(offset, a.shape[0], layout)
    factors = np.empty((len(segs), a.shape[1], a.shape[1]))
    for k, (_, start, stop) in enumerate(segs):
        factors[k] = r_factor(a[start:stop])
    return ChunkSummary(np.array([s[0] for s in segs], dtype=np.int64), factors, "qr")


def chunk_qr_augmented(a: np.ndarray, b: np.ndarray, offset: int, layout: BlockLayout
                       ) -> tuple[ChunkSummary, np.ndarray]:
    """Householder R factors of ``[A_seg, b_seg]``: the segments' R of A, and the chunk's
    augmented R, whose last column holds ``Q^T b`` and the residual (Householder TSQR).

    The leading d x d block of the R of ``[A_seg, b_seg]`` is the R of ``A_seg``: Householder
    reflections of the first d columns do not look at the last one.
    """
    _check_finite(a, offset, layout)
    a = np.asarray(a, dtype=np.float64)
    d = a.shape[1]
    both = np.column_stack([a, np.asarray(b, dtype=np.float64)])
    segs = segments(offset, a.shape[0], layout)
    augmented = np.empty((len(segs), d + 1, d + 1))
    for k, (_, start, stop) in enumerate(segs):
        augmented[k] = r_factor(both[start:stop])
    summary = ChunkSummary(np.array([s[0] for s in segs], dtype=np.int64),
                           np.ascontiguousarray(augmented[:, :d, :d]), "qr")
    return summary, combine_r(list(augmented))


def chunk_rhs(a: np.ndarray, b: np.ndarray, offset: int, layout: BlockLayout
              ) -> tuple[np.ndarray, float]:
    """``A_c^T b_c`` and ``b_c^T b_c`` of one chunk (for the normal equations and residuals)."""
    if not np.isfinite(b).all():
        bad_row = int(np.argwhere(~np.isfinite(b))[0, 0]) + offset
        raise InputError(f"b has NaN or Inf in block {layout.block_of(bad_row)} (row {bad_row})")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.T @ b, float(b @ b)


def combine_rhs(parts: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, float]:
    """Sum of per-chunk ``(A^T b, b^T b)``."""
    return np.sum([p[0] for p in parts], axis=0), float(sum(p[1] for p in parts))


def combine_gram(grams: list[np.ndarray]) -> np.ndarray:
    """``A^T A`` as the sum of partial Gram matrices (in place: no stacked copy of them)."""
    total = np.array(grams[0], dtype=np.float64, copy=True)
    for g in grams[1:]:
        total += g
    return total


def combine_r(factors: list[np.ndarray]) -> np.ndarray:
    """R of ``A`` from stacked partial R factors (one TSQR reduction step)."""
    return r_factor(np.concatenate(factors, axis=0))


def summary_total(summary: ChunkSummary) -> np.ndarray:
    """The chunk's own combined factor: a Gram sum or the R of its stacked segment Rs."""
    if summary.kind == "gram":
        return summary.factors.sum(axis=0)
    return combine_r(list(summary.factors))


@dataclass(frozen=True)
class Whitener:
    """The map ``M -> ||M W||_F^2`` with ``W = D R^{-1}``-like, built from the global factor.

    For Gram summaries, ``score(G_seg) = trace(W^T G_seg W)``; for R summaries,
    ``score(R_seg) = ||R_seg W||_F^2``; either equals ``||A_seg R^{-1}||_F^2`` (eq. 5).

    Attributes
    ----------
    kind : str
        "gram" or "qr".
    inverse : ndarray, shape (d, d)
        ``W``.
    condition : float
        Estimated condition number of A (2-norm) after column equilibration.
    """

    kind: str
    inverse: np.ndarray
    condition: float

    @functools.cached_property
    def gram_weights(self) -> np.ndarray:
        """``W W^T``, formed once: ``trace(W^T G W) = sum(G * W W^T)`` for every segment.

        A d^3 product: formed per chunk it cost 5.4 s of a 21 s setup at d = 2000 with 40
        chunks (measured); once, 0.13 s.
        """
        return self.inverse @ self.inverse.T


def gram_whitener(gram: np.ndarray, eq: Equilibrated | None = None) -> Whitener:
    """Whitener from ``A^T A``: equilibrate columns, then ``W = D L^{-T}`` with ``D G D = L L^T``.

    Column scaling leaves leverage scores unchanged but stops badly scaled columns from
    posing as ill-conditioning, so the Gram path is used whenever it is accurate.
    """
    eq = equilibrate(gram) if eq is None else eq
    scale, scaled, condition = eq.scale, eq.scaled, eq.condition
    try:
        lower = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        return Whitener("gram", np.full_like(gram, np.nan), np.inf)
    inv_lt = linalg.solve_triangular(lower, np.eye(len(scale)), lower=True).T  # L^{-T}
    return Whitener("gram", scale[:, None] * inv_lt, condition)


def r_whitener(r: np.ndarray) -> Whitener:
    """Whitener from the R of ``A``: ``W = R^{-1}`` (raises when A is rank deficient)."""
    d = r.shape[0]
    diag = np.abs(np.diag(r))
    if diag.min() <= np.finfo(np.float64).eps * diag.max() * max(d, 1):
        raise InputError("A is rank deficient (numerically): its R factor is singular")
    inverse = linalg.solve_triangular(r, np.eye(d), lower=False)
    condition = float(np.linalg.cond(r))
    return Whitener("qr", inverse, condition)


def segment_scores(summary: ChunkSummary, whitener: Whitener) -> np.ndarray:
    """``||A_seg R^{-1}||_F^2`` for every segment of a chunk (the numerator of eq. 5)."""
    w = whitener.inverse
    if summary.kind == "gram":
        # trace(W^T G W) = sum(G * (W W^T)): d^2 flops a segment once W W^T is formed
        return np.einsum("sij,ij->s", summary.factors, whitener.gram_weights, optimize=True)
    return np.einsum("sij,jk->sik", summary.factors, w, optimize=True).__pow__(2).sum(axis=(1, 2))


def segment_unit_grams(summary: ChunkSummary, whitener: Whitener) -> np.ndarray:
    """``U_seg^T U_seg`` for every segment of a chunk, in the basis of ``A R^{-1}``.

    ``W^T G_seg W`` (Gram summaries) or ``(R_seg W)^T (R_seg W)`` (R summaries): the
    matrices whose traces :func:`segment_scores` returns, so their per-block sums have
    trace ``d Pi_i`` and add up to ``I_d`` (GC eq. 5). A block sketch's
    ``U^T S^T S U`` is a weighted sum of them (:mod:`dask_coded.kernels.embedding`).
    ``d^3`` flops a segment.
    """
    w = whitener.inverse
    if summary.kind == "gram":
        return np.einsum("ji,sjk,kl->sil", w, summary.factors, w, optimize=True)
    rw = np.einsum("sij,jk->sik", summary.factors, w, optimize=True)
    return np.einsum("sji,sjk->sik", rw, rw, optimize=True)


def block_unit_grams(blocks: np.ndarray, grams: np.ndarray, n_blocks: int) -> np.ndarray:
    """Sum segment matrices per block (K x d x d); blocks with no segment get zeros."""
    out = np.zeros((n_blocks, *grams.shape[1:]))
    np.add.at(out, blocks, grams)
    return 0.5 * (out + np.swapaxes(out, 1, 2))  # symmetric to rounding


def scores_to_distribution(blocks: np.ndarray, scores: np.ndarray, n_blocks: int) -> np.ndarray:
    """Sum segment scores per block and normalise: Pi_i = ||U_(K_i)||_F^2 / d (eq. 5).

    The total equals ``d`` up to rounding; dividing by the computed total makes the result sum
    to 1 exactly as a distribution must.
    """
    per_block = np.bincount(blocks, weights=scores, minlength=n_blocks)
    per_block = np.maximum(per_block, 0.0)  # a round-off negative of a zero-leverage block
    return per_block / per_block.sum()


# --------------------------------------------------------------------------- sketch method


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A 64-bit mixing hash, so a row's bucket depends only on (seed, row), not on chunking."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def countsketch_chunk(a: np.ndarray, offset: int, sketch_rows: int, seed: int,
                      layout: BlockLayout, out: np.ndarray | None = None) -> np.ndarray:
    """This chunk's share ``S_c A_c`` of a CountSketch ``S A`` with ``sketch_rows`` rows.

    Each row ``j`` goes to bucket ``h(j)`` with sign ``s(j)``, both from a hash of
    ``(seed, j)``; the sum of all chunks' shares is the CountSketch of the whole A. With
    ``out`` (a ``sketch_rows x d`` float64 array) the share is added into it in place and
    ``out`` returned: one worker sums the shares of all the blocks it holds in one array.
    """
    _check_finite(a, offset, layout)
    a = np.asarray(a, dtype=np.float64)
    rows = np.arange(offset, offset + a.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(rows ^ _splitmix64(np.array([seed], dtype=np.uint64)))
    bucket = (h % np.uint64(sketch_rows)).astype(np.int64)
    sign = np.where((h >> np.uint64(63)) == 0, 1.0, -1.0)
    if out is None:
        out = np.zeros((sketch_rows, a.shape[1]))
    elif out.shape != (sketch_rows, a.shape[1]):
        raise ValueError(f"out has shape {out.shape}, expected {(sketch_rows, a.shape[1])}")
    if a.shape[0] == 0:
        return out
    order = np.argsort(bucket, kind="stable")
    signed = a[order] * sign[order, None]
    starts = np.searchsorted(bucket[order], np.arange(sketch_rows))
    nonempty = np.unique(bucket)
    # reduceat over sorted buckets is a fast, allocation-light scatter-add
    sums = np.add.reduceat(signed, starts[nonempty], axis=0)
    out[nonempty] += sums
    return out


def sketch_projection(r_sketch: np.ndarray, jl_dim: int | None, seed: int) -> np.ndarray:
    """``R_s^{-1} Omega``: whiten by the sketch's R, then a Gaussian JL projection to ``jl_dim``.

    With ``jl_dim`` None or >= d no JL projection is applied (``Omega = I``).
    """
    d = r_sketch.shape[0]
    diag = np.abs(np.diag(r_sketch))
    if diag.min() <= np.finfo(np.float64).eps * diag.max() * d:
        raise InputError("A is rank deficient (numerically): its sketch has a singular R")
    inverse = linalg.solve_triangular(r_sketch, np.eye(d), lower=False)
    if jl_dim is None or jl_dim >= d:
        return inverse
    rng = np.random.default_rng([seed, 1])
    omega = rng.standard_normal((d, jl_dim)) / np.sqrt(jl_dim)
    return inverse @ omega


def projected_segment_scores(a: np.ndarray, offset: int, layout: BlockLayout,
                             projection: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block ids and ``||A_seg R_s^{-1} Omega||_F^2`` of each segment of one chunk."""
    y = np.asarray(a, dtype=np.float64) @ projection
    row_norms = np.einsum("ij,ij->i", y, y)
    segs = segments(offset, a.shape[0], layout)
    blocks = np.array([s[0] for s in segs], dtype=np.int64)
    scores = np.array([row_norms[start:stop].sum() for _, start, stop in segs])
    return blocks, scores


def dense_block_leverage(a: np.ndarray, n_blocks: int) -> np.ndarray:
    """Reference block leverage scores of an in-memory ``a`` by a dense Householder QR (eq. 5).

    For tests and small data; the out-of-core pass never calls it.
    """
    from .blocks import pad_rows

    padded = pad_rows(np.asarray(a, dtype=np.float64), n_blocks)
    q, _ = np.linalg.qr(padded, mode="reduced")
    per_row = np.einsum("ij,ij->i", q, q)
    per_block = per_row.reshape(n_blocks, -1).sum(axis=1)
    return per_block / per_block.sum()
