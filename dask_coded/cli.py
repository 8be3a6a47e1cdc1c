"""The ``dask-coded`` command line: parses arguments and delegates to the public API.

Every user mistake ends in one line on stderr, ``dask-coded: error: ...``, and exit status 2.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import click
import numpy as np

from ._atomic import write_text
from .errors import InputError
from .kernels import checks

#: The embedded default dataset of the README's main job: small, coherent (non-uniform scores).
DEFAULT_DATASET = Path("data") / "quickstart.zarr"
DEFAULT_DATASET_SPEC = {"kind": "coherent", "n_rows": 200_000, "n_cols": 20,
                        "chunk_rows": 25_000, "seed": 0}


class _Group(click.Group):
    """Turns InputError (ours, or one re-raised from a worker) and click's usage errors (a bad
    option value, an unknown option or command) into a one-line error, exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"dask-coded: error: {exc}", err=True)
            ctx.exit(2)
        except OSError as exc:  # the machine's, not ours: a full disk, a symlink loop, EACCES
            click.echo(f"dask-coded: error: {_os_error(exc, ctx.invoked_subcommand)}", err=True)
            ctx.exit(2)
        except _NO_ARGS_IS_HELP:
            raise  # a bare group (``dask-coded benchmark``): its help text
        except click.UsageError as exc:  # a bad option or argument: one line, no usage text
            _usage_error(ctx, exc)

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except _NO_ARGS_IS_HELP:
            raise  # bare ``dask-coded``: the help text, as click prints it
        except click.UsageError as exc:  # a bad top-level option
            _usage_error(ctx, exc)


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _os_error(exc: OSError, command: str | None) -> str:
    """An OSError in one line (:func:`~dask_coded.cluster.one_line`), in which command.
    (Outputs are written aside and renamed, so nothing half-written is left.)"""
    from .cluster import one_line

    during = f" (during {command}; nothing was left half-written)" if command else ""
    return f"{one_line(exc)}{during}"


def _usage_error(ctx, exc: click.UsageError) -> None:
    where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
    message = " ".join(f"{where}{exc.format_message()}".split())
    click.echo(f"dask-coded: error: {message}", err=True)
    ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="dask-coded")
def cli() -> None:
    """Straggler-tolerant, out-of-core coded linear algebra on Dask."""


def _load_yaml(path: str) -> dict:
    from .config import load_yaml  # safe, no aliases, one-line errors

    p = Path(path)
    data = load_yaml(p, "spec")
    if not isinstance(data, dict):
        raise InputError(f"{p} must hold a mapping of parameters")
    return data


