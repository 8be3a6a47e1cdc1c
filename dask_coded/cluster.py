"""Connecting to a Dask cluster: an embedded LocalCluster by default, or a scheduler address.

Only sets up and tears down clients; the coded executor (next layer) is the one module that
handles futures.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import ssl
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError
from .kernels import checks


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
    n_workers = checks.integer("n_workers",
                               default_workers() if n_workers is None else n_workers, 1)
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


# ------------------------------------------------------------------ the shared embedded cluster

_EMBEDDED: dict = {}
_EMBEDDED_LOCK = threading.Lock()


def spawn_safe() -> bool:
    """Whether worker processes can be spawned from this program.

    Spawned workers re-import the main module. That is harmless in an interactive session,
    a notebook or ``python -c`` (no main file), and in a script whose calls sit under
    ``if __name__ == "__main__":``; a plain script without that guard would run itself again
    in every worker, and one read from standard input cannot be re-imported at all.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return False
    return "__main__" in text


def current_client():
    """The process's default ``distributed.Client`` (the one ``Client()`` set), or None."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def embedded_client():
    """This process's shared embedded cluster, started on first use and closed at exit.

    API calls given no client share it instead of starting a cluster each (that took
    seconds per call). Worker processes (:func:`default_workers`, one thread each) when
    :func:`spawn_safe`, else threads in this process, so a plain script without a
    ``__main__`` guard still works. It is not made the default client of the process.
    """
    from distributed import Client, LocalCluster

    with _EMBEDDED_LOCK:
        client = _EMBEDDED.get("client")
        if client is not None and client.status == "running":
            return client
        _close_embedded()
        processes = spawn_safe()
        cluster = LocalCluster(n_workers=default_workers(), threads_per_worker=1,
                               processes=processes, dashboard_address="127.0.0.1:0",
                               silence_logs=logging.CRITICAL)
        client = Client(cluster, set_as_default=False)
        if not _EMBEDDED.get("registered"):
            atexit.register(_close_embedded)
        _EMBEDDED.update(client=client, cluster=cluster, processes=processes,
                         registered=True)
        return client


@contextlib.contextmanager
def client_context(client=None):
    """The given client, the current default client, or the shared embedded cluster."""
    if client is None:
        client = current_client()
    yield embedded_client() if client is None else client


def embedded_has_processes() -> bool:
    """Whether the shared embedded cluster runs worker processes (see :func:`spawn_safe`)."""
    return bool(_EMBEDDED.get("processes", spawn_safe()))


def _close_embedded() -> None:
    client, cluster = _EMBEDDED.pop("client", None), _EMBEDDED.pop("cluster", None)
    with contextlib.suppress(Exception):
        if client is not None:
            client.close()
    with contextlib.suppress(Exception):
        if cluster is not None:
            cluster.close()
