"""Block leverage scores of a tall matrix, out of core (GC eq. 5).

The pass maps the pure kernels of :mod:`dask_coded.kernels.leverage` over the row chunks of
``A`` and keeps only d x d summaries per block segment; it never holds A whole. The same pass
gives ``A^T A``, ``A^T b`` and, with ``solve=True``, the exact least-squares solution
(:mod:`dask_coded.kernels.direct`): ``lstsq(method="direct")`` is this pass and a small solve.

Cost
----
``method="exact"`` reads A once and forms Gram products (about the cost of the read itself).
If the equilibrated Gram matrix is too ill-conditioned to be trusted (``cond(A)`` above about
1e6 for the scores, :data:`~dask_coded.kernels.leverage.GRAM_CONDITION_LIMIT`; above 5 for an
exact solution, :data:`~dask_coded.kernels.direct.GRAM_SOLVE_CONDITION`), A is read again to
refine its R by Cholesky-QR (one more pass up to ``cond(A)`` ~1e7, two beyond), each pass
about two Gram products per chunk; ``algorithm="qr"`` uses per-segment Householder QR
instead (TSQR, one pass at 10-15x the flops). ``method="sketch"`` reads A twice (a
CountSketch, then a projected pass) with ``O(N d k)`` flops for a JL dimension ``k``; it pays
off when d is large.

Where it runs: on a distributed client, each chunk is a task of
:meth:`~dask_coded.executor.CodedExecutor.map_tasks`, which backs up late chunks on other
workers (any worker can reread a chunk); without one, on dask's local threads.

Memory: a worker holds one chunk of A; the client receives ``d x d`` floats per block
segment (K of them when blocks are whole chunks) and a few ``d x d`` matrices.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
from dask.delayed import Delayed, delayed
from scipy import linalg

from .errors import InputError
from .io import as_row_chunked
from .kernels import checks, direct
from .kernels import leverage as kern
from .kernels.blocks import BlockLayout
from .sources import BlockSource, ResidentRows

METHODS = ("exact", "sketch")
_FAN_IN = 8

#: The exact setup keeps every block's ``U_i^T U_i`` (:attr:`LeverageResult.unit_grams`)
#: up to this size on the client: K d^2 doubles, 8 MiB at K = 100, d = 100; 64 MiB is
#: K = 100 up to d = 289.
UNIT_GRAMS_MAX_BYTES = 64 * 2**20


@dataclass(frozen=True)
class LeverageResult:
    """Block leverage scores and how they were obtained.

    Attributes
    ----------
    scores : ndarray, shape (n_blocks,)
        Pi, summing to 1 (eq. 5).
    method : str
        "exact" or "sketch".
    algorithm : str
        "gram" (one Gram pass), "cholqr" (Cholesky-QR refinement passes were needed: A is
        ill-conditioned), "qr" (Householder TSQR, on request) or "countsketch".
    layout : BlockLayout
        Rows and blocks (eq. 1; they differ by at most one row, footnote 1).
    n_cols : int
        d.
    condition : float
        Estimated 2-norm condition number of A after column equilibration (exact method), or
        NaN.
    passes : int
        Read passes over A.
    gram : ndarray, shape (d, d) or None
        ``A^T A`` (exact method), a by-product of the same pass.
    atb, btb : ndarray (d,) and float, or None
        ``A^T b`` and ``b^T b`` when ``b`` was given, from the same pass.
    solution : ndarray (d,) or None
        The least-squares solution, when asked for (``solve=True``).
    residual_norm : float or None
        ``||A x - b||`` from the Householder algorithm (else None: compute it from
        ``gram``, ``atb``, ``btb`` if an approximation will do).
    backups, backups_won : int
        Backup copies launched for late chunk tasks, and those that finished first.
    pass_seconds : tuple of float
        Wall time of each read pass.
    r_factor : ndarray, shape (d, d) or None
        An upper-triangular R with ``R^T R = A^T A`` (exact method): the equilibrated
        Cholesky factor of the Gram, or the refined factor of the Cholesky-QR or Householder
        passes. The iterative solvers precondition by it (``x = R^{-1} y``).
    unit_grams : ndarray, shape (n_blocks, d, d) or None
        ``U_i^T U_i`` of every block (U an orthonormal basis of range(A), in some rotation):
        they sum to ``I_d``, block i's trace is ``d Pi_i``, and a block sketch's
        ``U^T S^T S U`` is their weighted sum, so its l2-subspace embedding error (GC
        Theorem 1) costs O(d^3) a draw with no pass over A. Exact method only, and only
        when they take at most :data:`UNIT_GRAMS_MAX_BYTES` (K d^2 doubles); else None.
    """

    scores: np.ndarray
    method: str
    algorithm: str
    layout: BlockLayout
    n_cols: int
    condition: float
    passes: int
    gram: np.ndarray | None = None
    atb: np.ndarray | None = None
    btb: float | None = None
    solution: np.ndarray | None = None
    residual_norm: float | None = None
    backups: int = 0
    backups_won: int = 0
    pass_seconds: tuple = ()
    r_factor: np.ndarray | None = None
    unit_grams: np.ndarray | None = None

    @property
    def sigma_max(self) -> float:
        """Largest singular value of A, from ``A^T A`` (exact method only)."""
        if self.gram is None:
            raise InputError("sigma_max needs the exact method's Gram matrix")
        return float(np.sqrt(np.linalg.eigvalsh(self.gram)[-1]))


def _offsets(chunks: tuple[int, ...]) -> list[int]:
    return [int(x) for x in np.cumsum((0, *chunks[:-1]))]


def _tree_reduce(items: list[Delayed], combine) -> Delayed:
    """Combine delayed items ``_FAN_IN`` at a time, so no task gathers every chunk's result."""
    level = list(items)
    while len(level) > 1:
        level = [delayed(combine)(level[i:i + _FAN_IN]) for i in range(0, len(level), _FAN_IN)]
    return level[0]


