"""The one place that calls the ``cpca`` library (Chinese province/city/area recogniser).

``cpca`` (MIT, offline: its administrative-code table ships inside the wheel) is used for one
question the Shanghai rules cannot answer: does an address that names no Shanghai district
name another province or city (``江苏省昆山市…``)? Its answers are guarded because, like every
national recogniser, it reads ``南京西路`` as 南京市 and ``四川北路`` as 四川省: a region only
counts when its full name, with 省/市/自治区, is written at the start of the address.

The library is imported on first use (it pulls in pandas), so loading a gazetteer stays fast.
Nothing else in the project imports ``cpca``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import types
from importlib import resources
from typing import Any

from geo._once import pure_cache

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MODULE: list[Any] = []

SHANGHAI = "上海市"


def _resource_stream(package: str, name: str) -> Any:
    """``pkg_resources.resource_stream`` through :mod:`importlib.resources`."""
    return resources.files(package).joinpath(name).open("rb")


def _import_cpca() -> Any:
    """Import cpca, lending it ``pkg_resources.resource_stream`` if setuptools has none.

    cpca 0.5.5 reads its table with ``pkg_resources``, which current setuptools no longer
    ships. The stand-in module exists only while cpca imports, so no other library ever sees
    a partial ``pkg_resources``.
    """
    if importlib.util.find_spec("pkg_resources") is not None:
        return importlib.import_module("cpca")
    shim = types.ModuleType("pkg_resources")
    shim.resource_stream = _resource_stream  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim
    try:
        return importlib.import_module("cpca")
    finally:
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]


def _cpca() -> Any:
    with _LOCK:
        if not _MODULE:
            _MODULE.append(_import_cpca())  # deferred: it imports pandas
        return _MODULE[0]


@pure_cache(maxsize=4096)
def other_region(text: str) -> str | None:
    """The province or city outside Shanghai that ``text`` starts with, or ``None``.

    Parameters
    ----------
    text
        A cleaned (half-width, no spaces) address.

    Returns
    -------
    str or None
        E.g. ``江苏省`` or ``江苏省苏州市`` for an address in Jiangsu, ``None`` for Shanghai
        addresses, addresses that name no region, and road names that merely look like one.
    """
    if not text:
        return None
    try:
        frame = _cpca().transform([text], pos_sensitive=True)
    except Exception:  # the library is an aid, never a reason to fail a row
        logger.debug("cpca could not read %r", text, exc_info=True)
        return None
    row = frame.iloc[0]
    province = row.get("省")
    if not isinstance(province, str) or province == SHANGHAI:
        return None
    names = [province] + [
        value for value in (row.get("市"), row.get("区")) if isinstance(value, str) and len(value) > 2
    ]
    # Guard: a full name (江苏省, 苏州市, 昆山市) must open the address, so 南京西路 (read as
    # 南京市) and 四川北路 (read as 四川省) are not taken for other regions.
    if not any(text.startswith(name) for name in names):
        return None
    return "".join(name for name in names if name not in {"市辖区", "县"})
