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
import yaml

from ._atomic import write_text
from .errors import InputError

#: The embedded default dataset of the README's main job: small, coherent (non-uniform scores).
DEFAULT_DATASET = Path("data") / "quickstart.zarr"
DEFAULT_DATASET_SPEC = {"kind": "coherent", "n_rows": 200_000, "n_cols": 20,
                        "chunk_rows": 25_000, "seed": 0}


class _Group(click.Group):
    """Turns InputError (ours, or one re-raised from a worker) into a one-line error."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"dask-coded: error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="dask-coded")
def cli() -> None:
    """Straggler-tolerant, out-of-core coded linear algebra on Dask."""


def _load_yaml(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
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
              show_default=True, help="Replica rule: exact optimum of eq. 21, or eq. 19 + Alg. 2.")
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

    if n_servers is not None and n_servers < 1:
        raise InputError(f"--servers must be >= 1, got {n_servers}")
    data_path = Path(path) if path else _ensure_default_dataset()
    a, _ = open_dataset(data_path)  # validates before a cluster is started
    with connect(scheduler, n_workers=workers) as client:
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
        + (f", {layout.padding} zero rows of padding" if layout.padding else ""),
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
    from .benchmarks import run_leverage_benchmark

    run_leverage_benchmark(n_rows=int(n_rows), n_cols=n_cols, chunk_rows=chunk_rows,
                           n_blocks=n_blocks, kind=kind, condition=condition,
                           n_workers=workers, repeats=repeats, path=path, echo=click.echo)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dask-coded")


if __name__ == "__main__":
    main()
