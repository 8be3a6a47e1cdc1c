"""Run configurations of ``dask-coded solve``: YAML in, typed frozen dataclasses out.

A config names a dataset (a stored one, or one generated on first use), a cluster, a solver
and its settings, further methods to compare on the same data, injected stragglers and an
output folder::

    dataset:    {path: data/quickstart.zarr,            # required
                 generate: {kind: coherent, n_rows: 200000, n_cols: 20,
                            chunk_rows: 25000, seed: 0}}  # optional: written when absent
    cluster:    {scheduler: null, workers: 2, threads_per_worker: 2, timeout: 10,
                 dashboard: 127.0.0.1:0,              # optional: null for none
                 security: {ca_file: tls/ca.pem,      # optional: a scheduler that requires
                            cert: tls/client.pem,     # TLS (scheduler: tls://HOST:PORT);
                            key: tls/client-key.pem,  # key optional if inside cert
                            require_encryption: true}}
    solver:     {method: block-leverage, n_blocks: 50, n_servers: 100, q: null,
                 deadline: null, on_short: wait, step: optimal, step_scale: 0.25,
                 max_iter: 60, tol: 1.0e-10, time_budget: null, sketch_rows: null,
                 seed: 0, reference: auto, runtime: null, reconnect_timeout: 60,
                 precondition: true, variance_reduction: true, anchor_every: null,
                 reweight: true, leverage: auto, scores: exact, network: optimal}
    compare:    [sd]                  # optional: the same solver settings, other methods
    stragglers: {...}                 # optional: see StragglerScenario.from_config
    output:     {dir: out/quickstart, # optional: default out/<config file stem>
                 target_error: 1e-4,  # optional: report each method's time to reach it
                 checkpoint_every: 10,           # optional: null for no checkpoints
                 checkpoint_dir: null}           # default <dir>.checkpoints

Only ``dataset.path`` is required. Relative paths (``dataset.path``, ``output.dir``,
``solver.reference`` as a ``.npy`` file, a straggler trace, the ``cluster.security`` files)
resolve against the current working directory, not the config file's folder: run the command
from the folder you mean.

Every mistake is an :class:`~dask_coded.errors.InputError` of one line naming the key
(``solver.deadline must be > 0, got 0``), raised before any cluster is started.

The YAML is read by :class:`ConfigLoader`: ``yaml.safe_load``'s rules, but no aliases or
anchors (``&a`` / ``*a``: a few hundred bytes of nested aliases expand to gigabytes, and a
run config has no use for them), and numbers such as ``1e-9`` read as floats (YAML 1.1, which
PyYAML follows, wants a dot: ``1.0e-9``; without one they were strings).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .kernels import checks

#: Top-level keys of a run config.
SECTIONS = ("dataset", "cluster", "solver", "compare", "stragglers", "output")

#: Most worker processes / threads per worker of an embedded cluster, and most servers.
MAX_WORKERS = 1024
MAX_THREADS = 4096
MAX_SERVERS = 1_000_000


# ------------------------------------------------------------------------------ helpers


# ------------------------------------------------------------------------------ YAML

#: A YAML 1.2 float without a dot (``1e-9``, ``1E5``, ``-2e+3``), which YAML 1.1 reads as a
#: string; the dotted forms are YAML 1.1's own resolver's.
_EXP_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _AliasRefused(Exception):
    """An alias or anchor in a config (see :class:`ConfigLoader`); carries the line."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases and anchors, with YAML 1.2 exponent floats.

    An alias bomb (467 bytes of nested ``*a`` references) grew to 2.2 GB before a
    MemoryError; refusing aliases as the composer meets them costs nothing and a run config
    never needs one. Anchors are refused too: one is only ever there for an alias.
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused(event.start_mark.line + 1)
        return super().compose_node(parent, index)


ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXP_FLOAT,
                                   list("-+0123456789"))


