"""Public least-squares API: :func:`lstsq` and the :class:`CodedLinearRegression` estimator."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _dask_config, _progress
from ._validation import check_client, check_servers, float_array
from .cluster import client_context, current_client
from .errors import InputError
from .executor import (
    ON_SHORT,
    CodedExecutor,
    Speculation,
    retry_after_scheduler_loss,
    round_faults,
    throttled,
)
from .io import as_row_chunked
from .kernels import checks
from .kernels.blocks import BlockLayout, chunk_aligned_blocks
from .leverage import LeverageResult, compute_block_leverage
from .solvers import (
    METHODS,
    NETWORKS,
    STEPS,
    CodedSolver,
    LstsqResult,
    Problem,
    Settings,
    check_gram_free,
    resolve_method,
)
from .sources import BlockSource

if TYPE_CHECKING:
    from .stragglers import StragglerScenario

DEFAULT_BLOCKS = 100

#: ``leverage="auto"`` sets an iterative method up by a sketch, not the exact Gram, from this
#: many columns on. The exact Gram costs ``N d^2`` flops (BLAS-3), a round ``4 N d`` per
#: replica read (memory-bound): measured on one core at d = 2000 one Gram of a block took
#: the time of 51 of its gradients, more than the ~30 rounds the sketch-preconditioned
#: conjugate gradients need to 1e-8 (at d = 100 the Gram is about 3 gradients' time, and
#: its exact R makes one round enough).
GRAM_FREE_MIN_COLS = 1024

#: Rows of the Gram-free setup's CountSketch per column of A. Its R preconditions A to
#: ``cond(A R^{-1})`` ~3 (measured: 2.96 at 4 d, 2.06 at 8 d, 5.8 at 2 d on a 2e4 x 400
#: Gaussian with scaled columns; conjugate gradients then need 29, 20 and 52 iterations to
#: 1e-8); the QR of the sketch, ``2 (4 d) d^2`` flops, is a quarter of a 1e5-row Gram at
#: d = 2000.
GRAM_FREE_SKETCH_ROWS_PER_COL = 4

LEVERAGE = ("auto", "exact", "sketch")

#: What the leverage methods sample by (see :func:`lstsq`'s ``scores``).
SCORES = ("exact", "sketch")


def default_blocks(A: Any, a) -> int:
    """K when none is given: whole chunks per block for stored and dask data, else 100.

    Blocks that follow the store's chunks mean no chunk is decoded twice when the servers'
    data is placed (:func:`~dask_coded.kernels.blocks.chunk_aligned_blocks`); in-memory
    arrays have no chunks worth following.
    """
    n_rows = a.shape[0]
    if not isinstance(A, np.ndarray):
        k = chunk_aligned_blocks(tuple(a.chunks[0]), DEFAULT_BLOCKS)
        if k is not None and k > 1:
            return k
    return min(DEFAULT_BLOCKS, n_rows)


Check = Callable[[str, Any], Any]
"""A parameter check: ``check(name, value)`` returns the value to use, or raises InputError."""


@dataclass(frozen=True)
class OneOf:
    """A check for a string among ``options`` (:func:`~dask_coded.kernels.checks.choice`).

    Parameters
    ----------
    noun : str
        What the message calls the parameter: ``"method"``, ``"on_short policy"``, ...
    options : tuple of str
        The accepted values.
    menu : str, optional
        How the message lists them (default ``"one of a, b, c"``).
    """

    noun: str
    options: tuple[str, ...]
    menu: str = ""

    def __call__(self, name: str, value: Any) -> str:
        return checks.choice(self.noun, value, self.options, menu=self.menu or None)


_METHOD = OneOf("method", ("auto", *METHODS), menu=f"auto or one of {', '.join(METHODS)}")
_STEP_RULE = OneOf("step rule", STEPS,
                   menu=f"one of {', '.join(STEPS)} or give a positive number")
_LEVERAGE = OneOf("leverage", LEVERAGE)


def _step(name: str, value: Any) -> str | float:
    """A step rule of :data:`~dask_coded.solvers.STEPS`, or a number ``> 0``: a fixed step of
    that many ``2 / sigma_max^2``."""
    if checks.is_real(value):
        scale = checks.real(name, value)
        if not scale > 0:
            raise InputError(f"{name} must be > 0 (a multiple of 2 / sigma_max(A)^2), "
                             f"got {value}")
        return scale
    return _STEP_RULE(name, value)


def _servers(name: str, value: Any) -> int | None:
    """None, or a server count from 1 to :data:`~dask_coded._validation.MAX_SERVERS`."""
    value = checks.integer(name, value, 1, optional=True)
    return None if value is None else check_servers(name, value)


def _scenario(name: str, value: Any) -> StragglerScenario | None:
    """None, a StragglerScenario, or its config mapping (validated by ``from_config``)."""
    if value is None:
        return None
    from .stragglers import StragglerScenario

    return value if isinstance(value, StragglerScenario) else \
        StragglerScenario.from_config(value)


def _client(name: str, value: Any) -> Any:
    """None, a distributed.Client or ``"simulate"``."""
    check_client(value, simulate=True)
    return value


def _vector(name: str, value: Any) -> np.ndarray | None:
    """None, or a float64 array (its length is checked once A's shape is known)."""
    return None if value is None else float_array(value, name)


def _reference(name: str, value: Any) -> np.ndarray | str | None:
    """None, ``"auto"`` (solved after the setup pass), or an array as :func:`_vector`."""
    if isinstance(value, str):
        if value != "auto":
            raise InputError(f"{name} must be an array or 'auto', got {value!r}")
        return value
    return _vector(name, value)


def _callback(name: str, value: Any) -> Callable | None:
    """None, or a callable."""
    if value is not None and not callable(value):
        raise InputError(f"{name} must be callable, got {type(value).__name__}")
    return value


def _setup(name: str, value: Any) -> LeverageResult | None:
    """None, or a LeverageResult (whether it is this problem's needs A's shape)."""
    if value is not None and not isinstance(value, LeverageResult):
        raise InputError(f"{name} must be the LeverageResult of an earlier call "
                         f"(result.setup), got {type(value).__name__}")
    return value


def _checkpoint(name: str, value: Any) -> Path | None:
    """None, or the path of a file (that need not exist yet), not of a folder."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InputError(f"{name} must be a file path, got {checks.quoted(value)}")
    path = Path(value)
    if path.is_dir():
        raise InputError(f"{name} {path} is a folder; give a file path")
    return path


#: The checks of :func:`lstsq`'s parameters, ``name -> check(name, value)``, in the order of
#: its signature; every parameter but A and b (checked as :func:`~dask_coded.io.as_row_chunked`
#: opens them) and ``runtime`` (checked by what draws from it). A check returns the value to
#: use: a plain int, float or bool, a Path, a StragglerScenario, a Speculation. The rules
#: between parameters follow in :func:`_validate`.
LSTSQ_PARAMETERS: dict[str, Check] = {
    "method": _METHOD,
    # only the type here: 1 <= K <= N is BlockLayout.create's, once N is known
    "n_blocks": partial(checks.integer, optional=True),
    "n_servers": _servers,
    "q": partial(checks.integer, low=1, optional=True),
    "deadline": partial(checks.positive, finite=False, optional=True),
    "on_short": OneOf("on_short policy", ON_SHORT),
    "stragglers": _scenario,
    "step": _step,
    "step_scale": checks.positive,
    "max_iter": partial(checks.integer, low=1),
    "tol": partial(checks.real, low=0, finite=False),
    "time_budget": partial(checks.positive, finite=False, optional=True),
    "sketch_rows": partial(checks.integer, low=1, optional=True),
    "client": _client,
    "seed": checks.seed,
    "reference": _reference,
    "x0": _vector,
    "callback": _callback,
    "setup": _setup,
    "checkpoint": _checkpoint,
    "checkpoint_every": partial(checks.integer, low=1),
    # any truthy value, as lstsq has always taken it (checks.flag would refuse resume=1)
    "resume": lambda name, value: bool(value),
    "reconnect_timeout": checks.positive,
    "speculate": lambda name, value: Speculation.coerce(value),
    "precondition": checks.flag,
    "variance_reduction": checks.flag,
    "anchor_every": partial(checks.integer, low=1, optional=True),
    "reweight": checks.flag,
    "leverage": _LEVERAGE,
    "scores": OneOf("scores", SCORES),
    "network": OneOf("network", tuple(NETWORKS)),
    "progress": _progress.check,
}

#: The parameters of :func:`lstsq` that default to dask's configuration: ``name -> key`` of
#: the ``dask-coded`` namespace (``dask-coded.yaml``). Read at each call (so that
#: ``dask.config.set`` applies), and only for an argument left at None.
DASK_CONFIG_KEYS: dict[str, str] = {
    "n_servers": "n-servers",
    "deadline": "deadline",
    "on_short": "on-short",
    "reconnect_timeout": "reconnect-timeout",
    "progress": "progress",
}


def _with_dask_config(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every None of :data:`DASK_CONFIG_KEYS` replaced by its dask config
    value, checked there (a bad value is named by its config key)."""
    params = dict(params)
    for name, key in DASK_CONFIG_KEYS.items():
        params[name] = _dask_config.resolve(params[name], key, LSTSQ_PARAMETERS[name])
    return params


def _plain_array(value: Any) -> Any:
    """What :func:`~dask_coded.io.as_row_chunked` takes, from what a user may pass.

    An xarray DataArray (duck-typed: ``.dims`` and a ``.data`` that is a numpy or dask
    array, so xarray need not be installed) becomes its ``.data``: a dask-backed one stays
    lazy, where ``np.asarray`` would load it. A dask array of unknown chunk sizes (from
    boolean indexing, say) gets them computed, as dask itself asks, on a copy (the
    caller's array is left as it was): one computation of its graph before the solve.
    """
    import dask.array as da

    data = getattr(value, "data", None)
    if hasattr(value, "dims") and isinstance(data, (np.ndarray, da.Array)):
        value = data
    if isinstance(value, da.Array) and any(np.isnan(n) for n in value.shape):
        value = value.copy()
        value.compute_chunk_sizes()
    return value


@dataclass(frozen=True)
class _Request:
    """:func:`lstsq`'s arguments after :func:`_validate`: what its orchestration reads.

    ``method`` and ``leverage`` may still be ``"auto"`` (they depend on A's column count),
    ``reference`` ``"auto"`` (solved from the setup pass); the solver's scalars are in
    ``settings``, the seed drawn there when none was given.
    """

    settings: Settings
    method: str
    leverage: str
    n_blocks: int | None
    scenario: StragglerScenario | None
    client: Any
    reference: np.ndarray | str | None
    x0: np.ndarray | None
    callback: Callable | None
    setup: LeverageResult | None
    checkpoint: Path | None
    checkpoint_every: int
    resume: bool
    speculate: Speculation
    scores: str = "exact"
    progress: bool | str | None = None

    @property
    def simulate(self) -> bool:
        """``client="simulate"``: no cluster (the table let no other string through)."""
        return isinstance(self.client, str)


def _validate(params: Mapping[str, Any]) -> _Request:
    """Check :func:`lstsq`'s arguments, before anything is read or started.

    Parameters
    ----------
    params : mapping
        lstsq's arguments by name (A and b are not looked at).

    Returns
    -------
    _Request

    Raises
    ------
    InputError
        The first check of :data:`LSTSQ_PARAMETERS` that fails, in its order, else the
        first rule between parameters that does.
    """
    params = dict(params)
    if checks.is_real(params["step"]):
        # a number is a fixed step of that scale: step_scale is not used, so not checked
        # either (the step's own check, before it in the table, refuses a bad number)
        params["step_scale"] = params["step"]
    p = {name: check(name, params[name]) for name, check in LSTSQ_PARAMETERS.items()}
    if p["q"] is not None and p["n_servers"] is not None and p["q"] > p["n_servers"]:
        raise InputError(f"q={p['q']} is larger than n_servers={p['n_servers']}")
    if p["resume"] and p["checkpoint"] is None:
        raise InputError("resume=True needs checkpoint= (the file to resume from)")
    scenario, client = p["stragglers"], p["client"]
    processes = scenario is not None and bool(scenario.kills or scenario.throttle_workers
                                              or scenario.freeze_workers)
    if processes and isinstance(client, str):
        raise InputError("client='simulate' has no worker processes to throttle or kill")
    if processes and client is None and current_client() is None:
        from .cluster import spawn_safe

        # checked now, not when the embedded cluster starts: the workers it would spawn
        # re-run this script from the top
        if not spawn_safe():
            raise InputError("throttled or killed workers need worker processes, which this "
                             "script cannot spawn: put its calls under "
                             "`if __name__ == \"__main__\":`, or pass client=")
    seed = p["seed"]
    if seed is None and p["resume"] and p["checkpoint"].is_file():
        from . import checkpoint as ckpt

        seed = ckpt.stored_seed(p["checkpoint"])  # a seedless run resumes its own
    elif seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**32))
    solver = {**p, "step": p["step"] if isinstance(p["step"], str) else "fixed",
              "seed": seed, "runtime": params["runtime"]}
    settings = Settings(**{f.name: solver[f.name] for f in fields(Settings) if f.name in solver})
    return _Request(settings=settings, method=p["method"], leverage=p["leverage"],
                    n_blocks=p["n_blocks"], scenario=scenario, client=client,
                    reference=p["reference"], x0=p["x0"], callback=p["callback"],
                    setup=p["setup"], checkpoint=p["checkpoint"],
                    checkpoint_every=p["checkpoint_every"], resume=p["resume"],
                    speculate=p["speculate"], scores=p["scores"], progress=p["progress"])


