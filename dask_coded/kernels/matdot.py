"""MatDot and epsilon-approximate MatDot codes for ``C = A B`` (MatDot Sections III-A to III-C).

Pure numpy; no dask. ``A`` (n x N) is cut into ``m`` column blocks and ``B`` (N x k) into ``m``
row blocks, so ``C = sum_i A_i B_i`` (:func:`split_inner`). Server ``l`` of ``P`` stores one
encoded block of each (1/m of each matrix, MatDot eq. 14) and returns their product, an
evaluation of the matrix polynomial ``p_C(x) = p_A(x) p_B(x)`` of degree ``2m - 2`` whose
``x^(m-1)`` coefficient is ``C`` (eq. 15).

* :func:`decode_exact` -- Construction 1: interpolate ``p_C`` from any ``2m - 1`` results.
* epsilon-MatDot -- Construction 2: decode from any ``m`` results with evaluation points close
  to 0. Points: :func:`paper_points` (eq. 17) or :func:`tuned_points` / :func:`tuned_design`
  (a radius chosen from the float round-off trade-off below). Decoders:
  :func:`decode_approx_interp` (Appendix B, Algorithm 1: minimum-norm interpolation with its
  failure test), :func:`decode_approx_direct` (fit the lowest ``K`` coefficients) and
  :func:`decode_anytime` (any ``K`` results, ``m <= K``, with an error estimate).
* :func:`converse_pair` -- the matrices of Theorem 4's proof (Appendix C) that defeat every
  decoder from ``m - 1`` results.

Floating point. Eq. 17 shrinks the points without limit as ``eps -> 0``; in float arithmetic
the result of a server is rounded at the scale of its largest term (``~||P_0||``, the ``x^0``
coefficient) while ``C`` enters it multiplied by ``lambda^(m-1)``. With points of modulus
``rho`` and ``K`` results the relative error is therefore about (:func:`expected_error`)::

    alias_const * rho^(K - m + 1)  +  round_const * u / rho^(m - 1)       (K < 2m - 1)

(the first term is the part of ``p_C`` beyond the ``K`` fitted coefficients, Section III-B; the
second the rounding ``u`` of the working dtype amplified by the interpolation). The best radius
gives ``~u^((K - m + 1) / K)``: ``~u^(1/m)`` with ``m`` results, so the reachable ``eps`` is
bounded below (:func:`achievable_epsilon`, :func:`check_epsilon`), and exact MatDot with
``2m - 1`` results at unit radius reaches ``~u``.

Real or complex points. The paper's points are real (the encodings map real blocks to real
blocks, eq. 4-5), and real points are the default here: Chebyshev points ``rho cos((2l+1) pi /
(2P))``. Complex points on a circle, ``rho exp(2 pi i l / P)`` (``kind="complex"``), interpolate
far better (the round-off constant stays ~1-2 instead of growing like a Vandermonde matrix on
an interval) and give ~2x smaller errors, but a complex encoded block is two real blocks: a
complex server stores 2/m of ``A`` and of ``B`` and does 3-4 real products, outside the paper's
model. (For ``m = 2`` the point ``i rho`` stores ``A_1`` and ``A_2`` in its real and imaginary
parts, and its result's imaginary part is ``rho C`` exactly.) At that memory, exact MatDot
with ``m/2`` blocks needs only ``m - 1`` results, so complex points are an option, not the
construction of Theorem 3. For real ``A`` and ``B`` every coefficient of ``p_C`` is real; a
decoder that returns a complex estimate ``c`` of a real ``C`` is improved by taking its real
part, since ``|Re(c) - C| <= |c - C|`` entrywise: the imaginary part is pure error (aliasing
and rounding), never signal.

Shapes: encoded blocks and server results are stacked on a leading server axis, ``results`` is
``(K, n, k)`` and ``points`` the ``K`` matching evaluation points. Relative errors are
Frobenius errors divided by ``||C||_F``; the error model assumes generic data, where the
coefficient matrices of ``p_C`` are not much larger than ``C`` (Lemma 3 bounds them by
``||A||_F ||B||_F``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ..errors import InputError
from . import checks

__all__ = [
    "ConversePair",
    "DecodingFailure",
    "InterpResult",
    "PointDesign",
    "achievable_epsilon",
    "check_epsilon",
    "check_operands",
    "converse_pair",
    "decode_anytime",
    "decode_approx_direct",
    "decode_approx_interp",
    "decode_exact",
    "encode",
    "encode_a",
    "encode_b",
    "encode_streamed",
    "exact_points",
    "expected_error",
    "linear_encode",
    "matdot_coefficients",
    "paper_points",
    "point_constants",
    "relative_error",
    "server_products",
    "split_inner",
    "tuned_design",
    "tuned_points",
    "unit_roundoff",
    "vandermonde_cond",
]

PointKind = Literal["complex", "real"]

#: Default multiplier of ``u * ||row of the inverse||_1 * max ||C~_i||_F`` in the round-off
#: part of :func:`decode_anytime`'s estimate. Measured ratio of the actual round-off error to
#: that product: 0.5-3.6 for inner block sizes 2..4096 (it grows slowly with the inner size).
ROUND_FACTOR = 4.0

#: Above this many subsets, :func:`point_constants` looks at the contiguous ones (the worst
#: conditioned: neighbouring points) plus a seeded random sample instead of all of them.
MAX_SUBSETS = 3000


class DecodingFailure(ArithmeticError):
    """Appendix B's Algorithm 1 declared failure: a min-norm solution exceeds the bound (74)."""


# --------------------------------------------------------------------------------------------
# validation


def _matrix(x: Any, name: str) -> NDArray[np.floating]:
    """A real, finite 2-D float array (integers are converted to float64)."""
    try:
        arr = np.asarray(x)
    except Exception:
        raise InputError(f"{name} must be an array, got {type(x).__name__}") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype.kind == "c":
        # The real-part step of the complex-point decoders is only right for real A and B.
        raise InputError(f"{name} has complex dtype {arr.dtype}; only real matrices are supported")
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise InputError(f"{name} has dtype {arr.dtype}; convert it to float64 first")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or Inf")
    return arr


def check_operands(A: ArrayLike, B: ArrayLike, m: int) -> tuple[NDArray, NDArray, int]:
    """Validate ``A`` (n x N), ``B`` (N x k) and the number of inner blocks ``m``.

    Returns
    -------
    A, B : ndarray
        Real finite float arrays.
    m : int
        The validated block count.

    Raises
    ------
    InputError
        Not 2-D, empty, complex, NaN/Inf, shapes that do not multiply, ``m < 1`` or ``m``
        larger than the inner dimension.
    """
    a = _matrix(A, "A")
    b = _matrix(B, "B")
    if a.shape[1] != b.shape[0]:
        raise InputError(f"A {a.shape} and B {b.shape} do not multiply: inner dimensions "
                         f"{a.shape[1]} and {b.shape[0]} differ")
    m = checks.integer("m", m, 1)
    if m > a.shape[1]:
        raise InputError(f"m={m} exceeds the inner dimension {a.shape[1]} of A @ B")
    return a, b, m


