"""An in-process stand-in for the coded executor, for fast, reproducible experiments.

:class:`SimulatedExecutor` has the interface the solvers use (``place``, ``run_round``,
``placement``, ``close``) but no cluster: every server's data lives in this process, each round
draws the servers' finishing times from a model, and only the first q (by simulated time) are
computed. It is the GC paper's probabilistic model itself (Section II-E, Remark 3) rather than
a measurement of a real cluster, which is what reproducing the paper's experiments needs:
thousands of rounds in seconds. ``lstsq(..., client="simulate")`` uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .executor import RoundResult, Speculation, StragglerTimeout, check_round


class SimulatedExecutor:
    """Rounds over in-process servers whose finishing times are drawn, not measured.

    Parameters
    ----------
    runtime : RuntimeModel, optional
        Finishing time of a server in a round (default: i.i.d. exponential, mean 1, so the
        first q form a uniformly random subset, as GC Remark 3 assumes).
    seed : int, optional
        Seeds the finishing times.
    """

    client = None

    def __init__(self, runtime: Any = None, *, seed: int | None = None):
        self.runtime = runtime
        self._rng = np.random.default_rng(seed)
        self._data: list = []
        self.rounds_run = 0

    @property
    def n_servers(self) -> int:
        return len(self._data)

    def get_state(self) -> dict:
        """JSON-safe state that decides future rounds: round counter and the time draws."""
        return {"rounds_run": self.rounds_run, "rng": self._rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        """Continue from :meth:`get_state`: the same finishing times as an unbroken run."""
        self.rounds_run = int(state["rounds_run"])
        self._rng.bit_generator.state = state["rng"]

    def place(self, loaders: Sequence[tuple[Callable, tuple]], workers=None, *,
              wait: bool = True, copy_of: Sequence[int | None] | None = None,
              resident: Sequence[Any] | None = None, speculate: Any = False,
              delays: Any = None, slowdown: Any = None) -> None:
        """Build every server's data here, in this process (a copy shares its source's).

        ``resident``, ``speculate``, ``delays`` and ``slowdown`` are accepted for the real
        executor's interface; loads here take no simulated time."""
        self._data = []
        for j, (fn, args) in enumerate(loaders):
            source = None if copy_of is None else copy_of[j]
            self._data.append(fn(*args) if source is None else self._data[source])

    def settle(self, timeout: float = 5.0) -> None:
        """Nothing to wait for: data here is built at once."""

    def placement(self) -> dict[int, str]:
        return {j: "local" for j in range(self.n_servers)}

    def release(self) -> None:
        self._data = []

    close = release

    def run_round(self, kernel: Callable, param: Any, *, q: int, deadline: float | None = None,
                  on_short: str = "wait", servers: Sequence[int] | None = None,
                  delays: np.ndarray | None = None, slowdown: np.ndarray | None = None,
                  max_wait: float = 300.0, q_min: int | None = None,
                  cover: Sequence[int] | None = None,
                  speculate: Speculation | bool = False) -> RoundResult:
        """As :meth:`CodedExecutor.run_round`, in simulated time (seconds of the model).

        With ``cover`` the round takes the first server of every group; a backup copy of a
        group still uncovered at the speculation rule's deadline finishes a fresh clean
        draw later (no model delay or slowdown: another machine ran it).
        """
        ids = np.arange(self.n_servers) if servers is None else np.asarray(servers, dtype=int)
        times = self._draw(len(ids))
        if delays is not None:
            times = times + np.asarray(delays, dtype=float)[ids]
        if slowdown is not None:
            times = times * np.asarray(slowdown, dtype=float)[ids]
        if cover is not None:
            return self._cover_round(kernel, param, ids, times, np.asarray(cover),
                                     Speculation.coerce(speculate))
        q_min = check_round(q, len(ids), deadline, on_short, q_min)
        order = np.argsort(times, kind="stable")
        arrival = times[order]
        take = q
        timed_out = deadline is not None and arrival[q - 1] > deadline
        if timed_out:
            in_time = int(np.searchsorted(arrival, deadline, side="right"))
            if on_short == "fail":
                raise StragglerTimeout(f"round {self.rounds_run}: {in_time} of q={q} servers "
                                       f"answered within the deadline of {deadline:g} s")
            if on_short == "proceed":
                take = max(in_time, q_min)
        used = ids[order[:take]]
        values = [kernel(self._data[j], param) for j in used]
        result = RoundResult(self.rounds_run, used.astype(np.int64), arrival[:take], values,
                             q / take, float(arrival[take - 1]), bool(timed_out))
        self.rounds_run += 1
        return result

    def _draw(self, n: int) -> np.ndarray:
        if self.runtime is not None:
            return np.asarray(self.runtime.sample(n, self._rng), dtype=float)
        return self._rng.exponential(1.0, size=n)

    def _cover_round(self, kernel, param, ids, times, cover, rule) -> RoundResult:
        groups = cover[ids]
        first: dict[int, tuple[float, int]] = {}
        for j, t, g in zip(ids, times, groups):
            if int(g) not in first or t < first[int(g)][0]:
                first[int(g)] = (float(t), int(j))
        backups = won = 0
        arrivals = np.sort([t for t, _ in first.values()])
        need = max(1, int(np.ceil(rule.quantile * len(arrivals))))
        # the rule's clock: the median of the groups in by the time `need` of them are
        late_after = rule.late_after(arrivals[:need], len(arrivals))
        if late_after is not None:
            late_after = max(late_after, float(arrivals[need - 1]))
            for g, (t, j) in list(first.items()):
                if t > late_after:
                    backups += 1
                    t_backup = late_after + float(self._draw(1)[0])
                    if t_backup < t:
                        first[g] = (t_backup, j)
                        won += 1
        used = sorted(first.values())
        servers = np.array([j for _, j in used], dtype=np.int64)
        values = [kernel(self._data[j], param) for j in servers]
        result = RoundResult(self.rounds_run, servers, np.array([t for t, _ in used]), values,
                             1.0, used[-1][0], False, backups=backups, backups_won=won)
        self.rounds_run += 1
        return result
