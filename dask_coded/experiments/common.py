"""What every benchmark shares: peak memory, medians over repeats that may not reach a
target, worker BLAS threads, name lists from the command line, table cells."""

from __future__ import annotations

import math
import resource
import statistics

from ..errors import InputError


def peak_rss_mib() -> float:
    """Peak resident memory of the calling process since it started (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median_or_none(values: list) -> float | None:
    """Median with None counting as +inf (not reached); None if the median is not reached."""
    if not values:
        return None
    med = statistics.median(math.inf if v is None else v for v in values)
    return None if math.isinf(med) else float(med)


def blas_threads() -> str:
    """Run on a worker: its OPENBLAS_NUM_THREADS (nanny workers set it, and OMP/MKL, to 1)."""
    import os

    return os.environ.get("OPENBLAS_NUM_THREADS", "unset")


def check_names(kind: str, given: list[str] | tuple[str, ...], known) -> list[str]:
    """``given`` in order, without repeats, each one of ``known``; an InputError otherwise."""
    out = []
    for name in given:
        if name not in known:
            raise InputError(f"unknown {kind} {name!r}; choose from {', '.join(known)}")
        if name not in out:
            out.append(name)
    if not out:
        raise InputError(f"no {kind} given")
    return out


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted by ``spec``, or "-" for a value not measured."""
    return "-" if value is None else format(value, spec)


def format_table(rows: list[dict]) -> str:
    """Rows of one dict each as a right-aligned text table (floats as ``%.2e``)."""
    cols = list(rows[0])
    cells = [list(cols)] + [
        [f"{r[c]:.2e}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells)
