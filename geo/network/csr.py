"""Compact street network: CSR adjacency arrays plus edge geometry, saved as ``.npy`` files.

A :class:`Network` is a directed graph in compressed-sparse-row form. Node ``i``'s outgoing
edges are ``indptr[i]:indptr[i+1]``; edge ``e`` goes to ``indices[e]`` and costs
``length_m[e]`` metres and ``time_s[e]`` seconds. Rows are sorted by target node and there
are no parallel edges and no self-loops, so ``(source, target)`` identifies an edge.

Geometry is stored once per *street piece* ("geo edge"): a two-way street has two directed
edges (``geo_fwd`` and ``geo_bwd``) sharing one polyline drawn from the tail of ``geo_fwd`` to
its head. ``geo_coords_e7`` holds the intermediate vertices only (end points are the nodes),
as int32 in 1e-7 degrees (OSM's own precision). Node positions use the same encoding.

On disk a network is a folder of ``.npy`` files (memory-mappable with ``mmap=True``), a
``meta.json`` and a ``coverage.geojson``. Nothing here imports networkx: request handling
works on these arrays only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike
from pyproj import Transformer
from scipy import sparse

from geo._once import freeze_arrays, once_property
from geo._prepared import SharedPrepared
from geo.network.errors import NetworkFormatError

logger = logging.getLogger(__name__)

#: Projected CRS used for all metric work (UTM zone 51N covers Shanghai).
METRIC_CRS = "EPSG:32651"
#: Highway classes, most important first; ``edge_class`` stores an index into this tuple.
HIGHWAY_CLASSES: tuple[str, ...] = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified", "residential",
    "living_street", "road", "service", "pedestrian", "footway", "path", "steps", "corridor",
    "cycleway", "track", "bridleway", "other",
)  # fmt: skip
#: ``edge_flags`` bits.
FLAG_TUNNEL = 1
FLAG_BRIDGE = 2
FLAG_ONEWAY = 4
FLAG_MAJOR_ROADS = 8  # edge comes from the citywide major-road supplement

_ARRAYS: dict[str, str] = {
    "indptr": "int64",
    "indices": "int32",
    "length_m": "float32",
    "time_s": "float32",
    "edge_class": "uint8",
    "edge_flags": "uint8",
    "edge_geo": "int32",
    "node_lonlat_e7": "int32",
    "node_osm_id": "int64",
    "geo_fwd": "int32",
    "geo_bwd": "int32",
    "geo_offsets": "int64",
    "geo_coords_e7": "int32",
}
WEIGHTS = ("time", "length")


@dataclass(frozen=True, eq=False)
class Network:
    """A directed street network in CSR form (see the module docstring for the layout).

    Use :func:`load_network` to read one from disk; derived arrays (projected coordinates,
    segment arrays, scipy matrices) are computed lazily on first use, once even when many
    threads ask together, and cached read-only. ``coverage`` is a plain (unprepared)
    geometry: point-in-coverage tests go through :meth:`coverage_contains_xy` and
    :meth:`coverage_contains`, which query a prepared copy under a lock.
    """

    name: str
    profile: str
    indptr: np.ndarray
    indices: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    edge_class: np.ndarray
    edge_flags: np.ndarray
    edge_geo: np.ndarray
    node_lonlat_e7: np.ndarray
    node_osm_id: np.ndarray
    geo_fwd: np.ndarray
    geo_bwd: np.ndarray
    geo_offsets: np.ndarray
    geo_coords_e7: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    coverage: shapely.Geometry | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.indices.shape[0])

    @property
    def n_geo(self) -> int:
        """Number of street pieces (geometries shared by the two directions of a street)."""
        return int(self.geo_fwd.shape[0])

    def nbytes(self) -> int:
        """Bytes held by the stored arrays (not counting lazily derived ones)."""
        return int(sum(getattr(self, k).nbytes for k in _ARRAYS))

    # --------------------------------------------------------------- derived
    @once_property
    def edge_src(self) -> np.ndarray:
        """Tail node of every edge (int32)."""
        counts = np.diff(self.indptr)
        return freeze_arrays(np.repeat(np.arange(self.n_nodes, dtype=np.int32), counts))

    @once_property
    def node_lon(self) -> np.ndarray:
        """Node longitudes in degrees (float64)."""
        return freeze_arrays(self.node_lonlat_e7[:, 0].astype(np.float64) * 1e-7)

    @once_property
    def node_lat(self) -> np.ndarray:
        """Node latitudes in degrees (float64)."""
        return freeze_arrays(self.node_lonlat_e7[:, 1].astype(np.float64) * 1e-7)

    @once_property
    def _to_metric(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)

    @once_property
    def _to_lonlat(self) -> Transformer:
        return Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project WGS84 lon/lat arrays to EPSG:32651 metres."""
        x, y = self._to_metric.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)

    def unproject(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transform EPSG:32651 metres back to WGS84 lon/lat."""
        lon, lat = self._to_lonlat.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon), np.asarray(lat)

    @once_property
    def _coverage_prepared(self) -> SharedPrepared | None:
        return None if self.coverage is None else SharedPrepared(self.coverage)

    def coverage_contains_xy(self, lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
        """Whether WGS84 points lie inside the coverage polygon (True everywhere if none).

        Scalars give a bool, arrays a boolean array (``shapely.contains_xy``).
        """
        prepared = self._coverage_prepared
        if prepared is None:
            shape = np.shape(lon)
            return True if shape == () else np.ones(shape, dtype=bool)
        return prepared.contains_xy(lon, lat)

    def coverage_contains(self, geometries: ArrayLike) -> np.ndarray | bool:
        """Whether the coverage polygon contains each geometry (True if there is none)."""
        prepared = self._coverage_prepared
        if prepared is None:
            shape = np.shape(geometries)
            return True if shape == () else np.ones(shape, dtype=bool)
        return prepared.contains(geometries)

    @once_property
    def polylines(self) -> tuple[np.ndarray, np.ndarray]:
        """Full polylines of all street pieces, end nodes included.

        Returns
        -------
        offsets, lonlat
            ``lonlat[offsets[g]:offsets[g+1]]`` are the (lon, lat) vertices of piece ``g``,
            from the tail of ``geo_fwd[g]`` to its head (float64).
        """
        g = self.n_geo
        inner = np.diff(self.geo_offsets)
        full_counts = inner + 2
        offsets = np.zeros(g + 1, dtype=np.int64)
        np.cumsum(full_counts, out=offsets[1:])
        total = int(offsets[-1])
        out = np.empty((total, 2), dtype=np.int32)
        fwd = self.geo_fwd
        out[offsets[:-1]] = self.node_lonlat_e7[self.edge_src[fwd]]
        out[offsets[1:] - 1] = self.node_lonlat_e7[self.indices[fwd]]
        if self.geo_coords_e7.shape[0]:
            # position of each stored intermediate vertex in the full array
            piece = np.repeat(np.arange(g), inner)
            rank = np.arange(self.geo_coords_e7.shape[0]) - self.geo_offsets[piece]
            out[offsets[piece] + 1 + rank] = self.geo_coords_e7
        return freeze_arrays((offsets, out.astype(np.float64) * 1e-7))

    @once_property
    def segments(self) -> dict[str, np.ndarray]:
        """Straight segments of all street pieces in EPSG:32651 metres.

        Keys: ``geo`` (piece id), ``x0, y0, x1, y1``, ``cum0`` (metres along the piece at the
        segment start), ``seg_len``; plus ``geo_len`` (projected length of each piece,
        indexed by piece id) and ``xy`` / ``offsets`` (projected polylines).
        """
        offsets, lonlat = self.polylines
        x, y = self.project(lonlat[:, 0], lonlat[:, 1])
        n_seg = np.diff(offsets) - 1
        piece = np.repeat(np.arange(self.n_geo), n_seg)
        start = np.delete(np.arange(offsets[-1]), offsets[1:] - 1)
        x0, y0, x1, y1 = x[start], y[start], x[start + 1], y[start + 1]
        seg_len = np.hypot(x1 - x0, y1 - y0)
        cum = np.cumsum(seg_len) - seg_len  # metres before each segment, over all pieces
        first = np.r_[0, np.cumsum(n_seg)[:-1]]  # first segment of each piece
        cum0 = cum - np.repeat(cum[np.minimum(first, max(len(cum) - 1, 0))], n_seg)
        geo_len = np.bincount(piece, weights=seg_len, minlength=self.n_geo)
        return freeze_arrays({
            "geo": piece.astype(np.int32),
            "x0": x0, "y0": y0, "x1": x1, "y1": y1,
            "cum0": cum0, "seg_len": seg_len, "geo_len": geo_len,
            "xy": np.column_stack([x, y]), "offsets": offsets,
        })  # fmt: skip

    @once_property
    def vertex_cum_m(self) -> np.ndarray:
        """Metres along its piece (EPSG:32651) of every vertex of :attr:`polylines`."""
        seg = self.segments
        offsets = seg["offsets"]
        out = np.zeros(int(offsets[-1]))
        start = np.delete(np.arange(offsets[-1]), offsets[1:] - 1)
        out[start + 1] = seg["cum0"] + seg["seg_len"]
        return freeze_arrays(out)

    def graph(self, weight: str = "time") -> sparse.csr_matrix:
        """The adjacency matrix weighted by ``"time"`` (s) or ``"length"`` (m), float64."""
        return self._graphs[_check_weight(weight)]

    def reverse_graph(self, weight: str = "time") -> sparse.csr_matrix:
        """The transposed adjacency matrix (edges reversed), float64 CSR."""
        return self._reverse_graphs[_check_weight(weight)]

    def weights(self, weight: str = "time") -> np.ndarray:
        """Per-edge weight array for ``"time"`` or ``"length"``."""
        return self.time_s if _check_weight(weight) == "time" else self.length_m

    @once_property
    def _graphs(self) -> dict[str, sparse.csr_matrix]:
        shape = (self.n_nodes, self.n_nodes)
        return {
            w: sparse.csr_matrix(
                (self.weights(w).astype(np.float64), self.indices, self.indptr), shape=shape
            )
            for w in WEIGHTS
        }

    @once_property
    def _reverse_graphs(self) -> dict[str, sparse.csr_matrix]:
        return {w: self._graphs[w].T.tocsr() for w in WEIGHTS}

    @once_property
    def _edge_keys(self) -> np.ndarray:
        return freeze_arrays(self.edge_src.astype(np.int64) * self.n_nodes + self.indices)

    def edge_ids(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Edge ids of the directed pairs ``u -> v`` (vectorised); -1 where no such edge."""
        keys = np.asarray(u, np.int64) * self.n_nodes + np.asarray(v, np.int64)
        pos = np.searchsorted(self._edge_keys, keys)
        pos = np.minimum(pos, self.n_edges - 1)
        return np.where(self._edge_keys[pos] == keys, pos, -1)

    def piece_lonlat(self, geo: int, t0: float = 0.0, t1: float = 1.0) -> list[list[float]]:
        """Coordinates of a street piece between two fractions of its length.

        ``t0`` and ``t1`` are fractions (0 = tail of ``geo_fwd``, 1 = its head); with
        ``t0 > t1`` the coordinates run backwards. Fractions are shares of the projected
        length; positions are interpolated linearly inside a straight segment.
        """
        from geo.network.geometry import partial_piece

        pts = partial_piece(self, int(geo), float(t0), float(t1))
        return np.round(np.asarray(pts, dtype=np.float64), 7).tolist()

    def edge_lonlat(self, edge: int) -> list[list[float]]:
        """Coordinates of a directed edge from its tail to its head."""
        geo = int(self.edge_geo[edge])
        offsets, lonlat = self.polylines
        pts = lonlat[offsets[geo] : offsets[geo + 1]]
        if int(self.geo_fwd[geo]) != edge:
            pts = pts[::-1]
        return np.round(pts, 7).tolist()

    def validate(self) -> None:
        """Check array shapes and index ranges; raise :class:`NetworkFormatError` if broken."""
        n, m = self.n_nodes, self.n_edges
        problems = []
        if self.indptr[0] != 0 or self.indptr[-1] != m:
            problems.append(f"indptr runs {self.indptr[0]}..{self.indptr[-1]}, expected 0..{m}")
        for k in ("length_m", "time_s", "edge_class", "edge_flags", "edge_geo"):
            if getattr(self, k).shape[0] != m:
                problems.append(f"{k} has {getattr(self, k).shape[0]} rows, expected {m}")
        if self.node_lonlat_e7.shape != (n, 2):
            problems.append(f"node_lonlat_e7 has shape {self.node_lonlat_e7.shape}")
        if m and (self.indices.min() < 0 or self.indices.max() >= n):
            problems.append("edge targets out of range")
        if self.geo_offsets.shape[0] != self.n_geo + 1:
            problems.append("geo_offsets does not match geo_fwd")
        if problems:
            msg = f"network {self.name!r} is inconsistent: " + "; ".join(problems)
            raise NetworkFormatError(msg)


def _check_weight(weight: str) -> str:
    if weight not in WEIGHTS:
        from geo.network.errors import InvalidQueryError

        msg = f"weight must be one of {', '.join(WEIGHTS)}, got {weight!r}"
        raise InvalidQueryError(msg)
    return weight


def save_network(net: Network, folder: Path) -> Path:
    """Write a network to ``folder`` as uncompressed ``.npy`` files plus JSON metadata.

    Parameters
    ----------
    net
        The network.
    folder
        Target folder (created; existing files of the same names are replaced).

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for key, dtype in _ARRAYS.items():
        np.save(folder / f"{key}.npy", np.ascontiguousarray(getattr(net, key), dtype=dtype))
    meta = dict(net.meta)
    meta.update({"name": net.name, "profile": net.profile, "n_nodes": net.n_nodes,
                 "n_edges": net.n_edges, "n_geo": net.n_geo})  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    if net.coverage is not None:
        feature = {
            "type": "Feature",
            "properties": {"network": net.name, "profile": net.profile},
            "geometry": shapely.geometry.mapping(net.coverage),
        }
        text = json.dumps({"type": "FeatureCollection", "features": [feature]})
        (folder / "coverage.geojson").write_text(text + "\n")
    return folder


def load_network(folder: Path, *, mmap: bool = False) -> Network:
    """Read a network written by :func:`save_network`.

    Parameters
    ----------
    folder
        The network folder.
    mmap
        Memory-map the arrays instead of reading them (read-only views).

    Returns
    -------
    Network

    Raises
    ------
    NetworkFormatError
        If a file is missing or the arrays are inconsistent.
    """
    folder = Path(folder)
    arrays: dict[str, np.ndarray] = {}
    for key in _ARRAYS:
        path = folder / f"{key}.npy"
        if not path.exists():
            msg = f"network folder {folder.name!r} lacks {key}.npy"
            raise NetworkFormatError(msg)
        arrays[key] = np.load(path, mmap_mode="r" if mmap else None)
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    coverage = None
    cov_path = folder / "coverage.geojson"
    if cov_path.exists():
        fc = json.loads(cov_path.read_text())
        coverage = shapely.geometry.shape(fc["features"][0]["geometry"])
    net = Network(
        name=str(meta.get("name", folder.name)),
        profile=str(meta.get("profile", "walk")),
        meta=meta,
        coverage=coverage,
        **freeze_arrays(arrays),
    )
    net.validate()
    logger.info("loaded network %s: %d nodes, %d edges", net.name, net.n_nodes, net.n_edges)
    return net