def _setup_chunk(load, load_args: tuple, offset: int, layout: BlockLayout, kind: str,
                 r_factor: np.ndarray | None, with_b: bool):
    """One chunk of a setup pass, run wherever the executor puts it (rerunnable).

    Reads the chunk's rows, then returns its per-segment summaries, ``(A_c^T b_c, b_c^T
    b_c)`` (of the whitened rows ``Q_c = A_c R^{-1}`` when ``r_factor`` R is given) and,
    for the Householder kind with b, the chunk's augmented R. Each chunk of A is read once
    per pass.
    """
    a, b = load(*load_args)
    b = b if with_b else None
    if kind == "qr" and b is not None:
        summary, augmented = kern.chunk_qr_augmented(a, b, offset, layout)
        return summary, kern.chunk_rhs(a, b, offset, layout), augmented
    if r_factor is not None:
        # Q_c = A_c R^{-1} (CholeskyQR) by a right-sided triangular solve (BLAS trsm): an
        # explicit inverse of an ill-conditioned R costs accuracy in the solution (11x
        # numpy's error at cond 1e8 against 7x), a transposed solve costs copies
        a = linalg.blas.dtrsm(1.0, r_factor, np.asarray(a, dtype=np.float64), side=1,
                              lower=0)
    summary = (kern.chunk_gram if kind == "gram" else kern.chunk_qr)(a, offset, layout)
    rhs = None if b is None else kern.chunk_rhs(a, b, offset, layout)
    return summary, rhs, None


