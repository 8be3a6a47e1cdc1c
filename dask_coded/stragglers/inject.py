"""Real stragglers: throttled and killed worker processes, for experiments.

Unlike the model stragglers of :mod:`dask_coded.stragglers.scenario`, these touch real
processes, as DESIGN.md ("Stragglers, honestly") asks:

* :func:`throttle` makes worker processes really ``factor`` times slower by duty-cycling them
  with SIGSTOP/SIGCONT from a helper process on their host (CPU, memory bandwidth, the event
  loop and heartbeats all slow down together, as on an overloaded machine);
* :func:`kill_workers` SIGKILLs worker processes mid-run;
* :func:`start_throttles` and :func:`apply_round_faults` carry out a
  :class:`~dask_coded.stragglers.scenario.StragglerScenario`'s throttles and kills.

The helper is the package run as a script (``python -m dask_coded.stragglers throttle PID
FACTOR PERIOD``: ``dask_coded/stragglers/__main__.py`` calls :func:`main`); it always leaves
its target running (SIGCONT) when it exits, whether it is told to stop (SIGTERM, SIGINT,
SIGHUP) or its target has died. Only SIGKILL of the helper can leave a worker stopped;
:meth:`Throttle.stop` continues the workers on its own host itself.

POSIX only (signals, sessions).
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..kernels import checks
from .scenario import StragglerScenario

__all__ = [
    "Frozen",
    "RunFaults",
    "Throttle",
    "apply_round_faults",
    "freeze",
    "kill_workers",
    "main",
    "start_throttles",
    "throttle",
    "worker_pids",
]

# The helper's command line: python -m dask_coded.stragglers throttle PID FACTOR PERIOD (the
# package's __main__.py; not "-m dask_coded.stragglers.inject", which the package __init__
# imports first, so that runpy would warn of running a second copy of it).
_HELPER_MODULE = "dask_coded.stragglers"
_HELPER_COMMAND = "throttle"
_READY = b"ready\n"


# ---------------------------------------------------------------------------- validation


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A Generator from a Generator, a seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (checks.is_integer(rng) and rng >= 0):
        return np.random.default_rng(rng)
    raise InputError(f"rng must be a numpy.random.Generator, a seed >= 0 or None, "
                     f"got {rng!r}")


# ---------------------------------------------------------------------------- the helper


class _StopThrottle(Exception):
    """Raised by the helper's signal handler to leave its duty cycle at once."""


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _on_stop_signal(signum: int, frame: Any) -> None:
    # Ignore further stop signals first, so that a second SIGTERM cannot interrupt the
    # final SIGCONT in the loop's ``finally``.
    for s in _STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise _StopThrottle


def _throttle_loop(pid: int, factor: float, period: float) -> int:
    """Duty-cycle process ``pid`` so that it runs ``1 / factor`` of the wall time.

    Each cycle lets it run ``period / factor`` seconds, then stops it for ``factor - 1`` times
    as long as it *actually* ran: on a busy host this helper wakes late to send SIGSTOP, and a
    fixed schedule would hand that lateness to the target as extra running time. The stop
    phase is capped at 10 periods, so that one long stall of this helper cannot freeze the
    target for seconds.
    """
    parent = os.getppid()
    # Spawned by the worker itself: when the worker dies this helper is re-parented, which
    # tells us at once and before its pid can be reused by another process.
    watch_parent = parent == pid
    run = period / factor
    try:
        os.kill(pid, 0)  # fail before "ready" if the target is gone or not ours
    except (ProcessLookupError, PermissionError) as exc:
        print(f"cannot throttle pid {pid}: {exc}", file=sys.stderr)
        return 1
    try:
        # Installed inside the try: a stop signal at any point from here on ends in the
        # ``finally`` below, which continues the target.
        for s in _STOP_SIGNALS:
            signal.signal(s, _on_stop_signal)
        sys.stdout.buffer.write(_READY)
        sys.stdout.flush()
        while True:
            started = time.monotonic()
            os.kill(pid, signal.SIGCONT)
            time.sleep(run)
            if watch_parent and os.getppid() != parent:
                break
            os.kill(pid, signal.SIGSTOP)
            ran = time.monotonic() - started
            time.sleep(min((factor - 1.0) * ran, 10.0 * period))
    except (_StopThrottle, ProcessLookupError):
        pass
    finally:
        for s in _STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        try:
            os.kill(pid, signal.SIGCONT)  # never leave the target stopped
        except ProcessLookupError:
            pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the throttle helper: ``throttle PID FACTOR PERIOD``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 after a clean stop, 1 if the target cannot be signalled, 2 on a usage
        error.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    usage = f"usage: python -m {_HELPER_MODULE} {_HELPER_COMMAND} PID FACTOR PERIOD"
    if len(args) != 4 or args[0] != _HELPER_COMMAND:
        print(usage, file=sys.stderr)
        return 2
    try:
        pid, factor, period = int(args[1]), float(args[2]), float(args[3])
    except ValueError:
        print(usage, file=sys.stderr)
        return 2
    if pid <= 0 or not factor >= 1.0 or not 0.0 < period < math.inf:
        print(f"{usage}\n(PID > 0, FACTOR >= 1, 0 < PERIOD)", file=sys.stderr)
        return 2
    return _throttle_loop(pid, factor, period)


