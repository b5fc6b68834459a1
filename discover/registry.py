"""One kind of registry for every kind of plug-in (derivative methods, regressors, criteria,
builders, solvers, baselines, presets, layouts).

A registry maps names to plug-ins, registers them with a decorator, and answers an unknown
name with a one-line :class:`~discover.errors.UnknownNameError` that names the parameter and
lists the valid names; the command line's help reads the same names.

Examples
--------
>>> SMOOTHERS = Registry("smoother", parameter="smoother")
>>> @SMOOTHERS.register("box")
... def box(u):
...     return u
>>> SMOOTHERS["box"] is box
True
>>> SMOOTHERS["gauss"]
Traceback (most recent call last):
...
discover.errors.UnknownNameError: unknown smoother 'gauss' for smoother=; valid smoothers: 'box'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from .errors import UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Names -> plug-ins of one kind.

    Parameters
    ----------
    kind : str
        What the plug-ins are, for messages ("derivative method").
    parameter : str
        The keyword argument that takes the name (``method``).
    plural : str, optional
        The plural for messages ("criteria"); ``kind + "s"`` by default.
    extra : sequence of str
        Names the parameter accepts besides the registered ones (``"auto"``), listed first.
    """

    def __init__(
        self, kind: str, *, parameter: str, plural: str | None = None, extra: tuple[str, ...] = ()
    ):
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.parameter = parameter
        self.extra = tuple(extra)
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Add ``obj`` under ``name`` (a decorator when ``obj`` is not given); a name may be
        registered again, and the newer plug-in wins (so a user can replace one)."""

        def add(o: T) -> T:
            self._items[name] = o
            return o

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the parameter accepts, the extra ones first."""
        return (*self.extra, *self._items)

    def check(self, name: object) -> str:
        """``name`` if the parameter accepts it; the one-line error otherwise."""
        if isinstance(name, str) and name in self.names:
            return name
        raise UnknownNameError(
            f"unknown {self.kind} {name!r} for {self.parameter}=; valid {self.plural}: "
            + ", ".join(repr(n) for n in self.names),
            parameter=self.parameter,
        )

    def __getitem__(self, name: str) -> T:
        if isinstance(name, str) and name in self._items:
            return self._items[name]
        self.check(name)
        raise UnknownNameError(  # an extra name has no plug-in of its own
            f"{self.kind} {name!r} is resolved before lookup", parameter=self.parameter
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"