def _points(points: ArrayLike, *, distinct: bool = True) -> NDArray:
    """Evaluation points as a finite 1-D float or complex array."""
    pts = np.asarray(points)
    if pts.ndim != 1 or pts.size == 0:
        raise InputError(f"points must be a non-empty 1-D array, got shape {pts.shape}")
    if pts.dtype.kind not in "biufc":
        raise InputError(f"points have dtype {pts.dtype}; use real or complex numbers")
    if pts.dtype.kind in "biu":
        pts = pts.astype(np.float64)
    if not np.all(np.isfinite(pts)):
        raise InputError("points contain NaN or Inf")
    if distinct and pts.size > 1:
        gaps = np.abs(pts[:, None] - pts[None, :]) + np.eye(pts.size)
        if np.min(gaps) == 0:
            raise InputError("points must be distinct (two servers share an evaluation point)")
    return pts


def _results(results: Any, points: NDArray) -> NDArray:
    """Server results stacked as ``(K, n, k)``, matching the ``K`` points."""
    try:
        res = np.stack([np.asarray(r) for r in results]) if not isinstance(results, np.ndarray) \
            else results
    except ValueError:
        raise InputError("results have different shapes; every server returns n x k") from None
    if res.ndim != 3:
        raise InputError(f"results must be K matrices (a (K, n, k) stack), got shape {res.shape}")
    if res.shape[0] != points.shape[0]:
        raise InputError(f"got {res.shape[0]} results but {points.shape[0]} points")
    if res.dtype.kind not in "fc":
        res = res.astype(np.float64)
    if not np.all(np.isfinite(res)):
        raise InputError("results contain NaN or Inf")
    return res


def _fmt(x: float) -> str:
    """``1e-09`` -> ``1e-9``: numbers in messages as a person writes them."""
    return re.sub(r"e([+-])0*(\d)", lambda mo: "e" + mo.group(1).replace("+", "") + mo.group(2),
                  f"{x:g}")


def unit_roundoff(dtype: DTypeLike = np.float64) -> float:
    """Unit round-off ``u = eps / 2`` of a real or complex floating dtype."""
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        raise InputError(f"dtype must be floating point, got {dt}")
    return float(np.finfo(dt).eps) / 2.0


def _real_dtype(dtype: DTypeLike) -> np.dtype:
    """float32 for float32/complex64, float64 otherwise (what the decoders return)."""
    dt = np.dtype(dtype)
    return np.dtype(np.float32) if dt in (np.float32, np.complex64) else np.dtype(np.float64)


def relative_error(c_hat: ArrayLike, c: ArrayLike) -> float:
    """``||c_hat - c||_F / ||c||_F`` (the absolute error when ``c`` is zero)."""
    c = np.asarray(c)
    diff = float(np.linalg.norm(np.asarray(c_hat) - c))
    norm = float(np.linalg.norm(c))
    return diff / norm if norm > 0 else diff


# --------------------------------------------------------------------------------------------
# splitting and encoding


