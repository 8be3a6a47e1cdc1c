"""``dask-coded benchmark peers``: dask_coded's least-squares solvers against what a user
would pick instead, on the same stores and the same cluster, in one run.

Rows: one read pass (``A.sum()``, the floor of any exact solve), the normal equations
through dask, ``dask.array.linalg.lstsq`` (TSQR), dask-ml's ``LinearRegression`` (newton and
lbfgs, when dask-ml imports), and ``dask_coded.lstsq`` with ``direct``, ``sd``,
``block-leverage`` and ``uniform``. Every row is the median of ``repeats`` measurements, the
methods interleaved: repeat 1 runs every method once, then repeat 2, and so on, so that a
drift of the shared machine's load touches every method alike.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..kernels import checks
from .common import blas_threads, check_names, fmt, median_or_none, peak_rss_mib
from .solve import MIN_DEADLINE, first_time_at_or_below

#: Rows, in the order each repeat runs them. Peers first, then dask_coded's methods.
PEERS = ("read", "normal-eq", "dask-lstsq", "dask-ml-newton", "dask-ml-lbfgs")
CODED = ("direct", "sd", "block-leverage", "uniform")
METHODS = PEERS + CODED
ITERATIVE = ("sd", "block-leverage", "uniform")
_REPLICATED = ("block-leverage", "uniform")  # take q, the deadline and on_short="proceed"
#: Rows whose answer is exact up to rounding (the test bounds their error).
EXACT = ("normal-eq", "dask-lstsq", "dask-ml-newton", "direct")

LABELS = {"read": "read pass", "normal-eq": "normal eq", "dask-lstsq": "dask lstsq",
          "dask-ml-newton": "dask-ml newton", "dask-ml-lbfgs": "dask-ml lbfgs",
          "direct": "dc direct", "sd": "dc sd", "block-leverage": "dc block-lev",
          "uniform": "dc uniform"}

#: Straggler settings: name -> description.
SCENARIOS = {
    "none": "no stragglers",
    "model": "model stragglers, dask_coded only: a quarter of the servers 10x slow "
             "(stragglers={'slow': {'fraction': 0.25, 'factor': 10}, 'seed': 0}); the peers "
             "have no such model and are not run, except the read pass, the baseline",
    "frozen": "a real straggler for every method: one worker process SIGSTOPped 0.9 s of "
              "every 1 s (throttle(factor=10, period=1.0)) for the whole measured call, "
              "started just before the clock starts (its start-up not timed)",
}
MODEL_STRAGGLERS = {"slow": {"fraction": 0.25, "factor": 10}, "seed": 0}
FROZEN_FACTOR = 10.0
FROZEN_PERIOD = 1.0

STORES = ("well", "ill", "wide")
#: The stores run when none are named (the wide one is 1.6 GB and asked for by name).
DEFAULT_STORES = ("well", "ill")
TARGET = 1e-6  # the error the iterative rows are timed to
#: A peer whose error without stragglers stays above this is not rerun with a frozen worker:
#: it has nothing to show there but a slower failure (dask-ml's lbfgs at condition 1e6
#: stops at its 100 iterations with error ~0.9, after ~1 minute without stragglers and ~4
#: with a worker frozen, each of its ~100 passes waiting on the frozen worker).
NOT_CONVERGED = 1e-3

_COLUMNS = (("store", 5, "<"), ("scenario", 8, "<"), ("method", 14, "<"), ("wall s", 8, ">"),
            ("x read", 7, ">"), ("x dask", 7, ">"), ("rel err", 8, ">"),
            ("peak MiB", 8, ">"), ("load", 5, ">"), ("t 1e-6 s", 8, ">"), ("note", 0, "<"))


def _header(target: float) -> str:
    return _line([f"t {target:.0e}" if c == "t 1e-6 s" else c for c, _, _ in _COLUMNS])


def _line(cells: list[str]) -> str:
    return " ".join(format(c, f"{align}{w}") if w else c
                    for c, (_, w, align) in zip(cells, _COLUMNS)).rstrip()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _store_path(data_dir: Path, n_rows: int, n_cols: int, chunk_rows: int,
                condition: float | None, seed: int, noise: float = 0.0) -> Path:
    cond = f"-cond{condition:g}" if condition else ""
    tail = f"-s{seed}" if seed else ""
    return data_dir / f"gaussian-{n_rows}x{n_cols}-c{chunk_rows}{cond}-noise{noise:g}{tail}.zarr"


def _ensure_store(path: Path, n_rows: int, n_cols: int, chunk_rows: int,
                  condition: float | None, seed: int, echo: Callable[[str], None],
                  noise: float = 0.0) -> None:
    """Generate the store when absent; check an existing one."""
    from ..datasets import make_dataset
    from ..io import read_attrs

    if path.exists():
        gen = (read_attrs(path).get("dask_coded") or {}).get("generator") or {}
        want = {"kind": "gaussian", "n_rows": n_rows, "n_cols": n_cols,
                "chunk_rows": chunk_rows, "noise": noise, "condition": condition, "seed": seed}
        bad = [k for k, v in want.items() if gen.get(k) != v and not (
            isinstance(v, float) and isinstance(gen.get(k), (int, float))
            and math.isclose(gen[k], v))]
        if bad:
            raise InputError(f"{path} exists but was not generated with "
                             f"{', '.join(f'{k}={want[k]}' for k in bad)}; remove it")
        return
    echo(f"generating {path} ({n_rows} x {n_cols} float64, noise {noise:g}"
         + (f", condition {condition:g}" if condition else "")
         + f", {n_rows * n_cols * 8 / 2**30:.2f} GiB)")
    t0 = time.perf_counter()
    make_dataset(path, kind="gaussian", n_rows=n_rows, n_cols=n_cols, chunk_rows=chunk_rows,
                 condition=condition, noise=noise, seed=seed)
    echo(f"  generated in {time.perf_counter() - t0:.1f} s")


def _versions() -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("dask-coded", "dask", "distributed", "numpy", "zarr", "dask-ml",
                 "dask-glm", "scikit-learn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _dask_ml_probe() -> tuple[object | None, str | None]:
    """dask-ml's LinearRegression, or None and the one-line reason it is unusable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from dask_ml.linear_model import LinearRegression
    except ImportError as exc:
        if getattr(exc, "name", None) == "dask_ml":
            return None, ("dask-ml is not installed (pip install 'dask-coded[peers]'): "
                          "its rows are skipped")
        return None, f"dask-ml does not import here ({_one_line(exc)}): its rows are skipped"
    except Exception as exc:  # a broken install or an incompatible dask / scikit-learn
        return None, f"dask-ml does not import here ({_one_line(exc)}): its rows are skipped"
    return LinearRegression, None


