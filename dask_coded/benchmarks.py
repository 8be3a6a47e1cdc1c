"""Benchmark commands: each prints a table of wall times, ratios to a baseline measured in
the same run on the same cluster, and peak memory. Timings are medians over repeats."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def _peak_rss_mib() -> float:
    """Peak resident memory of the calling process since it started (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measure(client, fn: Callable[[], object]) -> tuple[float, float]:
    """Wall time of ``fn`` and the largest worker peak RSS, on freshly restarted workers."""
    client.restart()
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    peaks = client.run(_peak_rss_mib)
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
    from .cluster import connect
    from .datasets import make_dataset
    from .io import open_dataset
    from .leverage import compute_block_leverage

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
    with connect(n_workers=n_workers, threads_per_worker=1) as client:
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
    echo(f"per-repeat ratios: {ratios}; client peak RSS {_peak_rss_mib():.0f} MiB")
    return {"read_seconds": read_t, "leverage_seconds": lev_t, "ratio": lev_t / read_t}
