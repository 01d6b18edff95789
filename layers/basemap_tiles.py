"""The shipped offline basemap archive (``data/map/basemap.pmtiles``), read tile by tile.

The archive (a few MB) is read into memory once and its PMTiles directories are unpacked
into a dict from tile id to byte range, so a tile lookup is a dict access and a slice;
nothing is written after opening, so one instance serves every request thread.
Tiles are returned as stored: gzip-compressed Mapbox Vector Tiles.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, deserialize_directory, deserialize_header, zxy_to_tileid

from layers.errors import LayersError

logger = logging.getLogger(__name__)

BASEMAP_ARCHIVE = "map/basemap.pmtiles"
_HEADER_BYTES = 127
_MAX_DIRECTORY_DEPTH = 4


class BasemapUnavailableError(LayersError):
    """The data directory has no offline basemap archive (or an unreadable one)."""

    status_code = 503
    code = "basemap_unavailable"


class TileOutOfRangeError(LayersError):
    """A tile address outside the archive's zooms or outside the tile grid."""

    status_code = 404
    code = "tile_out_of_range"


@dataclass(frozen=True)
class TileArchiveInfo:
    """What a client needs to draw the archive."""

    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    center: tuple[float, float, int]
    tiles: int
    size_bytes: int
    attribution: str


class BasemapTiles:
    """Tiles of one PMTiles archive of gzip MVT tiles, in memory.

    Parameters
    ----------
    path
        The ``.pmtiles`` file.

    Raises
    ------
    BasemapUnavailableError
        When the file is missing, is not a PMTiles v3 archive or does not hold gzip MVT.
    """

    def __init__(self, path: Path) -> None:
        path = Path(path)
        try:
            self._data = path.read_bytes()
        except OSError as err:
            msg = "the offline basemap has not been built (run `servicemap data build`)"
            raise BasemapUnavailableError(msg) from err
        if self._data[:7] != b"PMTiles" or len(self._data) < _HEADER_BYTES:
            msg = "the offline basemap archive is not a PMTiles file; rebuild the data"
            raise BasemapUnavailableError(msg)
        self.header: dict[str, Any] = deserialize_header(self._data[:_HEADER_BYTES])
        compressions = (self.header["tile_compression"], self.header["internal_compression"])
        if any(compression != Compression.GZIP for compression in compressions):
            msg = "the offline basemap archive is not gzip-compressed; rebuild the data"
            raise BasemapUnavailableError(msg)
        self._index: dict[int, tuple[int, int]] = {}
        self._read_directory(self.header["root_offset"], self.header["root_length"], 0)
        self.metadata: dict[str, Any] = json.loads(
            self._metadata_bytes(self.header["metadata_offset"], self.header["metadata_length"])
        )
        logger.debug("basemap archive %s: %d tiles", path.name, len(self._index))

    def _metadata_bytes(self, offset: int, length: int) -> bytes:
        return gzip.decompress(self._data[offset : offset + length])

    def _read_directory(self, offset: int, length: int, depth: int) -> None:
        if depth >= _MAX_DIRECTORY_DEPTH:
            msg = "the offline basemap archive has too deep a directory; rebuild the data"
            raise BasemapUnavailableError(msg)
        # deserialize_directory decompresses (gzip, the only compression the writer uses)
        for entry in deserialize_directory(self._data[offset : offset + length]):
            if entry.run_length == 0:  # a leaf directory
                leaf = self.header["leaf_directory_offset"] + entry.offset
                self._read_directory(leaf, entry.length, depth + 1)
                continue
            start = self.header["tile_data_offset"] + entry.offset
            for step in range(entry.run_length):
                self._index[entry.tile_id + step] = (start, entry.length)

    @property
    def info(self) -> TileArchiveInfo:
        """Zooms, bounds and centre of the archive."""
        h = self.header
        return TileArchiveInfo(
            min_zoom=int(h["min_zoom"]),
            max_zoom=int(h["max_zoom"]),
            bounds=(
                h["min_lon_e7"] / 1e7,
                h["min_lat_e7"] / 1e7,
                h["max_lon_e7"] / 1e7,
                h["max_lat_e7"] / 1e7,
            ),
            center=(h["center_lon_e7"] / 1e7, h["center_lat_e7"] / 1e7, int(h["center_zoom"])),
            tiles=len(self._index),
            size_bytes=len(self._data),
            attribution=str(self.metadata.get("attribution", "")),
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The gzip-compressed MVT tile at ``z/x/y``, or ``None`` where the archive has none.

        Raises
        ------
        TileOutOfRangeError
            For a zoom outside the archive's range or ``x``/``y`` outside the tile grid.
        """
        info_min, info_max = int(self.header["min_zoom"]), int(self.header["max_zoom"])
        if not info_min <= z <= info_max:
            msg = f"zoom {z} is outside the basemap's tile zooms {info_min}–{info_max}"
            raise TileOutOfRangeError(msg)
        last = (1 << z) - 1
        if not (0 <= x <= last and 0 <= y <= last):
            msg = f"tile {z}/{x}/{y} is outside the tile grid (0–{last} at zoom {z})"
            raise TileOutOfRangeError(msg)
        found = self._index.get(zxy_to_tileid(z, x, y))
        if found is None:
            return None
        start, length = found
        return self._data[start : start + length]


def open_basemap_tiles(data_dir: Path) -> BasemapTiles:
    """The offline basemap archive of a data directory."""
    return BasemapTiles(Path(data_dir) / BASEMAP_ARCHIVE)
