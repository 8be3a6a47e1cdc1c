"""Synthetic tall regression data (A, b), generated one row chunk at a time.

Pure numpy; no dask, no zarr. ``dask_coded.datasets`` writes the chunks to Zarr. Every chunk
is drawn from its own generator, seeded by ``(seed, chunk index)``, so a dataset is a function
of its parameters and its chunk size alone, and no chunk ever needs another in memory.

Kinds
-----
gaussian
    i.i.d. N(0, 1) entries: leverage close to uniform.
student-t
    i.i.d. Student-t entries with ``df`` degrees of freedom (GC Section IV's
    experiment: t-distributed A, b = A x0 + Gaussian noise). Heavy tails make a few rows
    carry much of the leverage.
coherent
    Gaussian rows, except ``n_hot`` evenly spaced runs of rows (``hot_fraction`` of all rows)
    multiplied by ``coherence``: the row blocks that hold them have block leverage scores far
    above the rest.

Any kind takes ``condition``: A is multiplied on the right by ``diag(s) Q`` with ``s``
log-spaced from 1 to ``1/condition`` and Q a random rotation, which makes ``cond(A)`` about
``condition`` by mixing columns rather than by scaling them (column scaling alone would not
stress a leverage computation that equilibrates columns).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError
from . import checks

KINDS = ("gaussian", "student-t", "coherent")


#: Most values (rows x columns) of one generated chunk: 2 GiB of float64.
MAX_CHUNK_VALUES = 2**28


@dataclass(frozen=True)
class DatasetSpec:
    """Parameters of a synthetic dataset; all of them are stored in the Zarr attributes."""

    kind: str = "gaussian"
    n_rows: int = 100_000
    n_cols: int = 20
    chunk_rows: int = 10_000
    seed: int = 0
    noise: float = 1.0
    condition: float | None = None
    df: float = 3.0
    coherence: float = 30.0
    hot_fraction: float = 0.01
    n_hot: int = 4
    dtype: str = "float64"
    extra: dict = field(default_factory=dict)

    def validate(self) -> DatasetSpec:
        """Return self, or raise InputError naming the first bad parameter."""
        if self.kind not in KINDS:
            raise InputError(f"unknown dataset kind {self.kind!r}; "
                             f"choose one of {', '.join(KINDS)}")
        for name in ("n_rows", "n_cols", "chunk_rows", "n_hot"):
            checks.integer(name, getattr(self, name), 1)
        checks.integer("seed", self.seed, 0)
        if min(self.chunk_rows, self.n_rows) * self.n_cols > MAX_CHUNK_VALUES:
            raise InputError(f"a chunk of {min(self.chunk_rows, self.n_rows)} x {self.n_cols} "
                             f"values does not fit in memory; lower chunk_rows (at most "
                             f"{MAX_CHUNK_VALUES} values a chunk)")
        if self.n_cols ** 2 > MAX_CHUNK_VALUES:
            raise InputError(f"n_cols={self.n_cols} is too many: the d x d mixing matrix "
                             "would not fit in memory")
        if self.n_rows < self.n_cols:
            raise InputError(f"a tall A needs n_rows >= n_cols, got {self.n_rows} x {self.n_cols}")
        checks.real("noise", self.noise, low=0)
        checks.real("condition", self.condition, low=1, high=1e15, strict_high=True,
                    optional=True)
        checks.positive("df", self.df)
        checks.positive("coherence", self.coherence)
        checks.fraction("hot_fraction", self.hot_fraction, open_low=True, open_high=True)
        if not isinstance(self.dtype, str) or self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be float32 or float64, got {self.dtype!r}")
        return self

    def to_attrs(self) -> dict:
        """JSON-safe dict of the parameters."""
        out = asdict(self)
        out.pop("extra")
        out.update(self.extra)
        return out

    @property
    def n_chunks(self) -> int:
        return -(-self.n_rows // self.chunk_rows)


def coefficients(spec: DatasetSpec) -> np.ndarray:
    """The true coefficients x0 (stored with the data)."""
    return np.random.default_rng([spec.seed, 0]).standard_normal(spec.n_cols)


def mixing_matrix(spec: DatasetSpec) -> np.ndarray | None:
    """``diag(s) Q`` with log-spaced ``s`` and a random rotation Q, or None if no condition."""
    if spec.condition is None:
        return None
    rng = np.random.default_rng([spec.seed, 1])
    q, r = np.linalg.qr(rng.standard_normal((spec.n_cols, spec.n_cols)))
    q *= np.sign(np.diag(r))  # a Haar-distributed rotation
    s = np.logspace(0.0, -np.log10(spec.condition), spec.n_cols)
    return s[:, None] * q


def _row_scale(spec: DatasetSpec, rows: np.ndarray) -> np.ndarray:
    """Coherent design: ``coherence`` on the hot runs of rows, 1 elsewhere."""
    hot_len = max(1, round(spec.hot_fraction * spec.n_rows / spec.n_hot))
    period = spec.n_rows // spec.n_hot
    in_run = (rows % period) < hot_len
    in_run &= rows < period * spec.n_hot
    return np.where(in_run, spec.coherence, 1.0)


def generate_chunk(spec: DatasetSpec, chunk: int, mixing: np.ndarray | None = None,
                   x0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[chunk * chunk_rows, ...)`` of A and b.

    Parameters
    ----------
    spec : DatasetSpec
    chunk : int
        Chunk index.
    mixing, x0 : ndarray, optional
        ``mixing_matrix(spec)`` and ``coefficients(spec)``, passed in to avoid recomputing them
        for every chunk.
    """
    start = chunk * spec.chunk_rows
    stop = min(spec.n_rows, start + spec.chunk_rows)
    if start >= stop:
        raise InputError(f"chunk {chunk} is past the end of a {spec.n_rows}-row dataset")
    rng = np.random.default_rng([spec.seed, 2, chunk])
    shape = (stop - start, spec.n_cols)
    if spec.kind == "student-t":
        a = rng.standard_t(spec.df, size=shape)
    else:
        a = rng.standard_normal(shape)
    if spec.kind == "coherent":
        a *= _row_scale(spec, np.arange(start, stop))[:, None]
    if mixing is None:
        mixing = mixing_matrix(spec)
    if mixing is not None:
        a = a @ mixing
    if x0 is None:
        x0 = coefficients(spec)
    b = a @ x0 + spec.noise * rng.standard_normal(shape[0])
    return a.astype(spec.dtype, copy=False), b.astype(spec.dtype, copy=False)
