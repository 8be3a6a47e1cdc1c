"""The ``solve`` and ``matmul`` runs behind the CLI: a run config in, the comparison table,
the report and the output folder out.

A run is what a user asks the command line for: one config, one cluster, every method of
``compare`` on the same data and stragglers, the error target they are compared at, and an
output folder written aside and renamed into place. :mod:`dask_coded.cli` parses the command
line and the YAML and calls :func:`solve_run` or :func:`matmul_run`; nothing here parses
arguments, and the library itself (``lstsq``, ``matmul``) knows nothing of runs.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._atomic import OUTPUT_MARKER, atomic_dir, check_replaceable_dir
from ..errors import InputError

#: The report of a run, in its output folder. (What marks a folder as a run's output that a
#: rerun may replace is :data:`~dask_coded._atomic.OUTPUT_MARKER`, which lists what the run
#: wrote: a report.json alone proves nothing, anyone may have written one.)
REPORT = "report.json"


class RunStopped(Exception):
    """A run stopped by its cluster (stragglers past every bound, or every server lost):
    not the user's input, so the CLI exits 1, not 2. The message names the method."""


def _echo(text: str) -> None:
    print(text, flush=True)


def _version() -> str:
    from .. import __version__  # lazily: this module must not depend on import order

    return __version__


HISTORY_COLUMNS = ("iteration", "time", "round_seconds", "servers_used", "timed_out", "step",
                   "exact_round", "backups", "convergence", "residual_norm", "gradient_norm",
                   "error")


