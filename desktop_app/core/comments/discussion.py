"""A document's discussion on the community site: its address and how long it is.

The link is ``SITE/?p=POST``: WordPress answers it with a redirect to the post's own
address under any permalink setting, so it needs no request to find. The count is the
site's total at the last sync (``site_threads.total``), None before the first.

A pack may mark its site as an example (``"site": {…, "example": true}``, as the sample
pack does: community.example.org does not exist). Nothing is sent to or fetched from
such a site, and ``doctor`` does not try it, so a reader with only the sample pack is not
told of a failure on every sync.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

# The manifest's site is an example (SQL over packs.manifest; JSON true reads as 1).
EXAMPLE_SITE_SQL = "coalesce(json_extract(p.manifest, '$.site.example'), 0) = 1"


@dataclass(frozen=True)
class Discussion:
    site_url: str
    post: str
    link: str
    count: int | None
    example: bool


def discussion_of(conn: sqlite3.Connection, pack_id: str, doc_id: str) -> Discussion | None:
    """The document's discussion, or None when its pack names no site or post for it."""
    row = conn.execute(
        "SELECT d.post, p.manifest FROM documents d JOIN packs p ON p.pack_id = d.pack_id "
        "AND p.version = d.pack_version WHERE p.active = 1 AND d.pack_id = ? AND d.doc_id = ?",
        (pack_id, doc_id)).fetchone()
    if row is None or not row["post"]:
        return None
    site = json.loads(row["manifest"]).get("site") or {}
    if not isinstance(site.get("url"), str):
        return None
    site_url = site["url"].rstrip("/")
    total = conn.execute("SELECT total FROM site_threads WHERE site_url = ? AND post = ?",
                         (site_url, str(row["post"]))).fetchone()
    return Discussion(site_url, str(row["post"]), f"{site_url}/?p={row['post']}",
                      total[0] if total else None, site.get("example") is True)


def example_sites(conn: sqlite3.Connection) -> set[str]:
    """The sites installed packs mark as examples."""
    rows = conn.execute("SELECT DISTINCT json_extract(p.manifest, '$.site.url') FROM packs p "
                        f"WHERE p.active = 1 AND {EXAMPLE_SITE_SQL}")
    return {str(row[0]).rstrip("/") for row in rows if row[0]}


def count_words(count: int | None) -> str:
    if count is None:
        return "not brought down yet"
    return f"{count} comment{'s' if count != 1 else ''} on the site"
