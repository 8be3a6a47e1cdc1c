"""The coded executor: the only module of dask_coded that handles ``distributed`` futures.

It knows nothing about least squares or MatDot. It places each *server*'s data on a worker
once, then runs *rounds*: one task per server over its resident data and the round's
parameter, returning as soon as ``q`` results have arrived or the deadline has passed.

The traps it is built around (DESIGN.md):

* Every server's data has its own key (``pure=False`` and an explicit key), so replicas of
  one block never collapse into one task, and the Active Memory Manager, which only trims
  extra copies of one key, leaves them alone.
* Server data is created by a task from a picklable loader (a store path and row range, or
  the block itself), restricted loosely to its worker: if the worker dies, the scheduler
  rebuilds the lost data on another worker from the same loader.
* Cancelling a running task does not stop its thread. Every result carries its round id and
  the collector drops any result whose id is not the current round's.
* Round tasks are pinned to the worker that holds their server's data, so work stealing
  never ships an encoded block across the network mid-round.
* A worker runs its ready tasks by priority. When servers outnumber a worker's threads,
  the first q arrivals would always be the first-queued servers, and a round submitted
  worker by worker lets the first worker start first. So each round is one graph update
  with priorities from one fresh random permutation of *all* servers: each server is then
  among the first q with the same probability (balanced, homogeneous workers), which is
  what the unbiasedness of the coded gradient (GC Theorem 2) rests on. What skew is
  left (unequal workers) the solvers correct by inclusion rates (Horvitz-Thompson).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import queue
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures import wait as wait_threads
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import InputError
from .kernels import checks

ON_SHORT = ("wait", "proceed", "fail")


class StragglerTimeout(RuntimeError):
    """Fewer than q servers answered by the deadline and the policy is "fail"."""


class ServersLost(RuntimeError):
    """Too many servers failed for a round to gather q results."""


class SchedulerUnresponsive(ServersLost):
    """The scheduler stopped answering (frozen: SIGSTOP, swap, an overloaded host)."""


class DataLost(ServersLost):
    """A pass over data resident on particular workers lost one of them: place the data
    again and rerun the pass (:func:`retry_after_scheduler_loss` does)."""


class _RoundRetry(Exception):
    """A round's results became unreachable (their worker froze): run the round again."""


class SchedulerLost(ServersLost):
    """The client lost its scheduler: every future, so every server's data, is gone.

    :meth:`CodedExecutor.recover` waits for the scheduler (restarted at the same address) and
    a worker, then places every server's data again from its loader.
    """


@dataclass
class RoundResult:
    """What one round gathered.

    Attributes
    ----------
    round_id : int
    servers : ndarray of int
        Servers whose results are used, in arrival order.
    arrival : ndarray of float
        Seconds from the round's start to each arrival (same order).
    values : list
        The results, same order.
    scale : float
        Factor that keeps a sum of the results unbiased: 1, or ``q / len(servers)`` when the
        "proceed" policy went ahead with fewer than q.
    seconds : float
        Wall time of the round.
    timed_out : bool
        The deadline passed before q results arrived.
    failed : list of int
        Servers whose task raised (for example, their worker died).
    dropped : int
        Results that arrived tagged with another round and were ignored.
    backups, backups_won : int
        Backup copies launched in a cover round, and groups whose result came from one.
    """

    round_id: int
    servers: np.ndarray
    arrival: np.ndarray
    values: list
    scale: float
    seconds: float
    timed_out: bool
    failed: list = field(default_factory=list)
    dropped: int = 0
    backups: int = 0
    backups_won: int = 0


def check_round(q: int, n_servers: int, deadline: float | None, on_short: str,
                q_min: int | None) -> int:
    """Validate a round's parameters (for every executor); returns ``q_min`` (default 1)."""
    if on_short not in ON_SHORT:
        raise InputError(f"unknown on_short policy {on_short!r}; choose one of "
                         f"{', '.join(ON_SHORT)}")
    checks.positive("deadline", deadline, finite=False, optional=True)
    if not 1 <= q <= n_servers:
        raise InputError(f"q must be between 1 and the {n_servers} servers of the round, "
                         f"got {q}")
    q_min = 1 if q_min is None else int(q_min)
    if not 1 <= q_min <= q:
        raise InputError(f"q_min must be between 1 and q={q}, got {q_min}")
    return q_min


def scheduler_lost(client, exc: BaseException) -> bool:
    """Whether ``exc`` (raised by a computation on ``client``) means the scheduler went away.

    The client cancels every future with the reason "scheduler-connection-lost"; by the
    time the error surfaces it may already have reconnected, so the reason is checked too.
    """
    return client.status != "running" or "scheduler-connection-lost" in str(exc)


def wait_for_scheduler(client, timeout: float) -> None:
    """Wait until ``client`` is connected again and at least one worker has joined.

    Raises
    ------
    SchedulerLost
        Not within ``timeout`` seconds (or the client gave up and closed).
    """
    t_end = time.monotonic() + timeout
    while client.status != "running":
        if client.status in ("closing", "closed") or time.monotonic() > t_end:
            raise SchedulerLost(f"the scheduler {client.scheduler.address} did not come back "
                                f"within {timeout:g} s")
        time.sleep(0.1)
    try:
        client.wait_for_workers(1, timeout=max(t_end - time.monotonic(), 0.1))
    except TimeoutError:
        raise SchedulerLost(f"the scheduler came back but no worker joined within "
                            f"{timeout:g} s") from None


def retry_after_scheduler_loss(fn: Callable[[], Any], client, timeout: float, *, what: str,
                               attempts: int = 3) -> Any:
    """``fn()``; if it lost the scheduler, wait for it (and a worker) and call it again.

    A loss is :class:`SchedulerLost`, or any error of a computation while the client is
    disconnected or cancelled by the loss (see :func:`scheduler_lost`).
    """
    for attempt in range(attempts):
        try:
            return fn()
        except InputError:
            raise
        except Exception as exc:
            if client is None or not (isinstance(exc, (SchedulerLost, DataLost))
                                      or scheduler_lost(client, exc)):
                raise
            if attempt == attempts - 1:
                lost = "its data" if isinstance(exc, DataLost) else "the scheduler"
                raise SchedulerLost(f"{what} lost {lost} {attempts} times") from None
            try:
                wait_for_scheduler(client, timeout)
            except SchedulerLost as again:
                raise SchedulerLost(f"{what} lost the scheduler; {again}") from None
    raise AssertionError("attempts must be >= 1")


#: Seconds without a heartbeat after which a worker that a wait of ours depends on is taken
#: as lost (at least 10 heartbeat intervals, as distributed's own ``worker-ttl`` check, whose
#: default of 5 minutes is far longer than a round). A frozen process (SIGSTOP, swapping, a
#: long GC pause, a VM migration) keeps its sockets open, so nothing else tells it from a
#: slow one; a worker busy computing still heartbeats (its event loop is free).
UNRESPONSIVE_AFTER = 10.0
#: Seconds a call to the scheduler may take before it is taken as frozen.
SCHEDULER_TIMEOUT = 20.0


def _silent_workers(after: float, dask_scheduler=None) -> tuple[list[str], int, bool]:
    """On the scheduler: the workers not heard from for ``after`` seconds (at least 10
    heartbeat intervals), how many workers there are, and whether every other worker was
    heard from just now (within 3 intervals, 2 s at least: a clean split, not workers that
    all froze at once and crossed the threshold a moment apart)."""
    from distributed.scheduler import heartbeat_interval

    now = time.time()
    beat = heartbeat_interval(len(dask_scheduler.workers))
    ttl, fresh = max(after, 10 * beat), max(2.0, 3 * beat)
    silence = {a: now - ws.last_seen for a, ws in dask_scheduler.workers.items()}
    silent = sorted(a for a, t in silence.items() if t > ttl)
    clean = all(t <= fresh for a, t in silence.items() if t <= ttl)
    return silent, len(silence), clean


async def _retire(addresses: list[str], timeout: float, dask_scheduler=None) -> dict:
    """On the scheduler: restart the given workers through their nannies (a SIGKILL after
    ``timeout`` if they do not stop; a frozen process stops only so), or remove those
    without one. Their data and tasks go back to the scheduler, as after a crash."""
    return await dask_scheduler.restart_workers(
        list(addresses), wait_for_workers=False, timeout=timeout, on_error="return",
        stimulus_id=f"dask-coded-unresponsive-{time.time()}")


def on_scheduler(client, fn: Callable, *args: Any, what: str,
                 timeout: float = SCHEDULER_TIMEOUT) -> Any:
    """``client.run_on_scheduler(fn, *args)``, or :class:`SchedulerUnresponsive` after
    ``timeout`` seconds without an answer."""
    try:
        return client.run_on_scheduler(fn, *args, callback_timeout=timeout)
    except TimeoutError:
        raise SchedulerUnresponsive(
            f"{what}: the scheduler {client.scheduler.address} has not answered for "
            f"{timeout:g} s (frozen or overloaded)") from None


def _futures_in(calls: Sequence[tuple[Callable, tuple]]) -> list:
    """The distinct futures among the calls' arguments, in tuples and lists too (a loader
    call ``(fn, (future, ...))`` passed as an argument)."""
    from distributed import Future

    seen: dict[str, Any] = {}

    def visit(value: Any, depth: int) -> None:
        if isinstance(value, Future):
            seen.setdefault(value.key, value)
        elif isinstance(value, (tuple, list)) and depth < 3:
            for v in value:
                visit(v, depth + 1)

    for _, args in calls:
        visit(args, 0)
    return list(seen.values())