@cli.command("make-dataset")
@click.argument("path", type=click.Path())
@click.option("--spec", type=click.Path(), help="YAML file of parameters (see datasets/).")
@click.option("--kind", type=click.Choice(["gaussian", "student-t", "coherent"]))
@click.option("--rows", "n_rows", type=int, help="N, rows of A.")
@click.option("--cols", "n_cols", type=int, help="d, columns of A.")
@click.option("--chunk-rows", type=int, help="Rows per Zarr chunk.")
@click.option("--seed", type=int)
@click.option("--noise", type=float, help="Standard deviation of the Gaussian noise in b.")
@click.option("--condition", type=float, help="Make cond(A) about this (by a rotation).")
@click.option("--df", type=float, help="Student-t degrees of freedom.")
@click.option("--coherence", type=float, help="Coherent: scale of the hot rows.")
@click.option("--hot-fraction", type=float, help="Coherent: fraction of hot rows.")
@click.option("--n-hot", type=int, help="Coherent: number of runs of hot rows.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]))
@click.option("--overwrite", is_flag=True, help="Replace an existing store.")
def make_dataset_cmd(path: str, spec: str | None, overwrite: bool, **params) -> None:
    """Generate a synthetic (A, b) into the Zarr store PATH, chunk by chunk.

    Memory: one chunk (chunk-rows x cols floats). Disk: about rows x cols x 8 bytes.
    """
    from .datasets import make_dataset

    merged = _load_yaml(spec) if spec else {}
    merged.update({k: v for k, v in params.items() if v is not None})
    t0 = time.perf_counter()
    make_dataset(path, overwrite=overwrite, progress=sys.stderr.isatty(), **merged)
    click.echo(f"wrote {path} ({time.perf_counter() - t0:.1f} s)")


def _ensure_default_dataset() -> Path:
    if not DEFAULT_DATASET.exists():
        from .datasets import make_dataset

        click.echo(f"generating the default dataset {DEFAULT_DATASET} "
                   f"({DEFAULT_DATASET_SPEC['n_rows']} x {DEFAULT_DATASET_SPEC['n_cols']}, "
                   f"{DEFAULT_DATASET_SPEC['kind']})")
        make_dataset(DEFAULT_DATASET, **DEFAULT_DATASET_SPEC)
    return DEFAULT_DATASET


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


@cli.command("leverage")
@click.argument("path", required=False, type=click.Path())
@click.option("--blocks", "n_blocks", type=int, default=100, show_default=True,
              help="K, the number of row blocks.")
@click.option("--servers", "n_servers", type=int, help="m: also build an expansion network.")
@click.option("--method", type=click.Choice(["exact", "sketch"]), default="exact",
              show_default=True)
@click.option("--survival", type=float, help="phi(T), the straggling probability at the deadline.")
@click.option("--expansion", type=click.Choice(["optimal", "paper"]), default="optimal",
              show_default=True,
              help="Replica rule: exact optimum of GC eq. 21, or eq. 19 + Alg. 2.")
@click.option("--beta", "with_beta", is_flag=True,
              help="With --method sketch: also compute the exact scores and report beta.")
@click.option("--plot", type=click.Path(), help="Save a PNG of Pi (and r_i).")
@click.option("--json", "json_out", type=click.Path(), help="Save the scores and summary as JSON.")
@click.option("--scheduler", help="Address of a running Dask scheduler (default: embedded).")
@click.option("--workers", type=int, help="Worker processes of the embedded cluster.")
def leverage_cmd(path: str | None, n_blocks: int, n_servers: int | None, method: str,
                 survival: float | None, expansion: str, with_beta: bool, plot: str | None,
                 json_out: str | None, scheduler: str | None, workers: int | None) -> None:
    """Block leverage scores of the dataset at PATH (default: a generated demo store).

    Reads A once by row chunks (twice if it is ill-conditioned, or for --method sketch);
    workers need about one chunk of A each, the client K + a few d x d floats.
    """
    from .cluster import connect
    from .expansion import expansion_network
    from .io import open_dataset
    from .kernels.expansion import distortion, misestimation_factor
    from .leverage import compute_block_leverage

    checks.integer("--servers", n_servers, 1, optional=True)
    checks.integer("--workers", workers, 1, optional=True)
    if survival is not None:
        from .expansion import resolve_survival

        resolve_survival(survival, None)
    if expansion == "paper" and survival is None:
        raise InputError("--expansion paper needs --survival (eq. 19)")
    data_path = Path(path) if path else _ensure_default_dataset()
    a, _ = open_dataset(data_path)  # validates before a cluster is started
    from .kernels.blocks import BlockLayout

    BlockLayout.create(a.shape[0], n_blocks)  # n_blocks in 1..N, before a cluster starts
    from .experiments.runs import announce_dashboard

    with connect(scheduler, n_workers=workers, announce=announce_dashboard) as client:
        n_workers = len(client.scheduler_info()["workers"])
        t0 = time.perf_counter()
        result = compute_block_leverage(a, n_blocks, method=method)
        elapsed = time.perf_counter() - t0
        exact = compute_block_leverage(a, n_blocks) if with_beta and method == "sketch" else None
    pi = result.scores
    layout = result.layout
    lines = [
        f"dataset   {data_path}  A: {layout.n_rows} x {result.n_cols}  "
        f"({a.numblocks[0]} chunks)",
        f"blocks    K = {layout.n_blocks}, tau = {layout.block_rows} rows"
        + (f" ({layout.n_blocks - layout.long_blocks} of {layout.short_rows})"
           if layout.padding else ""),
        f"method    {result.method} ({result.algorithm}), {result.passes} pass(es), "
        f"{elapsed:.2f} s on {n_workers} worker(s)"
        + ("" if math.isnan(result.condition) else f", cond(A) ~ {result.condition:.2e}"),
        f"Pi        min {pi.min():.3e}  max {pi.max():.3e}  (uniform {1 / len(pi):.3e})  "
        f"max/min {pi.max() / pi.min() if pi.min() > 0 else math.inf:.2f}",
        f"entropy   {_entropy(pi):.4f} nats of log K = {math.log(len(pi)):.4f} "
        f"({_entropy(pi) / math.log(len(pi)) if len(pi) > 1 else 1:.3f})",
        f"top       blocks {', '.join(str(i) for i in np.argsort(pi)[::-1][:5])}",
    ]
    if exact is not None:
        beta = misestimation_factor(exact.scores, pi)
        lines.append(f"beta      min_i Pi~_i / Pi_i = {beta:.3f} against the exact scores "
                     f"(d = {distortion(exact.scores, pi):.2e})")
    summary = {"dataset": str(data_path), "n_rows": layout.n_rows, "n_cols": result.n_cols,
               "n_blocks": layout.n_blocks, "block_rows": layout.block_rows,
               "method": result.method, "algorithm": result.algorithm,
               "condition": None if math.isnan(result.condition) else result.condition,
               "seconds": elapsed, "scores": pi.tolist()}
    if exact is not None:
        summary["beta"] = misestimation_factor(exact.scores, pi)
    network = None
    if n_servers is not None:
        network = expansion_network(pi, n_servers, survival=survival, method=expansion)
        lines.append(
            f"servers   m = {n_servers} ({network.method}): replicas {network.replicas.min()}"
            f"..{network.replicas.max()}, distortion d = {network.distortion:.3e}, "
            f"beta = {network.beta:.3f}" + (f", q = {network.q}" if network.q else ""))
        if survival is not None:
            lines.append(f"eq. 19    r-hat sums to {int(network.paper_replicas.sum())}; "
                         f"Delta = {network.emulation_distortion:.3e}, "
                         f"Lemma 1 bound {network.lemma1_bound:.3e}")
        summary["network"] = network.summary()
        summary["replicas"] = network.replicas.tolist()
    click.echo("\n".join(lines))
    if json_out:
        write_text(json_out, json.dumps(summary, indent=1))
        click.echo(f"wrote {json_out}")
    if plot:
        from .plotting import plot_leverage

        plot_leverage(plot, pi, None if network is None else network.replicas,
                      title=f"{data_path.name}: K={layout.n_blocks}"
                      + (f", m={n_servers}" if n_servers else ""))
        click.echo(f"wrote {plot}")


# ------------------------------------------------------------------------------ solve


@cli.command("solve")
@click.argument("config", type=click.Path())
@click.option("--output", type=click.Path(), help="Output folder (overrides output.dir).")
@click.option("--scheduler", help="Address of a running Dask scheduler (overrides "
              "cluster.scheduler).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--resume", is_flag=True, help="Continue each method from its last checkpoint "
              "(output.checkpoint_dir) instead of starting afresh; refused when the "
              "checkpoints are of another dataset, methods or settings.")
def solve_cmd(config: str, output: str | None, scheduler: str | None,
              no_progress: bool, resume: bool) -> None:
    """Solve the least-squares problem of the run config CONFIG (YAML) on a Dask cluster.

    Runs solver.method, then each method of compare, on the same data, cluster and
    stragglers; writes x_<method>.npy, history_<method>.csv, report.json and
    convergence.png into the output folder (built aside, then renamed into place), and
    prints a table. Relative paths in CONFIG are relative to the current folder.

    Every output.checkpoint_every iterations (default 10) each method's state is written,
    atomically, to output.checkpoint_dir (default <output dir>.checkpoints); a run stopped
    by a fault or killed continues with --resume, and a completed run removes them.

    Memory: each worker holds its servers' encoded blocks, about n_servers / n_blocks
    copies of (A, b) over all workers for the coded methods (one copy for sd and the
    sketches); the client holds a few d x d floats per method.
    """
    import dataclasses

    from .config import load_config
    from .experiments.runs import RunStopped, solve_run

    cfg = load_config(config)
    if output is not None:
        cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, dir=Path(output)))
    if scheduler is not None:
        cfg = dataclasses.replace(cfg, cluster=dataclasses.replace(cfg.cluster,
                                                                   scheduler=scheduler))
    try:
        solve_run(cfg, resume=resume, progress=not no_progress, echo=click.echo)
    except RunStopped as exc:
        click.echo(f"dask-coded: error: {exc}", err=True)
        sys.exit(1)


