"""The l2-subspace embedding error of block sketches, measured, beside GC Theorem 1's bound.

A sketch S is a (1 +- eps) l2-subspace embedding of A when ``||I_d - U^T S^T S U||_2 <= eps``
for U an orthonormal basis of range(A) (GC Theorem 1). A block sketch keeps whole blocks, so
``U^T S^T S U`` is a weighted sum of the blocks' ``U_i^T U_i``: everything here works on those
K small d x d matrices (:func:`unit_block_grams`), which the setup pass's per-block
``A_i^T A_i`` give without U itself (``U_i^T U_i = L^{-1} A_i^T A_i L^{-T}`` for
``A^T A = L L^T``).

Two sketches, both drawn fresh per trial:

* GC Algorithm 1: q blocks sampled with replacement from Pi, each rescaled by
  ``1 / sqrt(q Pi_i)``;
* the expansion network's (GC Section IV): m servers hold the blocks ``r_i`` times each; the
  first q of them to answer (a uniform q-subset of the m, the premise of Theorem 2) are summed
  with eq. 23's weights ``w_i^2 = m / (q r_i)``.

Pure numpy; no dask.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from . import checks
from .blocks import BlockLayout

__all__ = [
    "algorithm1_errors",
    "block_grams",
    "embedding_norm",
    "expansion_errors",
    "sketch_error",
    "theorem1_epsilon",
    "theorem3_bound",
    "theorem7_distinct_blocks",
    "unit_block_grams",
]


def block_grams(a: np.ndarray, layout: BlockLayout) -> NDArray[np.float64]:
    """``A_i^T A_i`` of every block of an in-memory ``a`` (K x d x d; the dense reference)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.zeros((layout.n_blocks, a.shape[1], a.shape[1]))
    for i in range(layout.n_blocks):
        lo, hi = layout.block_range(i)
        out[i] = a[lo:hi].T @ a[lo:hi]
    return out


def unit_block_grams(grams: ArrayLike) -> NDArray[np.float64]:
    """``U_i^T U_i`` from the blocks' ``A_i^T A_i``: whitened by the Cholesky factor of their
    sum, so that they sum to ``I_d`` and block i's trace is its leverage score times d."""
    grams = np.asarray(grams, dtype=np.float64)
    total = grams.sum(axis=0)
    lower = np.linalg.cholesky(total)  # raises LinAlgError for a rank-deficient A
    half = np.linalg.solve(lower, grams)  # L^{-1} G_i, per block
    out = np.linalg.solve(lower, np.swapaxes(half, 1, 2))  # L^{-1} (L^{-1} G_i)^T
    return 0.5 * (out + np.swapaxes(out, 1, 2))  # symmetric to rounding


def embedding_norm(sketch_gram: ArrayLike) -> float:
    """``||I_d - U^T S^T S U||_2`` for ``sketch_gram = U^T S^T S U`` (symmetric)."""
    g = np.asarray(sketch_gram, dtype=np.float64)
    return float(np.max(np.abs(np.linalg.eigvalsh(np.eye(g.shape[0]) - g))))


def theorem1_epsilon(d: int, q: int, delta: float, beta: float = 1.0) -> float:
    """The eps that GC Theorem 1 guarantees with probability ``1 - delta`` for q blocks.

    The theorem states ``q = Theta(...)`` only; its proof (GC Proposition 4) applies the
    matrix Chernoff bound of GC Theorem 4, ``P[||Z|| > eps] <= 2d exp(-q eps^2 / (sigma^2 +
    gamma eps / 3))``, with ``gamma = 1 + d / beta`` and ``sigma^2 = d / beta - 1`` (the
    text substitutes ``gamma = 1 + d``, which is ``beta = 1``). Setting the right side to
    delta and solving the quadratic in eps gives this bound, with every constant explicit.
    (The theorem's q also has a factor 1/tau that the proof's bound does not: the value here
    follows the proof.)
    """
    d = checks.integer("d", d, 1)
    q = checks.integer("q", q, 1)
    delta = checks.fraction("delta", delta, open_low=True, open_high=True)
    beta = checks.fraction("beta", beta, open_low=True)
    gamma, sigma2 = 1.0 + d / beta, d / beta - 1.0
    log_term = math.log(2 * d / delta)
    # q eps^2 - (L gamma / 3) eps - L sigma^2 = 0, the positive root
    b = log_term * gamma / 3.0
    return (b + math.sqrt(b * b + 4.0 * q * log_term * sigma2)) / (2.0 * q)