class _SchedulerGuard:
    """Probes a client's scheduler every :attr:`every` seconds from a thread of its own.

    A frozen scheduler keeps its sockets open: every call to it (a ``who_has``, a gather)
    then waits forever, and the client never notices. When a probe gets no answer within
    ``timeout`` seconds, the guard drops the client's connections to the scheduler, which
    turns the freeze into a lost scheduler: every waiting call fails at once, the client
    tries to reconnect (for its connect timeout), and the solvers wait for it as for a
    restarted scheduler; a scheduler that thaws in that time is found again, one that does
    not ends the solve with :class:`SchedulerLost`.
    """

    every = 2.0

    def __init__(self, client, timeout: float):
        import threading

        self.client, self.timeout = client, timeout
        self.fired: str | None = None  # the last freeze seen, in words
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="dask-coded-scheduler-guard")
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        client = self.client
        while client.status not in ("closing", "closed"):
            time.sleep(self.every)
            if client.status != "running":
                continue  # reconnecting: nothing to probe
            try:
                client.sync(client.scheduler.identity, n_workers=0,
                            callback_timeout=self.timeout)
            except TimeoutError:
                address = client.scheduler.address
                self.fired = (f"the scheduler {address} stopped answering for "
                              f"{self.timeout:g} s (frozen?)")
                client.loop.add_callback(self._drop, address)
            except Exception:  # closing, or a comm error the client handles itself
                continue

    def _drop(self, address: str) -> None:
        """On the client's event loop: close its comms to ``address``."""
        client = self.client
        client.rpc.remove(address)
        if client.scheduler_comm is not None:
            client.scheduler_comm.abort()


_guards: dict[int, _SchedulerGuard] = {}


def guard_scheduler(client, timeout: float = SCHEDULER_TIMEOUT) -> _SchedulerGuard | None:
    """Start (once per client) the :class:`_SchedulerGuard` of a synchronous client."""
    if client is None or getattr(client, "asynchronous", False):
        return None
    guard = _guards.get(id(client))
    if guard is None or guard.client is not client or not guard.alive:
        for key in [k for k, g in _guards.items() if not g.alive]:
            del _guards[key]
        guard = _guards[id(client)] = _SchedulerGuard(client, timeout)
    return guard


def _load(loader: Callable, args: tuple, delay: float = 0.0, slowdown: float = 1.0) -> Any:
    return _timed_call(loader, args, delay, slowdown)[1]


def _same(data: Any) -> Any:
    """A replica from another server's data (fetched to this worker as a dependency)."""
    return data


def _timed_call(fn: Callable, args: tuple, delay: float = 0.0, slowdown: float = 1.0
                ) -> tuple[float, Any]:
    """``fn(*args)`` and the seconds it took on the worker (the backup rule's median).

    ``delay`` and ``slowdown`` are a model straggler, as in :func:`_run_server`.
    """
    t0 = time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    value = fn(*args)
    if slowdown > 1:
        time.sleep((slowdown - 1.0) * (time.perf_counter() - t0))
    return time.perf_counter() - t0, value


@dataclass(frozen=True)
class Speculation:
    """When a task of :meth:`CodedExecutor.map_tasks` is late enough to get a backup copy.

    A task is late once it has *run* (been processing on its worker) for longer than
    ``max(min_wait, multiplier * median)``, where the median is over the tasks already done,
    and only once a ``quantile`` of them are done (Spark's speculation rule). The copy goes to
    another worker; the first copy to finish wins and the others are cancelled.

    Attributes
    ----------
    enabled : bool
    multiplier : float
    quantile : float
    min_wait : float
        Seconds; the deadline no task is backed up before.
    max_copies : int
        Copies of one task at most (the original included).
    """

    enabled: bool = True
    multiplier: float = 2.0
    quantile: float = 0.5
    min_wait: float = 0.5
    max_copies: int = 3

    def late_after(self, times: Sequence[float], n_total: int) -> float | None:
        """Seconds past which an unfinished task is late, given the ``times`` of those
        done out of ``n_total``: ``max(min_wait, multiplier * median)``, or None while
        fewer than a ``quantile`` are done (or the rule is off)."""
        if not self.enabled or len(times) < max(1, math.ceil(self.quantile * n_total)):
            return None
        return max(self.min_wait, self.multiplier * float(np.median(times)))

    def late_after_progress(self, arrivals: Sequence[float], n_total: int,
                            typical: float | None = None) -> float | None:
        """The same rule for a round whose tasks queue on their workers (a cover round).

        There an arrival time is a task's place in its worker's queue, not its duration:
        with each worker running its tasks one after another, the median arrival is about
        half the round, and ``multiplier * median`` would call the last quarter of every
        healthy round late (measured: 5-39 backups a round, each shipping a 40 MB block,
        rounds 1.5-2x slower). Instead the round's completion is extrapolated from the
        arrival of the ``quantile``-th group (progress is about linear in time), and a
        group is late past ``multiplier`` times that, or past 1.5x the ``typical`` duration
        of recent rounds (the executor passes the fastest of the last five), whichever is
        later (at least ``min_wait``).
        """
        need = max(1, math.ceil(self.quantile * n_total))
        if not self.enabled or len(arrivals) < need:
            return None
        expected = sorted(arrivals)[need - 1] * n_total / need
        return max(self.min_wait, self.multiplier * expected, 1.5 * (typical or 0.0))

    @classmethod
    def coerce(cls, value: Any) -> Speculation:
        """``True``/``False``, a mapping of fields, or a Speculation."""
        if isinstance(value, Speculation):
            return value
        if isinstance(value, (bool, np.bool_)):
            return cls(enabled=bool(value))
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"multiplier", "quantile", "min_wait", "max_copies"})
            if unknown:
                raise InputError(f"unknown speculate option(s) {', '.join(unknown)}; known: "
                                 "multiplier, quantile, min_wait, max_copies")
            out = cls(**value)
            if not (out.multiplier >= 1 and 0 <= out.quantile <= 1 and out.min_wait >= 0
                    and isinstance(out.max_copies, int) and out.max_copies >= 1):
                raise InputError("speculate needs multiplier >= 1, 0 <= quantile <= 1, "
                                 "min_wait >= 0 and an integer max_copies >= 1")
            return out
        raise InputError(f"speculate must be True, False or a mapping of options, got "
                         f"{value!r}"[:200])


@dataclass
class MapResult:
    """What :meth:`CodedExecutor.map_tasks` gathered.

    Attributes
    ----------
    values : list
        One result per call, in call order; each counted once whichever copy produced it.
    seconds : float
    backups : int
        Backup copies launched for late tasks (each one an extra read of its input).
    backups_won : int
        Tasks whose result came from a backup copy.
    slow_workers : list of str
        Workers that ran a copy a backup beat.
    """

    values: list
    seconds: float
    backups: int = 0
    backups_won: int = 0
    slow_workers: list = field(default_factory=list)


def _run_server(kernel: Callable, data: Any, param: Any, round_id: int, server: int,
                delay: float, slowdown: float) -> tuple[int, int, Any]:
    """One server's work for one round, run on its worker.

    ``delay`` (a model straggler's response time beyond its compute) is slept before
    computing; ``slowdown`` stretches the server's whole time, delay and compute, by that
    factor, as on a machine that many times slower.
    """
    t0 = time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    value = kernel(data, param)
    if slowdown > 1:
        time.sleep((slowdown - 1.0) * (time.perf_counter() - t0))
    return round_id, server, value


def _hold(block: np.ndarray) -> np.ndarray:
    """A task that yields the block embedded in its own spec (rerunnable, unlike a scatter)."""
    return block


def _submit_embedded(client, block: np.ndarray, name: str):
    """Submit :func:`_hold` with ``block`` in its arguments: one copy in the graph.

    Distributed warns about any graph over ``large-graph-warning-threshold`` (10 MB), meant
    for data repeated across many tasks; here the block is sent once, on purpose, so the
    threshold is raised for this one submission only.
    """
    import dask
    from dask.utils import parse_bytes

    limit = parse_bytes(dask.config.get("distributed.admin.large-graph-warning-threshold"))
    with dask.config.set({"distributed.admin.large-graph-warning-threshold":
                          max(limit, 2 * block.nbytes + 2**20)}):
        return client.submit(_hold, block, key=f"{name}-{uuid.uuid4().hex[:8]}", pure=False)


def round_faults(client, scenario, round_id: int, n: int, *, kills: bool = True,
                 rng: np.random.Generator | None = None) -> tuple[list[str], dict]:
    """A straggler scenario's round ``round_id`` for ``n`` servers (or tasks).

    The one place the scenarios of :mod:`dask_coded.stragglers` are applied: kills the
    workers scheduled for just before the round (with ``kills`` and a real ``client``;
    victims from ``rng``, default the scenario's seeded choice for the round), and returns
    the killed addresses with the model's ``{"delays": ..., "slowdown": ...}`` as
    :meth:`CodedExecutor.run_round`, :meth:`~CodedExecutor.map_tasks` and
    :meth:`~CodedExecutor.place` take them (``{}`` for no scenario).
    """
    if scenario is None or scenario.is_empty:
        return [], {}
    killed: list[str] = []
    if kills and client is not None:
        from .stragglers import apply_round_faults

        killed = apply_round_faults(client, scenario, round_id, rng)
    return killed, {"delays": scenario.delays(round_id, n), "slowdown": scenario.slowdown(n)}


@contextlib.contextmanager
def throttled(client, scenario):
    """Throttle the scenario's worker processes while the block runs (yields the
    :class:`~dask_coded.stragglers.Throttle`, or None when nothing is throttled)."""
    throttles = None
    if scenario is not None and not scenario.is_empty and client is not None:
        from .stragglers import start_throttles

        throttles = start_throttles(client, scenario)
    try:
        yield throttles
    finally:
        if throttles is not None:
            throttles.stop()


