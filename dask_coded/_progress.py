"""Progress bars of :func:`~dask_coded.lstsq` and :func:`~dask_coded.matmul`.

tqdm is imported here, and only when a bar is shown: ``tqdm.auto`` warns ``TqdmWarning:
IProgress not found`` when imported in a Jupyter kernel without ipywidgets, which an import
of dask_coded at module level made every notebook print, bar or not.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._dask_config import resolve
from .errors import InputError
from .kernels import checks

#: What ``progress=`` takes (None: the ``dask-coded.progress`` setting).
CHOICES = (True, False, "auto")


def check(name: str, value: Any) -> bool | str | None:
    """None, True, False or ``"auto"``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or (isinstance(value, str) and value == "auto"):
        return value
    raise InputError(f"{name} must be True, False or 'auto', got {checks.quoted(value)}")


def in_notebook() -> bool:
    """Whether this runs in a Jupyter (IPython) kernel, where a bar is a widget."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    try:
        ip = get() if get is not None else None
    except Exception:  # an IPython too old or half imported: not a kernel we know
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _has_widgets() -> bool:
    import importlib.util

    return importlib.util.find_spec("ipywidgets") is not None


def wanted(progress: bool | str | None) -> bool:
    """Whether to show a bar: ``progress`` (None: ``dask-coded.progress``); ``"auto"`` is on
    in a Jupyter kernel (a widget) and when stderr is a terminal (text), so logs, CI and
    captured output get no bar.
    """
    progress = resolve(progress, "progress", check)
    if progress == "auto":
        if in_notebook():
            return True
        isatty = getattr(sys.stderr, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False
    return bool(progress)


def bar(progress: bool | str | None, total: int | None, desc: str, unit: str) -> Any:
    """A ``tqdm.auto`` bar on stderr (a widget in Jupyter with ipywidgets, text elsewhere),
    or None when ``progress`` (see :func:`wanted`) asks for none.

    Parameters
    ----------
    progress : True, False, "auto" or None
        As the caller's ``progress=`` (None: the ``dask-coded.progress`` setting).
    total : int or None
        Steps expected (None: unknown, a counter).
    desc, unit : str
        tqdm's label and unit.

    Returns
    -------
    tqdm or None
        The bar; the caller closes it. A bar asked for (True) stays on screen when done; an
        automatic one clears itself, so that a script or benchmark of many calls in a
        terminal is not left with a line per call.
    """
    if not wanted(progress):
        return None
    # here, not at import (see the module docstring); in a kernel without ipywidgets
    # tqdm.auto warns and falls back to text: take the text bar without the warning
    if in_notebook() and not _has_widgets():
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm

    leave = resolve(progress, "progress", check) is True
    return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr,
                dynamic_ncols=True)