# ----------------------------------------------------------------------------- matmul


@cli.command("matmul")
@click.argument("config", type=click.Path())
@click.option("--output", type=click.Path(), help="Output folder (overrides output.dir).")
def matmul_cmd(config: str, output: str | None) -> None:
    """Coded product C = A B of the matmul config CONFIG (YAML) on a Dask cluster.

    Writes C.zarr and report.json into the output folder (built aside, then renamed into
    place) and prints the error estimate, the servers used and, for small generated
    inputs, the true relative error.
    """
    import dataclasses

    from .config import load_matmul_config
    from .experiments.runs import RunStopped, matmul_run

    cfg = load_matmul_config(config)
    if output is not None:
        cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, dir=Path(output)))
    try:
        matmul_run(cfg, echo=click.echo, config_file=config)
    except RunStopped as exc:
        click.echo(f"dask-coded: error: {exc}", err=True)
        sys.exit(1)


@cli.group("benchmark")
def benchmark() -> None:
    """Benchmarks that print a table (ratios to a baseline in the same run)."""


@benchmark.command("leverage")
@click.option("--rows", "n_rows", type=float, default=2e6, show_default=True)
@click.option("--cols", "n_cols", type=int, default=100, show_default=True)
@click.option("--chunk-rows", type=int, default=100_000, show_default=True)
@click.option("--blocks", "n_blocks", type=int, default=1000, show_default=True)
@click.option("--kind", default="gaussian", show_default=True)
@click.option("--condition", type=float)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--repeats", type=int, default=3, show_default=True)
@click.option("--path", type=click.Path(), help="Store to use (generated when absent).")
def benchmark_leverage(n_rows: float, n_cols: int, chunk_rows: int, n_blocks: int, kind: str,
                       condition: float | None, workers: int, repeats: int,
                       path: str | None) -> None:
    """Exact leverage pass against one plain read pass (A.sum()) of the same store."""
    from .experiments.solve import run_leverage_benchmark

    run_leverage_benchmark(n_rows=int(n_rows), n_cols=n_cols, chunk_rows=chunk_rows,
                           n_blocks=n_blocks, kind=kind, condition=condition,
                           n_workers=workers, repeats=repeats, path=path, echo=click.echo)


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@benchmark.command("solve")
@click.option("--rows", "n_rows", type=float, default=2e6, show_default=True)
@click.option("--cols", "n_cols", type=int, default=100, show_default=True)
@click.option("--chunk-rows", type=int, default=100_000, show_default=True)
@click.option("--blocks", "n_blocks", type=int, help="K (default: one per Zarr row chunk).")
@click.option("--servers", "n_servers", type=int, help="m (default: 2 K).")
@click.option("--q", type=int, help="Servers summed per round by block-leverage and uniform "
              "(default: ceil(0.75 m)).")
