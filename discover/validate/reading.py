"""Reading what :func:`discover.find` found: a :class:`~discover.results.Discovery`, its
JSON as a dict, or the file ``discover find --json`` wrote, always through
:meth:`Discovery.from_dict <discover.results.Discovery.from_dict>` (which checks the
schema version), and the data loaded as the discovery loaded them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples, load
from ..results import Discovery

__all__ = ["load_like", "matching_equations", "read_result"]


def read_result(result: Any) -> Discovery:
    """``result`` as a :class:`Discovery`: itself, or read from a dict or a JSON file."""
    if isinstance(result, (str, Path)):
        result = _read_json(Path(result))
    if not isinstance(result, Discovery):
        result = Discovery.from_dict(result)
    return result


def _read_json(path: Path) -> Any:
    """The JSON of a result file; one-line errors for a missing, binary or non-JSON file."""
    hint = "give the JSON file that `discover find --json` wrote"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no result file '{path}'; {hint}") from None
    except IsADirectoryError:
        raise DataError(f"'{path}' is a folder; {hint}") from None
    except UnicodeDecodeError:
        raise DataError(f"'{path}' is not text (a binary or netCDF file?); {hint}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"'{path}' is not JSON ({str(exc)[:80]}); {hint}") from None


def load_like(
    found: Discovery,
    data: str | Path | xr.Dataset,
    var: str | Sequence[str] | None,
    sel: Mapping[str, Any] | None,
    layout: str,
) -> Samples:
    """The data loaded as the discovery loaded them: its variables, the data's own time
    unit (undoing a declared transform), its selection along extra dims."""
    if var is None:
        if not found.data.var:
            raise DataError("the result does not name its variable; give var= / --var")
        var = found.data.var.split(",")
    time_unit = found.data.time_unit or "days"
    if found.transform is not None and "t" in found.transform.maps:
        time_unit = found.transform.units_before.get("t") or "days"  # found in other units
    if sel is None:
        own = found.settings.get("sel")
        sel = own if isinstance(own, Mapping) else None
    return load(data, var, time_unit=time_unit, sel=sel, layout=layout)


def matching_equations(found: Discovery, samples: Samples) -> list[Equation]:
    """The discovery's equations in the data's own units, one per field of ``samples`` in
    their order; a one-line error when they are about other fields or coordinates."""
    equations = found.equations_in_data_units
    eq_fields = [e.field for e in equations]
    if sorted(eq_fields) != sorted(samples.fields):
        raise DataError(
            f"the result has equations for {', '.join(eq_fields)} but the data gives "
            f"{', '.join(samples.fields)}; name the same fields with --var"
        )
    for e in equations:
        if tuple(e.coords) != samples.coords:
            raise DataError(
                f"the equation of {e.lhs} is in coordinates {tuple(e.coords)} but the data's are "
                f"{samples.coords}; validate on the data the equation was found in"
            )
    by_field = {e.field: e for e in equations}
    return [by_field[f] for f in samples.fields]
