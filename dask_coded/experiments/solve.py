"""Benchmark commands: each prints a table of wall times, ratios to a baseline measured in
the same run on the same cluster, and peak memory. Timings are medians over repeats."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .common import blas_threads, check_names, fmt, median_or_none, peak_rss_mib


def _measure(client, fn: Callable[[], object]) -> tuple[float, float]:
    """Wall time of ``fn`` and the largest worker peak RSS, on freshly restarted workers."""
    client.restart()
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    peaks = client.run(peak_rss_mib)
    return elapsed, max(peaks.values())


def run_leverage_benchmark(*, n_rows: int, n_cols: int, chunk_rows: int, n_blocks: int,
                           kind: str, condition: float | None, n_workers: int, repeats: int,
                           path: str | None, echo: Callable[[str], None] = print) -> dict:
    """Time the exact block-leverage pass against a plain read pass (``A.sum()``).

    Both run on the same embedded LocalCluster (``n_workers`` processes, one thread each, so
    BLAS is single threaded per worker) over the same store, after one warm-up read so that
    both see the same page cache. Workers are restarted before every measurement so their
    peak RSS belongs to that measurement alone.
    """
    from ..cluster import connect
    from ..datasets import make_dataset
    from ..io import open_dataset
    from ..leverage import compute_block_leverage

    store = Path(path) if path else Path("bench-data") / (
        f"{kind}-{n_rows}x{n_cols}-c{chunk_rows}" + (f"-cond{condition:g}" if condition else "")
        + ".zarr")
    if not store.exists():
        echo(f"generating {store} ({n_rows} x {n_cols} float64, "
             f"{n_rows * n_cols * 8 / 2**30:.2f} GiB)")
        t0 = time.perf_counter()
        make_dataset(store, kind=kind, n_rows=n_rows, n_cols=n_cols, chunk_rows=chunk_rows,
                     condition=condition, seed=0)
        echo(f"  generated in {time.perf_counter() - t0:.1f} s")
    a, _ = open_dataset(store)
    rows = []
    import dask

    # restarts between measurements: see the lost-worker-timeout note in run_solve_benchmark
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "24h"}), \
            connect(n_workers=n_workers, threads_per_worker=1) as client:
        a.sum().compute()  # warm the page cache for both contenders alike
        reads, levs, results = [], [], []
        for _ in range(repeats):
            reads.append(_measure(client, lambda: a.sum().compute()))
            levs.append(_measure(client, lambda: results.append(
                compute_block_leverage(a, n_blocks))))
        algos = {r.algorithm for r in results}
    read_t = statistics.median(t for t, _ in reads)
    lev_t = statistics.median(t for t, _ in levs)
    rows.append(("read pass A.sum()", read_t, 1.0, max(m for _, m in reads)))
    rows.append((f"exact leverage ({'/'.join(sorted(algos))})", lev_t, lev_t / read_t,
                 max(m for _, m in levs)))
    echo(f"store {store}: {n_rows} x {n_cols} float64, chunks of {chunk_rows} rows, "
         f"K = {n_blocks}; {n_workers} worker processes x 1 thread; median of {repeats}")
    echo(f"{'operation':<32} {'wall s':>8} {'ratio':>7} {'peak worker MiB':>16}")
    for name, t, ratio, mem in rows:
        echo(f"{name:<32} {t:8.2f} {ratio:7.2f} {mem:16.0f}")
    ratios = ", ".join(f"{lt / rt:.2f}" for (rt, _), (lt, _) in zip(reads, levs))
    echo(f"per-repeat ratios: {ratios}; client peak RSS {peak_rss_mib():.0f} MiB")
    return {"read_seconds": read_t, "leverage_seconds": lev_t, "ratio": lev_t / read_t}


# ------------------------------------------------------------------------ benchmark solve

#: Straggler scenarios of :func:`run_solve_benchmark`: name -> (description, the
#: ``stragglers`` mapping given to :func:`dask_coded.lstsq`).
SOLVE_SCENARIOS: dict[str, tuple[str, dict | None]] = {
    "none": ("no stragglers", None),
    "slow": ("model: a quarter of the servers 10x slow (each sleeps 9x its own compute "
             "time), the same servers every round",
             {"slow": {"fraction": 0.25, "factor": 10}, "seed": 0}),
    "throttle": ("real: one worker process 10x slower (SIGSTOP/SIGCONT duty cycle, "
                 "started after setup)",
                 {"throttle": {"workers": 1, "factor": 10}, "seed": 0}),
}

#: Iterative methods, then the single-shot sketch-and-solve variants.
SOLVE_ITERATIVE = ("sd", "block-leverage", "uniform", "gaussian", "srht", "weighted-leverage")
SOLVE_ONE_SHOT = ("gaussian-solve", "srht-solve", "leverage-solve")
SOLVE_THRESHOLDS = (1e-3, 1e-6)

_REPLICATED = ("block-leverage", "uniform")  # the methods that take q and the deadline

#: Floor of the calibrated deadline, seconds: below it (tiny problems, rounds of a few ms),
#: scheduler and event-loop hiccups alone outlast rounds, which then go on with the one or
#: two servers that answered.
MIN_DEADLINE = 0.5


def first_time_at_or_below(history: dict, threshold: float) -> float | None:
    """The first ``history["time"]`` whose ``history["error"]`` is <= ``threshold``.

    No interpolation: the time recorded at the end of the first iteration that got there, or
    None if none did.
    """
    for t, e in zip(history.get("time") or [], history.get("error") or []):
        if e <= threshold:
            return float(t)
    return None


def _bench_store(path: str | None, kind: str, n_rows: int, n_cols: int, chunk_rows: int,
                 echo: Callable[[str], None]) -> Path:
    """The benchmark store (named like ``benchmark leverage``'s), generated when absent."""
    from ..datasets import make_dataset

    store = Path(path) if path else (
        Path("bench-data") / f"{kind}-{n_rows}x{n_cols}-c{chunk_rows}.zarr")
    if not store.exists():
        echo(f"generating {store} ({n_rows} x {n_cols} float64, "
             f"{n_rows * n_cols * 8 / 2**30:.2f} GiB)")
        t0 = time.perf_counter()
        make_dataset(store, kind=kind, n_rows=n_rows, n_cols=n_cols, chunk_rows=chunk_rows,
                     seed=0)
        echo(f"  generated in {time.perf_counter() - t0:.1f} s")
    return store


_SOLVE_COLUMNS = (("scenario", 8, "<"), ("method", 17, "<"), ("t 1e-3 s", 8, ">"),
                  ("x sd", 6, ">"), ("t 1e-6 s", 8, ">"), ("x sd", 6, ">"),
                  ("err@end", 8, ">"), ("iters", 5, ">"), ("srv/rnd", 7, ">"),
                  ("solve s", 7, ">"), ("setup s", 7, ">"), ("peak MiB", 8, ">"),
                  ("stop", 11, "<"))


def _solve_line(cells: list[str]) -> str:
    return " ".join(format(c, f"{align}{w}") for c, (_, w, align) in
                    zip(cells, _SOLVE_COLUMNS)).rstrip()


def _round_stretch(cfg: dict) -> float:
    """How many times longer a round that waits for every server takes in a scenario.

    Throttle: the throttled worker does its share ``factor`` times slower. Slow: with one
    thread per worker a worker's queue holds ``fraction`` slow servers, so it takes
    ``1 + (factor - 1) fraction`` times longer on average.
    """
    if "throttle" in cfg:
        return float(cfg["throttle"]["factor"])
    if "slow" in cfg:
        return 1.0 + (cfg["slow"]["factor"] - 1.0) * cfg["slow"]["fraction"]
    return 1.0


def _ratio(t: float | None, base: float | None, budget: float) -> str:
    """``t / base``; ``<t/budget`` when only sd missed the budget (its time is > budget)."""
    if t is None:
        return "-"
    if base is None:
        return f"<{t / budget:.2f}"
    return f"{t / base:.2f}" if base > 0 else "-"


def run_solve_benchmark(*, n_rows: int = 2_000_000, n_cols: int = 100,
                        chunk_rows: int = 100_000, n_blocks: int | None = None,
                        n_servers: int | None = None, n_workers: int = 2, threads: int = 1,
                        time_budget: float = 15.0,
                        methods: list[str] | tuple[str, ...] | None = None,
                        scenarios: list[str] | tuple[str, ...] | None = None,
                        repeats: int = 1, q: int | None = None, deadline: float | None = None,
                        tol: float = 1e-12, path: str | None = None, kind: str = "gaussian",
                        seed: int = 0, echo: Callable[[str], None] = print) -> dict:
    """Time to accuracy of every least-squares method, with and without stragglers.

    On one embedded LocalCluster (``n_workers`` nanny processes x ``threads`` threads; nanny
    workers run BLAS single threaded) over one store (generated when absent, as ``benchmark
    leverage`` does), every method of ``methods`` is solved once per scenario of
    ``scenarios`` (``"none"``, ``"slow"``, ``"throttle"``: see :data:`SOLVE_SCENARIOS`), and a
    table row reports the solve time (setup excluded) until the relative error
    ``|x - x*| / |x*|`` first reached 1e-3 and 1e-6 (the time recorded at the first iteration
    at or below it, no interpolation; "-" if not within ``time_budget``), each as a ratio to
    sd's in the same scenario ("x sd"; "<r" when only sd missed the budget), the error when
    the solve stopped, iterations, mean servers used per round, solve and setup seconds, and
    the largest worker's peak RSS (workers are restarted before every measured solve).
    Numbers are medians of ``repeats``. The setup pass (leverage scores, ``A^T A``,
    ``A^T b``) is measured once and shared by every solve through ``lstsq(setup=...)``, so a
    row's setup is the placement of its servers' blocks on the workers.

    The reference x* is the solution of the normal equations from the setup pass's ``A^T A``
    and ``A^T b`` (what ``lstsq(..., reference="auto")`` uses; accurate when A is well
    conditioned, and its estimated condition number is printed); ``dask.array.linalg.lstsq``
    (TSQR) runs on the same store and cluster as a second reference line, with its wall time
    and its error against x*. sd is always run: it is the baseline of the ratios.

    Defaults:

    * ``n_blocks`` K: one block per Zarr row chunk of the store (20 for the default store),
      so that placing a server decodes exactly one chunk (a block smaller than a chunk
      decodes the whole chunk, once per server) and a gradient task lasts ~0.1 s, above the
      per-task overhead; ``n_servers`` m = 2 K, so workers hold about 2 copies of (A, b).
    * ``q = ceil(0.75 m)`` for block-leverage and uniform: exactly the servers outside the
      slow quarter of the "slow" scenario, so that independent servers never need a slow one.
    * ``deadline`` (block-leverage and uniform only, with ``on_short="proceed"``: at the
      deadline the round goes on with the servers that have answered, rescaled to stay
      unbiased): twice the expected no-straggler round of q servers, ``2 r_sd q / K``, where
      ``r_sd`` is the median round time of sd without stragglers measured first in this run
      (or by a short uncounted sd solve when "none" is not run), and at least
      :data:`MIN_DEADLINE`. Servers share worker threads (``threads`` per worker, 1 by
      default), so a slow server queued ahead of fast ones delays them whatever q is: the
      deadline, not q, is what keeps a round from waiting for the slow quarter. In the
      10x-slow scenario the q first servers of a round take up to ``0.75 + 0.25 x 10 = 3.25``
      times their no-straggler time, so a deadline of 2x cuts such rounds short, and they go
      on with the servers that answered; without stragglers it rarely binds.
    * sd, gaussian, srht and weighted-leverage wait for every server they ask (the library
      applies q and the deadline to the replicated methods only), so sd's rounds wait for
      the slowest server, as uncoded gradient descent must.
    * The sketch-and-solve variants are one round over every block: the library applies no
      model stragglers to them, so they are not rerun in "slow".
    * Under stragglers, a method that waits for every server (all but sd, which is always
      run, and the two deadline methods) is skipped, and says so, when one of its rounds (one
      solve, for sketch-and-solve) would outlast ``time_budget``: its no-straggler round time
      times 10 ("throttle") or 1 + 9 x 0.25 = 3.25 ("slow", one thread per worker). Such a
      solve could reach nothing within the budget, and a round cannot be interrupted.

    Every solve uses the optimal step (exact line search with the setup's ``A^T A``) and stops
    at ``time_budget`` seconds (a round in flight finishes first), or earlier when the exact
    gradient norm falls below ``tol`` times its initial value ("tol" in the stop column).

    Memory: the workers hold about ``m / K`` copies of (A, b) for the replicated methods (one
    for the others), ``N (d + 1) 8 m / K`` bytes in all; the estimate is printed.
    gaussian-solve draws its dense ``sketch_rows x tau`` Gaussian per block in panels of
    4096 columns on its worker (160 MiB at 5000 rows), one per worker thread.

    Returns
    -------
    dict
        ``rows`` (each with ``scenario``, ``method``, ``t_1e-03``, ``t_1e-06``,
        ``final_error``, ``iterations``, ``servers_per_round``, ``solve_seconds``,
        ``setup_seconds``, ``peak_mib``, ``stop``; or ``skipped`` / ``failed``),
        ``reference``, ``deadline``, ``q``, ``n_blocks``, ``n_servers``, ``store``.
    """
    import dask
    import dask.array as da

    from ..cluster import connect
    from ..errors import InputError
    from ..executor import ServersLost, StragglerTimeout
    from ..io import open_dataset
    from ..kernels import checks
    from ..leverage import compute_block_leverage
    from ..linear_model import lstsq
    from ..solvers import METHODS

    for name, value, optional in (
            ("rows", n_rows, False), ("cols", n_cols, False), ("chunk_rows", chunk_rows, False),
            ("blocks", n_blocks, True), ("servers", n_servers, True), ("q", q, True),
            ("workers", n_workers, False), ("threads", threads, False),
            ("repeats", repeats, False)):
        checks.integer(name, value, 1, optional=optional)
    checks.positive("time_budget", time_budget, finite=False)
    checks.positive("deadline", deadline, finite=False, optional=True)
    checks.real("tol", tol, low=0, finite=False)
    methods = check_names("method", list(methods or SOLVE_ITERATIVE + SOLVE_ONE_SHOT),
                           tuple(METHODS))
    if "sd" not in methods:
        methods.insert(0, "sd")  # the baseline of every ratio
    methods.sort(key=lambda m: (m != "sd", list(METHODS).index(m)))
    scenarios = check_names("scenario", list(scenarios or SOLVE_SCENARIOS),
                             tuple(SOLVE_SCENARIOS))
    scenarios.sort(key=list(SOLVE_SCENARIOS).index)  # "none" first: it calibrates the deadline

    store = _bench_store(path, kind, n_rows, n_cols, chunk_rows, echo)
    a, b = open_dataset(store)
    n_rows, n_cols = a.shape
    n_blocks = a.numblocks[0] if n_blocks is None else n_blocks
    n_servers = 2 * n_blocks if n_servers is None else n_servers
    if n_blocks > n_rows:
        raise InputError(f"blocks={n_blocks} exceeds the {n_rows} rows of {store}")
    q = math.ceil(0.75 * n_servers) if q is None else q
    if q > n_servers:
        raise InputError(f"q={q} is larger than servers={n_servers}")
    tau = math.ceil(n_rows / n_blocks)
    copy_gib = n_rows * (n_cols + 1) * a.dtype.itemsize / 2**30
    rows: list[dict] = []
    # Every measured solve restarts the workers. LocalCluster closes a worker's nanny for
    # good when, lost-worker-timeout (15 s) after a worker was removed, no worker of that
    # name is registered: a timer left by one restart that fires during a later restart
    # (workers briefly gone) kills the cluster (seen here; dask/distributed#7312). Restarts
    # always bring the workers back here, so the timeout is lifted for the run.
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "24h"}), \
            connect(n_workers=n_workers, threads_per_worker=threads) as client:
        blas = sorted(set(client.run(blas_threads).values()))
        echo(f"benchmark solve: store {store}: N = {n_rows}, d = {n_cols}, "
             f"{a.numblocks[0]} row chunks of {a.chunks[0][0]}")
        echo(f"cluster: embedded LocalCluster, {n_workers} workers x {threads} thread(s) "
             f"(nanny processes; nanny workers run BLAS single threaded: "
             f"OPENBLAS/OMP/MKL_NUM_THREADS={','.join(blas)} on the workers)")
        echo(f"K = {n_blocks} blocks of tau = {tau} rows, m = {n_servers} servers, q = {q} "
             f"(block-leverage, uniform); time budget {time_budget:g} s per solve, tol "
             f"{tol:g}; timings are medians of {repeats} repeat(s) on a shared, noisy machine")
        echo(f"memory: replicated methods hold ~m/K = {n_servers / n_blocks:.2f} copies of "
             f"(A, b) = {copy_gib * n_servers / n_blocks:.2f} GiB over the workers "
             f"(~{copy_gib * n_servers / n_blocks / n_workers:.2f} GiB per worker); sd and "
             f"the sketches one copy ({copy_gib:.2f} GiB)")

        # The setup pass, shared by every solve (lstsq(setup=...)), gives the reference
        # solution; a first unmeasured pass warms the page cache for every contender alike.
        compute_block_leverage(a, n_blocks, b=b)
        passes: list = []
        pass_runs = [_measure(client, lambda: passes.append(
            compute_block_leverage(a, n_blocks, b=b))) for _ in range(repeats)]
        summary = passes[-1]
        pass_seconds = statistics.median(t for t, _ in pass_runs)
        xstar = np.linalg.solve(summary.gram, summary.atb)
        ref_norm = float(np.linalg.norm(xstar)) or 1.0
        echo(f"setup pass (block leverage scores, A^T A, A^T b; {summary.algorithm}, "
             f"{summary.passes} read pass(es)): {pass_seconds:.2f} s, peak worker "
             f"{max(m for _, m in pass_runs):.0f} MiB; run once and shared by every solve "
             f"(lstsq(setup=...)), so 'setup s' below is the placement of the servers' blocks")
        echo(f"reference x*: normal equations of the setup pass, solve(A^T A, A^T b), as "
             f"lstsq(reference='auto') computes it (estimated cond(A) = "
             f"{summary.condition:.3g})")
        runs: list = []
        dask_runs = [_measure(client, lambda: runs.append(
            da.linalg.lstsq(a, b)[0].compute())) for _ in range(repeats)]
        reference = {"condition": float(summary.condition), "x_norm": ref_norm,
                     "setup_pass_seconds": pass_seconds,
                     "dask_seconds": statistics.median(t for t, _ in dask_runs),
                     "dask_error": float(np.linalg.norm(runs[-1] - xstar) / ref_norm),
                     "dask_peak_mib": max(m for _, m in dask_runs)}
        echo(f"dask.array.linalg.lstsq (TSQR), same store and cluster: wall "
             f"{reference['dask_seconds']:.2f} s (reads the store: compare with setup + "
             f"solve), error vs x* {reference['dask_error']:.1e}, peak worker "
             f"{reference['dask_peak_mib']:.0f} MiB")

        deadline_s, deadline_note = deadline, "given"

        def set_deadline(results: list, where: str) -> None:
            nonlocal deadline_s, deadline_note
            r_sd = statistics.median(statistics.median(r.history["round_seconds"])
                                     for r, _, _ in results)
            deadline_s = max(2.0 * r_sd * q / n_blocks, MIN_DEADLINE)
            deadline_note = f"2 x sd round ({r_sd:.3f} s, {where}) x q / K"
            if deadline_s == MIN_DEADLINE:
                deadline_note += f", raised to the {MIN_DEADLINE:g} s floor"

        def solve(method: str, scenario: dict | None, **extra):
            kwargs = {"method": method, "n_blocks": n_blocks, "n_servers": n_servers,
                      "deadline": deadline_s, "on_short": "proceed", "stragglers": scenario,
                      "step": "optimal", "max_iter": 10**6, "tol": tol,
                      "time_budget": time_budget, "client": client, "seed": seed,
                      "reference": xstar, "setup": summary}
            if method in _REPLICATED:
                kwargs["q"] = q
            kwargs.update(extra)
            out: list = []
            t, mem = _measure(client, lambda: out.append(lstsq(str(store), **kwargs)))
            return out[0], t, mem

        if deadline_s is None and "none" not in scenarios:
            set_deadline([solve("sd", None, max_iter=5)], "calibration solve")

        # Per method, without stragglers: the one-shot solve time or the median round time,
        # to skip a solve under stragglers that cannot finish one round within the budget.
        round_none: dict[str, float] = {}
        for scen in scenarios:
            desc, cfg = SOLVE_SCENARIOS[scen]
            echo("")
            echo(f"scenario {scen}: {desc}")
            if deadline_s is not None:
                echo(f"deadline {deadline_s:.3f} s ({deadline_note}); block-leverage and "
                     f"uniform only")
            echo(_solve_line([c for c, _, _ in _SOLVE_COLUMNS]))
            sd_times: dict[float, float | None] = {}
            offsets: list[float] = []
            for method in methods:
                row = {"scenario": scen, "method": method}
                one_shot = not METHODS[method].iterative
                skip = None
                if one_shot and cfg is not None and "slow" in cfg:
                    skip = "the library applies no model stragglers to one-shot solves"
                elif cfg is not None and method != "sd" and method not in _REPLICATED \
                        and method in round_none:
                    # It waits for every server it asks: a round takes `stretch` times longer.
                    stretch = _round_stretch(cfg)
                    est = round_none[method] * stretch
                    if est > time_budget:
                        what = "solve" if one_shot else "round"
                        skip = (f"one {what} would take ~{est:.0f} s ({stretch:g} x its "
                                f"{round_none[method]:.1f} s without stragglers) > the budget")
                if skip:
                    row["skipped"] = skip
                    rows.append(row)
                    echo(f"{scen:<8} {method:<17} skipped: {skip}")
                    continue
                results, failures = [], []
                for _ in range(repeats):
                    try:
                        results.append(solve(method, cfg))
                    except (InputError, StragglerTimeout, ServersLost) as exc:
                        failures.append(f"{type(exc).__name__}: {exc}")
                if not results:
                    row["failed"] = failures[0]
                    rows.append(row)
                    echo(f"{scen:<8} {method:<17} failed: {failures[0]}")
                    continue
                for thr in SOLVE_THRESHOLDS:
                    times = [first_time_at_or_below(r.history, thr) for r, _, _ in results]
                    row[f"t_{thr:.0e}"] = median_or_none(
                        [t if t is not None and t <= time_budget else None for t in times])
                row["final_error"] = statistics.median(r.history["error"][-1]
                                                       for r, _, _ in results)
                row["iterations"] = statistics.median(r.n_iter for r, _, _ in results)
                row["servers_per_round"] = statistics.median(
                    float(np.mean(r.history["servers_used"])) for r, _, _ in results)
                row["solve_seconds"] = statistics.median(r.solve_seconds for r, _, _ in results)
                row["setup_seconds"] = statistics.median(r.setup_seconds for r, _, _ in results)
                row["wall_seconds"] = statistics.median(t for _, t, _ in results)
                row["peak_mib"] = max(m for _, _, m in results)
                row["stop"] = "/".join(sorted({r.stop_reason for r, _, _ in results}))
                if failures:
                    row["stop"] += f" ({len(failures)} failed)"
                if not one_shot:
                    # seconds on the solver's clock before the first round could start
                    offsets.extend(r.history["time"][-1] - r.solve_seconds
                                   for r, _, _ in results)
                if cfg is None:
                    round_none[method] = statistics.median(
                        r.solve_seconds if one_shot else
                        statistics.median(r.history["round_seconds"]) for r, _, _ in results)
                if method == "sd":
                    sd_times = {thr: row[f"t_{thr:.0e}"] for thr in SOLVE_THRESHOLDS}
                cells = [scen, method]
                for thr in SOLVE_THRESHOLDS:
                    t = row[f"t_{thr:.0e}"]
                    cells += [fmt(t, ".2f"), _ratio(t, sd_times.get(thr), time_budget)]
                cells += [f"{row['final_error']:.1e}", f"{row['iterations']:g}",
                          f"{row['servers_per_round']:.1f}", f"{row['solve_seconds']:.2f}",
                          f"{row['setup_seconds']:.2f}", f"{row['peak_mib']:.0f}", row["stop"]]
                rows.append(row)
                echo(_solve_line(cells))
                if method == "sd" and deadline_s is None and cfg is None:
                    set_deadline(results, "no stragglers")
                    echo(f"deadline {deadline_s:.3f} s ({deadline_note}); block-leverage and "
                         f"uniform only, from here on")
            if offsets and statistics.median(offsets) > 0.2:
                echo(f"note: the solve clock (history 'time', hence t 1e-x and the budget) "
                     f"started a median {statistics.median(offsets):.2f} s before the first "
                     f"round could: lstsq starts it at the end of setup, before it starts the "
                     f"throttle helpers")
    echo("")
    echo("t 1e-x s: solve seconds (setup excluded) until |x - x*| / |x*| was first at or "
         "below 1e-x ('-': not within the budget); x sd: ratio to sd's time in the same "
         "scenario ('<r': sd missed the budget); err@end: error when the solve stopped; "
         "srv/rnd: mean servers whose results were used per round; peak MiB: largest worker "
         "max RSS over placement + solve")
    sd_none = next((r for r in rows if r["scenario"] == "none" and r["method"] == "sd"
                    and "stop" in r), None)
    if sd_none is not None and sd_none.get("t_1e-06") is not None:
        total = pass_seconds + sd_none["setup_seconds"] + sd_none["t_1e-06"]
        ratio = reference["dask_seconds"] / total
        echo(f"dask.array.linalg.lstsq {reference['dask_seconds']:.2f} s vs sd's setup pass "
             f"+ placement + t 1e-6 without stragglers {total:.2f} s (x sd {ratio:.2f})")
    return {"rows": rows, "reference": reference, "deadline": deadline_s, "q": q,
            "n_blocks": n_blocks, "n_servers": n_servers, "store": str(store)}
