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

    Both parts are normalised (:func:`normalise_text`) and a leading ``上海市`` is dropped
    from the address, so ``上海市徐汇区零陵北路2号`` and ``徐汇区 零陵北路 2 号`` agree.
    """
    address_key = normalise_text(address)
    for prefix in _PREFIXES:
        if address_key.startswith(prefix):
            address_key = address_key[len(prefix):]
            break
    return f"{normalise_text(name)}|{address_key}"
