"""Server runtime models of the coded-computing probabilistic model (the paper's Section II-E).

Pure numpy; no dask. A *mother* runtime distribution ``F(t) = Pr[T_0 <= t]`` describes how long
one machine takes for the whole job. A server that does only a fraction of the job finishes
according to a rescaled copy of ``F`` (:meth:`RuntimeModel.scaled`), its erasure (straggling)
probability at a deadline ``T`` is the survival function ``phi(T) = 1 - F~(T)`` (GC eq. 12), and the
central server expects about ``q(T) = floor(F~(T) m)`` of its ``m`` servers to have answered by
then (:meth:`RuntimeModel.q`).

Models:

* :class:`ShiftedExponential` -- the standard straggler model of the coded-computing literature
  (a fixed minimum time plus an exponential tail);
* :class:`Pareto` -- a heavy tail;
* :class:`Empirical` -- the ECDF of observed times (a trace), sampled by bootstrap;
* :class:`Bimodal` -- "normal + rare long tail": a folded normal time, and with a small
  probability a fixed long one (a server that hits a garbage collection, a page-in, a
  noisy neighbour).

:func:`runtime_model` builds one by name, for configuration files.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from ..errors import InputError
from . import checks

__all__ = [
    "RUNTIME_MODELS",
    "Bimodal",
    "Empirical",
    "Pareto",
    "RuntimeModel",
    "ShiftedExponential",
    "runtime_model",
]


def _times(t: ArrayLike) -> NDArray[np.float64]:
    """Validate time points for a CDF: real, no NaN (+-inf are allowed: F(-inf)=0, F(inf)=1)."""
    try:
        arr = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"t must be real numbers: {exc}") from None
    if np.isnan(arr).any():
        raise InputError("t contains NaN")
    return arr


class RuntimeModel(ABC):
    """A runtime distribution ``F(t) = Pr[T <= t]`` of one server's finishing time.

    Subclasses implement :meth:`cdf`, :meth:`sample` and :meth:`_rescale`; the survival
    function, :meth:`scaled` and :meth:`q` follow from them.
    """

    @abstractmethod
    def cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """``F(t)``, vectorised over ``t``.

        Parameters
        ----------
        t : array_like of float
            Time points (NaN is rejected; +-inf allowed).

        Returns
        -------
        ndarray of float64
            ``F(t)``, same shape as ``t`` (0-d for a scalar).
        """

    @abstractmethod
    def sample(self, size: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
        """Draw finishing times.

        Parameters
        ----------
        size : int or tuple of int
            Output shape.
        rng : numpy.random.Generator
            Source of randomness; pass a seeded one for reproducible experiments.

        Returns
        -------
        ndarray of float64
            Samples of shape ``size``.
        """

    @abstractmethod
    def _rescale(self, fraction: float) -> RuntimeModel:
        """The model of ``fraction * T`` (``fraction`` already validated)."""

    def survival(self, t: ArrayLike) -> NDArray[np.float64]:
        """Survival function ``phi(t) = 1 - F(t)``: the probability a server straggles at ``t``.

        Called on a :meth:`scaled` model this is the paper's erasure probability ``phi(t)``.

        Parameters
        ----------
        t : array_like of float
            Time points.

        Returns
        -------
        ndarray of float64
            ``1 - F(t)``, same shape as ``t``.
        """
        return 1.0 - self.cdf(t)  # eq. 12: phi(t) = 1 - F~(t)

    def scaled(self, fraction: float) -> RuntimeModel:
        """The runtime model of a server that does ``fraction`` of the whole job.

        Returns the model of ``fraction * T_0``, i.e. ``F~(t) = F(t / fraction)``: a server with
        half of the work is done by ``t`` exactly when the whole job would be done by ``2 t``.

        The paper's eq. 12 writes ``F~(t) := F(t tau / N)`` for a server computing a ``tau/N``
        fraction of the job. Read literally, that makes the smaller task *slower*
        (``F(t tau / N) <= F(t)`` for ``tau < N``), which contradicts the text around it; we
        implement the scaling that matches the intent, ``F(t N / tau)``, i.e. call
        ``scaled(tau / N)``.

        Parameters
        ----------
        fraction : float
            Share of the whole job, in (0, 1] (``tau / N`` in the paper).

        Returns
        -------
        RuntimeModel
            A model of the same family with rescaled parameters.
        """
        return self._rescale(checks.fraction("fraction", fraction, open_low=True))

    def q(self, deadline: float, n_servers: int) -> int:
        """Expected number of responses by ``deadline``: ``q(T) = floor(F(T) * m)``.

        Call it on the :meth:`scaled` model of one server to get the paper's ``q(T)``
        (Section II-E, after eq. 12, uses ``F~``).

        Parameters
        ----------
        deadline : float
            The ending time ``T`` (``inf`` allowed: every server answers).
        n_servers : int
            The number of servers ``m`` (>= 1).

        Returns
        -------
        int
            ``floor(F(T) m)``, in ``[0, m]``.
        """
        # +inf is allowed (wait for everyone: q = m); NaN has no meaning.
        t = checks.real("deadline", deadline, finite=False)
        m = checks.integer("n_servers", n_servers, 1)
        return math.floor(float(self.cdf(t)) * m)  # eq. 12 text: q(T)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


@dataclass(frozen=True)
class ShiftedExponential(RuntimeModel):
    """Shifted exponential: ``F(t) = 1 - exp(-rate (t - shift))`` for ``t >= shift``, else 0.

    Not from the paper (which leaves ``F`` abstract): it is the usual model of the
    coded-computing literature, a deterministic minimum time ``shift`` plus an exponential
    straggling tail of mean ``1 / rate``.

    Parameters
    ----------
    shift : float
        Minimum finishing time, >= 0.
    rate : float
        Rate of the exponential tail, > 0.
    """

    shift: float
    rate: float

    def __post_init__(self) -> None:
        # object.__setattr__: the dataclass is frozen; store normalised floats.
        object.__setattr__(self, "shift", checks.real("shift", self.shift, low=0))
        object.__setattr__(self, "rate", checks.positive("rate", self.rate))

    def cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """``F(t) = 1 - exp(-rate (t - shift))`` for ``t >= shift``, else 0."""
        # max(t - shift, 0) folds the "else 0" branch in; -expm1 keeps accuracy for small F.
        excess = np.maximum(_times(t) - self.shift, 0.0)
        return np.asarray(-np.expm1(-self.rate * excess), dtype=np.float64)

    def sample(self, size: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
        """``shift + Exp(rate)`` draws."""
        return self.shift + _check_rng(rng).exponential(1.0 / self.rate, size)

    def _rescale(self, fraction: float) -> ShiftedExponential:
        # F(t / f) = 1 - exp(-(rate / f)(t - f shift)): the family is closed under scaling.
        return ShiftedExponential(shift=self.shift * fraction, rate=self.rate / fraction)


@dataclass(frozen=True)
class Pareto(RuntimeModel):
    """Pareto (type I): ``F(t) = 1 - (scale / t) ** shape`` for ``t >= scale``, else 0.

    A heavy-tailed straggler model: the mean is infinite for ``shape <= 1``.

    Parameters
    ----------
    scale : float
        Minimum finishing time, > 0.
    shape : float
        Tail index, > 0 (smaller is heavier).
    """

    scale: float
    shape: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", checks.positive("scale", self.scale))
        object.__setattr__(self, "shape", checks.positive("shape", self.shape))

    def cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """``F(t) = 1 - (scale / t) ** shape`` for ``t >= scale``, else 0."""
        # Clamping t up to scale gives F = 0 below the support without a division by t <= 0.
        tt = np.maximum(_times(t), self.scale)
        # t = inf gives log(0) = -inf and F = 1, which is right; silence its warning.
        with np.errstate(divide="ignore"):
            f = -np.expm1(self.shape * np.log(self.scale / tt))
        return np.asarray(f + 0.0, dtype=np.float64)  # + 0.0 turns -0.0 at t <= scale into 0.0

    def sample(self, size: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
        """Pareto draws (numpy's ``pareto`` is the Lomax law, i.e. shifted by one)."""
        return self.scale * (1.0 + _check_rng(rng).pareto(self.shape, size))

    def _rescale(self, fraction: float) -> Pareto:
        # (scale / (t / f))^shape = (f scale / t)^shape: only the scale moves.
        return Pareto(scale=self.scale * fraction, shape=self.shape)


@dataclass(frozen=True, eq=False)
class Empirical(RuntimeModel):
    """The empirical distribution (ECDF) of observed finishing times.

    ``F(t) = #{times <= t} / n``; :meth:`sample` draws from the observations with replacement
    (bootstrap). Use it to replay a trace of measured server times.

    Parameters
    ----------
    times : array_like of float
        Observed finishing times: positive, finite, at least 2 of them. Stored sorted and
        read-only.
    """

    times: NDArray[np.float64]

    def __post_init__(self) -> None:
        try:
            arr = np.array(self.times, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise InputError(f"times must be real numbers: {exc}") from None
        if arr.size < 2:
            raise InputError(f"times must hold at least 2 observations, got {arr.size}")
        if not np.isfinite(arr).all():
            raise InputError("times contains NaN or Inf")
        if (arr <= 0).any():
            raise InputError(f"times must be > 0, got minimum {arr.min()}")
        arr.sort()
        # Read-only so the frozen model cannot be changed through the array either.
        arr.setflags(write=False)
        object.__setattr__(self, "times", arr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return bool(np.array_equal(self.times, other.times))

    def __hash__(self) -> int:
        return hash(self.times.tobytes())

    def cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """ECDF: the fraction of observed times ``<= t``."""
        # side="right" counts the observations equal to t, making F right-continuous.
        counts = np.searchsorted(self.times, _times(t), side="right")
        return np.asarray(counts / self.times.size, dtype=np.float64)

    def sample(self, size: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
        """Bootstrap draws from the observed times."""
        return _check_rng(rng).choice(self.times, size=size, replace=True)

    def _rescale(self, fraction: float) -> Empirical:
        # ECDF of the times at t / f is the ECDF of f * times at t.
        return Empirical(self.times * fraction)


@dataclass(frozen=True)
class Bimodal(RuntimeModel):
    """Normal + rare long tail: ``|N(base, jitter)|`` w.p. ``1 - tail_prob``, else ``tail``.

    ``F(t) = (1 - p) (Phi((t - base) / jitter) - Phi((-t - base) / jitter)) + p 1[t >= tail]``
    for ``t >= 0`` (0 below), with ``p = tail_prob``: the folded normal keeps times
    non-negative, and the tail is a point mass, so a fraction ``p`` of servers is late by
    exactly ``tail``. Not from the paper; a stylised model of a cluster whose servers are
    mostly alike and occasionally stall.

    Parameters
    ----------
    base : float
        Centre of the normal part, >= 0.
    jitter : float
        Standard deviation of the normal part, >= 0 (0: every normal server takes ``base``).
    tail_prob : float
        Probability of the long time, in [0, 1].
    tail : float
        The long time, >= 0.
    """

    base: float
    jitter: float
    tail_prob: float
    tail: float

    def __post_init__(self) -> None:
        for name in ("base", "jitter", "tail"):
            object.__setattr__(self, name, checks.real(name, getattr(self, name), low=0))
        object.__setattr__(self, "tail_prob", checks.fraction("tail_prob", self.tail_prob))

    def cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """``(1 - p) F_|N|(t) + p 1[t >= tail]``."""
        tt = _times(t)
        if self.jitter > 0:
            # |X| <= t  <=>  -t <= X <= t; clamping t at 0 gives F = 0 for t < 0.
            pos = np.maximum(tt, 0.0)
            folded = ndtr((pos - self.base) / self.jitter) - ndtr((-pos - self.base) / self.jitter)
        else:
            folded = (tt >= self.base).astype(np.float64)  # jitter 0: a point mass at base
        f = (1.0 - self.tail_prob) * folded + self.tail_prob * (tt >= self.tail)
        # The two weights can sum to 1 + ulp; a probability must stay in [0, 1].
        return np.asarray(np.clip(f, 0.0, 1.0), dtype=np.float64)

    def sample(self, size: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
        """Folded normal draws, each replaced by ``tail`` with probability ``tail_prob``."""
        rng = _check_rng(rng)
        # Draw the branch first and the normal part always, so the number of draws (and thus
        # every later draw of the same generator) does not depend on which branch was taken.
        late = rng.random(size) < self.tail_prob
        normal = np.abs(rng.normal(self.base, self.jitter, size))
        return np.where(late, self.tail, normal)

    def _rescale(self, fraction: float) -> Bimodal:
        # f |X| = |f X| with f X ~ N(f base, f jitter); the tail point moves to f tail.
        return Bimodal(base=self.base * fraction, jitter=self.jitter * fraction,
                       tail_prob=self.tail_prob, tail=self.tail * fraction)


#: Names accepted by :func:`runtime_model`.
RUNTIME_MODELS: dict[str, type[RuntimeModel]] = {
    "shifted-exponential": ShiftedExponential,
    "pareto": Pareto,
    "empirical": Empirical,
    "bimodal": Bimodal,
}


def runtime_model(name: str, **params: Any) -> RuntimeModel:
    """Build a runtime model by name, e.g. from a configuration file.

    Parameters
    ----------
    name : str
        One of ``"shifted-exponential"`` (params ``shift``, ``rate``), ``"pareto"``
        (``scale``, ``shape``), ``"empirical"`` (``times``), ``"bimodal"`` (``base``,
        ``jitter``, ``tail_prob``, ``tail``).
    **params
        The model's parameters.

    Returns
    -------
    RuntimeModel

    Raises
    ------
    InputError
        Unknown name, missing or unexpected parameters, or invalid parameter values.
    """
    try:
        cls = RUNTIME_MODELS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(RUNTIME_MODELS))
        raise InputError(f"unknown runtime model {name!r}; known: {known}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        # Wrong keyword names surface as a TypeError from the dataclass __init__.
        raise InputError(f"bad parameters for runtime model {name!r}: {exc}") from None