@dataclass
class _PassRunner:
    """Runs a pass's chunk tasks: on the cluster with backups, else on local threads."""

    client: Any
    speculate: Any = True
    label: str = "setup"
    passes: int = 0
    backups: int = 0
    backups_won: int = 0
    seconds: list = field(default_factory=list)
    slow_workers: list = field(default_factory=list)
    stragglers: Any = None
    #: The calls read blocks resident on particular workers (a pass over ResidentRows): a
    #: lost worker ends the pass (executor.DataLost), and the caller places them again.
    resident: bool = False

    def __call__(self, calls: list[tuple]) -> list:
        self.passes += 1
        t0 = time.perf_counter()
        if self.client is None:
            values = list(dask.compute(*[delayed(fn)(*args) for fn, args in calls],
                                       scheduler="threads"))
        else:
            from .executor import CodedExecutor, round_faults

            # the model's stragglers, pass p as round p - 1 (kills are the solver's)
            _, extras = round_faults(self.client, self.stragglers, self.passes - 1,
                                     len(calls), kills=False)
            result = CodedExecutor(self.client, name=self.label).map_tasks(
                calls, label=f"setup-p{self.passes}", speculate=self.speculate,
                avoid=self.slow_workers, fragile=self.resident, **extras)
            # a worker that lost a race in one pass is given no first copies in the next
            self.slow_workers = sorted(set(self.slow_workers) | set(result.slow_workers))
            self.backups += result.backups
            self.backups_won += result.backups_won
            values = result.values
        self.seconds.append(time.perf_counter() - t0)
        return values


def _run_pass(runner: _PassRunner, source: BlockSource | ResidentRows,
              ranges: list[tuple[int, int]], layout: BlockLayout, kind: str,
              r_factor: np.ndarray | None = None, with_b: bool = False):
    """One read pass over the chunks: per-chunk (summary, rhs, augmented R)."""
    calls = [(_setup_chunk, (*source.rows_loader(start, stop), start, layout, kind,
                             r_factor, with_b)) for start, stop in ranges]
    return runner(calls)


def _scores(outs, whitener: kern.Whitener, n_blocks: int) -> np.ndarray:
    blocks = np.concatenate([o[0].blocks for o in outs])
    scores = np.concatenate([kern.segment_scores(o[0], whitener) for o in outs])
    return kern.scores_to_distribution(blocks, scores, n_blocks)


def _unit_grams(outs, whitener: kern.Whitener, n_blocks: int, d: int) -> np.ndarray | None:
    """Every block's ``U_i^T U_i`` from the pass's segment summaries (see
    :attr:`LeverageResult.unit_grams`), or None above :data:`UNIT_GRAMS_MAX_BYTES`."""
    if n_blocks * d * d * 8 > UNIT_GRAMS_MAX_BYTES:
        return None
    blocks = np.concatenate([o[0].blocks for o in outs])
    grams = np.concatenate([kern.segment_unit_grams(o[0], whitener) for o in outs])
    return kern.block_unit_grams(blocks, grams, n_blocks)


def _sum_rhs(outs) -> tuple[np.ndarray, float] | tuple[None, None]:
    if outs[0][1] is None:
        return None, None
    return kern.combine_rhs([o[1] for o in outs])


def _gram_total(outs) -> np.ndarray:
    return kern.combine_gram([kern.summary_total(o[0]) for o in outs])


def _projected_chunk(load, load_args: tuple, offset: int, layout: BlockLayout,
                     projection: np.ndarray, with_b: bool):
    """One chunk of the sketch method's second pass: segment scores ``||A_seg R_s^{-1}
    Omega||_F^2`` and, with b, ``(A_c^T b_c, b_c^T b_c)``."""
    a, b = load(*load_args)
    blocks, scores = kern.projected_segment_scores(a, offset, layout, projection)
    rhs = kern.chunk_rhs(a, b, offset, layout) if with_b and b is not None else None
    return blocks, scores, rhs


