"""How good a subspace embedding a block sketch is, measured on the user's data (GC Theorem 1).

:func:`embedding_error` draws a sketch many times and measures ``||I_d - U^T S^T S U||_2``
for each draw, beside the eps that GC Theorem 1 guarantees with probability ``1 - delta``.
The draws cost no pass over A: the setup pass already summarises every block by its
``U_i^T U_i`` (:attr:`~dask_coded.LeverageResult.unit_grams`), and a block sketch's
``U^T S^T S U`` is their weighted sum (:mod:`dask_coded.kernels.embedding`).

Each sketch is a class in :data:`SKETCHES` (the registry the solvers' ``METHODS`` follow).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg

from .errors import InputError
from .expansion import expansion_network
from .kernels import checks
from .kernels import embedding as kern
from .kernels import sketches as sk
from .kernels.expansion import misestimation_factor
from .leverage import UNIT_GRAMS_MAX_BYTES, LeverageResult, compute_block_leverage


@dataclass(frozen=True)
class EmbeddingError:
    """The measured embedding error of a block sketch over independent draws.

    Attributes
    ----------
    sketch : str
        A key of :data:`SKETCHES`.
    errors : ndarray, shape (trials,)
        ``||I_d - U^T S^T S U||_2`` of each draw.
    q : int
        Blocks the sketch keeps per draw: servers summed (a network) or draws with
        replacement (Algorithm 1).
    n_servers : int or None
        m, for a network.
    delta : float
        The failure probability Theorem 1's eps is stated for.
    theorem1 : float or None
        GC Theorem 1's eps at (d, q, delta, beta), with the proof's constants
        (:func:`~dask_coded.kernels.embedding.theorem1_epsilon`); None for a sketch that
        mixes rows (the theorem is about block sampling).
    beta : float
        The misestimation factor of the distribution the sketch samples by against the
        block leverage scores (``min_i Pi-tilde_i / Pi_i``; 1 for Algorithm 1 on exact
        scores).
    n_cols, n_blocks : int
        d and K.
    """

    sketch: str
    errors: np.ndarray
    q: int
    n_servers: int | None
    delta: float
    theorem1: float | None
    beta: float
    n_cols: int
    n_blocks: int

    @property
    def median(self) -> float:
        return float(np.median(self.errors))

    @property
    def quantile(self) -> float:
        """The ``1 - delta`` quantile of the errors: Theorem 1 says it is at most
        :attr:`theorem1`."""
        return float(np.quantile(self.errors, 1.0 - self.delta))

    @property
    def exceed_fraction(self) -> float | None:
        """Fraction of draws whose error exceeds Theorem 1's eps (the theorem: <= delta)."""
        return None if self.theorem1 is None else float(np.mean(self.errors > self.theorem1))

    @property
    def holds(self) -> bool | None:
        """Theorem 1 held on these draws: at most a delta fraction exceeded its eps."""
        return None if self.theorem1 is None else self.exceed_fraction <= self.delta

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary (no per-draw errors)."""
        return {"sketch": self.sketch, "q": self.q, "n_servers": self.n_servers,
                "trials": int(self.errors.size), "median": self.median,
                "quantile": self.quantile, "max": float(self.errors.max()),
                "delta": self.delta, "theorem1_epsilon": self.theorem1, "beta": self.beta,
                "exceed_fraction": self.exceed_fraction, "holds": self.holds}


@dataclass(frozen=True)
class Draws:
    """What a sketch's draws are taken from (see :meth:`Sketch.errors`)."""

    setup: LeverageResult
    n_servers: int
    q: int
    trials: int
    seed: int
    #: Blocks ``(i, U_i = A_i R^{-1})`` one at a time, read from A (for the sketches that
    #: mix rows, which the blocks' ``U_i^T U_i`` cannot describe).
    unit_rows: Callable[[], Iterator[tuple[int, np.ndarray]]]

    @property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, 13])


class Sketch:
    """A sketch whose draws :func:`embedding_error` measures."""

    name = "base"
    #: The sketch is a network of servers (n_servers and q <= n_servers apply).
    network = True
    #: GC Theorem 1 bounds it (a block sampling sketch).
    theorem1 = True

    def default_q(self, setup: LeverageResult, n_servers: int) -> int:
        # lstsq's q when neither q nor a deadline is given (ReplicatedMethod)
        return max(1, math.ceil(0.75 * n_servers))

    def target(self, scores: np.ndarray) -> np.ndarray:
        """The distribution the network's replicas follow."""
        raise NotImplementedError

    def errors(self, draws: Draws) -> tuple[np.ndarray, float]:
        """Per-draw errors and the misestimation factor beta of what it samples by."""
        scores = draws.setup.scores
        net = expansion_network(self.target(scores), draws.n_servers, q=draws.q)
        errs = kern.expansion_errors(draws.setup.unit_grams, net.replicas, draws.q,
                                     draws.trials, draws.rng)
        return errs, float(misestimation_factor(scores, net.induced))


