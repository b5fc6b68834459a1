"""The region a network of stations covers: where the neural solver solves between them.

``region=`` names it:

``"hull"`` (default)
    The convex hull of the stations, each widened by an ellipse of ``margin`` (10%) of the
    network's extent along each axis, so that no station sits on a wall.
``"concave"``
    The same padded stations' concave hull (an alpha shape: Delaunay triangles of
    circumradius up to a few station spacings, the smallest such radius whose outline is one
    simple polygon holding every station) — a coastline-like network keeps its bays.
``"mask:VAR"``
    A boolean (0/1) variable ``VAR`` of the data file on two dims that map to the stations'
    coordinates (same names, or latitude/longitude by their units or names): e.g. a
    land–sea mask.  A :class:`~discover.solve.Mask`.
a path
    An outline: GeoJSON (``.geojson``/``.json``; the largest Polygon's outer ring,
    ``[lon, lat]`` or ``[x, y]`` positions as the format says) or CSV (``.csv``; a header
    naming two columns: the data's coordinates, or ``lon``/``lat``), one vertex a row.  A
    :class:`~discover.solve.Polygon`.

Every station must lie inside the region (a one-line error says how many do not).

Boundary treatment (what the walls carry): the walls hold the start state — the stations'
values at the start of the solve, spread over the region — for the whole solve, so that no
value after the start enters the forecast.  Data that give more (values on the walls over
time) are not used at stations.  Where a constant velocity carries the field (advection, or an
advection–diffusion of Péclet number above 1 over the region) only the inflow walls take values
(:class:`InflowWalls`).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> pos = rng.uniform(0, 1, (30, 2))
>>> dom, how = station_region(pos, ("x", "y"))
>>> bool(dom.contains(pos).all()), how.startswith("convex hull of the 30 stations")
(True, True)
>>> station_region(pos, ("x", "y"), region="round")
Traceback (most recent call last):
...
discover.errors.DataError: region 'round' is not a file; give hull, concave, mask:VAR or a GeoJSON/CSV outline
"""  # noqa: E501

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import DataError
from ..io.geodesy import degree_kind
from .problem import Box, Mask, Polygon, _Domain, _Segments

__all__ = ["REGIONS", "InflowWalls", "concave_hull", "read_outline", "station_region"]

#: the named regions (besides ``mask:VAR`` and outline files)
REGIONS = ("hull", "concave")
#: padding points around each station
_PAD = 8


def station_region(
    pos: np.ndarray,
    names: Sequence[str],
    *,
    region: str | Path = "hull",
    margin: float = 0.1,
    data: xr.Dataset | None = None,
    units: Mapping[str, str] | None = None,
) -> tuple[_Domain, str]:
    """The region of stations at ``pos`` ``(n, 2)`` (coordinates ``names``), and a line
    saying what it is; see the module notes for ``region``."""
    pos = np.asarray(pos, float)
    spec = str(region)
    if pos.shape[1] == 1 and spec in REGIONS:  # a line of stations: their interval
        lo, hi = float(pos.min()), float(pos.max())
        pad = margin * (hi - lo if hi > lo else 1.0)
        box = Box(**{names[0]: (lo - pad, hi + pad)})
        return box, f"interval of the {len(pos)} stations, {margin:.0%} margin"
    if pos.shape[1] != 2:
        raise DataError(
            f"a region between stations is an interval or a plane region, not "
            f"{pos.shape[1]}-D; use the classical solver",
            parameter="region",
        )
    if spec in REGIONS:
        padded = _padded(pos, margin)
        verts = _convex(padded) if spec == "hull" else concave_hull(padded, keep=pos)
        dom: _Domain = Polygon(verts, names=tuple(names))
        how = (
            f"{'convex' if spec == 'hull' else 'concave'} hull of the {len(pos)} stations, "
            f"{margin:.0%} margin ({len(verts)} vertices)"
        )
    elif spec.startswith("mask:"):
        dom = _mask(data, spec[5:], names, units or {})
        how = f"mask '{spec[5:]}' of the data ({int(dom.mask.sum())} cells)"
    else:
        path = Path(spec)
        if not path.is_file():
            raise DataError(
                f"region '{spec}' is not a file; give hull, concave, mask:VAR or a GeoJSON/CSV "
                "outline",
                parameter="region",
            )
        verts = read_outline(path, names, units or {})
        dom = Polygon(verts, names=tuple(names))
        how = f"outline {path.name} ({len(verts)} vertices)"
    outside = int((~dom.contains(pos)).sum())
    if outside:
        raise DataError(
            f"{outside} of the {len(pos)} stations lie outside the region ({how}); give a "
            "region that holds every station",
            parameter="region",
        )
    return dom, how


def _padded(pos: np.ndarray, margin: float) -> np.ndarray:
    """Each station and ``_PAD`` points on an ellipse of ``margin`` × the extent around it."""
    span = np.ptp(pos, axis=0)
    span = np.where(span > 0, span, max(float(span.max()), 1.0))
    a = 2 * np.pi * np.arange(_PAD) / _PAD
    ring = np.stack([np.cos(a), np.sin(a)], axis=1) * (margin * span)
    return np.concatenate([pos, (pos[:, None, :] + ring[None]).reshape(-1, 2)])