@click.option("--deadline", type=float, help="Seconds (default: 2 x sd's no-straggler round "
              "x q / K, measured first).")
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=1, show_default=True, help="Per worker.")
@click.option("--time-budget", type=float, default=15.0, show_default=True,
              help="Seconds per solve, setup excluded.")
@click.option("--methods", help="Comma separated (default: all; sd is always run).")
@click.option("--scenarios", help="Comma separated, of none, slow, throttle (default: all).")
@click.option("--repeats", type=int, default=1, show_default=True)
@click.option("--path", type=click.Path(), help="Store to use (generated when absent).")
def benchmark_solve(n_rows: float, n_cols: int, chunk_rows: int, n_blocks: int | None,
                    n_servers: int | None, q: int | None, deadline: float | None, workers: int,
                    threads: int, time_budget: float, methods: str | None,
                    scenarios: str | None, repeats: int, path: str | None) -> None:
    """Time to error 1e-3 and 1e-6 of every lstsq method, with and without stragglers."""
    from .experiments.solve import run_solve_benchmark

    run_solve_benchmark(n_rows=int(n_rows), n_cols=n_cols, chunk_rows=chunk_rows,
                        n_blocks=n_blocks, n_servers=n_servers, q=q, deadline=deadline,
                        n_workers=workers, threads=threads, time_budget=time_budget,
                        methods=_names(methods), scenarios=_names(scenarios),
                        repeats=repeats, path=path, echo=click.echo)


