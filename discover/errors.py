"""The project's exceptions.

Every error a user can cause carries a one-line message that says what is wrong and what would
be right; the command line prints it as ``error: …`` and exits with status 2.
"""

from __future__ import annotations

__all__ = ["DataError", "ExpressionError"]


class DataError(ValueError):
    """Input data that cannot be used, with a one-line message saying what is wrong and
    what would be right."""


class ExpressionError(DataError):
    """Text that is not an allowed mathematical expression (see :mod:`discover.parsing`)."""
