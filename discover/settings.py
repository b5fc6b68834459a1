"""The settings of :func:`discover.find`, checked once against a table of constraints.

In the spirit of scikit-learn's ``_parameter_constraints``: each setting lists what it may
be (a registry of plug-in names, a set of values, a whole or real number in a range, None);
:meth:`FindSettings.check` tests them all and raises one line naming the parameter, what it
was and what it may be.

>>> FindSettings(n_folds=1).check()
Traceback (most recent call last):
...
discover.errors.DataError: n_folds must be a whole number >= 2, not 1
>>> FindSettings(select="elbow").check()
Traceback (most recent call last):
...
discover.errors.UnknownNameError: unknown selection criterion 'elbow' for select=; valid criteria: '1se', 'cv', 'bic', 'aic', 'knee'
"""  # noqa: E501

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from .builders import builder_for, methods
from .builders.neural import FORMS
from .errors import DataError
from .fields import FIELD_MODES
from .presets import PRESETS
from .registry import Registry
from .regress import REGRESSORS
from .select import CRITERIA

__all__ = ["CONSTRAINTS", "FindSettings", "Whole"]


@dataclass(frozen=True)
class Whole:
    """A whole number in ``[low, high]``, except the values in ``but``."""

    low: int | None = None
    high: int | None = None
    but: tuple[int, ...] = ()

    def __call__(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v in self.but:
            return False
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)

    def __str__(self) -> str:
        out = "a whole number" + (f" >= {self.low}" if self.low is not None else "")
        return out + "".join(f" other than {b}" for b in self.but)


@dataclass(frozen=True)
class Fraction:
    """A real number in ``(0, 1]``."""

    def __call__(self, v: Any) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v <= 1

    def __str__(self) -> str:
        return "in (0, 1]"


@dataclass(frozen=True)
class OneOf:
    """One of the given values (of the same type: ``True`` is not ``1``)."""

    values: tuple[Any, ...]

    def __call__(self, v: Any) -> bool:
        return any(v == x and type(v) is type(x) for x in self.values)

    def __str__(self) -> str:
        return " or ".join(repr(x) for x in self.values)


@dataclass(frozen=True)
class IsA:
    """An instance of ``types`` (None allowed when ``optional``)."""

    types: tuple[type, ...]
    label: str
    optional: bool = True

    def __call__(self, v: Any) -> bool:
        return (self.optional and v is None) or isinstance(v, self.types)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Names:
    """A sequence of strings (not one string)."""

    def __call__(self, v: Any) -> bool:
        return (
            isinstance(v, Sequence)
            and not isinstance(v, str)
            and all(isinstance(e, str) for e in v)
        )

    def __str__(self) -> str:
        return "a list of strings"


#: the forms of the neural method, as a registry of names (for its one-line error)
FORM_NAMES: Registry = Registry("form", parameter="form", extra=FORMS)
#: the methods: builders and derivative methods (looked up when checked)
METHOD = "method"

#: setting -> what it may be (any one passes); a registry of plug-in names answers with its
#: own one-line error listing the valid names
CONSTRAINTS: dict[str, tuple] = {
    "method": (METHOD,),
    "accuracy": (OneOf(("auto",)), Whole(low=1)),
    "max_order": (Whole(low=0),),
    "degree": (Whole(low=0),),
    "extra": (Names(),),
    "include_constant": (OneOf((True, False)),),
    "select": (CRITERIA,),
    "regressor": (REGRESSORS,),
    "n_folds": (Whole(low=2),),
    "seed": (Whole(),),
    "neural": (IsA((Mapping,), "a dict of the interpolant's settings"),),
    "form": (FORM_NAMES,),
    "n_bootstrap": (Whole(low=0, but=(1,)),),
    "library_fraction": (Fraction(),),
    "units": (IsA((Mapping,), "a dict symbol -> unit"),),
    "scale": (IsA((Mapping,), "a dict symbol -> (factor, offset)"),),
    "holdout": (IsA((str,), "a hold-out such as 'last:20%'"),),
    "preset": (PRESETS, OneOf((None,))),
    "sel": (IsA((Mapping,), "a dict dim -> value"),),
    "fields": (FIELD_MODES,),
}


@dataclass(frozen=True)
class FindSettings:
    """Every setting of :func:`discover.find` (see its parameters)."""

    method: str = "auto"
    accuracy: int | str = "auto"
    max_order: int = 3
    degree: int = 2
    extra: tuple[str, ...] = ()
    include_constant: bool = True
    select: str = "1se"
    regressor: str = "stlsq"
    n_folds: int = 5
    seed: int = 0
    neural: Mapping[str, Any] | None = None
    form: str = "weak"
    n_bootstrap: int = 100
    library_fraction: float = 1.0
    units: Mapping[str, str] | None = None
    scale: Mapping[str, tuple[float, float]] | None = None
    holdout: str | None = None
    preset: str | None = "auto"
    sel: Mapping[str, Any] | None = None
    fields: str = "none"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def check(self) -> FindSettings:
        """``self`` if every setting meets :data:`CONSTRAINTS`; the one-line error of the
        first that does not."""
        for name, allowed in CONSTRAINTS.items():
            value = getattr(self, name)
            if name == METHOD:
                if value not in methods():
                    builder_for(value)  # the one-line error listing the valid methods
            elif not any(_meets(c, value) for c in allowed):
                registries = [c for c in allowed if isinstance(c, Registry)]
                if registries and isinstance(value, str):
                    registries[0].check(value)
                what = " or ".join(str(c) for c in allowed)
                raise DataError(f"{name} must be {what}, not {value!r}", parameter=name)
        return self

    def asdict(self) -> dict[str, Any]:
        return asdict(self)


def _meets(constraint, value) -> bool:
    if isinstance(constraint, Registry):
        return isinstance(value, str) and value in constraint.names
    return bool(constraint(value))
