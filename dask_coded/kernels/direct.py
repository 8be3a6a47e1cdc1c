"""The exact least-squares solution from d x d summaries of A, and when to trust which.

Pure numpy; no dask. The out-of-core pass (:mod:`dask_coded.leverage`) reads A chunk by
chunk and hands these kernels only small summaries: ``A^T A`` and ``A^T b`` of the whole
matrix, or the same of a whitened ``Q = A W``.

Three ways to the solution, cheapest first:

* **Normal equations** from the Gram of one pass, solved after column equilibration: as
  cheap as reading the data, but their error is about ``cond(A)^2 u`` against Householder
  QR's ``cond(A) u``. They are within a small factor of QR only while the equilibrated
  condition number is small (:data:`GRAM_SOLVE_CONDITION`).
* **Cholesky-QR refinement** (CholeskyQR2, Yamamoto et al. 2015; shifted CholeskyQR3,
  Fukaya et al. 2020): with R from the Gram, each further pass forms the Gram of
  ``Q = A R^{-1}`` chunk by chunk, and ``R <- chol(Q^T Q) R``. One refinement pass makes Q
  orthogonal to working precision when ``cond(A)^2 u`` is below about 1e-2; a shift of the
  first Cholesky makes it work up to ``cond(A)`` of about ``1 / u`` in one more pass. Each
  pass costs about two Gram products per chunk, so close to a read pass.
* **Householder TSQR** of ``[A_seg, b_seg]``: the R factor of the augmented matrix holds
  ``R``, ``Q^T b`` and the residual norm; 10-15x the flops of a Gram product, kept as the
  reference algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..errors import InputError

#: Largest equilibrated condition number at which the normal equations of one Gram pass are
#: used for the solution. Measured (consistent systems, 20000 x 30): their error is 1.6-3.4x
#: Householder QR's at condition 2-5, 28x at 10 and 550x at 100, so above this the pass is
#: refined instead.
GRAM_SOLVE_CONDITION = 5.0

#: Above this equilibrated condition number the first Cholesky factor is shifted (Fukaya et
#: al.): unshifted, ``cond(A)^2 u`` nears 1 and Cholesky breaks down or loses all accuracy.
SHIFT_CONDITION = 1e7

#: A refinement pass whose whitened Gram is within this of the identity (2-norm) leaves an
#: R as accurate as Householder QR's: the next Q would be orthogonal to ``O(u)``.
ORTHOGONAL_ENOUGH = 0.1

#: Most Cholesky-QR refinement passes before A is declared numerically rank deficient.
MAX_REFINEMENTS = 3

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Factor:
    """An upper-triangular R with ``R^T R ~ A^T A`` and how far it can be trusted.

    Attributes
    ----------
    r : ndarray, shape (d, d)
    condition : float
        2-norm condition number of A after column equilibration (an estimate).
    shifted : bool
        The Cholesky factor was shifted (its Q is not yet orthogonal: refine it).
    """

    r: np.ndarray
    condition: float
    shifted: bool = False


@dataclass(frozen=True)
class Equilibrated:
    """``G = A^T A`` with its columns equilibrated, computed once per Gram.

    Attributes
    ----------
    scale : ndarray, shape (d,)
        ``diag(D) = 1 / ||a_j||``.
    scaled : ndarray, shape (d, d)
        ``D G D``.
    eigenvalues : ndarray, shape (d,)
        Of ``D G D``, ascending (one O(d^3) decomposition, shared by every use).
    """

    scale: np.ndarray
    scaled: np.ndarray
    eigenvalues: np.ndarray

    @property
    def condition(self) -> float:
        """``cond_2(A D)``."""
        lo, hi = self.eigenvalues[0], self.eigenvalues[-1]
        return float(np.sqrt(hi / lo)) if lo > 0 else np.inf


def equilibrate(gram: np.ndarray) -> Equilibrated:
    """Column equilibration of ``G = A^T A``: ``D``, ``D G D`` and its eigenvalues.

    ``D = diag(1 / ||a_j||)`` scales every column of A to unit norm. It changes neither
    leverage scores nor the solution (up to the scaling), but stops badly scaled columns from
    posing as ill-conditioning.

    Raises
    ------
    InputError
        ``A^T A`` overflows, or a column of A is all zeros.
    """
    if not np.all(np.isfinite(gram)):
        raise InputError("A^T A overflows float64: A's entries are too large; rescale A")
    diag = np.diag(gram).copy()
    if np.any(diag <= 0):
        col = int(np.argmin(diag))
        raise InputError(f"A is rank deficient: column {col} is all zeros")
    scale = 1.0 / np.sqrt(diag)
    scaled = gram * scale[:, None] * scale[None, :]
    return Equilibrated(scale, scaled, np.linalg.eigvalsh(scaled))


def gram_factor(gram: np.ndarray, n_rows: int, eq: Equilibrated | None = None) -> Factor:
    """R with ``R^T R = A^T A`` (equilibrated Cholesky), shifted when A is ill-conditioned.

    The shift ``s = 11 (N d + d (d + 1)) u ||A D||_2^2`` is Fukaya et al.'s (shifted
    CholeskyQR, their eq. 4.1), applied to the equilibrated Gram ``D G D``: it keeps Cholesky
    from breaking down at any condition number up to about ``1 / u``.

    Raises
    ------
    InputError
        A column of A is all zeros, or ``A^T A`` overflows.
    """
    eq = equilibrate(gram) if eq is None else eq
    scale, scaled, condition = eq.scale, eq.scaled, eq.condition
    d = len(scale)
    upper = None
    if condition <= SHIFT_CONDITION:
        try:
            upper = np.linalg.cholesky(scaled).T
        except np.linalg.LinAlgError:
            upper = None
    shifted = upper is None
    if shifted:
        eig = eq.eigenvalues
        shift = 11.0 * (n_rows * d + d * (d + 1)) * _EPS * eig[-1]
        try:
            upper = np.linalg.cholesky(scaled + shift * np.eye(d)).T
        except np.linalg.LinAlgError:
            raise InputError(rank_message(np.sqrt(np.maximum(eig, 0.0))[::-1])) from None
    # R = U D^{-1}: R^T R = D^{-1} U^T U D^{-1} = G (up to the shift)
    return Factor(upper / scale[None, :], condition, shifted)


def refine(factor: Factor, whitened_gram: np.ndarray) -> tuple[Factor, np.ndarray, float]:
    """One Cholesky-QR refinement: ``R <- chol(Q^T Q) R`` for ``Q = A R^{-1}``.

    Parameters
    ----------
    factor : Factor
        The R the pass whitened A with.
    whitened_gram : ndarray, shape (d, d)
        ``Q^T Q`` summed over the chunks.

    Returns
    -------
    factor : Factor
        The refined R (never shifted).
    r_step : ndarray
        ``chol(Q^T Q)`` (upper), to carry ``Q^T b`` into the refined basis.
    deviation : float
        ``||Q^T Q - I||_2``: how far the pass's Q was from orthogonal.

    Raises
    ------
    InputError
        ``Q^T Q`` is not positive definite: A is numerically rank deficient.
    """
    if not np.all(np.isfinite(whitened_gram)):
        raise InputError("A is numerically rank deficient: its whitened Gram overflows")
    eig = np.linalg.eigvalsh(whitened_gram)
    deviation = float(np.max(np.abs(eig - 1.0)))
    try:
        r_step = np.linalg.cholesky(whitened_gram).T
    except np.linalg.LinAlgError:
        sigma = singular_values(factor.r, whitened_gram)
        raise InputError(rank_message(sigma)) from None
    r = r_step @ factor.r
    # the Gram's own estimate saturates near 1 / sqrt(u); R's does not
    condition = float(np.linalg.cond(r / np.linalg.norm(r, axis=0)[None, :]))
    return Factor(r, condition, False), r_step, deviation


def singular_values(r: np.ndarray, whitened_gram: np.ndarray) -> np.ndarray:
    """Singular values of A (descending) from R and the Gram of ``Q = A R^{-1}``.

    ``A^T A = R^T (Q^T Q) R``; with ``Q^T Q = V L V^T``, A's singular values are those of
    ``L^{1/2} V^T R``, computed without forming the badly conditioned ``A^T A``.
    """
    lam, vec = np.linalg.eigh(whitened_gram)
    m = np.sqrt(np.maximum(lam, 0.0))[:, None] * (vec.T @ r)
    return np.linalg.svd(m, compute_uv=False)


def rank_message(sigma: np.ndarray) -> str:
    """One line naming the numerical rank and the condition estimate of A."""
    sigma = np.asarray(sigma, dtype=np.float64)
    d = sigma.size
    tol = sigma[0] * d * _EPS * 10.0
    rank = int(np.sum(sigma > tol))
    cond = sigma[0] / sigma[-1] if sigma[-1] > 0 else np.inf
    return (f"A is rank deficient (numerically): rank {rank} of {d} columns, condition "
            f"estimate {cond:.1e}; drop or combine dependent columns, or regularise")


def check_rank(r: np.ndarray) -> None:
    """Raise InputError when the triangular R is numerically singular."""
    d = r.shape[0]
    diag = np.abs(np.diag(r))
    if diag.min() <= _EPS * diag.max() * max(d, 1) * 10.0:
        raise InputError(rank_message(np.linalg.svd(r, compute_uv=False)))


def solve_normal(gram: np.ndarray, atb: np.ndarray, eq: Equilibrated | None = None
                 ) -> np.ndarray:
    """``x = (A^T A)^{-1} A^T b`` by Cholesky after column equilibration."""
    eq = equilibrate(gram) if eq is None else eq
    scale, scaled = eq.scale, eq.scaled
    try:
        lower = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        sigma = np.sqrt(np.maximum(eq.eigenvalues, 0.0))[::-1]
        raise InputError(rank_message(sigma)) from None
    y = linalg.cho_solve((lower, True), scale * atb)
    return scale * y


def solve_refined(factor: Factor, r_step: np.ndarray, qtb: np.ndarray) -> np.ndarray:
    """``x = R^{-1} Q'^T b`` after a refinement pass.

    With the pass's ``Q = A R_0^{-1}`` and ``c = Q^T b`` (summed over chunks), the refined
    basis is ``Q' = Q R_step^{-1}``, so ``Q'^T b = R_step^{-T} c`` and ``x = R^{-1} Q'^T b``
    with ``R = R_step R_0`` (CholeskyQR2's least-squares solution).
    """
    check_rank(factor.r)
    z = linalg.solve_triangular(r_step, qtb, trans="T", lower=False)
    return linalg.solve_triangular(factor.r, z, lower=False)


def solve_augmented(r_aug: np.ndarray) -> tuple[np.ndarray, float]:
    """``x`` and ``||A x - b||`` from the R factor of ``[A, b]`` (Householder TSQR).

    ``[A, b] = Q [[R, z], [0, rho]]``: ``x = R^{-1} z`` and the residual norm is ``|rho|``.
    """
    d = r_aug.shape[0] - 1
    r, z = r_aug[:d, :d], r_aug[:d, d]
    check_rank(r)
    return linalg.solve_triangular(r, z, lower=False), float(abs(r_aug[d, d]))