#: Most blocks, and most servers, a solve may have. The setup pass, the placement and every
#: exact round run one task per block, and a round one per server; at 0.2-1 ms of
#: scheduling per task (DESIGN.md), 1e5 tasks are 20-100 s of overhead a round: past that
#: a solve makes no progress worth the name (n_servers=1e6 never got through its first
#: placement), so it is refused before the cluster starts rather than left to hang.
MAX_TASKS = 100_000

#: Most servers per block (``n_servers <= 64 n_blocks``). The servers hold about
#: ``n_servers / n_blocks`` copies of (A, b); a block is lost to a round only when every
#: one of its replicas straggles, which at 64 replicas is ``phi^64`` (1e-3 even at phi =
#: 0.9): more replicas cost memory and buy no tolerance.
MAX_SERVERS_PER_BLOCK = 64

#: Above this many blocks each block must hold at least d rows (``n_blocks <= N // d``).
#: A block's work is ~4 tau d flops a gradient and ~tau d^2 for its Gram, against a fixed
#: 0.2-1 ms to schedule it: blocks of fewer rows than A has columns are almost all
#: overhead, which is harmless for a few hundred blocks (the GC paper's own experiment has
#: 20-row blocks of a 40-column A, K = 100) and not for n_blocks = N.
SMALL_BLOCK_COUNT = 1000


