"""Complex variables read as their real pair (:mod:`discover.complexfield` poses the
regression): a complex dtype, or ``NAME_re``/``NAME_im`` (``NAME_real``/``NAME_imag``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = ["PAIR_SUFFIXES", "split_complex"]

#: the suffixes of a real/imaginary pair in a file, tried in this order
PAIR_SUFFIXES = (("_re", "_im"), ("_real", "_imag"))


def _is_complex(da: xr.DataArray) -> bool:
    return np.issubdtype(da.dtype, np.complexfloating)


def split_complex(
    ds: xr.Dataset, names: Sequence[str]
) -> tuple[xr.Dataset, list[str], dict[str, tuple[str, str]]]:
    """The requested variables with every complex one replaced by its real pair.

    A name is complex when its variable has a complex dtype (split into ``NAME_re`` and
    ``NAME_im``), or when it is no variable but a pair ``NAME_re``/``NAME_im`` (or
    ``NAME_real``/``NAME_imag``) is.  A requested ``NAME_re`` (``_im``, ``_real``,
    ``_imag``) of a complex ``NAME`` is its part.

    Returns
    -------
    ds, names, pairs
        The dataset (with the parts added), the real names to load, and complex name ->
        ``(real name, imaginary name)``.

    >>> ds = xr.Dataset({"psi": ("x", np.array([1 + 2j, 3j]))})
    >>> ds2, names, pairs = split_complex(ds, ["psi"])
    >>> names, pairs, ds2["psi_im"].values.tolist()
    (['psi_re', 'psi_im'], {'psi': ('psi_re', 'psi_im')}, [2.0, 3.0])
    """
    out, pairs = [], {}
    for name in names:
        if name in ds.data_vars and _is_complex(ds[name]):
            re, im = f"{name}_re", f"{name}_im"
            attrs = dict(ds[name].attrs)
            ds = ds.assign({re: ds[name].real.assign_attrs(attrs)})
            ds = ds.assign({im: ds[name].imag.assign_attrs(attrs)})
            pairs[name] = (re, im)
            out += [re, im]
            continue
        if name not in ds.data_vars:
            pair = next(
                ((name + a, name + b) for a, b in PAIR_SUFFIXES if {name + a, name + b} <= set(ds)),
                None,
            )
            if pair is not None:
                pairs[name] = pair
                out += list(pair)
                continue
            part = _part_of_complex(ds, name)
            if part is not None:
                base, which = part
                ds = ds.assign({name: getattr(ds[base], which).assign_attrs(ds[base].attrs)})
        out.append(name)
    return ds, out, pairs


def _part_of_complex(ds: xr.Dataset, name: str) -> tuple[str, str] | None:
    """``(complex variable, "real" | "imag")`` when ``name`` asks for one part of it."""
    for a, b in PAIR_SUFFIXES:
        for suffix, which in ((a, "real"), (b, "imag")):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and base in ds.data_vars and _is_complex(ds[base]):
                return base, which
    return None
