"""The codes of coded matrix products, behind one registry (the MatDot paper, seed 000).

What differs from one code to another lives here, as :data:`CODES` does for the solvers'
``METHODS``: how many servers it uses by default and at least, its encoding coefficients
(``alpha``, ``beta``: server ``l`` holds ``sum_j alpha[l, j] A_j`` and ``sum_j beta[l, j]
B_j``, MatDot eq. 6 / eq. 24), its recovery threshold, what a round waits for under a
deadline, and how the results it waited for are decoded into ``C`` with an error estimate.
:func:`dask_coded.matmul.matmul` validates, tiles and runs a short loop over the tiles; it
never asks a code's name.

Pure numpy (the kernels do the arithmetic): no dask import.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import InputError
from .kernels import matdot as md
from .kernels import optcodes as oc

#: Point rules for the MatDot codes by name (or give ``P`` real points).
POINTS = ("tuned", "paper")


@dataclass
class CodePlan:
    """A code configured for one product: ``m`` inner blocks on ``P`` servers.

    Attributes
    ----------
    code : Code
    m, n_servers : int
    alpha, beta : ndarray, shape (n_servers, m)
        Encoding coefficients of A's and B's inner blocks.
    threshold : int
        Results a tile needs at least (the recovery threshold).
    points : ndarray or None
        Evaluation points (MatDot codes).
    expected_error : float or None
        eps-MatDot's model error of its points at ``m`` results.
    optimized : OptimizedCode or None
        The code itself, for ``"optimized"``.
    """

    code: Code
    m: int
    n_servers: int
    alpha: np.ndarray
    beta: np.ndarray
    threshold: int
    points: np.ndarray | None = None
    expected_error: float | None = None
    optimized: oc.OptimizedCode | None = None

    def wait_policy(self, deadline: float | None) -> dict[str, Any]:
        """Keyword arguments of the executor's ``run_round`` for one tile."""
        return self.code.wait_policy(self, deadline)

    def decode(self, products: np.ndarray, servers: np.ndarray,
               norms: list[float]) -> tuple[np.ndarray, float]:
        """``(C_hat, absolute error estimate)`` from the results of ``servers``.

        ``products[i]`` is server ``servers[i]``'s ``A~ B~``; ``norms[i]`` its
        ``||A_tile||_F ||B_tile||_F`` (the scale of a bound), or for the uncoded baseline
        the norm product of the one block pair it holds.
        """
        return self.code.decode(self, products, servers, norms)


def _largest_result(products: np.ndarray) -> float:
    return float(np.max(np.linalg.norm(products.reshape(len(products), -1), axis=1)))


class Code:
    """One code: subclasses fill the hooks; instances are stateless (one per name)."""

    name: ClassVar[str]

    def default_servers(self, m: int, optimized: oc.OptimizedCode | None) -> int:
        raise NotImplementedError

    def check_servers(self, m: int, n_servers: int,
                      optimized: oc.OptimizedCode | None) -> int:
        """The servers a product uses, given the ones asked for (refusing too few)."""
        if m > n_servers:
            raise InputError(f"m={m} exceeds n_servers={n_servers}")
        return n_servers

    def plan(self, m: int, n_servers: int, *, points: Any = "tuned", eps: float | None = None,
             optimized: oc.OptimizedCode | None = None) -> CodePlan:
        raise NotImplementedError

    def wait_policy(self, plan: CodePlan, deadline: float | None) -> dict[str, Any]:
        """A fixed-threshold code waits for its threshold, deadline or not."""
        return {"q": plan.threshold}

    def decode(self, plan: CodePlan, products: np.ndarray, servers: np.ndarray,
               norms: list[float]) -> tuple[np.ndarray, float]:
        raise NotImplementedError


class _PolynomialCode(Code):
    """MatDot's two constructions: server ``l`` holds ``p_A(x_l)`` and ``p_B(x_l)`` at its
    evaluation point ``x_l`` (MatDot eq. 14); they differ in points, threshold and decoder."""

    def tuned_points(self, m: int, P: int) -> tuple[np.ndarray, float | None]:
        """The default ``points="tuned"`` and their model error (or None)."""
        raise NotImplementedError

    def threshold(self, m: int) -> int:
        raise NotImplementedError

    def check_eps(self, eps: float | None, m: int, P: int) -> None:
        """Refuse an ``eps`` the code cannot promise (nothing to refuse by default)."""

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None):
        pts, expected = self._points(m, n_servers, points, eps)
        self.check_eps(eps, m, n_servers)
        alpha, beta = md.matdot_coefficients(pts, m)  # MatDot eq. 14
        return CodePlan(self, m, n_servers, alpha, beta, self.threshold(m), pts, expected)

    def _points(self, m: int, P: int, points: Any, eps: float | None
                ) -> tuple[np.ndarray, float | None]:
        """Evaluation points from a rule name or ``P`` given points."""
        if isinstance(points, str):
            if points not in POINTS:
                raise InputError(f"unknown points {points!r}; choose one of "
                                 f"{', '.join(POINTS)} or give {P} real points")
            if points == "paper":
                if eps is None:
                    raise InputError("points='paper' needs eps (MatDot eq. 17)")
                return md.paper_points(P, m, eps), None
            return self.tuned_points(m, P)
        try:
            pts = np.asarray(points)
        except (TypeError, ValueError):
            pts = np.asarray(None)
        if pts.shape != (P,) or pts.dtype.kind not in "iuf" \
                or not np.all(np.isfinite(pts)) or len(np.unique(pts)) != P:
            raise InputError(f"points must be {P} distinct finite real numbers, "
                             f"got {' '.join(repr(points).split())}"[:300])
        return pts.astype(np.float64), None


