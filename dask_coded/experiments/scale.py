"""``dask-coded benchmark scale``: how the coded schemes scale with the number of servers,
in the GC paper's probabilistic model (Section II-E), by the simulated executor.

No cluster: :class:`~dask_coded.simulate.SimulatedExecutor` draws every server's finishing
time from a runtime model each round, and a round takes the simulated time its rule waits
for. Per server count m and model, the table gives each contender's rounds and simulated
time to a target error (``||x - x*|| / ||x*||``), and its ratio to sd's:

- ``sd``: one server per block (K = m / 2), every round waits for all K (the maximum of K
  draws);
- ``repetition``: exact repetition coding, ``method="uniform"``: every block on two
  servers, a round waits for the first replica of every block (a maximum of K minima of 2);
- ``block-leverage``: the same cover rounds with replicas by block leverage scores (the
  expansion network of GC eq. 17; m servers, K blocks);
- ``block-leverage-q``: the GC paper's own iteration, unpreconditioned: eq. 26 rounds over the
  first q = 0.75 m servers (the q-th order statistic of m draws), variance reduced around
  an anchor cover round every 5 (preconditioned by the exact R, the first anchor round
  would already be the answer and no eq. 26 round would run).

The first three share one preconditioned problem (R from the exact setup), so they differ
only in what a round waits for. Models: the paper's shifted
exponential (``shift=1, rate=1``) and a heavy-tailed Pareto (``scale=1, shape=1.5``, whose
maximum over K draws grows like ``K^(2/3)``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..kernels import checks

CONTENDERS = {
    "sd": {"method": "sd"},
    "repetition": {"method": "uniform"},
    "block-leverage": {"method": "block-leverage"},
    "block-leverage-q": {"method": "block-leverage", "precondition": False,
                         "anchor_every": 5},
}
MODELS = {
    "shifted-exponential": {"shift": 1.0, "rate": 1.0},
    "pareto": {"scale": 1.0, "shape": 1.5},
}
ROWS_PER_BLOCK = 8


def _time_to(history: dict, target: float) -> tuple[int | None, float | None]:
    """Rounds and cumulative simulated round time until the error was first <= target."""
    total = 0.0
    for i, (err, seconds) in enumerate(zip(history["error"], history["round_seconds"])):
        total += seconds
        if err <= target:
            return i + 1, total
    return None, None


def run_scale_study(*, servers: tuple[int, ...] = (100, 1000, 10000),
                    models: tuple[str, ...] | list[str] | None = None, n_cols: int = 10,
                    target: float = 1e-8, max_iter: int = 200, seed: int = 0,
                    gram_free: bool = False,
                    json_path: str | os.PathLike | None = None,
                    echo: Callable[[str], None] = print) -> dict:
    """Simulated time to ``target`` of sd, repetition and block-leverage for each m.

    The data: a coherent Gaussian ``N x n_cols`` (``N = 8 K`` rows, ``K = m / 2`` blocks,
    ``b = A x0 + N(0, 1)``), its x* by numpy. Memory: ``N x n_cols`` floats (3 MiB at
    m = 10000); time: the m = 10000 rows take seconds each (every used server's kernel runs
    in this process).

    With the exact setup (the default) the preconditioner is exact and the first exact
    round already reaches 1e-8 from x = 0 (a Gauss-Newton step): the table then compares
    what one round waits for. ``gram_free`` sets every contender up by a sketch instead
    (``leverage="sketch"``): conjugate gradients of exact rounds, ~10-30 of them, where the
    round's wait is paid every iteration (``block-leverage-q`` is then left out: after a
    sketch setup every round is exact).

    Returns
    -------
    dict
        ``rows`` (m, model, contender, rounds, simulated seconds, ratio to sd), ``seconds``.
    """
    from ..kernels.datagen import DatasetSpec, generate_chunk
    from ..kernels.runtime import runtime_model
    from ..linear_model import lstsq

    models = list(models or MODELS)
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise InputError(f"unknown model(s) {', '.join(unknown)}; choose of "
                         f"{', '.join(MODELS)}")
    for m in servers:
        if not checks.is_integer(m) or m < 4 or m % 2:
            shown = int(m) if checks.is_integer(m) else checks.type_name(m)
            raise InputError(f"servers must be even integers >= 4, got {shown}")
    checks.fraction("target", target, open_low=True, open_high=True)
    if json_path is not None and Path(json_path).is_dir():
        raise InputError(f"--json {json_path} is a folder; give a file path")
    started = time.perf_counter()
    rows: list[dict] = []
    echo(f"benchmark scale: simulated executor (the GC paper's model), d = {n_cols}, "
         f"{ROWS_PER_BLOCK} rows a block, K = m / 2 blocks, target {target:.0e}, "
         f"{'Gram-free (sketch) setup' if gram_free else 'exact setup'}")
    echo(f"{'m':>6} {'model':<20} {'contender':<17} {'rounds':>6} {'sim s':>9} "
         f"{'x sd':>6} {'wall s':>7}")
    for m in servers:
        k = m // 2
        spec = DatasetSpec(n_rows=k * ROWS_PER_BLOCK, n_cols=n_cols,
                           chunk_rows=k * ROWS_PER_BLOCK, seed=seed, kind="coherent",
                           noise=1.0).validate()
        a, b = generate_chunk(spec, 0)[:2]
        x_star = np.linalg.lstsq(a, b, rcond=None)[0]
        for name in models:
            model = runtime_model(name, **MODELS[name])
            deadline = _quantile(model, 0.75)  # q(T) = floor(F(T) m) = 0.75 m (eq. 12)
            sd_time = None
            for contender, kwargs in CONTENDERS.items():
                if gram_free and "anchor_every" in kwargs:  # no eq. 26 rounds there
                    continue
                t0 = time.perf_counter()
                extra = {} if kwargs["method"] == "sd" else {"n_servers": m}
                if gram_free:
                    extra["leverage"] = "sketch"
                res = lstsq(a, b, n_blocks=k, client="simulate", runtime=model, seed=seed,
                            reference=x_star, max_iter=max_iter, tol=target / 100,
                            deadline=deadline,
                            **extra, **kwargs)
                rounds, sim = _time_to(res.history, target)
                if contender == "sd":
                    sd_time = sim
                ratio = None if sim is None or not sd_time else sim / sd_time
                row = {"setup": "sketch" if gram_free else "exact", "servers": m,
                       "blocks": k, "model": name, "contender": contender,
                       "rounds": rounds, "simulated_seconds": sim, "x_sd": ratio,
                       "final_error": float(res.history["error"][-1]),
                       "wall_seconds": time.perf_counter() - t0}
                rows.append(row)
                echo(f"{m:>6} {name:<20} {contender:<17} "
                     f"{'-' if rounds is None else rounds:>6} "
                     f"{'-' if sim is None else format(sim, '.1f'):>9} "
                     f"{'-' if ratio is None else format(ratio, '.2f'):>6} "
                     f"{row['wall_seconds']:>7.1f}")
    seconds = time.perf_counter() - started
    echo(f"sim s: simulated seconds (the model's time units) summed over the rounds until the "
         f"error was first <= {target:.0e} ('-': not within {max_iter} iterations); x sd: "
         f"that over sd's; wall s: this process's time for the row; total {seconds:.0f} s")
    report = {"rows": rows, "target": target, "n_cols": n_cols, "seconds": seconds,
              "models": {k: MODELS[k] for k in models}}
    if json_path is not None:
        from .._atomic import write_text

        write_text(json_path, json.dumps(report, indent=1, allow_nan=False))
        echo(f"wrote {json_path}")
    return report


def _quantile(model, p: float) -> float:
    """The time T with ``F(T) = p`` (bisection on the model's cdf)."""
    lo, hi = 0.0, 1.0
    while float(model.cdf(hi)) < p:
        hi *= 2.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if float(model.cdf(mid)) < p else (lo, mid)
    return hi