def _sketch_group(parts: list[tuple], sketch_rows: int, seed: int, layout: BlockLayout
                  ) -> np.ndarray:
    """The CountSketch share of every block one worker holds, summed in one array.

    One task per worker, its blocks as dependencies (already there): the worker's share
    ``sum_c S_c A_c`` is one ``sketch_rows x d`` array, so the client receives one per
    worker, not one per block.
    """
    out = None
    for load, load_args, offset in parts:
        a, _ = load(*load_args)
        out = kern.countsketch_chunk(a, offset, sketch_rows, seed, layout, out=out)
    return out


def _finish_sketch(pairs, layout: BlockLayout, d: int, r_sketch: np.ndarray, passes: int,
                   **fields) -> LeverageResult:
    blocks = np.concatenate([p[0] for p in pairs])
    scores = np.concatenate([p[1] for p in pairs])
    atb = btb = None
    if pairs and pairs[0][2] is not None:
        atb, btb = kern.combine_rhs([p[2] for p in pairs])
    return LeverageResult(kern.scores_to_distribution(blocks, scores, layout.n_blocks),
                          "sketch", "countsketch", layout, d, math.nan, passes, atb=atb,
                          btb=btb, r_factor=r_sketch, **fields)


def _sketch_pass(a, b, layout: BlockLayout, sketch_rows: int, jl_dim: int | None,
                 seed: int) -> LeverageResult:
    """Two read passes: a CountSketch of A for R_s, then ``||A_seg R_s^{-1} Omega||_F^2``
    (and ``A^T b``, ``b^T b`` when b is given), on dask's scheduler."""
    parts = a.to_delayed()[:, 0]
    b_parts = [None] * len(parts) if b is None else b.to_delayed()
    offsets = _offsets(a.chunks[0])
    shares = [delayed(kern.countsketch_chunk)(p, off, sketch_rows, seed, layout)
              for p, off in zip(parts, offsets)]
    sketch = _tree_reduce(shares, kern.combine_gram)  # CountSketch shares add up
    # Separate computes: in one graph every chunk of A would stay in memory between passes.
    r_sketch = dask.compute(delayed(kern.r_factor)(sketch))[0]
    projection = kern.sketch_projection(r_sketch, jl_dim, seed)
    pairs = dask.compute(*[delayed(_projected_chunk)(_pair, (p, q), off, layout, projection,
                                                     b is not None)
                           for p, q, off in zip(parts, b_parts, offsets)])
    return _finish_sketch(pairs, layout, a.shape[1], r_sketch, 2)


def _pair(a, b):
    return a, b


def _resident_sketch(runner: _PassRunner, source: ResidentRows, layout: BlockLayout,
                     d: int, sketch_rows: int, jl_dim: int | None, seed: int
                     ) -> LeverageResult:
    """The sketch method on blocks already on the workers: no read of the source at all.

    Pass 1 is one task per worker (:func:`_sketch_group`); the client sums the shares and
    takes R_s from the QR of the ``sketch_rows x d`` sketch. Pass 2 maps
    :func:`_projected_chunk` over the blocks. Client memory: one sketch per worker.
    """
    calls = [(_sketch_group, ([(*source.rows_loader(start, stop), start)
                               for start, stop in group], sketch_rows, seed, layout))
             for group in source.groups()]
    r_sketch = kern.r_factor(kern.combine_gram(runner(calls)))  # CountSketch shares add up
    projection = kern.sketch_projection(r_sketch, jl_dim, seed)
    pairs = runner([(_projected_chunk, (*source.rows_loader(start, stop), start, layout,
                                        projection, True))
                    for start, stop in source.ranges()])
    return _finish_sketch(pairs, layout, d, r_sketch, runner.passes,
                          pass_seconds=tuple(runner.seconds))


def default_sketch_rows(n_cols: int) -> int:
    """CountSketch rows: 20 d, enough for a subspace embedding with small distortion."""
    return 20 * n_cols


def default_jl_dim(n_cols: int) -> int | None:
    """JL dimension: none (exact whitening) up to d = 64, else 64."""
    return None if n_cols <= 64 else 64


