"""Coded approximate products by block sampling: CR-multiplication on an expansion network.

Pure numpy; no dask. The gradient-coding paper ("Gradient Coding through Iterative Block Leverage
Score Sampling", arXiv:2308.03096) closes (Section V) by proposing its expansion networks for
CR-multiplication (Drineas, Kannan and Mahoney, "Fast Monte Carlo algorithms for matrices I",
2006): a coded matrix product "of minimum variance" whose replication numbers come from the
sampling distribution of that paper. This module is that code's arithmetic.

``A`` (n x N) and ``B`` (N x k) are cut into ``m`` inner blocks as MatDot cuts them
(:func:`~dask_coded.kernels.matdot.split_inner`), so ``C = A B = sum_i X_i`` with
``X_i = A_i B_i``. Then:

* the sampling distribution is ``p_i = ||A_i||_F ||B_i||_F / sum_j ||A_j||_F ||B_j||_F``
  (:func:`sampling_distribution`; DKM's minimum-variance probabilities, for blocks);
* block pair ``i`` is replicated on ``r_i`` of the ``P`` servers by the expansion network of
  ``p`` (GC Sections III-C/D, eq. 19-22), inducing ``Pi-bar_i = r_i / P`` (eq. 15);
* a server holding block ``i`` stores ``(w_i A_i, w_i B_i)`` with the encoding weight
  ``w_i = 1 / sqrt(q Pi-bar_i)`` (GC eq. 23) and returns ``w_i^2 X_i = P / (q r_i) X_i``
  (the analogue of the encoded partial gradient, GC eq. 25), and the decoder sums the first
  ``q`` results (GC eq. 26) (:func:`sampled_coefficients`, :func:`decode_sampled`).

Write ``Y_l = (P / r_{b(l)}) X_{b(l)}`` for server ``l`` holding block ``b(l)``. The ``P``
values ``Y_l`` average to ``(1/P) sum_i r_i (P / r_i) X_i = C``; the sum of the first ``q``
results is the mean of ``q`` of them, drawn *without replacement*. With a uniformly random
first-``q`` subset (GC Theorem 2's premise) that mean is unbiased, and finite-population
sampling (Cochran, "Sampling Techniques", 3rd ed., Theorems 2.2 and 2.4, summed over the
entries) gives its mean squared error exactly, and an unbiased estimate of it from the
results alone (:func:`expected_mse`, :func:`decode_sampled`). When all ``P`` servers answer,
every block's ``r_i`` replicas sum to ``r_i P / (P r_i) X_i = X_i``: the product is exact.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError

__all__ = [
    "block_sq_norms",
    "decode_sampled",
    "expected_mse",
    "mse_bound",
    "population",
    "sampled_coefficients",
    "sampling_distribution",
]


def block_sq_norms(X: ArrayLike, m: int, axis: int) -> NDArray[np.float64]:
    """Squared Frobenius norms of the ``m`` inner blocks of one operand.

    The blocks are :func:`~dask_coded.kernels.matdot.split_inner`'s: width
    ``r = ceil(N / m)``, the last one shorter when ``m`` does not divide ``N`` (its zero
    padding adds nothing to a norm).

    Parameters
    ----------
    X : array_like, 2-D
        ``A`` (``axis=1``: its blocks are blocks of columns) or ``B`` (``axis=0``: blocks of
        rows).
    m : int
        Number of inner blocks, ``1 <= m <= N``.
    axis : {0, 1}
        The inner axis of ``X``.

    Returns
    -------
    ndarray of float64, shape (m,)
        ``||X_i||_F^2``; NaN or Inf where the block holds NaN or Inf (the caller names it).
    """
    x = np.asarray(X)
    if x.ndim != 2 or axis not in (0, 1):
        raise InputError(f"X must be 2-D and axis 0 or 1, got shape {x.shape} and axis {axis}")
    inner = x.shape[axis]
    if not 1 <= m <= inner:
        raise InputError(f"m must be in 1..{inner} (the inner dimension), got {m}")
    r = -(-inner // m)  # split_inner's block width
    out = np.zeros(m)
    for i in range(m):
        lo, hi = i * r, min((i + 1) * r, inner)
        if lo >= inner:
            continue
        blk = (x[:, lo:hi] if axis == 1 else x[lo:hi, :]).astype(np.float64, copy=False)
        out[i] = float(np.vdot(blk, blk))
    return out


def sampling_distribution(a_sq: ArrayLike, b_sq: ArrayLike) -> NDArray[np.float64]:
    """DKM's minimum-variance block probabilities ``p_i ~ ||A_i||_F ||B_i||_F``.

    Sampling ``q`` block pairs with replacement by ``p`` and rescaling each by
    ``1 / (q p_i)`` estimates ``A B`` with ``E||C_hat - C||_F^2 = (1/q) (sum_i ||A_i B_i||^2
    / p_i - ||C||^2)``; ``||A_i B_i||_F <= ||A_i||_F ||B_i||_F`` bounds it by
    ``(1/q) sum_i ||A_i||^2 ||B_i||^2 / p_i``, which this ``p`` minimises (Cauchy-Schwarz;
    DKM 2006, Lemma 4, for column-row pairs, where the bound is an equality). All-zero
    norms (``C = 0``) give the uniform distribution.

    Parameters
    ----------
    a_sq, b_sq : array_like, shape (m,)
        ``||A_i||_F^2`` and ``||B_i||_F^2`` (:func:`block_sq_norms`), finite and >= 0.

    Returns
    -------
    ndarray of float64, shape (m,)
        ``p``, summing to 1.
    """
    a = np.asarray(a_sq, dtype=np.float64)
    b = np.asarray(b_sq, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise InputError(f"a_sq and b_sq must be 1-D of one length, got shapes {a.shape} and "
                         f"{b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or np.any(a < 0) or np.any(b < 0):
        raise InputError("block norms must be finite and >= 0")
    # sqrt of each factor, not of their product: a_i * b_i may overflow where neither does
    w = np.sqrt(a) * np.sqrt(b)  # ||A_i||_F ||B_i||_F
    with np.errstate(over="ignore"):
        total = float(w.sum())
    if total == 0 or not np.isfinite(total):
        if total == 0:
            return np.full(a.size, 1.0 / a.size)
        w = w / w.max()  # the sum overflowed: scale first
        total = float(w.sum())
    return w / total


def sampled_coefficients(server_blocks: ArrayLike, weights: ArrayLike, m: int
                         ) -> NDArray[np.float64]:
    """Encoding coefficients of the sampled code as a linear code's (``P x m``).

    Server ``l`` holds ``alpha[l, b(l)] A_{b(l)}`` and ``alpha[l, b(l)] B_{b(l)}``: the
    expansion matrix E of GC eq. 20 (one 1 per row) times the diagonal encoder G of eq. 23.
    The same matrix serves as ``alpha`` and ``beta``.

    Parameters
    ----------
    server_blocks : array_like of int, shape (P,)
        The block of each server (``ExpansionNetwork.server_blocks``).
    weights : array_like of float, shape (m,)
        ``w_i = 1 / sqrt(q Pi-bar_i)`` (``ExpansionNetwork.encoding_weights(q)``).
    m : int

    Returns
    -------
    ndarray, shape (P, m)
    """
    blocks = np.asarray(server_blocks, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    if blocks.ndim != 1 or w.shape != (m,) or np.any(blocks < 0) or np.any(blocks >= m):
        raise InputError(f"server_blocks must index {m} blocks and weights have shape ({m},)")
    alpha = np.zeros((blocks.size, m))
    alpha[np.arange(blocks.size), blocks] = w[blocks]  # row l of E G (eq. 20, eq. 23)
    return alpha


def _check_counts(k: int, n_servers: int) -> None:
    if not 1 <= k <= n_servers:
        raise InputError(f"need 1 to {n_servers} results, got {k}")


def decode_sampled(results: ArrayLike, q: int, n_servers: int,
                   blocks: ArrayLike | None = None) -> tuple[NDArray[np.float64], float]:
    """``C_hat`` from the results of ``k`` distinct servers, and an estimate of its MSE.

    Parameters
    ----------
    results : array_like, shape (k, n, c)
        Server ``l``'s ``w_{b(l)}^2 X_{b(l)} = P / (q r_{b(l)}) X_{b(l)}``, encoded for
        ``q`` results; ``k`` may differ from ``q`` (a deadline took more, or fewer).
    q : int
        The ``q`` of the encoding weights (GC eq. 23).
    n_servers : int
        ``P``.
    blocks : array_like of int, shape (k,), optional
        The block each result comes from. Given, a sample of replicas of one block only
        gets the upper estimate below instead of the unbiased one (which is then 0).

    Returns
    -------
    c_hat : ndarray, shape (n, c)
        ``(q / k) sum_l results[l]``: the sum of GC eq. 26 when ``k = q``; for ``k != q`` the
        central server rescales, as the GC paper suggests when q varies (after eq. 26). It is the
        mean of ``k`` of the ``P`` values ``Y_l = q results[l]``, unbiased for ``C`` over a
        uniformly random set of ``k`` servers.
    mse : float
        For ``2 <= k < P``: ``(1 - k/P) s^2 / k`` with ``s^2 = sum_l ||Y_l - C_hat||_F^2 /
        (k - 1)``, an *unbiased* estimate of ``E||C_hat - C||_F^2`` (Cochran Thm. 2.4:
        ``E s^2 = S^2``, the population variance with divisor ``P - 1``; Thm. 2.2: the MSE is
        ``(1 - k/P) S^2 / k``). For ``k = P``: 0 (every block is summed exactly once; only
        round-off is left, which the caller adds).

        For ``k = 1`` no unbiased estimate exists, and where ``blocks`` shows every result to
        be a replica of one block, ``s^2 = 0`` says nothing of the blocks not seen; then the
        *upper* estimate ``U = (P - k) / (k (P - 1)) (1/k) sum_l ||Y_l||_F^2`` is returned:
        ``S^2 <= sum_l ||Y_l||^2 / (P - 1)`` over all ``P`` servers, and the sample mean of
        ``||Y_l||^2`` is unbiased for their mean, so ``U`` is an unbiased estimate of an
        upper bound of the MSE (at ``k = 1``, ``||C_hat||^2``: a relative error of 1).
        With such samples included the estimate is conservative, no longer unbiased.
    """
    y = np.asarray(results, dtype=np.float64)
    k = y.shape[0]
    _check_counts(k, n_servers)
    y = q * y  # Y_l = (P / r_l) X_l
    c_hat = y.mean(axis=0)
    if k == n_servers:
        return c_hat, 0.0
    one_block = k == 1 or (blocks is not None and len(np.unique(np.asarray(blocks))) == 1)
    if one_block:
        flat = y.reshape(k, -1)
        mean_sq = float(np.einsum("ij,ij->", flat, flat)) / k
        return c_hat, (n_servers - k) / (k * (n_servers - 1)) * mean_sq
    dev = (y - c_hat).reshape(k, -1)
    # Cochran Thm. 2.4: s^2 (divisor k - 1) is unbiased for S^2; summed over the entries
    s2 = float(np.einsum("ij,ij->", dev, dev)) / (k - 1)
    return c_hat, (1.0 - k / n_servers) * s2 / k  # Cochran Thm. 2.2 with s^2 for S^2


def population(block_products: ArrayLike, replicas: ArrayLike) -> NDArray[np.float64]:
    """The ``P`` values ``Y_l = (P / r_{b(l)}) X_{b(l)}`` whose mean the decoder estimates.

    Parameters
    ----------
    block_products : array_like, shape (m, n, c)
        ``X_i = A_i B_i``.
    replicas : array_like of int, shape (m,)
        ``r_i``; a block with ``r_i = 0`` must have ``X_i = 0`` (it is never summed).

    Returns
    -------
    ndarray, shape (P, n, c), in server order (block 0's replicas first).
    """
    x = np.asarray(block_products, dtype=np.float64)
    r = np.asarray(replicas, dtype=np.int64)
    if r.shape != (x.shape[0],) or np.any(r < 0) or r.sum() < 1:
        raise InputError(f"replicas must be {x.shape[0]} non-negative counts, not all zero")
    held = r > 0
    if np.any(x[~held]):
        raise InputError("a block with no replica has a nonzero product: the estimate is biased")
    P = int(r.sum())
    blocks = np.repeat(np.arange(r.size), r)
    return x[blocks] * (P / r[blocks]).reshape(-1, *([1] * (x.ndim - 1)))


def expected_mse(block_products: ArrayLike, replicas: ArrayLike, k: int) -> float:
    """``E||C_hat - C||_F^2`` exactly, for ``k`` of the ``P = sum r_i`` servers at random.

    ``(1 - k/P) S^2 / k`` with ``S^2 = sum_l ||Y_l - C||_F^2 / (P - 1)`` (Cochran Thm. 2.2;
    0 for ``P = 1``), needing every block's product: a reference for tests and tables.
    """
    y = population(block_products, replicas)
    P = y.shape[0]
    _check_counts(k, P)
    if P == 1:
        return 0.0
    c = y.mean(axis=0)
    dev = (y - c).reshape(P, -1)
    big_s2 = float(np.einsum("ij,ij->", dev, dev)) / (P - 1)
    return (1.0 - k / P) * big_s2 / k


def mse_bound(a_sq: ArrayLike, b_sq: ArrayLike, replicas: ArrayLike, k: int) -> float:
    """An a-priori bound on ``E||C_hat - C||_F^2`` from the block norms alone.

    ``S^2 <= sum_l ||Y_l||^2 / (P - 1) = (P / (P - 1)) sum_i (P / r_i) ||X_i||^2`` and
    ``||X_i|| <= ||A_i|| ||B_i||``, so ``MSE <= (P - k) / (k (P - 1)) sum_i (P / r_i)
    ||A_i||^2 ||B_i||^2``: with ``r_i / P ~ p_i`` of :func:`sampling_distribution` about
    ``(1 - (k-1)/(P-1)) (sum_i ||A_i|| ||B_i||)^2 / k``, DKM's bound with the
    finite-population correction of sampling without replacement.
    """
    a = np.asarray(a_sq, dtype=np.float64)
    b = np.asarray(b_sq, dtype=np.float64)
    r = np.asarray(replicas, dtype=np.int64)
    P = int(r.sum())
    _check_counts(k, P)
    if P == 1:
        return 0.0
    held = r > 0
    if np.any((a * b)[~held] > 0):
        raise InputError("a block with no replica has a nonzero norm: the estimate is biased")
    total = float(np.sum(P / r[held] * a[held] * b[held]))
    return (P - k) / (k * (P - 1)) * total
