"""JSON read the strict way: an object that names a key twice is refused.

Python's ``json`` keeps the last of two equal keys and other parsers keep the first,
so a manifest with two ``"version"`` keys says one thing to a publisher's tool and
another to Casebook. Whatever could be read two ways is read no way at all.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    """An object in the JSON text names the same key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def loads(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes; raise :class:`DuplicateKeyError` for a repeated key.

    Also raises what ``json.loads`` raises: ``ValueError`` (``UnicodeDecodeError``,
    ``JSONDecodeError``, a 4,300-digit integer) and ``RecursionError``.
    """
    return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
