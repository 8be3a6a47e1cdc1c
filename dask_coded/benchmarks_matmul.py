"""``dask-coded benchmark matmul``: the accuracy of the MatDot family, and products on a cluster.

Two tables:

1. Kernels only (numpy): for m = 2..8 and P = m + 2 servers with tuned real points, the
   worst relative error of eps-MatDot over every subset of K = m, m + 1 and m + 2 results
   (unit-Frobenius random A and B), beside the model error the points were tuned for and the
   decoder's own largest error estimate.
2. Wall time of an n x n product on a local cluster: dask's own ``A @ B`` on the same cluster
   against :func:`dask_coded.matmul` (uncoded, exact MatDot, eps-MatDot) with and without 2
   servers 10x slow (model stragglers: a slow server sleeps 9x its compute time after
   computing, on its thread; a cancelled straggler keeps its thread until it wakes, so give
   workers more threads than servers: the default 8 per worker covers P = 2m + 1 = 9 plus
   the sleepers of an earlier run). The operands are Zarr stores, read by the workers.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .kernels import matdot as md


def kernel_table(ms: range = range(2, 9), *, size: int = 24, seed: int = 0) -> list[dict]:
    """Worst-subset eps-MatDot errors for each m with P = m + 2 (see the module docstring)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in ms:
        P = m + 2
        A = rng.standard_normal((size, m * 4))
        B = rng.standard_normal((m * 4, size))
        A /= np.linalg.norm(A)
        B /= np.linalg.norm(B)
        C = A @ B
        design = md.tuned_design(P, m)
        enc_a, enc_b = md.encode(*md.split_inner(A, B, m), design.points)
        results = md.server_products(enc_a, enc_b)
        row = {"m": m, "P": P, "rho": design.rho, "model": design.expected_error}
        worst_est = 0.0
        for K in (m, m + 1, m + 2):
            worst = 0.0
            for subset in itertools.combinations(range(P), K):
                s = list(subset)
                c_hat, est = md.decode_anytime(results[s], design.points[s], m)
                err = md.relative_error(c_hat, C)
                worst = max(worst, err)
                worst_est = max(worst_est, est / np.linalg.norm(c_hat))
            row["K=m" if K == m else f"K=m+{K - m}"] = worst
        row["max_estimate"] = worst_est
        rows.append(row)
    return rows


def _format(rows: list[dict]) -> str:
    cols = list(rows[0])
    cells = [list(cols)] + [
        [f"{r[c]:.2e}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells)


def cluster_table(n: int = 4096, m: int = 4, *, n_workers: int = 2, threads: int = 8,
                  repeats: int = 1, seed: int = 0, echo: Callable = print) -> list[dict]:
    """Wall times of an ``n x n`` product: dask vs the coded products, with/without stragglers."""
    from distributed import Client, LocalCluster

    from .io import generate_matrix, open_matrix
    from .matmul import matmul

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = Path(tmp) / "A.zarr", Path(tmp) / "B.zarr"
        generate_matrix(pa, n, seed)
        generate_matrix(pb, n, seed + 1)
        with LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            exact = None
            for rep in range(repeats):
                t0 = time.perf_counter()
                exact = (open_matrix(pa) @ open_matrix(pb)).compute()
                rows.append({"method": "dask A @ B", "P": "-", "slow": "-", "used": "-",
                             "seconds": time.perf_counter() - t0, "rel_error": 0.0,
                             "estimate": 0.0, "repeat": rep})
                echo(f"  dask A @ B: {rows[-1]['seconds']:.2f} s")
            cases = [("uncoded", m), ("matdot", 2 * m + 1), ("eps-matdot", m + 2)]
            for code, P in cases:
                for slow in (False, True):
                    # ceil(fraction * P) servers are slow: 1.5 / P gives exactly 2
                    stragglers = {"slow": {"fraction": 1.5 / P, "factor": 10},
                                  "seed": seed} if slow else None
                    for rep in range(repeats):
                        t0 = time.perf_counter()
                        res = matmul(str(pa), str(pb), code=code, m=m, n_servers=P,
                                     stragglers=stragglers, client=client, seed=seed + rep)
                        wall = time.perf_counter() - t0
                        err = float(np.linalg.norm(res.C - exact) / np.linalg.norm(exact))
                        rows.append({"method": code, "P": P, "slow": 2 if slow else 0,
                                     "used": "/".join(str(len(s)) for s in res.servers_used),
                                     "seconds": wall, "rel_error": err,
                                     "estimate": res.error_estimate, "repeat": rep})
                        echo(f"  {code} P={P} slow={2 if slow else 0}: {wall:.2f} s")
    return rows


def run_matmul_benchmark(*, n: int = 4096, m: int = 4, n_workers: int = 2, threads: int = 8,
                         repeats: int = 1, kernels_only: bool = False, seed: int = 0,
                         echo: Callable = print) -> dict:
    """Print both tables; returns them."""
    echo("eps-MatDot, tuned real points, P = m + 2: worst relative error over every subset "
         "of K results (unit-Frobenius random A, B)")
    k_rows = kernel_table(seed=seed)
    echo(_format(k_rows))
    out = {"kernels": k_rows}
    if kernels_only:
        return out
    echo(f"\n{n} x {n} product, m = {m}, local cluster of {n_workers} worker processes x "
         f"{threads} threads (model stragglers sleep on a thread; compute threads share the "
         "cores). 'slow' servers are 10x slow; dask's own A @ B has no model stragglers.")
    c_rows = cluster_table(n, m, n_workers=n_workers, threads=threads, repeats=repeats,
                           seed=seed, echo=echo)
    echo(_format([{k: v for k, v in r.items() if k != "repeat"} for r in c_rows]))
    out["cluster"] = c_rows
    return out
