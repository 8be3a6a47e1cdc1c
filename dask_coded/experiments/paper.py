"""The GC paper's experiments (Section IV: Table I, Figs. 4-6; Section V: a completion-time
trace): the setups the notebooks share, written down once.

The paper (Charalambides, Pilanci and Hero, "Gradient Coding through Iterative Block Leverage
Score Sampling", arXiv:2308.03096) states its Table I setup only in words: "A in
R^{2000 x 40} following a t-distribution, and standard Gaussian noise was added to an
arbitrary vector from im(A) to define b", K = 100 blocks, q = 20, 600 iterations, six
instances, fixed steps xi "varied by logarithmic factors of xi_x = 2 / sigma_max(A)^2", and
the metric ``log10(||x*_ls - x||_2 / sqrt(N))``. What it leaves open is guessed here, each
guess chosen so that the two numbers the paper does print about the setup come out right:

* **xi_x = 0.4207.** The table's step labels, 0.0004, 0.0042, 0.0421, 0.4207, are
  ``10^-k xi_x`` with ``xi_x = 0.4207``, so ``sigma_max(A)^2 = 4.75``. Student-t entries with
  3 degrees of freedom divided by ``sqrt(N)`` give ``sigma_max^2`` about 5.3 (median; 4.4
  to 12 over seeds): we take ``df = 3`` (the library's default, ``datasets/gc-seed.yaml``)
  and ``A = T / sqrt(N)``. The six instances' xi_x are 0.23 to 0.49.
* **The starting error, about +0.06.** With ``b = A w + e``, ``w ~ N(0, I_d)`` (the
  "arbitrary vector", ``A w`` in im(A)), ``e ~ N(0, I_N)`` and ``x = 0`` to start,
  ``||x*|| ~ sqrt(||w||^2 + trace((A^T A)^-1)) ~ sqrt(d (1 + 1/3))``: that is
  ``log10(||x*|| / sqrt(d)) = +0.06``, the paper's first column, if the error is divided by
  ``sqrt(d)`` (a root mean square over the d coefficients) rather than the printed
  ``sqrt(N)``. With ``sqrt(N)`` it is ``log10(sqrt(d / N)) = -0.85`` lower, at every entry
  alike (a constant shift: no ordering depends on it). Keeping ``sqrt(N)`` needs
  ``||x*|| ~ 51``: an ad hoc ``||w|| ~ 51``, or a far heavier tail (df about 1.2, whose
  instances' starting errors scatter by +-0.4), since with sigma_max^2 = 4.75 and standard
  noise a light-tailed A keeps ``trace((A^T A)^-1)`` near d / 3. We read the printed
  ``sqrt(N)`` as ``sqrt(d)`` (an RMS error per coefficient): :func:`rms_log_error`;
  :func:`printed_log_error` is the printed formula.
* **The update.** A fixed step xi on eq. 26's gradient ``2 A^T (A x - b)`` diverges at
  ``xi = xi_x`` (the top direction is multiplied by ``1 - 4 = -3`` each iteration), yet the
  paper's column at xi_x is finite. So the paper's iteration is read as
  ``x - xi A^T (A x - b)``, which is stable for ``xi < xi_x`` and marginal at xi_x; in
  :func:`dask_coded.lstsq`'s units (a number ``f`` is the step ``f 2 / sigma_max^2`` on the
  gradient with the 2) that is ``step = factor / 2``: :func:`lstsq_step`.

Everything is scale-invariant except the printed xi values: ``(c A, c b)`` has the same
x*, the same leverage scores and the same iterates at the same ``step`` factor. So
:func:`table1_instance` is ``dc.make_dataset(kind="student-t", n_rows=2000, n_cols=40,
df=3, noise=sqrt(2000), seed=seed)`` (``b = T w + sqrt(N) e``) divided by ``sqrt(N)``.

Section V's trace: the paper emulates its scheme on "the empirical distribution from
real-server completion times taken from 500 AWS-servers", which it does not publish. A
stand-in of 500 heavy-tailed times ships as ``datasets/heavy-tailed-trace.csv``, generated
by :func:`heavy_tailed_trace` (``python -m dask_coded.experiments.paper trace
datasets/heavy-tailed-trace.csv`` writes the same bytes).
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..kernels import datagen

__all__ = [
    "SEED_TABLE_I",
    "TABLE_I_FACTORS",
    "TABLE_I_STEPS",
    "TRACE_PATH",
    "Table1Instance",
    "heavy_tailed_trace",
    "load_trace",
    "lstsq_step",
    "printed_log_error",
    "rms_log_error",
    "table1_instance",
    "write_trace",
]

#: The paper's Table I sizes: N, d, K (tau = N / K = 20), q, iterations, instances.
TABLE_I_SIZES = {"n_rows": 2000, "n_cols": 40, "n_blocks": 100, "q": 20, "n_iter": 600,
                 "n_instances": 6}
#: The step labels of Table I, as printed (``10^-k xi_x`` with ``xi_x = 0.4207``).
TABLE_I_STEPS = (0.0004, 0.0042, 0.0421, 0.4207)
#: ``xi / xi_x`` of the four columns.
TABLE_I_FACTORS = (1e-3, 1e-2, 1e-1, 1.0)
#: The paper's Table I, copied from its text: mean ``log10(||x* - x|| / sqrt(N))`` after
#: 600 iterations, per method and column.
SEED_TABLE_I = {
    "sd": (0.0566, 0.0517, 0.0440, 0.0078),
    "gaussian": (0.0590, 0.0538, 0.0416, -0.0114),
    "srht": (0.0603, 0.0550, 0.0431, -0.0110),
    "block-leverage": (0.0556, 0.0502, 0.0380, -0.0178),
}
#: The starting error the paper's first column implies (600 iterations at 1e-3 xi_x barely
#: move any method: its entries are 0.0556 to 0.0603).
SEED_START = 0.06
#: Degrees of freedom of the Student-t entries (guessed; see the module docstring).
TABLE_I_DF = 3.0


@dataclass(frozen=True)
class Table1Instance:
    """One Table I problem: ``A = T / sqrt(N)``, ``b = A w + e``, and its exact solution."""

    A: np.ndarray
    b: np.ndarray
    w: np.ndarray
    x_ls: np.ndarray
    sigma_max: float
    sigma_min: float
    seed: int

    @property
    def xi_x(self) -> float:
        """``2 / sigma_max(A)^2``, the paper's xi-cross."""
        return 2.0 / self.sigma_max**2

    @property
    def start_error(self) -> float:
        """:func:`rms_log_error` at the starting point x = 0."""
        return rms_log_error(np.zeros_like(self.x_ls), self.x_ls)