def _probabilities(pi: ArrayLike, n_blocks: int) -> NDArray[np.float64]:
    p = np.asarray(pi, dtype=np.float64)
    if p.shape != (n_blocks,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise InputError(f"pi must be {n_blocks} non-negative probabilities summing "
                                "to 1")
    return p


def algorithm1_errors(unit_grams: ArrayLike, pi: ArrayLike, q: int, trials: int,
                      rng: np.random.Generator) -> NDArray[np.float64]:
    """The embedding error of ``trials`` independent GC Algorithm 1 sketches.

    Each samples q blocks with replacement from ``pi`` (approximate scores allowed) and
    rescales block i by ``D_jj = 1 / sqrt(q pi_i)``, so ``U^T S^T S U = (1/q) sum_j
    U_{i_j}^T U_{i_j} / pi_{i_j}``.
    """
    g = np.asarray(unit_grams, dtype=np.float64)
    p = _probabilities(pi, g.shape[0])
    q = checks.integer("q", q, 1)
    trials = checks.integer("trials", trials, 1)
    scaled = g / np.where(p > 0, p, np.inf)[:, None, None]  # a block never drawn: unused
    out = np.empty(trials)
    for t in range(trials):
        draws = rng.choice(g.shape[0], size=q, p=p)
        out[t] = embedding_norm(scaled[draws].sum(axis=0) / q)
    return out


def expansion_errors(unit_grams: ArrayLike, replicas: ArrayLike, q: int, trials: int,
                     rng: np.random.Generator) -> NDArray[np.float64]:
    """The embedding error of ``trials`` first-q sketches of an expansion network.

    ``replicas[i]`` servers hold block i (m in all); a trial takes a uniformly random
    q-subset of the m servers (GC Theorem 2's premise) and sums their blocks with eq. 23's
    weights ``w_i^2 = m / (q r_i)``, so that the sketch's expectation is ``I_d``.
    """
    g = np.asarray(unit_grams, dtype=np.float64)
    r = np.asarray(replicas)
    if r.shape != (g.shape[0],) or not np.issubdtype(r.dtype, np.integer) or np.any(r < 0):
        raise InputError(f"replicas must be {g.shape[0]} counts >= 0")
    m = int(r.sum())
    q = checks.integer("q", q, 1, high=m)
    trials = checks.integer("trials", trials, 1)
    server_blocks = np.repeat(np.arange(g.shape[0]), r)
    weights2 = m / (q * np.maximum(r, 1))  # GC eq. 23, squared; unused where r_i = 0
    out = np.empty(trials)
    for t in range(trials):
        blocks = server_blocks[rng.choice(m, size=q, replace=False)]
        out[t] = embedding_norm(np.tensordot(weights2[blocks], g[blocks], axes=1))
    return out


def sketch_error(unit_grams: ArrayLike, blocks: ArrayLike, coefficients: ArrayLike) -> float:
    """The embedding error of one block sketch: ``||I - sum_j c_j U_{b_j}^T U_{b_j}||_2``.

    ``blocks[j]`` is a block the sketch keeps (repeats allowed) and ``coefficients[j]`` the
    weight its rows' squares carry, ``(S^T S)`` restricted to block ``b_j``: eq. 23's
    ``w_i^2`` for a server of an expansion network, ``1 / (q Pi_i)`` for a draw of GC
    Algorithm 1.
    """
    g = np.asarray(unit_grams, dtype=np.float64)
    blocks = np.asarray(blocks, dtype=np.int64)
    coefficients = np.asarray(coefficients, dtype=np.float64)
    if blocks.shape != coefficients.shape or blocks.ndim != 1:
        raise InputError("blocks and coefficients must be 1-D of one length")
    return embedding_norm(np.tensordot(coefficients, g[blocks], axes=1))


def theorem3_bound(epsilon: float, sigma_max: float, residual_norm: float) -> float:
    """GC Theorem 3 (eq. 29): ``||g - g_hat||_2 <= 2 eps ||A||_2 ||A x - b||_2``.

    Its proof bounds ``||I_N - S^T S||_2`` by ``||U^T (I_N - S^T S) U||_2``, which holds for
    the part of the residual in range(A) only: for a residual ``A z`` (the change a
    variance-reduced round samples, ``z = x - x_ref``) the bound is a theorem; for a
    residual with a part orthogonal to range(A) (``b`` not in it) it is what the paper
    claims, and :func:`dask_coded.lstsq` records whether it held.
    """
    return 2.0 * float(epsilon) * float(sigma_max) * float(residual_norm)


def theorem7_distinct_blocks(pi: ArrayLike, q: int) -> float:
    """GC Theorem 7: the expected number of distinct blocks in q draws with replacement by
    Pi, ``K - sum_i (1 - Pi_i)^q`` (the weighted sketch keeps that many times tau rows)."""
    p = np.asarray(pi, dtype=np.float64)
    q = checks.integer("q", q, 1)
    return float(len(p) - np.sum((1.0 - p) ** q))
