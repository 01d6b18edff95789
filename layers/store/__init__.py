"""Registry storage backends behind :class:`FacilityStore`."""

from __future__ import annotations

from layers.store.base import BBox, FacilityPage, FacilityQuery, FacilityStore

__all__ = ["BBox", "FacilityPage", "FacilityQuery", "FacilityStore", "open_store"]


def open_store(url: str) -> FacilityStore:
    """Open the store named by ``url`` and make sure its schema exists.

    Parameters
    ----------
    url
        ``sqlite:///relative/or/absolute/path.db`` (the embedded default),
        ``sqlite:///:memory:``, or ``postgresql://user@host:port/db`` (PostGIS).

    Raises
    ------
    StoreError
        When the URL scheme is not supported or the database cannot be reached.
    """
    from layers.errors import StoreError

    if url.startswith("sqlite:///"):
        from layers.store.sqlite import SQLiteStore

        store: FacilityStore = SQLiteStore(url.removeprefix("sqlite:///"))
    elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from layers.store.postgis import PostGISStore

        store = PostGISStore(url.replace("postgresql+psycopg://", "postgresql://"))
    else:
        raise StoreError(
            f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:///PATH or "
            "postgresql://..."
        )
    store.init_schema()
    return store