def table1_instance(seed: int, *, n_rows: int = 2000, n_cols: int = 40,
                    df: float = TABLE_I_DF) -> Table1Instance:
    """Table I's instance ``seed`` (in memory; see the module docstring for the guesses).

    The data of ``dc.make_dataset(path, kind="student-t", n_rows=n_rows, n_cols=n_cols,
    df=df, noise=sqrt(n_rows), seed=seed)`` (one chunk), divided by ``sqrt(n_rows)``:
    ``A = T / sqrt(N)`` with T i.i.d. Student-t, ``b = A w + e`` with ``w ~ N(0, I_d)`` the
    store's ``x0`` and ``e ~ N(0, I_N)``.
    """
    spec = datagen.DatasetSpec(kind="student-t", n_rows=n_rows, n_cols=n_cols,
                               chunk_rows=n_rows, seed=seed, noise=math.sqrt(n_rows),
                               df=df).validate()
    t, bt = datagen.generate_chunk(spec, 0)
    scale = 1.0 / math.sqrt(n_rows)
    a, b = t * scale, bt * scale
    x_ls = np.linalg.lstsq(a, b, rcond=None)[0]
    s = np.linalg.svd(a, compute_uv=False)
    return Table1Instance(a, b, datagen.coefficients(spec), x_ls, float(s[0]), float(s[-1]),
                          int(seed))


def rms_log_error(x: np.ndarray, x_ls: np.ndarray) -> float:
    """``log10(||x* - x||_2 / sqrt(d))``: the paper's metric with ``sqrt(d)`` for its
    printed ``sqrt(N)`` (see the module docstring)."""
    x_ls = np.asarray(x_ls, dtype=np.float64)
    return float(np.log10(np.linalg.norm(x_ls - np.asarray(x)) / math.sqrt(x_ls.size)))


def printed_log_error(x: np.ndarray, x_ls: np.ndarray, n_rows: int) -> float:
    """``log10(||x* - x||_2 / sqrt(N))``, the formula as printed: :func:`rms_log_error`
    plus ``log10(sqrt(d / N))``."""
    x_ls = np.asarray(x_ls, dtype=np.float64)
    return float(np.log10(np.linalg.norm(x_ls - np.asarray(x)) / math.sqrt(n_rows)))


