"""dask_coded's defaults in :mod:`dask.config`: the ``dask-coded`` namespace.

Not to be confused with :mod:`dask_coded.config`, the parser of the YAML *run* configs of the
command line. This module ships the library's defaults in ``dask-coded.yaml`` beside it and
registers them with :func:`dask.config.update_defaults` when :mod:`dask_coded` is imported, as
distributed and dask-ml register theirs: nothing is written to the user's config folder (no
``ensure_file``). Users override a default as any dask setting::

    dask.config.set({"dask-coded.unresponsive-after": 5})
    DASK_DASK_CODED__UNRESPONSIVE_AFTER=5        # environment, read when dask is imported

The code reads the values with :func:`get` when a call is made, not at import, so that
``dask.config.set`` in a ``with`` block applies to the calls inside it; an argument given to
a call wins over the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.config
import yaml

from .errors import InputError

#: The YAML file of defaults shipped in the package (``[tool.setuptools.package-data]``).
DEFAULTS_FILE = Path(__file__).with_name("dask-coded.yaml")

#: The namespace's name in dask's configuration.
NAMESPACE = "dask-coded"


def defaults() -> dict:
    """The shipped defaults, ``{"dask-coded": {...}}``, as read from :data:`DEFAULTS_FILE`."""
    with DEFAULTS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def register() -> None:
    """Add the shipped defaults to dask's configuration (idempotent).

    ``update_defaults`` keeps what the user already set (their YAML files, ``DASK_*``
    environment variables, an enclosing ``dask.config.set``) and fills in the rest.
    """
    dask.config.update_defaults(defaults())


def get(key: str, check: Callable[[str, Any], Any] | None = None) -> Any:
    """The configured value of ``dask-coded.<key>`` now, checked.

    Parameters
    ----------
    key : str
        The key inside the namespace, hyphens or underscores (``"unresponsive-after"``,
        ``"matmul.points"``).
    check : callable, optional
        ``check(name, value)`` returning the value to use (a check of
        :mod:`dask_coded.kernels.checks`); the name it is given is the full config key, so
        that a bad value set in a YAML file or an environment variable is named where it was
        set, not as an argument nobody passed.

    Returns
    -------
    object
        The value (checked), or None where the key is unset everywhere.
    """
    name = f"{NAMESPACE}.{key}"
    value = dask.config.get(name, default=None)
    if check is None:
        return value
    try:
        return check(name, value)
    except InputError as exc:
        if name in str(exc):
            raise
        # a check that words its message by a noun ("on_short policy must be one of ...")
        raise InputError(f"{name} (dask config): {exc}") from None


def resolve(value: Any, key: str, check: Callable[[str, Any], Any] | None = None) -> Any:
    """``value`` when it was given (not None), else the configured ``dask-coded.<key>``."""
    return value if value is not None else get(key, check)
