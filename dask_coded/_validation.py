"""Validation shared by the public API: one clear InputError per mistake."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError

#: Row chunk used when a numpy array is wrapped as a dask array (about 64 MiB at d=100).
DEFAULT_CHUNK_BYTES = 64 * 2**20


def check_dtype(x: Any, name: str) -> None:
    """Raise unless ``x`` has a real floating-point dtype."""
    dtype = np.dtype(x.dtype)
    if dtype.kind == "c":
        raise InputError(f"{name} has complex dtype {dtype}; only real floating point is supported")
    if dtype.kind != "f":
        raise InputError(f"{name} has dtype {dtype}; convert it to float64 (or float32) first")


def check_pair(a: Any, b: Any | None, where: str = "") -> None:
    """Shape and dtype checks of a tall matrix ``a`` and optional right-hand side ``b``."""
    suffix = f" in {where}" if where else ""
    if a.ndim != 2:
        raise InputError(f"A must be 2-D, got {a.ndim}-D shape {tuple(a.shape)}{suffix}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"A is empty (shape {tuple(a.shape)}){suffix}")
    check_dtype(a, "A")
    if b is not None:
        if b.ndim != 1:
            raise InputError(f"b must be 1-D, got shape {tuple(b.shape)}{suffix}")
        if b.shape[0] != a.shape[0]:
            raise InputError(f"A and b have different numbers of rows: {a.shape[0]} and "
                             f"{b.shape[0]}{suffix}")
        check_dtype(b, "b")


#: Most servers a call may ask for explicitly (their arrays would not fit in memory beyond).
MAX_SERVERS = 1_000_000


def check_client(client: Any, *, simulate: bool = False) -> None:
    """None, a distributed.Client (or ``"simulate"`` where allowed)."""
    if client is None or (simulate and client == "simulate"):
        return
    from distributed import Client

    if not isinstance(client, Client):
        allowed = " or 'simulate'" if simulate else ""
        raise InputError(f"client must be a distributed.Client{allowed}, got "
                         f"{' '.join(repr(client).split())}"[:200])


def float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array, or an InputError naming ``name``."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array of real numbers, got "
                         f"{type(value).__name__}") from None


def check_servers(name: str, value: int) -> int:
    """An explicit server count below :data:`MAX_SERVERS`."""
    if value > MAX_SERVERS:
        raise InputError(f"{name}={value} is more than {MAX_SERVERS} servers")
    return value
