"""Exceptions raised for a user's mistake (bad input, bad configuration).

Every error a user can cause is an :class:`InputError` whose message is one line naming the
problem, so the CLI can print it without a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: a path, an array, a parameter or a config value."""
