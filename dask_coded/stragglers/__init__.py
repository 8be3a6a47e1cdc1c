"""Stragglers for experiments: reproducible model delays, and real slow or dead workers.

Two kinds, as DESIGN.md ("Stragglers, honestly") asks, in two modules:

* :mod:`~dask_coded.stragglers.scenario` -- model stragglers: the seeded
  :class:`StragglerScenario` (per-round delays drawn from a runtime model or a trace loaded by
  :func:`load_trace`, a fixed subset of slow servers, scheduled throttles and kills) and its
  config. Pure numpy; no process is touched.
* :mod:`~dask_coded.stragglers.inject` -- real stragglers: :func:`throttle` (a SIGSTOP/SIGCONT
  helper process, ``python -m dask_coded.stragglers throttle PID FACTOR PERIOD``) and its
  :class:`Throttle` handle, :func:`freeze` (SIGSTOP until thawed), :func:`kill_workers`,
  :func:`worker_pids`, and
  :func:`start_throttles` / :func:`apply_round_faults`, which carry out a scenario's faults.
"""

from .inject import (
    Frozen,
    RunFaults,
    Throttle,
    apply_round_faults,
    freeze,
    kill_workers,
    main,
    start_throttles,
    throttle,
    worker_pids,
)
from .scenario import StragglerScenario, load_trace

__all__ = [
    "Frozen",
    "RunFaults",
    "StragglerScenario",
    "Throttle",
    "apply_round_faults",
    "freeze",
    "kill_workers",
    "load_trace",
    "main",
    "start_throttles",
    "throttle",
    "worker_pids",
]
