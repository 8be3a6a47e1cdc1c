"""Scalar parameter checks for the whole package: one message grammar, one-line InputErrors.

Pure Python and numpy (no dask), so the kernels use them as much as the API, the config reader
and the benchmarks do. Each check returns the value as a plain Python ``int``, ``float`` or
``bool`` (numpy scalars included), or raises :class:`~dask_coded.errors.InputError` with one
of these messages:

* ``"{name} must be an integer, got {type}"``, ``"{name} must be a real number, got {type}"``,
  ``"{name} must be True or False, got {type}"``;
* ``"{name} must be >= {low}, got {value}"`` (and ``>``, ``<=``, ``<``);
* ``"{name} must be finite, got {value}"``, ``"{name} must not be NaN"``;
* ``"{name} must be in [0, 1], got {value}"`` (or ``(0, 1]``, ``[0, 1)``, ``(0, 1)``).

A value of the wrong type is named by its type alone, never printed: a long string or a large
YAML list must not end up in an error message. Numbers print as Python numbers (``5``, not
numpy 2's ``np.int64(5)``). ``bool`` (numpy's included) is never a number: ``m=True`` is a
mistake, not 1.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "choice",
    "flag",
    "fraction",
    "integer",
    "is_integer",
    "is_real",
    "positive",
    "quoted",
    "real",
    "seed",
    "type_name",
]


def type_name(value: Any) -> str:
    """``type(value).__name__`` for a message, or ``"None"`` for None."""
    return "None" if value is None else type(value).__name__


def quoted(value: Any) -> str:
    """A value for a message: a string as its repr, cut at 200 characters; a real number as
    Python writes it; anything else by its type (a YAML list or an array is never printed)."""
    if isinstance(value, str):
        return repr(value)[:200]
    if is_real(value):
        return _shown(value)
    return type_name(value)


def choice(noun: str, value: Any, options: tuple[str, ...] | list[str], *,
           menu: str | None = None) -> str:
    """``value`` if it is one of the strings ``options``.

    Parameters
    ----------
    noun : str
        What the message calls the parameter (``"solver.method"``, ``"on_short policy"``).
    value : object
        The value to check.
    options : sequence of str
        The accepted values.
    menu : str, optional
        How the message lists them (default ``"one of a, b, c"``).

    Raises
    ------
    InputError
        ``"unknown {noun} {value}; choose {menu}"`` for another string or a number, or
        ``"unknown {noun} of type {type}; choose {menu}"`` for anything else.
    """
    # isinstance first: `in` compares by ==, which a numpy array answers elementwise
    if isinstance(value, str) and value in options:
        return value
    menu = menu or f"one of {', '.join(options)}"
    if isinstance(value, str) or is_real(value):
        raise InputError(f"unknown {noun} {quoted(value)}; choose {menu}")
    raise InputError(f"unknown {noun} of type {type_name(value)}; choose {menu}")


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer (numpy's included), and not a bool."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (an integer or a float, numpy's included), not a bool."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)


def _shown(value: Any) -> str:
    """A real number for a message, as Python writes it (``5``, ``0.5``, ``1e+15``)."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    x = float(value)
    short = f"{x:g}"  # 1e+15 rather than 1000000000000000.0, where that is exact
    return short if "e" in short and float(short) == x else repr(x)


def _as_float(name: str, value: Any) -> float:
    """A real ``value`` as a float (an int beyond float range as +-inf), else InputError."""
    if not is_real(value):
        raise InputError(f"{name} must be a real number, got {type_name(value)}")
    try:
        return float(value)
    except OverflowError:  # an int beyond float range
        return math.inf if value > 0 else -math.inf


def integer(name: str, value: Any, low: int | None = None, *, high: int | None = None,
            optional: bool = False) -> int | None:
    """``value`` as an ``int`` in ``[low, high]``.

    Parameters
    ----------
    name : str
        The parameter's name, as the message shows it.
    value : object
        The value to check: an ``int`` or a numpy integer, not a bool.
    low, high : int, optional
        Smallest and largest allowed values (no bound when None).
    optional : bool
        Accept None (and return it).

    Returns
    -------
    int or None
        ``int(value)``; None only when ``optional`` and ``value`` is None.

    Raises
    ------
    InputError
        ``"{name} must be an integer, got {type}"``, ``"{name} must be >= {low}, got {value}"``
        or ``"{name} must be <= {high}, got {value}"``.
    """
    if value is None and optional:
        return None
    if not is_integer(value):
        raise InputError(f"{name} must be an integer, got {type_name(value)}")
    out = int(value)
    if low is not None and out < low:
        raise InputError(f"{name} must be >= {low}, got {out}")
    if high is not None and out > high:
        raise InputError(f"{name} must be <= {high}, got {out}")
    return out