# ---------------------------------------------------------------------------- worker side

#: Helper processes started by this (worker) process: pid -> Popen. A helper is a child of
#: the worker, so only the worker can reap it; a thread per helper waits for it, so that an
#: exited helper never lingers as a zombie (which ``os.kill(pid, 0)`` would still find).
_HELPERS: dict[int, subprocess.Popen] = {}


def _reap(proc: subprocess.Popen) -> None:
    proc.wait()
    _HELPERS.pop(proc.pid, None)


async def _spawn_helper(factor: float, period: float, timeout: float) -> dict[str, Any]:
    """Run on a worker: start a throttle helper aimed at this process; return its identity."""
    env = dict(os.environ)
    # The helper must import this package even if the worker found it through a path that is
    # not on the default sys.path (a source checkout added at run time): the folder that holds
    # dask_coded/, two levels above this dask_coded/stragglers/inject.py.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", _HELPER_MODULE, _HELPER_COMMAND, str(os.getpid()),
         repr(float(factor)), repr(float(period))],
        start_new_session=True,  # out of the worker's process group: no shared ^C or SIGSTOP
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _HELPERS[proc.pid] = proc
    threading.Thread(target=_reap, args=(proc,), daemon=True,
                     name=f"reap-throttle-{proc.pid}").start()
    # Wait (off the event loop) for "ready": the helper imports for about a second, and a
    # throttle that returned before it starts would make the first measurements lie.
    loop = asyncio.get_running_loop()
    try:
        line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline),
                                      timeout)
    except asyncio.TimeoutError:
        proc.terminate()
        raise RuntimeError(f"throttle helper {proc.pid} did not start within "
                           f"{timeout:g} s") from None
    if line != _READY:
        while proc.returncode is None:
            await asyncio.sleep(0.01)
        err = proc.stderr.read().decode(errors="replace").strip().splitlines()
        proc.stdout.close()
        proc.stderr.close()
        raise RuntimeError(f"throttle helper exited with status {proc.returncode}: "
                           f"{err[-1] if err else 'no message'}")
    # Nothing more is read from the helper; its later writes (none expected) get EPIPE.
    proc.stdout.close()
    proc.stderr.close()
    return {"pid": proc.pid, "worker_pid": os.getpid(), "host": socket.gethostname()}


async def _stop_helpers(pids: Sequence[int], timeout: float) -> list[int]:
    """Run on a worker: SIGTERM its helpers among ``pids``; return those still running."""
    mine = [_HELPERS[p] for p in pids if p in _HELPERS]
    for proc in mine:
        if proc.returncode is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    # returncode is set by the reaper thread once the helper has exited and been reaped.
    while any(p.returncode is None for p in mine) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return [p.pid for p in mine if p.returncode is None]


def _kill_self() -> None:
    """Run on a worker: die at once, as a crashed machine would (no cleanup, no goodbye)."""
    os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------- client side


def _live_workers(client: Any) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def worker_pids(client: Any) -> dict[str, int]:
    """Process id of every worker.

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    dict of str to int
        Worker address -> pid (in the worker host's pid namespace).
    """
    return client.run(os.getpid)