class MatDot(_PolynomialCode):
    """Exact MatDot (MatDot Construction 1): any ``2m - 1`` results give ``A B``."""

    name = "matdot"

    def default_servers(self, m, optimized):
        return 2 * m + 1

    def check_servers(self, m, n_servers, optimized):
        n_servers = super().check_servers(m, n_servers, optimized)
        if n_servers < 2 * m - 1:
            raise InputError(f"matdot needs n_servers >= 2m-1={2 * m - 1} for m={m}, "
                             f"got {n_servers}")
        return n_servers

    def tuned_points(self, m, P):
        return md.exact_points(P, "real"), None  # Chebyshev points of (-1, 1)

    def threshold(self, m):
        return 2 * m - 1

    def decode(self, plan, products, servers, norms):
        c_hat, cond = md.decode_exact(products, plan.points[servers], plan.m,
                                      return_cond=True)
        # interpolation amplifies the results' round-off by the Vandermonde condition
        err = md.ROUND_FACTOR * md.unit_roundoff(np.float64) * cond * _largest_result(products)
        return c_hat, err


class EpsMatDot(_PolynomialCode):
    """epsilon-approximate MatDot (MatDot Construction 2), anytime.

    Any ``m`` results give ``A B`` to a relative error ``eps``; with a deadline a round
    takes every result that arrives before it (up to ``2m - 1``, never fewer than ``m``)
    and :func:`~dask_coded.kernels.matdot.decode_anytime` uses them all.
    """

    name = "eps-matdot"

    def default_servers(self, m, optimized):
        return m + 2

    def tuned_points(self, m, P):
        design = md.tuned_design(P, m)  # radius tuned for float64 round-off
        return design.points, float(design.expected_error)

    def threshold(self, m):
        return m

    def check_eps(self, eps, m, P):
        if eps is not None:
            md.check_epsilon(eps, m, P=P)  # refuse what float64 cannot reach

    def wait_policy(self, plan, deadline):
        if deadline is None:
            return {"q": plan.m}
        return {"q": min(2 * plan.m - 1, plan.n_servers), "q_min": plan.m,
                "deadline": deadline, "on_short": "proceed"}

    def decode(self, plan, products, servers, norms):
        return md.decode_anytime(products, plan.points[servers], plan.m)


class Optimized(Code):
    """A code found by alternating minimisation (MatDot Section IV, Algorithm 1): its
    ``k`` results are decoded linearly (eq. 8), bounded by Theorem 5."""

    name = "optimized"

    def default_servers(self, m, optimized):
        return optimized.P

    def check_servers(self, m, n_servers, optimized):
        n_servers = super().check_servers(m, n_servers, optimized)
        if n_servers != optimized.P:
            raise InputError(f"n_servers={n_servers} does not match the optimized code's "
                             f"P={optimized.P}")
        return n_servers

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None):
        return CodePlan(self, m, n_servers, optimized.alpha, optimized.beta, optimized.k,
                        optimized=optimized)

    def decode(self, plan, products, servers, norms):
        opt = plan.optimized
        c_hat = oc.decode_linear(opt, dict(zip(servers.tolist(), products)), servers)
        bound = oc.theorem5_bound(opt, servers, max(norms), 1.0, sharp=True)  # eq. 30
        _, dvec = opt.decoder(servers)
        rounding = (md.ROUND_FACTOR * md.unit_roundoff(np.float64) * float(np.abs(dvec).sum())
                    * _largest_result(products))
        return c_hat, bound + rounding


class Uncoded(Code):
    """The baseline: ``m`` servers each hold one plain block pair, all ``m`` waited for."""

    name = "uncoded"

    def default_servers(self, m, optimized):
        return m

    def check_servers(self, m, n_servers, optimized):
        super().check_servers(m, n_servers, optimized)
        return m  # one server per block pair, whatever was asked

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None):
        return CodePlan(self, m, m, np.eye(m), np.eye(m), m)

    def decode(self, plan, products, servers, norms):
        # m rounded partial products summed: each contributes its own round-off
        return products.sum(axis=0), md.ROUND_FACTOR * md.unit_roundoff(np.float64) * sum(norms)


#: The codes by name.
CODES: dict[str, Code] = {c.name: c for c in (MatDot(), EpsMatDot(), Optimized(), Uncoded())}


def relative(err_abs: float, c_hat: np.ndarray) -> float:
    """An absolute error estimate relative to ``||C_hat||_F`` (0 / 0 is 0, x / 0 is inf)."""
    norm_c = float(np.linalg.norm(c_hat))
    return err_abs / norm_c if norm_c > 0 else (0.0 if err_abs == 0 else math.inf)


def load_code(code: Any) -> oc.OptimizedCode:
    """An :class:`~dask_coded.kernels.optcodes.OptimizedCode`, or the one saved at a path."""
    if isinstance(code, oc.OptimizedCode):
        return code
    path = Path(code)
    if not path.is_file():
        raise InputError(f"no optimized code file at {path}")
    return oc.OptimizedCode.load(path)


def resolve_code(code: Any) -> tuple[Code, oc.OptimizedCode | None]:
    """The registry's code for ``code`` (a name, an OptimizedCode or the path of its
    ``.npz``), and the optimized code itself when one was given."""
    if isinstance(code, (oc.OptimizedCode, os.PathLike)) or (
            isinstance(code, str) and code.endswith(".npz")):
        return CODES["optimized"], load_code(code)
    if not isinstance(code, str) or code not in CODES:
        raise InputError(f"unknown code {code!r}; choose one of {', '.join(CODES)} "
                         "(or pass an OptimizedCode or its .npz path)")
    if code == "optimized":
        raise InputError("code='optimized' needs the code itself: pass an OptimizedCode or "
                         "the path of its .npz as code")
    return CODES[code], None
