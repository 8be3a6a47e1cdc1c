"""The fault suite: real faults on a real multi-process cluster, for lstsq and matmul.

Each trial starts its own cluster (a scheduler process and worker processes with nannies,
as ``dask scheduler`` / ``dask worker`` run them), starts a solve or a product on it, injects
one fault at a random round, and classifies how it ended:

* ``right``: it finished and the answer matches the reference (lstsq: relative error of x
  at most 1e-6; matmul: the true relative error of C within ten times the error the code
  reports, and at most ``eps``);
* ``clear error``: it stopped with one of dask_coded's errors (lost servers, a lost
  scheduler, a refused input) whose message is one line;
* ``wrong``: it finished, but the answer is not right (must never happen);
* ``unclear``: it stopped with any other exception, or a multi-line message;
* ``hang``: still running ``hang_limit`` seconds after it started (the trial is abandoned and
  its cluster killed);
* ``not injected``: it finished before the fault could be injected (the run proves nothing;
  counted against the suite).

Faults (:data:`FAULTS`) are injected at a random round: kills through the straggler scenario
(the path users take: after the round's data is placed, before its tasks run, so that the
data must be rebuilt), the others by the solve's ``callback``. ``all-workers-lost`` kills
every worker with its nanny: nothing can finish, and a clear error is the right outcome.
Every other fault is within what the code's redundancy (loaders that rebuild lost data, a
scheduler that comes back at its address) can survive.

Memory: a few hundred MiB (the cluster's processes and a 20000 x 10 problem).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..executor import ServersLost, StragglerTimeout
from ..kernels import checks

#: Fault name -> what it does.
FAULTS = {
    "kill-one": "one worker process SIGKILLed at a random round (its nanny restarts it)",
    "kill-several": "half the workers SIGKILLed at once at a random round",
    "kill-all-but-one": "every worker but one SIGKILLed at once at a random round",
    "slow-mid-run": "one worker throttled 10x (SIGSTOP/SIGCONT) from a random round on",
    "worker-joins": "a new worker process joins at a random round",
    "scheduler-restart": "the scheduler SIGKILLed at a random round and restarted at its "
                         "address, with fresh workers",
    "scheduler-restart-setup": "the same, while lstsq's setup pass (leverage scores) runs",
    "all-workers-lost": "every worker and its nanny SIGKILLed: nothing can finish",
    "freeze-one": "one worker process SIGSTOPped at a random round, for good",
    "freeze-one-setup": "the same, while lstsq's setup pass runs",
    "freeze-all": "every worker process SIGSTOPped at a random round, for good",
    "freeze-scheduler": "the scheduler SIGSTOPped at a random round, for good",
    "kill-in-round": "from a random early round on, a worker SIGKILLed every 0.3 to 0.8 s, "
                     "4 times, at random moments (most of them inside a round)",
    "flipped-bit": "one bit of one chunk of the input store flipped before the run",
    "truncated-chunk": "one chunk file of the input store cut to half its length",
}

#: Faults no redundancy can survive: a clear error is their right outcome.
UNSURVIVABLE = ("all-workers-lost", "freeze-all", "freeze-scheduler", "flipped-bit",
                "truncated-chunk")

#: Faults of lstsq only (matmul has no setup pass).
LSTSQ_ONLY = ("scheduler-restart-setup", "freeze-one-setup")

#: Faults to the stored inputs (matmul then reads A and B from stores too).
CORRUPTIONS = ("flipped-bit", "truncated-chunk")

APIS = ("lstsq", "matmul")
OUTCOMES = ("right", "clear error", "wrong", "unclear", "hang", "not injected")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessCluster:
    """A scheduler and nanny-managed workers as separate processes on this machine.

    Unlike a LocalCluster, its scheduler can be killed and started again at the same
    address, and a worker can be killed with its nanny, as a cluster manager would see.

    Parameters
    ----------
    n_workers : int
    threads_per_worker : int
    log : path, optional
        File collecting the processes' output (default: discarded).
    """

    def __init__(self, n_workers: int, threads_per_worker: int = 1, *, log=None):
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self._scheduler: subprocess.Popen | None = None
        self._workers: list[subprocess.Popen] = []
        self.start_scheduler()
        for _ in range(n_workers):
            self.add_worker()

    def _spawn(self, *args: str) -> subprocess.Popen:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        # its own session: a kill of the group takes the nanny and its worker together
        return subprocess.Popen([sys.executable, "-m", *args], stdout=self._log,
                                stderr=self._log, env=env, start_new_session=True)

    def start_scheduler(self) -> None:
        self._scheduler = self._spawn("distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--dashboard-address", ":0",
                                      "--no-show")

    def add_worker(self) -> None:
        """Start one more worker (with its nanny); it joins a few seconds later."""
        self._workers.append(self._spawn(
            "distributed.cli.dask_worker", self.address, "--nworkers", "1", "--nthreads",
            str(self.threads_per_worker), "--dashboard-address", ":0", "--memory-limit", "0",
            "--death-timeout", "60"))

    @staticmethod
    def _kill(proc: subprocess.Popen | None) -> None:
        if proc is None:
            return
        # the whole session, even when its leader has exited: a worker it spawned may not have
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def kill_scheduler(self) -> None:
        self._kill(self._scheduler)

    def freeze_scheduler(self) -> None:
        """SIGSTOP the scheduler process (:meth:`close` kills it all the same)."""
        os.kill(self._scheduler.pid, signal.SIGSTOP)

    def kill_all_workers(self) -> None:
        """SIGKILL every worker with its nanny: nothing restarts them."""
        for p in self._workers:
            self._kill(p)

    def restart_scheduler(self, client, timeout: float = 10.0) -> None:
        """Kill the scheduler, start a new one at the same address, and fresh workers.

        Workers shut down when their scheduler goes (as distributed's do), so a restart
        brings its own, as a cluster manager restarting a scheduler does.
        """
        self.kill_scheduler()
        t_end = time.monotonic() + timeout
        while client.status == "running" and time.monotonic() < t_end:
            time.sleep(0.05)  # until the client has noticed
        self.kill_all_workers()
        self._workers = []
        self.start_scheduler()
        for _ in range(self.n_workers):
            self.add_worker()

    def close(self) -> None:
        self.kill_all_workers()
        self.kill_scheduler()
        if self._log is not subprocess.DEVNULL:
            self._log.close()


@dataclass
class Trial:
    """One run under one fault."""

    api: str
    fault: str
    outcome: str
    seconds: float
    at_round: int
    detail: str = ""


# ------------------------------------------------------------------------------ problems


@dataclass
class _Problems:
    store: Path
    x_ref: np.ndarray
    A_mat: np.ndarray
    B_mat: np.ndarray
    C_ref: np.ndarray
    A_store: Path | None = None
    B_store: Path | None = None


#: lstsq: a consistent, coherent 20000 x 10 problem; K = 20 blocks on m = 40 servers.
#: Faults land at rounds 2..7, so the solve runs 13 rounds whatever its progress; an anchor
#: every third round makes both kinds of round run: anchors (the first replica of every
#: block, with backups) and sampled rounds (the first q). The last (13th) is an anchor,
#: whose exact Gauss-Newton step ends the solve at working precision.
LSTSQ = {"method": "block-leverage", "n_blocks": 20, "n_servers": 40, "q": 30,
         "max_iter": 13, "tol": 0.0, "anchor_every": 3, "reconnect_timeout": 60.0}
LSTSQ_TOL = 1e-6
#: matmul: 384 x 512 times 512 x 384 in 64 x 64 output tiles (36 rounds); m = 2, P = 4.
MATMUL = {"code": "eps-matdot", "m": 2, "n_servers": 4, "tile": 64}
MATMUL_EPS = 1e-3


def _make_problems(folder: Path, seed: int) -> _Problems:
    from ..datasets import make_dataset
    from ..io import open_dataset

    store = folder / "faults.zarr"
    make_dataset(store, kind="coherent", n_rows=20_000, n_cols=10, chunk_rows=2_000,
                 noise=0.0, seed=seed)
    a, b = open_dataset(store)
    a_np, b_np = np.asarray(a), np.asarray(b)
    x_ref = np.linalg.lstsq(a_np, b_np, rcond=None)[0]
    rng = np.random.default_rng(seed)
    A_mat, B_mat = rng.standard_normal((384, 512)), rng.standard_normal((512, 384))
    from ..io import write_matrix

    write_matrix(folder / "A.zarr", A_mat, chunks=(128, 512))
    write_matrix(folder / "B.zarr", B_mat, chunks=(128, 384))
    return _Problems(store, x_ref, A_mat, B_mat, A_mat @ B_mat, folder / "A.zarr",
                     folder / "B.zarr")


def _chunk_files(store: Path) -> list[Path]:
    """The chunk files of a Zarr store (not its metadata), sorted."""
    return sorted(f for f in store.rglob("*") if f.is_file() and not f.name.startswith(".")
                  and f.name not in ("zarr.json", ".zarray", ".zgroup", ".zattrs"))


def corrupt_copy(problems: _Problems, fault: str, folder: Path, seed: int) -> _Problems:
    """The problems with their stores copied into ``folder`` and one chunk of A's damaged:
    one bit flipped (``flipped-bit``) or the file cut to half (``truncated-chunk``)."""
    import dataclasses
    import shutil

    out = {}
    for name in ("store", "A_store", "B_store"):
        src = getattr(problems, name)
        out[name] = folder / src.name
        shutil.copytree(src, out[name])
    rng = np.random.default_rng(seed)
    # the dataset's A (its group holds A and b) and matmul's A
    for victim in (out["store"] / "A", out["A_store"]):
        files = _chunk_files(victim)
        f = files[int(rng.integers(len(files)))]
        data = bytearray(f.read_bytes())
        if fault == "flipped-bit":
            i = int(rng.integers(len(data)))
            data[i] ^= 1 << int(rng.integers(8))
        else:
            data = data[: len(data) // 2]
        f.write_bytes(bytes(data))
    return dataclasses.replace(problems, **out)


# ------------------------------------------------------------------------------ one trial


class _Injector:
    """The solve's callback: injects the fault once the chosen round is done."""

    def __init__(self, fault: str, cluster: ProcessCluster, client, at: int, seed: int):
        self.fault, self.cluster, self.client, self.at = fault, cluster, client, at
        self.seed = seed
        self.fired = False
        self.throttle = None
        self.frozen = None
        self.killer: threading.Thread | None = None
        self.kills = 0
        self._stop = threading.Event()

    def __call__(self, done: int) -> None:
        if self.fired or done < self.at or self.fault in LSTSQ_ONLY:
            return  # (a setup-pass fault is fired by its _SetupWatcher)
        self.fire()

    def fire(self) -> None:
        """Inject the fault now."""
        self.fired = True
        if self.fault == "slow-mid-run":
            from ..stragglers import throttle

            workers = sorted(self.client.scheduler_info()["workers"])
            victim = workers[np.random.default_rng(self.seed).integers(len(workers))]
            self.throttle = throttle(self.client, [victim], 10.0)
        elif self.fault == "worker-joins":
            n = len(self.client.scheduler_info()["workers"])
            self.cluster.add_worker()
            self.client.wait_for_workers(n + 1, timeout=60)
        elif self.fault == "scheduler-restart":
            self.cluster.restart_scheduler(self.client)
        elif self.fault == "all-workers-lost":
            self.cluster.kill_all_workers()
        elif self.fault in ("freeze-one", "freeze-one-setup", "freeze-all"):
            from ..stragglers import freeze

            workers = sorted(self.client.scheduler_info()["workers"])
            if self.fault != "freeze-all":
                workers = [workers[np.random.default_rng(self.seed).integers(len(workers))]]
            self.frozen = freeze(self.client, workers)
        elif self.fault == "freeze-scheduler":
            self.cluster.freeze_scheduler()
        elif self.fault == "kill-in-round":
            self.killer = threading.Thread(target=self._kill_now_and_then, daemon=True,
                                           name="kill-in-round")
            self.killer.start()

    def _kill_now_and_then(self, kills: int = 4) -> None:
        """SIGKILL a random worker soon, then every 0.3-0.8 s, ``kills`` times (the nannies
        restart them): at random moments, so most land inside a round, not between two."""
        from ..stragglers import kill_workers

        rng = np.random.default_rng([self.seed, 7])
        for k in range(kills):
            if self._stop.wait(float(rng.uniform(0.05, 0.3) if k == 0 else
                                     rng.uniform(0.3, 0.8))):
                return
            with contextlib.suppress(Exception):  # no worker up just now: the next try
                if kill_workers(self.client, 1, rng=rng, timeout=5.0):
                    self.kills += 1

    def stop(self) -> None:
        self._stop.set()
        if self.killer is not None:
            self.killer.join(timeout=30)
        if self.throttle is not None:
            with contextlib.suppress(Exception):
                self.throttle.stop()
        if self.frozen is not None:
            self.frozen.thaw()


#: Key fragments of lstsq's setup tasks: the pass's (dask_coded.leverage, via
#: CodedExecutor.map_tasks: <executor>-setup-p<pass>-c<chunk>) and, for iterative methods,
#: the block loads the pass runs on (linear_model._resident_setup: blocks-<id>-data-<j>).
SETUP_TASKS = ("-setup-p", "blocks-")


def _n_setup_tasks(dask_scheduler) -> int:
    return sum(1 for key in dask_scheduler.tasks
               if any(name in str(key) for name in SETUP_TASKS))


class _SetupWatcher:
    """Runs ``action`` (default: restart the scheduler) as soon as the scheduler holds tasks
    of the setup pass."""

    def __init__(self, cluster: ProcessCluster, client, timeout: float = 60.0,
                 action: Callable[[], None] | None = None):
        self.cluster, self.client, self.timeout = cluster, client, timeout
        self.action = action or (lambda: cluster.restart_scheduler(client))
        self.fired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="setup-watcher")
        self._thread.start()

    def _watch(self) -> None:
        t_end = time.monotonic() + self.timeout
        while not self._stop.is_set() and time.monotonic() < t_end:
            with contextlib.suppress(Exception):
                if self.client.run_on_scheduler(_n_setup_tasks) > 0:
                    self.fired = True
                    self.action()
                    return
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _kills(fault: str, n_workers: int, at: int, seed: int) -> dict | None:
    k = {"kill-one": 1, "kill-several": max(1, n_workers // 2),
         "kill-all-but-one": n_workers - 1}.get(fault)
    return None if k is None else {"kill": [{"round": at, "workers": k}], "seed": seed}


def _is_clear(exc: BaseException) -> bool:
    return isinstance(exc, (InputError, ServersLost, StragglerTimeout)) \
        and "\n" not in str(exc).strip()


def _run_lstsq(problems: _Problems, client, stragglers, callback, seed: int):
    from ..linear_model import lstsq

    result = lstsq(str(problems.store), client=client, stragglers=stragglers, seed=seed,
                   callback=lambda solver: callback(solver.iteration), **LSTSQ)
    err = np.linalg.norm(result.x - problems.x_ref) / np.linalg.norm(problems.x_ref)
    return (err <= LSTSQ_TOL, bool(result.killed_workers),
            f"error {err:.1e} after {result.n_iter} its ({result.stop_reason})")


def _run_matmul(problems: _Problems, client, stragglers, callback, seed: int,
                stores: bool = False):
    from ..matmul import matmul

    a, b = ((str(problems.A_store), str(problems.B_store)) if stores
            else (problems.A_mat, problems.B_mat))
    result = matmul(a, b, client=client, stragglers=stragglers,
                    seed=seed, eps=MATMUL_EPS, callback=lambda done, total: callback(done),
                    **MATMUL)
    err = np.linalg.norm(result.C - problems.C_ref) / np.linalg.norm(problems.C_ref)
    ok = err <= max(10 * result.error_estimate, 1e-12) and err <= MATMUL_EPS
    return (ok, bool(result.killed_workers),
            f"error {err:.1e}, estimate {result.error_estimate:.1e}")


def run_trial(api: str, fault: str, problems: _Problems, *, seed: int, n_workers: int = 3,
              threads_per_worker: int = 2, hang_limit: float = 400.0, log=None) -> Trial:
    """One ``api`` run under ``fault``, on a fresh :class:`ProcessCluster`."""
    from distributed import Client

    if fault in LSTSQ_ONLY and api != "lstsq":
        raise InputError(f"fault {fault!r} is for lstsq only")
    rng = np.random.default_rng([seed, APIS.index(api), list(FAULTS).index(fault)])
    at = int(rng.integers(2, 8) if api == "lstsq" else rng.integers(1, 30))
    if fault in LSTSQ_ONLY:
        at = 0  # during the setup pass, before the first round
    elif fault == "kill-in-round":
        at = int(rng.integers(1, 4))  # early: the kills need rounds left to land in
    cluster = client = None
    box: dict = {}
    injector = watcher = None
    t0 = time.perf_counter()
    scratch = tempfile.TemporaryDirectory(prefix="dask-coded-fault-")
    try:
        if fault in CORRUPTIONS:
            problems = corrupt_copy(problems, fault, Path(scratch.name), seed)
        cluster = ProcessCluster(n_workers, threads_per_worker, log=log)
        client = Client(cluster.address, timeout=30)
        client.wait_for_workers(n_workers, timeout=60)
        injector = _Injector(fault, cluster, client, at, seed)
        stragglers = _kills(fault, n_workers, at, seed)
        if api == "lstsq":
            run = _run_lstsq
        else:
            def run(*args):
                return _run_matmul(*args, stores=fault in CORRUPTIONS)

        if fault == "scheduler-restart-setup":
            watcher = _SetupWatcher(cluster, client)
        elif fault == "freeze-one-setup":
            watcher = _SetupWatcher(cluster, client, action=injector.fire)

        def target():
            try:
                box["value"] = run(problems, client, stragglers, injector, seed)
            except BaseException as exc:  # classified below
                box["error"] = exc

        t0 = time.perf_counter()
        worker = threading.Thread(target=target, daemon=True, name=f"trial-{api}-{fault}")
        worker.start()
        worker.join(hang_limit)
        seconds = time.perf_counter() - t0
        if worker.is_alive():
            return Trial(api, fault, "hang", seconds, at, f"still running after "
                                                          f"{hang_limit:g} s")
        if "error" in box:
            exc = box["error"]
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            outcome = "clear error" if _is_clear(exc) else "unclear"
            return Trial(api, fault, outcome, seconds, at, f"{type(exc).__name__}: {line}")
        ok, killed, detail = box["value"]
        injected = {"kill-one": killed, "kill-several": killed, "kill-all-but-one": killed,
                    "scheduler-restart-setup": watcher is not None and watcher.fired,
                    "freeze-one-setup": watcher is not None and watcher.fired,
                    "kill-in-round": injector.kills > 0,
                    "flipped-bit": True, "truncated-chunk": True,
                    }.get(fault, injector.fired)
        if not ok:
            return Trial(api, fault, "wrong", seconds, at, detail)
        return Trial(api, fault, "right" if injected else "not injected", seconds, at, detail)
    finally:
        if injector is not None:
            injector.stop()
        if watcher is not None:
            watcher.stop()
        hung = "error" not in box and "value" not in box
        if client is not None and not hung:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        if cluster is not None:
            cluster.close()  # a hung trial's client then fails fast
        if client is not None and hung:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        scratch.cleanup()


def run_suite(faults: Sequence[str] | None = None, apis: Sequence[str] = APIS, *,
              runs: int = 2, seed: int = 0, n_workers: int = 3, hang_limit: float = 400.0,
              folder: str | os.PathLike | None = None,
              progress: Callable[[Trial], None] | None = None) -> list[Trial]:
    """Every (api, fault) ``runs`` times, each on its own cluster; returns the trials.

    Parameters
    ----------
    faults : sequence of str, optional
        Keys of :data:`FAULTS` (default all).
    apis : sequence of {"lstsq", "matmul"}
    runs : int
        Trials per (api, fault), each with its own seed (so its own fault round).
    n_workers : int
        Worker processes per cluster (>= 2: one must survive the kills).
    hang_limit : float
        Seconds after which a trial counts as a hang (above the executor's own limits: a
        round's ``max_wait`` of 300 s, the 60 s reconnect and 30 s no-worker timeouts).
    folder : path, optional
        Where the problem's store and the clusters' log go (default: a temporary folder).
    progress : callable, optional
        Called with each finished :class:`Trial`.
    """
    faults = list(FAULTS) if faults is None else list(faults)
    for f in faults:
        if f not in FAULTS:
            raise InputError(f"unknown fault {f!r}; choose among {', '.join(FAULTS)}")
    for a in apis:
        if a not in APIS:
            raise InputError(f"unknown api {a!r}; choose among {', '.join(APIS)}")
    checks.integer("runs", runs, 1)
    checks.integer("n_workers", n_workers, 2)
    with contextlib.ExitStack() as stack:
        # schedulers and workers are killed on purpose: their comms closing is not news
        import distributed  # noqa: F401  (creates its loggers, to quiet them)

        names = ["distributed", *(n for n in logging.root.manager.loggerDict
                                   if n.startswith("distributed."))]
        for log in map(logging.getLogger, names):
            stack.callback(log.setLevel, log.level)
            log.setLevel(logging.ERROR)
        if folder is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="dask-coded-"))
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        problems = _make_problems(folder, seed)
        trials = []
        for api in apis:
            for fault in faults:
                if fault in LSTSQ_ONLY and api != "lstsq":
                    continue
                for r in range(runs):
                    trial = run_trial(api, fault, problems, seed=seed + r, n_workers=n_workers,
                                      hang_limit=hang_limit, log=folder / "cluster.log")
                    trials.append(trial)
                    if progress is not None:
                        progress(trial)
    return trials