def _jsonable(value):
    """Numpy scalars and arrays to Python, non-finite floats to None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _check_dataset(ds):
    """Open the dataset if it exists (checking it against dataset.generate); None if absent."""
    from ..io import open_dataset, read_attrs

    if not ds.path.exists():
        if ds.generate is None:
            raise InputError(f"dataset.path {ds.path} does not exist; give dataset.generate "
                             "to create it")
        return None
    if ds.generate is not None:
        stored = read_attrs(ds.path).get("dask_coded", {}).get("generator")
        wanted = ds.generate.to_attrs()
        if stored is not None:
            diff = [k for k in wanted if stored.get(k) != wanted[k]]
            if diff:
                k = diff[0]
                raise InputError(f"dataset.path {ds.path} was generated with {k}="
                                 f"{stored.get(k)!r}, not {wanted[k]!r} as dataset.generate "
                                 "says; delete the store or change dataset.path")
    a, _ = open_dataset(ds.store)
    return a


def _generate_dataset(ds, progress: bool, echo: Callable[[str], None]):
    from ..datasets import make_dataset
    from ..io import open_dataset

    spec = ds.generate
    echo(f"generating {ds.path} ({spec.n_rows} x {spec.n_cols}, {spec.kind})")
    make_dataset(ds.path, progress=progress, **spec.to_attrs())
    a, _ = open_dataset(ds.store)
    return a


def _load_reference(ref):
    if ref is None or isinstance(ref, str):
        return ref
    if not ref.is_file():
        raise InputError(f"solver.reference {ref} does not exist")
    try:
        return np.load(ref, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"solver.reference {ref} is not a readable .npy array: "
                         f"{str(exc).splitlines()[0]}") from None


def _time_to(result, target: float) -> float | None:
    """Seconds from the call's start (setup included: for ``direct`` the setup pass is the
    solve) until the error first reached ``target``; None if never."""
    history = result.history
    for t, e in zip(history["time"], history["error"]):
        if e <= target * (1 + 1e-9):
            return float(t) + result.setup_seconds
    return None


def _time_read_pass(client, path) -> float:
    """Wall time of one plain read pass of the store's A and b (``A.sum()``, ``b.sum()``),
    the floor for any exact solve."""
    from ..executor import compute
    from ..io import open_dataset

    a, b = open_dataset(path)
    t0 = time.perf_counter()
    compute(client, a.sum(), b.sum())
    return time.perf_counter() - t0


def _write_history_csv(path: Path, history: dict) -> None:
    import csv

    n = len(history["iteration"])
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HISTORY_COLUMNS)
        for i in range(n):
            row = []
            for col in HISTORY_COLUMNS:
                values = history.get(col) or []
                v = values[i] if i < len(values) else ""
                if v is None:  # a sampled round measures no convergence
                    v = ""
                elif isinstance(v, (bool, np.bool_)):
                    v = int(v)
                elif isinstance(v, (float, np.floating)):
                    v = repr(float(v))
                row.append(v)
            w.writerow(row)


def _method_row(name: str, result, wall: float) -> dict:
    h = result.history
    used = h.get("servers_used") or []
    final_error = h["error"][-1] if h.get("error") else None
    return {"method": name, "iterations": result.n_iter, "stop_reason": result.stop_reason,
            "final_error": final_error,
            "final_residual_norm": h["residual_norm"][-1] if h.get("residual_norm") else None,
            "setup_seconds": result.setup_seconds, "solve_seconds": result.solve_seconds,
            "wall_seconds": wall, "mean_servers_used": float(np.mean(used)) if used else None,
            "rounds_timed_out": int(sum(h.get("timed_out") or [])),
            # reference "auto" is the exact solution of the setup pass: direct's own x
            "is_reference": result.reference is not None and result.setup is not None
            and result.setup.solution is not None
            and np.array_equal(result.x, result.setup.solution)
            and np.array_equal(result.reference, result.setup.solution)}


def _format_table(rows: list[dict], target: float | None) -> str:
    head = ["method", "iters", "stop", "final error", "solve s", "setup s", "servers/round"]
    if target is not None:
        head.append(f"s to err {target:.1e} (setup incl.)")
    lines = [head]
    for r in rows:
        err = "n/a" if r["final_error"] is None else f"{r['final_error']:.2e}"
        if r.get("is_reference"):
            err = "(reference)"
        srv = "n/a" if r["mean_servers_used"] is None else f"{r['mean_servers_used']:.1f}"
        cells = [r["method"], str(r["iterations"]), r["stop_reason"], err,
                 f"{r['solve_seconds']:.2f}", f"{r['setup_seconds']:.2f}", srv]
        if target is not None:
            t = r.get("seconds_to_target")
            cells.append("never" if t is None else f"{t:.2f}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(line, widths))).rstrip()
                     for line in lines)


#: The file in a checkpoint folder naming the run its checkpoints belong to (dataset and
#: methods): ``--resume`` refuses a config that differs. Each method's checkpoint is tied to
#: its data and settings by its own fingerprint, but a method of another config has no
#: checkpoint at all, so it started afresh without a word, and a resumed method of one
#: dataset went into a report beside a fresh one of another.
RUN_RECORD = "run.json"
RUN_FORMAT = "dask_coded.run-checkpoints"


def announce_dashboard(link: str) -> None:
    """Print an embedded cluster's dashboard address on stderr, when stderr is a terminal.

    It is for the person watching the run (the link dies with the run); a log file or a
    pipe that reads stderr keeps getting only the error line of a failure.
    """
    if sys.stderr.isatty():
        print(f"dask-coded: dashboard {link}", file=sys.stderr, flush=True)


def _run_record(cfg) -> dict:
    """What ties a checkpoint folder to one run: the dataset (absolute path and array names)
    and the methods, in order."""
    ds = cfg.dataset
    return {"format": RUN_FORMAT, "version": 1,
            "dataset": str(Path(ds.path).resolve()),
            "arrays": [getattr(ds, "A", "A"), getattr(ds, "b", "b")],
            "methods": list(cfg.methods)}


def _write_run_record(ck_dir: Path, record: dict) -> None:
    """Write the record of the run whose checkpoints go to ``ck_dir`` (atomically)."""
    from .._atomic import write_text

    ck_dir.mkdir(parents=True, exist_ok=True)
    write_text(ck_dir / RUN_RECORD, json.dumps(record, indent=1))


def _check_run_record(ck_dir: Path, record: dict) -> None:
    """Refuse ``--resume`` of a config whose dataset or methods are not those of the run
    that wrote the checkpoints in ``ck_dir`` (one line)."""
    path = ck_dir / RUN_RECORD
    again = "resume with the config that wrote them, or rerun without --resume"
    try:
        stored = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"--resume: {ck_dir} holds no {RUN_RECORD} naming the run its "
                         f"checkpoints belong to; rerun without --resume") from None
    except (OSError, ValueError):
        raise InputError(f"--resume: {path} is damaged; rerun without --resume") from None
    if not isinstance(stored, dict) or stored.get("format") != RUN_FORMAT:
        raise InputError(f"--resume: {path} is not a dask_coded run record; rerun without "
                         "--resume")
    for key, what in (("dataset", "dataset"), ("arrays", "arrays"), ("methods", "methods")):
        have, want = stored.get(key), record[key]
        if have != want:
            shown = (", ".join(map(str, have)) if isinstance(have, list) else str(have))[:80]
            wanted = (", ".join(map(str, want)) if isinstance(want, list) else str(want))[:80]
            raise InputError(f"--resume: the checkpoints in {ck_dir} are of {what} {shown}, "
                             f"this config's are {wanted}; {again}")


def _listing(folder: Path) -> str:
    """The entries of an output folder, for the closing line (without our marker)."""
    return ", ".join(sorted(p.name for p in folder.iterdir() if p.name != OUTPUT_MARKER))


def solve_run(cfg, *, resume: bool = False, progress: bool = True,
              echo: Callable[[str], None] = _echo) -> Path:
    """Run ``cfg`` (a :class:`~dask_coded.config.RunConfig`): solver.method, then each
    method of compare, on the same data, cluster and stragglers.

    Writes ``x_<method>.npy``, ``history_<method>.csv``, ``report.json`` and
    ``convergence.png`` into ``cfg.output.dir`` (built aside, then renamed into place) and
    echoes a table. Every ``output.checkpoint_every`` iterations each method's state is
    written, atomically, to ``output.checkpoint_dir``, beside a record of the run
    (:data:`RUN_RECORD`: dataset and methods); ``resume=True`` continues from there, refused
    when the config's dataset or methods differ from the record's, and a completed run
    removes them.

    Memory: each worker holds its servers' encoded blocks, about n_servers / n_blocks copies
    of (A, b) over all workers for the coded methods (one copy for sd and the sketches); the
    client holds a few d x d floats per method.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    InputError
        Bad input, found before any cluster starts where it can be.
    RunStopped
        A method stopped by its cluster; its checkpoint (if any) is kept for ``resume``.
    """
    from ..cluster import connect
    from ..executor import ServersLost, StragglerTimeout
    from ..linear_model import lstsq
    from ..plotting import plot_convergence

    out_dir = cfg.output.dir
    check_replaceable_dir(out_dir, OUTPUT_MARKER)  # fail now, not after the solves
    ck_dir = cfg.output.checkpoints if cfg.output.checkpoint_every else None
    if resume:
        if ck_dir is None:
            raise InputError("--resume needs checkpoints, but output.checkpoint_every is null")
        if not ck_dir.is_dir() or not any(p.name != RUN_RECORD for p in ck_dir.glob("*.json")):
            raise InputError(f"nothing to resume: no checkpoints in {ck_dir}")
    if ck_dir is not None and ck_dir.exists() and not ck_dir.is_dir():
        raise InputError(f"output.checkpoint_dir {ck_dir} exists and is not a folder")
    reference = _load_reference(cfg.solver.reference)
    t_start = time.perf_counter()
    a = _check_dataset(cfg.dataset)  # before a cluster starts: fail fast
    shape = a.shape if a is not None else (
        None if cfg.dataset.generate is None
        else (cfg.dataset.generate.n_rows, cfg.dataset.generate.n_cols))
    if shape is not None:
        from ..linear_model import check_sizes

        check_sizes(cfg.solver.n_blocks, cfg.solver.n_servers, *shape, prefix="solver.")
    record = None if ck_dir is None else _run_record(cfg)
    if record is not None and resume:
        _check_run_record(ck_dir, record)
    elif record is not None and ck_dir.is_dir():
        for m in cfg.methods:  # a fresh run: none of its methods' checkpoints of before
            (ck_dir / f"{m}.json").unlink(missing_ok=True)

    from tqdm.auto import tqdm

    results, walls = {}, {}
    cl = cfg.cluster
    with connect(cl.scheduler, n_workers=cl.workers, threads_per_worker=cl.threads_per_worker,
                 timeout=cl.timeout, security=cl.client_security(), dashboard=cl.dashboard,
                 announce=announce_dashboard) as client:
        if a is None:  # absent: generate it now that the scheduler is known to answer
            a = _generate_dataset(cfg.dataset, progress and sys.stderr.isatty(), echo)
        n_rows, n_cols = a.shape
        from ..io import integrity

        # "unverified": chunks without checksums, where a flipped bit reads as a wrong number
        checked = integrity(cfg.dataset.store)
        echo(f"dataset   {cfg.dataset.path}  A: {n_rows} x {n_cols} "
             f"({a.numblocks[0]} chunks, {checked})")
        workers = client.scheduler_info()["workers"]
        cluster_info = {"scheduler": cl.scheduler or "embedded LocalCluster",
                        "workers": len(workers),
                        "threads": int(sum(w.get("nthreads", 0) for w in workers.values()))}
        echo(f"cluster   {cluster_info['scheduler']}: {cluster_info['workers']} "
             f"worker(s), {cluster_info['threads']} thread(s)")
        kwargs = cfg.solver.lstsq_kwargs()
        setup = None
        from ..solvers import METHODS, resolve_method

        read_pass = None
        if any(resolve_method(m, n_cols) == "direct" for m in cfg.methods):
            read_pass = _time_read_pass(client, cfg.dataset.store)
        recorded = [] if record is None or not resume else [True]
        for method in cfg.methods:
            # with a time budget the iteration count is not known in advance
            total = None if cfg.solver.time_budget is not None else cfg.solver.max_iter
            if not METHODS[resolve_method(method, n_cols)].iterative:
                total = 1
            bar = tqdm(total=total, desc=f"{method:>16}", unit="it",
                       disable=not progress, file=sys.stderr, leave=True, dynamic_ncols=True)

            def callback(solver, bar=bar):
                if record is not None and not recorded:
                    # with the first iteration, when the first checkpoint is near: a run
                    # that fails before leaves no checkpoint folder behind
                    _write_run_record(ck_dir, record)
                    recorded.append(True)
                err = solver.history.get("error")
                if err:
                    bar.set_postfix_str(f"err {err[-1]:.2e}", refresh=False)
                bar.update(solver.iteration - bar.n)

            kwargs["method"] = method
            if ck_dir is not None:
                kwargs.update(checkpoint=ck_dir / f"{method}.json", resume=resume,
                              checkpoint_every=cfg.output.checkpoint_every)
            t0 = time.perf_counter()
            try:
                # progress=False: the bar above is this command's (lstsq's would be a second)
                result = lstsq(cfg.dataset.store, stragglers=cfg.stragglers,
                               client=client, reference=reference, callback=callback,
                               setup=setup, progress=False, **kwargs)
            except (StragglerTimeout, ServersLost) as exc:
                bar.close()
                kept = "" if ck_dir is None else \
                    f" (progress kept in {ck_dir}: rerun with --resume)"
                raise RunStopped(f"{method}: {exc}{kept}") from exc
            walls[method] = time.perf_counter() - t0
            bar.close()
            results[method] = result
            if isinstance(reference, str) and result.reference is not None:
                reference = result.reference  # one reference for all methods: comparable errors
            setup = result.setup  # one setup pass for all methods

    rows = [_method_row(m, r, walls[m]) for m, r in results.items()]
    errors = [r["final_error"] for r in rows if r["final_error"] is not None]
    target = None
    if errors and len(errors) == len(rows):
        target = cfg.output.target_error
        if target is None and max(errors) > 0:
            target = 10.0 ** math.ceil(math.log10(max(errors)) - 1e-9)
    if target is not None:
        for r in rows:
            r["seconds_to_target"] = _time_to(results[r["method"]], target)
    main = results[cfg.solver.method]
    report = {
        "dask_coded": {"version": _version(), "command": "solve"},
        "config_file": str(cfg.source),
        "config": cfg.to_dict(),
        "dataset": {"path": str(cfg.dataset.path), "n_rows": n_rows, "n_cols": n_cols,
                    "chunks": a.numblocks[0], "dtype": str(a.dtype), "integrity": checked},
        "cluster": cluster_info,
        "methods": {m: {**r.summary(), **row} for (m, r), row in zip(results.items(), rows)},
        "target_error": target,
        "read_pass_seconds": read_pass,
        "network": None if main.network is None else main.network.summary(),
        "wall_seconds": time.perf_counter() - t_start,
    }
    with atomic_dir(out_dir, marker=OUTPUT_MARKER) as tmp:
        for m, r in results.items():
            np.save(tmp / f"x_{m}.npy", np.asarray(r.x, dtype=np.float64), allow_pickle=False)
            _write_history_csv(tmp / f"history_{m}.csv", r.history)
        metric = plot_convergence(
            tmp / "convergence.png", {m: r.history for m, r in results.items()},
            title=f"{cfg.dataset.path.name}: A {n_rows} x {n_cols}"
                  + (", with injected stragglers" if cfg.stragglers else ""))
        report["plotted"] = metric
        (tmp / REPORT).write_text(json.dumps(_jsonable(report), indent=1, allow_nan=False))
    if ck_dir is not None:  # the run is complete: nothing to resume
        for m in results:  # only what this command wrote: checkpoint_dir may be shared
            (ck_dir / f"{m}.json").unlink(missing_ok=True)
        (ck_dir / RUN_RECORD).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            ck_dir.rmdir()  # if now empty
    echo(_format_table(rows, target))
    for m, r in results.items():
        if r.method == "direct" and read_pass:
            info = r.setup
            echo(f"{m}: exact least squares from {info.passes} read pass(es) of A and b"
                 f" ({info.algorithm}, cond ~ {info.condition:.1e}) in "
                 f"{r.setup_seconds:.2f} s"
                 f" = {r.setup_seconds / read_pass:.1f}x one plain read pass "
                 f"({read_pass:.2f} s); {info.backups} backup task(s)")
    for line in _theory_lines(results):
        echo(line)
    echo(f"wrote {out_dir}/ ({_listing(out_dir)})")
    return out_dir


def _theory_lines(results: dict) -> list[str]:
    """Per method whose rounds are block sketches: GC Theorems 1, 3 and 7 as measured."""
    lines = []
    for m, r in results.items():
        parts = []
        e = r.embedding
        if e is not None:
            servers = "" if e.n_servers is None else f" of m={e.n_servers}"
            parts.append(f"embedding error at q={e.q}{servers}: median {e.median:.3f}, "
                         f"{1 - e.delta:.0%} quantile {e.quantile:.3f} (Theorem 1's eps "
                         f"{e.theorem1:.3f} at beta {e.beta:.2f})")
        t3 = r.theorem3
        if t3 is not None:
            ratio = "" if t3["max_ratio"] is None else f", largest ratio {t3['max_ratio']:.2f}"
            parts.append(f"Theorem 3 held in {t3['held']}/{t3['rounds']} sampled rounds{ratio}")
        dist = r.distinct_blocks
        if dist is not None and dist["measured"] is not None:
            parts.append(f"distinct blocks per round {dist['measured']:.2f} (Theorem 7: "
                         f"{dist['expected']:.2f})")
        if parts:
            lines.append(f"{m}: " + "; ".join(parts))
    return lines


#: Generated inputs up to this size get their true relative error checked on the client.
MATMUL_CHECK_MAX = 2048


def _matmul_operand(op, name: str, echo: Callable[[str], None]) -> None:
    """Write a generated operand when absent; check a stored one's generator otherwise."""
    from ..io import generate_matrix, matrix_attrs

    if op.generate is None:
        if not op.path.exists():
            raise InputError(f"{name} {op.path} does not exist; give {name}.generate to "
                             "create it")
        return
    if op.path.exists():
        stored = matrix_attrs(op.path).get("dask_coded", {}).get("generator", {})
        if any(stored.get(k) != v for k, v in op.generate.items()):
            raise InputError(f"{name} {op.path} was generated with {stored or 'no generator'},"
                             f" not {dict(op.generate)}; delete it or change {name}.path")
        return
    echo(f"generating {op.path} ({op.generate['n']} x {op.generate['n']})")
    generate_matrix(op.path, op.generate["n"], op.generate["seed"])


