"""Connecting to a Dask cluster: an embedded LocalCluster by default, or a scheduler address.

Only sets up and tears down clients; the coded executor (next layer) is the one module that
handles futures.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from .errors import InputError


def default_workers() -> int:
    """Worker processes for the embedded cluster: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def connect(scheduler: str | None = None, *, n_workers: int | None = None,
            threads_per_worker: int = 1, processes: bool = True,
            memory_limit: str | None = "auto", timeout: float = 10.0) -> Iterator:
    """A ``distributed.Client``: to ``scheduler`` if given, else to a new LocalCluster.

    Parameters
    ----------
    scheduler : str, optional
        Address such as ``tcp://10.0.0.5:8786``.
    n_workers : int, optional
        Embedded cluster only: worker processes (default :func:`default_workers`).
    threads_per_worker : int
        Embedded cluster only. One thread per worker keeps BLAS single threaded per worker
        (nanny workers set ``OMP/MKL/OPENBLAS_NUM_THREADS=1``), so timings are comparable.
    processes : bool
        Embedded cluster only: worker processes (True) or threads in this process.
    timeout : float
        Seconds to wait for a scheduler to answer.

    Raises
    ------
    InputError
        No scheduler answers at ``scheduler`` within ``timeout``.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"no Dask scheduler answers at {scheduler!r} within {timeout:g} s "
                             f"({type(exc).__name__})") from None
        try:
            yield client
        finally:
            client.close()
        return
    n_workers = default_workers() if n_workers is None else n_workers
    if n_workers < 1:
        raise InputError(f"n_workers must be >= 1, got {n_workers}")
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                           processes=processes, dashboard_address=":0",
                           memory_limit=memory_limit,
                           # a task that raises InputError is reported once, by the client
                           silence_logs=logging.CRITICAL)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
