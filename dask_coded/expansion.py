"""Expansion networks: how many servers hold each block (GC Sections III-C and III-D).

A thin validated layer over :mod:`dask_coded.kernels.expansion` and
:mod:`dask_coded.kernels.runtime`; numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse

from ._validation import float_array
from .errors import InputError
from .kernels import checks
from .kernels import expansion as kern
from .kernels.runtime import RuntimeModel

METHODS = ("optimal", "paper")


@dataclass(frozen=True)
class ExpansionNetwork:
    """Replication of K blocks over m servers and the distribution it induces.

    Attributes
    ----------
    scores : ndarray, shape (K,)
        The target distribution Pi (block leverage scores).
    replicas : ndarray of int, shape (K,)
        r_i, summing to ``n_servers``; blocks with Pi_i = 0 (no rows in range(A)) get none.
    method : str
        "optimal" (exact optimum of GC eq. 21 at R = m) or "paper" (eq. 19, then Algorithm 2).
    q : int or None
        Servers summed per round (eq. 26); from the deadline when not given: q(T) = floor(F(T) m).
    survival : float or None
        phi(T), the probability a server has not answered by the deadline (eq. 12).
    deadline : float or None
        T, when a runtime model was given.
    paper_replicas : ndarray or None
        r-hat of eq. 19 (before adjusting to m), when ``survival`` is known.
    """

    scores: np.ndarray
    replicas: np.ndarray
    method: str
    q: int | None = None
    survival: float | None = None
    deadline: float | None = None
    paper_replicas: np.ndarray | None = None

    @property
    def n_servers(self) -> int:
        """m = R = sum r_i."""
        return int(self.replicas.sum())

    @property
    def n_blocks(self) -> int:
        return len(self.scores)

    @cached_property
    def induced(self) -> np.ndarray:
        """Pi-bar_i = r_i / R (eq. 15)."""
        return self.replicas / self.replicas.sum()

    @cached_property
    def distortion(self) -> float:
        """d_{Pi, Pi-bar} = (1/K) sum |Pi_i - Pi-bar_i| (Section II)."""
        return float(kern.distortion(self.scores, self.induced))

    @cached_property
    def beta(self) -> float:
        """Misestimation factor beta = min_i Pi-bar_i / Pi_i (Section III-C)."""
        return float(kern.misestimation_factor(self.scores, self.induced))

    @cached_property
    def server_blocks(self) -> np.ndarray:
        """Block held by each server, length m (the rows of E, eq. 20)."""
        return kern.server_blocks(self.replicas)

    @cached_property
    def expansion_matrix(self) -> scipy.sparse.csr_matrix:
        """E in {0, 1}^{R x K} (eq. 20)."""
        return kern.expansion_matrix(self.replicas)

    def encoding_weights(self, q: int | None = None) -> np.ndarray:
        """G's diagonal, 1 / sqrt(q Pi-bar_i) (eq. 23); zero for blocks no server holds."""
        q = self.q if q is None else q
        if q is None:
            raise InputError("encoding weights need q (servers per round)")
        held = self.replicas > 0
        weights = np.zeros(self.n_blocks)
        weights[held] = kern.encoding_weights(self.induced[held], q)
        return weights

    @cached_property
    def emulation_distortion(self) -> float | None:
        """Delta_{Pi, Pi-bar} of eq. 18 for the eq. 19 replicas r-hat, when phi(T) is known."""
        if self.survival is None or self.paper_replicas is None:
            return None
        return float(kern.emulation_distortion(self.scores, self.paper_replicas, self.survival))

    @cached_property
    def lemma1_bound(self) -> float | None:
        """Lemma 1's bound on Delta for the eq. 19 replicas, when phi(T) is known."""
        if self.survival is None or self.paper_replicas is None:
            return None
        return float(kern.lemma1_bound(self.scores, self.paper_replicas, self.survival))

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary."""
        out = {"n_blocks": self.n_blocks, "n_servers": self.n_servers, "method": self.method,
               "q": self.q, "survival": self.survival, "deadline": self.deadline,
               "replicas_min": int(self.replicas.min()), "replicas_max": int(self.replicas.max()),
               "distortion": self.distortion, "beta": self.beta}
        if self.survival is not None:
            out["emulation_distortion"] = self.emulation_distortion
            out["lemma1_bound"] = self.lemma1_bound
            out["paper_replicas_total"] = int(self.paper_replicas.sum())
        return out


def resolve_survival(survival: Any, deadline: float | None) -> tuple[float | None, float | None]:
    """phi(T) from a number, or from a runtime model evaluated at the deadline (eq. 12)."""
    if survival is None:
        if deadline is not None:
            raise InputError("a deadline needs a runtime model (survival=...) to give phi(T)")
        return None, None
    if isinstance(survival, RuntimeModel) or callable(survival):
        if deadline is None:
            raise InputError("a runtime model needs a deadline T to give phi(T)")
        checks.positive("deadline", deadline, finite=False)
        fn = survival.survival if isinstance(survival, RuntimeModel) else survival
        phi = float(np.asarray(fn(deadline)))
    elif checks.is_real(survival) or (isinstance(survival, np.ndarray) and survival.ndim == 0
                                      and checks.is_real(survival.item())):
        phi = float(survival)
    else:
        raise InputError(f"survival must be a number phi(T) or a runtime model, "
                         f"got {checks.type_name(survival)}")
    if not 0 < phi < 1:
        raise InputError(f"survival phi(T) must be in (0, 1), got {phi:g} "
                         "(0: nobody straggles; 1: nobody answers by the deadline)")
    return phi, deadline


def expansion_network(Pi: Any, n_servers: int, *, survival: Any = None,
                      deadline: float | None = None, q: int | None = None,
                      method: str = "optimal", min_replicas: int = 1) -> ExpansionNetwork:
    """Replicate K blocks over ``n_servers`` servers so that r_i / m approximates Pi.

    Parameters
    ----------
    Pi : array_like, shape (K,)
        Target distribution (block leverage scores): finite, non-negative, summing to 1.
    n_servers : int
        m, the number of servers; each holds one block replica.
    survival : float or RuntimeModel, optional
        phi(T) directly, or a runtime model whose survival is evaluated at ``deadline``.
    deadline : float, optional
        T, the ending time of a round (eq. 12); with a runtime model.
    q : int, optional
        Servers summed per round; default q(T) = floor((1 - phi(T)) m) (eq. 12), at least 1.
    method : {"optimal", "paper"}
        "optimal": the exact minimiser of eq. 21 for R = m (an apportionment problem).
        "paper": r-hat of eq. 19 from phi(T), then Algorithm 2 to reach exactly m.
    min_replicas : int
        Fewest replicas of a block with Pi_i > 0 (1 keeps every block reachable, which the
        unbiasedness of Theorem 2 needs).

    Returns
    -------
    ExpansionNetwork
    """
    scores = kern.check_distribution(float_array(Pi, "Pi"))
    min_replicas = checks.integer("min_replicas", min_replicas, 0)
    if method not in METHODS:
        raise InputError(f"unknown expansion method {method!r}; choose one of {', '.join(METHODS)}")
    n_servers = checks.integer("n_servers", n_servers, 1)
    held = scores > 0
    if n_servers < min_replicas * int(held.sum()):
        raise InputError(f"n_servers={n_servers} is too few: {int(held.sum())} blocks with "
                         f"nonzero score need {min_replicas} replica(s) each")
    phi, deadline = resolve_survival(survival, deadline)
    if q is None and phi is not None:
        q = max(1, int(np.floor((1.0 - phi) * n_servers)))  # q(T) = floor(F(T) m), eq. 12
    if q is not None:
        if not checks.is_integer(q) or not 1 <= q <= n_servers:
            shown = int(q) if checks.is_integer(q) else checks.type_name(q)
            raise InputError(f"q must be an integer in 1..n_servers={n_servers}, got {shown}")
        q = int(q)
    sub = scores[held]
    paper = None
    if phi is not None:
        paper = np.zeros(len(scores), dtype=np.int64)
        paper[held] = kern.replicas_from_survival(sub, phi, min_replicas=min_replicas)
    if method == "paper":
        if phi is None:
            raise InputError("method='paper' needs survival phi(T) (eq. 19)")
        chosen = kern.adjust_replicas(sub, paper[held], n_servers, min_replicas=min_replicas)
    else:
        chosen = kern.optimal_replicas(sub, n_servers, min_replicas=min_replicas)
    replicas = np.zeros(len(scores), dtype=np.int64)
    replicas[held] = chosen
    return ExpansionNetwork(scores, replicas, method, q, phi, deadline, paper)