def check_matmul_inputs(cfg) -> None:
    """The stored operands (and the code file) are readable and their shapes fit ``m``."""
    from ..codes import load_code
    from ..io import matrix_info

    (_, inner), _ = matrix_info(cfg.a.path, "a")
    (inner_b, _), _ = matrix_info(cfg.b.path, "b")
    if inner != inner_b:
        raise InputError(f"a has {inner} columns and b has {inner_b} rows: A B is not defined")
    m = load_code(cfg.code).m if cfg.code.endswith(".npz") else cfg.m
    if m > inner:
        raise InputError(f"m={m} exceeds the inner dimension N={inner}")


def matmul_run(cfg, *, echo: Callable[[str], None] = _echo,
               config_file: str | None = None) -> Path:
    """Run ``cfg`` (a :class:`~dask_coded.config.MatmulConfig`): the coded product C = A B.

    Writes ``C.zarr`` and ``report.json`` into ``cfg.output.dir`` (built aside, then renamed
    into place) and echoes the error estimate, the servers used and, for small generated
    inputs, the relative error against A B computed here from the same stored inputs.
    ``config_file`` is the config's path as the user gave it (default ``cfg.source``), for
    the report.

    Returns
    -------
    Path
        The output folder.
    """
    from ..cluster import connect
    from ..executor import ServersLost, StragglerTimeout
    from ..io import open_matrix
    from ..matmul import matmul

    out_dir = cfg.output.dir
    check_replaceable_dir(out_dir, OUTPUT_MARKER)
    t_start = time.perf_counter()
    _matmul_operand(cfg.a, "a", echo)
    _matmul_operand(cfg.b, "b", echo)
    check_matmul_inputs(cfg)  # before a cluster is started
    cl = cfg.cluster
    with connect(cl.scheduler, n_workers=cl.workers, threads_per_worker=cl.threads_per_worker,
                 timeout=cl.timeout, security=cl.client_security(), dashboard=cl.dashboard,
                 announce=announce_dashboard) as client, \
            atomic_dir(out_dir, marker=OUTPUT_MARKER) as tmp:
        try:
            res = matmul(str(cfg.a.path), str(cfg.b.path), code=cfg.code, m=cfg.m,
                         n_servers=cfg.n_servers, eps=cfg.eps, deadline=cfg.deadline,
                         stragglers=cfg.stragglers, client=client, out=tmp / "C.zarr",
                         tile=cfg.tile, points=cfg.points, seed=cfg.seed)
        except (StragglerTimeout, ServersLost) as exc:
            raise RunStopped(str(exc)) from exc
        true_error = None
        n, k = res.C.shape
        if cfg.a.generate and cfg.b.generate and max(n, k, open_matrix(cfg.a.path).shape[1]) \
                <= MATMUL_CHECK_MAX:
            exact = open_matrix(cfg.a.path).compute() @ open_matrix(cfg.b.path).compute()
            true_error = float(np.linalg.norm(np.asarray(res.C[...]) - exact)
                               / np.linalg.norm(exact))
        report = {"dask_coded": {"version": _version(), "command": "matmul"},
                  "config_file": str(config_file or cfg.source), "config": cfg.to_dict(),
                  "result": res.summary(), "true_relative_error": true_error,
                  "wall_seconds": time.perf_counter() - t_start}
        (tmp / REPORT).write_text(json.dumps(_jsonable(report), indent=1, allow_nan=False))
    used = sorted({int(s) for tile in res.servers_used for s in tile})
    counts = sorted({len(tile) for tile in res.servers_used})
    echo(f"C = A B   {n} x {k}, code {res.code}, m={res.m}, P={res.n_servers}, "
         f"{len(res.tiles)} tile(s), {res.seconds:.2f} s")
    echo(f"servers used per tile: {'/'.join(map(str, counts))} of {res.n_servers} "
         f"(recovery threshold {res.recovery_threshold}); servers {used}")
    echo(f"error estimate {res.error_estimate:.2e}")
    if res.freivalds is not None:
        # independent of the code: A (B x) by the workers from the stored A and B themselves
        echo(f"Freivalds check {res.freivalds:.2e} (||C x - A (B x)|| / ||A (B x)||, 3 "
             "seeded Gaussian x, A (B x) from the stored A and B; estimates the true "
             "relative error)")
    if true_error is not None:
        # a reference of the same stored inputs: it checks the coding, not the stores
        echo(f"true relative error {true_error:.2e} (against numpy's A @ B of the same "
             f"stored A and B, on the client: inputs up to {MATMUL_CHECK_MAX})")
    echo(f"wrote {out_dir}/ ({_listing(out_dir)})")
    return out_dir