class Expansion(Sketch):
    """``expansion``: the block-leverage network's first q servers (GC Section IV)."""

    name = "expansion"

    def target(self, scores):
        return scores


class UniformNetwork(Sketch):
    """``uniform``: a network that replicates every block equally (the usual scheme)."""

    name = "uniform"

    def target(self, scores):
        real = scores > 0  # a block of zero rows has nothing to hold
        return real / real.sum()


class Algorithm1(Sketch):
    """``algorithm1``: q blocks drawn with replacement by Pi, rescaled (GC Algorithm 1)."""

    name = "algorithm1"
    network = False

    def errors(self, draws):
        s = draws.setup
        return kern.algorithm1_errors(s.unit_grams, s.scores, draws.q, draws.trials,
                                      draws.rng), 1.0


#: Sketch draws held at once by a mixing sketch's measurement: ``trials x r x d`` doubles.
MIXING_MAX_BYTES = 512 * 2**20


class Mixing(Sketch):
    """``gaussian`` / ``rademacher`` / ``srht``: the data-oblivious sketches the paper
    compares with (:mod:`dask_coded.kernels.sketches`), of as many rows as q blocks.

    Gaussian and Rademacher take ``r = q tau`` rows, the block-SRHT q blocks of the
    transformed matrix (``q t`` rows, t = tau up to a power of two; GC Theorem 5 and
    Proposition 5 compare it with Algorithm 1 at the same q). Each draw needs ``S U``: one
    read of A, block by block, accumulates all draws' ``S_i U_i`` (``O(trials r N d)``
    flops, ``trials r d`` doubles, at most :data:`MIXING_MAX_BYTES`). GC Theorem 1 does
    not apply (``theorem1`` is None).
    """

    network = False
    theorem1 = False

    def __init__(self, kind: str):
        self.name = self.kind = kind

    def default_q(self, setup, n_servers):
        # as many rows as lstsq's sketches take by default, min(N / 2, 50 d)
        rows = min(math.ceil(setup.layout.n_rows / 2), 50 * setup.n_cols)
        return max(1, math.ceil(rows / setup.layout.block_rows))

    def errors(self, draws):
        layout, d = draws.setup.layout, draws.setup.n_cols
        tau = layout.block_rows
        rows = draws.q * (sk.Sketch.create("srht", 1, 0, 0, 1, tau).padded_block_rows
                          if self.kind == "srht" else tau)
        sketches = [sk.Sketch.create(self.kind, rows, draws.seed, t, layout.n_blocks, tau)
                    for t in range(draws.trials)]
        size = draws.trials * sketches[0].rows * d * 8
        if size > MIXING_MAX_BYTES:
            raise InputError(f"{draws.trials} draws of a {sketches[0].rows}-row {self.kind} "
                             f"sketch need {size / 2**20:.0f} MiB; at most "
                             f"{MIXING_MAX_BYTES // 2**20} MiB: fewer trials or a smaller q")
        su = np.zeros((draws.trials, sketches[0].rows, d))
        for block, u in draws.unit_rows():
            for t, sketch in enumerate(sketches):
                su[t] += sketch.share(block, u)
        errs = np.array([kern.embedding_norm(x.T @ x) for x in su])
        return errs, 1.0


SKETCHES: dict[str, Sketch] = {s.name: s for s in (
    Expansion(), UniformNetwork(), Algorithm1(),
    *(Mixing(kind) for kind in sk.KINDS))}


def _unit_rows(A: Any, setup: LeverageResult) -> Iterator[tuple[int, np.ndarray]]:
    """``(i, A_i R^{-1})`` block by block: one block of A in memory at a time."""
    from .io import as_row_chunked

    a, _ = as_row_chunked(A, None)
    if a.shape != (setup.layout.n_rows, setup.n_cols):
        raise InputError(f"A is {a.shape[0]} x {a.shape[1]}; setup was for "
                         f"{setup.layout.n_rows} x {setup.n_cols}")
    r = setup.r_factor
    if r is None:
        r = np.linalg.cholesky(setup.gram).T  # R^T R = A^T A
    for i in range(setup.layout.n_blocks):
        lo, hi = setup.layout.block_range(i)
        block = np.asarray(a[lo:hi].compute() if hasattr(a, "dask") else a[lo:hi],
                           dtype=np.float64)
        yield i, linalg.solve_triangular(r, block.T, trans="T", lower=False).T


