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
