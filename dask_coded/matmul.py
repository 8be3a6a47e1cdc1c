"""Coded matrix products ``C = A B`` on a Dask cluster (the MatDot paper): the orchestration layer.

``A`` (n x N) and ``B`` (N x k) are cut along the inner dimension into ``m`` blocks
(:func:`dask_coded.kernels.matdot.split_inner`, zero padding when ``m`` does not divide
``N``). The output is cut into tiles of at most ``tile x tile``; each tile is one coded job:
``P`` servers each hold one encoded block of the tile's rows of ``A`` and columns of ``B``
(MatDot eq. 14 / eq. 24), built on the workers by a loader that reads only those rows and columns,
and return their product (eq. 7). The coded executor gathers the first arrivals and the
code's decoder turns them into the tile.

Codes:

* ``"matdot"`` -- exact MatDot (Construction 1): waits for ``2m - 1`` results.
* ``"eps-matdot"`` -- epsilon-approximate MatDot (Construction 2), anytime: with a
  ``deadline`` it takes every result that arrives before it (up to ``2m - 1``) and never
  fewer than ``m``, decoded by :func:`~dask_coded.kernels.matdot.decode_anytime`; without a
  deadline it takes the first ``m``.
* ``"optimized"`` -- a code found by alternating minimisation (Section IV), an
  :class:`~dask_coded.kernels.optcodes.OptimizedCode` or the path of its ``.npz``: ``k``
  results, :func:`~dask_coded.kernels.optcodes.decode_linear`.
* ``"uncoded"`` -- the baseline: ``m`` servers each hold one plain block pair and all ``m``
  are waited for.
* ``"sampled"`` -- approximate products by block sampling (CR-multiplication on the
  gradient-coding paper's expansion networks, :class:`~dask_coded.codes.Sampled`): a first
  pass computes the inner blocks' norms (:func:`_inner_norms`), block pair ``i`` is
  replicated on ``r_i ~ P ||A_i||_F ||B_i||_F / sum_j ||A_j||_F ||B_j||_F`` servers, and
  the weighted sum of the first ``q`` results (any ``1 <= q <= P``) is an unbiased
  estimate of the tile, exact at ``q = P``.

Every result gets Freivalds' check (:attr:`MatmulResult.freivalds`, ``check``): the servers,
which read all of their tile's A rows and B columns anyway, also compute ``A (B X)`` for 3
seeded Gaussian vectors from those reads, and the client compares it with ``C_hat X``; a
product written earlier is checked by :func:`freivalds`. ``as_dask=True`` returns ``C`` as a
dask array (lazy over the written store with ``out``).

This module never imports zarr (``io`` does the reading and writing).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import _dask_config, _progress
from ._validation import check_client, check_servers, float_array
from .cluster import client_context
from .codes import POINTS, CodePlan, relative, resolve_code
from .errors import InputError
from .executor import SchedulerLost, compute, round_faults, throttled
from .kernels import checks
from .kernels import freivalds as fv
from .kernels import matdot as md
from .kernels import optcodes as oc
from .kernels import sampled as smp

#: Budget of one server's encoded blocks (its share of A's rows and B's columns of a tile).
SERVER_BYTES = 64 * 2**20

#: What a server's loader reads of A or B at once while encoding: 32 MiB of rows.
READ_PANEL_BYTES = 32 * 2**20

#: Most a worker keeps of one tile's decoded store reads for its next server of the tile
#: (:class:`_ReadCache`): one tile's A rows and B columns at the default tile and m = 4.
READ_CACHE_BYTES = 4 * SERVER_BYTES

#: Longest one tile's round may wait for its results (the executor's ``max_wait``).
ROUND_MAX_WAIT = 300.0

#: Seconds to wait for a lost scheduler (and a worker) to come back before giving up, and
#: how many times one tile may be redone after such a loss.
RECONNECT_TIMEOUT = 60.0
MAX_RECOVERIES = 3


@dataclass
class MatmulResult:
    """What :func:`matmul` computed, and how.

    Attributes
    ----------
    C : ndarray, zarr.Array or dask.array.Array
        The product (the Zarr array written to ``out`` when ``out`` was given; a dask array
        with ``as_dask``).
    code : str
    m : int
        Inner blocks.
    n_servers : int
        Servers per tile (``P``).
    recovery_threshold : int
        Results a tile needs at least (``2m - 1``, ``m``, ``k``, ``m`` or, for sampled, ``q``).
    tiles : list of (row_start, row_stop, col_start, col_stop)
    servers_used : list of ndarray
        Per tile, the servers whose results were decoded, in arrival order.
    arrival_times : list of ndarray
        Per tile, seconds from the round's start to each of those arrivals.
    tile_errors : list of float
        Per tile, the decoder's estimate of its relative Frobenius error.
    error_estimate : float
        The largest of ``tile_errors``: a bound-like estimate of ``||C_hat - C||_F / ||C||_F``
        (for sampled, of its root mean square over the random first-q subsets).
    points : ndarray or None
        Evaluation points (MatDot codes; complex for eps-MatDot's default points).
    expected_error : float or None
        For eps-MatDot, the model error of the points at ``m`` results.
    seconds : float
        Wall time of the whole product.
    round_seconds : list of float
        Wall time of each tile's round.
    timed_out : list of bool
        Per tile, whether the deadline passed before ``2m - 1`` (eps-MatDot) results.
    killed_workers : list of str
        Workers the straggler scenario killed during the product.
    freivalds : float or None
        Freivalds' check (:mod:`dask_coded.kernels.freivalds`): ``||C_hat X - A (B X)||_F /
        ||A (B X)||_F`` for ``X`` of 3 seeded Gaussian columns, ``A (B X)`` computed by the
        workers from A and B themselves as they read them (not from encoded blocks, products
        or the decoder). An independent estimate of the true relative error
        ``||C_hat - A B||_F / ||A B||_F`` (within a factor ~3 in most draws): about the
        code's error for a healthy product, far above ``error_estimate`` for a corrupt
        server result or decoding. None when it was not run (``check``).
    """

    C: Any
    code: str
    m: int
    n_servers: int
    recovery_threshold: int
    tiles: list = field(default_factory=list)
    servers_used: list = field(default_factory=list)
    arrival_times: list = field(default_factory=list)
    tile_errors: list = field(default_factory=list)
    error_estimate: float = 0.0
    points: np.ndarray | None = None
    expected_error: float | None = None
    seconds: float = 0.0
    round_seconds: list = field(default_factory=list)
    timed_out: list = field(default_factory=list)
    killed_workers: list = field(default_factory=list)
    freivalds: float | None = None

    def summary(self) -> dict:
        """JSON-able summary (everything but ``C``)."""
        return {
            "code": self.code, "m": self.m, "n_servers": self.n_servers,
            "recovery_threshold": self.recovery_threshold,
            "shape": [int(s) for s in self.C.shape],
            "error_estimate": float(self.error_estimate),
            "expected_error": self.expected_error,
            "seconds": float(self.seconds),
            "points": _json_points(self.points),
            "killed_workers": list(self.killed_workers),
            "freivalds": None if self.freivalds is None else float(self.freivalds),
            "tiles": [
                {"rows": [r0, r1], "cols": [c0, c1], "servers_used": s.tolist(),
                 "arrival_seconds": [float(x) for x in t], "error_estimate": float(e),
                 "round_seconds": float(w), "timed_out": bool(o)}
                for (r0, r1, c0, c1), s, t, e, w, o in zip(
                    self.tiles, self.servers_used, self.arrival_times, self.tile_errors,
                    self.round_seconds, self.timed_out)],
        }


def _json_points(points: np.ndarray | None) -> list | None:
    """Points for JSON: floats, or ``[real, imag]`` pairs for complex points."""
    if points is None:
        return None
    if np.iscomplexobj(points):
        return [[float(p.real), float(p.imag)] for p in points]
    return [float(p) for p in points]


# ---------------------------------------------------------------------------- worker side


def _read(src: tuple, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Rows x cols of one operand: ``("store", path)``, ``("array", block)`` (already the
    tile's slice, rows and cols relative to it)."""
    kind, obj = src
    if kind == "store":
        from .io import read_block

        return read_block(obj, rows, cols)
    return np.asarray(obj)[rows[0]:rows[1], cols[0]:cols[1]]


class _ReadCache:
    """A worker's decoded store reads of one tile, shared by the servers it holds.

    Every server of a tile reads all of A's tile rows and B's tile columns (its encoded
    block combines every inner block, MatDot eq. 14), and decoding the store's chunks is
    most of a server's load (zstd, measured 0.05-0.09 s per 32 MiB on this machine against
    ~0.01 s for the encoding's arithmetic). When a worker holds more servers of a tile than
    one (``P`` servers on fewer workers), the first keeps what it read for the next
    (``keep``), and the last one here frees it. ``token`` names the product and tile: a
    read of another token clears the cache first, so nothing stale is ever served and at
    most one tile's reads (at most :data:`READ_CACHE_BYTES`) stay in a worker between
    products. Nothing is evicted within a tile: a read that does not fit is not kept
    (the panels are read in the same order by every server, so keeping the first ones
    gives hits, where least-recently-used eviction would give none).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: Any = None
        self.items: dict[tuple, np.ndarray] = {}
        self.nbytes = 0

    def _switch(self, token: Any) -> None:
        if self.token != token:
            self.items.clear()
            self.nbytes = 0
            self.token = token

    def read(self, src: tuple, rows: tuple[int, int], cols: tuple[int, int], token: Any,
             keep: bool) -> np.ndarray:
        key = (src[1], rows, cols)
        with self.lock:
            self._switch(token)
            hit = self.items.get(key)
        if hit is not None:
            return hit
        x = _read(src, rows, cols)
        if keep:
            with self.lock:
                if self.token == token and self.nbytes + x.nbytes <= READ_CACHE_BYTES:
                    x.setflags(write=False)  # shared by servers: nobody may write it
                    self.items[key] = x
                    self.nbytes += x.nbytes
        return x

    def done(self, token: Any) -> None:
        """The last server of ``token`` on this worker has read: free its reads."""
        with self.lock:
            if self.token == token:
                self._switch(None)


_READ_CACHE = _ReadCache()


def _encode_read(src: tuple, fixed: tuple[int, int], inner: int, coef: np.ndarray,
                 axis: int, name: str, label: str, share: tuple | None = None,
                 tap: Any = None) -> tuple[np.ndarray, float]:
    """One server's encoded block of A's rows ``fixed`` (``axis=1``) or B's columns
    ``fixed`` (``axis=0``), read block by block by
    :func:`~dask_coded.kernels.matdot.encode_streamed` (MatDot eq. 14 / eq. 24 on
    split_inner's padded blocks). Checks each block it reads for NaN/Inf, and also returns
    the squared Frobenius norm of what was read. ``share = (token, keep)`` reads a store
    through the worker's :class:`_ReadCache`; ``tap(rows, cols, x)`` also sees every block
    read (relative to the source), for the Freivalds reference."""
    sq = 0.0
    what = "rows" if axis == 1 else "columns"

    def fetch(rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        nonlocal sq
        if share is not None and src[0] == "store":
            x = _READ_CACHE.read(src, rows, cols, *share)
        else:
            x = _read(src, rows, cols)
        x = x.astype(np.float64, copy=False)
        # the squared norm is NaN or Inf when a value is (inf * inf = inf): one pass for
        # both, and the explicit check only then (a huge finite value also overflows it)
        v = float(np.vdot(x, x))
        if not math.isfinite(v) and not np.all(np.isfinite(x)):
            raise InputError(f"{name} contains NaN or Inf in the block of {what} {label}")
        sq += v
        if tap is not None:
            tap(rows, cols, x)
        return x

    if axis == 0:
        # B: panels of whole rows (its store's chunks are row panels): each read once
        step = max(1, READ_PANEL_BYTES // (8 * (fixed[1] - fixed[0])))
        return md.encode_streamed(coef, lambda lo, hi: fetch((lo, hi), fixed), inner,
                                  fixed[1] - fixed[0], axis=0, panel=step), sq
    # A: its row chunks span every column block, so read all inner columns of a few rows at
    # a time (once), not each block of columns of all rows (each chunk m times)
    step = max(1, READ_PANEL_BYTES // (8 * inner))
    parts = []
    for r0 in range(fixed[0], fixed[1], step):
        rows = (r0, min(r0 + step, fixed[1]))
        parts.append(md.encode_streamed(coef, lambda lo, hi, rows=rows: fetch(rows, (lo, hi)),
                                        inner, rows[1] - rows[0], axis=1, panel=inner))
    return (parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)), sq


def _load_server(a_src: tuple, b_src: tuple, a_rows: tuple[int, int], b_cols: tuple[int, int],
                 inner: int, alpha: np.ndarray, beta: np.ndarray,
                 label: str, share: tuple | None = None, probe: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Build one server's encoded pair ``(A~, B~)`` of one tile, on its worker.

    ``a_rows``/``b_cols`` are the rows of A and columns of B to read from the source (relative
    to it). Returns the pair and the product of the Frobenius norms of the parts read (for the
    MatDot codes, ``||A_tile||_F ||B_tile||_F``; a bound's scale). ``share = (token, keep)``:
    the worker's store reads of this tile (``token``) come from and, with ``keep``, stay in
    its :class:`_ReadCache` for another of its servers; without ``keep`` they are freed
    after this load (the last server of the tile here).

    ``probe`` (the Freivalds vectors restricted to the tile's columns): the same reads also
    give ``A_tile (B_tile X)``, B read first (:class:`~dask_coded.kernels.freivalds.
    ReferenceAccumulator`; None when this server does not read all of A's rows and B's
    columns of the tile), returned fourth. It costs two passes of matrix-vector products over
    what is read anyway, no read of its own.
    """
    rows_label, cols_label = label.split("|")
    ref = tap_a = tap_b = None
    if probe is not None:
        ref = fv.ReferenceAccumulator(probe, a_rows[1] - a_rows[0], inner)

        def tap_b(rows, cols, x):
            ref.add_b(rows[0], rows[1], x)

        def tap_a(rows, cols, x):
            ref.add_a(rows[0] - a_rows[0], rows[1] - a_rows[0], cols[0], cols[1], x)
    try:
        # B first: the reference's A panels need B X whole
        b_enc, sb = _encode_read(b_src, b_cols, inner, beta, 0, "B", cols_label, share, tap_b)
        a_enc, sa = _encode_read(a_src, a_rows, inner, alpha, 1, "A", rows_label, share, tap_a)
    finally:
        if share is not None and not share[1]:
            _READ_CACHE.done(share[0])
    return a_enc, b_enc, float(np.sqrt(sa * sb)), None if ref is None else ref.value


def _server_product(data: tuple, param: Any) -> tuple[np.ndarray, float, np.ndarray | None]:
    """What a server computes: ``C~ = A~ B~`` (MatDot eq. 7), with the tile's norm product
    and its Freivalds reference ``A_tile (B_tile X)`` (or None)."""
    a_enc, b_enc, norm_ab, ref = data
    return md.server_products(a_enc, b_enc), norm_ab, ref


def _store_sq_norm(path: str, rows: tuple[int, int], cols: tuple[int, int]) -> float:
    """Squared Frobenius norm of one stored block, read on a worker (NaN/Inf pass through)."""
    from .io import read_block

    x = read_block(path, rows, cols).astype(np.float64, copy=False)
    return float(np.vdot(x, x))


def _inner_norms(op: _Operand, m: int, axis: int, executor) -> np.ndarray:
    """``||X_i||_F^2`` of one operand's ``m`` inner blocks (split_inner's), in one pass.

    The pass a data-dependent code asks for (:meth:`~dask_coded.codes.Code.fit`): a numpy
    operand is measured where it is (the client), a dask one by dask on the cluster, and a
    store by the workers, in pieces of at most ``SERVER_BYTES / 2`` run as rerunnable tasks
    of the executor's ``map_tasks``. ``axis`` is the inner axis (1 for A, 0 for B).
    """
    inner, width = op.shape[axis], op.shape[1 - axis]
    r = -(-inner // m)  # split_inner's block width; a block past the end is all padding
    spans = [(i * r, min((i + 1) * r, inner)) for i in range(m)]
    sq = np.zeros(m)
    if op.kind == "numpy":
        sq = smp.block_sq_norms(op.x, m, axis)
    elif op.kind == "dask":
        live = [i for i, (lo, hi) in enumerate(spans) if lo < hi]
        parts = [op.x[:, lo:hi] if axis == 1 else op.x[lo:hi, :]
                 for lo, hi in (spans[i] for i in live)]
        sq[live] = compute(executor.client, *[(p.astype(np.float64) ** 2).sum() for p in parts])
    else:
        step = max(1, SERVER_BYTES // (16 * r))
        calls, owner = [], []
        for i, (lo, hi) in enumerate(spans):
            for c0 in range(0, width, step) if lo < hi else ():
                c1 = min(c0 + step, width)
                rows, cols = ((c0, c1), (lo, hi)) if axis == 1 else ((lo, hi), (c0, c1))
                calls.append((_store_sq_norm, (op.path, rows, cols)))
                owner.append(i)
        np.add.at(sq, owner, executor.map_tasks(calls, label=f"norms-{op.name}").values)
    bad = np.flatnonzero(~np.isfinite(sq))
    if bad.size:
        i = int(bad[0])
        what = "columns" if axis == 1 else "rows"
        raise InputError(f"{op.name} contains NaN or Inf (or values too large to square) in "
                         f"inner block {i}, {what} {spans[i][0]}:{spans[i][1]}")
    return sq


# ---------------------------------------------------------------------------- validation


class _Operand:
    """A or B: a store path, a numpy array or a dask array, with shape checks."""

    def __init__(self, x: Any, name: str):
        self.name = name
        if isinstance(x, (str, os.PathLike)):
            from .io import matrix_info

            self.kind, self.path = "store", os.path.abspath(x)  # workers: other cwd
            self.shape, _ = matrix_info(x, name)
            self.x = None
            return
        if hasattr(x, "dask") and hasattr(x, "shape") and hasattr(x, "dtype"):
            self.kind, self.x = "dask", x
        else:
            try:
                arr = np.asarray(x)
            except Exception:
                raise InputError(f"{name} must be an array or a Zarr path, "
                                 f"got {type(x).__name__}") from None
            self.kind, self.x = "numpy", arr
        dtype = np.dtype(self.x.dtype)
        if len(self.x.shape) != 2:
            raise InputError(f"{name} must be 2-D, got shape {tuple(self.x.shape)}")
        if 0 in self.x.shape:
            raise InputError(f"{name} is empty (shape {tuple(self.x.shape)})")
        if dtype.kind == "c":
            raise InputError(f"{name} has complex dtype {dtype}; only real matrices are "
                             "supported")
        if dtype.kind in "biu" and self.kind == "numpy":
            self.x = self.x.astype(np.float64)
        elif dtype.kind != "f":
            raise InputError(f"{name} has dtype {dtype}; convert it to float64 first")
        self.shape = (int(self.x.shape[0]), int(self.x.shape[1]))

    def tile_source(self, executor, rows: tuple[int, int], cols: tuple[int, int]):
        """``(src, rows, cols)`` for the loaders of one tile.

        A store is read by each loader itself (only its rows/cols); an in-memory or dask
        operand's tile slice is put on the cluster once by the executor (``stage``, freed
        with the tile's servers), and the loaders take it from there.
        """
        if self.kind == "store":
            return ("store", self.path), rows, cols
        part = self.x[rows[0]:rows[1], cols[0]:cols[1]]
        handle = executor.stage(part, f"matmul-{self.name}-tile-{rows[0]}-{cols[0]}")
        return ("array", handle), (0, rows[1] - rows[0]), (0, cols[1] - cols[0])


def _scenario(stragglers: Any):
    from .stragglers import StragglerScenario

    if stragglers is None or isinstance(stragglers, StragglerScenario):
        sc = stragglers
    else:
        sc = StragglerScenario.from_config(stragglers)
    # every kind is supported: model delays and slow servers per round, throttled worker
    # processes for the whole product, and workers killed just before a tile's round
    return None if sc is None or sc.is_empty else sc


def optimize_code(m: int, k: int, n_servers: int, *, restarts: int = oc.RESTARTS,
                  max_iter: int = oc.MAX_ITER, seed: int | None = None,
                  structured: bool = True,
                  save: str | os.PathLike | None = None) -> oc.OptimizedCode:
    """Find an approximate code for ``C = A B`` by alternating minimisation (MatDot Alg. 1).

    The starts are epsilon-MatDot's code and ``restarts`` random ones
    (:func:`~dask_coded.kernels.optcodes.optimize_code`, whose docstring has the measured
    losses and times of the defaults: under a minute and far below the authors' ~1e-6 for
    m = 2..4, k = 2m - 2, P = k + 1).

    Loss and error. A subset's loss ``l`` (eq. 29) is the squared Frobenius norm of the
    coefficient error ``E = I - sum d_i alpha_i beta_i^T``, and ``C_hat - C =
    sum_jl E_jl A_j B_l``: on generic data the relative error is about ``sqrt(l / m)``, the
    square root of the loss, not the loss (plus round-off, ``~u ||d||_1`` times the results'
    size). That was the gap of issue 13 (``matmul(code=...)`` at 3.8e-3 from a code of
    loss ~1e-5). Measured, 60 x 48 times 48 x 50 Gaussian data, ``seed=0``, through
    :func:`matmul` (one LocalCluster)::

        (m, k, P)  code                    loss     sqrt(max l / m)  matmul error  estimate
        (2, 2, 3)  20 random x 2000 (old)  1.9e-5   2.2e-3           2.1e-3        2.1e-2
        (2, 2, 3)  defaults (eps-MatDot)   1.4e-15  1.6e-8           1.9e-8        1.9e-7
        (3, 4, 5)  20 random x 2000 (old)  3.1e-5   2.8e-3           2.7e-3        3.3e-2
        (3, 4, 5)  defaults (eps-MatDot)   4.1e-15  2.3e-8           2.1e-8        1.8e-7
        (4, 6, 7)  20 random x 2000 (old)  4.4e-5   2.5e-3           6.3e-4        8.7e-3
        (4, 6, 7)  defaults (eps-MatDot)   1.1e-12  3.9e-7           1.5e-7        2.3e-6

    The error estimate (Theorem 5's bound at ``||A_tile||_F ||B_tile||_F``, plus
    round-off) stays above the error, by ~10x on such data.

    Parameters
    ----------
    m : int
        Inner blocks of A and B.
    k : int
        Results the decoders use, ``1 <= k <= n_servers``.
    n_servers : int
        Servers ``P``.
    restarts, max_iter : int
        Random starts, iterations per start.
    seed : int, optional
    structured : bool
        Also start from epsilon-MatDot's code (the start that wins in every measured case).
    save : path, optional
        Also write the code to this ``.npz`` (load it with ``OptimizedCode.load`` or pass the
        path to :func:`matmul` as ``code``).

    Returns
    -------
    OptimizedCode
    """
    m = checks.integer("m", m, 1)
    k = checks.integer("k", k, 1)
    n_servers = check_servers("n_servers", checks.integer("n_servers", n_servers, 1))
    seed = checks.seed("seed", seed)
    if save is not None and (not isinstance(save, (str, os.PathLike)) or not str(save)
                             or Path(save).is_dir()):
        raise InputError(f"save must be a file path (not a folder), got {save!r}")
    if k > n_servers:
        raise InputError(f"k={k} exceeds n_servers={n_servers}")
    if math.comb(n_servers, k) > oc.MAX_SUBSETS:
        raise InputError(f"C({n_servers}, {k}) decoding subsets is more than "
                         f"{oc.MAX_SUBSETS}; use fewer servers")
    code = oc.optimize_code(m, k, n_servers, restarts=restarts, max_iter=max_iter, seed=seed,
                            structured=structured)
    if save is not None:
        from ._atomic import atomic_path

        with atomic_path(save) as tmp:
            code.save(tmp)
    return code


class _Probes:
    """A product's Freivalds check, tile by tile: ``C_hat X`` and ``A (B X)`` by rows."""

    def __init__(self, x: np.ndarray, n: int):
        self.x = x
        self.cx = np.zeros((n, x.shape[1]))
        self.abx = np.zeros((n, x.shape[1]))
        self.complete = True  # every tile had a server reference

    def add(self, r0: int, r1: int, c0: int, c1: int, c_hat: np.ndarray,
            refs: list) -> None:
        """One decoded tile, with its servers' ``A_tile (B_tile X[c0:c1])`` (or None)."""
        z = fv.combine(refs)
        if z is None:
            self.complete = False
            return
        self.cx[r0:r1] += c_hat @ self.x[c0:c1]  # the column tiles of a row add up
        self.abx[r0:r1] += z


def _panel_times(path: str, rows: tuple[int, int], n_cols: int, y: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of a stored matrix times ``y``, read and multiplied on a worker."""
    from .io import read_block

    return read_block(path, rows, (0, n_cols)).astype(np.float64, copy=False) @ y


def _times(op: _Operand, y: np.ndarray, executor) -> np.ndarray:
    """``op @ y`` for a thin ``y``: in memory, by dask, or from the store by row panels on
    the workers (rerunnable tasks of the executor's ``map_tasks``, late ones backed up)."""
    if op.kind == "numpy":
        return op.x.astype(np.float64, copy=False) @ y
    if op.kind == "dask":
        return np.asarray(compute(executor.client, op.x @ y)[0], dtype=np.float64)
    n_rows, n_cols = op.shape
    step = max(1, READ_PANEL_BYTES // (8 * n_cols))
    calls = [(_panel_times, (op.path, (r0, min(r0 + step, n_rows)), n_cols, y))
             for r0 in range(0, n_rows, step)]
    return np.concatenate(executor.map_tasks(calls, label=f"freivalds-{op.name}").values)


def _freivalds(a_op: _Operand, b_op: _Operand, c_op: _Operand, x: np.ndarray,
               executor) -> float:
    """Freivalds' relative residual by a pass of its own: ``B X``, then ``A (B X)``, then
    ``C X``, each operand read once, row panel by row panel (never whole)."""
    abx = _times(a_op, _times(b_op, x, executor), executor)
    return fv.relative_residual(_times(c_op, x, executor), abx)


def freivalds(A: Any, B: Any, C: Any, *, count: int = fv.PROBES, seed: int | None = None,
              client: Any = None) -> float:
    """Freivalds' check of a product: ``||C X - A (B X)||_F / ||A (B X)||_F``.

    ``X`` has ``count`` seeded standard Gaussian columns; the ratio estimates the relative
    Frobenius error ``||C - A B||_F / ||A B||_F`` (:mod:`dask_coded.kernels.freivalds`). A
    stored operand is read by the workers in row panels (one pass over each of A, B and C),
    a dask one by dask, a numpy one where it is; only thin ``N x count`` and ``n x count``
    products come back. Use it on a product written earlier (a store that may be damaged,
    a product from elsewhere); :func:`matmul` runs the check on its own result for free
    where its servers' reads allow (``check``).

    Parameters
    ----------
    A, B, C : numpy arrays, dask arrays, or paths of 2-D Zarr arrays
        ``A`` n x N, ``B`` N x k, ``C`` n x k.
    count : int
        Random vectors.
    seed : int, optional
    client : distributed.Client, optional
        For stored or dask operands (default: the current client, else an embedded
        LocalCluster); unused when all three are numpy arrays.

    Returns
    -------
    float

    Raises
    ------
    InputError
        Shapes that do not match, bad count or seed.
    """
    a_op, b_op, c_op = _Operand(A, "A"), _Operand(B, "B"), _Operand(C, "C")
    (n, inner), (inner_b, k) = a_op.shape, b_op.shape
    if inner != inner_b or c_op.shape != (n, k):
        raise InputError(f"A is {n} x {inner}, B {inner_b} x {k} and C "
                         f"{c_op.shape[0]} x {c_op.shape[1]}: C is not the shape of A B")
    x = fv.probes(k, count, checks.seed("seed", seed))
    if all(op.kind == "numpy" for op in (a_op, b_op, c_op)):
        return _freivalds(a_op, b_op, c_op, x, None)
    check_client(client)
    with client_context(client) as cl:
        from .executor import CodedExecutor

        return _freivalds(a_op, b_op, c_op, x, CodedExecutor(cl, name="freivalds", seed=seed))


def _as_dask(c: Any, out: Any, row_cuts: list[int], col_cuts: list[int]) -> Any:
    """``C`` as a dask array: lazy over the written store (``out``), whose chunks are the
    tiles, or over the tiles of the in-memory result."""
    if out is not None:
        from .io import open_matrix

        return open_matrix(out)
    import dask.array as da

    return da.from_array(c, chunks=(tuple(np.diff(row_cuts).tolist()),
                                    tuple(np.diff(col_cuts).tolist())))


def _point_rule(name: str, value: Any) -> str:
    """A rule of :data:`~dask_coded.codes.POINTS` (the ``dask-coded.matmul.points`` setting;
    an argument may also be ``P`` points, checked by the code's plan)."""
    return checks.choice(name, value, POINTS)


def _default_tile(r: int) -> int:
    """Tile side keeping a server's encoded pair (``2 * tile * r`` floats) under the budget."""
    return max(16, SERVER_BYTES // (16 * max(r, 1)))


# ---------------------------------------------------------------------------- the product


def matmul(A: Any, B: Any, *, code: Any = "eps-matdot", m: int | None = None,
           n_servers: int | None = None, q: int | None = None, eps: float | None = None,
           deadline: float | None = None, stragglers: Any = None,
           delays: Any = None, client: Any = None, out: str | os.PathLike | None = None,
           tile: int | None = None, points: Any = None, seed: int | None = None,
           overwrite: bool = False, callback: Any = None, check: bool | None = None,
           as_dask: bool = False, progress: bool | str | None = None) -> MatmulResult:
    """Coded product ``C = A B`` on a Dask cluster whose servers straggle.

    Parameters
    ----------
    A, B : numpy arrays, dask arrays, or paths of 2-D Zarr arrays
        ``A`` is n x N and ``B`` N x k, real floating point (computed in float64). Stored
        operands are read by the workers, never by the client.
    code : {"eps-matdot", "matdot", "optimized", "uncoded", "sampled"}, OptimizedCode or path
        The code (see the module docstring). An OptimizedCode or the path of its ``.npz``
        means ``"optimized"`` with that code.
    m : int
        Inner blocks (each server holds 1/m of A's tile rows and B's tile columns). Taken
        from the code for an optimized code.
    n_servers : int, optional
        Servers per tile, ``P``. Default: ``2m + 1`` (matdot), ``m + 2`` (eps-matdot,
        sampled), the code's (optimized), ``m`` (uncoded, which always uses ``m``).
    q : int, optional
        Sampled: results a tile's round waits for, ``1 <= q <= P`` (default ``m``); with a
        ``deadline`` every result in time is used, never fewer than ``q``. The other codes
        wait for their recovery threshold and refuse a ``q``.
    eps : float, optional
        eps-MatDot: the relative error asked for; refused when float64 cannot reach it from
        ``m`` results (:func:`~dask_coded.kernels.matdot.check_epsilon`). Required with
        ``points="paper"`` (eq. 17).
    deadline : float, optional
        eps-MatDot: seconds after which a tile's round stops waiting for more than ``m``
        results. Without it the first ``m`` results are used.
    stragglers : StragglerScenario or mapping, optional
        Stragglers and faults (see ``StragglerScenario.from_config``): model ``delay`` and
        ``slow`` servers, ``throttle``d worker processes (for the whole product) and
        ``kill``ed ones (just before a tile's round; its servers are rebuilt on the
        survivors). Tile ``t`` is round ``t`` of the scenario; a kill past the last tile is
        refused.
    delays : array_like of shape (P,), optional
        Extra seconds each server sleeps before computing, in every tile (added to the
        scenario's).
    client : distributed.Client, optional
        Default: the current client, else an embedded LocalCluster.
    out : path, optional
        Write ``C`` to a new Zarr array there (built aside, renamed into place at the end).
    tile : int, optional
        Largest output tile side. Default: ``dask-coded.matmul.tile`` of dask's
        configuration, unset: a server's encoded blocks stay within ~64 MiB.
    points : {"tuned", "tuned-complex", "paper"} or array_like, optional
        MatDot evaluation points: "tuned" (eps-matdot: real Chebyshev points of a radius
        tuned for float64 round-off, :func:`~dask_coded.kernels.matdot.tuned_design`, the
        paper's model; matdot: Chebyshev points of (-1, 1)), "tuned-complex" (eps-matdot:
        points on a circle, about 2x smaller errors for servers that hold complex blocks,
        2/m of A and B each, and products about 2x slower; see
        :class:`~dask_coded.codes.EpsMatDot`), "paper" (eq. 17, needs ``eps``), or ``P``
        distinct real points. Default: ``dask-coded.matmul.points`` ("tuned").
    seed : int, optional
        Seeds the executor's submission order.
    overwrite : bool
        Replace an existing array at ``out``.
    callback : callable, optional
        ``callback(tiles_done, n_tiles)`` after each tile (fault injection, your own
        progress), after the progress bar's update.
    check : bool, optional
        Freivalds' check of the result (:attr:`MatmulResult.freivalds`). Default (None): run
        it when it is free, i.e. when the servers' own reads give ``A (B X)`` (each reads all
        of its tile's A rows and B columns: the MatDot codes and optimized codes always;
        uncoded and sampled servers only when one read panel spans every inner block); it
        then costs two matrix-vector passes over what each server reads and ``C_hat X`` on
        the client, ``O(n N)`` flops per vector against the product's ``O(n N k)``. True:
        also by a pass of its own over A, B and C (:func:`freivalds`) where the servers
        could not; False: never.
    as_dask : bool
        Return ``C`` as a dask array: lazy over the written Zarr array when ``out`` is
        given (nothing is read until computed), else over the computed tiles in memory
        (one chunk per tile). The default is a numpy array (a ``zarr.Array`` with ``out``).
    progress : {True, False, "auto"}, optional
        A progress bar over the tiles on stderr (``tqdm.auto``: a widget in Jupyter when
        ipywidgets is installed, text in a terminal). "auto": only when stderr is a terminal
        (pass True in Jupyter). Default: ``dask-coded.progress`` ("auto"). An automatic bar
        clears itself when done, one asked for (True) stays.

    Returns
    -------
    MatmulResult

    Raises
    ------
    InputError
        Shapes that do not multiply, bad m / n_servers / eps / deadline / code / points,
        NaN or Inf in A or B (found by the loaders, naming the block).
    """
    t_start = time.perf_counter()
    # ------------------------------------------------------------------ the code
    the_code, opt = resolve_code(code)
    code = the_code.name
    if opt is not None:
        if m is not None and checks.integer("m", m, 1) != opt.m:
            raise InputError(f"m={m} does not match the optimized code's m={opt.m}")
        m = opt.m
    if m is None:
        raise InputError("m (the number of inner blocks) is required")
    m = checks.integer("m", m, 1)
    a_op = _Operand(A, "A")
    b_op = _Operand(B, "B")
    (n, inner), (inner_b, k) = a_op.shape, b_op.shape
    if inner != inner_b:
        raise InputError(f"A is {n} x {inner} and B is {inner_b} x {k}: the inner dimensions "
                         "differ, so A B is not defined")
    if m > inner:
        raise InputError(f"m={m} exceeds the inner dimension N={inner}")
    P = the_code.default_servers(m, opt) if n_servers is None else check_servers(
        "n_servers", checks.integer("n_servers", n_servers, 1))
    P = the_code.check_servers(m, P, opt)
    q = the_code.check_q(q, m, P)
    eps = checks.positive("eps", eps, optional=True)
    deadline = checks.positive("deadline", deadline, optional=True)
    points = _dask_config.resolve(points, "matmul.points", _point_rule)
    plan = the_code.plan(m, P, points=points, eps=eps, optimized=opt, q=q)
    if delays is not None:
        delays = float_array(delays, "delays")
        if delays.shape != (P,) or not np.all(np.isfinite(delays)) or np.any(delays < 0):
            raise InputError(f"delays must be {P} non-negative seconds, got shape "
                             f"{delays.shape}")
    scenario = _scenario(stragglers)
    r = -(-inner // m)  # ceil(N / m): split_inner's block width, the rest zero-padded
    tile = _dask_config.resolve(tile, "matmul.tile",
                                lambda name, v: checks.integer(name, v, 1, optional=True))
    tile = _default_tile(r) if tile is None else checks.integer("tile", tile, 1)
    seed = checks.seed("seed", seed)
    check_client(client)
    if out is not None:
        if not isinstance(out, (str, os.PathLike)) or not str(out):
            raise InputError(f"out must be a path, got {out!r}")
        if Path(out).exists() and not overwrite:
            raise InputError(f"{out} already exists (use overwrite to replace it)")
    row_cuts = [*range(0, n, tile), n]
    col_cuts = [*range(0, k, tile), k]
    tiles = [(row_cuts[i], row_cuts[i + 1], col_cuts[j], col_cuts[j + 1])
             for i in range(len(row_cuts) - 1) for j in range(len(col_cuts) - 1)]

    if check is not None and not isinstance(check, (bool, np.bool_)):
        raise InputError(f"check must be True, False or None, got {check!r}")
    if not isinstance(as_dask, (bool, np.bool_)):
        raise InputError(f"as_dask must be True or False, got {as_dask!r}")
    progress = _progress.check("progress", progress)
    result = MatmulResult(C=None, code=code, m=m, n_servers=P,
                          recovery_threshold=plan.threshold, points=plan.points,
                          expected_error=plan.expected_error)
    with client_context(client) as cl, contextlib.ExitStack() as cleanup:
        from .executor import CodedExecutor

        bar = _progress.bar(progress, len(tiles), f"matmul {code}", "tile")
        if bar is not None:
            cleanup.callback(bar.close)
            callback = _TileProgress(bar, callback)
        # one executor per tile: place() reuses its keys, and a key cancelled by the previous
        # tile's release could cancel the next tile's data of the same name
        seeds = np.random.SeedSequence(seed).spawn(len(tiles) + 1)  # the last: probes
        executors = [CodedExecutor(cl, name=f"matmul-{code}", seed=s) for s in seeds[:-1]]
        probes = None if check is False else _Probes(fv.probes(k, seed=seeds[-1]), n)
        # a code whose encoding depends on A and B (sampled) asks for its pass here
        plan = plan.fit(lambda: (_inner_norms(a_op, m, 1, executors[0]),
                                 _inner_norms(b_op, m, 0, executors[0])))
        if out is not None:
            from .io import atomic_matrix, open_written_matrix

            chunks = (min(n, tile), min(k, tile))
            with atomic_matrix(out, (n, k), "float64", chunks=chunks,
                               overwrite=overwrite) as target:
                _run_tiles(executors, result, tiles, a_op, b_op, inner, plan, deadline,
                           scenario, delays, target, callback=callback, probes=probes)
            result.C = open_written_matrix(out)
        else:
            c = np.empty((n, k), dtype=np.float64)
            _run_tiles(executors, result, tiles, a_op, b_op, inner, plan, deadline,
                       scenario, delays, c, callback=callback, probes=probes)
            result.C = c
        if probes is not None:
            if probes.complete:
                result.freivalds = fv.relative_residual(probes.cx, probes.abx)
            elif check:  # the servers could not: a pass of its own over A, B and C
                result.freivalds = _freivalds(a_op, b_op, _Operand(
                    out if out is not None else result.C, "C"), probes.x, executors[0])
        if as_dask:
            result.C = _as_dask(result.C, out, row_cuts, col_cuts)
    result.tiles = tiles
    result.error_estimate = float(max(result.tile_errors)) if result.tile_errors else 0.0
    result.seconds = time.perf_counter() - t_start
    return result


class _TileProgress:
    """matmul's ``callback(tiles_done, n_tiles)`` that advances a progress bar, then calls
    the user's."""

    def __init__(self, bar: Any, callback: Any = None):
        self.bar = bar
        self.callback = callback

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)
        if self.callback is not None:
            self.callback(done, total)


def _run_tiles(executors: list, result: MatmulResult, tiles: list, a_op: _Operand,
               b_op: _Operand, inner: int, plan: CodePlan, deadline, scenario, delays,
               target, *, callback=None, probes: _Probes | None = None) -> None:
    """One coded job per tile (:func:`_tile_rounds`), under the scenario's real faults.

    Tile ``t`` is round ``t`` of the scenario: its ``throttle`` workers are slowed for the
    whole product (stopped at the end, also on error), and its ``kill`` entries SIGKILL
    workers just before tile ``t``'s round, after its servers are placed, so that their data
    must be rebuilt elsewhere from the loaders.
    """
    cl = executors[0].client
    late = [r for r, _ in (scenario.kills if scenario is not None else ()) if r >= len(tiles)]
    if late:
        raise InputError(f"kill at round {late[0]}, but the product has {len(tiles)} tile(s), "
                         f"rounds 0 to {len(tiles) - 1} (tile t is round t)")
    with throttled(cl, scenario):
        _tile_rounds(executors, result, tiles, a_op, b_op, inner, plan, deadline, scenario,
                     delays, target, callback=callback, probes=probes)


def _tile_rounds(executors: list, result: MatmulResult, tiles: list, a_op: _Operand,
                 b_op: _Operand, inner: int, plan: CodePlan, deadline, scenario, delays,
                 target, *, callback=None, probes: _Probes | None = None) -> None:
    """One coded job per tile: place the encoded blocks, run one round, decode, store
    (and add the tile to the Freivalds check: ``C_hat X`` here, ``A (B X)`` from the
    servers)."""
    P = plan.n_servers
    cl = executors[0].client
    for t, (r0, r1, c0, c1) in enumerate(tiles):
        for attempt in range(MAX_RECOVERIES + 1):
            executor = executors[t]
            try:
                a_src, a_rows, _ = a_op.tile_source(executor, (r0, r1), (0, inner))
                b_src, _, b_cols = b_op.tile_source(executor, (0, inner), (c0, c1))
                label = f"{r0}:{r1}|{c0}:{c1}"
                # not waited for: a server's round task runs as soon as its own data is
                # built, so loading overlaps computing, and a worker that never builds its
                # servers' data (frozen) holds up only those servers, which the code's
                # threshold does without
                # the executor puts server j on worker j mod W (round robin): a worker with
                # another server of this tile after j keeps its store reads for it
                n_w = max(1, len(executor.workers()))
                token = f"{uuid.uuid4().hex}-{t}"
                executor.place([(_load_server, (a_src, b_src, a_rows, b_cols, inner,
                                                plan.alpha[j], plan.beta[j], label,
                                                (token, j + n_w < P),
                                                None if probes is None else probes.x[c0:c1]))
                                for j in range(P)], wait=False)
                # victims seeded by (scenario seed, tile): a redone tile kills no more
                killed, extras = round_faults(cl, scenario, t, P, kills=attempt == 0)
                result.killed_workers += killed
                if delays is not None:
                    extras["delays"] = delays + extras.get("delays", 0.0)
                rr = executor.run_round(_server_product, None, max_wait=ROUND_MAX_WAIT,
                                        **extras, **plan.wait_policy(deadline))
                executor.release()
                c_hat, err_abs = plan.decode([v[0] for v in rr.values], rr.servers,
                                             [float(v[1]) for v in rr.values])
                target[r0:r1, c0:c1] = c_hat
                if probes is not None:
                    probes.add(r0, r1, c0, c1, c_hat, [v[2] for v in rr.values])
                result.servers_used.append(rr.servers)
                result.arrival_times.append(rr.arrival)
                result.tile_errors.append(relative(err_abs, c_hat))
                result.round_seconds.append(float(rr.seconds))
                result.timed_out.append(bool(rr.timed_out))
            except SchedulerLost:
                # the tile's data went with the scheduler: once it is back, redo the tile
                if attempt == MAX_RECOVERIES:
                    raise
                executor.reconnect(RECONNECT_TIMEOUT)
                continue
            finally:
                executor.release()
            break
        if callback is not None:
            callback(t + 1, len(tiles))
