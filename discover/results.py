"""The results model: :class:`Discovery`, what :func:`discover.find` returns and what its JSON
holds, both ways (``to_dict`` / ``from_dict``), with a schema version.

The JSON is the contract of DESIGN.md.  ``schema_version`` (``MAJOR.MINOR``) says which
shape a file has: a reader takes every file of its own major version (minor versions only
add keys) and the files written before the key existed (read as ``1.0``); a newer major
version is refused with a one-line error, never misread.  Version 1.1 adds
``complex_equations`` (a complex field's one equation,
:class:`~discover.complexfield.ComplexEquation`; ``equations`` then holds its real pair) and,
with them, ``settings.complex_fields`` and ``settings.complex_library``.

Examples
--------
>>> from discover.datasets import make_dataset
>>> from discover import find
>>> d = find(make_dataset("heat", nx=64, nt=41), "u", n_bootstrap=0)
>>> back = Discovery.from_dict(d.to_dict())
>>> print(back.equations[0])
u_t = 0.1*u_xx
>>> back.data.fields
['u']
>>> back.to_dict() == d.to_dict()
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._version import __version__
from .complexfield import ComplexEquation
from .equation import Equation
from .errors import DataError
from .io import Samples, Transform
from .library import Library

__all__ = ["SCHEMA_VERSION", "DataInfo", "Discovery"]

#: the shape of the result JSON, ``MAJOR.MINOR``
SCHEMA_VERSION = "1.1"


@dataclass(frozen=True)
class DataInfo:
    """What a result says of the data it came from (the JSON's ``data``).

    ``fields``/``coords`` are the symbols of the equation; ``names`` maps them to the
    data's own variable names; ``units`` holds each symbol's unit (after a declared
    transform).
    """

    file: str | None
    var: str
    fields: list[str]
    coords: list[str]
    names: dict[str, str]
    layout: str
    n_samples: int
    units: dict[str, str]
    time_unit: str | None
    time_origin: str | None

    @classmethod
    def of(cls, s: Samples) -> DataInfo:
        return cls(
            file=s.source,
            var=",".join(s.names.get(f, f) for f in s.fields),
            fields=list(s.fields),
            coords=list(s.coords),
            names=dict(s.names),
            layout=s.layout,
            n_samples=s.n_samples,
            units=dict(s.units),
            time_unit=s.time_unit,
            time_origin=s.time_origin,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataInfo:
        """From the JSON's ``data``; files before 1.0 may lack all but ``var``."""
        fields = _list_of_str(d.get("fields") or str(d.get("var", "")).split(","), "data.fields")
        names = d.get("names") or {f: f for f in fields}
        units = d.get("units") or {}
        for key, value in (("data.names", names), ("data.units", units)):
            if not isinstance(value, Mapping):
                raise DataError(f"the result's '{key}' must be a JSON object")
        return cls(
            file=d.get("file"),
            var=str(d.get("var", ",".join(fields))),
            fields=fields,
            coords=_list_of_str(d.get("coords") or [], "data.coords"),
            names={str(k): str(v) for k, v in names.items()},
            layout=str(d.get("layout", "grid")),
            n_samples=int(d.get("n_samples", 0)),
            units={str(k): str(v) for k, v in units.items()},
            time_unit=d.get("time_unit"),
            time_origin=d.get("time_origin"),
        )


@dataclass
class Discovery:
    """What :func:`discover.find` found, and how.

    Attributes
    ----------
    equations : list of Equation
        One per field, in the units the discovery ran in.
    settings : dict
        Every setting used, including the choices made automatically.
    data : DataInfo
        The data's symbols, names, layout and units.
    diagnostics : dict
        Per field: the held-out error of the pick for each derivative variant, intervals.
    transform : Transform, optional
        The declared change of variables the discovery ran in (``units=``, ``scale=``).
    paths : dict
        Field -> the :class:`~discover.select.SparsityPath` (after :func:`find`), or its
        table (read from JSON).
    library, samples
        The candidate library and the data (after :func:`find`; None when read from JSON).
    complex_equations : list of ComplexEquation
        For a complex field: its one complex equation (``equations`` then holds the real
        pair it stands for); empty for real data.
    """

    equations: list[Equation]
    settings: dict[str, Any]
    data: DataInfo
    diagnostics: dict[str, Any] = field(default_factory=dict)
    transform: Transform | None = None
    paths: dict[str, Any] = field(default_factory=dict)
    library: Library | None = None
    samples: Samples | None = None
    version: str = __version__
    _in_data_units: list[Equation] | None = field(default=None, repr=False)
    complex_equations: list[ComplexEquation] = field(default_factory=list)

    @property
    def equations_in_data_units(self) -> list[Equation]:
        """The equations in the data's own coordinates and units: the declared transform
        (``units=``) undone as a change of variables; the equations themselves otherwise."""
        if self._in_data_units is not None:
            return list(self._in_data_units)
        if self.transform is None:
            return list(self.equations)
        back = self.transform.inverse()
        return [e.change_variables(back.maps, back.units, back.renames) for e in self.equations]

    @property
    def holdout(self) -> dict[str, Any]:
        """Where the hold-out starts (a time) and which stations it keeps apart."""
        s = self.settings
        return {"start": s.get("holdout_start"), "stations": s.get("holdout_stations")}

    def __str__(self) -> str:
        return "\n".join(str(e) for e in [*self.complex_equations, *self.equations])

    def _repr_latex_(self) -> str:
        eqs = [*self.complex_equations, *self.equations]
        body = r" \\ ".join(e.to_latex() for e in eqs)
        if len(eqs) > 1:
            return rf"$\begin{{aligned}} {body} \end{{aligned}}$"
        return f"${body}$"

    def to_latex(self, *, units: bool = True, **settings) -> str:
        """A LaTeX ``equation`` (or ``align``) environment of the equation(s).

        With ``units`` (and units known for the fields and coordinates) the last line ends
        with them, e.g. ``\\qquad [T] = \\mathrm{K},\\ [t] = \\mathrm{h},\\ [x] = [y] =
        \\mathrm{km}``.  Other settings go to :meth:`Equation.to_latex`.
        """
        eqs = [*self.complex_equations, *self.equations]
        lines = [e.to_latex(**settings).replace(" = ", " &= ", 1) for e in eqs]
        tail = units_latex(self.equations[0]) if units and self.equations else ""
        if tail:
            lines[-1] += tail
        if len(lines) == 1:
            return "\\begin{equation}\n  " + lines[0].replace("&=", "=") + "\n\\end{equation}\n"
        return "\\begin{align}\n  " + " \\\\\n  ".join(lines) + "\n\\end{align}\n"

    def write_fields(self, path, *, force: bool = False) -> bool:
        """Write the coefficient fields of the equations (:mod:`discover.fields`) as netCDF:
        on the data's grid, or on a regular grid of 41 points a side over the stations' or
        points' extent.  False (and nothing written) when no coefficient varies."""
        from .fields import write_fields

        if not any(e.has_fields for e in self.equations):
            return False
        return write_fields(self.equations, path, grid=self.field_grid(), force=force)

    def field_grid(self) -> dict[str, Any]:
        """Coordinate -> 1-D array: where the coefficient fields are reported."""
        import numpy as np

        args = {a for e in self.equations for t in e.terms if t.field for a in t.field.args}
        s = self.samples
        if s is not None and s.grid is not None:
            return {a: s.grid[a].values for a in args}
        out = {}
        for e in self.equations:
            for t in e.terms:
                if t.field is not None:
                    for a, c, h in zip(t.field.args, t.field.center, t.field.half):
                        lo, hi = c - abs(h), c + abs(h)
                        if s is not None and a in s.coords:
                            col = s.points[:, list(s.coords).index(a)]
                            lo, hi = float(col.min()), float(col.max())
                        out[a] = np.linspace(lo, hi, 41)
        return out

    def to_dict(self, *, include_path: bool = True) -> dict[str, Any]:
        """The JSON of DESIGN.md (``equations``, ``data``, ``settings``, …)."""
        out: dict[str, Any] = {
            "equations": [e.to_dict() for e in self.equations],
            "data": self.data.to_dict(),
            "settings": self.settings,
            "diagnostics": self.diagnostics,
            "version": self.version,
            "schema_version": SCHEMA_VERSION,
        }
        if self.complex_equations:
            out["complex_equations"] = [e.to_dict() for e in self.complex_equations]
        if self.transform is not None:
            out["transform"] = self.transform.as_dict()
            out["equations_in_data_units"] = [e.to_dict() for e in self.equations_in_data_units]
        if include_path and self.paths:
            out["path"] = {
                f: p if isinstance(p, list) else p.table() for f, p in self.paths.items()
            }
        return out

    @classmethod
    def from_dict(cls, d: Any) -> Discovery:
        """A result read back from its JSON; one-line :class:`DataError` for a bad one.

        Files of an older schema (or none: written before the key existed) are read; a
        newer major version is refused.
        """
        if not isinstance(d, Mapping) or not isinstance(d.get("equations"), list):
            raise DataError(
                "the result has no list of 'equations'; give the JSON that "
                "`discover find --json` wrote"
            )
        check_schema(d.get("schema_version"))
        for key in ("data", "settings", "transform", "diagnostics", "path"):
            if not isinstance(d.get(key, {}), Mapping):
                raise DataError(f"the result's '{key}' must be a JSON object")
        in_data = d.get("equations_in_data_units") or None
        if in_data is not None and not isinstance(in_data, list):
            raise DataError("the result's 'equations_in_data_units' must be a list of equations")
        cplx = d.get("complex_equations") or []
        if not isinstance(cplx, list):
            raise DataError("the result's 'complex_equations' must be a list of equations")
        return cls(
            equations=[Equation.from_dict(e) for e in d["equations"]],
            settings=dict(d.get("settings", {})),
            data=DataInfo.from_dict(d.get("data", {})),
            diagnostics=dict(d.get("diagnostics", {})),
            transform=Transform.from_dict(d["transform"]) if d.get("transform") else None,
            paths=dict(d.get("path", {})),
            version=str(d.get("version", "")),
            _in_data_units=None if in_data is None else [Equation.from_dict(e) for e in in_data],
            complex_equations=[ComplexEquation.from_dict(e) for e in cplx],
        )


def check_schema(version: Any) -> None:
    """Refuse a result JSON of a newer major schema version than this reader's."""
    if version is None:
        return  # written before the schema had a version: 1.0
    major, _, _ = str(version).partition(".")
    mine = SCHEMA_VERSION.partition(".")[0]
    if not major.isdigit():
        raise DataError(f"the result's schema_version '{version}' is not MAJOR.MINOR")
    if int(major) > int(mine):
        raise DataError(
            f"the result was written with schema version {version}, newer than this "
            f"discover's {SCHEMA_VERSION}; upgrade discover to read it"
        )


def _list_of_str(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"the result's '{key}' must be a list of names")
    return list(value)


def units_latex(eq: Equation) -> str:
    """``\\qquad [T] = \\mathrm{K},\\ [t] = \\mathrm{h},\\ [x] = [y] = \\mathrm{km}``, or "" when
    a field's or coordinate's unit is unknown."""
    syms = [*eq.fields, *eq.coords]
    if any(not eq.units.get(s) for s in syms) or all(eq.units[s] == "1" for s in syms):
        return ""  # unknown, or dimensionless data
    by_unit: dict[str, list[str]] = {}
    for s in syms:
        by_unit.setdefault(eq.units[s], []).append(s)

    def tex_unit(u: str) -> str:
        return r"\mathrm{" + u.replace("_", r"\_").replace(" ", r"\ ") + "}"

    def tex_sym(s: str) -> str:
        return s if len(s) == 1 else r"\mathrm{" + s.replace("_", r"\_") + "}"

    parts = [
        " = ".join(f"[{tex_sym(s)}]" for s in group) + f" = {tex_unit(u)}"
        for u, group in by_unit.items()
    ]
    return r" \qquad " + r",\ ".join(parts)