@benchmark.command("peers")
@click.option("--rows", "n_rows", type=float, default=1e6, show_default=True,
              help="Rows of the well-conditioned store.")
@click.option("--cols", "n_cols", type=int, default=100, show_default=True)
@click.option("--chunk-rows", type=float, default=1e5, show_default=True)
@click.option("--ill-rows", type=float, default=5e5, show_default=True,
              help="Rows of the ill-conditioned store.")
@click.option("--condition", type=float, default=1e6, show_default=True,
              help="Condition number of the ill-conditioned store.")
@click.option("--wide-rows", type=float, default=1e5, show_default=True,
              help="Rows of the wide store.")
@click.option("--wide-cols", type=int, default=2000, show_default=True,
              help="Columns of the wide store.")
@click.option("--wide-chunk-rows", type=float, default=2500, show_default=True)
@click.option("--workers", type=int, default=4, show_default=True,
              help="Worker processes (1 thread each).")
@click.option("--repeats", type=int, default=2, show_default=True, help="At least 2.")
@click.option("--time-budget", type=float, default=10.0, show_default=True,
              help="Seconds per call of the iterative methods (sd, block-leverage, uniform), "
              "setup excluded.")
@click.option("--methods", help="Comma separated, of read, normal-eq, dask-lstsq, "
              "dask-ml-newton, dask-ml-lbfgs, direct, sd, block-leverage, uniform "
              "(default: all).")
@click.option("--scenarios", help="Comma separated, of none, model, frozen (default: all).")
@click.option("--stores", help="Comma separated, of well, ill, wide (default: well,ill; "
              "wide is 1.6 GB and needs ~5 GB of worker memory with the coded methods' "
              "replicas).")
@click.option("--data-dir", type=click.Path(), default="bench-data", show_default=True,
              help="Where the stores are (generated when absent).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--restart-workers", is_flag=True, help="Restart the workers before every "
              "measurement (default: reset their peak RSS only; a restart costs seconds).")
@click.option("--noise", type=float, default=0.0, show_default=True,
              help="b = A x0 + noise * N(0, 1); above 0 the reference x* is computed by a "
              "Householder TSQR pass (untimed).")
@click.option("--target", type=float, default=1e-6, show_default=True,
              help="Relative error the iterative rows are timed to.")
@click.option("--json", "json_out", type=click.Path(), help="Also write the rows as JSON.")
def benchmark_peers(n_rows: float, n_cols: int, chunk_rows: float, ill_rows: float,
                    condition: float, wide_rows: float, wide_cols: int,
                    wide_chunk_rows: float, workers: int, repeats: int, time_budget: float,
                    methods: str | None, scenarios: str | None, stores: str | None,
                    data_dir: str, seed: int, restart_workers: bool, noise: float,
                    target: float, json_out: str | None) -> None:
    """dask_coded's least-squares solvers against a read pass, the normal equations, dask
    lstsq and dask-ml, on the same stores and cluster, with and without stragglers."""
    from .experiments.peers import run_peers_benchmark

    sizes = {}
    for name, value in (("rows", n_rows), ("chunk-rows", chunk_rows),
                        ("ill-rows", ill_rows), ("wide-rows", wide_rows),
                        ("wide-chunk-rows", wide_chunk_rows)):
        if not (math.isfinite(value) and value >= 1 and value == int(value)):
            raise InputError(f"--{name} must be a whole number >= 1, got {value:g}")
        sizes[name] = int(value)
    run_peers_benchmark(n_rows=sizes["rows"], n_cols=n_cols, chunk_rows=sizes["chunk-rows"],
                        ill_rows=sizes["ill-rows"], condition=condition,
                        wide_rows=sizes["wide-rows"], wide_cols=wide_cols,
                        wide_chunk_rows=sizes["wide-chunk-rows"], n_workers=workers,
                        repeats=repeats, time_budget=time_budget, methods=_names(methods),
                        scenarios=_names(scenarios), stores=_names(stores),
                        data_dir=data_dir, seed=seed, restart_workers=restart_workers,
                        noise=noise, target=target, json_path=json_out, echo=click.echo)


