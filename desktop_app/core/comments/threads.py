"""The site's comment threads, kept in the store for reading offline, with the
reader's own comments from the outbox shown in place."""

from __future__ import annotations

import html as html_module
import re
import sqlite3
from dataclasses import dataclass

import nh3

from desktop_app.core.comments.outbox import OutboxComment, list_comments
from desktop_app.core.comments.remote import MARKER, RemoteComment
from desktop_app.core.store.db import transaction, utc_now

# What a comment may keep of its HTML: text structure and links, nothing that loads.
_TAGS = {"p", "br", "a", "em", "strong", "b", "i", "blockquote", "code", "pre", "ul", "ol",
         "li", "q", "cite", "del", "s", "strike", "abbr"}
_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
_MARKER_RE = re.compile(r"<!--\s*casebook:[0-9a-f-]{36}\s*-->")


@dataclass(frozen=True)
class ThreadEntry:
    """One comment under a document: the site's, or the reader's own from the outbox."""

    author: str
    date: str  # ISO, UTC
    html: str  # sanitised
    text: str
    link: str
    state: str  # 'on-site', or the outbox state of the reader's own comment
    uuid: str = ""  # the outbox uuid of the reader's own comment
    reason: str = ""


def sanitise(comment_html: str) -> str:
    without_marker = _MARKER_RE.sub("", comment_html)
    return nh3.clean(without_marker, tags=_TAGS, attributes=_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def plain_text(clean_html: str) -> str:
    text = re.sub(r"</p>|<br\s*/?>", "\n", clean_html)
    return html_module.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def known_ids(conn: sqlite3.Connection, site_url: str, post: str) -> set[int] | None:
    """The ids stored for the thread, or None if it was never fetched."""
    if conn.execute("SELECT 1 FROM site_threads WHERE site_url = ? AND post = ?",
                    (site_url, post)).fetchone() is None:
        return None
    return {r[0] for r in conn.execute(
        "SELECT remote_id FROM site_comments WHERE site_url = ? AND post = ?", (site_url, post))}


def store_thread(conn: sqlite3.Connection, site_url: str, post: str,
                 comments: list[RemoteComment], total: int, complete: bool) -> int:
    """Keep what was fetched; when ``complete``, drop what the site no longer has.
    Returns how many comments were new."""
    now = utc_now()
    before = known_ids(conn, site_url, post) or set()
    with transaction(conn):
        for c in comments:
            clean = sanitise(c.html)
            conn.execute(
                "INSERT INTO site_comments (site_url, post, remote_id, parent, author_name, "
                "date_gmt, html, text, link, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (site_url, remote_id) DO UPDATE SET post = excluded.post, "
                "parent = excluded.parent, author_name = excluded.author_name, "
                "date_gmt = excluded.date_gmt, html = excluded.html, text = excluded.text, "
                "link = excluded.link, fetched_at = excluded.fetched_at",
                (site_url, post, c.remote_id, c.parent, c.author_name, c.date_gmt, clean,
                 plain_text(clean), c.link, now))
        if complete:
            seen = [c.remote_id for c in comments]
            conn.execute(
                "DELETE FROM site_comments WHERE site_url = ? AND post = ? AND remote_id NOT IN "
                "(SELECT value FROM json_each(?))", (site_url, post, _json_list(seen)))
        conn.execute(
            "INSERT INTO site_threads (site_url, post, total, fetched_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (site_url, post) DO UPDATE SET total = excluded.total, "
            "fetched_at = excluded.fetched_at", (site_url, post, total, now))
    return len({c.remote_id for c in comments} - before)


def _json_list(ids: list[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def thread_for_document(conn: sqlite3.Connection, pack_id: str, doc_id: str
                        ) -> tuple[list[ThreadEntry], str | None]:
    """The document's thread, oldest first, with the reader's own comments in place
    (a sent one once, as the site has it); and when it was last fetched (None: never)."""
    row = conn.execute(
        "SELECT d.post, json_extract(p.manifest, '$.site.url') AS site FROM documents d "
        "JOIN packs p ON p.pack_id = d.pack_id AND p.version = d.pack_version "
        "WHERE p.active = 1 AND d.pack_id = ? AND d.doc_id = ?", (pack_id, doc_id)).fetchone()
    own = [c for c in list_comments(conn, pack_id=pack_id, doc_id=doc_id)
           if c.state != "withdrawn"]
    entries: list[ThreadEntry] = []
    fetched = None
    on_site: set[int] = set()
    if row is not None and row["site"] and row["post"]:
        site_url = row["site"].rstrip("/")
        fetched_row = conn.execute("SELECT fetched_at FROM site_threads WHERE site_url = ? "
                                   "AND post = ?", (site_url, row["post"])).fetchone()
        fetched = fetched_row[0] if fetched_row else None
        for r in conn.execute("SELECT * FROM site_comments WHERE site_url = ? AND post = ? "
                              "ORDER BY date_gmt, remote_id", (site_url, row["post"])):
            mine = next((c for c in own if c.remote_id == r["remote_id"]), None)
            on_site.add(r["remote_id"])
            entries.append(ThreadEntry(
                r["author_name"], _iso(r["date_gmt"]), r["html"], r["text"], r["link"],
                "on-site", mine.uuid if mine else ""))
    entries += [_own_entry(c) for c in own if c.remote_id not in on_site]
    entries.sort(key=lambda e: e.date)
    return entries, fetched


def _own_entry(comment: OutboxComment) -> ThreadEntry:
    escaped = html_module.escape(comment.body).replace("\n", "<br>")
    return ThreadEntry("You", comment.created_at, f"<p>{escaped}</p>", comment.body,
                       comment.remote_link or "", comment.state, comment.uuid, comment.reason)


def _iso(date_gmt: str) -> str:
    return date_gmt if date_gmt.endswith("Z") or not date_gmt else date_gmt + "Z"


__all__ = ["MARKER", "ThreadEntry", "known_ids", "sanitise", "store_thread",
           "thread_for_document"]
