"""Presets: bundles of declared settings for a kind of data (DESIGN.md).

A preset says whether it applies to the data (``applies``, with the reason, which ``find``
records and prints) and what it sets (``settings``: typed :class:`PresetSettings`).  Register
an instance in :data:`PRESETS`; ``find(preset=NAME)`` / ``--preset NAME`` take it, and
``preset="auto"`` takes the first registered preset that applies.

>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> ds = xr.Dataset({"T": (("time", "lat"), np.ones((6, 5)).cumsum(0), {"units": "K"})},
...     coords={"time": ("time", np.arange(6.0), {"units": "hours"}),
...             "lat": ("lat", np.arange(50.0, 55), {"units": "degrees_north"})})
>>> choose_preset(load(ds, "T"), "auto")
('weather', 'auto: coordinates lat in degrees')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .io import Samples
from .registry import Registry

__all__ = ["PRESETS", "Preset", "PresetSettings", "choose_preset"]


@dataclass(frozen=True)
class PresetSettings:
    """What a preset declares; ``find`` merges it with the caller's settings.

    ``units`` and ``extra`` are added to (the caller's win); ``max_order`` and ``degree``
    cap the caller's; ``method`` replaces ``method="auto"`` (with ``method_reason``);
    ``transport`` adds each field times another's gradient after the transform.
    """

    units: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    max_order: int = 3
    degree: int = 2
    transport: bool = False
    method: str | None = None
    method_reason: str = ""


class Preset:
    """The protocol of a preset (subclass it and register an instance)."""

    def applies(self, samples: Samples) -> tuple[bool, str]:
        """Whether ``preset="auto"`` takes this preset for ``samples``, and why (not)."""
        return False, "never automatic"

    def settings(self, samples: Samples) -> PresetSettings:
        raise NotImplementedError


#: presets by name; "auto" and "none" are resolved by :func:`choose_preset`
PRESETS: Registry[Preset] = Registry("preset", parameter="preset", extra=("auto", "none"))


def choose_preset(samples: Samples, preset: str | None) -> tuple[str | None, str]:
    """The preset to apply (None for none) and why."""
    if preset in (None, "none"):
        return None, "none"
    if preset != "auto":
        PRESETS.check(preset)
        return preset, "chosen"
    reasons = []
    for name, p in PRESETS.items():
        ok, why = p.applies(samples)
        if ok:
            return name, f"auto: {why}"
        reasons.append(why)
    return None, "auto: " + "; ".join(reasons or ["no preset registered"])


from . import weather  # noqa: E402, F401  (registers the weather preset)