def compute_block_leverage(A: Any, n_blocks: int, *, method: str = "exact",
                           algorithm: str = "auto", sketch_rows: int | None = None,
                           jl_dim: int | None = None, seed: int = 0,
                           b: Any = None, solve: bool = False, client: Any = None,
                           speculate: Any = True, stragglers: Any = None,
                           resident: dict | None = None,
                           holders: dict | None = None) -> LeverageResult:
    """Block leverage scores with diagnostics; see :func:`block_leverage_scores`.

    Parameters
    ----------
    A : ndarray, dask array or path
        The tall matrix (N x d), or a dataset store holding it.
    n_blocks : int
        K, the number of row blocks (eq. 1), which differ by at most one row (footnote 1).
    method : {"exact", "sketch"}
    algorithm : {"auto", "gram", "qr"}
        Exact method only: "auto" uses the Gram pass and falls back to per-block QR when the
        Gram matrix is too ill-conditioned; "gram" and "qr" force one.
    sketch_rows, jl_dim, seed
        Sketch method only: CountSketch rows (default 20 d), JL dimension (default none up to
        d = 64, else 64) and the seed of both.
    b : array, optional
        Right-hand side: the exact method then also returns ``A^T b`` and ``b^T b`` from the
        same pass (and checks b for NaN and Inf). With a store path, the store's own b is
        used (reading it costs 1/d of reading A).
    solve : bool
        Also return the least-squares solution (``result.solution``), exact to working
        precision: the normal equations when the equilibrated ``cond(A)`` is at most
        :data:`~dask_coded.kernels.direct.GRAM_SOLVE_CONDITION`, else Cholesky-QR
        refinement passes (one up to cond ~1e7, two beyond), or Householder TSQR with
        ``algorithm="qr"``.
    client : distributed.Client, optional
        Run the passes on it (default: the current client, else dask's local threads).
    speculate : bool, mapping or Speculation
        Backup copies of late chunk tasks on the cluster (see
        :class:`~dask_coded.executor.Speculation`); each backup reads its chunk once more.
    stragglers : StragglerScenario, optional
        Model stragglers injected into the pass's chunk tasks on a cluster (pass p draws
        the delays of round p - 1; the slow fraction slows the same chunks' first copies
        every pass); throttles and kills are the caller's to start.
    resident : dict, optional
        Block -> a future of that block (an :class:`~dask_coded.kernels.gradients.EncodedBlock`
        of weight 1) already on the cluster: the pass runs where they are, one task per
        block, and reads nothing (``client`` is then required; no backups: a copy would
        only wait for the same worker's data). The sketch method then needs no read of
        the source: its CountSketch is one task per worker over the blocks it holds.
    holders : dict, optional
        Block -> the worker holding its resident future (for that grouping; without it
        every block is its own group).

    Raises
    ------
    InputError
        As :func:`block_leverage_scores`; with ``solve``, a numerically rank-deficient A
        names its rank and condition estimate.
    """
    if method not in METHODS:
        raise InputError(f"unknown leverage method {method!r}; choose one of {', '.join(METHODS)}")
    if algorithm not in ("auto", "gram", "qr"):
        raise InputError(f"unknown algorithm {algorithm!r}; choose auto, gram or qr")
    checks.flag("solve", solve)
    a, b_arr = as_row_chunked(A, b)  # a store path brings the store's b
    layout = BlockLayout.create(a.shape[0], n_blocks)
    d = a.shape[1]
    if d > a.shape[0]:
        raise InputError(f"A must be tall (rows >= columns), got {a.shape[0]} x {d}")
    if method == "sketch":
        sketch_rows = checks.integer("sketch_rows", sketch_rows, optional=True)
        jl_dim = checks.integer("jl_dim", jl_dim, 1, optional=True)
        checks.seed("seed", seed)
        sketch_rows = default_sketch_rows(d) if sketch_rows is None else sketch_rows
        if sketch_rows < d:
            raise InputError(f"sketch_rows must be at least d = {d}, got {sketch_rows}")
        if jl_dim is None:
            jl_dim = default_jl_dim(d)
        if solve:
            raise InputError("solve=True needs method='exact' (the sketch gives no exact "
                             "solution)")
        if resident is None:
            return _sketch_pass(a, b_arr, layout, sketch_rows, jl_dim, seed)
    if resident is not None:
        if _active_client(client) is None:
            raise InputError("resident blocks need the client that holds them")
        source = ResidentRows(layout, resident, holders)
        if method == "sketch":
            runner = _PassRunner(_active_client(client), False, resident=True)
            return _resident_sketch(runner, source, layout, d, sketch_rows, jl_dim, seed)
        ranges = source.ranges()
        speculate, stragglers = False, None  # in memory: nothing slow to back up
    else:
        source = BlockSource.create(A, b, a, b_arr, layout)
        ranges = _chunk_ranges(a)
    runner = _PassRunner(_active_client(client), speculate, stragglers=stragglers,
                         resident=resident is not None)
    if algorithm == "qr":
        return _householder(runner, source, ranges, layout, d, solve and b_arr is not None)
    return _gram_then_refine(runner, source, ranges, layout, d, b_arr is not None,
                             algorithm, solve)


