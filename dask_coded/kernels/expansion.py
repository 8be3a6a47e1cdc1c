"""Expansion networks: how many servers replicate each block (the paper's Sections III-C, III-D).

Pure numpy/scipy; no dask. Block ``i`` of ``K`` is given to ``r_i`` servers so that sampling a
responding server uniformly samples block ``i`` with the *induced* probability
``Pi-bar_i = r_i / R``, ``R = sum r_i`` (GC eq. 15), which should emulate the block leverage
score distribution ``Pi``. The functions here choose the replica counts ``r``:

* :func:`replicas_from_survival` -- the paper's closed form ``r^_i = round(rho_i)`` (eq. 19)
  from the erasure probability ``phi = phi(T)`` at the deadline (eq. 12);
* :func:`adjust_replicas` -- Algorithm 2, which moves a replica vector one replica at a time
  until it sums to the number of servers ``m``;
* :func:`optimal_replicas` -- the exact minimiser of eq. 21 for a fixed total ``R``;
* :func:`perfect_emulation` -- Proposition 1 / Corollary 2: exact replicas when ``Pi`` is
  rational, with ``R`` the lcm of its denominators;

and measure them (:func:`distortion`, :func:`emulation_distortion`, :func:`lemma1_bound`,
:func:`misestimation_factor`). :func:`expansion_matrix` / :func:`server_blocks` give the
server-to-block assignment (eq. 20) and :func:`encoding_weights` the block rescaling of the
encoder ``G`` (eq. 23).

Notation: ``Pi`` is a 1-D float array, a probability distribution over the ``K`` blocks;
``replicas`` (``r``) a 1-D array of ``K`` non-negative integers; ``phi`` a float in (0, 1).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ..errors import InputError
from . import checks

__all__ = [
    "adjust_replicas",
    "adjust_replicas_with_trace",
    "check_distribution",
    "distortion",
    "emulation_distortion",
    "encoding_weights",
    "expansion_matrix",
    "lemma1_bound",
    "misestimation_factor",
    "optimal_replicas",
    "perfect_emulation",
    "replicas_from_survival",
    "rho",
    "server_blocks",
]

#: How far from 1 the sum of a distribution may be (rounding in upstream float arithmetic).
SUM_TOLERANCE = 1e-9

#: How close ``Fraction(x).limit_denominator(...)`` must land to a float ``x`` to accept it.
#: Relative distance a float may be from its fraction: a few ulps, so 0.1 is 1/10 but pi/4,
#: whose best fraction with denominator <= 1e6 is ~1e-12 away, is not rational.
RATIONAL_TOLERANCE = 4 * float(np.finfo(np.float64).eps)

_INT64_MAX = int(np.iinfo(np.int64).max)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def check_distribution(Pi: ArrayLike, *, name: str = "Pi") -> NDArray[np.float64]:
    """Validate a probability distribution over blocks and return it as float64.

    Parameters
    ----------
    Pi : array_like of float
        Candidate distribution: 1-D, non-empty, finite, every entry >= 0, summing to 1
        within :data:`SUM_TOLERANCE`.
    name : str, optional
        Name used in the error message.

    Returns
    -------
    ndarray of float64, shape (K,)
        A copy of ``Pi``.

    Raises
    ------
    InputError
        ``"<name> is not a distribution: <reason>"``.
    """
    prefix = f"{name} is not a distribution"
    raw = np.asarray(Pi)
    # Booleans, complex numbers and strings would convert silently or oddly; reject them.
    # Object arrays (e.g. of fractions.Fraction) are allowed if they convert to float.
    if raw.dtype.kind not in "iufO":
        raise InputError(f"{prefix}: entries must be real numbers, got dtype {raw.dtype}")
    try:
        p = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{prefix}: entries must be real numbers") from None
    if p.ndim != 1:
        raise InputError(f"{prefix}: expected a 1-D array, got {p.ndim} dimensions")
    if p.size == 0:
        raise InputError(f"{prefix}: it is empty")
    if not np.isfinite(p).all():
        raise InputError(f"{prefix}: it contains NaN or Inf")
    if (p < 0).any():
        i = int(np.argmax(p < 0))
        raise InputError(f"{prefix}: entry {i} is negative ({float(p[i])!r})")
    total = float(p.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise InputError(f"{prefix}: it sums to {total!r}, not 1 (tolerance {SUM_TOLERANCE})")
    return p


def _check_phi(phi: Any) -> float:
    """``phi`` as a float in the open interval (0, 1)."""
    ph = checks.real("phi", phi, finite=False)
    # log(phi) divides in eq. 19: phi = 0 gives rho = 0 for every block, phi = 1 infinity.
    if not 0.0 < ph < 1.0:
        raise InputError(
            f"phi must be in (0, 1), got {ph!r} "
            "(phi=0 means no server straggles, phi=1 means no server answers)"
        )
    return ph


def _check_replicas(replicas: ArrayLike, k: int | None) -> NDArray[np.int64]:
    """A 1-D array of non-negative integers (integral floats accepted), of length ``k``."""
    raw = np.asarray(replicas)
    if raw.dtype.kind not in "iuf":
        raise InputError(f"replicas must be integers, got dtype {raw.dtype}")
    if raw.ndim != 1:
        raise InputError(f"replicas must be a 1-D array, got {raw.ndim} dimensions")
    if k is not None and raw.size != k:
        raise InputError(f"replicas has {raw.size} entries but Pi has {k}")
    if raw.dtype.kind == "f":
        if not np.isfinite(raw).all() or (raw != np.round(raw)).any():
            raise InputError("replicas must be integers, got non-integral values")
        if raw.size and np.abs(raw).max() > 2.0**62:
            raise InputError("replicas are too large for int64")
    r = raw.astype(np.int64)
    if (r < 0).any():
        i = int(np.argmax(r < 0))
        raise InputError(f"replicas must be >= 0, entry {i} is {r[i]}")
    return r


def _check_same_length(name: str, values: ArrayLike, k: int) -> NDArray[np.float64]:
    """A finite 1-D float array of length ``k`` (not necessarily a distribution)."""
    try:
        a = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be real numbers") from None
    if a.ndim != 1 or a.size != k:
        raise InputError(f"{name} must be a 1-D array of length {k}, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise InputError(f"{name} contains NaN or Inf")
    return a


# --------------------------------------------------------------------------------------------
# Section III-C: replicas from the erasure probability
# --------------------------------------------------------------------------------------------


def rho(Pi: ArrayLike, phi: float) -> NDArray[np.float64]:
    """Real-valued replica numbers that would emulate ``Pi`` exactly through erasures.

    ``rho_i = log(1 - Pi_i) / log(phi)`` solves ``Pi_i = 1 - phi ** rho_i`` (eqs. 17, 19): a
    block held by ``rho_i`` servers, each erased with probability ``phi``, is received with
    probability ``Pi_i``.

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    phi : float
        Erasure probability ``phi(T)`` (eq. 12), in (0, 1).

    Returns
    -------
    ndarray of float64, shape (K,)
        ``rho``; ``inf`` where ``Pi_i == 1``, 0 where ``Pi_i == 0``.
    """
    p = check_distribution(Pi)
    ph = _check_phi(phi)
    # log1p(-Pi) keeps relative accuracy for small Pi, where log(1 - Pi) would round to 0.
    with np.errstate(divide="ignore"):
        return np.log1p(-p) / np.log(ph)  # eq. 17 solved for rho, as in eq. 19


def replicas_from_survival(
    Pi: ArrayLike, phi: float, *, min_replicas: int = 1
) -> NDArray[np.int64]:
    """The paper's replica numbers ``r^_i = round(log(1 - Pi_i) / log(phi))`` (eq. 19).

    Rounds half up (the paper's nearest-integer bracket), then raises every count to at least
    ``min_replicas``: with the default 1, every block is held by some server, so its induced
    probability ``r_i / R`` is positive and the encoder weight of eq. 23 is finite.

    A block with ``Pi_i == 1`` would need infinitely many replicas (``rho_i = inf``); it is
    given the count eq. 19 gives for the largest double below 1, ``round(-53 log 2 / log phi)``,
    so ``phi ** r_i <= 2**-53 / sqrt(phi)``: received with probability 1 up to a few ulps.

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    phi : float
        Erasure probability ``phi(T)`` at the deadline (eq. 12), in (0, 1).
    min_replicas : int, optional
        Lower bound on each count (>= 0). Lemma 1 holds only for ``min_replicas=0``.

    Returns
    -------
    ndarray of int64, shape (K,)
        Replica counts ``r^``; their sum ``R^`` is generally not the number of servers (use
        :func:`adjust_replicas`).
    """
    p = check_distribution(Pi)
    ph = _check_phi(phi)
    lo = checks.integer("min_replicas", min_replicas, 0)
    # Cap Pi at the largest double below 1 so that Pi_i == 1 gets a finite count.
    p = np.minimum(p, np.nextafter(1.0, 0.0))
    rho_ = np.log1p(-p) / np.log(ph)  # eq. 19: rho_i = log(1 - Pi_i) / log(phi)
    r_hat = np.floor(rho_ + 0.5)  # eq. 19: r^_i = round(rho_i), half up
    return np.maximum(r_hat, lo).astype(np.int64)


def emulation_distortion(Pi: ArrayLike, replicas: ArrayLike, phi: float) -> float:
    """The erasure-emulation distortion ``Delta_{Pi, Pi-bar}`` of eq. 18.

    ``Delta = (1/K) sum_i |Pi_i - (1 - phi ** r_i)|``: how far the probability that block
    ``i`` is received through the erasure channels (eq. 16 with integer ``r_i``) is from
    ``Pi_i``.

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    replicas : array_like of int, shape (K,)
        Replica counts ``r``.
    phi : float
        Erasure probability, in (0, 1).

    Returns
    -------
    float
    """
    p = check_distribution(Pi)
    r = _check_replicas(replicas, p.size)
    ph = _check_phi(phi)
    received = -np.expm1(r * np.log(ph))  # eq. 16: 1 - phi^r_i, via expm1 for small phi^r
    return float(np.mean(np.abs(p - received)))  # eq. 18


def lemma1_bound(Pi: ArrayLike, replicas: ArrayLike, phi: float) -> float:
    """Lemma 1's upper bound on the emulation distortion of eq. 18.

    Implements ``sum_i phi ** min(r_i, rho_i) * (1 - sqrt(phi))``.

    The typeset statement of Lemma 1 is garbled (its exponent reads
    ``min_{i} {r^_i, rho_i}`` inside a sum over another index). We implement what the proof
    establishes: each summand of eq. 18 satisfies
    ``Delta_i = |phi ** r_i - phi ** rho_i| <= phi ** min(r_i, rho_i) * (1 - sqrt(phi))``
    because ``|rho_i - r_i| <= 1/2``, and the proof then sums the ``Delta_i`` *without* eq.
    18's ``1/K``. So the returned value bounds ``K * emulation_distortion(...)`` and hence,
    a fortiori, ``emulation_distortion(...)`` itself.

    The bound needs ``|rho_i - r_i| <= 1/2``, i.e. ``replicas`` must be the unclamped rounding
    ``replicas_from_survival(Pi, phi, min_replicas=0)``; raising small counts to 1 can break
    it (a block with ``rho_i`` near 0 and ``r_i = 1`` has ``Delta_i`` close to ``1 - phi``).

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    replicas : array_like of int, shape (K,)
        Replica counts ``r^`` (eq. 19, unclamped).
    phi : float
        Erasure probability, in (0, 1).

    Returns
    -------
    float
    """
    p = check_distribution(Pi)
    r = _check_replicas(replicas, p.size)
    ph = _check_phi(phi)
    exponent = np.minimum(r, rho(p, ph))  # Lemma 1 proof: min(r^_i, rho_i) per block
    return float(np.sum(ph**exponent) * (1.0 - math.sqrt(ph)))  # Lemma 1 bound, no 1/K


# --------------------------------------------------------------------------------------------
# distortion and misestimation of an induced distribution
# --------------------------------------------------------------------------------------------


def distortion(Pi: ArrayLike, Pi_bar: ArrayLike) -> float:
    """The distortion ``d_{Pi, Pi-bar} = (1/K) sum_i |Pi_i - Pi-bar_i|`` (Section II, eq. 21).

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    Pi_bar : array_like of float, shape (K,)
        The approximation, usually ``r / R`` (eq. 15). It need not sum to 1 (footnote 6 of the
        paper compares ``Pi`` with ``1 - phi ** r``), but must be finite.

    Returns
    -------
    float
    """
    p = check_distribution(Pi)
    pb = _check_same_length("Pi_bar", Pi_bar, p.size)
    return float(np.mean(np.abs(p - pb)))  # d_{Pi,Pi-bar} of eq. 21


def misestimation_factor(Pi: ArrayLike, Pi_tilde: ArrayLike) -> float:
    """The multiplicative misestimation factor ``beta = min_i Pi-tilde_i / Pi_i``.

    Theorem 1 needs an approximate distribution with ``Pi-tilde_i >= beta Pi_i`` for all
    ``i`` (Section III-B); for an induced distribution that is its ``beta`` (Section III-C).
    Blocks with ``Pi_i == 0`` impose nothing and are skipped.

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Exact distribution.
    Pi_tilde : array_like of float, shape (K,)
        Approximate distribution.

    Returns
    -------
    float
        ``beta``, in [0, 1] for two distributions; 1 means ``Pi_tilde == Pi`` on the support.
    """
    p = check_distribution(Pi)
    pt = check_distribution(Pi_tilde, name="Pi_tilde")
    if pt.size != p.size:
        raise InputError(f"Pi_tilde has {pt.size} entries but Pi has {p.size}")
    support = p > 0
    return float(np.min(pt[support] / p[support]))  # Section III-C: beta = min Pi~_i / Pi_i


# --------------------------------------------------------------------------------------------
# Section III-D: replica counts summing to the number of servers
# --------------------------------------------------------------------------------------------


def adjust_replicas_with_trace(
    Pi: ArrayLike, replicas: ArrayLike, n_servers: int, *, min_replicas: int = 1
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Algorithm 2, also returning the distortion after each step.

    See :func:`adjust_replicas` for the algorithm and its parameters.

    Returns
    -------
    replicas : ndarray of int64, shape (K,)
        Output counts, summing to ``n_servers``.
    trace : ndarray of float64, shape (|R~ - m| + 1,)
        ``trace[0]`` is the input's distortion ``d_{Pi, r~/R~}``, ``trace[s]`` the distortion
        ``d_{Pi, r/R}`` after step ``s``.
    """
    p = check_distribution(Pi)
    k = p.size
    lo = checks.integer("min_replicas", min_replicas, 0)
    r = _check_replicas(replicas, k).copy()
    m = checks.integer("n_servers", n_servers, 1)
    if m < k * lo:
        raise InputError(
            f"n_servers={m} is too few to give each of the {k} blocks min_replicas={lo}"
        )
    if (r < lo).any():
        i = int(np.argmax(r < lo))
        raise InputError(f"replicas entry {i} is {r[i]}, below min_replicas={lo}")
    total = int(r.sum())
    if total == 0:
        raise InputError("replicas sum to 0, so the induced distribution r/R is undefined")

    steps = abs(total - m)
    trace = np.empty(steps + 1)
    trace[0] = np.mean(np.abs(p - r / total))  # d_{Pi, r~/R~} (eq. 21 objective)
    # chi = 1 (R~ > m): remove one replica per step; chi = 0 (R~ < m): add one.
    move = -1 if total > m else 1
    for s in range(1, steps + 1):
        new_total = total + move
        # Every block's term changes because R changes; the moved block's also because r_j
        # does. K * d after moving j = S - base_j + moved_j, all K candidates in O(K).
        base = np.abs(p - r / new_total)  # |Pi_i - r_i / R'|
        moved = np.abs(p - (r + move) / new_total)  # |Pi_j - (r_j +- 1) / R'|
        candidate = base.sum() - base + moved
        if move < 0:
            candidate[r <= lo] = np.inf  # never go below min_replicas
        j = int(np.argmin(candidate))  # ties: lowest block index
        r[j] += move
        total = new_total
        trace[s] = np.mean(np.abs(p - r / total))  # d_{Pi, r/R} (eq. 21 objective)
    return r, trace


def adjust_replicas(
    Pi: ArrayLike, replicas: ArrayLike, n_servers: int, *, min_replicas: int = 1
) -> NDArray[np.int64]:
    """Algorithm 2: change replica counts one at a time until they sum to ``n_servers``.

    The paper's pseudo-code of Algorithm 2 is lost from the text; this is a reconstruction
    from its prose and Remark 1. With ``R~ = sum(replicas)`` and ``m = n_servers``:

    * ``chi = 1`` (``R~ > m``): ``R~ - m`` times, remove one replica from the block whose
      removal gives the smallest distortion ``d_{Pi, r/R'}`` with ``R'`` the new total;
    * ``chi = 0`` (``R~ < m``): ``m - R~`` times, add one replica likewise;
    * ``R~ = m``: return the input unchanged.

    Each step evaluates all ``K`` candidate moves at once in ``O(K)``, so the whole run costs
    ``O(K |R~ - m|)``. No count goes below ``min_replicas``; ties go to the lowest block index.
    The result is a greedy path, not the optimum of eq. 21 for ``R = m``: use
    :func:`optimal_replicas` for that.

    Proposition 2 of the paper claims that (for ``R~ > m``) the output distortion never
    exceeds the input's. **That is false in general.** Counterexample:
    ``Pi = (1/3, 1/3, 1/3)``, ``replicas = (1, 1, 1)`` has distortion 0, and ``m = 2``
    (``min_replicas=0``) forces an output such as ``(0, 1, 1)`` with distortion ``2/9``; no
    vector of 2 replicas over 3 blocks has distortion 0. (With ``min_replicas=1``:
    ``Pi = (1/4, 1/4, 1/2)``, ``replicas = (1, 1, 2)``, ``m = 3`` goes from 0 to ``1/9``.)
    Removing replicas changes every ``r_i / R``, not just the moved block's, which the
    proof's per-block argument overlooks. What does hold: the output sums to ``m``, respects
    ``min_replicas``, every step is the best single move, and the identity case ``R~ = m``
    does not change the distortion.

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    replicas : array_like of int, shape (K,)
        Starting counts ``r~`` (e.g. from eq. 19), each >= ``min_replicas``, not all zero.
    n_servers : int
        Number of servers ``m`` the output must sum to; at least ``K * min_replicas``.
    min_replicas : int, optional
        Lower bound on each output count (>= 0).

    Returns
    -------
    ndarray of int64, shape (K,)
        Counts summing exactly to ``n_servers``.

    See Also
    --------
    adjust_replicas_with_trace : the same, also returning the per-step distortion.
    """
    r, _ = adjust_replicas_with_trace(Pi, replicas, n_servers, min_replicas=min_replicas)
    return r


def optimal_replicas(Pi: ArrayLike, total: int, *, min_replicas: int = 1) -> NDArray[np.int64]:
    """The exact optimum of eq. 21 for a fixed total ``R``.

    Minimises ``d = (1/K) sum_i |Pi_i - r_i / R|`` over integers ``r_i >= min_replicas`` with
    ``sum_i r_i = R``. Since ``d = (1/(K R)) sum_i |R Pi_i - r_i|`` is a sum of convex
    functions of one integer each, greedy marginal allocation from the lower bounds is exact:
    the optimum takes the ``R - K min_replicas`` cheapest unit increments, and each block's
    increments get costlier as it grows. Those costs are known in closed form, so the
    allocation is vectorised (``O(K log K)``) instead of run unit by unit:

    1. increments up to ``floor(R Pi_i)`` each lower ``|R Pi_i - r_i|`` by 1;
    2. the next one changes it by ``1 - 2 frac(R Pi_i)`` (largest remainders first);
    3. any further one raises it by 1.

    Eq. 21 is often degenerate: when ``R`` cannot cover every block's ``floor(R Pi_i)``, any
    split of the shortfall among the under-served blocks has the same distortion. The split
    chosen is the one that maximises the misestimation factor ``beta = min_i r_i / (R Pi_i)``
    (water-filling: every block gets the same fraction of its ideal count, up to rounding),
    because beta is what Theorem 1's sampling guarantee depends on. Remaining ties go to
    lower block indices.

    Parameters
    ----------
    Pi : array_like of float, shape (K,)
        Target distribution.
    total : int
        The fixed total ``R`` (e.g. the number of servers ``m``), at least
        ``K * min_replicas`` and >= 1.
    min_replicas : int, optional
        Lower bound on each count (>= 0).

    Returns
    -------
    ndarray of int64, shape (K,)
        Counts summing to ``total``.
    """
    p = check_distribution(Pi)
    k = p.size
    lo = checks.integer("min_replicas", min_replicas, 0)
    big_r = checks.integer("total", total, 1)
    if big_r < k * lo:
        raise InputError(
            f"total={big_r} is too small to give each of the {k} blocks min_replicas={lo}"
        )
    x = big_r * p  # the real-valued counts; eq. 21's summand is |x_i - r_i| / (K R)
    fl = np.floor(x)
    r = np.full(k, lo, dtype=np.int64)
    spare = big_r - k * lo

    # Stage 1: increments of cost -1, from lo up to floor(x_i).
    gain = np.maximum(fl - lo, 0).astype(np.int64)
    n_gain = int(gain.sum())
    if spare <= n_gain:
        # All these increments are equally good for eq. 21; water-fill them so that every
        # block reaches the same fraction t of its ideal count x_i, which maximises beta.
        return _water_fill(x, lo, lo + gain, big_r)
    r += gain
    spare -= n_gain

    # Stage 2: one increment per block, cost 1 - 2 frac(x_i) where r_i = floor(x_i) (below
    # x_i), and +1 where lo already exceeds x_i.
    cost = np.where(fl >= lo, 1.0 - 2.0 * (x - fl), 1.0)
    n_second = min(spare, k)
    r[np.argsort(cost, kind="stable")[:n_second]] += 1
    spare -= n_second

    # Stage 3: every further increment costs +1 wherever it goes. With sum(x) = R exactly
    # stage 2 absorbs everything; this only catches Pi summing to slightly under 1.
    if spare:
        r += spare // k
        r[: spare % k] += 1
    return r


def _water_fill(x: NDArray[np.float64], lo: int, hi: NDArray[np.int64],
                total: int) -> NDArray[np.int64]:
    """Integers ``lo <= r_i <= hi_i`` summing to ``total`` that maximise ``min_i r_i / x_i``.

    ``r_i(t) = clip(floor(t x_i), lo, hi_i)`` is monotone in ``t``: bisect for the largest
    ``t`` whose sum fits, then hand the few remaining units to the blocks whose next unit
    comes at the smallest ``t``, i.e. smallest ``(r_i + 1) / x_i``.
    """

    def counts(t: float) -> NDArray[np.int64]:
        return np.clip(np.floor(t * x), lo, hi).astype(np.int64)

    low, high = 0.0, 1.0
    for _ in range(64):
        mid = 0.5 * (low + high)
        if counts(mid).sum() <= total:
            low = mid
        else:
            high = mid
    r = counts(low)
    left = total - int(r.sum())
    if left:
        with np.errstate(divide="ignore"):
            next_t = np.where(r < hi, (r + 1) / x, np.inf)
        r[np.argsort(next_t, kind="stable")[:left]] += 1
    return r


# --------------------------------------------------------------------------------------------
# Proposition 1 / Corollary 2: perfect emulation for rational Pi
# --------------------------------------------------------------------------------------------


def _as_fraction(x: Any, i: int, max_denominator: int, tolerance: float) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if not checks.is_real(x):
        raise InputError(f"Pi entry {i} is not a real number ({type(x).__name__})")
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    fx = float(x)
    if not math.isfinite(fx):
        raise InputError(f"Pi entry {i} is not finite ({fx!r})")
    f = Fraction(fx).limit_denominator(max_denominator)
    if abs(float(f) - fx) > tolerance * abs(fx):
        raise InputError(
            f"Pi is not rational with denominator <= {max_denominator}: entry {i} = {fx!r}"
        )
    return f


def perfect_emulation(
    Pi: Sequence[float | Fraction] | ArrayLike,
    *,
    max_denominator: int = 10**6,
    tolerance: float = RATIONAL_TOLERANCE,
) -> tuple[NDArray[np.int64], int]:
    """Replica counts that emulate a rational ``Pi`` exactly (Proposition 1, Corollary 2).

    With ``Pi_i = a_i / b_i`` in lowest terms, the smallest total that allows distortion 0 is
    ``R = lcm(b_1, ..., b_K)``, with ``r_i = R Pi_i`` (Corollary 2). Any multiple of ``R``
    works too (Proposition 1), so a network of ``m`` servers emulates ``Pi`` exactly iff
    ``R`` divides ``m``.

    Parameters
    ----------
    Pi : sequence of float or fractions.Fraction, shape (K,)
        Target distribution. Fractions (and integers) are used exactly. Floats are converted
        with ``Fraction(x).limit_denominator(max_denominator)``, which must land within
        ``tolerance * |x|`` of ``x``; the converted values must sum to exactly 1.
    max_denominator : int, optional
        Largest denominator tried for floats.
    tolerance : float, optional
        Largest accepted relative ``|float(fraction) - x| / |x|``; default four ulps. The best
        approximation with denominator up to ``q`` is typically ``1/q**2`` away, so a looser
        tolerance (1e-12 with ``q = 10**6``) would accept most floats, ``pi / 4`` included.

    Returns
    -------
    replicas : ndarray of int64, shape (K,)
        ``r_i = R Pi_i``; ``d_{Pi, r/R} = 0``.
    R : int
        ``lcm`` of the reduced denominators, equal to ``replicas.sum()``.

    Raises
    ------
    InputError
        ``Pi`` not a distribution, a float not close to a fraction with a small enough
        denominator, or ``R`` beyond int64.
    """
    maxd = checks.integer("max_denominator", max_denominator, 1)
    arr = np.asarray(Pi, dtype=object)
    if arr.ndim != 1:
        raise InputError(
            f"Pi is not a distribution: expected a 1-D array, got {arr.ndim} dimensions"
        )
    tol = checks.real("tolerance", tolerance, low=0, finite=False)
    fracs = [_as_fraction(x, i, maxd, tol) for i, x in enumerate(arr)]
    check_distribution(np.array([float(f) for f in fracs]))
    exact_sum = sum(fracs, Fraction(0))
    if exact_sum != 1:
        raise InputError(f"Pi is not a distribution: as fractions it sums to {exact_sum}, not 1")
    big_r = math.lcm(*(f.denominator for f in fracs))  # Corollary 2: R = lcm(b_1, ..., b_K)
    if big_r > _INT64_MAX:
        raise InputError(f"Pi needs R = lcm of denominators = {big_r}, beyond int64")
    counts = [f * big_r for f in fracs]  # Proposition 1: r_i = R Pi_i = mu_i a_i
    return np.array([int(c) for c in counts], dtype=np.int64), big_r


# --------------------------------------------------------------------------------------------
# eq. 20 and eq. 23: the network itself
# --------------------------------------------------------------------------------------------


def server_blocks(replicas: ArrayLike) -> NDArray[np.int64]:
    """The block held by each server: block ``i`` repeated ``r_i`` times.

    Parameters
    ----------
    replicas : array_like of int, shape (K,)
        Replica counts.

    Returns
    -------
    ndarray of int64, shape (R,)
        ``blocks[j]`` is the block of server ``j``; the column index of row ``j`` of eq. 20's
        ``E``.
    """
    r = _check_replicas(replicas, None)
    return np.repeat(np.arange(r.size, dtype=np.int64), r)


def expansion_matrix(replicas: ArrayLike, *, dtype: DTypeLike = np.float64) -> sp.csr_matrix:
    """The expansion matrix ``E`` of eq. 20.

    ``E in {0, 1}^{R x K}`` is block diagonal with a column of ``r_i`` ones for block ``i``;
    it is the adjacency matrix of the server/block bipartite graph. The full
    ``E~ = E kron I_tau`` is never formed: apply ``E`` to block indices instead.

    Parameters
    ----------
    replicas : array_like of int, shape (K,)
        Replica counts (a block with ``r_i = 0`` gets an empty column).
    dtype : dtype, optional
        Entry type.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (R, K)
        One 1 per row.
    """
    r = _check_replicas(replicas, None)
    blocks = np.repeat(np.arange(r.size, dtype=np.int64), r)
    n_rows = blocks.size
    # Row j has its single 1 in column blocks[j] (eq. 20), so indptr is 0..R.
    return sp.csr_matrix(
        (np.ones(n_rows, dtype=dtype), blocks, np.arange(n_rows + 1)), shape=(n_rows, r.size)
    )


def encoding_weights(induced: ArrayLike, q: int) -> NDArray[np.float64]:
    """The diagonal of the encoder ``G`` of eq. 23: ``w_i = 1 / sqrt(q Pi-bar_i)``.

    Block ``i`` is multiplied by ``w_i`` before replication, the rescaling of Algorithm 1 for
    ``q`` sampled blocks, so that the sum of ``q`` received encoded gradients is an unbiased
    estimate of the full gradient (eq. 25).

    Parameters
    ----------
    induced : array_like of float, shape (K,)
        Induced distribution ``Pi-bar_i = r_i / R`` (eq. 15); every entry must be > 0 (a block
        with no replica is never received and cannot be rescaled).
    q : int
        Number of responses waited for, ``q(T)`` (>= 1).

    Returns
    -------
    ndarray of float64, shape (K,)
    """
    pb = check_distribution(induced, name="induced")
    qq = checks.integer("q", q, 1)
    if (pb <= 0).any():
        i = int(np.argmax(pb <= 0))
        raise InputError(f"induced entry {i} is {float(pb[i])!r}; every block needs Pi-bar_i > 0")
    return 1.0 / np.sqrt(qq * pb)  # eq. 23: G = diag(1 / sqrt(q Pi-bar_i))
