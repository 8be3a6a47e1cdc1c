"""Freivalds' randomized check of a product ``C = A B`` (pure numpy; no dask).

A computed ``C_hat`` is compared with ``A B`` through a few random vectors: ``C_hat X``
against ``A (B X)`` for an ``k x p`` matrix ``X`` of seeded Gaussian columns. ``B X`` and
``A (B X)`` cost ``O(N k p)`` and ``O(n N p)`` flops, against ``O(n N k)`` for the product, and
need only one pass over A and B, block by block; nothing here depends on how ``C_hat`` was
computed (an encoder, a decoder, the servers' products), so a corrupt server result, a wrong
decoding or a damaged output store shows up in it.

For Gaussian ``X``, ``E ||E X||_F^2 = p ||E||_F^2`` for any matrix ``E``, so the relative
residual ``||C_hat X - A B X||_F / ||A B X||_F`` (:func:`relative_residual`) estimates the
relative Frobenius error ``||C_hat - A B||_F / ||A B||_F`` (the ratio of two chi-square
estimates with ``p`` degrees of freedom each: with ``p = 3`` it is within a factor ~3 of it
in most draws). The reference ``A (B X)`` carries its own round-off, ``~u N ||A|| ||B|| ||x||``:
a residual near ``1e-15`` is exact to working precision.

The functions take panels as they are read, so the caller decides where they run (the
workers, panel by panel: :mod:`dask_coded.matmul`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from . import checks

__all__ = ["PROBES", "ReferenceAccumulator", "combine", "probes", "relative_residual"]

#: Random vectors of the check (``p``).
PROBES = 3


def probes(k: int, count: int = PROBES, seed: int | None = None) -> NDArray[np.float64]:
    """``count`` seeded standard Gaussian vectors of length ``k``, as the columns of a
    ``(k, count)`` matrix ``X``."""
    k = checks.integer("k", k, 1)
    count = checks.integer("count", count, 1)
    return np.random.default_rng(seed).standard_normal((k, count))


class ReferenceAccumulator:
    """``A (B X)`` for one tile, built from the panels of A and B as a reader sees them.

    The tile is A's rows ``n_rows`` times B's columns (``X`` restricted to them). Feed every
    panel of B first (:meth:`add_b`: inner rows ``lo:hi`` of the tile's columns), then every
    panel of A (:meth:`add_a`: tile rows ``r0:r1``, inner columns ``lo:hi``), each index
    once. :attr:`value` is ``A_tile B_tile X`` once both were covered entirely, else None (a
    reader that skipped blocks, such as an uncoded or sampled server that reads its own
    blocks only).
    """

    def __init__(self, x: ArrayLike, n_rows: int, inner: int):
        self.x = np.asarray(x, dtype=np.float64)
        if self.x.ndim != 2:
            raise InputError(f"the probes must be a (k, p) matrix, got shape {self.x.shape}")
        self.n_rows, self.inner = int(n_rows), int(inner)
        self.y = np.zeros((self.inner, self.x.shape[1]))  # B X
        self.z = np.zeros((self.n_rows, self.x.shape[1]))  # A (B X)
        self._b_seen = 0
        self._a_seen = 0

    def add_b(self, lo: int, hi: int, panel: NDArray) -> None:
        """B's inner rows ``lo:hi`` (all the tile's columns): ``y[lo:hi] = panel X``."""
        self.y[lo:hi] = panel @ self.x
        self._b_seen += hi - lo

    def add_a(self, r0: int, r1: int, lo: int, hi: int, panel: NDArray) -> None:
        """A's tile rows ``r0:r1``, inner columns ``lo:hi``: ``z[r0:r1] += panel y[lo:hi]``
        (only once B is covered: before, ``y`` is incomplete and the panel is not used)."""
        if self._b_seen != self.inner:
            return
        self.z[r0:r1] += panel @ self.y[lo:hi]
        self._a_seen += (r1 - r0) * (hi - lo)

    @property
    def value(self) -> NDArray | None:
        """``A_tile (B_tile X)``, or None when a part of A or B was not seen."""
        if self._b_seen != self.inner or self._a_seen != self.n_rows * self.inner:
            return None
        return self.z


def combine(references: list[NDArray | None]) -> NDArray | None:
    """One ``A (B X)`` from several servers' (None where a server could not compute it):
    their elementwise median, so that one server whose reference is wrong does not decide
    (they are computed alike from the same data and agree to rounding)."""
    have = [r for r in references if r is not None]
    if not have:
        return None
    return have[0] if len(have) == 1 else np.median(np.stack(have), axis=0)


def relative_residual(cx: ArrayLike, abx: ArrayLike) -> float:
    """``||C X - A B X||_F / ||A B X||_F`` (0 when both vanish, inf for a nonzero residual
    against a zero reference)."""
    cx, abx = np.asarray(cx), np.asarray(abx)
    if cx.shape != abx.shape:
        raise InputError(f"C X has shape {cx.shape} but A B X {abx.shape}")
    num = float(np.linalg.norm(cx - abx))
    den = float(np.linalg.norm(abx))
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return num / den
