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
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import InputError
from .kernels import checks

#: Where an embedded cluster's dashboard listens: this machine only, on a free port. The
#: dashboard has no authentication and shows (and lets anyone cancel) every task; binding
#: every interface (``":0"``) published it to the whole network.
DEFAULT_DASHBOARD = "127.0.0.1:0"

#: Level of an embedded cluster's scheduler and worker logs: warnings and errors show (a
#: worker near its memory limit, a task failing by a bug, a worker killed), information does
#: not. ``logging.CRITICAL`` hid all of them.
LOG_LEVEL = logging.WARNING


class _QuietInputErrors(logging.Filter):
    """Drops a worker's "Compute Failed" record of a task that raised our InputError.

    The client re-raises that error, and the command line prints it as its one line; the
    worker's multi-line log of the same error (with the task's traceback) would only repeat
    it. Every other failure is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith("Compute Failed")):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(a, str) and a.startswith("InputError(") for a in args)


def quiet_input_errors() -> None:
    """Install :class:`_QuietInputErrors` on this process's ``distributed.worker`` logger
    (once)."""
    log = logging.getLogger("distributed.worker")
    if not any(isinstance(f, _QuietInputErrors) for f in log.filters):
        log.addFilter(_QuietInputErrors())


def dask_setup(worker) -> None:
    """Worker preload hook (``preload=["dask_coded.cluster"]``): runs in every worker
    process of an embedded cluster, restarted ones included, before it takes tasks."""
    quiet_input_errors()


def _embedded_options(dashboard: str | None) -> dict:
    """The LocalCluster options every embedded cluster shares: dashboard, logs, preload."""
    quiet_input_errors()  # threads in this process log through this process's logger
    options = {"dashboard_address": dashboard, "silence_logs": LOG_LEVEL,
               "preload": ["dask_coded.cluster"]}
    if dashboard is None:
        # the scheduler's HTTP server (health, metrics) starts even without a dashboard,
        # on every interface's port 8787 when given no address: keep it local, on a free port
        options.update(dashboard_address=DEFAULT_DASHBOARD,
                       scheduler_kwargs={"dashboard": False})
    return options


def dashboard_link(client, dashboard: str) -> str:
    """The address of an embedded cluster's dashboard, as it was bound.

    ``client.dashboard_link`` takes the host from the scheduler's address, which for an
    in-process cluster is not the interface the dashboard listens on.
    """
    from distributed.utils import format_dashboard_link

    host = dashboard.rpartition(":")[0].strip("[]")
    port = client.scheduler_info().get("services", {}).get("dashboard")
    if port is None or host in ("", "0.0.0.0", "::"):
        return client.dashboard_link
    return format_dashboard_link(host, port)


def one_line(exc: BaseException) -> str:
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
                          f"{one_line(exc)}")
    if isinstance(exc, FatalCommClosedError) or (tls and isinstance(exc, ssl.SSLError)):
        return InputError(f"TLS handshake with the scheduler at {scheduler!r} failed: "
                          f"{one_line(exc)}")
    if isinstance(exc, RuntimeError) and "encryption required" in str(exc):
        return InputError(f"TLS is required but the scheduler address {scheduler!r} is not "
                          f"tls://")
    if isinstance(exc, CommClosedError) and not tls:
        return InputError(f"the Dask scheduler at {scheduler!r} closed the connection "
                          f"({one_line(exc)}); if it requires TLS, give a tls:// address "
                          f"and TLS security settings (cluster.security)")
    if isinstance(exc, (OSError, TimeoutError, ValueError)):
        return InputError(f"no Dask scheduler answers at {scheduler!r} within {timeout:g} s "
                          f"({type(exc).__name__})")
    return InputError(f"cannot connect to the Dask scheduler at {scheduler!r}: "
                      f"{type(exc).__name__}: {one_line(exc)}")


def default_workers() -> int:
    """Worker processes for the embedded cluster: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def connect(scheduler: str | None = None, *, n_workers: int | None = None,
            threads_per_worker: int = 1, processes: bool = True,
            memory_limit: str | None = "auto", timeout: float = 10.0,
            security=None, dashboard: str | None = DEFAULT_DASHBOARD,
            announce: Callable[[str], None] | None = None) -> Iterator:
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
    dashboard : str or None
        Embedded cluster only: ``HOST:PORT`` its dashboard listens on (default
        :data:`DEFAULT_DASHBOARD`, this machine only; port 0 picks a free one); None for
        no dashboard. ``":8787"`` would publish it on every interface.
    announce : callable, optional
        Embedded cluster only: called with the dashboard's address once the cluster is up
        (the command line prints it).

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
                               processes=processes, memory_limit=memory_limit,
                               # a task that raises InputError is reported once, by the
                               # client: _QuietInputErrors drops the workers' copy
                               **_embedded_options(dashboard), **tls)
    except (OSError, ssl.SSLError, TypeError) as exc:
        if security is None:
            raise
        raise InputError(f"cannot start an embedded TLS cluster: {one_line(exc)}") from None
    client = Client(cluster, security=security)
    if announce is not None and dashboard is not None:
        with contextlib.suppress(Exception):  # a link is a courtesy, never a failure
            announce(dashboard_link(client, dashboard))
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
                               processes=processes, **_embedded_options(DEFAULT_DASHBOARD))
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