@benchmark.command("scale")
@click.option("--servers", default="100,1000,10000", show_default=True,
              help="Comma separated server counts m (even; K = m / 2 blocks).")
@click.option("--models", help="Comma separated, of shifted-exponential, pareto (default: "
              "both).")
@click.option("--target", type=float, default=1e-8, show_default=True)
@click.option("--gram-free", is_flag=True, help="Set every contender up by a sketch "
              "(conjugate gradients of exact rounds) instead of the exact Gram.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_out", type=click.Path(), help="Also write the rows as JSON.")
def benchmark_scale(servers: str, models: str | None, target: float, gram_free: bool,
                    seed: int, json_out: str | None) -> None:
    """sd, exact repetition and block-leverage as the server count grows, in simulated time
    under the paper's runtime model and a heavy-tailed one (no cluster)."""
    from .experiments.scale import run_scale_study

    try:
        counts = tuple(int(v) for v in servers.split(","))
    except ValueError:
        raise InputError(f"--servers must be comma separated integers, got {servers!r}"
                         ) from None
    run_scale_study(servers=counts, models=_names(models), target=target,
                    gram_free=gram_free, seed=seed, json_path=json_out, echo=click.echo)


@benchmark.command("matmul")
@click.option("--n", "n", type=int, default=4096, show_default=True,
              help="Side of the square product timed on the cluster.")
@click.option("--m", "m", type=int, default=4, show_default=True, help="Inner blocks.")
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True, help="Per worker.")
@click.option("--repeats", type=int, default=1, show_default=True)
@click.option("--kernels-only", is_flag=True, help="Only the worst-subset error tables.")
@click.option("--opt-restarts", type=int, default=3, show_default=True,
              help="Random starts of each optimised code in the comparison table.")
@click.option("--opt-max-iter", type=int, default=2000, show_default=True,
              help="Iterations per start of each optimised code.")
def benchmark_matmul(n: int, m: int, workers: int, threads: int, repeats: int,
                     kernels_only: bool, opt_restarts: int, opt_max_iter: int) -> None:
    """Worst-subset errors of the MatDot family and optimised codes (m = 2..8, P = m + 2),
    and n x n product wall times."""
    from .experiments.matmul import run_matmul_benchmark

    run_matmul_benchmark(n=n, m=m, n_workers=workers, threads=threads, repeats=repeats,
                         kernels_only=kernels_only, opt_restarts=opt_restarts,
                         opt_max_iter=opt_max_iter, echo=click.echo)


@benchmark.command("fig1")
@click.option("--restarts", type=int, default=20, show_default=True,
              help="Random starts per (m, k, P); the best is reported.")
@click.option("--max-iter", type=int, default=100_000, show_default=True,
              help="Iterations per start (the paper ran 100,000).")
@click.option("--quick", is_flag=True, help="Tiny budget (2 starts x 50 iterations).")
@click.option("--plain", is_flag=True,
              help="The MatDot paper's plain Algorithm 1 (default: the accelerated variant).")
@click.option("--seed", type=int, default=0, show_default=True)
def benchmark_fig1(restarts: int, max_iter: int, quick: bool, plain: bool, seed: int) -> None:
    """Fig. 1 of the MatDot paper: loss (28) of Algorithm 1 per (m, k, P), random and eps-MatDot
    starts, against the authors' values."""
    from .experiments.matmul import run_fig1_benchmark

    run_fig1_benchmark(restarts=restarts, max_iter=max_iter, quick=quick, plain=plain,
                       seed=seed, echo=click.echo)


@benchmark.command("products")
@click.option("--n", type=int, default=4096, show_default=True, help="n x n operands.")
@click.option("--m", type=int, default=4, show_default=True, help="Inner blocks.")
@click.option("--workers", type=int, default=4, show_default=True,
              help="Worker processes of the local cluster.")
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--repeats", type=int, default=2, show_default=True,
              help="Runs of every (fault, method), interleaved; medians are reported.")