def real(name: str, value: Any, *, low: float | None = None, strict: bool = False,
         high: float | None = None, strict_high: bool = False, finite: bool = True,
         optional: bool = False) -> float | None:
    """``value`` as a ``float``, optionally bounded.

    Parameters
    ----------
    name : str
        The parameter's name, as the message shows it.
    value : object
        The value to check: an ``int``, a ``float`` or a numpy number, not a bool.
    low : float, optional
        Smallest allowed value (``value >= low``; ``value > low`` with ``strict``).
    strict : bool
        Exclude ``low`` itself.
    high : float, optional
        Largest allowed value (``value <= high``; ``value < high`` with ``strict_high``).
    strict_high : bool
        Exclude ``high`` itself.
    finite : bool
        Refuse +-inf (NaN is always refused).
    optional : bool
        Accept None (and return it).

    Returns
    -------
    float or None
        ``float(value)``; None only when ``optional`` and ``value`` is None.

    Raises
    ------
    InputError
        ``"{name} must be a real number, got {type}"``, ``"{name} must be finite, got {value}"``
        (``"{name} must not be NaN"`` when ``finite=False``), ``"{name} must be >= {low}, got
        {value}"`` (``>`` when ``strict``) or ``"{name} must be <= {high}, got {value}"``
        (``<`` when ``strict_high``).
    """
    if value is None and optional:
        return None
    out = _as_float(name, value)
    if math.isnan(out):
        raise InputError(f"{name} must be finite, got nan" if finite
                         else f"{name} must not be NaN")
    if finite and math.isinf(out):
        raise InputError(f"{name} must be finite, got {_shown(out)}")
    if low is not None and (out <= low if strict else out < low):
        raise InputError(f"{name} must be {'>' if strict else '>='} {_shown(low)}, "
                         f"got {_shown(value)}")
    if high is not None and (out >= high if strict_high else out > high):
        raise InputError(f"{name} must be {'<' if strict_high else '<='} {_shown(high)}, "
                         f"got {_shown(value)}")
    return out


def positive(name: str, value: Any, *, finite: bool = True,
             optional: bool = False) -> float | None:
    """``value`` as a ``float > 0``: :func:`real` with ``low=0, strict=True``.

    Parameters
    ----------
    name : str
        The parameter's name, as the message shows it.
    value : object
        The value to check.
    finite : bool
        Refuse +inf.
    optional : bool
        Accept None (and return it).

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        As :func:`real`; ``"{name} must be > 0, got {value}"`` for ``value <= 0``.
    """
    return real(name, value, low=0, strict=True, finite=finite, optional=optional)


def fraction(name: str, value: Any, *, open_low: bool = False, open_high: bool = False,
             optional: bool = False) -> float | None:
    """``value`` as a ``float`` in the unit interval: ``[0, 1]``, or open at either end.

    Parameters
    ----------
    name : str
        The parameter's name, as the message shows it.
    value : object
        The value to check.
    open_low, open_high : bool
        Exclude 0, or 1.
    optional : bool
        Accept None (and return it).

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        ``"{name} must be a real number, got {type}"``, or ``"{name} must be in [0, 1], got
        {value}"`` (with ``(`` or ``)`` for an open end; NaN is outside every interval).
    """
    if value is None and optional:
        return None
    out = _as_float(name, value)
    if not ((0.0 < out if open_low else 0.0 <= out) and (out < 1.0 if open_high else out <= 1.0)):
        raise InputError(f"{name} must be in {'(' if open_low else '['}0, "
                         f"1{')' if open_high else ']'}, got {_shown(value)}")
    return out


def flag(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` (numpy's bool accepted; 0 and 1 are not flags).

    Parameters
    ----------
    name : str
        The parameter's name, as the message shows it.
    value : object
        The value to check.

    Returns
    -------
    bool

    Raises
    ------
    InputError
        ``"{name} must be True or False, got {type}"``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be True or False, got {type_name(value)}")
    return bool(value)


def seed(name: str, value: Any) -> int | None:
    """None, or an integer ``>= 0`` (what numpy's ``SeedSequence`` takes).

    Parameters
    ----------
    name : str
        The parameter's name, as the message shows it.
    value : object
        The seed to check.

    Returns
    -------
    int or None

    Raises
    ------
    InputError
        As :func:`integer` with ``low=0``.
    """
    return integer(name, value, 0, optional=True)
