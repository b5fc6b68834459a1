"""The project's exceptions.

Every error a user can cause carries a one-line message that says what is wrong and what would
be right; the command line prints it as ``error: …`` and exits with status 2.  An error about
one parameter names it as the library spells it (``method=``); the command line shows the
flag instead (``--method``, :func:`as_flags`).
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["DataError", "ExpressionError", "UnknownNameError", "as_flags"]


class DataError(ValueError):
    """Input data that cannot be used, with a one-line message saying what is wrong and
    what would be right.

    Parameters
    ----------
    message : str
    parameter : str, optional
        The keyword argument the error concerns (``"method"``), when there is one.
    """

    def __init__(self, message: str, *, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


class ExpressionError(DataError):
    """Text that is not an allowed mathematical expression (see :mod:`discover.parsing`)."""


class UnknownNameError(DataError):
    """A plug-in name that no registry holds; the message lists the valid names."""


def as_flags(message: str, names: Collection[str] | None = None) -> str:
    """A library message with ``name=`` spelled as the command line's flag ``--name``
    (only for ``names``, the parameters the command has, when given).

    >>> as_flags("unknown solver 'x' for solver=; valid solvers: 'classical', 'neural'")
    "unknown solver 'x' for --solver; valid solvers: 'classical', 'neural'"
    >>> as_flags("use max_order=0 for an ODE, or n_bootstrap=0")
    'use --max-order 0 for an ODE, or --bootstrap 0'
    >>> as_flags("give level=850 or method=fd", names={"method"})
    'give level=850 or --method fd'
    """

    def flag(m: re.Match) -> str:
        name, value = m.group(1), m.group(2)
        if names is not None and name not in names:
            return m.group(0)
        name = _FLAG_NAMES.get(name, name.replace("_", "-"))
        return f"--{name}" + (f" {value}" if value else "")

    return re.sub(r"(?<![\w.-])([a-z][a-z0-9_]*)=(?!=)([^\s,;:)]*)", flag, message)


#: library parameters whose command-line flag is spelled differently
_FLAG_NAMES = {
    "n_bootstrap": "bootstrap",
    "include_constant": "no-constant",
    "baselines": "baseline",
}
