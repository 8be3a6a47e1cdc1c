"""Server-side kernels of the coded gradient solvers, and the step-size rules.

Pure numpy; no dask. A server holds an :class:`EncodedBlock`: the rows of one block of
(A, b), already multiplied by the block's encoding weight (GC eq. 23), so its partial gradient is
the encoded partial gradient of eq. 25 and the sum over the q fastest servers is eq. 26.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular


@dataclass
class EncodedBlock:
    """One server's data: block ``block``'s rows scaled by ``weight`` (eq. 23-24).

    Attributes
    ----------
    block : int
        Index of the block (eq. 1).
    a : ndarray, shape (rows, d)
        ``weight * A_block`` (padding rows are left out: they are zero).
    b : ndarray, shape (rows,)
        ``weight * b_block``.
    weight : float
        The encoding weight ``1 / sqrt(q Pi-bar_i)``, or 1 for an uncoded server.
    """

    block: int
    a: np.ndarray
    b: np.ndarray
    weight: float = 1.0

    @property
    def nbytes(self) -> int:
        return self.a.nbytes + self.b.nbytes


def encode_block(block: int, a: np.ndarray, b: np.ndarray, weight: float) -> EncodedBlock:
    """Scale a block by its encoding weight: ``(G A)_i, (G b)_i`` (eq. 23-24)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if weight != 1.0:
        a = a * weight
        b = b * weight
    return EncodedBlock(int(block), a, b, float(weight))


def partial_gradient(data: EncodedBlock, x: np.ndarray) -> np.ndarray:
    """Encoded partial gradient ``2 A~_i^T (A~_i x - b~_i)`` (eq. 25; summed in eq. 26)."""
    return 2.0 * (data.a.T @ (data.a @ x - data.b))


def hessian_product(data: EncodedBlock, v: np.ndarray) -> np.ndarray:
    """``2 A~_i^T A~_i v``: an encoded partial gradient's change from ``x_ref`` to ``x_ref + v``.

    The variance-reduced rounds (SVRG, Johnson & Zhang 2013) sum these over the first q
    servers: ``g(x) = g(x_ref) + sum_i 2 A~_i^T A~_i (x - x_ref)``, which is eq. 26's sum at
    x minus the same servers' sum at x_ref plus the exact gradient at x_ref.
    """
    return 2.0 * (data.a.T @ (data.a @ v))