def split_inner(A: ArrayLike, B: ArrayLike, m: int) -> tuple[NDArray, NDArray]:
    """Split ``A`` into ``m`` column blocks and ``B`` into ``m`` row blocks (eq. 3, p = 1, q = m).

    When ``m`` does not divide the inner dimension ``N`` both are padded with zeros to
    ``m * ceil(N / m)``: the extra columns of ``A`` meet the extra rows of ``B``, and each such
    pair contributes ``0 * 0 = 0`` to every entry of ``A B``, so ``sum_i A_i B_i = A B``
    exactly (the padding changes neither the product nor its rounding).

    Parameters
    ----------
    A : array_like, shape (n, N)
    B : array_like, shape (N, k)
    m : int
        Number of blocks, ``1 <= m <= N``.

    Returns
    -------
    a_blocks : ndarray, shape (m, n, r)
        ``A_1, ..., A_m`` with ``r = ceil(N / m)``.
    b_blocks : ndarray, shape (m, r, k)
        ``B_1, ..., B_m``.
    """
    a, b, m = check_operands(A, B, m)
    n, inner = a.shape
    r = -(-inner // m)  # ceil(N / m): the remainder is padded with zeros (see above)
    pad = m * r - inner
    if pad:
        a = np.concatenate([a, np.zeros((n, pad), dtype=a.dtype)], axis=1)
        b = np.concatenate([b, np.zeros((pad, b.shape[1]), dtype=b.dtype)], axis=0)
    a_blocks = a.reshape(n, m, r).transpose(1, 0, 2)  # A = [A_1 ... A_m] (eq. 23)
    b_blocks = b.reshape(m, r, b.shape[1])  # B = [B_1; ...; B_m] (eq. 23)
    return np.ascontiguousarray(a_blocks), np.ascontiguousarray(b_blocks)


def matdot_coefficients(points: ArrayLike, m: int) -> tuple[NDArray, NDArray]:
    """MatDot's encoding coefficients as general linear-code coefficients (P x m each).

    ``alpha[l, j] = lambda_l^j`` and ``beta[l, j] = lambda_l^(m-1-j)`` (0-based ``j``), so that
    server ``l`` stores ``sum_j alpha[l, j] A_j = p_A(lambda_l)`` and ``sum_j beta[l, j] B_j =
    p_B(lambda_l)`` (eq. 14). The same form as the codes of Section IV (eq. 24).
    """
    pts = _points(points, distinct=False)
    m = checks.integer("m", m, 1)
    powers = np.arange(m).astype(pts.real.dtype)  # keep float32 points in float32
    alpha = pts[:, None] ** powers  # p_A(x) = sum_i A_i x^(i-1) (eq. 14)
    beta = pts[:, None] ** (m - 1 - powers)  # p_B(x) = sum_j B_j x^(m-j) (eq. 14)
    return alpha, beta


def linear_encode(coefficients: ArrayLike, blocks: ArrayLike) -> NDArray:
    """``out[l] = sum_j coefficients[l, j] * blocks[j]`` for every server ``l`` (eq. 6).

    Parameters
    ----------
    coefficients : array_like, shape (P, m)
    blocks : array_like, shape (m, ...)

    Returns
    -------
    ndarray, shape (P, ...)
        In the common dtype of both (complex for complex coefficients).
    """
    coef = np.asarray(coefficients)
    blk = np.asarray(blocks)
    if coef.ndim != 2 or coef.shape[1] != blk.shape[0]:
        raise InputError(f"coefficients {coef.shape} do not match {blk.shape[0]} blocks")
    return np.tensordot(coef, blk, axes=(1, 0))  # f_i(V_1..V_m) = sum_j gamma_ij V_j (eq. 6)


def encode_streamed(coefficients: ArrayLike, read: Callable[[int, int], NDArray], inner: int,
                    width: int, *, axis: int, panel: int | None = None) -> NDArray:
    """One server's encoded block ``sum_j coefficients[j] X_j`` (eq. 6), read block by block.

    The out-of-core form of :func:`linear_encode` on :func:`split_inner`'s blocks: ``X`` is
    ``width`` rows of A (``axis=1``: its inner blocks are blocks of columns) or ``width``
    columns of B (``axis=0``: blocks of rows), and ``read(lo, hi)`` returns its inner
    indices ``lo:hi`` (float64). Only blocks with a nonzero coefficient are read (one of
    ``m`` for an uncoded server). The last block, shorter when ``m`` does not divide
    ``inner``, is added into the first columns (rows) of the sum: split_inner's zero padding,
    without the zeros. With ``panel``, the inner axis is read ``panel`` indices at a time
    instead, each read added into every block it overlaps: a store chunked along the inner
    axis (or across it: A's full-width row chunks) is then decoded once, not once per block
    (m times for A's row chunks, which every column block cuts).

    Returns
    -------
    ndarray, shape (width, r) for ``axis=1``, (r, width) for ``axis=0``; ``r = ceil(inner / m)``
        float64, or complex128 for complex coefficients (points on a circle).
    """
    coef = np.asarray(coefficients)
    if coef.ndim != 1 or axis not in (0, 1):
        raise InputError(f"coefficients must be one server's row (got shape {coef.shape}) "
                         f"and axis 0 or 1 (got {axis})")
    r = -(-inner // len(coef))  # split_inner's block width
    dtype = np.complex128 if np.iscomplexobj(coef) else np.float64
    out = np.zeros((width, r) if axis == 1 else (r, width), dtype=dtype)
    if panel is not None:
        for p0 in range(0, inner, panel):
            p1 = min(p0 + panel, inner)
            # the blocks the panel overlaps with a nonzero coefficient: only their span is
            # read (an uncoded server's one block of B rows, not the panel's others)
            live = [j for j in range(p0 // r, (p1 - 1) // r + 1) if coef[j] != 0]
            if not live:
                continue
            lo, hi = max(p0, live[0] * r), min(p1, (live[-1] + 1) * r)
            _add_panel(out, coef, read(lo, hi), lo, hi, r, axis)
        return out
    for j, c in enumerate(coef):
        lo = j * r
        if lo >= inner or c == 0:
            continue
        hi = min(lo + r, inner)
        x = read(lo, hi)
        if axis == 1:
            out[:, :hi - lo] += c * x  # f_l = sum_j gamma_lj V_j (eq. 6), padding implicit
        else:
            out[:hi - lo, :] += c * x
    return out


def _add_panel(out: NDArray, coef: NDArray, x: NDArray, p0: int, p1: int, r: int,
               axis: int) -> None:
    """Add one read panel (inner indices ``p0:p1``) into ``out = sum_j coef[j] X_j`` (eq. 6).

    The blocks that lie wholly inside the panel are combined by one BLAS call (a
    matrix-vector product over the block axis: for A's row panels ``coef @ x`` on an
    ``(rows, blocks, r)`` view, for B's ``coef @ x`` on a ``(blocks, r * width)`` view), one
    pass over ``x`` instead of a scaled copy and an add per block (measured on 2048 x 2048,
    m = 4: 2.1-2.4 ms against 9.8-10.7 ms). A block the panel cuts, or the short last block,
    is added on its own. Complex coefficients combine the real panel with their real and
    imaginary parts separately: casting ``x`` to complex would copy it at twice its size.
    """
    j_lo = -(-p0 // r)  # first block starting inside the panel
    j_hi = j_lo
    while (j_hi + 1) * r <= p1:  # blocks ending inside it (a short last block never does)
        j_hi += 1
    full = range(j_lo, j_hi)
    if len(full):
        c = coef[j_lo:j_hi]
        lo, hi = j_lo * r - p0, j_hi * r - p0
        if axis == 1:
            view = x[:, lo:hi].reshape(x.shape[0], len(full), r)
        else:
            view = x[lo:hi].reshape(len(full), -1)
        parts = [(out.real, c.real), (out.imag, c.imag)] if np.iscomplexobj(c) else [(out, c)]
        for target, cc in parts:
            if np.any(cc != 0):
                s = np.matmul(cc, view)  # f_l = sum_j gamma_lj V_j (eq. 6), one BLAS call
                target += s if axis == 1 else s.reshape(target.shape)
    for j in range(p0 // r, (p1 - 1) // r + 1):
        if j in full or coef[j] == 0:
            continue
        lo, hi = max(p0, j * r), min(p1, (j + 1) * r)
        if axis == 1:  # f_l = sum_j gamma_lj V_j (eq. 6), the cut part of block j
            out[:, lo - j * r:hi - j * r] += coef[j] * x[:, lo - p0:hi - p0]
        else:
            out[lo - j * r:hi - j * r, :] += coef[j] * x[lo - p0:hi - p0, :]


def _check_servers(points: NDArray, m: int) -> None:
    if m > points.shape[0]:
        raise InputError(f"m={m} exceeds the number of servers P={points.shape[0]}")


def encode_a(a_blocks: ArrayLike, points: ArrayLike) -> NDArray:
    """Encoded ``A`` blocks ``p_A(lambda_l) = sum_i A_i lambda_l^(i-1)`` (eq. 14), (P, n, r)."""
    blk = np.asarray(a_blocks)
    pts = _points(points)
    _check_servers(pts, blk.shape[0])
    alpha, _ = matdot_coefficients(pts, blk.shape[0])
    return linear_encode(alpha, blk)


def encode_b(b_blocks: ArrayLike, points: ArrayLike) -> NDArray:
    """Encoded ``B`` blocks ``p_B(lambda_l) = sum_j B_j lambda_l^(m-j)`` (eq. 14), (P, r, k)."""
    blk = np.asarray(b_blocks)
    pts = _points(points)
    _check_servers(pts, blk.shape[0])
    _, beta = matdot_coefficients(pts, blk.shape[0])
    return linear_encode(beta, blk)


def encode(a_blocks: ArrayLike, b_blocks: ArrayLike, points: ArrayLike) -> tuple[NDArray, NDArray]:
    """Both encodings of Construction 1 at ``points`` (real or complex): ``(enc_a, enc_b)``."""
    a_blk = np.asarray(a_blocks)
    b_blk = np.asarray(b_blocks)
    if a_blk.ndim != 3 or b_blk.ndim != 3 or a_blk.shape[0] != b_blk.shape[0] \
            or a_blk.shape[2] != b_blk.shape[1]:
        raise InputError(f"blocks {a_blk.shape} and {b_blk.shape} are not split_inner output")
    return encode_a(a_blk, points), encode_b(b_blk, points)


def server_products(enc_a: ArrayLike, enc_b: ArrayLike) -> NDArray:
    """What every server computes: ``C~_l = p_A(lambda_l) p_B(lambda_l)`` (eq. 7), (P, n, k)."""
    return np.matmul(enc_a, enc_b)  # C~_i = A~_i B~_i (eq. 7)


# --------------------------------------------------------------------------------------------
# exact MatDot (Construction 1)


def exact_points(P: int, kind: PointKind = "real") -> NDArray:
    """Well-conditioned points for exact MatDot: Chebyshev points in (-1, 1), or roots of unity.

    Any ``2m - 1`` distinct points decode exactly (Construction 1); these keep the interpolation
    well conditioned (on the unit circle the full Vandermonde matrix is a unitary DFT).
    """
    P = checks.integer("P", P, 1)
    if kind == "complex":
        return np.exp(2j * np.pi * np.arange(P) / P)
    if kind == "real":
        return np.cos((2 * np.arange(P) + 1) * np.pi / (2 * P))
    raise InputError(f"kind must be 'complex' or 'real', got {kind!r}")


def _centre_scale(points: NDArray) -> tuple[complex | float, float]:
    """Centre and scale mapping the points into the unit disc / [-1, 1] for a stable basis."""
    if np.iscomplexobj(points):
        centre: complex | float = 0.0  # circle points: the origin is the natural centre
        scale = float(np.max(np.abs(points)))
    else:
        lo, hi = float(points.min()), float(points.max())
        centre = (lo + hi) / 2.0
        scale = (hi - lo) / 2.0 if hi > lo else max(abs(lo), 1.0)
    return centre, scale if scale > 0 else 1.0


def _monomial_row(points: NDArray, n_coeffs: int, target: int) -> tuple[NDArray, float]:
    """Weights ``g`` with ``sum_l g_l p(x_l)`` = the ``x^target`` coefficient of ``p``.

    ``p`` has degree ``n_coeffs - 1`` and ``len(points) >= n_coeffs``. Solved in the centred and
    scaled basis ``t = (x - c) / s`` (well conditioned), then mapped back:
    ``[x^j] p = sum_{i >= j} b_i binom(i, j) (-c)^(i-j) / s^i`` for ``p = sum_i b_i t^i``.
    Returns the weights and the condition number of the scaled Vandermonde matrix.
    """
    centre, scale = _centre_scale(points)
    t = (points - centre) / scale
    vander = t[:, None] ** np.arange(n_coeffs)  # Vander(lambda, 2m-1)^T in the scaled basis (50)
    q, r = np.linalg.qr(vander)  # QR, backward stable (see _ls_row)
    pinv = np.linalg.solve(r, q.conj().T)  # rows: the t-coefficients as maps of the values
    weights = np.zeros(points.shape[0], dtype=pinv.dtype)
    for i in range(target, n_coeffs):
        weights = weights + pinv[i] * (math.comb(i, target) * (-centre) ** (i - target)
                                       / scale ** i)
    return weights, float(np.linalg.cond(vander))


def vandermonde_cond(points: ArrayLike, n_coeffs: int) -> float:
    """Condition number of the centred and scaled Vandermonde matrix the exact decoder solves."""
    pts = _points(points)
    return _monomial_row(pts, checks.integer("n_coeffs", n_coeffs, 1), 0)[1]


def _finish(c_hat: NDArray, real_dtype: np.dtype, real_output: bool) -> NDArray:
    """Real part for real ``A``, ``B`` (module docstring: the imaginary part is pure error)."""
    if real_output and np.iscomplexobj(c_hat):
        c_hat = c_hat.real
    return c_hat.astype(real_dtype if not np.iscomplexobj(c_hat) else c_hat.dtype, copy=False)


def decode_exact(results: Any, points: ArrayLike, m: int, *, return_cond: bool = False,
                 real_output: bool = True) -> NDArray | tuple[NDArray, float]:
    """Exact MatDot decoding (Construction 1) from ``K >= 2m - 1`` results.

    Interpolates the degree-``(2m-2)`` polynomial ``p_C`` (eq. 15) and returns its ``x^(m-1)``
    coefficient ``C``. The Vandermonde system is solved in a centred, scaled basis (points
    mapped into the unit disc / [-1, 1]); with more than ``2m - 1`` results it is a least
    squares fit.

    Parameters
    ----------
    results : array_like, shape (K, n, k)
        Server results ``C~_l``.
    points : array_like, shape (K,)
        Their distinct evaluation points.
    m : int
    return_cond : bool
        Also return the condition number of the scaled Vandermonde matrix.
    real_output : bool
        Return the real part for complex points (right for real ``A``, ``B``).

    Returns
    -------
    C : ndarray, shape (n, k)
    cond : float
        Only with ``return_cond``.
    """
    pts = _points(points)
    flats, shape, dtype, _ = _checked_rows(results, pts)
    out, cond = _decode_exact_rows(flats, shape, dtype, pts, checks.integer("m", m, 1),
                                   real_output)
    return (out, cond) if return_cond else out


def _decode_exact_rows(flats: list[NDArray], shape: tuple, dtype: np.dtype, pts: NDArray,
                       m: int, real_output: bool) -> tuple[NDArray, float]:
    """:func:`decode_exact` on checked flat results (:func:`_checked_rows`)."""
    K = pts.shape[0]
    if K < 2 * m - 1:
        raise InputError(f"exact MatDot needs 2m-1={2 * m - 1} results for m={m}, got {K}")
    weights, cond = _monomial_row(pts, 2 * m - 1, m - 1)  # C = [x^(m-1)] p_C (eq. 15)
    _, c_flat = _streamed_combinations(np.zeros((0, K)), flats, weights)
    return _finish(c_flat.reshape(shape), _real_dtype(dtype), real_output), cond


# --------------------------------------------------------------------------------------------
# epsilon-MatDot points (Construction 2)


def paper_points(P: int, m: int, eps: float, eta: float = 1.0) -> NDArray:
    """Real points satisfying eq. 17, ``|lambda| < eps / (6 eta^2 sqrt(2m-1) (m-1) m)``.

    Chebyshev points of that interval, so all ``P`` are distinct and strictly inside. For
    ``m = 1`` eq. 17 puts no limit (``m - 1 = 0``) and Chebyshev points of (-1, 1) are returned.
    ``eps`` is the paper's entrywise absolute error for ``||A||_F, ||B||_F <= eta`` and must
    satisfy eq. 16. The rule ignores rounding: for small ``eps`` or larger ``m`` the points are
    so small that float round-off (``~u / |lambda|^(m-1)``) swamps the result; see
    :func:`tuned_points`.
    """
    P = checks.integer("P", P, 1)
    m = checks.integer("m", m, 1)
    eps = checks.positive("eps", eps)
    eta = checks.positive("eta", eta)
    if m > P:
        raise InputError(f"m={m} exceeds the number of servers P={P}")
    upper = min(2.0, 3.0 * eta ** 2 * math.sqrt(2 * m - 1))  # eq. 16
    if eps >= upper:
        raise InputError(f"eps={eps:g} must be below min(2, 3 eta^2 sqrt(2m-1))={upper:g} "
                         f"(eq. 16)")
    cheb = np.cos((2 * np.arange(P) + 1) * np.pi / (2 * P))  # |cos| < 1: strict inequality
    if m == 1:
        return cheb
    radius = eps / (6.0 * eta ** 2 * math.sqrt(2 * m - 1) * (m - 1) * m)  # eq. 17
    return radius * cheb


def _unit_points(P: int, kind: PointKind) -> NDArray:
    if kind not in ("complex", "real"):
        raise InputError(f"kind must be 'complex' or 'real', got {kind!r}")
    return exact_points(P, kind)


def _direct_weights(t: NDArray, m: int) -> tuple[NDArray, NDArray]:
    """Direct-solve weights on points ``t`` (``|t| <= 1``): estimator row and alias row.

    Fits the lowest ``K = len(t)`` coefficients of a degree-``(2m-2)`` polynomial. Returns
    ``g`` (``[t^(m-1)]`` estimate = ``g . values``) and ``w`` (``w[l]`` = weight with which the
    neglected coefficient of ``t^(K+l)`` leaks into that estimate, Section III-B, eq. 21).
    """
    K = t.shape[0]
    low = t[:, None] ** np.arange(K)
    high = t[:, None] ** np.arange(K, max(K, 2 * m - 1))
    g = _ls_row(low, m - 1)  # row m-1 of low^-1 (eq. 21: R(x) from K values)
    return g, g @ high


def _subsets(P: int, K: int, kind: PointKind) -> list[tuple[int, ...]]:
    """All K-subsets of P servers, or the contiguous ones plus a seeded sample when too many."""
    if math.comb(P, K) <= MAX_SUBSETS:
        return list(itertools.combinations(range(P), K))
    # Neighbouring points are the worst conditioned, so contiguous windows are always included.
    starts = range(P) if kind == "complex" else range(P - K + 1)
    out = {tuple(sorted((s + j) % P for j in range(K))) for s in starts}
    rng = np.random.default_rng(0)
    while len(out) < MAX_SUBSETS:
        out.add(tuple(sorted(rng.choice(P, size=K, replace=False).tolist())))
    return sorted(out)


def point_constants(P: int, m: int, K: int, kind: PointKind = "real") -> tuple[float, float]:
    """Worst-subset constants of the error model for ``K`` of ``P`` unit-radius points.

    ``alias_const = max_S ||w||_2`` and ``round_const = max_S ||g||_2`` over the ``K``-subsets
    ``S`` (:func:`_direct_weights` at radius 1: ``g`` the estimator of the ``x^(m-1)``
    coefficient, ``w`` the weights of the neglected coefficients in it). At radius ``rho`` the
    alias weights scale as ``rho^(l - m + 1) <= rho^(K - m + 1)`` and the estimator as
    ``rho^-(m-1)``, which gives :func:`expected_error`'s two terms. 2-norms, because for
    generic data the neglected coefficients and the rounding errors of different servers add
    like independent terms (measured: the model stays above the worst-subset error of random
    data, by 1.2-2x for complex points and 2-8x for real ones, m = 2..8).
    :func:`decode_anytime` uses 1-norms, an upper estimate. With ``K >= 2m - 1`` there is no
    aliasing and the exact least-squares estimator is used.
    """
    P = checks.integer("P", P, 1)
    m = checks.integer("m", m, 1)
    K = checks.integer("K", K, m)
    if K > P:
        raise InputError(f"K={K} exceeds the number of servers P={P}")
    unit = _unit_points(P, kind)
    alias, rnd = 0.0, 0.0
    for subset in _subsets(P, K, kind):
        t = unit[list(subset)]
        if K >= 2 * m - 1:
            g = np.linalg.pinv(t[:, None] ** np.arange(2 * m - 1))[m - 1]
            w = np.zeros(0)
        else:
            g, w = _direct_weights(t, m)
        alias = max(alias, float(np.linalg.norm(w)))
        rnd = max(rnd, float(np.linalg.norm(g)))
    return alias, rnd


def expected_error(m: int, K: int, rho: float, dtype: DTypeLike = np.float64, *,
                   alias_const: float = 1.0, round_const: float = 1.0) -> float:
    """Model relative error of epsilon-MatDot with ``K`` results at points of modulus ``rho``.

    ``alias_const * rho^(K-m+1) + round_const * u / rho^(m-1)`` for ``K < 2m - 1`` (the
    neglected ``x^K, ...`` terms of eq. 21 plus rounding amplified by the interpolation) and
    ``round_const * u / rho^(m-1)`` for ``K >= 2m - 1`` (exact, Construction 1). Unit constants
    are the generic geometry; :func:`point_constants` gives a point set's worst-subset ones.
    At the best ``rho`` this is ``~u^((K-m+1)/K)``, and ``~u`` at ``K = 2m - 1``, ``rho = 1``.
    """
    m = checks.integer("m", m, 1)
    K = checks.integer("K", K, m)
    rho = checks.positive("rho", rho)
    u = unit_roundoff(dtype)
    rounding = round_const * u / rho ** (m - 1)  # round-off at the x^0 scale / lambda^(m-1)
    if K >= 2 * m - 1:
        return rounding
    return alias_const * rho ** (K - m + 1) + rounding  # eq. 21: x^m Q(x) is the alias


@dataclass(frozen=True)
class PointDesign:
    """Evaluation points of a tuned epsilon-MatDot code and the error they are expected to give.

    Attributes
    ----------
    points : ndarray, shape (P,)
    rho : float
        Their modulus (radius of the circle, or half-width of the real interval).
    m, k : int
        Blocks, and the number of results the radius was tuned for.
    kind : {"complex", "real"}
    dtype : numpy dtype
        Working precision the radius was tuned for.
    alias_const, round_const : float
        Worst-subset constants (:func:`point_constants`) at ``k`` results.
    expected_error : float
        Model relative error at ``k`` results (:func:`expected_error`).
    """

    points: NDArray
    rho: float
    m: int
    k: int
    kind: str
    dtype: np.dtype
    alias_const: float
    round_const: float
    expected_error: float

    def expected_at(self, K: int) -> float:
        """Model error of these points when ``K`` results arrive (anytime decoding)."""
        P = self.points.shape[0]
        a, r = point_constants(P, self.m, min(K, P), self.kind)  # type: ignore[arg-type]
        return expected_error(self.m, K, self.rho, self.dtype, alias_const=a, round_const=r)


def _best_rho(m: int, K: int, u: float, alias_const: float, round_const: float) -> float:
    """Minimiser over ``(0, 1]`` of ``a rho^q + r u / rho^(m-1)``, ``q = K - m + 1``."""
    if K >= 2 * m - 1 or m == 1 or alias_const == 0:
        return 1.0  # no aliasing: the largest radius has the least round-off
    q = K - m + 1
    # d/drho = 0  <=>  q a rho^(q-1) = (m-1) r u rho^-m  <=>  rho^K = (m-1) r u / (q a)
    rho = ((m - 1) * round_const * u / (q * alias_const)) ** (1.0 / K)
    return min(rho, 1.0)


def tuned_design(P: int, m: int, dtype: DTypeLike = np.float64, kind: PointKind = "real", *,
                 k: int | None = None) -> PointDesign:
    """Chebyshev points (or points on a circle) of the radius that minimises the model error.

    ``real``: ``rho * cos((2l + 1) pi / (2P))``; ``complex``: ``rho * exp(2 pi i l / P)`` (2/m
    storage per server, see the module docstring). The
    radius minimises :func:`expected_error` with the worst-subset constants of the point set
    for ``k`` results (default ``m``, the epsilon-MatDot threshold). Tuning for ``k > m``
    makes ``m`` results worse and ``k`` results better (see :func:`decode_anytime`).

    Parameters
    ----------
    P : int
        Number of servers, ``P >= m``.
    m : int
    dtype : dtype
        Working precision of the servers (its ``u`` sets the round-off term).
    kind : {"complex", "real"}
    k : int, optional
        Number of results to tune for, ``m <= k <= P``.
    """
    P = checks.integer("P", P, 1)
    m = checks.integer("m", m, 1)
    if m > P:
        raise InputError(f"m={m} exceeds the number of servers P={P}")
    k = m if k is None else checks.integer("k", k, m)
    if k > P:
        raise InputError(f"k={k} exceeds the number of servers P={P}")
    u = unit_roundoff(dtype)
    alias_const, round_const = point_constants(P, m, k, kind)
    rho = _best_rho(m, k, u, alias_const, round_const)
    err = expected_error(m, k, rho, dtype, alias_const=alias_const, round_const=round_const)
    return PointDesign(points=rho * _unit_points(P, kind), rho=rho, m=m, k=k, kind=kind,
                       dtype=np.dtype(dtype), alias_const=alias_const, round_const=round_const,
                       expected_error=err)


def tuned_points(P: int, m: int, dtype: DTypeLike = np.float64, kind: PointKind = "real", *,
                 k: int | None = None) -> NDArray:
    """The points of :func:`tuned_design` (see there)."""
    return tuned_design(P, m, dtype, kind, k=k).points


def achievable_epsilon(m: int, dtype: DTypeLike = np.float64, *, P: int | None = None,
                       kind: PointKind = "real") -> float:
    """Smallest model relative error reachable from ``m`` results in ``dtype``.

    The best-radius value of :func:`expected_error` with ``K = m`` for ``P`` servers (default
    ``m + 1``, the best-conditioned case) of the given kind: ``~u^(1/m)``. For real points
    the model is pessimistic by 2-8x (m = 2..8), so this refuses on the safe side.
    """
    m = checks.integer("m", m, 1)
    return tuned_design(m + 1 if P is None else P, m, dtype, kind).expected_error


def check_epsilon(eps: float, m: int, dtype: DTypeLike = np.float64, *, P: int | None = None,
                  kind: PointKind = "real") -> float:
    """Raise InputError unless relative error ``eps`` is reachable from ``m`` results.

    Returns the achievable error (:func:`achievable_epsilon`) when it is.
    """
    eps = checks.positive("eps", eps)
    best = achievable_epsilon(m, dtype, P=P, kind=kind)
    if eps < best:
        raise InputError(f"eps={_fmt(eps)} is below what {np.dtype(dtype).name} allows for "
                         f"m={m} with m results (~{best:.1e}); ask for more results or a "
                         f"smaller m")
    return best


# --------------------------------------------------------------------------------------------
# epsilon-MatDot decoders


class InterpResult(NamedTuple):
    """Output of :func:`decode_approx_interp`.

    c_hat : (n, k) estimate of ``C``, entry ``[i, j]`` the ``x^(m-1)`` coefficient of the
        minimum-norm solution (eq. 86).
    failed : (n, k) bool, the entries for which Algorithm 1 declares failure.
    coef_norm : (n, k) the norms ``||a_hat||_2`` tested against ``sqrt(2m-1) eta^2`` (eq. 74).
    """

    c_hat: NDArray
    failed: NDArray
    coef_norm: NDArray


def decode_approx_interp(results: Any, points: ArrayLike, m: int, eta: float, *,
                         on_failure: Literal["raise", "flag"] = "raise",
                         real_output: bool = True) -> InterpResult:
    """Appendix B, Algorithm 1: minimum-norm interpolation of every entry's polynomial.

    For every entry ``[i, j]``, ``a_hat = argmin ||a||_2`` subject to ``a V = y_[i,j]`` (eq. 86)
    with ``V = Vander(lambda^(succ), 2m - 1)`` (eq. 50: the ``2m - 1`` coefficients of the
    degree-``(2m-2)`` polynomial ``p_C``; the appendix's "2m - 2" counts the degree, its
    eq. 50 counts rows). If ``||a_hat||_2 > sqrt(2m-1) eta^2`` failure is declared (Lemma 3,
    eq. 74 bounds the true coefficients by that); otherwise ``C_hat[i, j] = a_hat[m]``, the
    ``x^(m-1)`` coefficient (eq. 89). With more than ``2m - 1`` results the system is solved
    in the least-squares sense.

    In exact arithmetic the test cannot fail when ``||A||_F, ||B||_F <= eta``: the true
    coefficients are feasible, so the minimum norm is at most theirs. It fires when the inputs
    break the norm bound (2) or rounding breaks the solve.

    Parameters
    ----------
    results : array_like, shape (K, n, k)
    points : array_like, shape (K,)
        Real (as in the appendix) or complex.
    m : int
    eta : float
        Bound on ``||A||_F`` and ``||B||_F`` (eq. 2).
    on_failure : {"raise", "flag"}
        Raise :class:`DecodingFailure` when any entry fails, or return the flags.
    real_output : bool
        Real part for complex points.

    Returns
    -------
    InterpResult
    """
    pts = _points(points)
    res = _results(results, pts)
    m = checks.integer("m", m, 1)
    eta = checks.positive("eta", eta)
    if on_failure not in ("raise", "flag"):
        raise InputError(f"on_failure must be 'raise' or 'flag', got {on_failure!r}")
    K = pts.shape[0]
    if K < m:
        raise InputError(f"epsilon-MatDot needs at least m={m} results, got {K}")
    n_coeffs = 2 * m - 1
    y = res.reshape(K, -1)
    vander = pts[None, :] ** np.arange(n_coeffs)[:, None]  # V = Vander(lambda^(succ), 2m-1) (50)
    if K <= n_coeffs:
        # min ||a|| s.t. V^T a = y: with V.conj() = Q R, V^T = R^H Q^H, so a = Q R^-H y (eq. 86).
        q, r = np.linalg.qr(vander.conj())
        z = np.linalg.solve(r.conj().T, y)
        coeffs = q @ z
    else:
        coeffs = np.linalg.lstsq(vander.T, y, rcond=None)[0]
    coef_norm = np.linalg.norm(coeffs, axis=0).reshape(res.shape[1:])
    bound = math.sqrt(2 * m - 1) * eta ** 2  # Lemma 3, eq. 74
    failed = coef_norm > bound  # "If ||a||_2 > sqrt(2m-1) eta^2, declare failure" (Alg. 1)
    if on_failure == "raise" and np.any(failed):
        raise DecodingFailure(f"Algorithm 1 failed on {int(failed.sum())} of {failed.size} "
                              f"entries: ||a_hat|| up to {coef_norm.max():.3g} > "
                              f"sqrt(2m-1) eta^2 = {bound:.3g}")
    c_hat = coeffs[m - 1].reshape(res.shape[1:])  # C_hat[i, j] = a_hat[m] (eq. 89)
    return InterpResult(_finish(c_hat, _real_dtype(res.dtype), real_output), failed, coef_norm)


def _scaled(points: NDArray) -> tuple[NDArray, float]:
    """Points divided by their largest modulus: the fit is done in ``t = x / s``, ``|t| <= 1``.

    Centring is not allowed here: the approximation (eq. 21) rests on ``x`` being small, so
    only a scaling keeps the truncated monomial structure.
    """
    s = float(np.max(np.abs(points)))
    return points / s, s


def decode_approx_direct(results: Any, points: ArrayLike, m: int, *,
                         real_output: bool = True) -> NDArray:
    """Direct epsilon-MatDot decoding: fit the lowest ``K`` coefficients, return ``x^(m-1)``'s.

    With ``K`` results (``m <= K < 2m - 1``), ``p_C(x) = R(x) + x^K Q(x)`` and the ``x^K Q``
    part is neglected (Section III-B, eqs. 20-21 with ``P(x) = x^K``): the ``K x K`` Vandermonde
    system for ``R`` is solved in the scaled variable ``t = x / max|x|``, and
    ``[x^(m-1)] = [t^(m-1)] / s^(m-1)``. With ``K >= 2m - 1`` this is exact MatDot.
    """
    pts = _points(points)
    flats, shape, dtype, _ = _checked_rows(results, pts)
    m = checks.integer("m", m, 1)
    K = pts.shape[0]
    if K < m:
        raise InputError(f"epsilon-MatDot needs at least m={m} results, got {K}")
    if K >= 2 * m - 1:
        return _decode_exact_rows(flats, shape, dtype, pts, m, real_output)[0]
    t, s = _scaled(pts)
    g, _ = _direct_weights(t, m)
    # [x^(m-1)] = [t^(m-1)] / s^(m-1)
    _, c_flat = _streamed_combinations(np.zeros((0, K)), flats, g / s ** (m - 1))
    return _finish(c_flat.reshape(shape), _real_dtype(dtype), real_output)


def _ls_row(vander: NDArray, row: int) -> NDArray:
    """Row ``row`` of ``pinv(vander)`` (full column rank) through a QR factorisation.

    The weights must reproduce the moment conditions ``sum_i g_i t_i^j = delta_(j,row)`` to
    working precision: the ``x^0`` coefficient, the largest, cancels only through them. QR is
    backward stable; an SVD pseudo-inverse loses a factor ~3 here (measured, m = 2).
    ``pinv = R^-1 Q^H``, so its row is ``conj(Q) R^-T e_row``.
    """
    q, r = np.linalg.qr(vander)
    return np.conj(q) @ np.linalg.solve(r.T, np.eye(r.shape[0])[row])


def _order_weights(points: NDArray, m: int, order: int) -> tuple[NDArray, NDArray, float]:
    """Estimator of ``[x^(m-1)] p_C`` fitting the lowest ``order`` coefficients to all values.

    Least squares over all ``K >= order`` points in the scaled variable ``t = x / s``. Returns
    ``g`` (``C_hat = g . values``, in x-units), the weights ``w`` with which the neglected
    ``x^l`` coefficients (``order <= l <= 2m - 2``) enter ``C_hat`` (x-units), and ``s``.
    ``order = 2m - 1`` is exact MatDot and uses :func:`decode_exact`'s centred basis.
    """
    if order >= 2 * m - 1:
        g, _ = _monomial_row(points, 2 * m - 1, m - 1)
        return g, np.zeros(0), 1.0
    t, s = _scaled(points)
    vander = t[:, None] ** np.arange(2 * m - 1)
    g_t = _ls_row(vander[:, :order], m - 1)  # LS fit of R(x), eq. 21 with P(x) = x^order
    w_t = g_t @ vander[:, order:]  # how x^order Q(x) leaks into the estimate (eq. 21)
    scale = s ** (np.arange(order, 2 * m - 1) - (m - 1))  # t-weights to x-units
    return g_t / s ** (m - 1), w_t * scale, s


def decode_anytime(results: Any, points: ArrayLike, m: int, *, norm_ab: float | None = None,
                   order: int | None = None, round_factor: float = ROUND_FACTOR,
                   real_output: bool = True) -> tuple[NDArray, float]:
    """Decode from all ``K >= m`` available results, with an estimate of the error.

    The lowest ``order`` coefficients of ``p_C`` are fitted by least squares to all ``K``
    results, for every ``order`` from ``m`` to ``min(K, 2m - 1)``, and the fit with the smallest
    error estimate is returned. ``order = K < 2m - 1`` is :func:`decode_approx_direct`; ``order
    = 2m - 1`` (possible once ``K >= 2m - 1``) is exact MatDot, :func:`decode_exact`. More
    results shrink the aliasing of a fit (``~rho^(order-m+1)``) and average the round-off, so
    the error decreases with ``K``. The exact path is not forced at ``K >= 2m - 1``: with points
    tuned for ``m`` results its round-off, ``~u / rho^(m-1)`` times the larger weights of a
    ``2m - 1``-coefficient fit, can exceed the error of a lower order; at unit radius it wins.
    Pass ``order`` to force one.

    The estimate (absolute Frobenius error) of a fit is ``alias + rounding``:

    * ``alias = sum_l |w_l| * S``, ``w_l`` the exact weight with which the neglected
      coefficient of ``x^l`` leaks into the estimate for these points, and ``S`` a size for
      those coefficients: ``norm_ab`` when given (Lemma 3: every coefficient of ``p_C`` has
      Frobenius norm ``<= ||A||_F ||B||_F``), else the largest fitted ``||a_j||_F``,
      ``j <= m - 1`` (generic data, where the coefficients are of similar size);
    * ``rounding = round_factor * u * sum_i |g_i| * max_i ||C~_i||_F`` with ``g`` the
      estimator's weights and ``u`` the results' unit round-off.

    Parameters
    ----------
    results : array_like, shape (K, n, k)
    points : array_like, shape (K,)
    m : int
    norm_ab : float, optional
        ``||A||_F * ||B||_F`` (the encoder knows it) for a data-independent alias bound.
    order : int, optional
        Number of coefficients to fit, ``m <= order <= min(K, 2m - 1)``; default: the best.
    round_factor : float
        Multiplier of the rounding term (see :data:`ROUND_FACTOR`).
    real_output : bool

    Returns
    -------
    C_hat : ndarray, shape (n, k)
    error_estimate : float
    """
    pts = _points(points)
    flats, shape, dtype, sq = _checked_rows(results, pts)
    m = checks.integer("m", m, 1)
    K = pts.shape[0]
    if K < m:
        raise InputError(f"epsilon-MatDot needs at least m={m} results, got {K}")
    if norm_ab is not None:
        norm_ab = checks.positive("norm_ab", norm_ab)
    round_factor = checks.positive("round_factor", round_factor)
    top = min(K, 2 * m - 1)
    if order is None:
        orders = list(range(m, top + 1))
    else:
        order = checks.integer("order", order, m)
        if order > top:
            raise InputError(f"order={order} exceeds min(K, 2m-1)={top} for K={K} results")
        orders = [order]
    u = unit_roundoff(dtype)
    scale_c = float(np.sqrt(np.max(sq)))
    fits: list[tuple[int, NDArray, float, float, NDArray | None]] = []
    for o in orders:
        g, w, s = _order_weights(pts, m, o)
        rounding = round_factor * u * float(np.abs(g).sum()) * scale_c
        fit = None
        if w.size and norm_ab is None:
            # the fitted coefficients of x^0..x^(m-1), x-units: their sizes scale the alias
            fit = (np.linalg.pinv((pts / s)[:, None] ** np.arange(o))[:m]
                   / (s ** np.arange(m))[:, None])
        fits.append((o, g, rounding, float(np.abs(w).sum()) if w.size else 0.0, fit))
    # one streamed pass for every fit's coefficient sizes, and for C itself when there is
    # only one candidate order (the common case, K = m): no (K, n, k) stack
    rows = [f[4] for f in fits if f[4] is not None]
    single = len(fits) == 1
    weights = np.vstack(rows) if rows else np.zeros((0, K))
    fit_sq, c_flat = _streamed_combinations(weights, flats, fits[0][1] if single else None)
    best: tuple[float, NDArray] | None = None
    at = 0
    for _, g, rounding, alias_w, fit in fits:
        alias = 0.0
        if alias_w:
            if fit is None:
                coef_size = norm_ab  # Lemma 3, eq. 80: ||P_l||_F <= ||A||_F ||B||_F
            else:
                coef_size = float(np.sqrt(np.max(fit_sq[at:at + m])))
                at += m
            alias = alias_w * float(coef_size)
        if best is None or alias + rounding < best[0]:
            best = (alias + rounding, g)
    assert best is not None
    if not single:
        _, c_flat = _streamed_combinations(np.zeros((0, K)), flats, best[1])
    c_hat = c_flat.reshape(shape)  # [x^(m-1)] p_C = C (eq. 15): g . values
    return _finish(c_hat, _real_dtype(dtype), real_output), best[0]


#: Elements of each result per step of :func:`_streamed_combinations`: a (K, chunk) block
#: and its combinations stay in cache.
STREAM_CHUNK = 2**15


def _result_rows(results: Any, points: NDArray) -> tuple[list[NDArray], tuple, np.dtype]:
    """Server results as flat views (no stack), with their common shape and dtype.

    The checks of :func:`_results` but for NaN/Inf (the caller tests the norms instead).
    """
    if isinstance(results, np.ndarray):
        if results.ndim != 3:
            raise InputError("results must be K matrices (a (K, n, k) stack), got shape "
                             f"{results.shape}")
        items = list(results)
    else:
        items = [np.asarray(r) for r in results]
    if any(r.shape != items[0].shape for r in items):
        raise InputError("results have different shapes; every server returns n x k")
    if items and items[0].ndim != 2:
        raise InputError("results must be K matrices (a (K, n, k) stack), got shape "
                         f"{(len(items), *items[0].shape)}")
    if len(items) != points.shape[0]:
        raise InputError(f"got {len(items)} results but {points.shape[0]} points")
    dtype = np.result_type(*[r.dtype for r in items]) if items else np.dtype(np.float64)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    flats = [r.astype(dtype, copy=False).reshape(-1) for r in items]
    return flats, (items[0].shape if items else (0, 0)), dtype


def _checked_rows(results: Any, points: NDArray
                  ) -> tuple[list[NDArray], tuple, np.dtype, NDArray]:
    """:func:`_result_rows` and the squared Frobenius norms of the results, refusing NaN/Inf.

    The norms are one BLAS dot each, and NaN or Inf in a result makes its norm so: the
    explicit (slower) test of every value runs only then (a huge finite result also
    overflows its norm, and is let through).
    """
    flats, shape, dtype = _result_rows(results, points)
    sq = np.array([float(np.vdot(f, f).real) for f in flats])
    if not np.all(np.isfinite(sq)) and not all(np.all(np.isfinite(f)) for f in flats):
        raise InputError("results contain NaN or Inf")
    return flats, shape, dtype, sq


def _streamed_combinations(weights: NDArray, flats: list[NDArray],
                           c_weights: NDArray | None = None
                           ) -> tuple[NDArray, NDArray | None]:
    """The rows of ``weights @ stack(flats)``' squared norms, and ``c_weights @
    stack(flats)``, in column chunks: the stack is never formed.

    One pass over the results, a small ``(K, chunk)`` block at a time, each step BLAS
    products in cache; no temporary the size of a result. ``c_weights`` is the decoder's
    estimator (``C = g . values``), computed by its own product so that every decoder using
    it rounds alike. Returns ``(squared norms, C flat or None)``.
    """
    size = flats[0].size
    out = (np.empty(size, dtype=np.result_type(c_weights, *flats))
           if c_weights is not None else None)
    g = None if c_weights is None else np.asarray(c_weights)[None, :]
    sq = np.zeros(weights.shape[0])
    block = np.empty((len(flats), min(STREAM_CHUNK, size)), dtype=np.result_type(*flats))
    for c0 in range(0, size, STREAM_CHUNK):
        c1 = min(c0 + STREAM_CHUNK, size)
        blk = block[:, :c1 - c0]
        for i, f in enumerate(flats):
            blk[i] = f[c0:c1]
        if out is not None:
            out[c0:c1] = (g @ blk)[0]
        if weights.shape[0]:
            t = weights @ blk
            sq += np.einsum("ij,ij->i", t.conj(), t).real  # row norms, no temporaries
    return sq, out


# --------------------------------------------------------------------------------------------
# converse (Theorem 4)


@dataclass(frozen=True)
class ConversePair:
    """The matrices of Theorem 4's proof (Appendix C) for one set of ``m - 1`` servers.

    Attributes
    ----------
    A : ndarray, (n, n)
        ``Q kron A_bar`` with ``Q`` (1 x m) a unit null vector of the servers' A-encoding.
    B_plus, B_minus : ndarray, (n, n)
        ``+-Q^T kron B_bar``; both make every server of the set return (numerically) zero,
        while ``A B_plus = -A B_minus = A_bar B_bar`` has Frobenius norm ``eta^2``.
    q : ndarray, (m,)
        The null vector ``Q``.
    alpha : ndarray, (m - 1, m)
        The A-encoding coefficients of the ``m - 1`` servers.
    """

    A: NDArray
    B_plus: NDArray
    B_minus: NDArray
    q: NDArray
    alpha: NDArray


def converse_pair(m: int, eta: float = 1.0, n: int | None = None, seed: int | None = None, *,
                  alpha: ArrayLike | None = None) -> ConversePair:
    """Build Appendix C's ``A``, ``B^(+-1)`` that no decoder from ``m - 1`` results can resolve.

    With ``p = 1, q = m`` (inner splitting), take ``Q`` (1 x m, ``sigma_max(Q) = ||Q||_2 = 1``)
    in the null space of the ``m - 1`` servers' A-encodings, ``A = Q kron A_bar`` and
    ``B^(b) = b Q^T kron B_bar`` (``b = +-1``), with ``A_bar = eta x y^T`` and
    ``B_bar = eta y z^T`` for unit vectors ``x, y, z`` (Lemma 4, so ``||A_bar B_bar||_F =
    eta^2``). Every such server stores ``sum_j alpha_j Q_j A_bar = 0`` and returns 0 for both
    signs, so any decoder outputs the same ``D`` for ``A B^(1)`` and ``A B^(-1) = -A B^(1)``
    and ``max ||D -+ A B^(1)||_F >= ||A B^(1)||_F = eta^2``.

    Parameters
    ----------
    m : int
        ``m >= 2`` (with ``m = 1`` there are no ``m - 1`` servers to defeat).
    eta : float
        Norm bound: ``||A||_F = ||B||_F = eta``.
    n : int, optional
        Size of the square ``A`` and ``B``, a multiple of ``m`` (default ``4 m``).
    seed : int, optional
        Seeds ``x, y, z`` and, without ``alpha``, the ``m - 1`` MatDot points.
    alpha : array_like, shape (m - 1, m), optional
        Real A-encoding coefficients of the ``m - 1`` servers (default: MatDot's, eq. 14, at
        ``m - 1`` seeded points in [-1, 1]). Complex coefficients are refused: a complex server
        stores two real combinations (2/m of ``A``), outside the model of Theorem 4.
    """
    m = checks.integer("m", m, 2)
    eta = checks.positive("eta", eta)
    n = 4 * m if n is None else checks.integer("n", n, 1)
    if n % m:
        raise InputError(f"n={n} must be a multiple of m={m} for the n x n pair of Theorem 4")
    rng = np.random.default_rng(seed)
    if alpha is None:
        alpha_arr, _ = matdot_coefficients(rng.uniform(-1.0, 1.0, size=m - 1), m)
    else:
        alpha_arr = np.asarray(alpha)
        if alpha_arr.shape != (m - 1, m):
            raise InputError(f"alpha must have shape (m-1, m)={(m - 1, m)}, got {alpha_arr.shape}")
        if np.iscomplexobj(alpha_arr):
            raise InputError("alpha is complex: such a server stores 2/m of A, outside Theorem 4")
        if not np.all(np.isfinite(alpha_arr)):
            raise InputError("alpha contains NaN or Inf")
    # Q: a unit vector with f_S(vectorize(Q) kron D) = 0, i.e. alpha Q = 0 (Appendix C).
    q = np.linalg.svd(alpha_arr.astype(np.float64))[2][-1]  # ||Q||_2 = sigma_max(Q) = 1
    x, y, z = (v / np.linalg.norm(v) for v in
               (rng.standard_normal(n), rng.standard_normal(n // m), rng.standard_normal(n)))
    a_bar = eta * np.outer(x, y)  # Lemma 4: A_bar = x y^T, ||A_bar||_F = eta
    b_bar = eta * np.outer(y, z)  # Lemma 4: B_bar = y z^T, ||A_bar B_bar||_F = eta^2
    A = np.kron(q[None, :], a_bar)  # A = Q kron A_bar (Appendix C)
    B_plus = np.kron(q[:, None], b_bar)  # B^(1) = Q^T kron B_bar (Appendix C)
    return ConversePair(A=A, B_plus=B_plus, B_minus=-B_plus, q=q, alpha=alpha_arr)
