"""Coded gradient solvers for least squares, all on the coded executor (GC Sections III-E to IV).

Each method is a small class in :data:`METHODS` (a name registry, as in dask-glm) that says
which servers exist (block, encoding weight), which kernel they run, and how a round's
results become a gradient estimate. :class:`CodedSolver` does the rest in PyLops' setup /
step / run shape, so one iteration can be tested alone.

The setup pass reads A and b once (twice if A is ill-conditioned) for the block leverage
scores, ``A^T A``, ``A^T b`` and ``b^T b``. The last three make the optimal step xi*, the
residual norm and the exact gradient norm (for the stopping rule) O(d^2) per iteration with no
further pass over the data. A Gram-free setup (``leverage="sketch"``, for wide A) keeps only a
sketch's R: every iteration is then an exact round of conjugate gradients
(:class:`~dask_coded.kernels.gradients.ConjugateGradient`), whose servers also return what the
line search and the residual need.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .executor import (
    CodedExecutor,
    RoundResult,
    SchedulerLost,
    Speculation,
    round_faults,
    scheduler_lost,
)
from .expansion import ExpansionNetwork, expansion_network
from .kernels import embedding as ek
from .kernels import gradients as gk
from .kernels import sketches as sk
from .kernels.blocks import BlockLayout
from .kernels.expansion import distortion, misestimation_factor
from .leverage import LeverageResult
from .sources import BlockSource

STEPS = ("optimal", "fixed", "diminishing")

#: Expansion networks :func:`dask_coded.lstsq` can build: the exact optimum of GC eq. 21, or
#: the paper's eq. 19 then Algorithm 2.
NETWORKS = {"optimal": "optimal", "eq19": "paper"}

#: Backups in anchor rounds: a block none of whose replicas has answered by twice the
#: median arrival (at least 0.2 s: rounds are short) gets a copy elsewhere.
ANCHOR_SPECULATION = Speculation(multiplier=2.0, quantile=0.5, min_wait=0.2)


def _by_server(result: RoundResult) -> tuple[np.ndarray, np.ndarray]:
    """The round's servers and stacked values in server order, not arrival order.

    Floating-point sums depend on their order; summing in server order makes a round's
    gradient a function of *which* servers answered only, so a resumed solve repeats an
    uninterrupted one bit for bit whenever the same servers answer (always, for sd).
    """
    order = np.argsort(result.servers, kind="stable")
    return result.servers[order], np.stack([result.values[i] for i in order])


@dataclass
class Problem:
    """What the setup pass learned about (A, b), and where its blocks come from."""

    source: BlockSource
    layout: BlockLayout
    summary: LeverageResult
    #: Approximate block leverage scores to sample by instead of ``summary.scores`` (the
    #: ``scores="sketch"`` of :func:`dask_coded.lstsq`: GC Section III-C's Pi-tilde).
    approximate_scores: np.ndarray | None = None

    @property
    def n_cols(self) -> int:
        return self.summary.n_cols

    @property
    def sampling_scores(self) -> np.ndarray:
        """The scores the leverage methods replicate or draw by: approximate when given."""
        return (self.summary.scores if self.approximate_scores is None
                else self.approximate_scores)

    def score_quality(self) -> dict | None:
        """beta and the distortion of the approximate scores against the exact ones (GC
        Section III-C, Section II), or None when sampling by the exact scores."""
        if self.approximate_scores is None or self.summary.method != "exact":
            return None
        exact, approx = self.summary.scores, self.approximate_scores
        return {"scores": "sketch", "beta": float(misestimation_factor(exact, approx)),
                "distortion": float(distortion(exact, approx))}

    @property
    def real_blocks(self) -> np.ndarray:
        """Blocks that hold at least one row (all of them: blocks differ by at most one
        row, footnote 1; a caller's own layout could still leave one empty)."""
        return np.flatnonzero(self.layout.real_rows_per_block() > 0)


@dataclass
class Settings:
    """Solver parameters after validation (see :func:`dask_coded.lstsq`)."""

    n_servers: int | None = None
    q: int | None = None
    deadline: float | None = None
    on_short: str = "wait"
    runtime: Any = None
    step: str = "optimal"
    step_scale: float = 0.25
    step_power: float = 0.5
    max_iter: int = 100
    tol: float = 0.0
    time_budget: float | None = None
    sketch_rows: int | None = None
    seed: int = 0
    reconnect_timeout: float = 60.0
    precondition: bool = True
    variance_reduction: bool = True
    anchor_every: int | None = None
    reweight: bool = True
    network: str = "optimal"


# ------------------------------------------------------------------------------ methods


class Method:
    """Base: uncoded servers, one per block, waiting for all of them."""

    name = "base"
    iterative = True
    coded = False
    #: A round's gradient is a random estimate (so variance reduction applies to it).
    sampled = False
    #: The setup pass must also return the exact solution (``direct``).
    needs_solution = False
    #: Samples or replicates by the block leverage scores (so ``scores="sketch"`` applies).
    uses_scores = False

    def __init__(self, problem: Problem, settings: Settings):
        self.problem = problem
        self.settings = settings
        self.network: ExpansionNetwork | None = None
        blocks = problem.real_blocks
        self.server_blocks = blocks
        self.weights = np.ones(len(blocks))
        self.q = len(blocks)
        #: The last sampled round's block sketch as ``(blocks, coefficients)``: its
        #: ``U^T S^T S U = sum_j c_j U_{b_j}^T U_{b_j}`` (set by :meth:`gradient` where the
        #: estimate is a block sketch; GC Theorem 1's object, measured per iteration).
        self.last_sketch: tuple[np.ndarray, np.ndarray] | None = None

    def embedding_draws(self, unit_grams: np.ndarray, trials: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, float] | None:
        """Embedding errors of ``trials`` fresh draws of this method's round sketch and the
        misestimation factor beta of what it samples by; None for a method whose rounds
        are not block sketches (see :func:`dask_coded.embedding_error`)."""
        return None

    def distinct_blocks(self, history: dict) -> dict | None:
        """The distinct blocks a sampled round asked for, expected and measured (GC
        Theorem 7), where the method merges repeated draws; else None."""
        return None

    def loaders(self) -> list[tuple]:
        """Each server's data: its block as it is (weight 1; a coded method's encoding
        weights are applied by its decoder)."""
        src = self.problem.source
        return [src.loader(int(b), 1.0) for b in self.server_blocks]

    def copy_of(self) -> list[int | None]:
        """Per server, the first earlier server of the same block (its data, the block as it
        is, is copied from there at placement rather than read again), or None."""
        first: dict[int, int] = {}
        out: list[int | None] = []
        for j, block in enumerate(self.server_blocks.tolist()):
            out.append(first.get(block))
            first.setdefault(block, j)
        return out

    kernel = staticmethod(gk.partial_gradient)

    def param(self, x: np.ndarray, round_id: int) -> Any:
        return x

    def servers_for_round(self, round_id: int) -> tuple[list[int] | None, int]:
        return None, self.q

    def gradient(self, result: RoundResult) -> np.ndarray:
        return result.scale * np.sum(_by_server(result)[1], axis=0)

    def sampled_round(self, executor: CodedExecutor, value: np.ndarray, round_id: int,
                      extras: dict, difference: bool) -> tuple[np.ndarray, RoundResult]:
        """One sampled round: the gradient estimate at ``value`` (the change from the anchor
        along ``value`` when ``difference``) and the round it came from.

        One executor round of :attr:`kernel` (or :attr:`difference_kernel`) on the servers
        of :meth:`servers_for_round`, the first q of them decoded by :meth:`gradient`.
        """
        servers, q = self.servers_for_round(round_id)
        deadline = self.settings.deadline if self.coded else None
        kernel = self.difference_kernel if difference else self.kernel
        result = executor.run_round(kernel, self.param(value, round_id), q=q,
                                    deadline=deadline, on_short=self.settings.on_short,
                                    servers=servers, **extras)
        return self.gradient(result), result

    #: The kernel of a variance-reduced round: the change of ``kernel``'s value from the
    #: anchor, linear in ``param(x - x_ref)``; ``gradient`` combines it as it combines
    #: ``kernel``'s values.
    difference_kernel = staticmethod(gk.hessian_product)

    #: The method runs after a Gram-free setup (see :class:`CodedSolver`): there every
    #: iteration is an exact round, so a method whose own rounds are sketches would only
    #: be sd under another name.
    runs_gram_free = True

    def exact_round(self, executor: CodedExecutor, kernel: Callable, param: Any,
                    extras: dict) -> tuple[np.ndarray, RoundResult]:
        """``kernel``'s values summed over every block: one result from every server."""
        result = executor.run_round(kernel, param, q=len(self.server_blocks), **extras)
        return np.sum(_by_server(result)[1], axis=0), result

    def anchor_round(self, executor: CodedExecutor, x: np.ndarray, extras: dict
                     ) -> tuple[np.ndarray, RoundResult]:
        """The exact gradient at x (see :meth:`exact_round`)."""
        return self.exact_round(executor, gk.partial_gradient, x, extras)

    def get_state(self) -> dict:
        """JSON-safe state that decides later rounds (see :meth:`CodedSolver.state`)."""
        return {}

    def set_state(self, state: dict) -> None:
        pass


class SteepestDescent(Method):
    """``sd``: every block, every iteration (the uncoded baseline)."""

    name = "sd"


class ReplicatedMethod(Method):
    """Blocks replicated over ``n_servers`` servers by an expansion network; sum the first q.

    The gradient estimate is GC eq. 26, unbiased by Theorem 2 when the q fastest servers are a
    uniformly random subset (homogeneous servers). Where they are not (a persistent
    straggler is rarely among the first q), ``reweight`` divides each server's term by its
    observed inclusion rate relative to q / m (Horvitz-Thompson), so that its block keeps
    its share of the sum. The anchor round of the variance-reduced iteration takes the
    first replica of every block (an exact gradient by repetition), with a backup copy from
    the store for a block whose replicas are all late.
    """

    coded = True
    sampled = True
    #: Pseudo-rounds at the uniform rate q / m that the inclusion rates start from.
    PRIOR_ROUNDS = 20
    #: Largest Horvitz-Thompson factor (a server that is almost never first).
    MAX_REWEIGHT = 10.0

    def __init__(self, problem: Problem, settings: Settings):
        super().__init__(problem, settings)
        m = settings.n_servers
        if m is None:
            m = 2 * len(problem.real_blocks)
        target = self.target_distribution()
        survival, deadline = settings.runtime, settings.deadline if settings.runtime else None
        kind = NETWORKS[settings.network]
        if kind == "paper" and survival is None:
            # eq. 19 needs phi(T); without a runtime model, eq. 12 read backwards: the
            # share of servers a round does not wait for, 1 - q / m
            q = settings.q or max(1, math.ceil(0.75 * m))
            if q >= m:
                raise InputError(f"network='eq19' needs phi(T) in (0, 1): a runtime model "
                                 f"and deadline, or q < n_servers (got q={q} of {m})")
            survival = 1.0 - q / m
        self.network = expansion_network(target, m, survival=survival, deadline=deadline,
                                         q=settings.q, method=kind)
        if self.network.q is None:
            self.network = expansion_network(target, m, q=max(1, math.ceil(0.75 * m)),
                                             method=kind)
        self.q = self.network.q
        self.server_blocks = self.network.server_blocks
        self.weights = self.network.encoding_weights()[self.server_blocks]  # eq. 23
        self.included = np.zeros(len(self.server_blocks))
        self.sampled_rounds = 0

    def target_distribution(self) -> np.ndarray:
        raise NotImplementedError

    def inclusion_factors(self) -> np.ndarray:
        """Per server, ``(q / m) / p_j`` for its observed rate p_j of being among the first q.

        Horvitz-Thompson: a term included with probability p_j, divided by p_j, has the
        expectation it would have if always included; relative to the uniform q / m that
        eq. 26's weights assume, the factor is 1 for a server included as often as the
        theory says. Rates come from earlier rounds only, so a round's own draw does not
        bias its weights, and start from :data:`PRIOR_ROUNDS` rounds at the uniform rate.
        """
        m = len(self.server_blocks)
        p0 = self.q / m
        rate = (self.included + self.PRIOR_ROUNDS * p0) / (self.sampled_rounds
                                                           + self.PRIOR_ROUNDS)
        return np.minimum(p0 / np.maximum(rate, 1e-12), self.MAX_REWEIGHT)

    # Each server holds its block as it is (weight 1, Method.loaders): G is
    # diagonal, one weight per block (eq. 23), so A~_i^T (A~_i x - b~_i) = w_i^2 A_i^T
    # (A_i x - b_i) and the decoder applies w_i^2 (gradient): eq. 26's sum, with the
    # replicas of a block identical, so that they are copies of one read, not a scaled
    # copy each.

    def gradient(self, result: RoundResult) -> np.ndarray:
        servers, values = _by_server(result)
        coef = self.weights[servers] ** 2  # eq. 25's encoding, applied here (see loaders)
        if self.settings.reweight:
            coef = coef * self.inclusion_factors()[servers]
            self.included[result.servers] += 1
            self.sampled_rounds += 1
        coef = result.scale * coef
        self.last_sketch = (self.server_blocks[servers], coef)
        return np.tensordot(coef, values, axes=1)  # eq. 26

    def embedding_draws(self, unit_grams, trials, rng):
        """First-q subsets of this network's servers, uniformly drawn (Theorem 2's premise),
        with eq. 23's weights (no Horvitz-Thompson factors: those follow the run)."""
        errs = ek.expansion_errors(unit_grams, self.network.replicas, self.q, trials, rng)
        # beta against the block leverage scores (Theorem 1's), not the network's own target
        return errs, float(misestimation_factor(self.problem.summary.scores,
                                                self.network.induced))

    def exact_round(self, executor: CodedExecutor, kernel: Callable, param: Any,
                    extras: dict) -> tuple[np.ndarray, RoundResult]:
        """``kernel``'s values summed over the first replica of every block to answer.

        The servers hold the blocks unweighted (see :meth:`loaders`), so a replica's value
        is its block's (for the anchor, the partial gradient ``2 A_i^T (A_i x - b_i)``);
        summed over one replica per block it is the exact total, whichever replicas were
        late (exact by repetition), and a block whose replicas are all late gets a backup
        copy read from the source.
        """
        result = executor.run_round(kernel, param, q=1, cover=self.server_blocks,
                                    speculate=ANCHOR_SPECULATION, **extras)
        return np.sum(_by_server(result)[1], axis=0), result

    def get_state(self) -> dict:
        return {"included": [float(v) for v in self.included],
                "sampled_rounds": self.sampled_rounds}

    def set_state(self, state: dict) -> None:
        if state:
            self.included = np.asarray(state["included"], dtype=np.float64)
            self.sampled_rounds = int(state["sampled_rounds"])


class BlockLeverage(ReplicatedMethod):
    """``block-leverage``: replicas from the block leverage scores (the GC paper's scheme)."""

    name = "block-leverage"
    uses_scores = True

    def target_distribution(self) -> np.ndarray:
        return self.problem.sampling_scores


class Uniform(ReplicatedMethod):
    """``uniform``: every block replicated equally (the usual replication scheme)."""

    name = "uniform"

    def target_distribution(self) -> np.ndarray:
        real = self.problem.layout.real_rows_per_block() > 0
        return real / real.sum()


def _default_sketch_rows(problem: Problem) -> int:
    return min(math.ceil(problem.layout.n_rows / 2), 50 * problem.n_cols)


class IterativeSketch(Method):
    """``gaussian`` / ``rademacher`` / ``srht``: a fresh sketch of all N rows every iteration.

    The paper's baselines (GC Section IV, "Gaussian sketching with updated sketches",
    "iterative block-SRHT"): ``g_hat = 2 A^T S^T S (A x - b)`` for a new ``S`` (``r x N``,
    :class:`~dask_coded.kernels.sketches.Sketch`) each iteration, unbiased as ``E[S^T S] =
    I``. S mixes the rows of every block, so a round needs every server twice: first each
    returns its share ``S_i (A_i x - b_i)`` of ``s = S (A x - b)`` (r numbers), then, given
    s, its term ``2 A_i^T S_i^T s`` (d numbers). Nothing of size N travels; each server draws
    its own ``S_i`` (see :mod:`dask_coded.kernels.sketches` for the costs). There is no
    straggler tolerance beyond waiting: a mixing sketch needs all blocks.
    """

    kind = "gaussian"
    sampled = True
    runs_gram_free = False

    def __init__(self, problem: Problem, settings: Settings):
        super().__init__(problem, settings)
        self.rows = settings.sketch_rows or _default_sketch_rows(problem)

    def sketch(self, round_id: int) -> sk.Sketch:
        layout = self.problem.layout
        return sk.Sketch.create(self.kind, self.rows, self.settings.seed, round_id,
                                layout.n_blocks, layout.block_rows)

    def sampled_round(self, executor, value, round_id, extras, difference):
        sketch = self.sketch(round_id)
        n = len(self.server_blocks)
        first = executor.run_round(sk.residual_share, (value, sketch, not difference), q=n,
                                   **extras)
        s = np.sum(_by_server(first)[1], axis=0)  # S (A x - b): the shares add up
        second = executor.run_round(sk.adjoint_gradient, (s, sketch), q=n)
        g = np.sum(_by_server(second)[1], axis=0)
        return g, dataclasses.replace(second, seconds=first.seconds + second.seconds,
                                      backups=first.backups + second.backups)


class GaussianSketch(IterativeSketch):
    name = "gaussian"
    kind = "gaussian"


class RademacherSketch(IterativeSketch):
    name = "rademacher"
    kind = "rademacher"


class SRHTSketch(IterativeSketch):
    name = "srht"
    kind = "srht"


def _draw_blocks(pi: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """How often each block is drawn in ``draws`` draws with replacement by Pi (Algorithm 1)."""
    return np.bincount(rng.choice(len(pi), size=draws, p=pi), minlength=len(pi))


class WeightedLeverage(Method):
    """``weighted-leverage``: Algorithm 1's block leverage sample with duplicates merged.

    Each iteration draws q blocks with replacement by Pi; a block drawn c times is computed
    once and weighted c / (q Pi_i) (Appendix E): the same gradient as Algorithm 1's sketch,
    with only the distinct blocks' servers asked.
    """

    name = "weighted-leverage"
    sampled = True
    uses_scores = True
    runs_gram_free = False

    def __init__(self, problem: Problem, settings: Settings):
        super().__init__(problem, settings)
        self.draws = settings.q or max(1, len(self.server_blocks) // 5)
        self.q = self.draws  # blocks drawn per iteration (fewer distinct servers are asked)
        self.position = {int(b): j for j, b in enumerate(self.server_blocks)}
        self._counts: dict[int, np.ndarray] = {}

    def servers_for_round(self, round_id: int) -> tuple[list[int], int]:
        rng = np.random.default_rng([self.settings.seed, 7, round_id])
        counts = _draw_blocks(self.problem.sampling_scores, self.draws, rng)
        self._counts[round_id] = counts
        servers = [self.position[int(b)] for b in np.flatnonzero(counts)]
        return servers, len(servers)

    def gradient(self, result: RoundResult) -> np.ndarray:
        counts = self._counts.pop(result.round_id)
        pi = self.problem.sampling_scores
        servers, values = _by_server(result)
        blocks = self.server_blocks[servers]
        coef = counts[blocks] / (self.draws * pi[blocks])  # c_i / (q Pi_i), Appendix E
        self.last_sketch = (blocks, coef)
        return np.tensordot(coef, values, axes=1)

    def embedding_draws(self, unit_grams, trials, rng):
        """GC Algorithm 1's sketch (duplicates merged changes the rows, not S^T S)."""
        p = self.problem
        beta = 1.0 if p.approximate_scores is None else float(
            misestimation_factor(p.summary.scores, p.approximate_scores))
        return ek.algorithm1_errors(unit_grams, p.sampling_scores, self.draws, trials,
                                    rng), beta

    def distinct_blocks(self, history):
        """GC Theorem 7's ``K - sum_i (1 - Pi_i)^q`` against the mean servers a sampled round
        asked (one per distinct block drawn)."""
        asked = [n for n, exact in zip(history["servers_used"], history["exact_round"])
                 if not exact]
        return {"expected": ek.theorem7_distinct_blocks(self.problem.sampling_scores,
                                                        self.draws),
                "measured": float(np.mean(asked)) if asked else None,
                "rounds": len(asked), "draws": self.draws}


class Direct(Method):
    """``direct``: the exact solution from the setup pass itself; no iterations, no servers.

    The setup pass already reads every chunk of A and b once for the block leverage scores;
    it keeps ``A^T A`` and ``A^T b`` and, when A is ill-conditioned, refines its R by
    Cholesky-QR passes (see :mod:`dask_coded.kernels.direct`). The solution is a small
    solve on the client. Its straggler tolerance is the pass's: backup copies of late
    chunk tasks (:meth:`~dask_coded.executor.CodedExecutor.map_tasks`).
    """

    name = "direct"
    iterative = False
    needs_solution = True

    def __init__(self, problem: Problem, settings: Settings):
        super().__init__(problem, settings)
        self.server_blocks = np.empty(0, dtype=np.int64)
        self.weights = np.empty(0)
        self.q = 0

    def solve(self, executor: CodedExecutor, extras: dict | None = None
              ) -> tuple[np.ndarray, None]:
        solution = self.problem.summary.solution
        if solution is None:
            raise InputError("method 'direct' needs a setup pass run with solve=True")
        return np.array(solution), None


class SketchAndSolve(Method):
    """``gaussian-solve`` / ``rademacher-solve`` / ``srht-solve`` / ``leverage-solve``: one
    sketch, one small solve.

    Non-iterative: the sketched system (S A, S b) is gathered once and solved by QR. The
    first three use one mixing sketch of all N rows (:mod:`dask_coded.kernels.sketches`:
    every server returns its share ``S_i [A_i, b_i]``, ``r x (d + 1)``, and the shares add
    up), ``leverage-solve`` Algorithm 1 with duplicates merged (Appendix E).
    """

    iterative = False
    kind = "gaussian"

    def __init__(self, problem: Problem, settings: Settings):
        super().__init__(problem, settings)
        self.rows = settings.sketch_rows or _default_sketch_rows(problem)

    def sketched_system(self, executor: CodedExecutor, extras: dict
                        ) -> tuple[np.ndarray, np.ndarray, RoundResult]:
        """``(S A, S b)`` and the round that gathered them."""
        layout = self.problem.layout
        sketch = sk.Sketch.create(self.kind, self.rows, self.settings.seed, 0,
                                  layout.n_blocks, layout.block_rows)
        result = executor.run_round(sk.system_share, sketch, q=len(self.server_blocks),
                                    **extras)
        system = np.sum(_by_server(result)[1], axis=0)  # S [A, b] = sum_i S_i [A_i, b_i]
        return system[:, :-1], system[:, -1], result

    def solve(self, executor: CodedExecutor, extras: dict | None = None
              ) -> tuple[np.ndarray, RoundResult]:
        """One round gathering every sketch piece (``extras``: the round's model stragglers)."""
        sa, sb, result = self.sketched_system(executor, extras or {})
        x, *_ = np.linalg.lstsq(sa, sb, rcond=None)
        return x, result


class LeverageSolve(SketchAndSolve):
    """``leverage-solve``: q blocks drawn by the scores, duplicates merged (Appendix E)."""

    name = "leverage-solve"
    kind = "leverage"
    uses_scores = True

    def sketched_system(self, executor, extras):
        tau = self.problem.layout.block_rows
        draws = max(1, math.ceil(self.rows / tau))
        pi = self.problem.sampling_scores
        counts = _draw_blocks(pi, draws, np.random.default_rng([self.settings.seed, 8]))
        pos = {int(b): j for j, b in enumerate(self.server_blocks)}
        servers = [pos[int(b)] for b in np.flatnonzero(counts)]
        result = executor.run_round(gk.weighted_rows_kernel, None, q=len(servers),
                                    servers=servers, **extras)
        blocks = self.server_blocks[result.servers]
        scale = np.sqrt(counts[blocks] / (draws * pi[blocks]))
        sa = np.vstack([v[0] * s for v, s in zip(result.values, scale)])
        sb = np.concatenate([v[1] * s for v, s in zip(result.values, scale)])
        return sa, sb, result


class GaussianSolve(SketchAndSolve):
    name = "gaussian-solve"
    kind = "gaussian"


class RademacherSolve(SketchAndSolve):
    name = "rademacher-solve"
    kind = "rademacher"


class SRHTSolve(SketchAndSolve):
    name = "srht-solve"
    kind = "srht"


METHODS: dict[str, type[Method]] = {
    cls.name: cls for cls in (Direct, SteepestDescent, BlockLeverage, Uniform,
                              GaussianSketch, RademacherSketch, SRHTSketch, WeightedLeverage,
                              GaussianSolve, RademacherSolve, SRHTSolve, LeverageSolve)
}

#: ``method="auto"`` solves exactly (``direct``) up to this many columns: the client then
#: holds a few d x d float64 matrices (128 MiB each at d = 4096) and the setup pass costs
#: O(N d^2) flops, about a read pass while d is in the hundreds. Wider problems use the coded
#: iterative method, whose rounds cost O(N d) each.
AUTO_DIRECT_MAX_COLS = 4096

#: The iterative method ``auto`` picks above :data:`AUTO_DIRECT_MAX_COLS`.
AUTO_ITERATIVE = "block-leverage"


def check_gram_free(method: str, step: Any) -> None:
    """Refuse what a Gram-free (sketch) setup cannot run: a method whose own rounds are not
    exact (every iteration is an exact round there), or a step rule that needs
    ``sigma_max(A)``."""
    cls = METHODS[method]
    if not cls.iterative:
        raise InputError(f"method {method!r} needs the exact setup: leverage='sketch' is for "
                         "the iterative methods")
    if not cls.runs_gram_free:
        raise InputError(f"method {method!r} needs the exact setup (leverage='exact'): after "
                         "a sketch setup every round is exact")
    if step != "optimal":
        raise InputError(f"step={step!r} needs sigma_max(A) from the exact setup "
                         "(leverage='exact'); a sketch setup uses the exact line search of "
                         "its conjugate gradients (step='optimal')")


def resolve_method(method: str, n_cols: int) -> str:
    """``auto`` -> ``direct`` or :data:`AUTO_ITERATIVE` by the column count; others as is."""
    if method != "auto":
        return method
    return "direct" if n_cols <= AUTO_DIRECT_MAX_COLS else AUTO_ITERATIVE


# ------------------------------------------------------------------------------ solver


@dataclass
class LstsqResult:
    """Result of :func:`dask_coded.lstsq`.

    Attributes
    ----------
    x : ndarray, shape (d,)
    n_iter : int
    history : dict of lists
        Per iteration: ``iteration``, ``time`` (seconds since the solve began, setup
        excluded), ``round_seconds``, ``servers_used``, ``timed_out``, ``step``,
        ``residual_norm`` (||A x - b||), ``gradient_norm`` (exact), and ``error`` (relative
        to the reference solution) when one is known. For a sampled round whose sketch is a
        block sketch (block-leverage, uniform, weighted-leverage) after an exact setup with
        ``U_i^T U_i`` kept: ``embedding_error`` (``||I - U^T S^T S U||_2`` of that round's
        sketch) and ``theorem3_bound`` (GC eq. 29 at the round's own eps; see
        :meth:`CodedSolver._theorem3`); ``gradient_error`` (``||g_hat - g||``, g exact from
        the setup's Gram) for every sampled round after an exact setup. None elsewhere.
    method : str
    stop_reason : str
        "tol", "max_iter", "time_budget" or "solved" (sketch-and-solve).
    setup_seconds, solve_seconds : float
    n_servers, q : int
    network : ExpansionNetwork or None
    reference : ndarray or None
    placement : dict
        Server -> worker holding its encoded block at the end.
    killed_workers : list of str
        Workers the straggler scenario killed during the solve.
    embedding : EmbeddingError or None
        The embedding error of the method's round sketch at its q (fresh draws) beside GC
        Theorem 1's eps (:meth:`CodedSolver.embedding`); :attr:`theorem3` sums up the
        per-round Theorem 3 check of the history.
    distinct_blocks : dict or None
        weighted-leverage: the distinct blocks a round asked, ``{"expected": ...}`` by GC
        Theorem 7 and ``{"measured": ...}`` (the mean over its sampled rounds).
    scores : dict or None
        With ``scores="sketch"``: the approximate scores' misestimation factor ``beta``
        (``min_i Pi-tilde_i / Pi_i``) and distortion against the exact ones.
    setup : LeverageResult
        The setup pass (scores, A^T A, A^T b): pass it as ``setup=`` to another
        :func:`~dask_coded.lstsq` call on the same data and blocks to skip the pass.
    """

    x: np.ndarray
    n_iter: int
    history: dict
    method: str
    stop_reason: str
    setup_seconds: float
    solve_seconds: float
    n_servers: int
    q: int
    network: ExpansionNetwork | None = None
    reference: np.ndarray | None = None
    placement: dict = field(default_factory=dict)
    setup: LeverageResult | None = None
    killed_workers: list = field(default_factory=list)
    embedding: Any = None
    distinct_blocks: dict | None = None
    scores: dict | None = None

    @property
    def theorem3(self) -> dict | None:
        """GC Theorem 3 over the run's sampled rounds: how many were measured, in how many
        ``||g_hat - g|| <= 2 eps ||A|| ||r||`` held, and the largest ratio of the two."""
        pairs = [(e, b) for e, b in zip(self.history.get("gradient_error", []),
                                        self.history.get("theorem3_bound", []))
                 if e is not None and b is not None]
        if not pairs:
            return None
        ratios = [e / b for e, b in pairs if b > 0]
        return {"rounds": len(pairs), "held": int(sum(e <= b for e, b in pairs)),
                "max_ratio": float(max(ratios)) if ratios else None}

    def summary(self) -> dict:
        """JSON-safe summary (without the per-iteration history)."""
        last = {k: v[-1] for k, v in self.history.items() if v}
        return {"method": self.method, "n_iter": self.n_iter, "stop_reason": self.stop_reason,
                "setup_seconds": self.setup_seconds, "solve_seconds": self.solve_seconds,
                "n_servers": self.n_servers, "q": self.q, "final": last,
                "rounds_timed_out": int(sum(self.history["timed_out"])),
                "network": None if self.network is None else self.network.summary(),
                "embedding": None if self.embedding is None else self.embedding.summary(),
                "theorem3": self.theorem3, "distinct_blocks": self.distinct_blocks,
                "scores": self.scores}


class CodedSolver:
    """One least-squares solve: ``setup()``, then ``step()`` per iteration, or ``run()``.

    Parameters
    ----------
    executor : CodedExecutor
    problem : Problem
    method : str
        A key of :data:`METHODS`.
    settings : Settings
    scenario : StragglerScenario, optional
    reference : ndarray, optional
        A solution to report the error against.
    x0 : ndarray, optional
        Starting point (zeros by default).
    """

    def __init__(self, executor: CodedExecutor, problem: Problem, method: str,
                 settings: Settings, *, scenario=None, reference: np.ndarray | None = None,
                 x0: np.ndarray | None = None, callback=None):
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        self.executor = executor
        self.problem = problem
        self.settings = settings
        self.method = METHODS[method](problem, settings)
        self.scenario = scenario
        self.reference = reference
        self.x = np.zeros(problem.n_cols) if x0 is None else np.array(x0, dtype=np.float64)
        self.callback = callback
        self.history: dict[str, list] = {k: [] for k in (
            "iteration", "time", "round_seconds", "servers_used", "timed_out", "step",
            "exact_round", "convergence", "backups", "residual_norm",
            "gradient_norm", "error", "embedding_error", "gradient_error",
            "theorem3_bound")}
        self.iteration = 0
        self.killed_workers: list[str] = []
        self._fault_rng = np.random.default_rng([settings.seed, 99])
        #: (x_ref, exact gradient at x_ref) of the variance-reduced iteration's epoch.
        self._anchor: tuple[np.ndarray, np.ndarray] | None = None
        self.r_factor: np.ndarray | None = None
        self._sigma_max: float | None = None

    # setup / step / run ---------------------------------------------------------------

    def setup(self, resident: dict | None = None, speculate: Any = False) -> None:
        """Place every server's block on the workers (once).

        Parameters
        ----------
        resident : dict, optional
            Block -> future of that block (weight 1) already on the cluster, as the setup
            pass left it (see :func:`dask_coded.lstsq`): servers copy it, reading nothing.
        speculate : Speculation or bool
            Backup loads for servers built from their loader (see
            :meth:`CodedExecutor.place`).
        """
        blocks = self.method.server_blocks
        if len(blocks):  # direct has no servers: nothing to place
            # copies of resident blocks are not waited for: a round uses whichever replicas
            # are ready (the holder's own copy is at once), the others arrive meanwhile
            self.executor.place(
                self.method.loaders(), copy_of=self.method.copy_of(), speculate=speculate,
                resident=None if resident is None else [resident[int(b)] for b in blocks],
                wait=resident is None)
        s = self.problem.summary
        self.r_factor = self._preconditioner() if self.method.iterative else None
        if self.gram_free:
            self._setup_gram_free()
        else:
            _, g0 = gk.objective_terms(self.x, s.gram, s.atb, s.btb)
            self._g0_norm = float(np.linalg.norm(g0)) or 1.0
            # preconditioned, the problem in y = R x has sigma_max(A R^{-1}) = 1
            sigma = s.sigma_max if self.r_factor is None else 1.0
            self._xi0 = gk.fixed_step(sigma, self.settings.step_scale)
        self.start_clock()

    @property
    def gram_free(self) -> bool:
        """The setup kept no ``A^T A`` (the sketch method, for wide A): every iteration is
        then an exact round of conjugate gradients preconditioned by the sketch's R, and
        the line search, residual and gradient norms come from the rounds themselves."""
        return self.method.iterative and self.problem.summary.gram is None

    def _setup_gram_free(self) -> None:
        s = self.problem.summary
        check_gram_free(self.method.name, self.settings.step)
        # the exact gradient at x0 = 0 is -2 A^T b (the setup pass's): the first round moves
        known = (-2.0 * s.atb if s.atb is not None and not np.any(self.x) else None)
        self._g0_norm = (float(np.linalg.norm(known)) or 1.0) if known is not None else None
        self._cg = gk.ConjugateGradient(self._apply_preconditioner, self.x, gradient=known)

    def _apply_preconditioner(self, g: np.ndarray) -> np.ndarray:
        return g if self.r_factor is None else gk.preconditioned_direction(g, self.r_factor)

    def _preconditioner(self) -> np.ndarray | None:
        """R from the setup pass (``R^T R = A^T A``), or None when not preconditioning."""
        if not self.settings.precondition:
            return None
        s = self.problem.summary
        if s.r_factor is not None:
            return s.r_factor
        if s.gram is None:
            return None
        from .kernels.direct import gram_factor  # a setup pass that did not keep its R

        return gram_factor(s.gram, self.problem.layout.n_rows).r

    @property
    def anchor_every(self) -> int:
        """Iterations per epoch of the variance-reduced iteration (one anchor round each).

        By default 1 when the preconditioner R is the setup pass's exact factor: the
        anchor's exact gradient then gives the Gauss-Newton step, which no sampled
        correction can improve on (their error grows with ``||x - x_ref||``); 5 without
        preconditioning, where the anchor's step is only a gradient step.
        """
        if self.settings.anchor_every is not None:
            return self.settings.anchor_every
        return 1 if self.r_factor is not None else 5

    def _uses_anchor(self) -> bool:
        return self.method.sampled and self.settings.variance_reduction

    def start_clock(self) -> None:
        """Start the solve clock (history ``time``, ``time_budget``) now."""
        self._t0 = time.perf_counter() - getattr(self, "_elapsed_before", 0.0)

    def state(self) -> dict:
        """JSON-safe state from which :meth:`restore` continues this solve.

        Everything that decides later iterations: the iterate, the iteration and round
        counters, the random generators (the executor's draws, the fault draws), the initial
        gradient norm of the ``tol`` rule, the history and the solve time so far. Floats go
        through JSON exactly (``repr`` round-trips a double).
        """
        anchor = None if self._anchor is None else [[float(v) for v in a]
                                                    for a in self._anchor]
        return {"iteration": self.iteration,
                "x": [float(v) for v in self.x],
                "anchor": anchor,
                "cg": self._cg.get_state() if self.gram_free else None,
                "method": self.method.get_state(),
                "g0_norm": self._g0_norm,
                "elapsed": time.perf_counter() - self._t0,
                "executor": self.executor.get_state(),
                "fault_rng": self._fault_rng.bit_generator.state,
                "killed_workers": list(self.killed_workers),
                "history": {k: [v.item() if isinstance(v, np.generic) else v for v in vals]
                            for k, vals in self.history.items()}}

    def restore(self, state: dict) -> None:
        """Continue from :meth:`state` (after :meth:`setup`): the next step is the one an
        uninterrupted solve would take."""
        x = np.asarray(state["x"], dtype=np.float64)
        if x.shape != self.x.shape:
            raise InputError(f"the checkpoint's x has {x.size} entries; this problem has "
                             f"{self.x.size} columns")
        self.x = x
        anchor = state.get("anchor")
        self._anchor = None if anchor is None else tuple(np.asarray(a, dtype=np.float64)
                                                         for a in anchor)
        self.method.set_state(state.get("method") or {})
        if self.gram_free:
            self._cg = gk.ConjugateGradient.from_state(self._apply_preconditioner,
                                                       state["cg"])
        self.iteration = int(state["iteration"])
        self._g0_norm = None if state["g0_norm"] is None else float(state["g0_norm"])
        self.executor.set_state(state["executor"])
        self._fault_rng.bit_generator.state = state["fault_rng"]
        self.killed_workers = list(state["killed_workers"])
        saved = state["history"]
        n = len(saved.get("iteration", []))
        # a key the checkpoint's version did not record reads None at its iterations
        self.history = {k: list(saved.get(k, [None] * n)) for k in self.history}
        self._elapsed_before = float(state["elapsed"])
        self.start_clock()

    def _round_extras(self, round_id: int) -> dict:
        # a simulated executor has no client: no workers to kill
        killed, extras = round_faults(self.executor.client, self.scenario, round_id,
                                      self.executor.n_servers, rng=self._fault_rng)
        self.killed_workers += killed
        return extras

    def step(self) -> RoundResult:
        """One iteration: a round on the executor, a gradient estimate, a step.

        Sampled methods with ``variance_reduction`` (the default) run SVRG (Johnson & Zhang,
        2013) on the coded servers: every :attr:`anchor_every` iterations an anchor round
        gathers the exact gradient at ``x_ref = x`` (one replica per block, see
        :meth:`Method.anchor_round`); in between, a round's first q servers return
        ``2 A~_i^T A~_i (x - x_ref)`` and the estimate is the anchor's gradient plus their
        eq. 26 sum. It is unbiased (Theorem 2 applied to the difference) and its variance
        vanishes as x and x_ref approach x*, unlike eq. 26's, which keeps the variance of
        the residual at x* when b is not in range(A). With ``variance_reduction=False``
        every round is the paper's eq. 26. With ``precondition`` (the default) the step is
        along ``R^{-1} R^{-T} g`` (right preconditioning by the setup's R; block leverage
        scores and so the expansion network are unchanged by it).
        """
        if self.gram_free:
            return self._conjugate_gradient_step()
        s = self.problem.summary
        method = self.method
        round_id = self.executor.rounds_run
        extras = self._round_extras(round_id)
        anchor_due = self._uses_anchor() and (self._anchor is None
                                              or self.iteration % self.anchor_every == 0)
        if anchor_due:
            g, result = method.anchor_round(self.executor, self.x, extras)
            self._anchor = (self.x.copy(), g.copy())
        else:
            difference = self._uses_anchor()
            value = self.x - self._anchor[0] if difference else self.x
            method.last_sketch = None
            g, result = method.sampled_round(self.executor, value, round_id, extras,
                                             difference)
            if difference:
                g = self._anchor[1] + g
            theorem3 = self._theorem3(g, value)
        direction = g if self.r_factor is None else gk.preconditioned_direction(
            g, self.r_factor)
        if self.settings.step == "optimal":
            if self.r_factor is None:
                xi = gk.optimal_step(g, self.x, s.gram, s.atb)  # Section IV's xi*
            else:  # the exact line search of the setup's model R^T R = A^T A
                xi = 0.5
        elif self.settings.step == "fixed":
            xi = self._xi0
        else:
            xi = gk.diminishing_step(self._xi0, self.iteration, self.settings.step_power)
        step = xi * direction
        self.x = self.x - step
        self.iteration += 1
        exact = anchor_due or not method.sampled
        # preconditioned by an exact R, an exact round's step is the error of the iterate it
        # started from: its relative size is the tol rule's measure (see converged)
        measure = None
        if exact:
            measure = (float(np.linalg.norm(step) / (np.linalg.norm(self.x) or 1.0))
                       if self.r_factor is not None
                       else float(np.linalg.norm(g)) / self._g0_norm)
        self._record(result, xi, exact=exact, convergence=measure,
                     theorem3=None if exact else theorem3)
        return result

    def _theorem3(self, g: np.ndarray, value: np.ndarray) -> tuple | None:
        """GC Theorem 3 for the round just run: (eps of its sketch, ||g_hat - g||, bound).

        ``eps = ||I - U^T S^T S U||_2`` of the round's own sketch (:attr:`Method.last_sketch`
        and the setup's ``U_i^T U_i``); g is exact from the setup's ``A^T A`` and ``A^T b``.
        The bound is eq. 29, ``2 eps ||A||_2 ||A x - b||_2``, for a plain round; for a
        variance-reduced one the sampled part is ``2 A^T S^T S A z`` (``z = x - x_ref``) and
        the same argument gives ``2 eps ||A||_2 ||A z||_2``. eps and the bound are None when
        the setup kept no ``U_i^T U_i`` (see :attr:`~dask_coded.LeverageResult.unit_grams`)
        or the round was not a block sketch; all three without the setup's Gram.
        """
        s = self.problem.summary
        if s.gram is None:
            return None
        resid, exact_g = gk.objective_terms(self.x, s.gram, s.atb, s.btb)
        error = float(np.linalg.norm(g - exact_g))
        sketch = self.method.last_sketch
        if sketch is None or s.unit_grams is None:
            return None, error, None  # not a block sketch: its eps is not measured
        eps = ek.sketch_error(s.unit_grams, *sketch)
        if self._uses_anchor():  # ||A z|| = sqrt(z^T A^T A z)
            resid = float(np.sqrt(max(float(value @ s.gram @ value), 0.0)))
        if self._sigma_max is None:
            self._sigma_max = s.sigma_max
        return eps, error, ek.theorem3_bound(eps, self._sigma_max, resid)

    def _conjugate_gradient_step(self) -> RoundResult:
        """One Gram-free iteration: an exact round of :func:`~gk.gradient_and_product` at
        the current (x, p), then the conjugate gradient step (:class:`~gk.ConjugateGradient`).

        An exact round for every method: sd waits for every block; the replicated methods
        take the first replica of every block (exact by repetition, a backup copy for a
        block whose replicas are all late), which is where their replication pays.
        """
        extras = self._round_extras(self.executor.rounds_run)
        total, result = self.method.exact_round(self.executor, gk.gradient_and_product,
                                                self._cg.param(), extras)
        if self._g0_norm is None:  # x0 given: the first round measures the gradient
            self._g0_norm = float(np.linalg.norm(total[:-1, 0])) or 1.0
        step, alpha, grad, objective = self._cg.step(total)
        self.x = self._cg.x
        self.iteration += 1
        measure = float(np.linalg.norm(step) / (np.linalg.norm(self.x) or 1.0))
        if alpha == 0.0:  # a round that only measured the gradient: not converged by it
            measure = None
        self._record(result, alpha, exact=True, convergence=measure,
                     objective=(float(np.sqrt(objective)), grad))
        return result

    def _record(self, result: RoundResult | None, xi: float, exact: bool = False,
                convergence: float | None = None,
                objective: tuple[float, np.ndarray] | None = None,
                theorem3: tuple[float, float, float] | None = None) -> None:
        s = self.problem.summary
        resid, grad = objective if objective is not None else gk.objective_terms(
            self.x, s.gram, s.atb, s.btb)
        h = self.history
        h["iteration"].append(self.iteration)
        h["time"].append(time.perf_counter() - self._t0)
        h["round_seconds"].append(result.seconds if result else 0.0)
        h["servers_used"].append(len(result.servers) if result else 0)
        h["timed_out"].append(bool(result.timed_out) if result else False)
        h["step"].append(float(xi))
        h["exact_round"].append(bool(exact))
        h["convergence"].append(convergence)
        h["backups"].append(int(result.backups) if result else 0)
        h["residual_norm"].append(resid)
        h["gradient_norm"].append(float(np.linalg.norm(grad)))
        if self.reference is not None:
            ref = np.linalg.norm(self.reference) or 1.0
            h["error"].append(float(np.linalg.norm(self.x - self.reference) / ref))
        eps, grad_error, bound = (None, None, None) if theorem3 is None else theorem3
        h["embedding_error"].append(eps)
        h["gradient_error"].append(grad_error)
        h["theorem3_bound"].append(bound)
        if self.callback is not None:
            self.callback(self)

    #: Scheduler losses one solve recovers from before it gives up.
    MAX_RECOVERIES = 5

    def _recover(self, exc: SchedulerLost) -> None:
        """Wait for a restarted scheduler and a worker, place the data again, go on.

        The iterate is the last completed step's (a step changes x only after its round),
        so the solve continues where it was; the failed round is run again.
        """
        recover = getattr(self.executor, "recover", None)
        if recover is None or self.executor.recoveries >= self.MAX_RECOVERIES:
            raise exc
        try:
            recover(self.settings.reconnect_timeout)
        except SchedulerLost as again:
            raise SchedulerLost(f"{exc}; {again} (at iteration {self.iteration})") from None

    #: Draws of the method's round sketch measured for :meth:`embedding` (O(q d^2 + d^3)
    #: each: 0.4 s at d = 100 and q = 150).
    EMBEDDING_TRIALS = 100

    def embedding(self, delta: float = 0.1) -> Any:
        """The embedding error of this method's round sketch at its q, over
        :data:`EMBEDDING_TRIALS` fresh draws, beside GC Theorem 1's eps (an
        :class:`~dask_coded.embedding.EmbeddingError`), or None (not a block sketch, or the
        setup kept no ``U_i^T U_i``)."""
        from .embedding import EmbeddingError

        s = self.problem.summary
        if s.unit_grams is None:
            return None
        rng = np.random.default_rng([self.settings.seed, 13])
        draws = self.method.embedding_draws(s.unit_grams, self.EMBEDDING_TRIALS, rng)
        if draws is None:
            return None
        errs, beta = draws
        net = self.method.network
        return EmbeddingError(sketch=self.method.name, errors=errs, q=self.method.q,
                              n_servers=None if net is None else net.n_servers, delta=delta,
                              theorem1=ek.theorem1_epsilon(s.n_cols, self.method.q, delta,
                                                           beta),
                              beta=beta, n_cols=s.n_cols, n_blocks=s.layout.n_blocks)

    def converged(self) -> bool:
        """The ``tol`` rule, on the last round's measure of convergence.

        After an exact round (sd, an anchor): preconditioned, the relative step
        ``||x_new - x|| / ||x_new||`` (with R^T R = A^T A the Gauss-Newton step is the error
        of the iterate it started from, so the new iterate is at least that close);
        otherwise the round's own gradient norm relative to the initial one, computed from
        the data. After a sampled round: the gradient norm from the setup's Gram matrix,
        relative to the initial one. (That Gram estimate cancels to rounding error near a
        solution of the normal equations: at cond(A) ~1e6 and beyond it would say
        "converged" at the seminormal-equations solution, cond(A)^2 u off.)
        """
        h = self.history
        if not self.settings.tol or not h["gradient_norm"]:
            return False
        measure = h["convergence"][-1] if h["convergence"] else None
        if measure is None:
            measure = h["gradient_norm"][-1] / self._g0_norm
        return measure <= self.settings.tol

    def run(self) -> str:
        """Iterate until a stopping rule fires; returns its name."""
        if not self.method.iterative:
            extras = self._round_extras(0) if len(self.method.server_blocks) else {}
            self.x, result = self.method.solve(self.executor, extras)
            self.iteration = 1
            self._record(result, 0.0)
            return "solved"
        budget = self.settings.time_budget
        while True:
            if self.iteration >= self.settings.max_iter:
                return "max_iter"
            if budget is not None and time.perf_counter() - self._t0 >= budget:
                return "time_budget"
            if self.converged():  # a restored solve that had already converged
                return "tol"
            try:
                self.step()
            except SchedulerLost as exc:
                self._recover(exc)
                continue
            except (OSError, CancelledError) as exc:
                # a call that was waiting on the scheduler when its connection dropped (a
                # restarted or frozen scheduler: executor._SchedulerGuard)
                client = getattr(self.executor, "client", None)
                if client is None or not scheduler_lost(client, exc):
                    raise
                why = (getattr(self.executor, "scheduler_trouble", None)
                       or f"lost the scheduler ({type(exc).__name__})")
                self._recover(SchedulerLost(f"iteration {self.iteration}: {why}"))
                continue
            if self.converged():
                return "tol"
            if not np.all(np.isfinite(self.x)):
                raise InputError(f"{self.method.name} diverged at iteration {self.iteration}: "
                                 "lower the step (step_scale) or use step='optimal'")