def _helper_is_local(info: Mapping[str, Any]) -> bool:
    """True when the helper runs on this host, in this pid namespace, and is still ours."""
    if info["host"] != socket.gethostname():
        return False
    # Same host name is not enough (containers share names); check the pid is our helper,
    # aimed at our worker, before signalling it from here.
    try:
        argv = Path(f"/proc/{info['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    want = [_HELPER_MODULE.encode(), _HELPER_COMMAND.encode(), str(info["worker_pid"]).encode()]
    return all(w in argv for w in want)


def _gone(pid: int) -> bool:
    """True when process ``pid`` has exited (a zombie counts: it runs and signals nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return True  # exists but someone else's: our helper's pid was reused, so ours is gone
    try:
        # A helper whose worker died is re-parented; until its new parent reaps it (some
        # container inits never do) it lingers as a zombie that kill(pid, 0) still finds.
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


class Throttle:
    """Handle on running throttle helpers; stop them with :meth:`stop` or a ``with`` block.

    Attributes
    ----------
    addresses : tuple of str
        The throttled workers.
    factor, period : float
        Slowdown factor and duty-cycle period (seconds).
    helpers : dict of str to dict
        Worker address -> ``{"pid", "worker_pid", "host", "local"}`` of its helper process
        (``local``: on this host, so that it can be signalled from here).
    """

    def __init__(self, client: Any, addresses: Sequence[str], factor: float, period: float,
                 helpers: Mapping[str, Mapping[str, Any]]):
        self.client = client
        self.addresses = tuple(addresses)
        self.factor = factor
        self.period = period
        self.helpers = {a: dict(h) for a, h in helpers.items()}

    @property
    def active(self) -> bool:
        """True until :meth:`stop` has run."""
        return bool(self.helpers)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every helper and wait until it has exited; the workers run at full speed.

        Helpers on this host are signalled from here (a throttled worker answers
        ``client.run`` only while running, about ``1 / factor`` of the time); others through
        ``client.run`` on their worker. Safe to call twice.

        Parameters
        ----------
        timeout : float
            Seconds to wait for the helpers to exit.

        Raises
        ------
        RuntimeError
            A remote helper did not exit within ``timeout``.
        """
        helpers, self.helpers = self.helpers, {}
        local = {a: h for a, h in helpers.items() if h["local"]}
        # A dead worker's helper has already exited by itself (its target is gone).
        live = set(_live_workers(self.client)) if len(local) < len(helpers) else set()
        remote = {a: h for a, h in helpers.items() if not h["local"] and a in live}
        for h in local.values():
            try:
                os.kill(h["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass
        stuck: list[int] = []
        if remote:
            try:
                left = self.client.run(_stop_helpers, [h["pid"] for h in remote.values()],
                                       timeout, workers=list(remote), on_error="return")
            except OSError:
                left = {}  # the workers are gone, and with them their helpers
            for res in left.values():
                if isinstance(res, list):
                    stuck.extend(res)
        deadline = time.monotonic() + timeout
        for h in local.values():
            # Gone means reaped by the worker's reaper thread, not only exited.
            while not _gone(h["pid"]) and time.monotonic() < deadline:
                time.sleep(0.005)
            if not _gone(h["pid"]) and _helper_is_local(h):
                os.kill(h["pid"], signal.SIGKILL)  # it may have left the worker stopped:
            try:
                os.kill(h["worker_pid"], signal.SIGCONT)  # continue it in every case
            except ProcessLookupError:
                pass
        if stuck:
            raise RuntimeError(f"throttle helpers {stuck} did not exit within {timeout:g} s")

    def __enter__(self) -> Throttle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        return (f"Throttle({list(self.addresses)}, factor={self.factor:g}, "
                f"period={self.period:g}, {state})")


def throttle(client: Any, addresses: str | Sequence[str], factor: float, *,
             period: float = 0.05, timeout: float = 30.0) -> Throttle:
    """Make worker processes really ``factor`` times slower until the handle is stopped.

    A helper process on each worker's host lets the worker run ``period / factor`` seconds of
    every ``period`` (SIGCONT) and stops it for the rest (SIGSTOP). Everything in the process
    slows down: its tasks, its event loop, its heartbeats and transfers. Short tasks see the
    duty cycle as jitter; tasks much longer than ``period`` run ``factor`` times longer.

    It is a cap on wall time, like a CPU quota, not a share: on an oversubscribed host where
    an unthrottled worker gets only ``1/k`` of a core, the throttled one (which the kernel
    favours when it wakes) is only about ``factor / k`` times slower than its neighbours.
    Keep ``period`` short: a worker stopped for seconds at a time logs "Event loop was
    unresponsive", and one stopped longer than the scheduler's ``worker-ttl`` is removed.

    Parameters
    ----------
    client : distributed.Client
    addresses : str or sequence of str
        Worker addresses to throttle.
    factor : float
        Slowdown, >= 1 (1 starts nothing).
    period : float
        Duty-cycle period in seconds, > 0. Shorter is smoother and costs more signals.
    timeout : float
        Seconds to wait for the helpers to start (they import this package).

    Returns
    -------
    Throttle
        Call :meth:`Throttle.stop`, or use it as a context manager.

    Raises
    ------
    InputError
        Bad factor or period, no address, or an address that is not a live worker.
    """
    factor = checks.real("factor", factor, low=1)
    period = checks.positive("period", period)
    addrs = [addresses] if isinstance(addresses, str) else list(addresses)
    if not addrs:
        raise InputError("addresses is empty: name at least one worker to throttle")
    live = set(_live_workers(client))
    for a in addrs:
        if a not in live:
            raise InputError(f"{a!r} is not a live worker of this cluster")
    if len(set(addrs)) != len(addrs):
        raise InputError("addresses lists a worker twice")
    if factor == 1.0:
        return Throttle(client, addrs, factor, period, {})
    results = client.run(_spawn_helper, factor, period, timeout, workers=addrs,
                         on_error="return")
    started = {a: {**r, "local": _helper_is_local(r)} for a, r in results.items()
               if isinstance(r, dict)}
    handle = Throttle(client, addrs, factor, period, started)
    failed = {a: r for a, r in results.items() if not isinstance(r, dict)}
    if failed:
        handle.stop()  # do not leave the others throttled behind a raised error
        addr, err = next(iter(failed.items()))
        raise RuntimeError(f"could not throttle {addr}: {err}")
    return handle


class Frozen:
    """Worker processes stopped by :func:`freeze`; :meth:`thaw` (or the ``with`` block's end)
    continues them."""

    def __init__(self, pids: dict[str, int]):
        self.pids = dict(pids)
        self.stopped_at = time.monotonic()

    @property
    def addresses(self) -> list[str]:
        return sorted(self.pids)

    def thaw(self) -> None:
        """SIGCONT every frozen worker still alive (idempotent)."""
        for pid in self.pids.values():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.pids = {}

    def __enter__(self) -> Frozen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.thaw()


def freeze(client: Any, addresses: str | Sequence[str]) -> Frozen:
    """Stop worker processes with SIGSTOP until the handle thaws them: a worker that does not
    come back (a long GC pause, swapping, a VM migration), not a slow one (:func:`throttle`).

    The process keeps its sockets, so connections to it are accepted by the kernel and never
    answered, and the scheduler sees it alive until its heartbeats are missed for
    ``distributed.scheduler.worker-ttl`` (5 minutes by default). Workers on this host only
    (the signal is sent from here).

    Parameters
    ----------
    client : distributed.Client
    addresses : str or sequence of str
        Live workers to freeze.

    Returns
    -------
    Frozen
        Use as a context manager, or call :meth:`Frozen.thaw`.

    Raises
    ------
    InputError
        No address, an address that is not a live worker, or a worker on another host.
    """
    addrs = [addresses] if isinstance(addresses, str) else list(addresses)
    if not addrs:
        raise InputError("addresses is empty: name at least one worker to freeze")
    live = set(_live_workers(client))
    for a in addrs:
        if a not in live:
            raise InputError(f"{a!r} is not a live worker of this cluster")
    hosts = client.run(socket.gethostname, workers=addrs)
    elsewhere = [a for a, h in hosts.items() if h != socket.gethostname()]
    if elsewhere:
        raise InputError(f"can only freeze workers on this host; {elsewhere[0]} is on "
                         f"{hosts[elsewhere[0]]}")
    pids = client.run(os.getpid, workers=addrs)
    for pid in pids.values():
        os.kill(pid, signal.SIGSTOP)
    return Frozen(pids)


def kill_workers(client: Any, n: int, *, rng: np.random.Generator | int | None = None,
                 exclude: str | Iterable[str] = (), timeout: float = 10.0) -> list[str]:
    """SIGKILL ``n`` worker processes and wait until the scheduler has dropped them.

    Each chosen worker kills its own process, as a crash would: no graceful shutdown, its
    in-memory data lost. A nanny restarts a *new* worker (new address) a moment later.

    Parameters
    ----------
    client : distributed.Client
    n : int
        Number of workers to kill, >= 0; at least one live worker must survive.
    rng : numpy.random.Generator or int, optional
        Picks the victims among the live workers (sorted by address), so that a seeded
        generator kills the same ones in the same cluster. None: fresh randomness.
    exclude : str or iterable of str
        Addresses never to kill.
    timeout : float
        Seconds to wait for the scheduler to drop them.

    Returns
    -------
    list of str
        The killed addresses, sorted.

    Raises
    ------
    InputError
        ``n`` would kill every worker, or fewer than ``n`` workers are not excluded.
    TimeoutError
        The scheduler still lists a killed worker after ``timeout``.
    """
    from distributed.comm import CommClosedError

    n = checks.integer("n", n, 0)
    rng = _as_rng(rng)
    excluded = {exclude} if isinstance(exclude, str) else set(exclude)
    live = _live_workers(client)
    if n == 0:
        return []
    if n >= len(live):
        raise InputError(f"refusing to kill {n} of the {len(live)} live workers: "
                         f"at least one must survive")
    candidates = [w for w in live if w not in excluded]
    if n > len(candidates):
        raise InputError(f"cannot kill {n} workers: only {len(candidates)} live workers "
                         f"are not excluded")
    chosen = [candidates[i] for i in sorted(rng.choice(len(candidates), size=n, replace=False))]
    # The reply never comes: the scheduler's broadcast sees the connection close (and logs
    # it), and on_error="return" hands us a CommClosedError per victim instead of raising.
    try:
        results = client.run(_kill_self, workers=chosen, on_error="return")
    except (CommClosedError, OSError):
        results = {}
    for addr, res in results.items():
        if isinstance(res, BaseException) and not isinstance(res, (CommClosedError, OSError)):
            raise RuntimeError(f"could not kill worker {addr}: {res!r}")
    deadline = time.monotonic() + timeout
    while True:
        listed = set(_live_workers(client)) & set(chosen)
        if not listed:
            return chosen
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers {sorted(listed)} are still listed by the scheduler "
                               f"{timeout:g} s after SIGKILL")
        time.sleep(0.05)


def apply_round_faults(client: Any, scenario: StragglerScenario, round_id: int,
                       rng: np.random.Generator | int | None = None) -> list[str]:
    """Kill the workers the scenario schedules for just before ``round_id``.

    Parameters
    ----------
    client : distributed.Client
    scenario : StragglerScenario
    round_id : int
        The round about to start.
    rng : numpy.random.Generator or int, optional
        Picks the victims; default the scenario's own seeded generator for that round
        (:meth:`StragglerScenario.fault_rng`), so reruns kill the same workers.

    Returns
    -------
    list of str
        Killed addresses (empty when nothing is scheduled for this round).
    """
    if not isinstance(scenario, StragglerScenario):
        raise InputError(f"scenario must be a StragglerScenario, got {type(scenario).__name__}")
    n = scenario.kills_at(round_id)
    if n == 0:
        return []
    try:
        return kill_workers(client, n, rng=scenario.fault_rng(round_id) if rng is None else rng)
    except InputError as exc:
        raise InputError(f"kill at round {round_id}: {exc}") from None


class RunFaults:
    """The throttled and frozen workers of a run; :meth:`stop` ends both."""

    def __init__(self, throttled: Throttle | None, frozen: Frozen | None):
        self.throttled, self.frozen = throttled, frozen

    @property
    def addresses(self) -> list[str]:
        return sorted([*(self.throttled.addresses if self.throttled else ()),
                       *(self.frozen.addresses if self.frozen else ())])

    def stop(self, timeout: float = 10.0) -> None:
        try:
            if self.throttled is not None:
                self.throttled.stop(timeout)
        finally:
            if self.frozen is not None:
                self.frozen.thaw()


def start_throttles(client: Any, scenario: StragglerScenario, *,
                    period: float = 0.05) -> RunFaults | None:
    """Throttle the scenario's ``throttle_workers`` workers (a fixed seeded choice) and
    freeze its ``freeze_workers`` (chosen from the others).

    Parameters
    ----------
    client : distributed.Client
    scenario : StragglerScenario
    period : float
        Duty-cycle period, seconds (see :func:`throttle`).

    Returns
    -------
    RunFaults or None
        None when the scenario throttles and freezes nothing; otherwise stop it when the
        run ends.
    """
    if not isinstance(scenario, StragglerScenario):
        raise InputError(f"scenario must be a StragglerScenario, got {type(scenario).__name__}")
    k = scenario.throttle_workers if scenario.throttles else 0
    f = scenario.freeze_workers
    if not k and not f:
        return None
    live = _live_workers(client)
    if k + f > len(live):
        what = "throttle.workers + freeze.workers" if f and k else (
            "throttle.workers" if k else "freeze.workers")
        raise InputError(f"{what} is {k + f} but the cluster has {len(live)} workers")
    rng = scenario.throttle_rng()
    idx = rng.choice(len(live), size=k, replace=False)  # the throttled, as ever
    rest = np.setdiff1d(np.arange(len(live)), idx)
    frz = rng.choice(rest, size=f, replace=False) if f else []
    throttled = (throttle(client, [live[i] for i in sorted(idx)], scenario.throttle_factor,
                          period=period) if k else None)
    try:
        frozen = freeze(client, [live[i] for i in sorted(frz)]) if f else None
    except BaseException:
        if throttled is not None:
            throttled.stop()
        raise
    return RunFaults(throttled, frozen)