def _convex(points: np.ndarray) -> np.ndarray:
    """The convex hull's vertices, counter-clockwise."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        return points[ConvexHull(points).vertices]
    except QhullError:
        raise DataError("the stations lie on a line; they span no region") from None


def concave_hull(points: np.ndarray, *, keep: np.ndarray | None = None) -> np.ndarray:
    """The vertices of an alpha shape of ``points``: Delaunay triangles whose circumradius is
    at most ``α``, the smallest ``α`` (from twice the median spacing, growing by half each
    try) whose outline is one simple polygon holding ``keep`` (all ``points`` by default);
    the convex hull when none is.

    >>> t = np.linspace(0, 1, 11)
    >>> ell = np.array([(x, y) for x in t for y in t if x <= 0.3 or y <= 0.3])
    >>> poly = Polygon(concave_hull(ell))
    >>> bool(poly.contains(np.array([[0.8, 0.8]]))[0]), bool(poly.contains(ell).all())
    (False, True)
    """
    from scipy.spatial import Delaunay, QhullError, cKDTree

    keep = points if keep is None else keep
    span = np.where(np.ptp(points, axis=0) > 0, np.ptp(points, axis=0), 1.0)
    z = (points - points.min(axis=0)) / span
    try:
        tri = Delaunay(z)
    except QhullError:
        raise DataError("the stations lie on a line; they span no region") from None
    radius = _circumradius(z[tri.simplices])
    spacing = float(np.median(cKDTree(z).query(z, k=2)[0][:, 1]))
    alpha = 2 * max(spacing, 1e-12)
    while alpha < 2 * radius.max():
        loop = _outline(tri.simplices[radius <= alpha], z)
        if loop is not None:
            verts = points[loop]
            if Polygon(verts).contains(keep).all():
                return verts
        alpha *= 1.5
    return _convex(points)


def _circumradius(tris: np.ndarray) -> np.ndarray:
    """The circumradius of triangles ``(m, 3, 2)`` (inf for degenerate ones)."""
    a = np.linalg.norm(tris[:, 1] - tris[:, 2], axis=1)
    b = np.linalg.norm(tris[:, 0] - tris[:, 2], axis=1)
    c = np.linalg.norm(tris[:, 0] - tris[:, 1], axis=1)
    u, v = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
    with np.errstate(divide="ignore"):
        return np.where(area > 0, a * b * c / (4 * np.where(area > 0, area, 1.0)), np.inf)


def _outline(simplices: np.ndarray, z: np.ndarray) -> list[int] | None:
    """The boundary of a set of triangles as one loop of vertex indices (the loop of largest
    area: holes are filled, and pieces left out are caught by the caller's station check),
    or None when it is pinched (a vertex on more than two boundary edges)."""
    if not len(simplices):
        return None
    edges = np.sort(simplices[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    uniq, count = np.unique(edges, axis=0, return_counts=True)
    border = uniq[count == 1]
    nbrs: dict[int, list[int]] = {}
    for a, b in border:
        nbrs.setdefault(int(a), []).append(int(b))
        nbrs.setdefault(int(b), []).append(int(a))
    if any(len(v) != 2 for v in nbrs.values()):
        return None
    loops, seen = [], set()
    for start in nbrs:
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        while True:
            seen.add(cur)
            nxt = nbrs[cur][0] if nbrs[cur][0] != prev else nbrs[cur][1]
            if nxt == start:
                break
            loop.append(nxt)
            prev, cur = cur, nxt
        loops.append(loop)
    return max(loops, key=lambda lp: abs(_area(z[lp])))


def read_outline(path: Path, names: Sequence[str], units: Mapping[str, str]) -> np.ndarray:
    """The vertices ``(k, 2)`` of an outline file, in the order of ``names``."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        xy = _geojson_ring(path)
        return _in_order(xy, ("x", "y"), names, units, path)
    if suffix == ".csv":
        header, rows = _csv_rows(path)
        return _in_order(rows, header, names, units, path)
    raise DataError(
        f"cannot read the outline '{path.name}': give a .geojson or .csv file", parameter="region"
    )


def _geojson_ring(path: Path) -> np.ndarray:
    """The outer ring of the largest polygon of a GeoJSON file (first point not repeated)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"'{path.name}' is not GeoJSON ({str(exc)[:60]})") from None
    rings = [np.asarray(r, float)[:, :2] for r in _rings(doc) if len(r) >= 4]
    if not rings:
        raise DataError(f"'{path.name}' holds no Polygon or MultiPolygon with 3 or more vertices")
    ring = max(rings, key=lambda r: abs(_area(r)))
    return ring[:-1] if np.allclose(ring[0], ring[-1]) else ring


def _rings(doc: Any) -> list[list]:
    """The outer rings of every Polygon and MultiPolygon in a GeoJSON object."""
    if not isinstance(doc, dict):
        return []
    kind = doc.get("type")
    if kind == "FeatureCollection":
        return [r for f in doc.get("features", []) for r in _rings(f)]
    if kind == "Feature":
        return _rings(doc.get("geometry"))
    if kind == "GeometryCollection":
        return [r for g in doc.get("geometries", []) for r in _rings(g)]
    if kind == "Polygon":
        return list(doc.get("coordinates", [])[:1])
    if kind == "MultiPolygon":
        return [p[0] for p in doc.get("coordinates", []) if p]
    return []


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _csv_rows(path: Path) -> tuple[tuple[str, str], np.ndarray]:
    """The two named columns of an outline CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except UnicodeDecodeError:
        raise DataError(f"'{path.name}' is not a text CSV file") from None
    if len(rows) < 4 or len(rows[0]) < 2:
        raise DataError(
            f"'{path.name}' needs a header naming two columns (e.g. lon,lat) and 3 or more rows"
        )
    header = tuple(c.strip() for c in rows[0][:2])
    try:
        values = np.array([[float(c) for c in r[:2]] for r in rows[1:]])
    except ValueError:
        raise DataError(
            f"'{path.name}' has a row that is not two numbers after its header"
        ) from None
    return header, values


def _kind(name: str, units: Mapping[str, str]) -> str:
    """``lat``/``lon`` of a coordinate by its units or its name; else the name itself."""
    k = degree_kind(name, units.get(name))
    if k:
        return k
    low = name.lower()
    return {"latitude": "lat", "lat": "lat", "longitude": "lon", "lon": "lon"}.get(low, low)


def _in_order(
    xy: np.ndarray, cols: Sequence[str], names: Sequence[str], units, path: Path
) -> np.ndarray:
    """``xy``'s columns (called ``cols``; GeoJSON's are x = lon, y = lat) put in the order of
    the data's coordinates ``names``."""
    want = [_kind(n, units) for n in names]
    have = [_kind(c, {}) for c in cols]
    if tuple(cols) == ("x", "y") and set(want) == {"lat", "lon"}:
        have = ["lon", "lat"]  # GeoJSON positions are [longitude, latitude]
    if set(have) == set(want):
        return np.column_stack([xy[:, have.index(w)] for w in want])
    if tuple(cols) == ("x", "y"):
        return xy  # plane coordinates, in the data's order
    raise DataError(
        f"the columns {list(cols)} of '{path.name}' are not the data's coordinates "
        f"{list(names)} (or lon/lat); name them so"
    )


def _mask(data: xr.Dataset | None, var: str, names: Sequence[str], units) -> Mask:
    """A :class:`Mask` from the data's variable ``var``, its dims mapped to ``names``."""
    if data is None or var not in data.variables:
        have = sorted(map(str, data.data_vars)) if data is not None else []
        raise DataError(
            f"no mask variable '{var}' in the data; variables: {', '.join(have) or 'none'}",
            parameter="region",
        )
    m = data[var]
    if m.ndim != 2:
        raise DataError(f"the mask '{var}' must have two dims, not {m.ndim}", parameter="region")
    want = [_kind(n, units) for n in names]
    dims = [str(d) for d in m.dims]
    kinds = [_kind(d, {d: str(m[d].attrs.get("units", ""))} if d in m.coords else {}) for d in dims]
    if set(kinds) != set(want) or any(d not in m.coords for d in dims):
        raise DataError(
            f"the dims {dims} of mask '{var}' do not map to the stations' coordinates "
            f"{list(names)}; give them coordinate values named or with units like those",
            parameter="region",
        )
    ordered = m.rename({d: names[want.index(k)] for d, k in zip(dims, kinds)})
    return Mask(ordered.transpose(names[1], names[0]).fillna(0) != 0)


class InflowWalls(_Segments):
    """A polygon whose values are imposed only on the walls where a constant velocity
    ``v`` flows in (``v·n < 0``, ``n`` the outward normal): for an equation of first order
    in space (advection), or one whose diffusion is small against the advection over the
    region, the outflow walls take no values, so the held start values do not fight the
    equation there.  Points, bounds and sampling are the polygon's; the distance
    function vanishes on the inflow walls only.

    >>> sq = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> walls = InflowWalls(sq, (1.0, 0.0))  # flowing in +x: the wall x = 0 takes values
    >>> walls.segments.tolist()
    [[[0.0, 1.0], [0.0, 0.0]]]
    """

    def __init__(self, polygon: Polygon, velocity: Sequence[float]) -> None:
        v = np.asarray(velocity, float)
        seg = polygon.segments
        d = seg[:, 1] - seg[:, 0]
        ccw = _area(polygon.vertices) > 0
        normal = np.column_stack([d[:, 1], -d[:, 0]]) * (1 if ccw else -1)
        inflow = normal @ v < 0
        self.polygon = polygon
        self.names = polygon.names
        self.segments = seg[inflow]
        self._set_scale()

    def __repr__(self) -> str:
        return f"InflowWalls({len(self.segments)} of {len(self.polygon.segments)} walls)"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.polygon.bounds()

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.polygon.contains(points)
