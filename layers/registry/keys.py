"""Normalised keys for matching registry rows to records (name + address)."""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[\s\u3000·•.,，。、;；:：'\"“”‘’()（）\[\]【】<>《》\-—_/\\|#]+")
_PREFIXES = ("上海市", "上海")


def normalise_text(text: str | None) -> str:
    """Half-width, lower case, without spaces and punctuation (``None`` → ``""``)."""
    if not text:
        return ""
    value = unicodedata.normalize("NFKC", text).lower()
    return _DROP.sub("", value)


def match_key(name: str | None, address: str | None) -> str:
    """The key two rows share when they name the same facility at the same address.

    The importer's own comparison forms (:func:`layers.registry.importing.matching.name_key`
    and ``address_key``: half-width, no punctuation, ``上海市`` and the district dropped from
    the address, ``110号`` = ``110``), so a stored record and an imported row agree.
    """
    from layers.registry.importing.matching import address_key, name_key

    return f"{name_key(name)}|{address_key(address)}"