def compute(client, *collections) -> list:
    """Compute dask collections on ``client`` and return their values (futures stay here)."""
    return client.compute(list(collections), sync=True)


def compute_bounded(client, collection, timeout: float,
                    on_timeout: Callable[[], None] | None = None) -> tuple[Any, float, bool]:
    """Compute one collection, noting whether it took longer than ``timeout`` seconds.

    Past the timeout ``on_timeout()`` runs (say, thawing a frozen worker, so that a
    benchmark can show dask waiting and still finish), and the computation is waited for.
    Returns ``(value, seconds, timed_out)``.
    """
    from distributed import wait as wait_futures

    t0 = time.perf_counter()
    fut = client.compute(collection)
    timed_out = False
    try:
        wait_futures([fut], timeout=timeout)
    except TimeoutError:
        timed_out = True
        if on_timeout is not None:
            on_timeout()
    value = fut.result()
    return value, time.perf_counter() - t0, timed_out


#: A round's parameter up to about this size is embedded in its tasks, not scattered:
#: a copy per task (200 servers x 1 MiB is 200 MiB a round at most).
INLINE_PARAM_BYTES = 2**20

#: Seconds a scatter of a larger parameter to one worker may take before it is skipped.
SCATTER_TIMEOUT = 5.0


@dataclass(frozen=True)
class _Inline:
    """A small round parameter carried inside the tasks (see ``_send_param``)."""

    value: Any

    @classmethod
    def of(cls, param: Any) -> _Inline | None:
        return cls(param) if _approx_nbytes(param) <= INLINE_PARAM_BYTES else None

    def release(self) -> None:
        pass


def _approx_nbytes(value: Any, depth: int = 0) -> int:
    """About the bytes ``value`` takes serialized: its arrays' ``nbytes`` plus a little per
    object, through tuples, lists and dicts (a parameter is numbers and arrays)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 64
    if depth < 4 and isinstance(value, (tuple, list)):
        return 16 + sum(_approx_nbytes(v, depth + 1) for v in value)
    if depth < 4 and isinstance(value, dict):
        return 16 + sum(_approx_nbytes(k, depth + 1) + _approx_nbytes(v, depth + 1)
                        for k, v in value.items())
    if isinstance(value, (str, bytes)):
        return 16 + len(value)
    nbytes = getattr(value, "nbytes", None)  # a dataclass of arrays, a dask_coded Sketch...
    return int(nbytes) if isinstance(nbytes, int) else 64


def _param_arg(p: Any) -> Any:
    """A task argument for a sent parameter: the value itself, or the scattered future."""
    return p.value if isinstance(p, _Inline) else p


def _param_ref(p: Any) -> Any:
    """The same in a low-level task spec (a future is referred to by its key)."""
    from dask.task_spec import DataNode, TaskRef

    return DataNode(None, p.value) if isinstance(p, _Inline) else TaskRef(p.key)


def _backup_server(kernel: Callable, loader: Callable, load_args: tuple, param: Any,
                   round_id: int, server: int) -> tuple[int, int, Any]:
    """A server's round task on a worker that does not hold its data: rebuild it first."""
    return round_id, server, kernel(loader(*load_args), param)


def _watch(client, futures: list, arrivals: queue.SimpleQueue) -> None:
    """Put ``(key, status, time)`` on ``arrivals`` as each future finishes.

    One coroutine on the client's event loop watches the whole round; a done-callback per
    future would cost a cross-thread wake-up each (~0.3 ms, a third of a small round).
    """
    import asyncio

    from distributed.client import _wait  # the awaitable as_completed itself uses

    async def track(fut):
        try:
            await _wait(fut)
        except Exception:  # cancelled: reported through its status like any other end
            pass
        arrivals.put((fut.key, fut.status, time.perf_counter()))

    async def watch_all():
        await asyncio.gather(*(track(f) for f in futures))

    client.loop.add_callback(watch_all)


@runtime_checkable
class Executor(Protocol):
    """What the solvers need of an executor: :class:`CodedExecutor` on a cluster, and
    :class:`dask_coded.simulate.SimulatedExecutor` in simulated time.

    ``client`` is None for an executor without a cluster (no workers to kill or throttle).
    """

    client: Any
    rounds_run: int

    @property
    def n_servers(self) -> int: ...

    def place(self, loaders: Sequence[tuple[Callable, tuple]], workers=None,
              **options: Any) -> None: ...

    def placement(self) -> dict: ...

    def run_round(self, kernel: Callable, param: Any, *, q: int,
                  **options: Any) -> RoundResult: ...

    def settle(self, timeout: float = 5.0) -> None: ...

    def release(self) -> None: ...

    def get_state(self) -> dict: ...

    def set_state(self, state: dict) -> None: ...