def lstsq_step(factor: float) -> float:
    """:func:`dask_coded.lstsq`'s ``step`` for the paper's ``x - xi A^T (A x - b)`` at
    ``xi = factor * xi_x``: ``factor / 2`` (lstsq's gradient carries eq. 26's 2)."""
    if not (isinstance(factor, (int, float)) and 0 < factor <= 1):
        raise InputError(f"factor must be in (0, 1] (a fraction of xi_x), got {factor!r}")
    return 0.5 * float(factor)


# ------------------------------------------------------------------ Section V: the trace

#: Where the shipped trace lives in a source checkout.
def _find_trace(name: str = "heavy-tailed-trace.csv") -> Path:
    """The shipped trace: in ``$DASK_CODED_DATASETS``, the repository beside this package
    (an editable install), or ``datasets/`` of the current folder or its parent (a notebook
    run from ``notebooks/``); else the repository path, which :func:`load_trace` names."""
    here = Path(__file__).resolve().parents[2] / "datasets"
    env = os.environ.get("DASK_CODED_DATASETS")
    for folder in ([Path(env)] if env else []) + [here, Path.cwd() / "datasets",
                                                   Path.cwd().parent / "datasets"]:
        if (folder / name).is_file():
            return folder / name
    return here / name


TRACE_PATH = _find_trace()
#: The trace's generator parameters (see :func:`heavy_tailed_trace`).
TRACE_SERVERS = 500
TRACE_SEED = 500
TRACE_HEADER = (
    "# Stand-in for the GC seed's Section V trace (500 AWS servers' completion times, not\n"
    "# published): 500 seeded heavy-tailed completion times in seconds, one per server.\n"
    "# Generated by: python -m dask_coded.experiments.paper trace "
    "datasets/heavy-tailed-trace.csv\n"
    "# (dask_coded.experiments.paper.heavy_tailed_trace(500, seed=500)): a log-normal body\n"
    "# (median 1 s, sigma 0.1) for every server; 10% of them also straggle by a Pareto\n"
    "# tail (shape 1.1, from 0.2 s).\n"
    "seconds\n"
)


def heavy_tailed_trace(n: int = TRACE_SERVERS, seed: int = TRACE_SEED) -> np.ndarray:
    """``n`` seeded heavy-tailed completion times (seconds), rounded to 0.1 ms.

    Every server takes a log-normal time (median 1 s, log-sd 0.1); a tenth of them, chosen
    at random, straggle by an extra Pareto time (shape 1.1, minimum 0.2 s), whose tail has
    no finite variance, as measured cloud stragglers often do.
    """
    if not (isinstance(n, int) and n >= 2):
        raise InputError(f"n must be an integer >= 2, got {n!r}")
    rng = np.random.default_rng(seed)
    body = np.exp(0.1 * rng.standard_normal(n))
    late = rng.random(n) < 0.1
    tail = 0.2 * (1.0 + rng.pareto(1.1, size=n))
    return np.round(body + np.where(late, tail, 0.0), 4)


def write_trace(path: str | Path, times: np.ndarray | None = None) -> Path:
    """Write ``times`` (default :func:`heavy_tailed_trace`) as the shipped CSV."""
    times = heavy_tailed_trace() if times is None else np.asarray(times, dtype=np.float64)
    path = Path(path)
    path.write_text(TRACE_HEADER + "".join(f"{t:.4f}\n" for t in times))
    return path


def load_trace(path: str | Path | None = None) -> np.ndarray:
    """The completion times of a trace CSV (default: the shipped one, :data:`TRACE_PATH`);
    lines starting with ``#`` and the header ``seconds`` are skipped."""
    path = TRACE_PATH if path is None else Path(path)
    if not path.is_file():
        raise InputError(f"no trace at {path}: write it with `python -m "
                         "dask_coded.experiments.paper trace PATH`")
    values = [line.strip() for line in path.read_text().splitlines()]
    values = [v for v in values if v and not v.startswith("#") and v != "seconds"]
    try:
        return np.array([float(v) for v in values])
    except ValueError as exc:
        raise InputError(f"{path}: not a column of seconds: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dask_coded.experiments.paper",
                                     description="Write the GC paper's Section V stand-in "
                                                 "trace.")
    sub = parser.add_subparsers(dest="command", required=True)
    trace = sub.add_parser("trace", help="write the heavy-tailed completion-time trace CSV")
    trace.add_argument("path")
    args = parser.parse_args(argv)
    if args.command == "trace":
        print(write_trace(args.path))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
