"""Model stragglers: a seeded :class:`StragglerScenario`, its config, and runtime traces.

A :class:`StragglerScenario` draws, seeded by ``(seed, round)``, a delay per server from a
runtime model (shifted exponential, Pareto, bimodal, or a trace loaded by :func:`load_trace`)
and picks a fixed subset of servers that is ``slow_factor`` times slower for the whole run.
The coded executor applies them on the worker (``run_round(..., delays=scenario.delays(r,
m), slowdown=scenario.slowdown(m))``), so the same scenario gives the same stragglers on every
run. The scenario also schedules the real faults (throttled and killed worker processes) and
seeds their choice of workers; :mod:`dask_coded.stragglers.inject` carries them out.

Pure and seeded: numpy only, no process is touched and ``distributed`` is not imported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..kernels import checks
from ..kernels.runtime import RUNTIME_MODELS, Empirical, RuntimeModel, runtime_model

__all__ = ["StragglerScenario", "load_trace"]

# Independent random streams of one scenario seed (SeedSequence spawn keys), so that changing,
# say, the number of servers never changes which workers are killed.
_DELAY_STREAM, _SLOW_STREAM, _KILL_STREAM, _THROTTLE_STREAM = range(4)


# ---------------------------------------------------------------------------- validation


def _mapping(key: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise InputError(f"{key} must be a mapping, got {type(value).__name__}")
    return value


def _check_keys(key: str, value: Mapping, allowed: Iterable[str],
                required: Iterable[str] = ()) -> None:
    """InputError for the first unknown or missing key of a config mapping."""
    allowed = list(allowed)
    for k in value:
        if k not in allowed:
            where = f"{key}.{k}" if key else str(k)
            raise InputError(f"unknown key {where!r}; expected one of {', '.join(allowed)}")
    for k in required:
        if k not in value:
            raise InputError(f"{key}.{k} is required")


# ---------------------------------------------------------------------------- traces


def _parse_text_trace(path: Path) -> np.ndarray:
    """One number per line (blank lines and ``#`` comments skipped), or InputError."""
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError(f"trace {path} is not a text file") from None
    except OSError as exc:
        raise InputError(f"trace {path} cannot be read: {exc.strerror or exc}") from None
    values = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if path.suffix.lower() == ".csv":
            line = line.rstrip(",").strip()  # a trailing delimiter is not a second column
        if not line:
            continue
        if "," in line:
            raise InputError(f"trace {path} line {lineno} has more than one column: {line!r}")
        try:
            values.append(float(line))
        except ValueError:
            raise InputError(f"trace {path} line {lineno} is not a number: {line!r}") from None
    return np.array(values, dtype=np.float64)


def load_trace(path: str | os.PathLike) -> Empirical:
    """Load observed finishing times into an :class:`~dask_coded.kernels.runtime.Empirical`.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding a 1-D (or ``(n, 1)``) array of numbers, or a ``.txt`` /
        ``.csv`` file with one number per line (blank lines and ``#`` comments are skipped).
        Times are in seconds.

    Returns
    -------
    Empirical
        The ECDF of the times; its :meth:`~Empirical.sample` draws from them by bootstrap.

    Raises
    ------
    InputError
        The file is missing or has another extension, holds something that is not a number,
        fewer than 2 values, or a value that is not finite and > 0.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"trace path must be a string or path, got {type(path).__name__}")
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".npy", ".txt", ".csv"):
        raise InputError(f"trace {p} must be a .npy, .txt or .csv file, got {suffix or 'none'!r}")
    if not p.is_file():
        raise InputError(f"trace file {p} does not exist")
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            # Pickled objects (allow_pickle=False) and corrupt headers both land here.
            raise InputError(f"trace {p} is not a readable numeric .npy file: {exc}") from None
        if not isinstance(arr, np.ndarray):  # an .npz archive saved under a .npy name
            raise InputError(f"trace {p} is an .npz archive, not a single .npy array")
        if arr.dtype.kind not in "iuf":
            raise InputError(f"trace {p} must hold real numbers, got dtype {arr.dtype}")
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise InputError(f"trace {p} must be a 1-D array, got shape {arr.shape}")
        times = arr.astype(np.float64)
    else:
        times = _parse_text_trace(p)
    try:
        return Empirical(times)
    except InputError as exc:
        raise InputError(f"trace {p}: {exc}") from None


# ---------------------------------------------------------------------------- scenarios


def _check_kills(value: Any, key: str = "kills") -> tuple[tuple[int, int], ...]:
    try:
        pairs = list(value)
    except TypeError:
        raise InputError(f"{key} must be a sequence of (round, n_workers) pairs, "
                         f"got {type(value).__name__}") from None
    out = []
    for i, pair in enumerate(pairs):
        try:
            round_id, n = pair
        except (TypeError, ValueError):
            raise InputError(f"{key}[{i}] must be a (round, n_workers) pair, "
                             f"got {pair!r}") from None
        out.append((checks.integer(f"{key}[{i}] round", round_id, 0),
                    checks.integer(f"{key}[{i}] n_workers", n, 1)))
    return tuple(sorted(out))


@dataclass(frozen=True)
class StragglerScenario:
    """Which servers straggle, and how, in one experiment.

    Parameters
    ----------
    delay_model : RuntimeModel or None
        Each server of each round sleeps a delay drawn from this model before computing
        (a model straggler). None: no delays.
    slow_fraction : float
        Fraction of servers, in [0, 1], that are ``slow_factor`` times slower for the whole
        run: ``ceil(slow_fraction * n_servers)`` of them, a fixed seeded subset.
    slow_factor : float
        Compute-time stretch of the slow servers, >= 1 (1: not slow).
    throttle_workers : int
        Number of worker *processes* made really slower by
        :func:`~dask_coded.stragglers.inject.start_throttles`.
    throttle_factor : float
        How many times slower they run, >= 1 (1: not throttled).
    freeze_workers : int
        Number of worker processes stopped (SIGSTOP) for the whole run, from its start (a
        worker that does not come back; :func:`~dask_coded.stragglers.inject.freeze`),
        chosen apart from the throttled ones.
    kills : tuple of (int, int)
        ``(round, n_workers)``: SIGKILL that many worker processes just before that round
        (:func:`~dask_coded.stragglers.inject.apply_round_faults`). Stored sorted by round.
    seed : int
        Seed (>= 0) of every random choice of the scenario; delays are seeded by
        ``(seed, round)``.
    """

    delay_model: RuntimeModel | None = None
    slow_fraction: float = 0.0
    slow_factor: float = 1.0
    throttle_workers: int = 0
    throttle_factor: float = 1.0
    freeze_workers: int = 0
    kills: tuple[tuple[int, int], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.delay_model is not None and not isinstance(self.delay_model, RuntimeModel):
            raise InputError(f"delay_model must be a RuntimeModel or None, "
                             f"got {type(self.delay_model).__name__}")
        # object.__setattr__: the dataclass is frozen; store normalised values.
        object.__setattr__(self, "slow_fraction",
                           checks.fraction("slow_fraction", self.slow_fraction))
        object.__setattr__(self, "slow_factor", checks.real("slow_factor", self.slow_factor, low=1))
        object.__setattr__(self, "throttle_workers",
                           checks.integer("throttle_workers", self.throttle_workers, 0))
        object.__setattr__(self, "throttle_factor",
                           checks.real("throttle_factor", self.throttle_factor, low=1))
        object.__setattr__(self, "freeze_workers",
                           checks.integer("freeze_workers", self.freeze_workers, 0))
        object.__setattr__(self, "kills", _check_kills(self.kills))
        object.__setattr__(self, "seed", checks.integer("seed", self.seed, 0))

    # ------------------------------------------------------------------ config

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None, *,
                    base_dir: str | os.PathLike | None = None) -> StragglerScenario:
        """Build a scenario from a YAML-style mapping.

        Parameters
        ----------
        config : mapping or None
            Keys (all optional)::

                delay:    {distribution: NAME, <its parameters>}   # see runtime_model
                          or {trace: PATH}                         # .npy/.txt/.csv times
                slow:     {fraction: 0.25, factor: 10}
                throttle: {workers: 1, factor: 10}
                freeze:   {workers: 1}
                kill:     [{round: 5, workers: 1}, ...]
                seed:     0

            None or ``{}`` gives an empty scenario.
        base_dir : str or path-like, optional
            Directory that a relative ``delay.trace`` path is relative to (the config file's
            directory); default: the current directory.

        Returns
        -------
        StragglerScenario

        Raises
        ------
        InputError
            An unknown or missing key, a value of the wrong type or out of range; the
            message names the key (``slow.fraction``, ``kill[0].round``, ...).
        """
        if config is None:
            return cls()
        config = _mapping("stragglers config", config)
        _check_keys("", config, ("delay", "slow", "throttle", "freeze", "kill", "seed"))
        kwargs: dict[str, Any] = {}
        if config.get("delay") is not None:
            kwargs["delay_model"] = _delay_from_config(config["delay"], base_dir)
        if config.get("slow") is not None:
            slow = _mapping("slow", config["slow"])
            _check_keys("slow", slow, ("fraction", "factor"), required=("fraction", "factor"))
            kwargs["slow_fraction"] = checks.fraction("slow.fraction", slow["fraction"])
            kwargs["slow_factor"] = checks.real("slow.factor", slow["factor"], low=1)
        if config.get("throttle") is not None:
            thr = _mapping("throttle", config["throttle"])
            _check_keys("throttle", thr, ("workers", "factor"), required=("workers", "factor"))
            kwargs["throttle_workers"] = checks.integer("throttle.workers", thr["workers"], 0)
            kwargs["throttle_factor"] = checks.real("throttle.factor", thr["factor"], low=1)
        if config.get("freeze") is not None:
            frz = _mapping("freeze", config["freeze"])
            _check_keys("freeze", frz, ("workers",), required=("workers",))
            kwargs["freeze_workers"] = checks.integer("freeze.workers", frz["workers"], 0)
        if config.get("kill") is not None:
            kill = config["kill"]
            if isinstance(kill, (str, bytes, Mapping)) or not isinstance(kill, Sequence):
                raise InputError(f"kill must be a list of {{round, workers}} mappings, "
                                 f"got {type(kill).__name__}")
            pairs = []
            for i, item in enumerate(kill):
                item = _mapping(f"kill[{i}]", item)
                _check_keys(f"kill[{i}]", item, ("round", "workers"),
                            required=("round", "workers"))
                pairs.append((checks.integer(f"kill[{i}].round", item["round"], 0),
                              checks.integer(f"kill[{i}].workers", item["workers"], 1)))
            kwargs["kills"] = tuple(pairs)
        if config.get("seed") is not None:
            kwargs["seed"] = checks.integer("seed", config["seed"], 0)
        return cls(**kwargs)

    # ------------------------------------------------------------------ model stragglers

    @property
    def is_empty(self) -> bool:
        """True when the scenario makes no server straggle and kills nothing."""
        return (self.delay_model is None and not self._slows and not self.throttles
                and not self.freeze_workers and not self.kills)

    @property
    def _slows(self) -> bool:
        return self.slow_fraction > 0 and self.slow_factor > 1.0

    @property
    def throttles(self) -> bool:
        """True when the scenario throttles some worker processes (by a factor > 1)."""
        return self.throttle_workers > 0 and self.throttle_factor > 1.0

    def _rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=stream))

    def delays(self, round_id: int, n_servers: int) -> np.ndarray | None:
        """Per-server delays (seconds) of one round, or None without a delay model.

        Seeded by ``(seed, round_id)``: the same scenario gives the same delays on every run,
        and different rounds get different (independent) delays.

        Parameters
        ----------
        round_id : int
            The round, >= 0.
        n_servers : int
            Number of servers, >= 1.

        Returns
        -------
        ndarray of float64 or None
            Shape ``(n_servers,)``, indexed by server id.
        """
        round_id = checks.integer("round_id", round_id, 0)
        n_servers = checks.integer("n_servers", n_servers, 1)
        if self.delay_model is None:
            return None
        return self.delay_model.sample(n_servers, self._rng(_DELAY_STREAM, round_id))

    def slow_servers(self, n_servers: int) -> np.ndarray:
        """The fixed, sorted ids of the ``ceil(slow_fraction * n_servers)`` slow servers."""
        n_servers = checks.integer("n_servers", n_servers, 1)
        if not self._slows:
            return np.empty(0, dtype=np.int64)
        # round(): 0.1 * 30 is 3.0000000000000004 in floating point, whose ceil is 4, not 3.
        k = math.ceil(round(self.slow_fraction * n_servers, 9))
        chosen = self._rng(_SLOW_STREAM).choice(n_servers, size=k, replace=False)
        return np.sort(chosen).astype(np.int64)

    def slowdown(self, n_servers: int) -> np.ndarray | None:
        """Per-server compute-time factors (1 or ``slow_factor``), or None if none is slow.

        Parameters
        ----------
        n_servers : int
            Number of servers, >= 1.

        Returns
        -------
        ndarray of float64 or None
            Shape ``(n_servers,)``, indexed by server id; the same on every call.
        """
        slow = self.slow_servers(n_servers)
        if slow.size == 0:
            return None
        out = np.ones(n_servers)
        out[slow] = self.slow_factor
        return out

    def kills_at(self, round_id: int) -> int:
        """Number of worker processes to kill just before ``round_id``."""
        return sum(n for r, n in self.kills if r == round_id)

    def fault_rng(self, round_id: int) -> np.random.Generator:
        """The seeded generator that picks the workers killed before ``round_id``."""
        return self._rng(_KILL_STREAM, checks.integer("round_id", round_id, 0))

    def throttle_rng(self) -> np.random.Generator:
        """The seeded generator that picks the throttled workers (the same on every call)."""
        return self._rng(_THROTTLE_STREAM)


def _delay_from_config(delay: Any, base_dir: str | os.PathLike | None) -> RuntimeModel:
    delay = _mapping("delay", delay)
    if "trace" in delay and "distribution" in delay:
        raise InputError("delay takes either 'trace' or 'distribution', not both")
    if "trace" in delay:
        _check_keys("delay", delay, ("trace",))
        trace = delay["trace"]
        if not isinstance(trace, (str, os.PathLike)):
            raise InputError(f"delay.trace must be a file path, got {type(trace).__name__}")
        path = Path(trace)
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        try:
            return load_trace(path)
        except InputError as exc:
            raise InputError(f"delay.trace: {exc}") from None
    if "distribution" not in delay:
        raise InputError("delay needs either 'distribution' (a runtime model) or 'trace' "
                         "(a file of times)")
    name = delay["distribution"]
    if not isinstance(name, str) or name not in RUNTIME_MODELS:
        known = ", ".join(sorted(RUNTIME_MODELS))
        raise InputError(f"delay.distribution {name!r} is unknown; known: {known}")
    params = {k: v for k, v in delay.items() if k != "distribution"}
    names = [f.name for f in fields(RUNTIME_MODELS[name])]
    _check_keys("delay", params, ["distribution", *names], required=names)
    try:
        return runtime_model(name, **params)
    except InputError as exc:
        # The models' messages start with the parameter's name: "rate must be > 0, ...".
        raise InputError(f"delay.{exc}") from None