class CodedExecutor:
    """Runs rounds of server tasks over worker-resident data, first come first served.

    Parameters
    ----------
    client : distributed.Client
    name : str
        Prefix of every key this executor creates (for dashboards and logs).
    seed : int, optional
        Seeds the per-round random submission order.
    """

    #: Seconds a round waits while the cluster has no worker at all (every server's data is
    #: gone; a cluster manager may be starting new ones) before it raises ServersLost.
    #: None: ``dask-coded.no-workers-timeout`` (30 s), read when an executor is made.
    no_workers_timeout: float | None = None
    #: See :data:`UNRESPONSIVE_AFTER` and :data:`SCHEDULER_TIMEOUT`. None: the dask config's
    #: ``dask-coded.unresponsive-after`` and ``dask-coded.scheduler-timeout``, read when an
    #: executor is made (so ``dask.config.set`` applies); a number set on the class (as the
    #: tests do) wins over the config.
    unresponsive_after: float | None = None
    scheduler_timeout: float | None = None

    def __init__(self, client, *, name: str = "coded", seed: int | None = None):
        from . import _dask_config

        for attr in ("no_workers_timeout", "unresponsive_after", "scheduler_timeout"):
            # an instance attribute from here on: one value for this executor's lifetime
            setattr(self, attr, _dask_config.resolve(getattr(self, attr),
                                                     attr.replace("_", "-"), checks.positive))
        self.client = client
        self._rng = np.random.default_rng(seed)
        self.name = f"{name}-{uuid.uuid4().hex[:6]}"
        self._data: list = []
        self._staged: list = []  # operand slices the loaders read (stage())
        self._relays: list = []  # the copies' relays of their sources (place())
        self._assigned: list[str] = []
        self._loaders: list = []
        self._copy_of: list | None = None
        self._strict: set[int] = set()  # servers whose data is pinned to its worker
        self._relay_from: dict[int, str | None] = {}  # copy -> the worker it copies from
        self._resident_at: dict[int, str] = {}  # server -> where its resident data was
        self._heals = itertools.count()
        self._placements = itertools.count()
        #: Server -> how often it was not its group's first in cover rounds (a moving
        #: average): cover rounds run the least late replica of each group first.
        self._lateness: dict[int, float] = {}
        #: Durations of the last cover rounds (the fastest sets their backup deadline).
        self._cover_seconds: list[float] = []
        self._subset: list[str] | None = None
        self._n_placed_workers = 1
        self._round = itertools.count()
        self.rounds_run = 0
        self.recoveries = 0
        #: Workers this executor found frozen and had restarted (or removed).
        self.retired_workers: list[str] = []
        self._next_watch = 0.0
        self._guard = guard_scheduler(client, self.scheduler_timeout)

    @property
    def connected(self) -> bool:
        """Whether the client is connected to its scheduler now."""
        return self.client.status == "running"

    @property
    def scheduler_trouble(self) -> str | None:
        """The last freeze of the scheduler this client's guard saw, in words (or None)."""
        return self._guard.fired if self._guard is not None else None

    def _check_connected(self, what: str) -> None:
        if not self.connected:
            self._data, self._relays = [], []  # the futures died with the connection
            why = (self.scheduler_trouble
                   or f"lost the connection to the scheduler {self.client.scheduler.address}")
            raise SchedulerLost(f"{what}: {why}; all server data with it")
        if any(f.status == "cancelled" for f in self._data):
            # reconnected already, but a client cancels every future when its scheduler goes
            self._data, self._relays = [], []
            raise SchedulerLost(f"{what}: the scheduler {self.client.scheduler.address} "
                                "restarted; all server data was lost with it")

    def watch_workers(self, what: str) -> list[str]:
        """Retire the workers that have stopped heartbeating (frozen); at most once a second.

        A frozen worker's servers are stragglers first: a round goes on with the others'
        results while it can. Past :attr:`unresponsive_after` seconds of silence the worker
        is taken as lost: restarted through its nanny (or removed), so that its data is
        rebuilt elsewhere from the loaders and its tasks run elsewhere, as after a crash.
        Returns the workers retired now.

        Raises
        ------
        ServersLost
            Every worker is silent: nothing could run (no worker is retired then).
        SchedulerUnresponsive
            The scheduler did not answer within :attr:`scheduler_timeout`.
        """
        now = time.monotonic()
        if now < self._next_watch:
            return []
        self._next_watch = now + 1.0
        try:
            silent, n, clean = on_scheduler(self.client, _silent_workers,
                                            self.unresponsive_after, what=what,
                                            timeout=self.scheduler_timeout)
        except OSError:  # the connection dropped (a lost scheduler): say so if it is known
            self._check_connected(what)
            return []
        if not silent or not clean:
            return []  # (not clean: others fall silent too; see in a second whether all do)
        if len(silent) >= n:
            raise ServersLost(f"{what}: every worker ({n}) has sent no heartbeat for over "
                              f"{self.unresponsive_after:g} s (frozen?); nothing can run")
        try:
            on_scheduler(self.client, _retire, silent, 5.0, what=what,
                         timeout=self.scheduler_timeout)
        except OSError:
            self._check_connected(what)
            return []
        self.retired_workers += silent
        return silent

    # ------------------------------------------------------------------ state

    def get_state(self) -> dict:
        """JSON-safe state that decides future rounds: round counter and random order."""
        return {"rounds_run": self.rounds_run, "rng": self._rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        """Continue from :meth:`get_state` (a resumed solve): same round ids, same draws."""
        self.rounds_run = int(state["rounds_run"])
        self._round = itertools.count(self.rounds_run)
        self._rng.bit_generator.state = state["rng"]

    # ------------------------------------------------------------------ placement

    @property
    def n_servers(self) -> int:
        return len(self._data)

    @property
    def data(self) -> list:
        """The futures of the servers' data, by server (to hand to another placement)."""
        return list(self._data)

    def workers(self) -> list[str]:
        """Addresses of the live workers, sorted."""
        return sorted(self.client.scheduler_info()["workers"])

    def place(self, loaders: Sequence[tuple[Callable, tuple]],
              workers: Sequence[str] | None = None, *, wait: bool = True,
              copy_of: Sequence[int | None] | None = None,
              resident: Sequence[Any] | None = None,
              speculate: Speculation | bool = False, delays: np.ndarray | None = None,
              slowdown: np.ndarray | None = None) -> None:
        """Create each server's data on a worker, once.

        Parameters
        ----------
        loaders : sequence of (callable, args)
            Server ``j``'s data is ``loaders[j][0](*loaders[j][1])``, run on its worker.
            Consecutive servers go to consecutive workers (round robin), so list the replicas
            of one block next to each other to spread them over workers.
        workers : sequence of str, optional
            Worker addresses to use (default: all).
        wait : bool
            Block until every server's data is in memory.
        copy_of : sequence of int or None, optional
            ``copy_of[j] = i`` (``i < j``) when server j's data equals server i's (replicas
            of one block): it is then copied from server i's worker instead of built again
            from its loader (a transfer instead of another read and decode of the store;
            on the same worker, one object under two keys). Its own key still makes it a
            distinct replica, rebuilt from server i's loader if both are lost.
        resident : sequence of Future or None, optional
            Data already on the cluster (another executor's servers, say the blocks a
            setup pass ran over), equal to what ``loaders[j]`` builds: server j takes it
            (``resident[j]``'s worker holds the first server of each resident future, the
            others go round robin to the other workers, so replicas spread). Recovery
            after a lost scheduler rebuilds from ``loaders``.
        speculate : Speculation or bool
            Backup loads: a server built from its loader and not in memory by ``max(
            min_wait, multiplier x median)`` seconds since placement began (once a
            ``quantile`` are in) gets a second load on another worker; the first to finish
            is the server's data.
        delays, slowdown : ndarray, optional
            Model stragglers for the loads, indexed by server (as in :meth:`map_tasks`:
            the first load sleeps first and is stretched; backups run clean).
        """
        self._release_data()  # staged operands stay: these loaders read them
        self._check_connected("placing the servers' data")
        if copy_of is not None and any(c is not None and not 0 <= c < j
                                       for j, c in enumerate(copy_of)):
            raise InputError("copy_of[j] must name an earlier server (or be None)")
        self._copy_of = None if copy_of is None else list(copy_of)
        self._loaders = list(loaders)
        self._subset = None if workers is None else list(workers)
        if workers is not None and not list(workers):
            raise InputError("workers= is empty: give at least one worker address")
        workers = list(workers) if workers is not None else self._await_workers(
            "placing the servers' data")
        self._n_placed_workers = len(workers)
        self._resident_at = {}  # filled by _assign for resident data
        self._assigned = self._assign(workers, resident)
        generation = next(self._placements)
        self._strict = set()
        self._relay_from = {}
        self._data = []
        for j, ((fn, args), w) in enumerate(zip(loaders, self._assigned)):
            source = None if self._copy_of is None else self._copy_of[j]
            origin = None if resident is None else resident[j]
            if origin is None and source is not None:
                origin = self._data[source]
            # a placement again (after lost data) takes keys of its own: a key just
            # cancelled by the release cancels a new future of the same key too
            key = f"{self.name}-data-{j}" + (f"-g{generation}" if generation else "")
            # strictly on w, loads and copies alike: loosely restricted, work stealing
            # moves a load to an idle worker (measured: 1 setup in 12 had 22 servers on one
            # of two workers, 18 on the other) and a copy to the worker that already holds
            # its source, which leaves the workers unequally loaded, their servers among
            # the first q unequally often (GC Theorem 2; tests/test_unbiased.py), and the
            # replicas of a block on one worker. _heal rebuilds it if w dies; a late load
            # gets a backup elsewhere (_back_up_loads).
            if origin is None:
                fut = self.client.submit(
                    _load, fn, tuple(args), 0.0 if delays is None else float(delays[j]),
                    1.0 if slowdown is None else float(slowdown[j]), key=key, workers=[w],
                    allow_other_workers=False, pure=False)
            else:
                # the copy fetches a relay (the same object under a key of its own, made
                # where the origin is), not the origin itself: a fetched origin has a second
                # replica, the Active Memory Manager drops one of the two, and when it drops
                # the original the origin's server has moved to the copy's worker for good
                # (measured: 20/20 servers per worker became 21/19 over 1000 rounds, and
                # their inclusion rates 0.79 / 0.71, against GC Theorem 2's 0.75)
                src = (self._assigned[source] if source is not None
                       else self._resident_at.get(j))
                relay = origin if src in (None, w) else self.client.submit(
                    _same, origin, key=f"{key}-relay", workers=[src],
                    allow_other_workers=False, pure=False)
                self._relay_from[j] = src
                fut = self.client.submit(_same, relay, key=key, workers=[w],
                                         allow_other_workers=False, pure=False)
                if relay is not origin:
                    # held until the data is released: a key cancelled with dependents
                    # nobody wants trips the scheduler's cancel (assert ts.who_wants), which
                    # breaks the client's stream
                    self._relays.append(relay)
            self._strict.add(j)
            self._data.append(fut)
        if wait:
            self._wait_placed(Speculation.coerce(speculate),
                              [j for j in range(len(loaders))
                               if (resident is None or resident[j] is None)
                               and (self._copy_of is None or self._copy_of[j] is None)])

    def _heal(self, live: list[str]) -> int:
        """Rebuild from its loader (loosely, on a live worker) every strictly placed copy
        whose worker is gone: the scheduler cannot recompute a task restricted to a dead
        worker. Returns how many were rebuilt."""
        if not self._strict or not live:
            return 0
        healed = 0
        for j in sorted(self._strict):
            # a copy not made yet whose source's worker is gone waits on a relay pinned
            # there: rebuild it too
            relay_lost = (self._relay_from.get(j) not in (None, *live)
                          and self._data[j].status != "finished")
            if self._assigned[j] in live and not relay_lost:
                continue
            w = live[j % len(live)]
            fn, args = self._loaders[j]
            old = self._data[j]
            self._data[j] = self.client.submit(
                _load, fn, tuple(args), key=f"{self.name}-data-{j}-h{next(self._heals)}",
                workers=[w], allow_other_workers=True, pure=False)
            old.release()
            self._assigned[j] = w
            self._strict.discard(j)
            healed += 1
        return healed

    def _assign(self, workers: list[str], resident: Sequence[Any] | None) -> list[str]:
        """A worker per server: round robin, or resident data's holder first, then others."""
        n = len(self._loaders)
        if resident is None:
            return [workers[j % len(workers)] for j in range(n)]
        holders = self.client.who_has([f for f in resident if f is not None])
        seen: dict[str, int] = {}
        out = []
        for j in range(n):
            fut = resident[j]
            held = sorted(holders.get(fut.key, ())) if fut is not None else []
            if held:
                self._resident_at[j] = held[0]
            start = workers.index(held[0]) if held and held[0] in workers else j
            k = seen.get(fut.key, 0) if fut is not None else 0
            if fut is not None:
                seen[fut.key] = k + 1
            out.append(workers[(start + k) % len(workers)])
        return out

    def _wait_placed(self, rule: Speculation, loaded: list[int]) -> None:
        """Wait until every server's data is in memory, backing up late loads."""
        from distributed import wait as wait_futures

        t_start = time.perf_counter()
        ready_at: dict[int, float] = {}
        backups: dict[int, Any] = {}
        step = 0.1 if rule.enabled else 1.0
        while True:  # in steps, to notice a lost scheduler or a cluster left workerless
            try:
                with self.client.as_current():  # wait() looks for a default client
                    wait_futures(self._data, timeout=step)
                break
            except TimeoutError:
                self._check_connected("placing the servers' data")
                self.watch_workers("placing the servers' data")
                self._heal(self._await_workers("placing the servers' data"))
            except CancelledError:  # a client that loses its scheduler cancels all
                self._check_connected("placing the servers' data")
                raise
            if rule.enabled and loaded:
                self._back_up_loads(rule, loaded, t_start, ready_at, backups)
        self._check_connected("placing the servers' data")
        for j, fut in backups.items():  # the original won after all: drop the copy
            if fut is not self._data[j]:
                fut.cancel()
        errors = [f for f in self._data if f.status == "error"]
        if errors:
            errors[0].result()  # re-raise the first loader's error (an InputError, say)

    def _back_up_loads(self, rule: Speculation, loaded: list[int], t_start: float,
                       ready_at: dict, backups: dict) -> None:
        now = time.perf_counter()
        for j in loaded:
            if j not in ready_at and self._data[j].status == "finished":
                ready_at[j] = now - t_start
            fut = backups.get(j)
            if fut is not None and fut is not self._data[j] and fut.status == "finished":
                self.client.cancel([self._data[j]], force=False)
                self._data[j] = fut  # the backup won: it is the server's data now
                self._strict.discard(j)  # not on its assigned worker: nothing to heal there
                ready_at[j] = now - t_start
        late_after = rule.late_after(list(ready_at.values()), len(loaded))
        if late_after is None or now - t_start <= late_after:
            return
        live = self.workers()
        for j in loaded:
            if j in ready_at or j in backups:
                continue
            others = [w for w in live if w != self._assigned[j]] or live
            fn, args = self._loaders[j]
            backups[j] = self.client.submit(_load, fn, tuple(args),
                                            key=f"{self.name}-data-{j}-b1", workers=others,
                                            allow_other_workers=False, pure=False,
                                            priority=10)

    def _await_workers(self, what: str) -> list[str]:
        """The live workers; if there are none, wait up to ``no_workers_timeout`` for one."""
        t_end = time.monotonic() + self.no_workers_timeout
        while not (live := self.workers()):
            self._check_connected(what)
            if time.monotonic() > t_end:
                raise ServersLost(f"{what}: the cluster has had no worker for "
                                  f"{self.no_workers_timeout:g} s")
            time.sleep(0.2)
        return live

    def settle(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` seconds for every server's data to be in memory (copies
        placed without waiting, data being rebuilt after a lost worker); never raises for
        a timeout."""
        from distributed import wait as wait_futures

        if not self._data or not self.connected:
            return
        self._heal(self.workers())
        with contextlib.suppress(TimeoutError, CancelledError), self.client.as_current():
            wait_futures(self._data, timeout=timeout)

    def placement(self) -> dict[int, str | None]:
        """Server -> address of the worker holding its data now (None while rebuilding).

        Its assigned worker when that holds it: a key can also sit, for a while, on the
        worker of a replica copied from it (fetched there as the copy's dependency), and
        running the server there would put two servers' tasks on one worker. Data still
        being built or copied, pinned to its worker, is named by that worker too: a round
        task left unpinned while a copy was in flight ran elsewhere, fetched the data
        there, and the Active Memory Manager then dropped the original replica, so the
        server had moved for good (measured: 20/20 servers per worker became 21/19 in 1000
        rounds, and the inclusion test of GC Theorem 2 failed, 0.79 against 0.71)."""
        who = self.client.who_has(self._data)
        out = {}
        for j, f in enumerate(self._data):
            held = sorted(who.get(f.key, ()))
            mine = self._assigned[j] if j < len(self._assigned) else None
            if mine in held or (not held and j in self._strict):
                out[j] = mine
            else:
                out[j] = (held or [None])[0]
        return out

    def hand_over(self) -> None:
        """Drop this executor's hold on its data without cancelling it.

        For data another placement took (``place(resident=...)``): cancelling would cancel
        the tasks that copied it too (a cancel reaches a future's dependents); released,
        each key is freed once nothing needs it, and the copies keep the arrays.
        """
        for f in [*self._data, *self._relays]:
            f.release()
        self._data = []
        self._relays = []

    def _release_data(self) -> None:
        if self._data and self.connected:
            self.client.cancel(self._data)
        self._data = []
        for fut in self._relays:
            fut.release()
        self._relays = []

    def release(self) -> None:
        """Forget all server data and staged operands (they are freed on the workers)."""
        self._release_data()
        for fut in self._staged:
            fut.release()
        self._staged = []

    def stage(self, value: Any, name: str) -> Any:
        """Put ``value`` (a numpy array or a dask collection) on the cluster for loaders to
        read; returns the handle to pass in their arguments. Freed by :meth:`release`.

        The value must survive the death of the worker holding it, or servers lost with
        that worker could not be rebuilt from their loaders. A scattered key has no task
        to rerun, and extra scattered replicas (``broadcast=True``) are trimmed by the
        Active Memory Manager; so a numpy array is embedded, once, in the spec of a task
        (:func:`_hold`) that the scheduler keeps and reruns on another worker when its
        result is lost. A dask collection is computed from its graph, rerunnable likewise.
        """
        if hasattr(value, "__dask_graph__"):
            fut = self.client.compute(value)
        else:
            fut = _submit_embedded(self.client, np.ascontiguousarray(value), name)
        self._staged.append(fut)
        return fut

    def reconnect(self, timeout: float) -> None:
        """Wait until the client is connected again and at least one worker has joined.

        Raises
        ------
        SchedulerLost
            Not within ``timeout`` seconds (or the client gave up and closed).
        """
        wait_for_scheduler(self.client, timeout)

    def recover(self, timeout: float) -> None:
        """After :class:`SchedulerLost`: reconnect, then place every server's data again.

        The round counter and random state go on, so round ids are never reused.
        """
        self.reconnect(timeout)
        with contextlib.suppress(TimeoutError):
            # let the cluster manager's fresh workers join before placing, or every server
            # lands on the first to arrive and stays there
            self.client.wait_for_workers(self._n_placed_workers, timeout=min(timeout, 10.0))
        self._data = []
        live = self.workers()
        subset = [w for w in (self._subset or ()) if w in live]
        self.place(self._loaders, subset or None, copy_of=self._copy_of)
        self.recoveries += 1

    close = release

    # ------------------------------------------------------------------ independent tasks

    def map_tasks(self, calls: Sequence[tuple[Callable, tuple]], *, label: str = "map",
                  speculate: Speculation | bool = True, poll: float = 0.1,
                  max_wait: float = 3600.0, avoid: Sequence[str] = (),
                  delays: np.ndarray | None = None,
                  slowdown: np.ndarray | None = None, fragile: bool = False) -> MapResult:
        """Run independent, rerunnable calls once each, backing up the late ones.

        Unlike rounds, nothing is resident: each call reads its own input (a store chunk, a
        slice), so any worker can run it again. The scheduler places, queues and steals
        the tasks as usual; that moves *queued* work off a slow worker, but not a task
        already running on a worker that is frozen or very slow. For those, a backup copy is
        launched on another worker under the :class:`Speculation` rule (MapReduce's backup
        tasks, Spark's speculation), and the first copy to finish is the result.

        Parameters
        ----------
        calls : sequence of (callable, args)
            Call ``i`` is ``calls[i][0](*calls[i][1])``; it must be pure (a copy may run
            twice) and picklable.
        label : str
            Goes into the task keys (``<executor>-<label>-c<i>``, backups ``...-b<k>``).
        speculate : Speculation or bool
            Backup rule; False waits for every original copy.
        poll : float
            Seconds between looks at which tasks are running where.
        max_wait : float
            A safety net: :class:`ServersLost` after this long.
        avoid : sequence of str
            Workers to give no original copy while others are live (the ``slow_workers`` of
            an earlier call over the same data, for its next pass).
        delays, slowdown : ndarray, optional
            Model stragglers, indexed by call: seconds the original copy sleeps first, and a
            factor stretching its whole time. Backup copies run clean: in the model it is
            the machine of the first copy that straggles, not the work.
        fragile : bool
            The calls read data held by particular workers (futures of another placement,
            strictly placed): a worker lost (or retired as frozen) mid-pass leaves some of
            them waiting for data nobody will rebuild, so the pass ends with
            :class:`DataLost` for the caller to place the data again.

        Returns
        -------
        MapResult
        """
        rule = Speculation.coerce(speculate)
        n = len(calls)
        if n == 0:
            return MapResult([], 0.0)
        self._check_connected(f"{label}")
        client = self.client
        t_start = time.perf_counter()
        prefix = f"{self.name}-{label}"
        arrivals: queue.SimpleQueue = queue.SimpleQueue()
        keys = [f"{prefix}-c{i}" for i in range(n)]
        preferred = [w for w in self.workers() if w not in set(avoid)]
        # a loose restriction: the avoided workers run them only if no other can
        where = ({"workers": preferred, "allow_other_workers": True} if avoid and preferred
                 else {})
        batch = client.map(_timed_call, [c[0] for c in calls], [tuple(c[1]) for c in calls],
                           [0.0] * n if delays is None else [float(v) for v in delays],
                           [1.0] * n if slowdown is None else [float(v) for v in slowdown],
                           key=keys, pure=False, **where)
        futures: dict[str, tuple[int, Any]] = {k: (i, f) for i, (k, f) in
                                              enumerate(zip(keys, batch))}
        copies: dict[int, list[str]] = {i: [k] for i, k in enumerate(keys)}
        _watch(client, batch, arrivals)
        done: dict[int, Any] = {}
        durations: list[float] = []
        started: dict[str, tuple[float, str]] = {}  # key -> (first seen running, worker)
        backups = won = 0
        slow: set[str] = set()
        next_check = t_start + 1.0
        inputs = _futures_in(calls) if fragile else []

        def launch(i: int, exclude: set[str]) -> bool:
            nonlocal backups
            if len(copies[i]) >= rule.max_copies:
                return False
            others = [w for w in self.workers() if w not in exclude]
            if not others:
                return False
            key = f"{prefix}-c{i}-b{len(copies[i])}"
            fn, args = calls[i]
            # higher priority: a backup runs ahead of originals still queued on that worker
            fut = client.submit(_timed_call, fn, tuple(args), key=key, pure=False,
                                workers=others, allow_other_workers=False, priority=10)
            futures[key] = (i, fut)
            copies[i].append(key)
            backups += 1
            _watch(client, [fut], arrivals)
            return True

        def live_copies(i: int) -> list[str]:
            return [k for k in copies[i] if futures[k][1].status == "pending"]

        try:
            while len(done) < n:
                items = []
                try:
                    items.append(arrivals.get(timeout=poll))
                    while True:
                        items.append(arrivals.get_nowait())
                except queue.Empty:
                    pass
                for key, status, _ in items:
                    i, fut = futures[key]
                    if i in done:
                        continue
                    if status == "finished":
                        try:
                            seconds, value = fut.result(timeout=max(2.0, rule.min_wait))
                        except TimeoutError:  # its holder froze right after finishing
                            launch(i, {started.get(key, (0, ""))[1]})
                            continue
                        done[i] = value
                        durations.append(seconds)
                        if key != keys[i]:
                            won += 1
                            # whoever ran the copies it beat is slow: later passes avoid it
                            slow.update(started[k][1] for k in copies[i][:-1]
                                        if k in started and k != key)
                        losers = [futures[k][1] for k in copies[i] if k != key]
                        if losers:  # most tasks have no copy: skip the round trip
                            client.cancel(losers, force=False)
                        continue
                    if status == "error":
                        exc = fut.exception()
                        if isinstance(exc, InputError) or not live_copies(i):
                            raise exc
                        continue
                    # cancelled: the scheduler went (raises), or the copy was lost
                    self._check_connected(f"{label}: task {i}")
                    if not live_copies(i):
                        launch(i, set())
                now = time.perf_counter()
                if now > t_start + max_wait:
                    raise ServersLost(f"{label}: {n - len(done)} of {n} tasks unfinished after "
                                      f"{max_wait:g} s")
                if now >= next_check:
                    self._check_connected(label)
                    # a frozen worker's tasks go back to the scheduler, which runs them
                    # elsewhere (they are unrestricted)
                    self.watch_workers(label)
                    if inputs and (lost := self._unheld(inputs)):
                        raise DataLost(f"{label}: {lost} of the blocks the pass reads were "
                                       "lost with their worker")
                    next_check = now + 1.0
                if not rule.enabled or len(done) == n:
                    continue
                running = {k: w for w, ks in client.processing().items() for k in ks}
                for k, w in running.items():
                    if k in futures and k not in started:
                        started[k] = (now, w)
                late_after = rule.late_after(durations, n)
                if late_after is None:
                    continue
                for i in range(n):
                    if i in done:
                        continue
                    pending = live_copies(i)
                    newest = pending[-1] if pending else None
                    if newest is None or newest not in started:
                        continue  # still queued on the scheduler: not late, only waiting
                    t_seen, _ = started[newest]
                    if now - t_seen > late_after:
                        launch(i, {started[k][1] for k in pending if k in started})
        except BaseException:
            self._cancel(futures)
            raise
        self._cancel(futures)  # the losing copies: their results are never read
        return MapResult([done[i] for i in range(n)], time.perf_counter() - t_start,
                         backups, won, sorted(slow))

    def _unheld(self, futures: list) -> int:
        """How many of ``futures`` (finished data) no live worker holds now."""
        who = self.client.who_has(futures)
        live = set(self.workers())
        return sum(1 for f in futures if not set(who.get(f.key, ())) & live)

    # ------------------------------------------------------------------ rounds

    #: Attempts of a round whose results became unreachable (:meth:`_gather`).
    ROUND_ATTEMPTS = 3

    def run_round(self, kernel: Callable, param: Any, *, q: int, deadline: float | None = None,
                  on_short: str = "wait", servers: Sequence[int] | None = None,
                  delays: np.ndarray | None = None, slowdown: np.ndarray | None = None,
                  max_wait: float = 300.0, q_min: int | None = None,
                  cover: Sequence[int] | None = None,
                  speculate: Speculation | bool = False) -> RoundResult:
        """Run ``kernel(data_j, param)`` on servers and gather the first ``q`` results.

        Parameters
        ----------
        kernel : callable
            ``kernel(data, param) -> value``, run on the worker holding ``data``.
        param : object
            Sent once to each worker that runs a task this round.
        q : int
            Results to wait for (ignored with ``cover``).
        deadline : float, optional
            Seconds from the start of the round after which the round stops waiting.
        on_short : {"wait", "proceed", "fail"}
            When fewer than q results arrive by the deadline: keep waiting for q (up to
            ``max_wait``), go on with what arrived (``scale`` = q / arrived keeps a sum
            unbiased), or raise :class:`StragglerTimeout`.
        servers : sequence of int, optional
            Subset of servers to run (default: all).
        delays, slowdown : ndarray, optional
            Per-server model stragglers for this round, indexed by server id: seconds to
            sleep first, and a factor stretching the server's whole time (delay + compute).
        max_wait : float
            Longest a round waits in total (a safety net against a round that cannot
            complete); past it :class:`ServersLost` is raised.
        q_min : int, optional
            With ``on_short="proceed"``: the fewest results to go on with; past the deadline
            the round keeps waiting until this many have arrived (anytime decoders need a
            minimum, e.g. m results for epsilon-MatDot, and take more when more arrive in
            time). Default 1.
        cover : sequence of int, optional
            A group per server (indexed by server id; for replicas, their block). The round
            then waits for the *first* result of every group present, and uses exactly one
            per group: an exact round by repetition, whichever replicas are late. Deadlines
            do not apply to it.
        speculate : Speculation or bool
            With ``cover``: a group none of whose servers has answered by
            ``max(min_wait, multiplier * median arrival)`` (once a ``quantile`` of the
            groups are in) gets a backup copy, which rebuilds one of its servers' data from
            its loader on a worker holding none of the group's replicas and runs the kernel
            there (the speculative copy of MapReduce's backup tasks). It runs clean of model
            stragglers.
        """
        # a round whose chosen results went with a worker that froze before they could be
        # fetched (_gather) runs once more, under a new round id
        for attempt in range(self.ROUND_ATTEMPTS):
            try:
                return self._round_attempt(kernel, param, q, deadline, on_short, servers,
                                           delays, slowdown, max_wait, q_min, cover,
                                           speculate)
            except _RoundRetry as exc:
                if attempt == self.ROUND_ATTEMPTS - 1:
                    raise ServersLost(f"{exc}: results lost with frozen workers "
                                      f"{self.ROUND_ATTEMPTS} times") from None
        raise AssertionError("unreachable")

    #: Attempts of a round whose results became unreachable (:meth:`_gather`).
    ROUND_ATTEMPTS = 3

    def _round_attempt(self, kernel, param, q, deadline, on_short, servers, delays, slowdown,
                       max_wait, q_min, cover, speculate) -> RoundResult:
        ids = list(range(self.n_servers)) if servers is None else [int(s) for s in servers]
        members: dict[int, list[int]] = {}  # cover round: group -> its servers
        if cover is not None:
            cover = np.asarray(cover, dtype=np.int64)
            for j in ids:
                members.setdefault(int(cover[j]), []).append(j)
            q, deadline, on_short = len(members), None, "wait"
        q_min = check_round(q, len(ids), deadline, on_short, q_min)
        rule = Speculation.coerce(speculate)
        # keys and result tags need an id of their own per attempt (a round that failed may
        # leave its cancelled tasks behind); the result reports the logical round, which a
        # failed attempt does not advance, as the solvers number rounds
        round_id = next(self._round)
        logical_round = self.rounds_run
        self._check_connected(f"round {round_id}")
        client = self.client
        t_start = time.perf_counter()
        holders = self.placement()
        live = set(self._await_workers(f"round {round_id}"))
        if self._heal(sorted(live)):
            holders = self.placement()
        order = [int(j) for j in self._rng.permutation(ids)]
        if cover is not None:
            order = self._primaries_first(order, cover, holders)
        needed = sorted({w for j in order if (w := holders.get(j)) in live}) or sorted(live)
        params = self._send_param(param, needed)

        arrivals: queue.SimpleQueue = queue.SimpleQueue()
        futures, pinned_to = self._submit_round(kernel, order, holders, params, round_id,
                                                delays, slowdown)
        _watch(client, [f for _, f in futures.values()], arrivals)

        done: list[tuple[int, float]] = []
        covered: set[int] = set()
        backed_up: dict[int, int] = {}  # group -> backup copies launched
        backups_won = 0
        failed: list[int] = []
        timed_out = False
        hard_stop = t_start + max_wait
        stop = hard_stop if deadline is None else min(t_start + deadline, hard_stop)
        pending = len(futures)
        workerless_since = None
        poll = 0.1 if cover is not None and rule.enabled else 1.0

        def complete() -> bool:
            return len(covered) >= q if cover is not None else len(done) >= q

        def forget(replaced: list[str]) -> None:
            """Results that went with their worker before the gather (their tasks were
            just run again): out of ``done``, and pending again."""
            nonlocal pending
            gone = set(replaced)
            kept = [d for d in done if d[2] not in gone]
            if len(kept) < len(done):
                pending += len(done) - len(kept)
                done[:] = kept
                if cover is not None:
                    covered.clear()
                    covered.update(int(cover[j]) for j, _, _ in done)

        while not complete() and pending:
            remaining = stop - time.perf_counter()
            if cover is not None and rule.enabled:
                pending += self._back_up_groups(members, covered, backed_up, done, rule,
                                                t_start, kernel, params, round_id, futures,
                                                arrivals, holders)
            try:
                # wake at least every second to notice a pinned worker that died
                key, status, t_done = arrivals.get(timeout=min(max(remaining, 0.0), poll))
            except queue.Empty:
                self._check_connected(f"round {round_id}")
                self.watch_workers(f"round {round_id}")  # a frozen holder: rebuild elsewhere
                if not self.workers():
                    now = time.perf_counter()
                    workerless_since = workerless_since or now
                    if now - workerless_since > self.no_workers_timeout:
                        self._cancel(futures)
                        raise ServersLost(
                            f"round {round_id}: the cluster has had no worker for "
                            f"{self.no_workers_timeout:g} s; every server's data went with "
                            "them") from None
                else:
                    workerless_since = None
                if time.perf_counter() < stop:
                    forget(self._repin_orphans(futures, pinned_to, arrivals, kernel, param,
                                               round_id, delays, slowdown))
                    continue
                if stop < hard_stop and not timed_out:
                    timed_out = True
                    if on_short == "fail":
                        self._cancel(futures)
                        raise StragglerTimeout(
                            f"round {round_id}: {len(done)} of q={q} servers answered within "
                            f"the deadline of {deadline:g} s") from None
                    if on_short == "proceed" and len(done) >= q_min:
                        break
                    stop = hard_stop  # "wait" (or too few to proceed): keep going
                    continue
                self._cancel(futures)
                raise ServersLost(f"round {round_id}: only {len(done)} of q={q} results after "
                                  f"{max_wait:g} s; {len(failed)} servers failed") from None
            if key not in futures:  # an orphan replaced by its resubmission
                continue
            j, fut = futures[key]
            if status == "finished":
                pending -= 1
                if cover is not None:
                    group = int(cover[j])
                    if group in covered:
                        continue  # a later replica of a group already in: not used
                    covered.add(group)
                    backups_won += "-backup" in key
                done.append((j, t_done - t_start, key))
                if timed_out and on_short == "proceed" and len(done) >= q_min:
                    break  # the deadline has passed and the minimum is now met
                continue
            if status == "cancelled" and not self._alive():
                self._check_connected(f"round {round_id}")
            exc = fut.exception() if status == "error" else None
            if isinstance(exc, InputError):
                self._cancel(futures)
                raise exc
            if "-backup" in key:
                pending -= 1
                continue
            if key in pinned_to or not key.endswith("-retry"):
                # lost with its worker (or its parameter copy): run it once more elsewhere
                pinned_to[key] = None
                forget(self._repin_orphans(futures, pinned_to, arrivals, kernel, param,
                                           round_id, delays, slowdown))
                continue
            pending -= 1
            failed.append(j)
        if not complete() and not done:
            self._cancel(futures)
            raise ServersLost(f"round {round_id}: no server answered ({len(failed)} failed)")
        if not complete() and not timed_out:
            self._cancel(futures)
            raise ServersLost(f"round {round_id}: only {len(done)} of q={q} servers could "
                              f"answer; {len(failed)} failed")
        used = done[:q] if cover is not None else self._first_q(done, q, arrivals, futures,
                                                                t_start)
        slow_gather: set[int] = set()
        try:
            if cover is None:
                results = self._gather([futures[key][1] for _, _, key in used],
                                       f"round {round_id}")
            else:
                results, slow_gather = self._gather_by_worker(used, futures, pinned_to,
                                                              holders)
        except CancelledError:  # the scheduler went between the last arrival and the gather
            self._check_connected(f"round {round_id}")
            raise
        except _RoundRetry:
            self._cancel(futures)
            for p in params.values():
                p.release()
            raise
        self._cancel(futures)  # stragglers: their late results are never read
        for p in params.values():
            p.release()
        values, servers, arrival, dropped = [], [], [], 0
        for (tag, server, value), (j, t, _) in zip(results, used):
            if tag != round_id or server != j:  # a late result of another round: drop it
                dropped += 1
                continue
            values.append(value)
            servers.append(j)
            arrival.append(t)
        self.rounds_run += 1
        if cover is not None:
            # a winner that came in far behind the round's typical arrival (a worker
            # awake only now and then) is late too, though first for its group
            cut = max(rule.min_wait, 3.0 * float(np.median([t for _, t, _ in used])))
            slow_gather |= {j for j, t, _ in used if t > cut}
            self._learn_lateness(cover, ids, [(j, key) for j, _, key in used],
                                 slow=slow_gather)
            self._cover_seconds = [*self._cover_seconds[-4:], time.perf_counter() - t_start]
        return RoundResult(logical_round, np.array(servers, dtype=np.int64), np.array(arrival),
                           values, q / len(values) if values else 0.0,
                           time.perf_counter() - t_start, timed_out, failed, dropped,
                           sum(backed_up.values()), backups_won)

    def _submit_round(self, kernel: Callable, order: list[int], holders: dict, params: dict,
                      round_id: int, delays, slowdown) -> tuple[dict, dict]:
        """Submit a round's server tasks, in ``order``, across all workers at once.

        GC Theorem 2 needs every server to be among the first q equally often.
        Submitting worker by worker (one ``client.map`` each) lets the first worker's
        servers start first: the scheduler materialises each graph update on its own, so
        the second worker's tasks arrive later, and its servers were measured among the
        first q half as often. Here the whole round is one graph update, each task its own
        layer restricted to the worker that holds its server's data, with a priority from
        one random permutation of all servers: every worker receives its tasks at once and
        runs them in that order (a worker runs its ready tasks by priority).

        A cover round needs one result per group and no uniformity (it is exact), so its
        order is by merit instead: each group's *primary* (its replica that was late least
        often in earlier cover rounds, ties at random) runs before every other replica, and
        a persistent straggler's task no longer holds a worker's thread while faster
        replicas wait behind it; the others run only when a worker is free, and are
        cancelled once their group is in. Without stragglers a cover round so computes
        about one task per group, not one per replica. (Submitting only the primaries and
        launching the other replicas when their group is late was measured and dropped:
        with one of 4 workers frozen 0.9 s of every second, 2e6 x 100, it took 17.4 s to
        1e-10 against 11.5-13.9 s, because a frozen primary's group waited for the lateness
        rule before its replica ran; without stragglers it saved ~0.1 s a round at
        d = 2000.)

        ``order`` is :meth:`run_round`'s: one random permutation of the servers (regrouped
        by :meth:`_primaries_first` for a cover round). Returns ``futures`` (key -> (server,
        future)) and ``pinned_to`` (key -> worker).
        """
        from dask.highlevelgraph import HighLevelGraph, MaterializedLayer
        from dask.task_spec import Task, TaskRef

        any_param = next(iter(params.values()))
        layers, keys, pinned_to = {}, [], {}
        for rank, j in enumerate(order):
            w = holders.get(j)
            w = w if w in params else None  # a holder that died: run it where data lands
            key = f"{self.name}-r{round_id}-s{j}"
            task = Task(key, _run_server, kernel, TaskRef(self._data[j].key),
                        _param_ref(params[w] if w is not None else any_param), round_id,
                        j, 0.0 if delays is None else float(delays[j]),
                        1.0 if slowdown is None else float(slowdown[j]))
            annotations = {"priority": len(order) - rank}
            if w is not None:
                annotations["workers"] = [w]
                pinned_to[key] = w
            layers[key] = MaterializedLayer({key: task}, annotations=annotations)
            keys.append(key)
        graph = HighLevelGraph(layers, {k: set() for k in layers})
        batch = self.client.get(graph, keys, sync=False)
        futures = {key: (j, fut) for key, j, fut in zip(keys, order, batch)}
        return futures, pinned_to

    #: Results that reach the client within this many seconds of one another came in one
    #: message (a worker batches its reports, every few ms): their order is not theirs.
    TIE_SECONDS = 5e-4

    def _first_q(self, done: list, q: int, arrivals: queue.SimpleQueue, futures: dict,
                 t_start: float) -> list:
        """The round's first ``q`` of ``done`` (arrival order), fair among simultaneous ones.

        GC Theorem 2 needs each server among the first q equally often. A
        worker reports its finished tasks in batches, so results come to the client in
        bunches whose inner order is the worker's queue, not the servers' speed: the q-th
        result's bunch (those within :data:`TIE_SECONDS` of it, with any already queued
        behind it) is sampled uniformly to fill the q places left by the earlier ones.
        """
        if len(done) < q:
            return done
        done = list(done)
        while True:  # results already delivered with the q-th, not yet taken off the queue
            try:
                key, status, t_done = arrivals.get_nowait()
            except queue.Empty:
                break
            if status == "finished" and key in futures:
                done.append((futures[key][0], t_done - t_start, key))
        t_q = done[q - 1][1]
        before = [d for d in done[:q] if d[1] < t_q - self.TIE_SECONDS]
        tied = [d for d in done if abs(d[1] - t_q) <= self.TIE_SECONDS]
        pick = self._rng.choice(len(tied), size=q - len(before), replace=False)
        return before + [tied[i] for i in sorted(pick)]

    #: Replicas at most this much later than a group's least late one are equally good
    #: primaries; among them the one on the worker with the fewest primaries is chosen. One
    #: lost race (lateness 0 -> 0.3) takes a server out of the choice.
    LATENESS_SLACK = 0.1

    def _primaries_first(self, order: list[int], cover, holders: dict | None = None
                         ) -> list[int]:
        """``order`` (random) regrouped: one primary per group first, then the rest (both
        in the random order otherwise).

        A group's primary is among its least late servers (within :data:`LATENESS_SLACK`),
        and of those the one whose worker has the fewest primaries so far (ties: the first
        in the random order), so that without stragglers every worker gets its share of a
        round's work. A replica whose data is not in memory yet counts as late.
        """
        # a replica whose data is still being copied (placement does not wait for copies)
        # would make its group wait for the copy: it counts as late
        late = {j: self._lateness.get(j, 0.0) + (
            1.0 if j < len(self._data) and self._data[j].status != "finished" else 0.0)
            for j in order}
        holders = holders or {}
        groups: dict[int, list[int]] = {}
        for j in order:
            groups.setdefault(int(cover[j]), []).append(j)
        load: dict[Any, int] = {}
        primaries = set()
        for servers in groups.values():  # groups in the random order of their first server
            low = min(late.get(j, 0.0) for j in servers)
            fit = [j for j in servers if late.get(j, 0.0) <= low + self.LATENESS_SLACK]
            best = min(fit, key=lambda j: load.get(holders.get(j), 0))
            load[holders.get(best)] = load.get(holders.get(best), 0) + 1
            primaries.add(best)
        return [j for j in order if j in primaries] + [j for j in order if j not in primaries]

    #: A worker whose results took longer than this to gather (a frozen worker finishes
    #: its tasks in a thaw but serves them only in the next) makes its servers late.
    GATHER_SLOW = 0.25

    def _gather_by_worker(self, used, futures, pinned_to, holders) -> tuple[list, set]:
        """Gather a cover round's results worker by worker, timing each.

        A worker frozen most of the time (SIGSTOP, a GC pause, swap) runs its tasks in its
        moments awake and is then counted first for their groups, but serving the results
        waits for its next: every round then waited ~1 s for it (measured, one worker of 4
        frozen 0.9 s of every second). Returns the results in ``used`` order and the servers
        whose worker was slow to serve, which :meth:`_learn_lateness` counts as late.
        """
        by_worker: dict[Any, list[int]] = {}
        for i, (j, _, key) in enumerate(used):
            by_worker.setdefault(pinned_to.get(key) or holders.get(j), []).append(i)
        results: list = [None] * len(used)
        slow: set[int] = set()
        for idx in by_worker.values():
            t0 = time.perf_counter()
            values = self._gather([futures[used[i][2]][1] for i in idx], "a cover round")
            if time.perf_counter() - t0 > self.GATHER_SLOW:
                slow.update(used[i][0] for i in idx)
            for i, v in zip(idx, values):
                results[i] = v
        return results, slow

    def _gather(self, futures: list, what: str) -> list:
        """``client.gather(futures)``, watching the workers while it waits.

        A worker that froze after finishing its task holds its result where nobody can
        fetch it, and a plain gather waits for it without end; one that died took the
        result with it, and the task, pinned to its worker or to data nobody rebuilds, is
        never run again. Here, once a result is lost (its future no longer finished) or
        its worker retired (:meth:`watch_workers`), :class:`_RoundRetry` asks for the round
        again.
        """
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            job = pool.submit(self.client.gather, futures)
            while True:
                try:
                    return job.result(timeout=1.0)
                except TimeoutError:
                    self._check_connected(what)
                    lost = any(f.status != "finished" for f in futures)
                    if lost or self.watch_workers(what):
                        raise _RoundRetry(what) from None
        finally:
            pool.shutdown(wait=False)  # the round's futures are cancelled: it ends then

    def _learn_lateness(self, cover, ids, used: list[tuple[int, str]],
                        slow: set[int] | None = None) -> None:
        """After a cover round: the server each group used gets less late, the others more
        (an exponential average of "was not the group's first"); where a backup copy won,
        every server of the group was late. A winner in ``slow`` (far behind the round's
        arrivals, or its worker slow to serve the result) counts as late too."""
        first = {int(cover[j]): (j, "-backup" in key) for j, key in used}
        slow = slow or set()
        for j in ids:
            g = int(cover[j])
            if g in first:
                winner, by_backup = first[g]
                was_late = 1.0 if by_backup or winner != j or j in slow else 0.0
                self._lateness[j] = 0.7 * self._lateness.get(j, 0.0) + 0.3 * was_late

    def _back_up_groups(self, members, covered, backed_up, done, rule, t_start, kernel,
                        params, round_id, futures, arrivals, holders) -> int:
        """Launch backup copies for the groups of a cover round that are late; returns
        how many were launched (see :meth:`run_round`'s ``speculate``).

        A group late by ``late_after`` gets a copy of one server's task on a worker holding
        none of its replicas, on that server's data (fetched there: a transfer, no read),
        which beats a server that is slow while its worker is not; late by three times
        that, a second copy that rebuilds the data from its loader (a store read), which
        beats a worker that is frozen, whose data cannot be fetched either.
        """
        typical = min(self._cover_seconds) if self._cover_seconds else None
        late_after = rule.late_after_progress([t for _, t, _ in done], len(members), typical)
        elapsed = time.perf_counter() - t_start
        if late_after is None or elapsed <= late_after:
            return 0
        due = [g for g in members if g not in covered and (
            backed_up.get(g, 0) == 0 or (backed_up[g] == 1 and elapsed > 3 * late_after))]
        if not due:
            return 0
        live = self.workers()
        param = _param_arg(next(iter(params.values())))
        n_copies = 0
        for g in due:
            copies = backed_up.get(g, 0)
            j = members[g][0]
            busy = {holders.get(m) for m in members[g]}
            others = [w for w in live if w not in busy] or live
            if copies == 0 and self._data[j].status == "finished":
                fut = self.client.submit(_run_server, kernel, self._data[j], param, round_id,
                                         j, 0.0, 1.0, key=f"{self.name}-r{round_id}-s{j}-backup",
                                         pure=False, workers=others, allow_other_workers=False,
                                         priority=10)
            else:
                fn, args = self._loaders[j]
                fut = self.client.submit(_backup_server, kernel, fn, tuple(args), param,
                                         round_id, j,
                                         key=f"{self.name}-r{round_id}-s{j}-backup{copies}",
                                         pure=False, workers=others, allow_other_workers=False,
                                         priority=10)
            futures[fut.key] = (j, fut)
            backed_up[g] = copies + 1
            n_copies += 1
            _watch(self.client, [fut], arrivals)
        return n_copies

    def _repin_orphans(self, futures: dict, pinned_to: dict, arrivals, kernel, param,
                       round_id: int, delays, slowdown) -> list[str]:
        """Resubmit, unpinned, the tasks pinned to a worker that has died mid-round; returns
        the keys replaced (finished ones among them lost their result with the worker).

        A task restricted to a dead worker would wait forever; its server's data is being
        rebuilt elsewhere, so the retry goes wherever that data lands. Entries of
        ``pinned_to`` set to None are tasks already known to be lost.
        """
        live = set(self.workers())
        orphans = [k for k, w in pinned_to.items() if w not in live and k in futures]
        if not orphans or not live:  # no worker to run them on: wait for one (or time out)
            return []
        self._heal(sorted(live))
        # the round's parameter copies may have died with the worker: send a fresh one
        param_future = _param_arg(next(iter(self._send_param(param, sorted(live)).values())))
        fresh = []
        for key in orphans:
            j, old = futures.pop(key)
            pinned_to.pop(key)
            old.cancel()
            new = self.client.submit(
                _run_server, kernel, self._data[j], param_future, round_id, j,
                0.0 if delays is None else float(delays[j]),
                1.0 if slowdown is None else float(slowdown[j]),
                key=f"{key}-retry", pure=False)
            futures[new.key] = (j, new)
            fresh.append(new)
        _watch(self.client, fresh, arrivals)
        return orphans

    def _send_param(self, param: Any, workers: list[str]) -> dict:
        """Scatter ``param`` once to each worker, each copy under its own key, or embed it.

        A parameter of at most :data:`INLINE_PARAM_BYTES` pickled (lstsq's x up to d =
        130,000, a matmul tile's bounds) travels inside each task instead (:class:`_Inline`):
        no scatter, so no round waits on a worker that cannot take one (a frozen worker
        accepts the connection and never answers; a solve was found stuck there for 400 s).
        A larger one is scattered to the workers from threads, all together given
        :data:`SCATTER_TIMEOUT` seconds (``client.scatter``'s own ``timeout`` did not bound
        it: 30 s, the connect timeout, were measured against a frozen worker), and a worker
        that has not taken it by then is skipped like a dead one.

        A worker that dies between the scheduler's last word and the scatter is skipped; its
        servers then run unpinned wherever their data is rebuilt.
        """
        from distributed.comm import CommClosedError

        inline = _Inline.of(param)
        if inline is not None:
            return {w: inline for w in workers or self._await_workers("the round")}
        def scatter_to(w: str) -> Any:  # a list keeps a tuple param whole
            return self.client.scatter([param], workers=[w], hash=False)[0]

        params = {}
        for _ in range(3):
            self._check_connected("sending the round's parameter")
            pool = ThreadPoolExecutor(max_workers=min(8, len(workers)) or 1)
            sent = {pool.submit(scatter_to, w): w for w in workers}
            done, _ = wait_threads(sent, timeout=SCATTER_TIMEOUT)
            pool.shutdown(wait=False)  # a scatter to a frozen worker ends on its own, later
            for fut in done:
                try:
                    params[sent[fut]] = fut.result()
                except (OSError, CommClosedError, TimeoutError, KeyError):
                    # KeyError: the scheduler no longer knows the worker (it just died)
                    continue
            if params:
                return params
            time.sleep(0.5)
            workers = self._await_workers("sending the round's parameter")
        raise ServersLost(f"no worker accepted the round's parameter in 3 tries (workers kept "
                          f"dying; {len(self.workers())} live now)")

    def _alive(self) -> bool:
        """Connected, after a moment's grace (the client learns of a lost scheduler a bit
        after the futures are cancelled)."""
        for _ in range(20):
            if not self.connected:
                return False
            time.sleep(0.01)
        return True

    def _cancel(self, futures: dict) -> None:
        if self.connected:
            self.client.cancel([f for _, f in futures.values()], force=False)