def embedding_error(A: Any, n_blocks: int | None = None, *, n_servers: int | None = None,
                    q: int | None = None, sketch: str = "expansion", trials: int = 200,
                    delta: float = 0.1, seed: int | None = None,
                    setup: LeverageResult | None = None, client: Any = None
                    ) -> EmbeddingError:
    """Measure the l2-subspace embedding error of a block sketch of A (GC Theorem 1).

    Parameters
    ----------
    A : ndarray, dask array or path
        The tall N x d matrix, or a dataset store (read once, by chunks, for the block
        summaries; not for a block sketch when ``setup`` is given).
    n_blocks : int, optional
        K (default: as :func:`~dask_coded.lstsq` chooses).
    n_servers : int, optional
        m for a network sketch (default 2 K, as lstsq).
    q : int, optional
        Servers summed per round (default ``ceil(0.75 m)``, lstsq's default), the draws of
        Algorithm 1 (default: the same number), or the blocks' worth of rows of a mixing
        sketch (default: lstsq's ``min(N / 2, 50 d)`` rows).
    sketch : {"expansion", "uniform", "algorithm1", "gaussian", "rademacher", "srht"}
        A key of :data:`SKETCHES`. The last three mix all rows (the paper's baselines;
        :class:`Mixing`) and read A once more, block by block.
    trials : int
        Independent draws.
    delta : float
        Theorem 1's failure probability, in (0, 1).
    seed : int, optional
    setup : LeverageResult, optional
        The setup pass of an earlier call on the same A and K (``lstsq(...).setup``).
    client : distributed.Client, optional
        Where the setup pass runs (default: the current client, else local threads).

    Returns
    -------
    EmbeddingError
        Memory: the client holds K d^2 doubles (the blocks' ``U_i^T U_i``); refused above
        :data:`~dask_coded.leverage.UNIT_GRAMS_MAX_BYTES`.
    """
    sketcher = SKETCHES[checks.choice("sketch", sketch, tuple(SKETCHES))]
    trials = checks.integer("trials", trials, 1)
    delta = checks.fraction("delta", delta, open_low=True, open_high=True)
    seed = checks.seed("seed", seed)
    seed = 0 if seed is None else seed
    n_servers = checks.integer("n_servers", n_servers, 1, optional=True)
    q = checks.integer("q", q, 1, optional=True)
    if setup is not None and not isinstance(setup, LeverageResult):
        raise InputError(f"setup must be a LeverageResult, got {checks.type_name(setup)}")
    if setup is None:
        if n_blocks is None:
            from .io import as_row_chunked
            from .linear_model import default_blocks

            n_blocks = default_blocks(A, as_row_chunked(A, None)[0])
        setup = compute_block_leverage(A, n_blocks, client=client)
    elif n_blocks is not None and n_blocks != setup.layout.n_blocks:
        raise InputError(f"setup has {setup.layout.n_blocks} blocks; n_blocks={n_blocks} "
                         "differs")
    if setup.method != "exact":
        raise InputError("the embedding error needs an exact setup (a sketch setup's R is "
                         "approximate, so its U would not be orthonormal)")
    if sketcher.theorem1 and setup.unit_grams is None:
        raise InputError("the embedding error of a block sketch needs the blocks' U_i^T U_i: "
                         f"K d^2 doubles in {UNIT_GRAMS_MAX_BYTES // 2**20} MiB at most "
                         f"(this setup has K={setup.layout.n_blocks}, d={setup.n_cols})")
    real = int(np.count_nonzero(setup.layout.real_rows_per_block() > 0))
    m = 2 * real if n_servers is None else n_servers
    q = sketcher.default_q(setup, m) if q is None else q
    if sketcher.network and q > m:
        raise InputError(f"q={q} is larger than n_servers={m}")
    draws = Draws(setup, m, q, trials, seed, lambda: _unit_rows(A, setup))
    errs, beta = sketcher.errors(draws)
    return EmbeddingError(sketch=sketcher.name, errors=errs, q=q,
                          n_servers=m if sketcher.network else None, delta=delta,
                          theorem1=kern.theorem1_epsilon(setup.n_cols, q, delta, beta)
                          if sketcher.theorem1 else None,
                          beta=beta, n_cols=setup.n_cols, n_blocks=setup.layout.n_blocks)

