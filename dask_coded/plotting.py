"""Plots written as PNG files (matplotlib with the Agg backend; no screen needed)."""

from __future__ import annotations

import os

import numpy as np

from ._atomic import atomic_path


def plot_leverage(path: str | os.PathLike, scores: np.ndarray,
                  replicas: np.ndarray | None = None, title: str = "") -> None:
    """Bar plot of block leverage scores Pi and, if given, the induced r_i / m beside them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(scores)
    nrows = 2 if replicas is not None else 1
    fig, axes = plt.subplots(nrows, 1, figsize=(9, 3.2 * nrows), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.bar(np.arange(k), scores, width=1.0, color="tab:blue", label="Pi (block leverage)")
    ax.axhline(1.0 / k, color="k", lw=0.8, ls="--", label="uniform 1/K")
    if replicas is not None:
        ax.step(np.arange(k), replicas / replicas.sum(), where="mid", color="tab:red",
                lw=1.0, label="induced r_i / m")
    ax.set_ylabel("probability")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or "Block leverage scores")
    if replicas is not None:
        ax2 = axes[1, 0]
        ax2.bar(np.arange(k), replicas, width=1.0, color="tab:red")
        ax2.set_ylabel("replicas r_i")
        ax2.set_xlabel("block")
    else:
        ax.set_xlabel("block")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def plot_convergence(path: str | os.PathLike, histories: dict, *, title: str = "") -> str:
    """Convergence of several solves: one line per method, against wall time and iterations.

    Parameters
    ----------
    path : path-like
        PNG file to write (atomically).
    histories : dict
        Method name -> ``LstsqResult.history`` (lists keyed ``time``, ``iteration``,
        ``error``, ``residual_norm``).
    title : str
        Figure title.

    Returns
    -------
    str
        The quantity plotted: ``"error"`` (relative to the reference solution) when every
        history has it, else ``"residual_norm"``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = "error" if histories and all(h.get("error") for h in histories.values()) \
        else "residual_norm"
    label = "relative error ||x - x*|| / ||x*||" if metric == "error" else "residual ||Ax - b||"
    fig, (ax_t, ax_i) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name, h in histories.items():
        y = np.asarray(h.get(metric) or [], dtype=float)
        if y.size == 0:
            continue
        y = np.where(y > 0, y, np.nan)  # log scale: an exact 0 is left out, not plotted at -inf
        t = np.asarray(h["time"], dtype=float)
        it = np.asarray(h["iteration"], dtype=float)
        marker = "o" if y.size == 1 else None
        ax_t.plot(t, y, label=name, marker=marker, lw=1.4)
        ax_i.plot(it, y, label=name, marker=marker, lw=1.4)
    for ax in (ax_t, ax_i):
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
    ax_t.set_xlabel("wall time, seconds (setup excluded)")
    ax_i.set_xlabel("iteration")
    ax_t.set_ylabel(label)
    ax_t.legend(fontsize=8)
    fig.suptitle(title or "Convergence")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return metric
