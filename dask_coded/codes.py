"""The codes of coded matrix products, behind one registry (the MatDot paper).

What differs from one code to another lives here, as :data:`CODES` does for the solvers'
``METHODS``: how many servers it uses by default and at least, its encoding coefficients
(``alpha``, ``beta``: server ``l`` holds ``sum_j alpha[l, j] A_j`` and ``sum_j beta[l, j]
B_j``, MatDot eq. 6 / eq. 24), its recovery threshold, what a round waits for under a
deadline, and how the results it waited for are decoded into ``C`` with an error estimate.
:func:`dask_coded.matmul.matmul` validates, tiles and runs a short loop over the tiles; it
never asks a code's name. A code whose encoding depends on the data (``"sampled"``: block
norms) refines its plan in :meth:`Code.fit`, from a pass :func:`~dask_coded.matmul.matmul`
runs only when the code asks for it.

Pure numpy (the kernels do the arithmetic): no dask import.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import InputError
from .expansion import ExpansionNetwork, expansion_network
from .kernels import checks
from .kernels import matdot as md
from .kernels import optcodes as oc
from .kernels import sampled as smp

#: Point rules for the MatDot codes by name (or give ``P`` real points). ``"tuned"`` is each
#: code's default (real points, the paper's model: 1/m of A and B per server);
#: ``"tuned-complex"`` puts eps-MatDot's points on a circle in the complex plane (about 2x
#: smaller errors, for complex servers: see :class:`EpsMatDot`); ``"paper"`` is MatDot
#: eq. 17.
POINTS = ("tuned", "tuned-complex", "paper")


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
    q : int or None
        Results the encoding weights are scaled for (``"sampled"``; GC eq. 23).
    network : ExpansionNetwork or None
        The replication of the inner blocks over the servers (``"sampled"``).
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
    q: int | None = None
    network: ExpansionNetwork | None = None

    def fit(self, block_norms: Any) -> CodePlan:
        """The plan refined for the data: ``block_norms()`` gives ``(||A_i||_F^2,
        ||B_i||_F^2)`` of the ``m`` inner blocks, a pass over A and B that only a code whose
        encoding depends on them calls (see :meth:`Code.fit`)."""
        return self.code.fit(self, block_norms)

    def wait_policy(self, deadline: float | None) -> dict[str, Any]:
        """Keyword arguments of the executor's ``run_round`` for one tile."""
        return self.code.wait_policy(self, deadline)

    def decode(self, products: Sequence[np.ndarray], servers: np.ndarray,
               norms: list[float]) -> tuple[np.ndarray, float]:
        """``(C_hat, absolute error estimate)`` from the results of ``servers``.

        ``products[i]`` is server ``servers[i]``'s ``A~ B~`` (a list of them or a stack: the
        decoders that can combine them without stacking do, a copy of ``K`` results
        saved); ``norms[i]`` its
        ``||A_tile||_F ||B_tile||_F`` (the scale of a bound), or for the uncoded baseline
        the norm product of the one block pair it holds.
        """
        return self.code.decode(self, products, servers, norms)


def _largest_result(products: Sequence[np.ndarray]) -> float:
    """The largest ``||C~_i||_F`` (one BLAS dot per result, no temporaries)."""
    return max(math.sqrt(float(np.vdot(p, p))) for p in products)


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

    def check_q(self, q: Any, m: int, n_servers: int) -> int | None:
        """The results a round waits for when the caller chooses them (``q``), or None for a
        code whose threshold fixes them (it refuses a ``q``)."""
        if q is not None:
            raise InputError(f"code {self.name!r} takes no q: it waits for its recovery "
                             "threshold")
        return None

    def plan(self, m: int, n_servers: int, *, points: Any = "tuned", eps: float | None = None,
             optimized: oc.OptimizedCode | None = None, q: int | None = None) -> CodePlan:
        raise NotImplementedError

    def fit(self, plan: CodePlan, block_norms: Any) -> CodePlan:
        """The plan for this data; ``block_norms()`` runs a pass over A and B for the inner
        blocks' squared norms. A code independent of the data keeps its plan and never
        calls it (no pass)."""
        return plan

    def wait_policy(self, plan: CodePlan, deadline: float | None) -> dict[str, Any]:
        """A fixed-threshold code waits for its threshold, deadline or not."""
        return {"q": plan.threshold}

    def decode(self, plan: CodePlan, products: np.ndarray, servers: np.ndarray,
               norms: list[float]) -> tuple[np.ndarray, float]:
        raise NotImplementedError