def check_sizes(n_blocks: int | None, n_servers: int | None, n_rows: int | None = None,
                n_cols: int | None = None, *, prefix: str = "") -> None:
    """Refuse block and server counts a solve cannot make progress with (one line each).

    Parameters
    ----------
    n_blocks, n_servers : int or None
        As given (None: the default, not checked here).
    n_rows, n_cols : int, optional
        A's shape, when known: the rows-per-block rule needs it.
    prefix : str
        Put before the parameter names (``"solver."`` for a config).

    Raises
    ------
    InputError
        More than :data:`MAX_TASKS` blocks or servers, more than
        :data:`MAX_SERVERS_PER_BLOCK` servers per block, or more than
        :data:`SMALL_BLOCK_COUNT` blocks of fewer rows than columns.
    """
    for name, value, what in (("n_blocks", n_blocks, "the setup pass and every exact round "
                                                      "run a task per block"),
                              ("n_servers", n_servers, "every round runs a task per server")):
        if value is not None and value > MAX_TASKS:
            raise InputError(f"{prefix}{name}={value} is more than {MAX_TASKS}: {what}, and "
                             "at 0.2-1 ms of scheduling a task a round would spend 20 s or "
                             "more on overhead alone")
    if (n_blocks is not None and n_servers is not None
            and n_servers > MAX_SERVERS_PER_BLOCK * n_blocks):
        raise InputError(f"{prefix}n_servers={n_servers} is more than {MAX_SERVERS_PER_BLOCK} "
                         f"servers per block ({prefix}n_blocks={n_blocks}): the servers would "
                         f"hold ~{n_servers // n_blocks} copies of A and b, and past "
                         f"{MAX_SERVERS_PER_BLOCK} replicas a block is as good as never "
                         "lost to stragglers")
    if (n_blocks is not None and n_rows is not None and n_cols is not None
            and n_blocks > SMALL_BLOCK_COUNT and n_rows // n_blocks < n_cols):
        raise InputError(f"{prefix}n_blocks={n_blocks} makes blocks of {n_rows // n_blocks} "
                         f"row(s), fewer than A's {n_cols} columns: above "
                         f"{SMALL_BLOCK_COUNT} blocks each needs at least d rows (n_blocks "
                         f"<= {max(1, n_rows // n_cols)}), or its tasks are all scheduling "
                         "overhead")


def _check_against_data(request: _Request, layout: BlockLayout, d: int) -> None:
    """The checks that need A's shape: the lengths of x0 and reference, x0 finite, that
    ``setup=`` comes from this problem, the sizes of :func:`check_sizes`, and that a
    checkpoint to resume is of this method and shape; run before any cluster starts."""
    x0, reference, setup = request.x0, request.reference, request.setup
    check_sizes(layout.n_blocks, request.settings.n_servers, layout.n_rows, d)
    checkpoint = request.checkpoint
    if request.resume and checkpoint is not None and checkpoint.is_file():
        from . import checkpoint as ckpt

        # now, not after the setup pass: and for every method, or a checkpoint of another
        # would be ignored without a word by one that keeps none (direct)
        ckpt.check(checkpoint, method=resolve_method(request.method, d),
                   n_rows=layout.n_rows, n_cols=d, n_blocks=layout.n_blocks)
    if x0 is not None:
        if x0.shape != (d,):
            raise InputError(f"x0 must have shape ({d},), got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise InputError("x0 holds NaN or Inf")
    if setup is not None and (setup.layout != layout or setup.n_cols != d or (
            setup.gram is None and setup.r_factor is None) or setup.atb is None):
        raise InputError("setup= comes from a different problem: it needs the same "
                         "A, b and n_blocks")
    if isinstance(reference, np.ndarray) and reference.shape != (d,):
        raise InputError(f"reference must have shape ({d},), got {reference.shape}")


def resolve_leverage(leverage: Any, method: str, n_cols: int) -> str:
    """``"exact"`` or ``"sketch"`` from a checked ``leverage`` (see :data:`LSTSQ_PARAMETERS`):
    how an iterative method's setup gets scores and R."""
    cls = METHODS[method]
    if leverage == "auto":
        gram_free = cls.iterative and cls.runs_gram_free and n_cols >= GRAM_FREE_MIN_COLS
        return "sketch" if gram_free else "exact"
    return leverage


def _sketch_options(n_cols: int, seed: int) -> dict:
    return {"method": "sketch", "sketch_rows": GRAM_FREE_SKETCH_ROWS_PER_COL * n_cols,
            "seed": seed}


def _resident_setup(staged: CodedExecutor, source: BlockSource, layout: BlockLayout, A: Any,
                    n_blocks: int, b: Any, client, speculate, scenario,
                    options: dict | None = None) -> tuple[LeverageResult, dict]:
    """Place every block once (weight 1, late loads backed up), then run the setup pass on
    them where they are: one read of the source for the pass and the servers both.

    A scenario's model stragglers stall the first load of their blocks, as they stall the
    chunk tasks of a setup pass that reads the store (:func:`compute_block_leverage`).
    """
    blocks = [int(i) for i in np.flatnonzero(layout.real_rows_per_block() > 0)]
    _, extras = round_faults(client, scenario, 0, len(blocks), kills=False)
    staged.place([source.loader(i, 1.0) for i in blocks], speculate=speculate, **extras)
    resident = dict(zip(blocks, staged.data))
    where = staged.placement()
    holders = {block: where.get(j) for j, block in enumerate(blocks)}
    summary = compute_block_leverage(A, n_blocks, b=b, client=client, resident=resident,
                                     holders=holders, **(options or {}))
    return summary, resident


def lstsq(A: Any, b: Any = None, *, method: str = "auto", n_blocks: int | None = None,
          n_servers: int | None = None, q: int | None = None, deadline: float | None = None,
          on_short: str | None = None, runtime: Any = None, stragglers: Any = None,
          step: str | float = "optimal", step_scale: float = 0.25, max_iter: int = 100,
          tol: float = 0.0, time_budget: float | None = None, sketch_rows: int | None = None,
          client: Any = None, seed: int | None = None, reference: Any = None,
          x0: Any = None, callback: Any = None, setup: Any = None,
          checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 10,
          resume: bool = False, reconnect_timeout: float | None = None,
          speculate: Any = True, precondition: bool = True, variance_reduction: bool = True,
          anchor_every: int | None = None, reweight: bool = True,
          leverage: str = "auto", scores: str = "exact",
          network: str = "optimal", progress: bool | str | None = None) -> LstsqResult:
    """Solve ``min ||A x - b||_2`` on a Dask cluster whose workers straggle.

    Parameters
    ----------
    A, b : numpy arrays, dask arrays, xarray DataArrays, or a dataset path (then ``b`` is None)
        Tall A (N x d) of real floats; b (N,). A path's store holds arrays ``A`` and ``b``;
        :class:`~dask_coded.io.DatasetPath` names others (``DatasetPath(p, A="X", b="y")``),
        and the dask arrays of ``open_dataset(p, A="X", b="y")`` work as well. Any dask
        array: chunked any way (rechunked to whole rows), of unknown chunk sizes (computed
        first, one evaluation of its graph). A DataArray is solved by its ``.data``, numpy
        or dask (a dask-backed one stays lazy); its dims and coordinates are not used.
    method : str
        ``"auto"`` (the default): ``"direct"`` up to
        :data:`~dask_coded.solvers.AUTO_DIRECT_MAX_COLS` columns, else ``"block-leverage"``.
        ``"direct"``: the exact solution from the setup pass itself, in one read pass of A
        and b when A is well conditioned (the normal equations, after column
        equilibration), two or three when it is not (Cholesky-QR refinement: CholeskyQR2,
        then shifted CholeskyQR3), accurate to a small multiple of Householder QR's error up
        to cond(A) ~ 1e8; memory: a worker holds one chunk, the client a few d x d
        matrices and one per block. In-memory numpy data given no client is solved in
        this process on threads, without a cluster.
        ``"block-leverage"`` (the GC paper's scheme: replicas from the block leverage scores,
        encoding of GC eq. 23, the sum of the q fastest servers of eq. 26), ``"uniform"`` (equal
        replicas), ``"sd"`` (uncoded steepest descent, waits for every block),
        ``"gaussian"``/``"rademacher"``/``"srht"`` (the paper's baselines: a fresh sketch
        of all N rows each iteration, a block-SRHT that mixes every block, computed where the
        blocks are in two rounds of all servers; :mod:`dask_coded.kernels.sketches`),
        ``"weighted-leverage"`` (Appendix E), or the non-iterative ``"gaussian-solve"``,
        ``"rademacher-solve"``, ``"srht-solve"``, ``"leverage-solve"``.
    n_blocks : int, optional
        K (eq. 1). Default: for a store or dask array, the most blocks up to 100 that are
        whole chunks (K divides the chunk count), so that no chunk is decoded twice; for
        numpy arrays (or irregular chunks) min(100, N).
    n_servers : int, optional
        m, servers of the coded methods. Default: ``dask-coded.n-servers`` of dask's
        configuration, unset: 2 K. Workers hold about m / K copies of (A, b) in total: plan
        worker memory for that.
    q : int, optional
        Servers summed per iteration. Default: q(T) = floor(F(T) m) from ``runtime`` and
        ``deadline`` (eq. 12), else ceil(0.75 m).
    deadline : float, optional
        Seconds after which a round stops waiting (coded methods). Default:
        ``dask-coded.deadline``, unset: none; ``float("inf")`` asks for none where the
        configuration sets one.
    on_short : {"wait", "proceed", "fail"}, optional
        Fewer than q by the deadline: wait for q, go on with what arrived (rescaled, still
        unbiased), or raise. Default: ``dask-coded.on-short`` ("wait").
    runtime : RuntimeModel, optional
        Model of a server's finishing time, for phi(T) and q(T).
    stragglers : StragglerScenario or dict, optional
        Injected stragglers and faults (model delays, slow servers, throttled or killed
        worker processes); see :mod:`dask_coded.stragglers`.
    step : {"optimal", "fixed", "diminishing"} or float
        Optimal xi* (exact line search with A^T A from the setup pass), fixed
        ``step_scale * 2 / sigma_max^2``, diminishing ``xi0 / sqrt(1 + s)``; a number is a
        fixed step of that many ``2 / sigma_max^2``. Preconditioned (the default),
        sigma_max is that of ``A R^{-1}``, 1, and "optimal" is the exact line search of the
        setup's model ``R^T R = A^T A``: the Gauss-Newton step 1/2.
    max_iter, tol, time_budget
        Stop after ``max_iter`` iterations, when converged to ``tol``, or after
        ``time_budget`` seconds. Converged: preconditioned, an exact round's relative step
        ``||x_new - x|| / ||x_new||`` is at most ``tol`` (the Gauss-Newton step is the
        error of the iterate it started from); unpreconditioned, the gradient norm is at
        most ``tol`` times its initial value (from the round's data after an exact round,
        else from the setup's A^T A). Below the rounding floor of the data (about
        cond(A) u) the step never gets that small: pick ``tol`` above it.
    sketch_rows : int, optional
        Rows of the sketches (default min(N/2, 50 d)).
    client : distributed.Client or "simulate", optional
        Default: the current client, else an embedded LocalCluster for this call.
        ``"simulate"``: no cluster; servers' finishing times are drawn from ``runtime`` (or
        i.i.d. exponential) by :class:`~dask_coded.simulate.SimulatedExecutor`, the GC paper's
        probabilistic model, in this process (for experiments; model stragglers apply,
        throttled or killed workers do not).
    seed : int, optional
        Seeds every random choice of the solver.
    reference : ndarray or "auto", optional
        Solution to measure the error against; "auto" solves the normal equations from the
        setup pass (accurate only when A is well conditioned; none after a Gram-free
        setup, ``leverage="sketch"``, which has no A^T A to solve).
    x0 : ndarray, optional
        Starting point (zeros).
    callback : callable, optional
        Called with the solver after every iteration (after the progress bar's update).
    setup : LeverageResult, optional
        The setup pass of an earlier call on the same (A, b) and ``n_blocks``
        (``result.setup``), to compare methods without reading the data again.
    checkpoint : path, optional
        A JSON file (see :mod:`dask_coded.checkpoint`) rewritten atomically every
        ``checkpoint_every`` iterations, when the solve ends, and when it stops on a fault
        (lost servers, a failed deadline): the iterate, the history, the counters and random
        generator states.
    checkpoint_every : int
        Iterations between checkpoints.
    resume : bool
        Continue from ``checkpoint`` if it exists (it must come from a run with the same
        method, settings and data; ``max_iter``, ``tol`` and ``time_budget`` may differ).
        With the same seed the resumed solve takes the steps the uninterrupted one would
        have: exactly so for sd and the simulated executor, where the servers that answer
        do not depend on timing; on a real cluster the coded methods sum whichever servers
        answer first, which no seed fixes.
    reconnect_timeout : float, optional
        When the client loses its scheduler (every server's data goes with it), wait this
        long for the scheduler to come back at its address with at least one worker, then
        place the data again and go on from the last step; else raise
        :class:`~dask_coded.executor.SchedulerLost`. Default:
        ``dask-coded.reconnect-timeout`` (60 s).
    speculate : bool or mapping
        Backup tasks in the setup pass (on by default): a chunk task that has run longer
        than ``max(min_wait, multiplier x median)`` of the chunks already done (once half
        are done; defaults 0.5 s and 2x) gets a copy on another worker, and the first copy
        to finish is used, the other cancelled; a chunk is never counted twice. It costs
        one extra read of each backed-up chunk (none when nothing is late) and tolerates
        workers that are slow, frozen or gone while another worker can read the data (a
        store, a dask array, or the numpy slice the task carries). A mapping sets
        ``multiplier``, ``quantile``, ``min_wait``, ``max_copies`` (see
        :class:`~dask_coded.executor.Speculation`); False waits for every first copy.

    precondition : bool
        Iterative methods: step on the right-preconditioned problem
        ``min ||A R^{-1} y - b||``, ``x = R^{-1} y``, with R from the setup pass (``R^T R =
        A^T A``): iterations to a given error no longer grow with cond(A). Block leverage
        scores, so the expansion network and the encoding, are unchanged by it. False runs
        the paper's unpreconditioned iteration.
    variance_reduction : bool
        Sampled methods (coded, sketched, weighted): SVRG around an anchor. Every
        ``anchor_every`` iterations a round gathers the exact gradient at the anchor x_ref
        from the first replica of every block (a block whose replicas are all late gets a
        backup copy read from the source); the rounds between sum the first q servers'
        ``2 A~_i^T A~_i (x - x_ref)`` plus that gradient. Unbiased, with a variance that
        vanishes at x*, so the error falls to machine precision on noisy data. False runs
        the paper's eq. 26, whose variance at x* stalls the error.
    anchor_every : int, optional
        Iterations per anchor round; default 1 when preconditioned (the anchor's exact
        gradient then gives the Gauss-Newton step, which a sampled correction cannot
        improve on), else 5.
    reweight : bool
        Coded methods: divide each server's term by its observed rate of being among the
        first q, relative to q / m (Horvitz-Thompson), so that a server that is rarely first
        (a persistent straggler) does not drop its block's share from eq. 26's sum.
    leverage : {"auto", "exact", "sketch"}
        How an iterative method's setup obtains the block leverage scores and the
        preconditioner R. "exact": the Gram pass (``A^T A``, ``N d^2`` flops; the exact R
        makes a Gauss-Newton step of every exact round). "sketch" (Gram-free): a CountSketch
        of ``4 d`` rows, its QR for R and a projected pass for the scores (approximate
        scores, GC Section III-C), ``O(N d)`` flops on the blocks already placed
        (no extra read of the data) plus ``O(d^3)`` on the client, which holds one
        ``4 d x d`` sketch per worker (128 MiB each at d = 2000); every iteration is then
        an exact round (one replica per block) of conjugate gradients preconditioned by
        that R, whose line search, residual and gradient norms come from the rounds (no
        d x d matrix on the client but R). sd, block-leverage and uniform only, with
        ``step="optimal"``. "auto": "sketch" from :data:`GRAM_FREE_MIN_COLS` columns on,
        else "exact".
    scores : {"exact", "sketch"}
        The block leverage scores that block-leverage, weighted-leverage and leverage-solve
        replicate or draw by. "exact" (the default, the best): the setup pass's. "sketch":
        the paper's approximate scores Pi-tilde (GC Section III-C; CountSketch of ``20 d``
        rows and a JL projection, :func:`~dask_coded.compute_block_leverage` with
        ``method="sketch"``), computed in two more passes over the blocks already placed
        (or over the store without a cluster); their ``beta`` and distortion against the
        exact scores are reported (:attr:`LstsqResult.scores`). The exact setup still gives
        R, the step and the error columns.
    network : {"optimal", "eq19"}
        The expansion network of the replicated methods. "optimal" (the default): the exact
        minimiser of GC eq. 21 at R = m. "eq19": the paper's own, r-hat of eq. 19 from
        phi(T), then Algorithm 2 to reach m servers; phi(T) comes from ``runtime`` and
        ``deadline``, else from q as ``1 - q / m`` (eq. 12 read backwards). Its emulation
        distortion (eq. 18) and Lemma 1's bound are in ``result.network.summary()``.
    progress : {True, False, "auto"}, optional
        A progress bar over the iterations of an iterative method, on stderr (``tqdm.auto``:
        a widget in Jupyter when ipywidgets is installed, text in a terminal), with the
        relative error when there is a ``reference``. "auto": only when stderr is a
        terminal (so not in logs, CI or Jupyter, whose stderr is not one; pass True there).
        Default: ``dask-coded.progress`` ("auto"). An automatic bar clears itself when done,
        one asked for (True) stays.

    Returns
    -------
    LstsqResult

    Notes
    -----
    Parameters documented with a ``dask-coded.*`` default read dask's configuration at each
    call when left at None: ``dask.config.set({"dask-coded.deadline": 2.0})`` or
    ``DASK_DASK_CODED__DEADLINE=2.0``; an argument given wins.
    """
    # first, while only the arguments are bound: every check that needs no data, before
    # anything is opened, read or started (the defaults from dask.config included)
    request = _validate(_with_dask_config(locals()))
    settings, scenario, setup = request.settings, request.scenario, request.setup
    A, b = _plain_array(A), _plain_array(b)
    is_path = isinstance(A, (str, os.PathLike))
    a, b_arr = as_row_chunked(A, b)
    if b_arr is None:
        raise InputError("b is required (or pass a dataset path as A)")
    n_rows, d = a.shape
    if d > n_rows:
        raise InputError(f"A must be tall (rows >= columns), got {n_rows} x {d}")
    n_blocks = default_blocks(A, a) if request.n_blocks is None else request.n_blocks
    layout = BlockLayout.create(n_rows, n_blocks)
    _check_against_data(request, layout, d)
    method = resolve_method(request.method, d)
    leverage = resolve_leverage(request.leverage, method, d)
    if leverage == "sketch":  # refused before the setup pass reads anything
        check_gram_free(method, settings.step)
    if request.scores == "sketch" and not METHODS[method].uses_scores:
        users = ", ".join(n for n, c in METHODS.items() if c.uses_scores)
        raise InputError(f"scores='sketch' is for the methods that sample by the block "
                         f"leverage scores ({users}), not {method!r}")
    options = _sketch_options(d, settings.seed) if leverage == "sketch" else {}
    speculate, reference, checkpoint = request.speculate, request.reference, request.checkpoint
    # in-memory data solved exactly needs no cluster: it is already in this process, and a
    # cluster would only copy it (and take seconds to start)
    local = request.simulate or (request.client is None and method == "direct"
                                 and scenario is None and isinstance(A, np.ndarray)
                                 and current_client() is None)
    with (contextlib.nullcontext(None) if local else client_context(request.client)) as cl, \
            contextlib.ExitStack() as cleanup:
        needs_solution = METHODS[method].needs_solution
        if setup is not None and needs_solution and setup.solution is None:
            setup = None  # an iterative method's pass: read again, this time solving
        throttles = None
        if needs_solution:
            # direct's solve is its setup pass: real stragglers must be running during it
            throttles = cleanup.enter_context(throttled(cl, scenario))
        t0 = time.perf_counter()
        source = BlockSource.create(A, np.asarray(b) if isinstance(A, np.ndarray) else b, a,
                                    b_arr, layout)
        resident = None
        if setup is None and cl is not None and METHODS[method].iterative:
            # read the data once for both the setup pass and the servers: the blocks are
            # placed first, the pass runs on them where they are, the servers copy them
            staged = CodedExecutor(cl, name="blocks", seed=settings.seed)
            cleanup.callback(staged.close)
            summary, resident = retry_after_scheduler_loss(
                lambda: _resident_setup(staged, source, layout, A if is_path else a,
                                        n_blocks, None if is_path else b_arr, cl, speculate,
                                        scenario, options),
                cl, settings.reconnect_timeout, what="the setup pass (block leverage scores)")
        elif setup is None:
            summary = retry_after_scheduler_loss(
                # a store path lets the workers read their chunks by path
                lambda: compute_block_leverage(A if is_path else a, n_blocks,
                                               b=None if is_path else b_arr,
                                               solve=needs_solution, client=cl,
                                               speculate=speculate, stragglers=scenario,
                                               **options), cl,
                settings.reconnect_timeout, what="the setup pass (block leverage scores)")
        else:
            summary = setup
        if isinstance(reference, str):  # "auto" (_validate let no other string through)
            if summary.solution is not None:
                reference = summary.solution
            elif summary.gram is not None:
                reference = np.linalg.solve(summary.gram, summary.atb)
            else:  # a sketch setup has no A^T A to solve: no reference, no error column
                reference = None
        approximate = None
        if request.scores == "sketch" and summary.method == "exact":
            # GC Section III-C's Pi-tilde, on the blocks already placed when there are any
            approximate = retry_after_scheduler_loss(
                lambda: compute_block_leverage(
                    A if is_path else a, n_blocks, method="sketch", seed=settings.seed,
                    client=cl, resident=resident).scores,
                cl, settings.reconnect_timeout, what="the approximate block leverage scores")
        problem = Problem(source, layout, summary, approximate_scores=approximate)
        if request.simulate:
            from .simulate import SimulatedExecutor

            executor = SimulatedExecutor(settings.runtime, seed=settings.seed)
        else:
            executor = CodedExecutor(cl, name=method, seed=settings.seed)
        solver = CodedSolver(executor, problem, method, settings, scenario=scenario,
                             reference=reference, x0=request.x0, callback=request.callback)
        saver = state = None
        if checkpoint is not None and solver.method.iterative:
            from . import checkpoint as ckpt

            fprint = ckpt.fingerprint(method, settings, problem, solver.method)
            resumed = request.resume and checkpoint.exists()
            state = ckpt.load(checkpoint, fprint) if resumed else None
            saver = solver.callback = _Checkpointer(checkpoint, request.checkpoint_every,
                                                    fprint, request.callback)
        cleanup.callback(executor.close)  # runs before the throttles stop (LIFO)
        retry_after_scheduler_loss(lambda: solver.setup(resident, speculate), cl,
                                   settings.reconnect_timeout, what="placing the servers' data")
        if resident is not None:
            staged.hand_over()  # the servers hold their own keys of the same data now
            resident = None
        if state is not None:
            try:
                solver.restore(state)
            except InputError:
                raise
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                # a state of the right fingerprint but a damaged body (edited by hand)
                why = " ".join(str(exc).split())[:80]
                raise InputError(f"checkpoint {checkpoint} holds a damaged solver state "
                                 f"({type(exc).__name__}: {why}); delete it to start "
                                 "afresh") from None
        setup_seconds = time.perf_counter() - t0
        if (throttles is None and scenario is not None and not scenario.is_empty
                and cl is not None):
            cleanup.enter_context(throttled(cl, scenario))
            solver.start_clock()  # the throttles' start-up is not solve time
        if solver.method.iterative:
            bar = _progress.bar(request.progress, settings.max_iter, f"lstsq {method}", "it")
            if bar is not None:
                cleanup.callback(bar.close)
                solver.callback = _ProgressBar(bar, solver.callback)
        t1 = time.perf_counter()
        try:
            reason = solver.run()
        except Exception:
            if saver is not None and np.all(np.isfinite(solver.x)):
                saver.save(solver)  # a fault: keep what was done for a resume
            raise
        if saver is not None:
            saver.save(solver, done=reason)
        solve_seconds = time.perf_counter() - t1
        placement = {}
        if len(solver.method.server_blocks):
            executor.settle()  # replicas still being copied or rebuilt: report where they land
            placement = executor.placement()
    m = solver.method
    return LstsqResult(x=solver.x, n_iter=solver.iteration, history=solver.history,
                       method=method, stop_reason=reason, setup_seconds=setup_seconds,
                       solve_seconds=solve_seconds, n_servers=len(m.server_blocks), q=m.q,
                       network=m.network, reference=reference, placement=placement,
                       setup=summary, killed_workers=solver.killed_workers,
                       embedding=solver.embedding(),
                       distinct_blocks=m.distinct_blocks(solver.history),
                       scores=problem.score_quality())


class _ProgressBar:
    """The solver callback that advances a progress bar, then calls ``callback``."""

    def __init__(self, bar: Any, callback: Callable | None = None):
        self.bar = bar
        self.callback = callback

    def __call__(self, solver) -> None:
        err = solver.history.get("error")
        if err:
            self.bar.set_postfix_str(f"err {err[-1]:.2e}", refresh=False)
        self.bar.update(solver.iteration - self.bar.n)  # a resumed solve starts past 0
        if self.callback is not None:
            self.callback(solver)


class _Checkpointer:
    """The solver callback that writes a checkpoint every ``every`` iterations."""

    def __init__(self, path, every: int, fprint: dict, callback=None):
        self.path = path
        self.every = every
        self.fprint = fprint
        self.callback = callback

    def save(self, solver, done: str | None = None) -> None:
        from . import checkpoint as ckpt

        ckpt.save(self.path, solver.state(), self.fprint, done=done)

    def __call__(self, solver) -> None:
        if solver.iteration % self.every == 0:
            self.save(solver)
        if self.callback is not None:
            self.callback(solver)
