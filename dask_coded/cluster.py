"""Connecting to a Dask cluster: an embedded LocalCluster by default, or a scheduler address.

Only sets up and tears down clients; the coded executor (next layer) is the one module that
handles futures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections.abc import Iterator

from .errors import InputError


def _one_line(exc: BaseException) -> str:
    """``exc`` (or the SSL error under it) as one short line."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError):
        exc = cause
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        text = f"certificate verify failed: {exc.verify_message}"
    elif isinstance(exc, ssl.SSLError) and exc.reason:
        text = f"{exc.reason} ({exc.library or 'SSL'})"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _connect_error(scheduler: str, timeout: float, security, exc: Exception) -> InputError:
    """The one-line InputError for a failed ``Client(scheduler)``."""
    from distributed.comm.core import CommClosedError, FatalCommClosedError

    tls = scheduler.startswith("tls://")
    if tls and security is None:
        return InputError(f"the scheduler address {scheduler!r} is tls:// but no TLS security "
                          f"settings were given (cluster.security)")
    if security is not None and isinstance(exc, (FileNotFoundError, IsADirectoryError,
                                                 PermissionError, ssl.SSLError)):
        return InputError(f"cannot load the TLS certificates for {scheduler!r}: "
                          f"{_one_line(exc)}")
    if isinstance(exc, FatalCommClosedError) or (tls and isinstance(exc, ssl.SSLError)):
        return InputError(f"TLS handshake with the scheduler at {scheduler!r} failed: "
                          f"{_one_line(exc)}")
    if isinstance(exc, RuntimeError) and "encryption required" in str(exc):
        return InputError(f"TLS is required but the scheduler address {scheduler!r} is not "
                          f"tls://")
    if isinstance(exc, CommClosedError) and not tls:
        return InputError(f"the Dask scheduler at {scheduler!r} closed the connection "
                          f"({_one_line(exc)}); if it requires TLS, give a tls:// address "
                          f"and TLS security settings (cluster.security)")
    if isinstance(exc, (OSError, TimeoutError, ValueError)):
        return InputError(f"no Dask scheduler answers at {scheduler!r} within {timeout:g} s "
                          f"({type(exc).__name__})")
    return InputError(f"cannot connect to the Dask scheduler at {scheduler!r}: "
                      f"{type(exc).__name__}: {_one_line(exc)}")


def default_workers() -> int:
    """Worker processes for the embedded cluster: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def connect(scheduler: str | None = None, *, n_workers: int | None = None,
            threads_per_worker: int = 1, processes: bool = True,
            memory_limit: str | None = "auto", timeout: float = 10.0,
            security=None) -> Iterator:
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
    security : distributed.security.Security, optional
        TLS settings of the client, for a ``tls://`` scheduler. Without ``scheduler``, the
        embedded cluster listens on ``tls://`` with them (they then need the scheduler and
        worker certificates too, as ``Security.temporary()`` gives).

    Raises
    ------
    InputError
        No scheduler answers at ``scheduler`` within ``timeout``, or TLS fails (a missing or
        unreadable certificate, a certificate the other side does not trust, a ``tls://``
        scheduler without ``security`` or ``security`` with a scheduler that is not ``tls://``).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if (security is not None and security.require_encryption
                and not scheduler.startswith("tls://")):
            raise InputError(f"TLS security settings require a tls:// scheduler address, "
                             f"got {scheduler!r}")
        try:
            client = Client(scheduler, timeout=timeout, security=security)
        except (OSError, TimeoutError, ValueError, TypeError, RuntimeError) as exc:
            # TypeError: tls:// without an SSL context; RuntimeError: TLS required
            raise _connect_error(scheduler, timeout, security, exc) from None
        try:
            yield client
        finally:
            client.close()
        return
    n_workers = default_workers() if n_workers is None else n_workers
    if n_workers < 1:
        raise InputError(f"n_workers must be >= 1, got {n_workers}")
    tls = {} if security is None else {"security": security, "protocol": "tls://"}
    try:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                               processes=processes, dashboard_address=":0",
                               memory_limit=memory_limit,
                               # a task that raises InputError is reported once, by the client
                               silence_logs=logging.CRITICAL, **tls)
    except (OSError, ssl.SSLError, TypeError) as exc:
        if security is None:
            raise
        raise InputError(f"cannot start an embedded TLS cluster: {_one_line(exc)}") from None
    client = Client(cluster, security=security)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