class _PolynomialCode(Code):
    """MatDot's two constructions: server ``l`` holds ``p_A(x_l)`` and ``p_B(x_l)`` at its
    evaluation point ``x_l`` (MatDot eq. 14); they differ in points, threshold and decoder."""

    def tuned_points(self, m: int, P: int, complex_points: bool = False
                     ) -> tuple[np.ndarray, float | None]:
        """The default ``points="tuned"`` (``complex_points``: ``"tuned-complex"``) and their
        model error (or None)."""
        raise NotImplementedError

    def threshold(self, m: int) -> int:
        raise NotImplementedError

    def check_eps(self, eps: float | None, m: int, P: int, kind: str = "real") -> None:
        """Refuse an ``eps`` the code cannot promise with ``kind`` points (nothing to refuse
        by default)."""

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None, q=None):
        pts, expected = self._points(m, n_servers, points, eps)
        self.check_eps(eps, m, n_servers, "complex" if np.iscomplexobj(pts) else "real")
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
            return self.tuned_points(m, P, complex_points=points == "tuned-complex")
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

    def tuned_points(self, m, P, complex_points=False):
        return md.exact_points(P, "real"), None  # Chebyshev points of (-1, 1), both rules

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

    Default points (``"tuned"``): real Chebyshev points of a radius tuned for float64
    (:func:`~dask_coded.kernels.matdot.tuned_design`, ``kind="real"``), the paper's model.
    ``"tuned-complex"``: ``rho exp(2 pi i l / P)``. Measured worst relative Frobenius error
    over every m-subset of P = m + 2 servers (unit-Frobenius random A, B, 24 x 4m times
    4m x 24, seed 0; ``eps = 2.2e-16``, eps^(1/m) = 1.5e-8, 6.1e-6, 1.2e-4 for m = 2, 3,
    4): real 2.2e-8, 1.5e-5, 3.0e-4 (1.5x, 2.5x, 2.4x eps^(1/m)); complex 9.1e-9, 7.7e-6,
    1.6e-4 (0.6x, 1.3x, 1.3x); real points optimised for the worst subset gained 12% at
    m = 3, none at 2, 4. The error grows slowly with the inner block size (round-off; at
    200 x 100m times 100m x 200: complex 2.0e-8, 1.2e-5, 1.8e-4). The complex points' price
    is why they are not the default: a complex server holds ``p_A(x)`` and ``p_B(x)`` in
    complex128, the memory of 2/m of A and of B, and does a complex product (about 4 real
    ones): a 2048 x 2048 product on 4 single-thread workers took 11.6-11.8 s against
    4.9-5.9 s with real points (same run), for errors 1.1e-4 against 6.1e-4.

    A and B are real, so every coefficient of ``p_C`` is real and ``C`` is the real part of
    what is decoded: the imaginary part of the estimate is aliasing and rounding only, and
    ``|Re(c) - C| <= |c - C|`` entrywise, so taking it never adds error and the estimate of
    ``|c - C|`` stays an upper estimate for the real result (exact to rounding once
    ``2m - 1`` results are decoded, where there is no aliasing).
    """

    name = "eps-matdot"

    def default_servers(self, m, optimized):
        return m + 2

    def tuned_points(self, m, P, complex_points=False):
        # radius tuned for float64 round-off; real points unless "tuned-complex" (see above)
        design = md.tuned_design(P, m, kind="complex" if complex_points else "real")
        return design.points, float(design.expected_error)

    def threshold(self, m):
        return m

    def check_eps(self, eps, m, P, kind="real"):
        if eps is not None:
            md.check_epsilon(eps, m, P=P, kind=kind)  # refuse what float64 cannot reach

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

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None, q=None):
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

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None, q=None):
        return CodePlan(self, m, m, np.eye(m), np.eye(m), m)

    def decode(self, plan, products, servers, norms):
        # m rounded partial products summed: each contributes its own round-off
        c_hat = np.array(products[0], dtype=np.float64)
        for p in products[1:]:
            c_hat += p
        return c_hat, md.ROUND_FACTOR * md.unit_roundoff(np.float64) * sum(norms)


class Sampled(Code):
    """Approximate products by block sampling on an expansion network (beyond the papers).

    The gradient-coding paper's future work (GC Section V): CR-multiplication (Drineas,
    Kannan and Mahoney 2006) whose sampling distribution, ``p_i ~ ||A_i||_F ||B_i||_F`` over
    the ``m`` inner blocks, sets the replicas of an expansion network (GC Sections III-C/D).
    Server ``l`` holds one encoded pair ``(w_i A_i, w_i B_i)`` of its block ``i`` -- 1/m of A
    and of B, eps-MatDot's storage -- with ``w_i = 1 / sqrt(q Pi-bar_i)`` (GC eq. 23), and the
    decoder sums the first ``q`` results (GC eq. 26): unbiased over a uniformly random
    first-q subset (GC Theorem 2's premise), exact once all ``P`` answer. Any ``q`` from 1 to
    ``P`` decodes; with a deadline every result in time is used (at least ``q``). The error
    estimate is ``sqrt`` of an unbiased estimate of ``E||C_hat - C||_F^2``, finite-population
    sampling without replacement from the servers (an unbiased estimate of an upper bound
    when one result, or replicas of only one block, arrived;
    :func:`~dask_coded.kernels.sampled.decode_sampled`), plus round-off. It estimates the
    root mean square error over the random first-q subsets, not a bound on this one's.
    """

    name = "sampled"

    def default_servers(self, m, optimized):
        return m + 2  # eps-MatDot's default: equal storage, equal servers

    # check_servers: the base's P >= m, so every block has a server and q = P is exact

    def check_q(self, q, m, n_servers):
        if q is None:
            return m  # as many results as eps-MatDot waits for
        if not checks.is_integer(q) or not 1 <= int(q) <= n_servers:
            shown = int(q) if checks.is_integer(q) else checks.type_name(q)
            raise InputError(f"q must be an integer in 1..n_servers={n_servers}, got {shown}")
        return int(q)

    def plan(self, m, n_servers, *, points="tuned", eps=None, optimized=None, q=None):
        # before the data is seen: uniform sampling (fit() replaces it by the data's p)
        return self._plan(np.full(m, 1.0 / m), m, n_servers, self.check_q(q, m, n_servers))

    def fit(self, plan, block_norms):
        a_sq, b_sq = block_norms()
        p = smp.sampling_distribution(a_sq, b_sq)  # DKM's p_i ~ ||A_i||_F ||B_i||_F
        return self._plan(p, plan.m, plan.n_servers, plan.q)

    def _plan(self, p: np.ndarray, m: int, P: int, q: int) -> CodePlan:
        # r_i ~ P p_i, at least one per block with p_i > 0 (GC eq. 21, solved exactly)
        net = expansion_network(p, P, q=q)
        # E of GC eq. 20 times G = diag(1 / sqrt(q Pi-bar_i)) of GC eq. 23
        alpha = smp.sampled_coefficients(net.server_blocks, net.encoding_weights(q), m)
        return CodePlan(self, m, P, alpha, alpha.copy(), q, q=q, network=net)

    def wait_policy(self, plan, deadline):
        if deadline is None:
            return {"q": plan.q}
        return {"q": plan.n_servers, "q_min": plan.q, "deadline": deadline,
                "on_short": "proceed"}

    def decode(self, plan, products, servers, norms):
        net = plan.network
        blocks = net.server_blocks[servers]
        # (q / k) x the sum of GC eq. 26, and an unbiased estimate of its mean squared error
        # (an upper one where the results hold a single block: see decode_sampled)
        c_hat, mse = smp.decode_sampled(np.stack(products), plan.q, plan.n_servers, blocks)
        # each result's own round-off (the uncoded rule), at its weight w_i^2 = P / (q r_i)
        w2 = net.encoding_weights(plan.q)[blocks] ** 2
        rounding = (md.ROUND_FACTOR * md.unit_roundoff(np.float64) * plan.q / len(servers)
                    * float(np.dot(w2, norms)))
        return c_hat, math.sqrt(mse) + rounding


#: The codes by name.
CODES: dict[str, Code] = {c.name: c for c in (MatDot(), EpsMatDot(), Optimized(), Uncoded(),
                                              Sampled())}


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