def _chunk_ranges(a) -> list[tuple[int, int]]:
    offsets = _offsets(a.chunks[0])
    return [(off, off + n) for off, n in zip(offsets, a.chunks[0])]


def _active_client(client):
    """The distributed client to run the pass on, or None for dask's local threads."""
    from .cluster import current_client

    return client if client is not None else current_client()


def _result(runner: _PassRunner, layout: BlockLayout, d: int, **fields) -> LeverageResult:
    return LeverageResult(method="exact", layout=layout, n_cols=d, passes=runner.passes,
                          backups=runner.backups, backups_won=runner.backups_won,
                          pass_seconds=tuple(runner.seconds), **fields)


def _householder(runner, source, ranges, layout, d, solve: bool) -> LeverageResult:
    """One pass of per-segment Householder QR (of ``[A, b]`` when solving): TSQR."""
    outs = _run_pass(runner, source, ranges, layout, "qr", with_b=True)
    r = kern.combine_r([kern.summary_total(o[0]) for o in outs])
    whitener = kern.r_whitener(r)
    atb, btb = _sum_rhs(outs)
    x = residual = None
    if solve:
        x, residual = direct.solve_augmented(kern.combine_r([o[2] for o in outs]))
    return _result(runner, layout, d, scores=_scores(outs, whitener, layout.n_blocks),
                   algorithm="qr", condition=whitener.condition, gram=r.T @ r, atb=atb,
                   btb=btb, solution=x, residual_norm=residual, r_factor=r,
                   unit_grams=_unit_grams(outs, whitener, layout.n_blocks, d))