def fault_table(trials: Sequence[Trial]) -> str:
    """The suite's table: per (api, fault), runs and how they ended."""
    head = ["api", "fault", "runs", "survived (right)", "clear error", "wrong", "unclear",
            "hangs", "not injected", "median s"]
    rows = [head]
    keys = list(dict.fromkeys((t.api, t.fault) for t in trials))
    for api, fault in keys:
        ts = [t for t in trials if (t.api, t.fault) == (api, fault)]
        count = {o: sum(t.outcome == o for t in ts) for o in OUTCOMES}
        rows.append([api, fault, str(len(ts)), str(count["right"]), str(count["clear error"]),
                     str(count["wrong"]), str(count["unclear"]), str(count["hang"]),
                     str(count["not injected"]),
                     f"{float(np.median([t.seconds for t in ts])):.1f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                     for r in rows)


def suite_failures(trials: Sequence[Trial]) -> list[Trial]:
    """Trials that break the suite's promise: a wrong answer, a hang, an unclear error, or
    a fault the redundancy can survive that was not survived."""
    bad = []
    for t in trials:
        if t.outcome in ("wrong", "hang", "unclear", "not injected"):
            bad.append(t)
        elif t.outcome != "right" and t.fault not in UNSURVIVABLE:
            bad.append(t)
    return bad


__all__ = ["FAULTS", "ProcessCluster", "Trial", "fault_table", "run_suite", "run_trial",
           "suite_failures"]
