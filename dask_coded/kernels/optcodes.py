"""Approximate codes for ``C = A B`` found by alternating minimisation (MatDot Section IV).

Pure numpy; no dask. A linear code gives server ``i`` of ``P`` the encodings
``A~_i = sum_j alpha[i, j] A_j`` and ``B~_i = sum_j beta[i, j] B_j`` (MatDot eq. 24, the blocks of
:func:`dask_coded.kernels.matdot.split_inner`); the server returns ``C~_i = A~_i B~_i`` and the
decoder for the responding set ``S_p`` (``k`` servers) returns ``sum_{i in S_p} d_i^(p) C~_i``.
Since ``C~_i = sum_{j,l} alpha_ij beta_il A_j B_l``, the decoded matrix is
``sum_{j,l} M_jl A_j B_l`` with ``M = sum_i d_i alpha_i beta_i^T``, and ``C = sum_j A_j B_j``
needs ``M = I_m`` (eq. 26). :func:`optimize_code` minimises the total miss (eq. 28)::

    L = sum_p || I_m - sum_{i in S_p} d_i^(p) alpha_i beta_i^T ||_F^2

over ``alpha``, ``beta`` (``P x m``; row ``i`` is the paper's column ``alpha^(i)``) and the
``d^(p)``, by Algorithm 1 (the closed forms of Proposition 1), and returns an
:class:`OptimizedCode`.

Every closed form is solved as the least-squares problem whose normal equations Proposition 1
states (same minimiser, condition number not squared), and an optional extrapolation step
speeds up the slow approach to degenerate codes (:func:`_run`).

The loss is always computed directly from that sum. The expanded form ``m - 2 d.z + d^T Z d``
(eq. 36) is the same number in exact arithmetic but cancels catastrophically near the minimum
(the authors' runs report negative and NaN losses); it is not used.

Starts (issue 13). Random starts (MatDot Algorithm 1) mostly stall at k = m (loss 12 at
``(m, k, P) = (3, 3, 6)``; MatDot Fig. 1 says ~1) and crawl elsewhere (loss ~1/iterations).
Measured with ``dask-coded benchmark fig1 --plain`` at the paper's budget (20 random starts x
100,000 plain iterations): mean 10.2 at (3, 3, 6), the best start 2.0e-4; 6.8e-6 to 2.7e-5 at
k = 2m - 2, P = k + 1, m = 2..6 (7-27x the authors' logged ~1e-6). :func:`epsmatdot_start`
starts from epsilon-MatDot's code (real Chebyshev points of the tuned radius, MatDot eq. 14 in
the form of eq. 24), whose loss is already 1.4e-15 to 5.4e-9 there. :func:`optimize_code`
runs it beside the random starts and says which won.

Loss and error. ``C_hat - C = sum_jl E_jl A_j B_l`` with ``E = I - sum_i d_i alpha_i beta_i^T``
and ``l^(p) = ||E||_F^2``, so on generic data (blocks products of similar size, ``||A_j B_l||_F
~ ||C||_F / sqrt(m)``) the relative error is about ``sqrt(l^(p) / m)``: a code of loss 1e-5
decodes to ~2e-3, not 1e-5 (measured: (2, 2, 3), loss 1.9e-5, largest subset loss 9.6e-6,
worst-subset error 2.2e-3 = sqrt(9.6e-6 / 2)). Theorem 5 bounds it by ``sqrt(l^(p)) ||A||_F
||B||_F`` (:func:`theorem5_bound`).

The loss says nothing of round-off: a small loss can come with huge ``d`` (as for
epsilon-MatDot, whose loss tends to 0 as its points shrink while its decoder grows like
``rho^-(m-1)``), and the results' rounding ``~u ||d||_1 max ||C~_i||`` adds to the error.
:meth:`OptimizedCode.decoder_norms` reports ``||d^(p)||`` for that reason. In float64 the loss
cannot be driven below its own rounding, ``~(u ||d||)^2``, which balances it against the
decoder size much as the products' rounding does: the codes from the eps-MatDot start decode
real products to ~1e-8 at k = 2m - 2 for m = 2, 3 (:func:`dask_coded.matmul.optimize_code`).
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from . import checks
from .matdot import linear_encode, matdot_coefficients, tuned_design

__all__ = [
    "OptimizedCode",
    "all_subsets",
    "check_code_shape",
    "code_from_coefficients",
    "decode_linear",
    "encode",
    "epsmatdot_start",
    "loss",
    "optimal_decoders",
    "optimize_code",
    "server_products",
    "subset_losses",
    "theorem5_bound",
]

#: Refuse problems with more decoding subsets than this (``C(P, k)`` grows fast, and every
#: iteration touches every subset).
MAX_SUBSETS = 200_000

_NPZ_VERSION = 1

#: Defaults of :func:`optimize_code` (random starts, iterations per start); see its docstring.
RESTARTS = 4
MAX_ITER = 10_000


def check_code_shape(m: Any, k: Any, P: Any) -> tuple[int, int, int]:
    """Validate ``m >= 1``, ``1 <= k <= P`` and a manageable ``C(P, k)``; return them as ints."""
    m = checks.integer("m", m, 1)
    k = checks.integer("k", k, 1)
    P = checks.integer("P", P, 1)
    if k > P:
        raise InputError(f"k={k} exceeds the number of servers P={P}")
    if math.comb(P, k) > MAX_SUBSETS:
        raise InputError(f"C(P={P}, k={k}) = {math.comb(P, k)} decoding subsets is more than "
                         f"{MAX_SUBSETS}; use fewer servers")
    return m, k, P


def all_subsets(P: int, k: int) -> NDArray[np.int64]:
    """The ``C(P, k)`` sets ``S_p`` of ``P_k([P])`` (Section IV-B), lexicographic, ``(C, k)``."""
    return np.array(list(itertools.combinations(range(P), k)), dtype=np.int64).reshape(-1, k)


# --------------------------------------------------------------------------------------------
# the objective and the closed-form steps (Proposition 1)
#
# Every function here takes optional leading batch axes (``alpha`` ``(..., P, m)``, ``d``
# ``(..., C, k)``): :func:`_run` iterates all restarts of one (m, k, P) at once, so that each
# numpy call does R small problems instead of one (the problems are tiny and per-call overhead
# dominates).


def _products(alpha: NDArray, beta: NDArray, subsets: NDArray, d: NDArray) -> NDArray:
    """``sum_{i in S_p} d_i^(p) alpha_i beta_i^T`` for every ``p``: ``(..., C, m, m)``."""
    return np.einsum("...pk,...pki,...pkj->...pij", d, alpha[..., subsets, :],
                     beta[..., subsets, :])


def subset_losses(alpha: NDArray, beta: NDArray, subsets: NDArray, d: NDArray) -> NDArray:
    """``l^(p) = ||I_m - sum_{i in S_p} d_i^(p) alpha_i beta_i^T||_F^2`` (eq. 29), direct."""
    m = alpha.shape[-1]
    err = np.eye(m) - _products(alpha, beta, subsets, d)  # E = I - sum d_i alpha_i beta_i^T
    return np.einsum("...pij,...pij->...p", err, err)  # ||E||_F^2 term by term: never negative


def _losses(alpha: NDArray, beta: NDArray, subsets: NDArray, d: NDArray) -> NDArray:
    """The objective (28) of every batch entry (shape ``alpha.shape[:-2]``)."""
    return subset_losses(alpha, beta, subsets, d).sum(axis=-1)  # eq. 28


def loss(alpha: NDArray, beta: NDArray, subsets: NDArray, d: NDArray) -> float:
    """The objective (28), computed directly as a sum of squares."""
    return float(_losses(alpha, beta, subsets, d))  # eq. 28


def _pinv(x: NDArray) -> NDArray:
    """Batched SVD pseudo-inverse with ``np.linalg.lstsq``'s default cut-off (``rcond=None``:
    singular values below ``eps * max(M, N) * s_max`` are dropped)."""
    return np.linalg.pinv(x, rtol=np.finfo(np.float64).eps * max(x.shape[-2:]))


def optimal_decoders(alpha: NDArray, beta: NDArray, subsets: NDArray) -> NDArray:
    """Proposition 1 (i): the minimiser ``d^(p)`` of (29) for every subset, ``(..., C, k)``.

    ``Z^(p) d^(p) = z^(p)`` (with ``Z^(full) = (A^T A) o (B^T B)``, ``z^(full)_i = alpha_i .
    beta_i``, Table I) are the normal equations of ``min_d ||vec(I) - X_p d||``, ``X_p`` the
    ``m^2 x k`` matrix of columns ``vec(alpha_i beta_i^T)``, ``i in S_p``. That least-squares
    problem is solved instead (batched SVD pseudo-inverse): same minimiser, without squaring the
    condition number, which matters near the degenerate codes the loss is driven to (their
    ``X_p`` are nearly rank deficient, as for epsilon-MatDot with small points).
    """
    k = subsets.shape[1]
    m = alpha.shape[-1]
    # X_p[:, i] = vec(alpha_i beta_i^T): X_p^T X_p = Z^(p), X_p^T vec(I) = z^(p) (Prop. 1 i)
    x = np.einsum("...pki,...pkj->...pijk", alpha[..., subsets, :], beta[..., subsets, :])
    x = x.reshape(*x.shape[:-3], m * m, k)
    return _pinv(x) @ np.eye(m).reshape(-1)  # Z^(p) d^(p) = z^(p) in least-squares form


def _onehot(subsets: NDArray, P: int) -> NDArray:
    """``(C, k, P)``: entry ``[p, j, i]`` is 1 when ``subsets[p, j] == i``."""
    out = np.zeros((*subsets.shape, P))
    np.put_along_axis(out, subsets[..., None], 1.0, axis=-1)
    return out


def _design(other: NDArray, subsets: NDArray, d: NDArray) -> NDArray:
    """Design matrix ``G`` with ``G[(p, c), i] = d_i^(p) other_i[c]`` (zero for ``i`` not in S_p).

    For fixed ``beta`` and ``d``, entry ``[r, c]`` of ``sum_i d_i alpha_i beta_i^T`` is
    ``sum_i alpha_i[r] G[(p, c), i]``, so the alpha-step is ``min ||E - G alpha||_F`` with
    ``E[(p, c), r] = delta_rc``; its normal equations ``G^T G alpha = G^T E`` are exactly
    Proposition 1 (ii), ``Y_B alpha = diag(y) beta`` (``G^T G = Y o (B^T B) = Y_B`` and
    ``G^T E = diag(y) beta``, Table I). Transposing the products gives the beta-step (iii)
    with ``other = alpha``. Shape ``(..., C m, P)``.
    """
    n_sub, _ = subsets.shape
    P, m = other.shape[-2:]
    design = np.einsum("...pj,...pjc,pji->...pci", d, other[..., subsets, :],
                       _onehot(subsets, P))
    return design.reshape(*design.shape[:-3], n_sub * m, P)


def _block_step(other: NDArray, subsets: NDArray, d: NDArray) -> NDArray:
    """Minimiser of (28) over ``alpha`` (given ``beta = other``) or over ``beta`` (given alpha).

    Proposition 1 (ii) ``Y_B A = diag(y) B`` (eq. 46) and (iii) ``Y_A B = diag(y) A`` (eq. 47),
    solved as the least-squares problems whose normal equations they are (:func:`_design`).
    """
    m = other.shape[-1]
    target = np.tile(np.eye(m), (subsets.shape[0], 1))  # E: the identity of every subset
    return _pinv(_design(other, subsets, d)) @ target  # eq. 46 / 47 in least-squares form


def _balance(alpha: NDArray, beta: NDArray) -> tuple[NDArray, NDArray]:
    """Unit rows: the loss depends on ``alpha_i``, ``beta_i`` only through ``d_i alpha_i
    beta_i^T`` and the next d-step absorbs the scale, so this keeps the least-squares systems
    well scaled without changing the iterates' products (the paper's Algorithm 1 and this one
    give the same codes up to these scalings, in exact arithmetic)."""
    na = np.linalg.norm(alpha, axis=-1, keepdims=True)
    nb = np.linalg.norm(beta, axis=-1, keepdims=True)
    return alpha / np.where(na > 0, na, 1.0), beta / np.where(nb > 0, nb, 1.0)


def _run(alpha: NDArray, beta: NDArray, subsets: NDArray, max_iter: int, tol: float,
         accelerate: bool) -> tuple[NDArray, NDArray, NDArray, list[NDArray]]:
    """Algorithm 1 from ``R`` starts at once (``alpha``, ``beta``: ``(R, P, m)``).

    Returns the final ``alpha``, ``beta``, ``d`` (``(R, ...)``) and, per start, the loss
    after every iteration.

    Each step is the exact minimiser over its block of variables, so the loss cannot increase
    in exact arithmetic; an iteration that rounding makes worse ends that start's run with its
    previous iterate, so every recorded history is non-increasing exactly. A start also ends
    when its loss is ``<= tol`` or drops by no more than ``tol`` times itself.

    ``accelerate=False`` is the paper's Algorithm 1 (d-step, then A, then B; MatDot Alg. 1).
    ``accelerate``: the infimum of (28) for ``k < 2m - 1`` is 0 but not attained (exact
    recovery needs ``2m - 1`` servers, Theorem 1; epsilon-MatDot reaches any loss > 0 only as
    its points shrink and its decoder grows). Plain alternating minimisation then crawls
    towards a degenerate code (loss ~ 1/iterations). After each iteration the step is
    extrapolated, ``x + s (x_new - x)``, with ``s`` growing while that helps and reset when it
    does not (a line search as used for alternating least squares in tensor decompositions);
    the extrapolated point is kept only if its loss is lower, so monotonicity is untouched.
    """
    alpha, beta = _balance(alpha, beta)
    d = optimal_decoders(alpha, beta, subsets)
    current = _losses(alpha, beta, subsets, d)
    histories: list[list[float]] = [[float(c)] for c in current]
    step = np.ones(len(current))
    active = np.isfinite(current)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        a0, b0 = _balance(alpha[idx], beta[idx])
        d_new = optimal_decoders(a0, b0, subsets)  # Alg. 1: d^(p) for every subset (Prop. 1 i)
        a1 = _block_step(b0, subsets, d_new)  # Alg. 1: A <- solution of Y_B A = diag(y) B
        b1 = _block_step(a1, subsets, d_new)  # Alg. 1: B <- solution of Y_A B = diag(y) A
        new = _losses(a1, b1, subsets, d_new)  # eq. 28
        if accelerate:
            s = step[idx, None, None]
            a2, b2 = a1 + s * (a1 - a0), b1 + s * (b1 - b0)
            d2 = optimal_decoders(a2, b2, subsets)
            trial = _losses(a2, b2, subsets, d2)
            better = trial < new
            a1 = np.where(better[:, None, None], a2, a1)
            b1 = np.where(better[:, None, None], b2, b1)
            d_new = np.where(better[:, None, None], d2, d_new)
            new = np.where(better, trial, new)
            step[idx] = np.where(better, step[idx] * 3.0, 1.0)
        old = current[idx]
        ok = np.isfinite(new) & (new <= old)  # else rounding made it worse: keep the previous
        keep = idx[ok]
        alpha[keep], beta[keep], d[keep] = a1[ok], b1[ok], d_new[ok]
        current[keep] = new[ok]
        for i, value in zip(keep, new[ok]):
            histories[i].append(float(value))
        done = ~ok | (new <= tol) | (old - new <= tol * old)
        active[idx[done]] = False
    d_final = optimal_decoders(alpha, beta, subsets)  # decoders matched to the final encodings
    final = _losses(alpha, beta, subsets, d_final)
    better = final < current
    d[better] = d_final[better]
    for i in np.flatnonzero(better):
        histories[i].append(float(final[i]))
    return alpha, beta, d, [np.asarray(h) for h in histories]


# --------------------------------------------------------------------------------------------
# the code object


@dataclass(frozen=True)
class OptimizedCode:
    """A linear approximate code: encodings, per-subset decoders and their loss.

    Attributes
    ----------
    m : int
        Number of inner blocks of ``A`` and ``B``.
    k : int
        Number of responding servers the decoders are built for.
    P : int
        Number of servers.
    alpha, beta : ndarray, shape (P, m)
        Encoding coefficients: server ``i`` stores ``sum_j alpha[i, j] A_j`` and
        ``sum_j beta[i, j] B_j`` (eq. 24).
    subsets : ndarray, shape (C(P, k), k)
        The sets ``S_p`` in lexicographic order.
    d : ndarray, shape (C(P, k), k)
        ``d[p]`` decodes from ``subsets[p]`` (Proposition 1 (i)).
    loss : float
        Objective (28), computed directly.
    loss_history : ndarray
        The loss after each iteration of the best run (non-increasing).
    metadata : dict
        JSON-able information (seed, restarts, iterations, ...).
    """

    m: int
    k: int
    P: int
    alpha: NDArray
    beta: NDArray
    subsets: NDArray
    d: NDArray
    loss: float
    loss_history: NDArray = field(default_factory=lambda: np.zeros(0))
    metadata: dict = field(default_factory=dict)

    def subset_index(self, subset: Sequence[int]) -> int:
        """Row of ``subsets`` equal to the sorted ``subset`` (InputError when absent)."""
        key = np.sort(np.asarray(subset, dtype=np.int64))
        hits = np.flatnonzero(np.all(self.subsets == key, axis=1)) \
            if key.shape == (self.k,) else np.zeros(0, dtype=np.int64)
        if hits.size == 0:
            raise InputError(f"subset {tuple(int(i) for i in key)} is not one of the "
                             f"{self.k}-subsets of {self.P} servers")
        return int(hits[0])

    def decoder(self, subset: Sequence[int]) -> tuple[NDArray, NDArray]:
        """Decoding vector for ``subset`` (sorted), from the table or by least squares.

        A ``k``-subset uses the stored ``d^(p)``; any other non-empty set of distinct servers
        gets the minimiser of ``||I - sum_i d_i alpha_i beta_i^T||_F`` (Proposition 1 (i)),
        so more (or fewer) than ``k`` results can be decoded too.

        Returns
        -------
        servers : ndarray of int
            The sorted subset.
        d : ndarray
            Weights aligned with ``servers``.
        """
        servers = _check_subset(subset, self.P)
        if servers.shape[0] == self.k:
            return servers, self.d[self.subset_index(servers)]
        return servers, optimal_decoders(self.alpha, self.beta, servers[None, :])[0]

    def subset_losses(self) -> NDArray:
        """``l^(p)`` of every stored subset (eq. 29)."""
        return subset_losses(self.alpha, self.beta, self.subsets, self.d)

    def decoder_norms(self) -> NDArray:
        """``||d^(p)||_2`` per subset: how much each decoder amplifies the servers' round-off."""
        return np.linalg.norm(self.d, axis=1)

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` as ``.npz`` (plain arrays, no pickle) with JSON metadata."""
        try:
            meta = json.dumps(self.metadata)
        except (TypeError, ValueError) as exc:
            raise InputError(f"metadata is not JSON-able: {exc}") from None
        with open(path, "wb") as fh:  # a file object: np.savez must not append ".npz"
            np.savez(fh, version=np.int64(_NPZ_VERSION), m=np.int64(self.m),
                     k=np.int64(self.k), P=np.int64(self.P), alpha=self.alpha, beta=self.beta,
                     subsets=self.subsets, d=self.d, loss=np.float64(self.loss),
                     loss_history=self.loss_history, metadata=np.array(meta))

    @classmethod
    def load(cls, path: str | os.PathLike) -> OptimizedCode:
        """Read a file written by :meth:`save`, validating every shape (``allow_pickle=False``)."""
        try:
            with np.load(path, allow_pickle=False) as npz:
                data = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read code file {os.fspath(path)!r}: {exc}") from None
        need = {"m", "k", "P", "alpha", "beta", "subsets", "d", "loss", "loss_history",
                "metadata"}
        missing = sorted(need - set(data))
        if missing:
            raise InputError(f"code file {os.fspath(path)!r} lacks {', '.join(missing)}")
        m, k, P = (int(data[key]) for key in ("m", "k", "P"))
        m, k, P = check_code_shape(m, k, P)
        n_sub = math.comb(P, k)
        for key, shape in (("alpha", (P, m)), ("beta", (P, m)), ("subsets", (n_sub, k)),
                           ("d", (n_sub, k))):
            if data[key].shape != shape:
                raise InputError(f"{key} in {os.fspath(path)!r} has shape {data[key].shape}, "
                                 f"expected {shape}")
        if not np.array_equal(data["subsets"], all_subsets(P, k)):
            raise InputError(f"subsets in {os.fspath(path)!r} are not the {k}-subsets of {P}")
        for key in ("alpha", "beta", "d"):
            if data[key].dtype.kind != "f" or not np.all(np.isfinite(data[key])):
                raise InputError(f"{key} in {os.fspath(path)!r} is not finite real")
        try:
            meta = json.loads(str(data["metadata"]))
        except ValueError as exc:
            raise InputError(f"metadata in {os.fspath(path)!r} is not JSON: {exc}") from None
        return cls(m=m, k=k, P=P, alpha=data["alpha"], beta=data["beta"],
                   subsets=data["subsets"], d=data["d"], loss=float(data["loss"]),
                   loss_history=np.asarray(data["loss_history"], dtype=np.float64),
                   metadata=meta)


def _check_subset(subset: Sequence[int], P: int) -> NDArray[np.int64]:
    try:
        servers = np.asarray(subset)
    except Exception:
        raise InputError(f"subset must be a sequence of server indices, got {subset!r}") from None
    if servers.ndim != 1 or servers.size == 0 or servers.dtype.kind not in "iu":
        raise InputError(f"subset must be a non-empty sequence of server indices, got {subset!r}")
    servers = np.sort(servers.astype(np.int64))
    if servers[0] < 0 or servers[-1] >= P:
        raise InputError(f"subset {servers.tolist()} has servers outside 0..{P - 1}")
    if np.any(np.diff(servers) == 0):
        raise InputError(f"subset {servers.tolist()} repeats a server")
    return servers


def code_from_coefficients(alpha: ArrayLike, beta: ArrayLike, k: int, *,
                           metadata: dict | None = None) -> OptimizedCode:
    """An :class:`OptimizedCode` from given encodings, with the optimal ``d^(p)`` (Prop. 1 i).

    Useful to evaluate a known code (e.g. real-point MatDot, :func:`matdot_coefficients`) in
    the framework of Section IV, or to warm-start :func:`optimize_code`.
    """
    a = np.asarray(alpha)
    b = np.asarray(beta)
    if a.ndim != 2 or a.shape != b.shape:
        raise InputError(f"alpha {a.shape} and beta {b.shape} must both be P x m")
    if a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        raise InputError("alpha and beta must be real (complex codes are outside eq. 28)")
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError("alpha or beta contains NaN or Inf")
    m, k, P = check_code_shape(a.shape[1], k, a.shape[0])
    subsets = all_subsets(P, k)
    d = optimal_decoders(a, b, subsets)
    return OptimizedCode(m=m, k=k, P=P, alpha=a, beta=b, subsets=subsets, d=d,
                         loss=loss(a, b, subsets, d), metadata=dict(metadata or {}))


def epsmatdot_start(m: int, k: int, P: int) -> tuple[NDArray, NDArray]:
    """epsilon-MatDot (MatDot Construction 2) as a start of Algorithm 1: ``(alpha, beta)``.

    Real Chebyshev points of the radius :func:`~dask_coded.kernels.matdot.tuned_design` picks
    for ``max(k, m)`` results (the float64 round-off trade-off), in the optimiser's form
    (:func:`~dask_coded.kernels.matdot.matdot_coefficients`: ``alpha[l, j] = lambda_l^j``,
    ``beta[l, j] = lambda_l^(m-1-j)``, MatDot eq. 14 as eq. 24). Its loss (28) is
    ``~rho^2`` per subset at ``k = m`` (5.4e-9 at (m, k, P) = (3, 3, 6)), far below where
    random starts stall there (issue 13: 12; MatDot Fig. 1 ~1), and ~0 for
    ``k >= 2m - 1``.
    """
    m, k, P = check_code_shape(m, k, P)
    if m > P:
        raise InputError(f"m={m} exceeds the number of servers P={P}")
    design = tuned_design(P, m, kind="real", k=max(k, m))
    return matdot_coefficients(design.points, m)


def optimize_code(m: int, k: int, P: int, *, restarts: int = RESTARTS,
                  max_iter: int = MAX_ITER, tol: float = 1e-14, seed: int | None = None,
                  init: tuple[ArrayLike, ArrayLike] | None = None, structured: bool = True,
                  accelerate: bool = True) -> OptimizedCode:
    """Algorithm 1 (alternating quadratic minimisation) from several starts; best run kept.

    Each iteration solves, in closed form (Proposition 1), for every ``d^(p)``, then ``alpha``,
    then ``beta``; each is the exact minimiser of (28) in its block, so the loss (computed
    directly) never increases. Rows of ``alpha`` and ``beta`` are normalised before each
    d-step (a rescaling the d-step absorbs) to keep the systems well scaled, and each closed
    form is solved as the least-squares problem whose normal equations it is. All starts run
    together (batched, :func:`_run`).

    Starts: ``init`` when given, the epsilon-MatDot code (:func:`epsmatdot_start`) unless
    ``structured=False``, and ``restarts`` random ones (standard normal ``alpha``, ``beta``,
    MatDot Algorithm 1). ``metadata["best_start"]`` names the start that won
    (``"init"``, ``"eps-matdot"`` or ``"random i"``), ``metadata["starts"]`` and
    ``metadata["restart_losses"]`` list every start and its final loss.

    Defaults: ``restarts=4``, ``max_iter=10_000`` (:data:`RESTARTS`, :data:`MAX_ITER`),
    chosen by measurement at k = 2m - 2, P = k + 1, where the authors' logs reach ~1e-6
    (2-core machine shared with other jobs, two runs, seed 0, accelerated)::

        (m, k, P)    best loss  won         random starts' best  seconds
        (2, 2, 3)    1.4e-15    eps-matdot  2.5e-6               6-12
        (3, 4, 5)    4.1e-15    eps-matdot  4.0e-6               11-12
        (4, 6, 7)    1.1e-12    eps-matdot  5.6e-6               17
        (5, 8, 9)    5.3e-11    eps-matdot  8.4e-6               25-40
        (6, 10, 11)  2.9e-11    eps-matdot  8.8e-6               38-39

    The eps-MatDot start wins everywhere (it needs 0-3 iterations; rounding then stops it),
    and the random starts alone are within 10x of the logs too, so the defaults stay there
    if the structured start is turned off. The old defaults (20 random x 2000) took 9-33 s
    for losses of 2e-5 to 4e-5. At k = m random starts mostly stall (12 at (3, 3, 6)); the
    eps-MatDot start gives 5.4e-9 there.

    Parameters
    ----------
    m, k, P : int
        Blocks, responding servers, servers (``1 <= k <= P``, ``m >= 1``).
    restarts : int
        Number of random starts (``>= 1``).
    max_iter : int
        Iterations per start (the paper ran 100000).
    tol : float
        Stop a start when its loss is ``<= tol`` or drops by ``<= tol`` times itself in an
        iteration.
    seed : int, optional
        Seeds the random starts.
    init : (alpha, beta), optional
        One more start (e.g. a code found earlier).
    structured : bool
        Also start from epsilon-MatDot (:func:`epsmatdot_start`).
    accelerate : bool
        Extrapolate each iteration's step when that lowers the loss (see :func:`_run`):
        measured 6-36x lower losses than plain for the same iterations (one random start,
        2000-30000 iterations, (2, 2, 3) and (3, 4, 5)); on Fig. 1's panel b (20 random
        starts x 10,000) 2.5e-6 to 8.6e-6 against plain's 6.7e-5 to 2.7e-4, better than plain
        at 100,000 (6.8e-6 to 2.7e-5). But at k = m its random starts escape the stall less
        often: (3, 3, 6), 20 starts x 3000 iterations, plain 3 below 1 (best 6.8e-3),
        accelerated none (best 10); the eps-MatDot start (5.4e-9) wins there either way.
        ``False`` is the paper's plain Algorithm 1.

    Returns
    -------
    OptimizedCode
    """
    m, k, P = check_code_shape(m, k, P)
    restarts = checks.integer("restarts", restarts, 1)
    max_iter = checks.integer("max_iter", max_iter, 0)
    tol = checks.real("tol", tol, low=0, finite=False)
    structured = bool(structured) and m <= P
    subsets = all_subsets(P, k)
    labels: list[str] = []
    starts: list[tuple[NDArray, NDArray]] = []
    if init is not None:
        first = code_from_coefficients(init[0], init[1], k)
        if (first.m, first.P) != (m, P):
            raise InputError(f"init has shape {first.alpha.shape}, expected {(P, m)}")
        labels.append("init")
        starts.append((first.alpha, first.beta))
    if structured:
        labels.append("eps-matdot")
        starts.append(epsmatdot_start(m, k, P))
    rng = np.random.default_rng(seed)
    for i in range(restarts):
        labels.append(f"random {i}")
        starts.append((rng.standard_normal((P, m)), rng.standard_normal((P, m))))
    alpha, beta, d, histories = _run(np.stack([s[0] for s in starts]),
                                     np.stack([s[1] for s in starts]), subsets, max_iter,
                                     float(tol), bool(accelerate))
    run_losses = [float(h[-1]) for h in histories]
    index = int(np.argmin(run_losses))
    history = histories[index]
    meta = {"algorithm": "alternating minimisation (MatDot Algorithm 1)", "seed": seed,
            "restarts": restarts, "max_iter": max_iter, "tol": float(tol),
            "starts": labels, "best_start": labels[index], "best_restart": index,
            "iterations": len(history) - 1, "restart_losses": run_losses,
            "warm_start": init is not None, "structured": structured,
            "accelerate": bool(accelerate)}
    return OptimizedCode(m=m, k=k, P=P, alpha=alpha[index], beta=beta[index], subsets=subsets,
                         d=d[index], loss=run_losses[index], loss_history=history,
                         metadata=meta)


# --------------------------------------------------------------------------------------------
# using a code


def encode(code: OptimizedCode, a_blocks: ArrayLike, b_blocks: ArrayLike
           ) -> tuple[NDArray, NDArray]:
    """Encodings of every server: ``(sum_j alpha_ij A_j, sum_j beta_ij B_j)`` (eq. 24).

    ``a_blocks`` (m, n, r) and ``b_blocks`` (m, r, k) as from
    :func:`dask_coded.kernels.matdot.split_inner`.
    """
    a_blk = np.asarray(a_blocks)
    b_blk = np.asarray(b_blocks)
    if a_blk.ndim != 3 or b_blk.ndim != 3 or a_blk.shape[0] != code.m \
            or b_blk.shape[0] != code.m or a_blk.shape[2] != b_blk.shape[1]:
        raise InputError(f"blocks {a_blk.shape} and {b_blk.shape} are not {code.m} inner blocks")
    return linear_encode(code.alpha, a_blk), linear_encode(code.beta, b_blk)


def server_products(enc_a: ArrayLike, enc_b: ArrayLike) -> NDArray:
    """Server ``i`` computes ``C~_i = (sum_j alpha_ij A_j)(sum_j beta_ij B_j)`` (Section IV-A)."""
    return np.matmul(enc_a, enc_b)


def decode_linear(code: OptimizedCode, results_by_server: Mapping[int, ArrayLike] | Any,
                  subset: Sequence[int]) -> NDArray:
    """``C_hat = sum_{i in S} d_i C~_i`` (eq. 8 with a linear ``d_S``).

    Parameters
    ----------
    code : OptimizedCode
    results_by_server : mapping or sequence
        ``results_by_server[i]`` is server ``i``'s result ``C~_i``; only the servers in
        ``subset`` are read (a dict of the arrivals, or a ``(P, n, k)`` stack whose other
        entries may be anything).
    subset : sequence of int
        The responding servers. A ``k``-subset uses the stored decoder; others are decoded by
        least squares (:meth:`OptimizedCode.decoder`).
    """
    servers, d = code.decoder(subset)
    try:
        parts = np.stack([np.asarray(results_by_server[int(i)]) for i in servers])
    except (KeyError, IndexError):
        raise InputError(f"results_by_server lacks a result of a server in "
                         f"{servers.tolist()}") from None
    except ValueError:
        raise InputError("the results of the subset have different shapes") from None
    if parts.ndim != 3:
        raise InputError(f"each result must be a matrix, got shape {parts.shape[1:]}")
    if not np.all(np.isfinite(parts)):
        raise InputError("results contain NaN or Inf")
    return np.tensordot(d, parts, axes=(0, 0))  # sum_i d_i C~_i (eq. 26)


def theorem5_bound(code: OptimizedCode, subset: Sequence[int], normA: float, normB: float,
                   *, sharp: bool = False) -> float:
    """Theorem 5: ``||C - C_hat_S||_F <= sqrt(l^(p)) * m * ||A||_F * ||B||_F`` (eq. 30).

    With ``normA``, ``normB`` the Frobenius norms (the paper's ``eta``). The proof's step (92),
    ``||A_i B_j|| <= ||A B||``, does not hold in general, but (94) follows from
    ``||A_i B_j|| <= ||A_i|| ||B_j|| <= ||A|| ||B||``, so the bound stands. Cauchy-Schwarz on
    (91), ``sum |E_ij| ||A_i|| ||B_j|| <= ||E||_F ||A||_F ||B||_F``, removes the factor ``m``:
    ``sharp=True`` returns that tighter bound. Neither counts floating-point round-off.
    """
    servers = _check_subset(subset, code.P)
    normA = checks.real("normA", normA, low=0)
    normB = checks.real("normB", normB, low=0)
    _, d = code.decoder(servers)
    ell = float(subset_losses(code.alpha, code.beta, servers[None, :], d[None, :])[0])  # (29)
    factor = 1.0 if sharp else float(code.m)
    return math.sqrt(ell) * factor * float(normA) * float(normB)  # eq. 30