def _gram_then_refine(runner, source, ranges, layout, d, with_b: bool, algorithm: str,
                      solve: bool) -> LeverageResult:
    """A Gram pass; then Cholesky-QR refinement passes only if A needs them.

    The scores need the refinement above :data:`~kern.GRAM_CONDITION_LIMIT`, the solution
    already above :data:`~direct.GRAM_SOLVE_CONDITION` (see :mod:`dask_coded.kernels.direct`).
    """
    outs = _run_pass(runner, source, ranges, layout, "gram", with_b=with_b)
    gram = _gram_total(outs)
    atb, btb = _sum_rhs(outs)
    eq = direct.equilibrate(gram)  # one O(d^3) eigendecomposition for every use below
    condition = eq.condition
    limit = direct.GRAM_SOLVE_CONDITION if solve else kern.GRAM_CONDITION_LIMIT
    solve = solve and atb is not None
    if condition <= limit or algorithm == "gram":
        whitener = kern.gram_whitener(gram, eq)
        if not whitener.condition <= kern.GRAM_CONDITION_LIMIT:
            raise InputError(f"A is too ill-conditioned for the Gram algorithm "
                             f"(cond ~ {condition:.1e}); use algorithm='auto' or 'qr'")
        return _result(runner, layout, d, scores=_scores(outs, whitener, layout.n_blocks),
                       algorithm="gram", condition=condition, gram=gram, atb=atb, btb=btb,
                       solution=direct.solve_normal(gram, atb, eq) if solve else None,
                       r_factor=None if solve else _gram_r(gram, layout.n_rows, eq),
                       unit_grams=_unit_grams(outs, whitener, layout.n_blocks, d))
    factor = direct.gram_factor(gram, layout.n_rows, eq)
    for _ in range(direct.MAX_REFINEMENTS):
        outs = _run_pass(runner, source, ranges, layout, "gram", factor.r, with_b=solve)
        factor, r_step, deviation = direct.refine(factor, _gram_total(outs))
        if deviation <= direct.ORTHOGONAL_ENOUGH:
            break
    else:
        raise InputError(direct.rank_message(direct.singular_values(factor.r, np.eye(d))))
    # the pass's segments are blocks of Q = A R_0^{-1}; R_step whitens them the rest of
    # the way: ||A_seg R^{-1}||_F^2 = ||Q_seg R_step^{-1}||_F^2 (eq. 5)
    step_inverse = linalg.solve_triangular(r_step, np.eye(d), lower=False)
    whitener = kern.Whitener("gram", step_inverse, factor.condition)
    x = None
    if solve:
        qtb, _ = _sum_rhs(outs)
        x = direct.solve_refined(factor, r_step, qtb)
    return _result(runner, layout, d, scores=_scores(outs, whitener, layout.n_blocks),
                   algorithm="cholqr", condition=factor.condition, gram=gram, atb=atb,
                   btb=btb, solution=x, r_factor=factor.r,
                   unit_grams=_unit_grams(outs, whitener, layout.n_blocks, d))


def _gram_r(gram: np.ndarray, n_rows: int, eq: direct.Equilibrated) -> np.ndarray | None:
    """The preconditioner R of a Gram pass (None if A is too ill-conditioned for one)."""
    try:
        return direct.gram_factor(gram, n_rows, eq).r
    except InputError:
        return None


def block_leverage_scores(A: Any, n_blocks: int, *, method: str = "exact",
                          **options) -> np.ndarray:
    """Normalised block leverage scores Pi of the row blocks of A (GC eq. 5).

    ``Pi_i = ||U_(K_i)||_F^2 / d`` where U is an orthonormal basis of A's columns and ``K_i``
    the rows of block i; the scores sum to 1.

    Parameters
    ----------
    A : ndarray, dask array, or str / PathLike
        Tall N x d matrix of real floats, or the path of a dataset store.
    n_blocks : int
        K in ``1..N``; blocks of ``ceil(N / K)`` or ``floor(N / K)`` consecutive rows (GC
        eq. 1 and footnote 1: they differ by at most one row).
    method : {"exact", "sketch"}
        "exact": one Gram pass, with a per-block QR pass only if A is ill-conditioned; accurate
        to about 1e-10 relative up to cond(A) = 1e8. "sketch": CountSketch + JL, two passes,
        approximate (compare with :func:`misestimation_factor`).
    **options
        ``algorithm`` ("auto", "gram", "qr") for exact; ``sketch_rows``, ``jl_dim``, ``seed``
        for sketch.

    Returns
    -------
    ndarray of shape (n_blocks,)

    Raises
    ------
    InputError
        A not 2-D or not real floating point, NaN or Inf (naming the block), ``n_blocks`` out
        of range, rank-deficient A.
    """
    unknown = sorted(set(options) - {"algorithm", "sketch_rows", "jl_dim", "seed"})
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; known: algorithm, "
                         "sketch_rows, jl_dim, seed")
    return compute_block_leverage(A, n_blocks, method=method, **options).scores
