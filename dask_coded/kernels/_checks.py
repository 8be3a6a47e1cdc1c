"""Parameter checks shared by the kernels (and their callers): one-line InputErrors."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import InputError


def count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``, or InputError naming the parameter."""
    # bool is an int subclass; m=True is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {int(value)}")
    return int(value)


def positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0, or InputError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out <= 0:
        raise InputError(f"{name} must be positive and finite, got {out:g}")
    return out
