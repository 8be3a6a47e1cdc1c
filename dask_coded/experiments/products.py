"""``dask-coded benchmark products``: coded products against dask's own ``A @ B`` under faults.

One cluster, one pair of Zarr operands, every method under every fault, interleaved
(repeat by repeat), so the ratios are measured in the same conditions:

* methods: dask's ``A @ B`` on the stores (``da.from_zarr``; the baseline a user has),
  :func:`dask_coded.matmul` with ``code="uncoded"`` (m servers, all waited for),
  ``"eps-matdot"`` with P = m + 1 and P = m + 2 (any m) and ``"matdot"`` (P = 2m + 1, any
  2m - 1);
* faults: none; one worker throttled 10x (SIGSTOP/SIGCONT duty cycle); one worker frozen
  (SIGSTOP for the whole product: a worker that does not come back); one worker killed
  (SIGKILL at the start; the nanny restarts it). dask's computation under a freeze is
  given ``dask_timeout`` seconds, then the worker is thawed so that it can finish: its
  time is reported as "> T" (it would wait for the scheduler's ``worker-ttl``, 5 minutes by
  default, before recomputing elsewhere). A coded product whose code cannot do without
  the frozen worker's servers would wait out its round's ``max_wait`` (``ROUND_MAX_WAIT``,
  300 s): uncoded, which needs every server, is not run under a freeze and says so, nor is
  a code whose P servers, less the ``ceil(P / workers)`` the frozen worker may hold (the
  executor places them round robin), are fewer than its threshold (eps-MatDot at
  P = m + 1 on fewer than P workers).

The table: seconds (median over repeats), the ratio to dask's own no-fault time, the ratio to
the method's own no-fault time, servers used, the relative error against dask's result, and
the product's own Freivalds check (``MatmulResult.freivalds``: an estimate of that error
from the workers' reads of A and B, which needs no reference product).
Memory: the workers hold A and B (their chunks as read) and each coded server one encoded
tile pair; the client one product.
"""

from __future__ import annotations

import logging
import math
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

FAULTS = ("none", "throttled", "frozen", "killed")
#: (label, code, servers for m, results a tile needs for m).
CODES = (("uncoded", "uncoded", lambda m: m, lambda m: m),
         ("eps-matdot m+1", "eps-matdot", lambda m: m + 1, lambda m: m),
         ("eps-matdot", "eps-matdot", lambda m: m + 2, lambda m: m),
         ("matdot", "matdot", lambda m: 2 * m + 1, lambda m: 2 * m - 1))

#: The scenario each fault is for the coded products (dask_coded.stragglers).
SCENARIOS = {"none": None,
             "throttled": {"throttle": {"workers": 1, "factor": 10}, "seed": 0},
             "frozen": {"freeze": {"workers": 1}, "seed": 0},
             "killed": {"kill": [{"round": 0, "workers": 1}], "seed": 0}}


def _dask_run(client, a, b, fault: str, timeout: float) -> tuple[np.ndarray, float, bool]:
    """dask's ``A @ B`` under one fault (applied here, to a worker of the cluster)."""
    from ..executor import compute_bounded
    from ..stragglers import freeze, kill_workers, throttle

    victim = sorted(client.scheduler_info()["workers"])[0]
    product = a @ b
    if fault == "throttled":
        with throttle(client, victim, 10.0):
            return compute_bounded(client, product, timeout * 10)
    if fault == "frozen":
        frozen = freeze(client, victim)
        try:
            return compute_bounded(client, product, timeout, on_timeout=frozen.thaw)
        finally:
            frozen.thaw()
    if fault == "killed":
        timer = threading.Timer(0.5, kill_workers, (client, 1), {"rng": 0})
        timer.start()
        try:
            return compute_bounded(client, product, timeout * 10)
        finally:
            timer.join()
    return compute_bounded(client, product, timeout * 10)


def products_table(n: int = 4096, m: int = 4, *, n_workers: int = 4, threads: int = 1,
                   repeats: int = 2, faults: tuple = FAULTS, dask_timeout: float = 60.0,
                   seed: int = 0, echo: Callable = print) -> list[dict]:
    """Run every (fault, method) ``repeats`` times, interleaved; one row per run."""
    from distributed import Client, LocalCluster

    from ..io import generate_matrix, open_matrix
    from ..matmul import matmul

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = Path(tmp) / "A.zarr", Path(tmp) / "B.zarr"
        generate_matrix(pa, n, seed)
        generate_matrix(pb, n, seed + 1)
        with LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                          dashboard_address="127.0.0.1:0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            # untimed warm-up: the first run on a fresh cluster pays the workers' imports,
            # connections and first allocations (measured: dask 2.8 s then 0.6 s, uncoded
            # 3.9 s then 0.8 s, n = 2048), which a median of two repeats would keep
            _ensure_workers(cluster, client, n_workers)
            exact = _dask_run(client, open_matrix(pa), open_matrix(pb), "none",
                              dask_timeout)[0]
            for _, code, servers, _ in CODES:
                matmul(str(pa), str(pb), code=code, m=m, n_servers=servers(m), client=client,
                       seed=seed)
            for rep in range(repeats):
                for fault in faults:
                    _ensure_workers(cluster, client, n_workers)
                    _quiet(client)
                    c, secs, late = _dask_run(client, open_matrix(pa), open_matrix(pb),
                                              fault, dask_timeout)
                    runs.append({"fault": fault, "method": "dask A @ B", "P": "-",
                                 "seconds": secs, "waited": late, "used": "-",
                                 "rel_error": _rel(c, exact), "repeat": rep})
                    echo(f"  [{rep}] {fault:9s} dask A @ B: {secs:.2f} s"
                         + (f" (> {dask_timeout:g} s frozen, then thawed)" if late else ""))
                    for label, code, servers, needs in CODES:
                        P = servers(m)
                        if fault == "frozen" and P - math.ceil(P / n_workers) < needs(m):
                            # it may need the frozen worker's servers: it would wait out
                            # ROUND_MAX_WAIT
                            runs.append({"fault": fault, "method": label, "P": P,
                                         "seconds": float("nan"), "waited": True,
                                         "used": "-", "rel_error": None, "repeat": rep,
                                         "freivalds": None,
                                         "stopped": "needs the frozen servers: not run"})
                            continue
                        _ensure_workers(cluster, client, n_workers)
                        _quiet(client)
                        t0 = time.perf_counter()
                        try:
                            res = matmul(str(pa), str(pb), code=code, m=m,
                                         n_servers=P, stragglers=SCENARIOS[fault],
                                         client=client, seed=seed + rep)
                            secs, err = time.perf_counter() - t0, _rel(res.C, exact)
                            used = "/".join(str(len(s)) for s in res.servers_used)
                            stopped, check = None, res.freivalds
                        except Exception as exc:  # a code that needs the frozen servers
                            secs, err, used, check = time.perf_counter() - t0, None, "-", None
                            stopped = f"{type(exc).__name__}: {str(exc)[:60]}"
                        runs.append({"fault": fault, "method": label, "P": P,
                                     "seconds": secs, "waited": stopped is not None,
                                     "used": used, "rel_error": err, "repeat": rep,
                                     "freivalds": check, "stopped": stopped})
                        echo(f"  [{rep}] {fault:9s} {label}: {secs:.2f} s"
                             + (f" ({stopped})" if stopped else ""))
    return runs