def gradient_and_product(data: EncodedBlock, param: tuple[np.ndarray, np.ndarray]
                         ) -> np.ndarray:
    """A block's gradient at x and Hessian product with p, in one read of the block.

    Returns the ``(d + 1, 2)`` array ``[[2 A~_i^T (A~_i x - b~_i), 2 A~_i^T A~_i p],
    [||A~_i x - b~_i||^2, ||A~_i p||^2]]``: summed over one server per block it is the
    full gradient, ``H p`` and the two squared norms that the Gram-free conjugate gradient
    iteration needs (:class:`ConjugateGradient`). ``A~_i [x, p]`` is one matrix product
    with two columns, which reads the block from memory once, as a single gradient does
    (a round is memory-bound: the second column is nearly free). The block is taken in
    panels of about 1 MiB (:data:`PANEL_BYTES`), each multiplied twice while it is in cache:
    a two-column product over the whole block ran at a quarter of the speed (measured on
    one core, a 2500 x 2000 block: 11 ms whole, 2.7 ms in panels of 64 rows, 3.7 ms for a
    single gradient ``A^T (A x - b)``).
    """
    x, p = param
    a, b = data.a, data.b
    both = np.column_stack((x, p))
    out = np.zeros((a.shape[1] + 1, 2))
    rows = max(8, PANEL_BYTES // (8 * max(1, a.shape[1])))
    for start in range(0, a.shape[0], rows):
        panel = a[start:start + rows]
        ap = panel @ both
        ap[:, 0] -= b[start:start + rows]
        out[:-1] += panel.T @ ap
        out[-1] += np.einsum("ij,ij->j", ap, ap)
    out[:-1] *= 2.0
    return out


#: Panel size of :func:`gradient_and_product`: small enough for a core's L2 cache, so the
#: second product with a panel reads it from cache rather than from memory.
PANEL_BYTES = 1 << 20


def fwht(x: np.ndarray) -> np.ndarray:
    """Orthonormal fast Walsh-Hadamard transform along axis 0 (length a power of two)."""
    x = np.array(x, dtype=np.float64, copy=True)
    n = x.shape[0]
    h = 1
    while h < n:
        view = x.reshape(n // (2 * h), 2, h, *x.shape[1:])
        top = view[:, 0].copy()
        view[:, 0] += view[:, 1]
        view[:, 1] = top - view[:, 1]
        h *= 2
    return x / np.sqrt(n)


# --------------------------------------------------------------------------- step sizes


def fixed_step(sigma_max: float, scale: float) -> float:
    """``scale * 2 / sigma_max(A)^2`` (the GC paper's xi-cross times a factor)."""
    return scale * 2.0 / sigma_max**2


def preconditioned_direction(g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``R^{-1} R^{-T} g``: the gradient of the right-preconditioned problem, mapped back.

    Gradient descent on ``min ||A R^{-1} y - b||`` with ``x = R^{-1} y`` moves x along
    ``R^{-1} (R^{-T} g)`` for the gradient g in x. When ``R^T R = A^T A`` the problem in y is
    perfectly conditioned, and a step of 1/2 along this direction (g carries eq. 25's factor
    2) is the exact minimiser: the Gauss-Newton step.
    """
    return solve_triangular(r, solve_triangular(r, g, trans="T", lower=False), lower=False)


def diminishing_step(xi0: float, iteration: int, power: float = 0.5) -> float:
    """``xi0 / (1 + s)^power``: the diminishing steps SSD convergence needs (Section III-F)."""
    return xi0 / (1.0 + iteration) ** power


def optimal_step(g: np.ndarray, x: np.ndarray, gram: np.ndarray, atb: np.ndarray) -> float:
    """Exact line search along ``g``: ``<A g, A x - b> / ||A g||^2`` (Section IV's xi*).

    Evaluated with ``A^T A`` and ``A^T b`` from the setup pass, in O(d^2), without a pass over
    the data.
    """
    ag2 = float(g @ (gram @ g))
    if ag2 <= 0:
        return 0.0
    return float(g @ (gram @ x - atb)) / ag2


def objective_terms(x: np.ndarray, gram: np.ndarray, atb: np.ndarray, btb: float
                    ) -> tuple[float, np.ndarray]:
    """``||A x - b||`` and the exact gradient ``2 (A^T A x - A^T b)``, in O(d^2)."""
    gx = gram @ x
    resid2 = float(x @ gx - 2.0 * (x @ atb) + btb)
    return float(np.sqrt(max(resid2, 0.0))), 2.0 * (gx - atb)


def weighted_rows_kernel(data: EncodedBlock, param: Any) -> tuple[np.ndarray, np.ndarray]:
    """A server's rows as they are (for sketch-and-solve by block sampling)."""
    return data.a, data.b


# ------------------------------------------------------------- Gram-free conjugate gradients


@dataclass
class ConjugateGradient:
    """Preconditioned conjugate gradients on ``min ||A x - b||^2`` from exact rounds only.

    The Gram-free setup (a sketch's R instead of ``A^T A``) leaves no d x d matrix to take
    an exact line search or a residual from; each round returns them instead
    (:func:`gradient_and_product`, summed over one replica per block): the true gradient
    ``g = 2 A^T (A x - b)`` at the current x, ``H p = 2 A^T A p`` for the current direction
    p, ``||A x - b||^2`` and ``||A p||^2``. The step along p is the exact line search
    ``alpha = -(g . p) / (p . H p)`` (f is quadratic: g and H p give f along the whole line),
    the next gradient is predicted as ``g + alpha H p`` and the next direction is
    ``-z + beta p`` with ``z = M g`` (``M = R^{-1} R^{-T}``, the preconditioner) and the
    Polak-Ribiere ``beta = max(0, g_new . (z_new - z) / (g . z))``, the flexible PCG of
    Notay (2000), robust to the rounding difference between the predicted and the next
    round's true gradient. The true gradient of every round restarts the recursion, so
    rounding does not accumulate (Hestenes & Stiefel 1952; preconditioning as LSRN, Meng,
    Saunders & Mahoney 2014, and Blendenpik, Avron, Maymounkov & Toledo 2010: with a
    sketch's R, ``cond(A R^{-1})`` is a small constant and the iterations to a given error
    do not depend on ``cond(A)``).

    Parameters
    ----------
    precondition : callable
        ``g -> M g`` (identity without a preconditioner).
    x : ndarray
        The starting point.
    gradient : ndarray, optional
        The exact gradient at ``x`` if known (the setup's ``-2 A^T b`` at x = 0): the first
        round then already moves. Without it the first round only measures the gradient.
    """

    precondition: Any
    x: np.ndarray
    gradient: np.ndarray | None = None
    direction: np.ndarray | None = None
    z: np.ndarray | None = None
    gz: float = 0.0

    def __post_init__(self) -> None:
        self.x = np.array(self.x, dtype=np.float64)
        if self.direction is None:
            if self.gradient is None:
                self.direction = np.zeros_like(self.x)
            else:
                self._new_direction(np.asarray(self.gradient, dtype=np.float64), None)

    def _new_direction(self, g: np.ndarray, previous: np.ndarray | None) -> None:
        z = self.precondition(g)
        gz = float(g @ z)
        beta = 0.0
        if previous is not None and self.gz > 0:
            beta = max(0.0, float(g @ (z - self.z)) / self.gz)
        self.direction = -z + beta * (previous if previous is not None else 0.0)
        self.z, self.gz = z, gz

    def param(self) -> tuple[np.ndarray, np.ndarray]:
        """The next round's parameter ``(x, p)``."""
        return self.x, self.direction

    def step(self, total: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, float]:
        """Take one step from a round's summed :func:`gradient_and_product` values.

        Returns ``(step, alpha, gradient, objective)``: the change of x, its length along
        p, and the predicted exact gradient and ``||A x - b||^2`` at the new x.
        """
        g, hp = total[:-1, 0], total[:-1, 1]
        f, ap2 = float(total[-1, 0]), float(total[-1, 1])
        p = self.direction
        php = float(p @ hp)
        alpha = -float(g @ p) / php if php > 0 else 0.0
        step = alpha * p
        self.x = self.x + step
        g_new = g + alpha * hp
        f_new = max(f + alpha * float(g @ p) + alpha**2 * ap2, 0.0)
        if php > 0:
            self._new_direction(g_new, p)
        else:  # no direction yet (or H p = 0): start from the measured gradient
            self.z = None
            self.gz = 0.0
            self._new_direction(g_new, None)
        return step, alpha, g_new, f_new

    def get_state(self) -> dict:
        """JSON-safe state (floats round-trip exactly through ``repr``)."""
        return {"x": _floats(self.x), "direction": _floats(self.direction),
                "z": _floats(self.z), "gz": self.gz}

    @classmethod
    def from_state(cls, precondition: Any, state: dict) -> ConjugateGradient:
        return cls(precondition, _vector(state["x"]), direction=_vector(state["direction"]),
                   z=_vector(state["z"]), gz=float(state["gz"]))


def _floats(v: np.ndarray | None) -> list[float] | None:
    return None if v is None else [float(t) for t in v]


def _vector(v: list | None) -> np.ndarray | None:
    return None if v is None else np.asarray(v, dtype=np.float64)