def _rss_reset() -> float | None:
    """Run on a worker: collect garbage and reset the kernel's peak RSS (VmHWM) to the
    current RSS (Linux ``/proc/self/clear_refs``); the current RSS in MiB, or None where
    that is not possible (then workers are restarted before each measurement instead)."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _proc_status_mib("VmRSS")
    except OSError:
        return None


def _rss_peak() -> float:
    """Run on a worker: its peak RSS in MiB since the last :func:`_rss_reset`."""
    peak = _proc_status_mib("VmHWM")
    return peak_rss_mib() if peak is None else peak


def _proc_status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def _measure_call(client, fn: Callable[[], object], frozen: bool, restart: bool) -> dict:
    """One measurement: the wall time of ``fn`` and the largest worker peak RSS.

    Like :func:`dask_coded.experiments.solve._measure`, but the peak is made this call's own by
    resetting each worker's kernel peak (VmHWM) instead of restarting the workers, unless
    ``restart`` (restarting 4 workers takes 6-10 s on 2 busy cores, more than many of the
    calls measured). With ``frozen``, one worker is throttled from just before the clock
    starts (its start-up not timed) until the clock stops.
    """
    from ..stragglers import throttle

    if restart:
        client.restart()
        base = client.run(_rss_reset)
    else:
        base = client.run(_rss_reset)
        if any(v is None for v in base.values()):
            client.restart()  # no clear_refs here: a fresh process for a clean peak
            base = client.run(_rss_reset)
    handle = None
    if frozen:
        worker = sorted(client.scheduler_info(n_workers=-1)["workers"])[0]
        handle = throttle(client, [worker], FROZEN_FACTOR, period=FROZEN_PERIOD)
    try:
        t0 = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - t0
        load = os.getloadavg()[0]
    finally:
        if handle is not None:
            handle.stop()
    peaks = client.run(_rss_peak)
    before = [v for v in base.values() if v is not None]
    return {"out": out, "seconds": elapsed, "peak_mib": max(peaks.values()), "load": load,
            "rss_before_mib": max(before) if before else None}


def run_peers_benchmark(*, n_rows: int = 1_000_000, n_cols: int = 100,
                        chunk_rows: int = 100_000, ill_rows: int = 500_000,
                        condition: float = 1e6, wide_rows: int = 100_000,
                        wide_cols: int = 2000, wide_chunk_rows: int = 2500,
                        n_workers: int = 4, repeats: int = 2,
                        time_budget: float = 10.0,
                        methods: list[str] | tuple[str, ...] | None = None,
                        scenarios: list[str] | tuple[str, ...] | None = None,
                        stores: list[str] | tuple[str, ...] | None = None,
                        data_dir: str | os.PathLike = "bench-data", seed: int = 0,
                        restart_workers: bool = False, json_path: str | os.PathLike | None = None,
                        noise: float = 0.0, target: float = TARGET,
                        echo: Callable[[str], None] = print) -> dict:
    """Time dask_coded's solvers against the peers on two stores.

    Stores (generated in ``data_dir`` when absent): ``well``, gaussian ``n_rows x n_cols``,
    and ``ill``, gaussian ``ill_rows x n_cols`` of condition number ``condition``, both in
    chunks of ``chunk_rows`` rows; ``wide``, gaussian ``wide_rows x wide_cols`` (1e5 x 2000,
    1.6 GB: the Gram costs ~50 gradient passes there, and the iterative methods are set up
    Gram-free, ``leverage="auto"``) in chunks of ``wide_chunk_rows``. One column chunk
    each, ``b = A x0 + noise * N(0, 1)``. With noise 0 the store's ``x0`` is the exact
    least-squares solution x*; with noise, x* is computed once per store, untimed, by a
    Householder TSQR pass of dask_coded (``algorithm="qr"``, backward stable; on the wide
    store, whose condition number is ~1.3, by its normal equations, accurate to rounding
    there and 10x cheaper). Every row reports ``||x - x*|| / ||x*||``.

    Cluster: one embedded LocalCluster of ``n_workers`` nanny processes x 1 thread (BLAS
    single threaded) for the whole run. Before every measurement each worker's kernel peak
    RSS (VmHWM) is reset to its current RSS, or, with ``restart_workers``, the workers are
    restarted (6-10 s for 4 workers on 2 busy cores, each time), so a row's peak worker RSS
    is its own call's.

    Scenarios (:data:`SCENARIOS`): ``none``; ``model`` (dask_coded's seeded model stragglers;
    the peers have none, so only the read pass runs, as the baseline); ``frozen`` (a real
    straggler, the same for every method: one worker process frozen and thawed in a 90/10
    duty cycle during the whole measured call). A peer whose error without stragglers stayed
    above :data:`NOT_CONVERGED` on a store is not rerun there with a worker frozen.

    dask_coded's iterative methods (sd, block-leverage, uniform) run with ``reference=x0``,
    ``tol=target / 10``, the optimal step and ``time_budget`` seconds per call (setup excluded);
    their ``t <target>`` is the time from the call's start (setup included) until the error
    was first at or below ``target`` (default 1e-6). block-leverage and uniform use K = one
    block per row chunk, m = 2 K servers, q = ceil(0.75 m), ``on_short="proceed"`` and a
    deadline of twice the no-straggler sd round times q / K (at least
    :data:`~dask_coded.experiments.solve.MIN_DEADLINE`), calibrated per store by a short
    uncounted sd solve, as ``benchmark solve`` does.

    Returns
    -------
    dict
        ``rows`` (one per store, scenario and method; ``skipped`` or ``failed`` where it did
        not run), ``environment``, ``notes``, ``stores``, ``seconds``.
    """
    n_rows = checks.integer("rows", n_rows, 1)
    n_cols = checks.integer("cols", n_cols, 1)
    chunk_rows = checks.integer("chunk_rows", chunk_rows, 1)
    ill_rows = checks.integer("ill_rows", ill_rows, 1)
    wide_rows = checks.integer("wide_rows", wide_rows, 1)
    wide_cols = checks.integer("wide_cols", wide_cols, 1)
    wide_chunk_rows = checks.integer("wide_chunk_rows", wide_chunk_rows, 1)
    n_workers = checks.integer("workers", n_workers, 1)
    checks.real("noise", noise, low=0)
    checks.positive("target", target)
    repeats = checks.integer("repeats", repeats, 2)  # a median of one is no median
    seed = checks.integer("seed", seed, 0)
    checks.real("condition", condition, low=1, high=1e15, strict_high=True)
    checks.positive("time_budget", time_budget)
    for name, n, d in (("rows", n_rows, n_cols), ("ill_rows", ill_rows, n_cols),
                       ("wide_rows", wide_rows, wide_cols)):
        if n < d:
            raise InputError(f"{name}={n} is fewer than its columns ({d}): A must be tall")
    methods = check_names("method", list(methods or METHODS), METHODS)
    methods.sort(key=METHODS.index)
    scenarios = check_names("scenario", list(scenarios or SCENARIOS), tuple(SCENARIOS))
    scenarios.sort(key=list(SCENARIOS).index)
    stores = check_names("store", list(stores or DEFAULT_STORES), STORES)
    stores.sort(key=STORES.index)
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise InputError(f"data dir {data_dir} is not a folder")
    if json_path is not None:
        json_path = Path(json_path)
        if json_path.is_dir():
            raise InputError(f"--json {json_path} is a folder; give a file path")
        parent = json_path.parent if str(json_path.parent) else Path(".")
        if not parent.is_dir():
            raise InputError(f"--json: folder {parent} does not exist")

    import dask
    import dask.array as da

    from ..cluster import connect
    from ..io import open_dataset, read_array
    from ..leverage import compute_block_leverage
    from ..linear_model import lstsq
    from ..solvers import METHODS as LIBRARY_METHODS

    notes: list[str] = []
    unavailable: dict[str, str] = {}  # method -> why its rows are skipped
    linreg = None
    if any(m.startswith("dask-ml") for m in methods):
        linreg, why = _dask_ml_probe()
        if why:
            notes.append(why)
            for m in methods:
                if m.startswith("dask-ml"):
                    unavailable[m] = "dask-ml unavailable"
    if "direct" in methods and "direct" not in LIBRARY_METHODS:
        why = "this dask_coded has no lstsq(method='direct') yet: its rows are skipped"
        notes.append(why)
        unavailable["direct"] = "no method 'direct'"

    started = time.perf_counter()
    # store -> (rows, columns, chunk rows, condition)
    specs = {"well": (n_rows, n_cols, chunk_rows, None),
             "ill": (ill_rows, n_cols, chunk_rows, float(condition)),
             "wide": (wide_rows, wide_cols, wide_chunk_rows, None)}
    paths = {s: _store_path(data_dir, *specs[s], seed, noise) for s in stores}
    from ..datasets import make_spec

    for s in stores:  # the generator's own checks (chunk size), before anything is written
        rows_s, cols_s, chunk_s, cond_s = specs[s]
        make_spec(kind="gaussian", n_rows=rows_s, n_cols=cols_s, chunk_rows=chunk_s,
                  condition=cond_s, noise=noise, seed=seed)
    for s in stores:  # refuse a mismatched store before generating anything
        if paths[s].exists():
            _ensure_store(paths[s], *specs[s], seed, echo, noise)
    data_dir.mkdir(parents=True, exist_ok=True)
    for s in stores:
        _ensure_store(paths[s], *specs[s], seed, echo, noise)

    rows: list[dict] = []
    ml_warnings: list[str] = []
    env: dict = {}
    # Restarts before every measurement: see the lost-worker-timeout note in
    # run_solve_benchmark (dask/distributed#7312).
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "24h"}), \
            connect(n_workers=n_workers, threads_per_worker=1) as client:
        blas = sorted(set(client.run(blas_threads).values()))
        env = {"workers": n_workers, "threads_per_worker": 1,
               "restart_workers": bool(restart_workers),
               "openblas_threads": ",".join(blas), "cpus": os.cpu_count(),
               "versions": _versions()}
        echo(f"benchmark peers: {n_workers} worker processes x 1 thread (nanny workers; "
             f"OPENBLAS/OMP/MKL_NUM_THREADS={','.join(blas)} on the workers), "
             f"{os.cpu_count()} CPUs; medians of {repeats} interleaved repeats; "
             + ("workers restarted before every measurement" if restart_workers else
                "workers' peak RSS reset (VmHWM) before every measurement, not restarted"))
        echo("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()
                                       if v is not None))
        for note in notes:
            echo(f"note: {note}")

        for store in stores:
            path = paths[store]
            a, b = open_dataset(path)
            x0 = read_array(path, "x0")
            how = "normal equations" if store == "wide" else "Householder TSQR"
            if noise:
                t_ref = time.perf_counter()
                x0 = compute_block_leverage(str(path), a.numblocks[0], solve=True,
                                            algorithm="auto" if store == "wide" else "qr",
                                            client=client).solution
                echo(f"reference x* of {store}: {how} pass, "
                     f"{time.perf_counter() - t_ref:.1f} s (not timed in the rows)")
            x0_norm = float(np.linalg.norm(x0)) or 1.0
            k_blocks = a.numblocks[0]
            m_servers = 2 * k_blocks
            q = math.ceil(0.75 * m_servers)
            echo("")
            echo(f"store {store}: {path}: N = {a.shape[0]}, d = {a.shape[1]}, "
                 f"{k_blocks} row chunks of {a.chunks[0][0]}, "
                 + (f"condition {specs[store][3]:g}" if specs[store][3] else
                    "gaussian (well conditioned)")
                 + (f", noise {noise:g} (x* by {how})" if noise else
                    ", noise 0 (x0 is the exact solution)"))
            a.sum().compute()  # warm the page cache for every contender alike
            deadline = None
            if any(m in _REPLICATED for m in methods):
                cal = lstsq(str(path), method="sd", n_blocks=k_blocks, n_servers=m_servers,
                            client=client, max_iter=5, step="optimal", seed=seed)
                r_sd = statistics.median(cal.history["round_seconds"])
                deadline = max(2.0 * r_sd * q / k_blocks, MIN_DEADLINE)
                echo(f"K = {k_blocks}, m = {m_servers}, q = {q} (block-leverage, uniform); "
                     f"deadline {deadline:.3f} s = max(2 x sd round {r_sd:.3f} s x q / K, "
                     f"{MIN_DEADLINE:g}), on_short='proceed'; iterative methods: time "
                     f"budget {time_budget:g} s per call (setup excluded), tol {target / 10:.0e}")

            def rel_err(x, x0=x0, x0_norm=x0_norm) -> float:
                return float(np.linalg.norm(np.asarray(x, dtype=np.float64) - x0) / x0_norm)

            def call(method: str, scen: str, a=a, b=b, path=path, k_blocks=k_blocks,
                     m_servers=m_servers, q=q, deadline=deadline, x0=x0):
                """The measured call: returns (x, extra facts for the row)."""
                if method == "read":
                    a.sum().compute()
                    return None, {}
                if method == "normal-eq":
                    gram, atb = dask.compute(a.T @ a, a.T @ b)
                    return np.linalg.solve(gram, atb), {}
                if method == "dask-lstsq":
                    x = da.linalg.lstsq(a, b)[0].compute()
                    return x, {}
                if method.startswith("dask-ml"):
                    solver = method.rsplit("-", 1)[1]
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        # Its solvers compute over X once per iteration (lbfgs: per
                        # function evaluation): persisted first, as dask advises for data
                        # used repeatedly (dask_coded's coded methods hold theirs too).
                        ap, bp = dask.persist(a, b)
                        model = linreg(solver=solver, fit_intercept=False).fit(ap, bp)
                        del ap, bp
                    for w in caught:
                        msg = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
                        if msg not in ml_warnings:
                            ml_warnings.append(msg)
                    return np.asarray(model.coef_).ravel(), {}
                kwargs = {"method": method, "client": client, "n_blocks": k_blocks,
                          "seed": seed}
                if method in ITERATIVE:
                    kwargs.update(reference=x0, time_budget=time_budget, tol=target / 10,
                                  max_iter=10**6, step="optimal", n_servers=m_servers)
                    if method in _REPLICATED:
                        kwargs.update(q=q, deadline=deadline, on_short="proceed")
                if scen == "model":
                    kwargs["stragglers"] = MODEL_STRAGGLERS
                res = lstsq(str(path), **kwargs)
                extra = {"setup_seconds": float(res.setup_seconds),
                         "solve_seconds": float(res.solve_seconds)}
                if method in ITERATIVE:
                    t = first_time_at_or_below(res.history, target)
                    extra.update(
                        t_target=None if t is None else float(res.setup_seconds + t),
                        iterations=int(res.n_iter), stop=res.stop_reason,
                        history_error=float(res.history["error"][-1])
                        if res.history["error"] else None)
                return res.x, extra

            for scen in scenarios:
                echo("")
                echo(f"store {store}, scenario {scen}: {SCENARIOS[scen]}")
                runs: dict[str, list[dict]] = {m: [] for m in methods}
                fails: dict[str, list[str]] = {m: [] for m in methods}
                skip: dict[str, str] = dict(unavailable)
                if scen == "model":
                    for m in PEERS:
                        if m != "read":
                            skip.setdefault(m, "no model stragglers for peers")
                if scen == "frozen":
                    for m in PEERS:
                        prev = next((r for r in rows if r["store"] == store and r["method"] == m
                                     and r["scenario"] == "none" and "wall_seconds" in r),
                                    None)
                        if prev is not None and prev["error"] is not None \
                                and prev["error"] > NOT_CONVERGED:
                            skip.setdefault(m, (
                                f"did not converge without stragglers (error "
                                f"{prev['error']:.1e} after {prev['wall_seconds']:.0f} s): "
                                f"not rerun with a worker frozen"))
                for rep in range(repeats):
                    for method in methods:
                        if method in skip:
                            continue
                        try:
                            r = _measure_call(client, lambda m=method, s=scen: call(m, s),
                                              scen == "frozen", restart_workers)
                        except Exception as exc:  # a peer or method failing here: say so
                            msg = _one_line(exc)
                            if method == "direct" and "unknown method" in msg:
                                skip[method] = "no method 'direct'"
                                continue
                            fails[method].append(msg)
                            echo(f"  repeat {rep + 1}: {method} failed: {msg}")
                            if method.startswith("dask-ml"):
                                skip[method] = f"failed: {msg}"  # no retry: it is the version
                            continue
                        x, extra = r.pop("out")
                        r.update(extra)
                        r["error"] = None if x is None else rel_err(x)
                        runs[method].append(r)
                        echo(f"  [{time.perf_counter() - started:5.0f} s] repeat "
                             f"{rep + 1}/{repeats} {method}: {r['seconds']:.2f} s"
                             + ("" if r["error"] is None else f", error {r['error']:.1e}"))
                rows.extend(_scenario_rows(store, scen, methods, runs, fails, skip, rows,
                                           repeats, echo, target))

    seconds = time.perf_counter() - started
    echo("")
    echo(f"{'summary':=^72}")
    echo(_header(target))
    for row in rows:
        echo(_line(_cells(row)))
    echo("")
    echo("wall s: median over repeats of the whole call (dask_coded: setup pass + placement + "
         "solve); x read / x dask: that median over the read pass's / dask lstsq's of the "
         f"same store and scenario ('*': scenario none's, as the peers have no model); rel "
         f"err: ||x - x*|| / ||x*|| (median); peak MiB: largest worker max RSS; load: 1-min "
         f"load average at the end of the measurement (median); t {target:.0e} s: seconds from "
         f"the call's start until the error was first <= {target:.0e} ('-': not within the "
         f"{time_budget:g} s budget)")
    per_repeat = [r for r in rows if r["method"] == "direct" and r.get("per_repeat_x_read")]
    for r in per_repeat:
        echo(f"direct / read pass per repeat, {r['store']} {r['scenario']}: "
             + ", ".join(f"{v:.2f}" for v in r["per_repeat_x_read"]))
    if ml_warnings:
        notes.extend(f"dask-ml warned: {w}" for w in ml_warnings)
        for w in ml_warnings:
            echo(f"note: dask-ml warned: {w}")
    if any(m.startswith("dask-ml") for m in methods) and linreg is not None:
        echo("note: dask-ml LinearRegression(fit_intercept=False) with its defaults "
             "(tol=1e-4, max_iter=100), fit on A, b persisted on the workers first (timed)")
    echo(f"environment: {n_workers} workers x 1 thread, OPENBLAS_NUM_THREADS="
         f"{env.get('openblas_threads')} on the workers, {os.cpu_count()} CPUs, load average "
         f"now {os.getloadavg()[0]:.2f}; client peak RSS {peak_rss_mib():.0f} MiB; "
         f"total {seconds:.0f} s")
    report = {"rows": rows, "environment": env, "notes": notes,
              "stores": {s: str(paths[s]) for s in stores}, "repeats": repeats,
              "time_budget": time_budget, "seconds": seconds}
    if json_path is not None:
        from .._atomic import write_text

        write_text(json_path, json.dumps(report, indent=1, allow_nan=False))
        echo(f"wrote {json_path}")
    return report


def _scenario_rows(store: str, scen: str, methods: list[str], runs: dict, fails: dict,
                   skip: dict, previous: list[dict], repeats: int,
                   echo: Callable[[str], None], target: float = TARGET) -> list[dict]:
    """Aggregate one (store, scenario)'s measurements into rows, print them, return them."""
    def med(method: str, key: str):
        vals = [r[key] for r in runs.get(method, []) if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    read_t = med("read", "seconds")
    dask_t, dask_star = med("dask-lstsq", "seconds"), False
    if dask_t is None and scen == "model":
        base = next((r for r in previous if r["store"] == store and r["scenario"] == "none"
                     and r["method"] == "dask-lstsq" and r.get("wall_seconds")), None)
        if base is not None:
            dask_t, dask_star = base["wall_seconds"], True
    reads = [r["seconds"] for r in runs.get("read", [])]
    out = []
    echo(_header(target))
    for method in methods:
        row: dict = {"store": store, "scenario": scen, "method": method}
        done = runs.get(method, [])
        if not done:
            row["skipped" if method in skip else "failed"] = (
                skip.get(method) or (fails[method][0] if fails.get(method) else "not run"))
            out.append(row)
            echo(_line(_cells(row)))
            continue
        wall = med(method, "seconds")
        row.update(
            wall_seconds=wall, repeats=len(done),
            per_repeat_seconds=[r["seconds"] for r in done],
            x_read=wall / read_t if read_t else None,
            x_dask=wall / dask_t if dask_t else None, x_dask_from_none=dask_star,
            error=med(method, "error"), peak_mib=max(r["peak_mib"] for r in done),
            rss_before_mib=med(method, "rss_before_mib"),
            load=med(method, "load"), per_repeat_load=[r["load"] for r in done])
        if fails.get(method):
            row["failures"] = fails[method]
        if len(reads) == len(done):
            row["per_repeat_x_read"] = [r["seconds"] / t for r, t in zip(done, reads)]
        if method in CODED:
            row["setup_seconds"] = med(method, "setup_seconds")
            row["solve_seconds"] = med(method, "solve_seconds")
        if method in ITERATIVE:
            row["t_target"] = median_or_none([r.get("t_target") for r in done])
            row["iterations"] = statistics.median(r["iterations"] for r in done)
            row["stop"] = "/".join(sorted({r["stop"] for r in done}))
        out.append(row)
        echo(_line(_cells(row)))
    return out


def _cells(row: dict) -> list[str]:
    label = LABELS[row["method"]]
    head = [row["store"], row["scenario"], label]
    if "wall_seconds" not in row:
        why = row.get("skipped") or row.get("failed") or ""
        word = "skipped" if "skipped" in row else "failed"
        return [*head, "-", "-", "-", "-", "-", "-", "-", f"{word}: {why}"]
    x_dask = fmt(row["x_dask"], ".2f")
    if row.get("x_dask_from_none") and row["x_dask"] is not None:
        x_dask += "*"
    note = []
    if row.get("stop"):
        note.append(f"stop {row['stop']}, {row['iterations']:g} it")
    if row.get("failures"):
        note.append(f"{len(row['failures'])} failed: {row['failures'][0]}")
    return [*head, f"{row['wall_seconds']:.2f}", fmt(row["x_read"], ".2f"), x_dask,
            fmt(row["error"], ".1e"), f"{row['peak_mib']:.0f}", f"{row['load']:.2f}",
            fmt(row.get("t_target"), ".2f") if row["method"] in ITERATIVE else "-",
            "; ".join(note)]