#: Seconds every run waits, once the scheduler has nothing processing, before it starts.
SETTLE = 1.0


def _quiet(client, timeout: float = 15.0) -> None:
    """Wait (up to ``timeout`` s) until no task is processing on the cluster, then
    :data:`SETTLE` seconds more.

    A coded product returns on its first results; its other servers' running tasks go on
    until they end (cancelling does not stop a thread), and on 2 cores they would slow the
    next method measured. The scheduler forgets a cancelled task at once, so they are not
    in ``processing``: hence the fixed wait after it (a server's load or product takes well
    under a second here). Every run so starts on an idle cluster; the leftover work is a
    cost of the codes on a shared cluster that the table does not show.
    """
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end and any(client.processing().values()):
        time.sleep(0.05)
    time.sleep(SETTLE)


def _ensure_workers(cluster, client, n: int) -> None:
    """Every run starts on ``n`` workers: a killed one's nanny restarts it, and when it has
    not within 30 s (seen once in a dozen kills) the cluster starts a fresh one."""
    try:
        client.wait_for_workers(n, timeout=30)
    except Exception:
        cluster.scale(n)
        client.wait_for_workers(n, timeout=60)


def _rel(c, exact) -> float:
    c = np.asarray(c[...] if hasattr(c, "shape") and not isinstance(c, np.ndarray) else c)
    return float(np.linalg.norm(c - exact) / np.linalg.norm(exact))


def summarize(runs: list[dict], dask_timeout: float) -> list[dict]:
    """Medians per (fault, method), with the ratios to dask's and to its own no-fault time."""
    def median(fault, method):
        vals = [r["seconds"] for r in runs if r["fault"] == fault and r["method"] == method]
        return float(np.median(vals)) if vals else None

    base = median("none", "dask A @ B")
    rows = []
    for fault in dict.fromkeys(r["fault"] for r in runs):
        for method in dict.fromkeys(r["method"] for r in runs):
            mine = [r for r in runs if r["fault"] == fault and r["method"] == method]
            if not mine:
                continue
            secs, own = median(fault, method), median("none", method)
            waited = any(r["waited"] for r in mine)
            errs = [r["rel_error"] for r in mine if r["rel_error"] is not None]
            checks = [r["freivalds"] for r in mine if r.get("freivalds") is not None]
            shown = f"{secs:.2f}"
            if waited and method == "dask A @ B":
                shown = f"> {dask_timeout:g} ({secs:.1f} thawed)"
            elif waited and not np.isfinite(secs):
                shown = "waits (needs all)"
            elif waited:
                shown = f"stopped ({secs:.1f})"
            rows.append({"fault": fault, "method": method, "P": mine[0]["P"],
                         "seconds": shown,
                         "x dask none": "-" if waited else f"{secs / base:.2f}",
                         "x own none": "-" if waited or own is None else f"{secs / own:.2f}",
                         "used": mine[0]["used"],
                         "rel_error": f"{max(errs):.1e}" if errs else "-",
                         "freivalds": f"{max(checks):.1e}" if checks else "-"})
    return rows


def run_products_benchmark(*, n: int = 4096, m: int = 4, n_workers: int = 4, threads: int = 1,
                           repeats: int = 2, dask_timeout: float = 60.0, seed: int = 0,
                           faults: tuple = FAULTS, echo: Callable = print) -> dict:
    """Print the table (see the module docstring); returns the runs and the summary."""
    import os

    from .common import format_table

    load0 = os.getloadavg()[0]
    echo(f"{n} x {n} product, m = {m}: dask's A @ B and dask_coded.matmul, local cluster of "
         f"{n_workers} worker processes x {threads} thread(s), {repeats} repeat(s) "
         f"interleaved; load average {load0:.2f} at the start")
    runs = products_table(n, m, n_workers=n_workers, threads=threads, repeats=repeats,
                          faults=faults, dask_timeout=dask_timeout, seed=seed, echo=echo)
    rows = summarize(runs, dask_timeout)
    echo(format_table(rows))
    echo(f"load average {os.getloadavg()[0]:.2f} at the end")
    return {"runs": runs, "summary": rows}