@click.option("--dask-timeout", type=float, default=60.0, show_default=True,
              help="Seconds dask's A @ B is given with a frozen worker before it is thawed.")
@click.option("--faults", "fault_names", help="Comma-separated faults (default: all of "
              "none, throttled, frozen, killed).")
def benchmark_products(n: int, m: int, workers: int, threads: int, repeats: int,
                       dask_timeout: float, fault_names: str | None) -> None:
    """Coded products against dask's own A @ B: no fault, a throttled, frozen, killed worker."""
    from .experiments.common import check_names
    from .experiments.products import FAULTS, run_products_benchmark

    faults = tuple(check_names("fault", fault_names.split(","), FAULTS)) if fault_names \
        else FAULTS
    run_products_benchmark(n=n, m=m, n_workers=workers, threads=threads, repeats=repeats,
                           dask_timeout=dask_timeout, faults=faults, echo=click.echo)


@benchmark.command("faults")
@click.option("--runs", type=int, default=2, show_default=True,
              help="Trials per (api, fault), each with its own seed and fault round.")
@click.option("--faults", "fault_names", help="Comma-separated faults (default: all).")
@click.option("--apis", default="lstsq,matmul", show_default=True)
@click.option("--workers", "n_workers", type=int, default=3, show_default=True,
              help="Worker processes of each trial's cluster.")
@click.option("--hang-limit", type=float, default=400.0, show_default=True,
              help="Seconds after which a trial counts as a hang (above the executor's own "
              "300 s round limit).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_out", type=click.Path(), help="Also save every trial as JSON.")
@click.option("--folder", type=click.Path(), help="Where the data and the cluster log go "
              "(default: a temporary folder).")
def benchmark_faults(runs: int, fault_names: str | None, apis: str, n_workers: int,
                     hang_limit: float, seed: int, json_out: str | None,
                     folder: str | None) -> None:
    """Real faults on a real cluster, for lstsq and matmul: how each run ended.

    Each trial starts a scheduler and worker processes (with nannies) of its own, runs a
    coded solve (20000 x 10 store, block-leverage, K=20, m=40, q=30) or a coded product
    (384 x 512 x 384, eps-MatDot m=2, P=4, 36 tiles) and injects the fault at a random
    round: workers SIGKILLed (one, half, all but one), one throttled 10x, one joining, the
    scheduler restarted (mid-run, and during lstsq's setup pass), every worker lost. Prints
    a table: runs, survived with the right answer, stopped with a clear error, wrong
    answers, unclear errors, hangs, faults not injected (the run ended first). Exits 1 if any
    answer was wrong, any run hung or failed unclearly, or a survivable fault was not
    survived. Memory: a few hundred MiB; time: about 10 s per trial (35 s for
    all-workers-lost, which waits out the executor's no-worker timeout).
    """
    from .experiments.faults import FAULTS, fault_table, run_suite, suite_failures

    names = None if fault_names is None else [f for f in fault_names.split(",") if f]
    api_names = [a for a in apis.split(",") if a]

    def progress(t):
        click.echo(f"  {t.api:<7} {t.fault:<24} round {t.at_round:>2}  {t.outcome:<12} "
                   f"{t.seconds:6.1f} s  {t.detail}")

    click.echo(f"fault suite: {runs} run(s) per fault, {n_workers} workers per cluster")
    for name in names or FAULTS:
        click.echo(f"  {name}: {FAULTS.get(name, '?')}")
    trials = run_suite(names, api_names, runs=runs, seed=seed, n_workers=n_workers,
                       hang_limit=hang_limit, folder=folder, progress=progress)
    click.echo("")
    click.echo(fault_table(trials))
    if json_out is not None:
        import dataclasses

        write_text(json_out, json.dumps([dataclasses.asdict(t) for t in trials], indent=1))
    bad = suite_failures(trials)
    if bad:
        click.echo(f"{len(bad)} trial(s) broke the promise: "
                   + "; ".join(f"{t.api}/{t.fault}: {t.outcome}" for t in bad), err=True)
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dask-coded")


if __name__ == "__main__":
    main()