def load_yaml(path: Path, what: str = "config") -> Any:
    """The YAML document in ``path`` read by :class:`ConfigLoader`, or one-line InputErrors.

    Parameters
    ----------
    path : Path
    what : str
        What the messages call the file (``"config"``, ``"spec"``).
    """
    if not path.is_file():
        # "no such config file: X"; a --spec file is "no such file: X", as before
        raise InputError(f"no such {'config file' if what == 'config' else 'file'}: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {what} {path}: not UTF-8 text (byte {exc.start})"
                         ) from None
    try:
        # what yaml.load does, with our SafeLoader subclass (no arbitrary objects): spelled
        # out so that no yaml.load call is left for a reader (or tests/test_no_pickle.py) to
        # check for its Loader
        loader = ConfigLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _AliasRefused as exc:
        raise InputError(f"{what} {path}: YAML aliases (&/*) are not supported (line "
                         f"{exc.line}); write the values out") from None
    except RecursionError:
        raise InputError(f"{what} {path}: YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problem = " ".join(str(problem).split())
        raise InputError(f"{path} is not valid YAML{where}: {_cut(problem)}") from None


# ------------------------------------------------------------------------------ helpers

#: Longest value a message shows: a YAML value may be a megabyte long.
SHOWN_CHARS = 80


def _cut(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked by ``...`` where cut."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _mapping(key: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise InputError(f"{key} must be a mapping, got {checks.type_name(value)}")
    for k in value:
        if not isinstance(k, str):
            raise InputError(f"{key} has a key that is not a string: {_cut(repr(k))}")
    return value


def _check_keys(key: str, value: Mapping, allowed: tuple[str, ...]) -> None:
    unknown = [k for k in value if k not in allowed]
    if unknown:
        where = f"{key}." if key else ""
        raise InputError(f"unknown key {where}{_cut(str(unknown[0]))}; known keys"
                         f"{' of ' + key if key else ''}: {', '.join(allowed)}")


def _shown(value: Any) -> str:
    """:func:`~dask_coded.kernels.checks.quoted` (a string by its repr, a number as Python
    writes it, any other value by its type), cut at :data:`SHOWN_CHARS`."""
    return _cut(checks.quoted(value))


def _str(key: str, value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"{key} must be a non-empty string, got {_shown(value)}")
    return value


def _choice(key: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    return checks.choice(key, value, choices)


def _path(key: str, value: Any) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InputError(f"{key} must be a path, got {_shown(value)}")
    return Path(value)


def _dashboard(value: Any) -> str | None:
    """``cluster.dashboard``: null, or ``HOST:PORT`` / ``:PORT`` with a port in 0..65535."""
    if value is None:
        return None
    text = value if isinstance(value, str) else ""
    _host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InputError(f"cluster.dashboard must be HOST:PORT (port 0 for a free one), or "
                         f"null for no dashboard, got {_shown(value)}")
    return text


# ------------------------------------------------------------------------------ sections



def _stragglers(value: Any) -> dict | None:
    """The ``stragglers`` mapping, checked by :meth:`StragglerScenario.from_config`."""
    if value is None:
        return None
    from .stragglers import StragglerScenario

    value = dict(_mapping("stragglers", value))
    try:
        StragglerScenario.from_config(value)
    except InputError as exc:
        raise InputError(f"stragglers: {exc}") from None
    return value

@dataclass(frozen=True)
class DatasetConfig:
    """Where (A, b) is, and how to generate it when it is absent.

    Attributes
    ----------
    path : Path
        The Zarr store (a group, v2 or v3).
    generate : DatasetSpec or None
        Parameters of :func:`dask_coded.make_dataset`, used only when ``path`` is absent.
    A, b : str
        Names of the matrix and the right-hand side in the store (``dataset: {path: ...,
        A: X, b: y}``); default ``A`` and ``b``, the names a generated store has.
    """

    path: Path
    generate: Any = None  # DatasetSpec (frozen)
    A: str = "A"
    b: str = "b"

    @classmethod
    def parse(cls, value: Any) -> DatasetConfig:
        if value is None:
            raise InputError("dataset is required: give dataset.path (and dataset.generate to "
                             "create it when absent)")
        value = _mapping("dataset", value)
        _check_keys("dataset", value, ("path", "generate", "A", "b"))
        if value.get("path") is None:
            raise InputError("dataset.path is required (the Zarr store to read, or to write "
                             "when dataset.generate is given)")
        path = _path("dataset.path", value["path"])
        names = {key: _str(f"dataset.{key}", value.get(key, key)) for key in ("A", "b")}
        if value.get("generate") is not None and names != {"A": "A", "b": "b"}:
            # a generated store names its arrays A and b: other names could never match it
            raise InputError("dataset.A and dataset.b name the arrays of your own store; a "
                             "generated one (dataset.generate) has A and b")
        spec = None
        if value.get("generate") is not None:
            from .datasets import make_spec

            gen = _mapping("dataset.generate", value["generate"])
            for name in ("noise", "condition", "df", "coherence", "hot_fraction"):
                v = gen.get(name)
                checks.real(f"dataset.generate.{name}", v, finite=False, optional=True)
            try:
                spec = make_spec(**gen)
            except InputError as exc:
                raise InputError(f"dataset.generate: {exc}") from None
        return cls(path=path, generate=spec, **names)

    @property
    def store(self) -> os.PathLike:
        """The store with its array names (a :class:`~dask_coded.io.DatasetPath`): pass it
        wherever a dataset path goes, so the names reach every worker's read."""
        from .io import DatasetPath  # lazily: parsing a config needs no zarr

        return DatasetPath(self.path, A=self.A, b=self.b)

    def to_dict(self) -> dict:
        return {"path": str(self.path),
                "generate": None if self.generate is None else self.generate.to_attrs(),
                "A": self.A, "b": self.b}


@dataclass(frozen=True)
class SecurityConfig:
    """TLS settings of the client for a scheduler that requires TLS (mutual TLS).

    Only the paths are kept (and reported), never the contents of the key.

    Attributes
    ----------
    ca_file : str
        PEM file of the certificate authority that signed the scheduler's certificate.
    cert : str
        PEM file of this client's certificate (signed by a CA the scheduler trusts).
    key : str or None
        PEM file of the private key of ``cert``; None when the key is appended to ``cert``.
    require_encryption : bool
        Refuse any connection that is not TLS.
    """

    ca_file: str
    cert: str
    key: str | None = None
    require_encryption: bool = True

    KEYS = ("ca_file", "cert", "key", "require_encryption")

    @classmethod
    def parse(cls, value: Any) -> SecurityConfig | None:
        if value is None:
            return None
        value = _mapping("cluster.security", value)
        _check_keys("cluster.security", value, cls.KEYS)
        files = {}
        for name in ("ca_file", "cert", "key"):
            key = f"cluster.security.{name}"
            if value.get(name) is None:
                if name == "key":
                    files[name] = None
                    continue
                raise InputError(f"{key} is required when cluster.security is given")
            path = _path(key, value[name])
            if not path.exists():
                raise InputError(f"{key} {path} does not exist")
            if not path.is_file():
                raise InputError(f"{key} {path} is not a file")
            files[name] = str(path)
        req = checks.flag("cluster.security.require_encryption",
                          value.get("require_encryption", True))
        return cls(**files, require_encryption=req)

    def to_security(self):
        """The ``distributed.security.Security`` of a client with these settings."""
        from distributed.security import Security

        return Security(tls_ca_file=self.ca_file, tls_client_cert=self.cert,
                        tls_client_key=self.key, require_encryption=self.require_encryption)


@dataclass(frozen=True)
class ClusterConfig:
    """An embedded LocalCluster (``scheduler`` None) or the address of a running scheduler.

    Attributes
    ----------
    scheduler : str or None
    workers : int or None
        Worker processes of the embedded cluster (default: one per core, at most 4).
    threads_per_worker : int
        Threads per embedded worker. Model stragglers sleep on a thread: give workers about
        as many threads as servers each holds for the servers to straggle independently.
    timeout : float
        Seconds to wait for a scheduler to answer.
    security : SecurityConfig or None
        TLS settings for a ``tls://`` scheduler.
    dashboard : str or None
        ``HOST:PORT`` the embedded cluster's dashboard listens on (default ``127.0.0.1:0``:
        this machine only, a free port); null for none. It has no authentication: bind
        another interface only on a network you trust.
    """

    scheduler: str | None = None
    workers: int | None = None
    threads_per_worker: int = 1
    timeout: float = 10.0
    security: SecurityConfig | None = None
    dashboard: str | None = "127.0.0.1:0"

    @classmethod
    def parse(cls, value: Any) -> ClusterConfig:
        if value is None:
            return cls()
        value = _mapping("cluster", value)
        _check_keys("cluster", value, ("scheduler", "workers", "threads_per_worker", "timeout",
                                       "security", "dashboard"))
        scheduler = _str("cluster.scheduler", value.get("scheduler"), optional=True)
        security = SecurityConfig.parse(value.get("security"))
        if security is not None and not (scheduler or "").startswith("tls://"):
            raise InputError(f"cluster.security is given, so cluster.scheduler must be a "
                             f"tls:// address, got {_shown(scheduler)}")
        return cls(scheduler=scheduler,
                   workers=checks.integer("cluster.workers", value.get("workers"), 1,
                                          optional=True, high=MAX_WORKERS),
                   threads_per_worker=checks.integer("cluster.threads_per_worker",
                                                     value.get("threads_per_worker", 1), 1,
                                                     high=MAX_THREADS),
                   timeout=checks.positive("cluster.timeout", value.get("timeout", 10.0)),
                   security=security,
                   dashboard=_dashboard(value.get("dashboard", cls.dashboard)))

    def client_security(self):
        """The ``distributed.security.Security`` for :func:`~dask_coded.cluster.connect`."""
        return None if self.security is None else self.security.to_security()


@dataclass(frozen=True)
class SolverConfig:
    """Arguments of :func:`dask_coded.linear_model.lstsq` (see its docstring).

    ``step`` is a rule name or a positive number (a fixed step of that many
    ``2 / sigma_max^2``); ``reference`` is ``"auto"``, None, or the path of a ``.npy`` file
    holding the solution to measure the error against; ``runtime`` is a runtime model
    mapping ``{distribution: NAME, <parameters>}`` giving q(T) from ``deadline`` (GC eq. 12).
    """

    method: str = "auto"
    n_blocks: int | None = None
    n_servers: int | None = None
    q: int | None = None
    deadline: float | None = None
    on_short: str = "wait"
    step: str | float = "optimal"
    step_scale: float = 0.25
    max_iter: int = 100
    tol: float = 0.0
    time_budget: float | None = None
    sketch_rows: int | None = None
    seed: int = 0
    reference: str | Path | None = "auto"
    runtime: Mapping | None = field(default=None, hash=False)
    reconnect_timeout: float = 60.0
    precondition: bool = True
    variance_reduction: bool = True
    anchor_every: int | None = None
    reweight: bool = True
    leverage: str = "auto"
    scores: str = "exact"
    network: str = "optimal"

    KEYS = ("method", "n_blocks", "n_servers", "q", "deadline", "on_short", "step",
            "step_scale", "max_iter", "tol", "time_budget", "sketch_rows", "seed", "reference",
            "runtime", "reconnect_timeout", "precondition", "variance_reduction",
            "anchor_every", "reweight", "leverage", "scores", "network")

    @classmethod
    def parse(cls, value: Any) -> SolverConfig:
        from .executor import ON_SHORT
        from .linear_model import LEVERAGE, SCORES, check_sizes
        from .solvers import METHODS, NETWORKS, STEPS

        if value is None:
            return cls()
        value = _mapping("solver", value)
        _check_keys("solver", value, cls.KEYS)
        d = cls()
        get = value.get
        method = _choice("solver.method", get("method", d.method), ["auto", *METHODS])
        n_blocks = checks.integer("solver.n_blocks", get("n_blocks"), 1, optional=True)
        n_servers = checks.integer("solver.n_servers", get("n_servers"), 1, optional=True,
                                   high=MAX_SERVERS)
        q = checks.integer("solver.q", get("q"), 1, optional=True)
        if q is not None and n_servers is not None and q > n_servers:
            raise InputError(f"solver.q={q} is larger than solver.n_servers={n_servers}")
        if n_servers is not None and n_blocks is not None and n_servers < n_blocks:
            raise InputError(f"solver.n_servers={n_servers} is fewer than solver.n_blocks="
                             f"{n_blocks}: every block needs a server")
        # the bounds a solve can make progress within (A's shape is checked by the run)
        check_sizes(n_blocks, n_servers, prefix="solver.")
        deadline = checks.positive("solver.deadline", get("deadline"), optional=True)
        on_short = _choice("solver.on_short", get("on_short", d.on_short), ON_SHORT)
        step = get("step", d.step)
        if isinstance(step, str):
            step = _choice("solver.step", step, STEPS)
        else:
            if not checks.is_real(step):
                raise InputError(f"solver.step must be one of {', '.join(STEPS)} or a number "
                                 f"> 0, got {checks.type_name(step)}")
            step = checks.positive("solver.step", step)
        reference = get("reference", d.reference)
        if reference is not None and reference != "auto":
            reference = _path("solver.reference", reference)
            if reference.suffix != ".npy":
                raise InputError(f"solver.reference must be 'auto', null or a .npy file, "
                                 f"got {_shown(str(reference))}")
        runtime = get("runtime")
        if runtime is not None:
            runtime = dict(_mapping("solver.runtime", runtime))
            _runtime_model(runtime)  # validate now
        return cls(method=method, n_blocks=n_blocks, n_servers=n_servers, q=q,
                   deadline=deadline, on_short=on_short, step=step,
                   step_scale=checks.positive("solver.step_scale",
                                              get("step_scale", d.step_scale)),
                   max_iter=checks.integer("solver.max_iter", get("max_iter", d.max_iter), 1),
                   tol=checks.real("solver.tol", get("tol", d.tol), low=0),
                   time_budget=checks.positive("solver.time_budget", get("time_budget"),
                                               optional=True),
                   sketch_rows=checks.integer("solver.sketch_rows", get("sketch_rows"), 1,
                                              optional=True),
                   seed=checks.integer("solver.seed", get("seed", d.seed), 0),
                   reference=reference, runtime=runtime,
                   reconnect_timeout=checks.positive("solver.reconnect_timeout",
                                                     get("reconnect_timeout",
                                                         d.reconnect_timeout)),
                   anchor_every=checks.integer("solver.anchor_every", get("anchor_every"), 1,
                                               optional=True),
                   leverage=_choice("solver.leverage", get("leverage", d.leverage),
                                    LEVERAGE),
                   scores=_choice("solver.scores", get("scores", d.scores), SCORES),
                   network=_choice("solver.network", get("network", d.network),
                                   list(NETWORKS)),
                   **{k: checks.flag(f"solver.{k}", get(k, getattr(d, k)))
                      for k in ("precondition", "variance_reduction", "reweight")})

    def lstsq_kwargs(self) -> dict:
        """Keyword arguments of :func:`~dask_coded.linear_model.lstsq` (but ``reference``)."""
        return {"method": self.method, "n_blocks": self.n_blocks, "n_servers": self.n_servers,
                "q": self.q, "deadline": self.deadline, "on_short": self.on_short,
                "step": self.step, "step_scale": self.step_scale, "max_iter": self.max_iter,
                "tol": self.tol, "time_budget": self.time_budget,
                "sketch_rows": self.sketch_rows, "seed": self.seed,
                "reconnect_timeout": self.reconnect_timeout,
                "precondition": self.precondition,
                "variance_reduction": self.variance_reduction,
                "anchor_every": self.anchor_every, "reweight": self.reweight,
                "leverage": self.leverage, "scores": self.scores, "network": self.network,
                "runtime": None if self.runtime is None else _runtime_model(self.runtime)}

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.KEYS}
        if isinstance(out["reference"], Path):
            out["reference"] = str(out["reference"])
        return out


def _runtime_model(value: Mapping):
    from .kernels.runtime import RUNTIME_MODELS, runtime_model

    params = dict(value)
    name = params.pop("distribution", None)
    if name is None:
        raise InputError("solver.runtime.distribution is required (a runtime model: "
                         f"{', '.join(sorted(RUNTIME_MODELS))})")
    if not isinstance(name, str) or name not in RUNTIME_MODELS:
        raise InputError(f"unknown solver.runtime.distribution {_shown(name)}; choose one of "
                         f"{', '.join(sorted(RUNTIME_MODELS))}")
    try:
        return runtime_model(name, **params)
    except InputError as exc:
        raise InputError(f"solver.runtime: {exc}") from None


@dataclass(frozen=True)
class OutputConfig:
    """The output folder, replaced as a whole at the end of a run.

    Attributes
    ----------
    dir : Path
    target_error : float or None
        The report gives each method's wall time to reach this relative error. Default: the
        smallest power of ten at or above the largest final error of the methods.
    checkpoint_every : int or None
        Iterations between checkpoints of each iterative method (default 10; null: none).
    checkpoint_dir : Path or None
        Where the checkpoints go (default: ``<dir>.checkpoints`` beside the output folder).
        ``dask-coded solve --resume`` continues from them; a run that completes removes them.
    """

    dir: Path
    target_error: float | None = None
    checkpoint_every: int | None = 10
    checkpoint_dir: Path | None = None

    @property
    def checkpoints(self) -> Path:
        """The checkpoint folder (``checkpoint_dir`` or ``<dir>.checkpoints``)."""
        if self.checkpoint_dir is not None:
            return self.checkpoint_dir
        return self.dir.parent / f"{self.dir.name}.checkpoints"

    @classmethod
    def parse(cls, value: Any, default: Path) -> OutputConfig:
        if value is None:
            return cls(dir=default)
        value = _mapping("output", value)
        _check_keys("output", value, ("dir", "target_error", "checkpoint_every",
                                      "checkpoint_dir"))
        out_dir = default if value.get("dir") is None else _path("output.dir", value["dir"])
        every = value.get("checkpoint_every", cls.checkpoint_every)
        ck_dir = value.get("checkpoint_dir")
        return cls(dir=out_dir, target_error=checks.positive("output.target_error",
                                                             value.get("target_error"),
                                                             optional=True),
                   checkpoint_every=checks.integer("output.checkpoint_every", every, 1,
                                                   optional=True),
                   checkpoint_dir=None if ck_dir is None
                   else _path("output.checkpoint_dir", ck_dir))


# ------------------------------------------------------------------------------ config


@dataclass(frozen=True)
class RunConfig:
    """A parsed, validated run config.

    Attributes
    ----------
    dataset : DatasetConfig
    cluster : ClusterConfig
    solver : SolverConfig
    compare : tuple of str
        Further methods, each run with ``solver``'s settings but the method.
    stragglers : mapping or None
        Passed to ``lstsq(stragglers=...)``; validated by ``StragglerScenario.from_config``.
    output : OutputConfig
    source : Path or None
        The config file it came from.
    """

    dataset: DatasetConfig
    cluster: ClusterConfig = ClusterConfig()
    solver: SolverConfig = SolverConfig()
    compare: tuple[str, ...] = ()
    stragglers: Mapping | None = field(default=None, hash=False)
    output: OutputConfig = OutputConfig(dir=Path("out"))
    source: Path | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        """The main method, then the compared ones."""
        return (self.solver.method, *self.compare)

    @classmethod
    def from_dict(cls, data: Any, *, source: str | os.PathLike | None = None) -> RunConfig:
        """Validate a mapping (a YAML document) into a RunConfig."""
        from .solvers import METHODS

        data = _mapping("the config", data)
        _check_keys("", data, SECTIONS)
        solver = SolverConfig.parse(data.get("solver"))
        compare = data.get("compare")
        if compare is None:
            compare = ()
        elif isinstance(compare, str):
            compare = (compare,)
        elif not isinstance(compare, list):
            raise InputError(f"compare must be a list of methods, got {checks.type_name(compare)}")
        compare = tuple(_choice(f"compare[{i}] method", m, ["auto", *METHODS])
                        for i, m in enumerate(compare))
        seen = {solver.method}
        for m in compare:
            if m in seen:
                raise InputError(f"compare lists {m!r} twice (or repeats solver.method)")
            seen.add(m)
        stragglers = _stragglers(data.get("stragglers"))
        stem = Path(source).stem if source is not None else "run"
        return cls(dataset=DatasetConfig.parse(data.get("dataset")),
                   cluster=ClusterConfig.parse(data.get("cluster")), solver=solver,
                   compare=compare, stragglers=stragglers,
                   output=OutputConfig.parse(data.get("output"), Path("out") / stem),
                   source=None if source is None else Path(source))

    def to_dict(self) -> dict:
        """JSON/YAML-safe echo of the config (defaults filled in)."""
        return {"dataset": self.dataset.to_dict(), "cluster": asdict(self.cluster),
                "solver": self.solver.to_dict(), "compare": list(self.compare),
                "stragglers": None if self.stragglers is None else dict(self.stragglers),
                "output": {"dir": str(self.output.dir),
                           "target_error": self.output.target_error,
                           "checkpoint_every": self.output.checkpoint_every,
                           "checkpoint_dir": str(self.output.checkpoints)}}


def load_config(path: str | os.PathLike) -> RunConfig:
    """Read and validate a YAML run config (:func:`load_yaml`: safe, no aliases).

    Relative paths inside it resolve against the current working directory.

    Raises
    ------
    InputError
        Missing or unreadable file, invalid YAML, or any invalid value (one line, naming the
        key).
    """
    p = Path(path)
    data = load_yaml(p)
    if data is None:
        raise InputError(f"{p} is empty: a run config needs at least dataset.path")
    if not isinstance(data, Mapping):
        raise InputError(f"{p} must hold a mapping of sections ({', '.join(SECTIONS)}), "
                         f"got {checks.type_name(data)}")
    return RunConfig.from_dict(data, source=p)


# ------------------------------------------------------------------------------ matmul config
# ``dask-coded matmul CONFIG.yaml``::
#
#     a: data/A.zarr                        # a stored 2-D Zarr array, or
#     b: {generate: {n: 1024, seed: 1}}     # a random n x n test matrix (path optional)
#     code: eps-matdot                      # matdot | eps-matdot | uncoded | PATH.npz
#     m: 3
#     n_servers: 5
#     eps: null
#     deadline: 1.0
#     points: tuned
#     tile: null
#     seed: 0
#     stragglers: {delay: {...}, slow: {...}, seed: 0}
#     cluster: {workers: 2, threads_per_worker: 4}   # or {scheduler: tls://..., security:
#                                                  #     {ca_file, cert, key}}
#     output: {dir: out/matmul}

#: Top-level keys of a matmul config.
MATMUL_KEYS = ("a", "b", "code", "m", "n_servers", "eps", "deadline", "points", "tile", "seed",
               "stragglers", "cluster", "output")


@dataclass(frozen=True)
class MatrixConfig:
    """One operand: a stored Zarr array, or a seeded random ``n x n`` matrix to generate.

    Attributes
    ----------
    path : Path
        The Zarr array (written first when ``generate`` is given and it is absent).
    generate : dict or None
        ``{"n": int, "seed": int}``: standard normal entries scaled by ``1 / sqrt(n)``.
    """

    path: Path
    generate: Mapping | None = field(default=None, hash=False)

    @classmethod
    def parse(cls, key: str, value: Any, default_path: Path) -> MatrixConfig:
        if value is None:
            raise InputError(f"{key} is required: a Zarr array path or {{generate: {{n, seed}}}}")
        if isinstance(value, (str, os.PathLike)):
            return cls(path=_path(key, value))
        value = _mapping(key, value)
        _check_keys(key, value, ("path", "generate"))
        path = default_path if value.get("path") is None else _path(f"{key}.path",
                                                                    value["path"])
        gen = value.get("generate")
        if gen is None:
            if value.get("path") is None:
                raise InputError(f"{key} needs a path or generate")
            return cls(path=path)
        gen = _mapping(f"{key}.generate", gen)
        _check_keys(f"{key}.generate", gen, ("n", "seed"))
        if gen.get("n") is None:
            raise InputError(f"{key}.generate.n is required")
        spec = {"n": checks.integer(f"{key}.generate.n", gen["n"], 1),
                "seed": checks.integer(f"{key}.generate.seed", gen.get("seed", 0), 0)}
        return cls(path=path, generate=spec)

    def to_dict(self) -> dict:
        return {"path": str(self.path),
                "generate": None if self.generate is None else dict(self.generate)}


@dataclass(frozen=True)
class MatmulConfig:
    """A parsed ``dask-coded matmul`` config (see the comment above for the keys)."""

    a: MatrixConfig
    b: MatrixConfig
    code: str = "eps-matdot"
    m: int = 2
    n_servers: int | None = None
    eps: float | None = None
    deadline: float | None = None
    points: str = "tuned"
    tile: int | None = None
    seed: int | None = None
    stragglers: Mapping | None = field(default=None, hash=False)
    cluster: ClusterConfig = ClusterConfig()
    output: OutputConfig = OutputConfig(dir=Path("out"))
    source: Path | None = None

    @classmethod
    def from_dict(cls, data: Any, *, source: str | os.PathLike | None = None) -> MatmulConfig:
        from .codes import CODES, POINTS

        data = _mapping("the config", data)
        _check_keys("", data, MATMUL_KEYS)
        stem = Path(source).stem if source is not None else "matmul"
        code = _str("code", data.get("code", "eps-matdot"))
        if not code.endswith(".npz"):
            code = _choice("code", code, [c for c in CODES if c != "optimized"])
        stragglers = _stragglers(data.get("stragglers"))
        output = data.get("output")
        if output is not None:
            _check_keys("output", _mapping("output", output), ("dir",))
        data_dir = Path("data") / stem
        a = MatrixConfig.parse("a", data.get("a"), data_dir / "A.zarr")
        b = MatrixConfig.parse("b", data.get("b"), data_dir / "B.zarr")
        m = checks.integer("m", data.get("m", 2), 1)
        n_servers = checks.integer("n_servers", data.get("n_servers"), 1, optional=True,
                                   high=MAX_SERVERS)
        _check_matmul_sizes(code, m, n_servers, a, b)
        return cls(a=a, b=b, code=code, m=m, n_servers=n_servers,
                   eps=checks.positive("eps", data.get("eps"), optional=True),
                   deadline=checks.positive("deadline", data.get("deadline"), optional=True),
                   points=_choice("points", data.get("points", "tuned"), POINTS),
                   tile=checks.integer("tile", data.get("tile"), 1, optional=True),
                   seed=checks.integer("seed", data.get("seed"), 0, optional=True),
                   stragglers=stragglers, cluster=ClusterConfig.parse(data.get("cluster")),
                   output=OutputConfig.parse(output, Path("out") / stem),
                   source=None if source is None else Path(source))

    def to_dict(self) -> dict:
        return {"a": self.a.to_dict(), "b": self.b.to_dict(), "code": self.code, "m": self.m,
                "n_servers": self.n_servers, "eps": self.eps, "deadline": self.deadline,
                "points": self.points, "tile": self.tile, "seed": self.seed,
                "stragglers": None if self.stragglers is None else dict(self.stragglers),
                "cluster": asdict(self.cluster), "output": {"dir": str(self.output.dir)}}


def _check_matmul_sizes(code: str, m: int, n_servers: int | None, a: MatrixConfig,
                        b: MatrixConfig) -> None:
    """Contradictions :func:`dask_coded.matmul` would find only after a cluster starts."""
    if n_servers is not None and code != "uncoded" and not code.endswith(".npz"):
        if m > n_servers:
            raise InputError(f"m={m} exceeds n_servers={n_servers}")
        if code == "matdot" and n_servers < 2 * m - 1:
            raise InputError(f"matdot needs n_servers >= 2m-1={2 * m - 1} for m={m}, "
                             f"got {n_servers}")
    sizes = [op.generate["n"] for op in (a, b) if op.generate is not None]
    if len(sizes) == 2 and sizes[0] != sizes[1]:
        raise InputError(f"a.generate.n={sizes[0]} and b.generate.n={sizes[1]} differ: "
                         "A B is not defined")
    if sizes and m > min(sizes) and not code.endswith(".npz"):
        raise InputError(f"m={m} exceeds the inner dimension N={min(sizes)}")


def load_matmul_config(path: str | os.PathLike) -> MatmulConfig:
    """Read and validate a YAML ``dask-coded matmul`` config (one-line InputErrors)."""
    p = Path(path)
    data = load_yaml(p)
    if not isinstance(data, Mapping):
        raise InputError(f"{p} must hold a mapping of matmul parameters")
    return MatmulConfig.from_dict(data, source=p)
