"""The outbox: comments the reader wrote, kept in the store from the moment they are
written until the site has them (and after, with the site's id and link).

States::

    queued --> sending --> sent       (on the site, with its id and link)
       ^          |    \\-> held       (on the site, awaiting moderation)
       |          |     \\> rejected   (refused for good; the text is kept)
       \\----------/        (no answer, 5xx, 429, offline: later, with backoff)
    queued/rejected --> withdrawn     (the reader took it back; undo brings it back)

Every change is one transaction in a store opened with synchronous=FULL: a comment
the reader saw queued survives a crash or a flat battery. ``sending`` is written and
committed *before* the request goes out, so a crash mid-send leaves a trace the next
sync resolves by asking the site, never by posting blindly again.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid as uuid_module
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from desktop_app.core.errors import CasebookError
from desktop_app.core.store.db import transaction, utc_now

STATES = ("queued", "sending", "sent", "held", "rejected", "withdrawn")
STATE_WORDS = {"queued": "waiting to send", "sending": "being sent", "sent": "sent",
               "held": "sent, awaiting moderation", "rejected": "refused by the site",
               "withdrawn": "withdrawn"}
EDITABLE = ("queued", "rejected")  # not yet on the site
ON_SITE = ("sent", "held")
MAX_BODY_CHARS = 20_000  # WordPress's own limit is 65,525 bytes

# Retry schedule after a failure that may pass (offline, 5xx, timeouts): exponential,
# capped, with jitter so a fleet of laptops coming back online does not stampede.
BACKOFF_FIRST = 5.0
BACKOFF_CAP = 30 * 60.0
BACKOFF_JITTER = 0.25


class CommentError(CasebookError):
    """A comment cannot be written, changed or found."""


@dataclass(frozen=True)
class OutboxComment:
    uuid: str
    pack_id: str
    doc_id: str
    doc_title: str
    section: str
    site_url: str
    post: str
    body: str
    state: str
    uncertain: bool
    attempts: int
    next_attempt_at: str | None
    reason: str
    remote_id: int | None
    remote_link: str | None
    created_at: str
    updated_at: str
    sent_at: str | None

    @property
    def waiting(self) -> bool:
        """Not on the site yet, and will be tried again by itself."""
        return self.state in ("queued", "sending")

    def as_json(self) -> dict:
        return asdict(self)


def _row(row: sqlite3.Row) -> OutboxComment:
    values = dict(row)
    values["uncertain"] = bool(values["uncertain"])
    return OutboxComment(**values)


def comment_address(conn: sqlite3.Connection, pack_id: str, doc_id: str
                      ) -> tuple[str, str, str]:
    """(site url, post, document title) of an installed document, from its manifest;
    :class:`CommentError` saying why when it has no discussion to comment in."""
    row = conn.execute(
        "SELECT d.title, d.post, p.manifest FROM documents d JOIN packs p "
        "ON p.pack_id = d.pack_id AND p.version = d.pack_version "
        "WHERE p.active = 1 AND d.pack_id = ? AND d.doc_id = ?", (pack_id, doc_id)).fetchone()
    if row is None:
        raise CommentError(f"No installed pack {pack_id!r} has a document {doc_id!r}.")
    site = (json.loads(row["manifest"]).get("site") or {})
    if not site.get("url") or not row["post"]:
        raise CommentError(
            f"{row['title']!r} has no discussion on a community site: its publisher did "
            "not name one in the pack.")
    return site["url"].rstrip("/"), str(row["post"]), row["title"]


def _clean_body(body: str) -> str:
    # Kept exactly as written (line endings and spaces too), as notes are: the outbox
    # is the reader's own copy. What the site does with it is for the site to say.
    if not body.strip():
        raise CommentError("The comment is empty.")
    if "\x00" in body:
        raise CommentError("The comment holds a NUL character, which cannot be sent.")
    if len(body) > MAX_BODY_CHARS:
        raise CommentError(f"The comment is {len(body):,} characters long; the limit is "
                           f"{MAX_BODY_CHARS:,}.")
    return body


def add_comment(conn: sqlite3.Connection, pack_id: str, doc_id: str, body: str,
                section: str = "") -> OutboxComment:
    """Queue a comment on a document (or a section of it); saved before this returns."""
    site_url, post, title = comment_address(conn, pack_id, doc_id)
    body = _clean_body(body)
    now = utc_now()
    new_uuid = str(uuid_module.uuid4())
    with transaction(conn):
        conn.execute(
            "INSERT INTO outbox (uuid, pack_id, doc_id, doc_title, section, site_url, post, "
            "body, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            (new_uuid, pack_id, doc_id, title, section.strip(), site_url, post, body, now, now))
    return get_comment(conn, new_uuid)


def get_comment(conn: sqlite3.Connection, comment_uuid: str) -> OutboxComment:
    row = conn.execute("SELECT * FROM outbox WHERE uuid = ?", (comment_uuid,)).fetchone()
    if row is None:
        # A short prefix is enough on the command line, as with git.
        rows = conn.execute("SELECT * FROM outbox WHERE uuid LIKE ? || '%' LIMIT 2",
                            (comment_uuid,)).fetchall() if len(comment_uuid) >= 4 else []
        if len(rows) != 1:
            raise CommentError(f"No comment {comment_uuid!r} in the outbox.")
        row = rows[0]
    return _row(row)


def list_comments(conn: sqlite3.Connection, *, pack_id: str | None = None,
                  doc_id: str | None = None, states: tuple[str, ...] = ()
                  ) -> list[OutboxComment]:
    """Oldest first."""
    sql, params = "SELECT * FROM outbox WHERE 1 = 1", []
    if pack_id:
        sql += " AND pack_id = ?"
        params.append(pack_id)
    if doc_id:
        sql += " AND doc_id = ?"
        params.append(doc_id)
    if states:
        sql += f" AND state IN ({', '.join('?' * len(states))})"
        params += states
    return [_row(r) for r in conn.execute(sql + " ORDER BY created_at, rowid", params)]


def edit_comment(conn: sqlite3.Connection, comment_uuid: str, body: str) -> OutboxComment:
    """Change the text of a comment the site does not have yet.

    A rejected comment edited goes back in the queue: editing is how a reader fixes
    what the site refused (an empty text, a closed thread reopened later).
    """
    body = _clean_body(body)
    with transaction(conn):
        comment = get_comment(conn, comment_uuid)
        _require_editable(comment, "edited")
        conn.execute("UPDATE outbox SET body = ?, state = 'queued', reason = '', attempts = 0, "
                     "next_attempt_at = NULL, updated_at = ? WHERE uuid = ?",
                     (body, utc_now(), comment.uuid))
    return get_comment(conn, comment.uuid)


def withdraw_comment(conn: sqlite3.Connection, comment_uuid: str) -> OutboxComment:
    with transaction(conn):
        comment = get_comment(conn, comment_uuid)
        _require_editable(comment, "withdrawn")
        conn.execute("UPDATE outbox SET state = 'withdrawn', updated_at = ? WHERE uuid = ?",
                     (utc_now(), comment.uuid))
    return get_comment(conn, comment.uuid)


def restore_comment(conn: sqlite3.Connection, comment_uuid: str) -> OutboxComment:
    """Undo a withdrawal: the comment is queued again."""
    return _requeue(conn, comment_uuid, "withdrawn",
                    "Only a withdrawn comment can be brought back.")


def retry_comment(conn: sqlite3.Connection, comment_uuid: str) -> OutboxComment:
    """Queue a rejected comment again as it is (the thread was reopened, say)."""
    return _requeue(conn, comment_uuid, "rejected", "Only a refused comment can be sent again.")


def _requeue(conn: sqlite3.Connection, comment_uuid: str, from_state: str,
             refusal: str) -> OutboxComment:
    with transaction(conn):
        comment = get_comment(conn, comment_uuid)
        if comment.state != from_state:
            raise CommentError(refusal)
        conn.execute("UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = NULL, "
                     "reason = '', updated_at = ? WHERE uuid = ?", (utc_now(), comment.uuid))
    return get_comment(conn, comment.uuid)


def _require_editable(comment: OutboxComment, verb: str) -> None:
    if comment.state in ON_SITE:
        raise CommentError(f"That comment is already on the site; it cannot be {verb} here.")
    if comment.state == "sending":
        raise CommentError(f"That comment is being sent right now; it cannot be {verb}.")
    if comment.state == "withdrawn":
        raise CommentError("That comment was withdrawn.")


# --- The sync worker's side -----------------------------------------------------------


def due_comments(conn: sqlite3.Connection, now: datetime | None = None) -> list[OutboxComment]:
    """Comments to try now, oldest first: queued and due, and any left ``sending`` by
    a run that died (their fate is asked of the site before anything is sent)."""
    stamp = _stamp(now or datetime.now(UTC))
    return [_row(r) for r in conn.execute(
        "SELECT * FROM outbox WHERE state = 'sending' OR (state = 'queued' AND "
        "(next_attempt_at IS NULL OR next_attempt_at <= ?)) ORDER BY created_at, rowid",
        (stamp,))]


def next_due_at(conn: sqlite3.Connection) -> datetime | None:
    """When the earliest waiting comment is due (None: nothing waits)."""
    row = conn.execute("SELECT min(coalesce(next_attempt_at, '')) FROM outbox "
                       "WHERE state IN ('queued', 'sending')").fetchone()
    if row[0] is None:
        return None
    return parse_stamp(row[0]) if row[0] else datetime.now(UTC)


def mark_sending(conn: sqlite3.Connection, comment_uuid: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
                     "updated_at = ? WHERE uuid = ? AND state IN ('queued', 'sending')",
                     (utc_now(), comment_uuid))


def mark_on_site(conn: sqlite3.Connection, comment_uuid: str, remote_id: int | None,
                 link: str, held: bool, note: str = "") -> None:
    """The site has it (``remote_id`` None when the site would not say which it is)."""
    now = utc_now()
    with transaction(conn):
        conn.execute("UPDATE outbox SET state = ?, remote_id = coalesce(?, remote_id), "
                     "remote_link = coalesce(nullif(?, ''), remote_link), reason = ?, "
                     "uncertain = 0, next_attempt_at = NULL, sent_at = coalesce(sent_at, ?), "
                     "updated_at = ? WHERE uuid = ?",
                     ("held" if held else "sent", remote_id, link, note, now, now,
                      comment_uuid))


def mark_rejected(conn: sqlite3.Connection, comment_uuid: str, reason: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE outbox SET state = 'rejected', reason = ?, uncertain = 0, "
                     "next_attempt_at = NULL, updated_at = ? WHERE uuid = ?",
                     (reason, utc_now(), comment_uuid))


def mark_later(conn: sqlite3.Connection, comment_uuid: str, reason: str, *,
               uncertain: bool | None = None, at: datetime | None = None,
               rng: random.Random | None = None) -> datetime:
    """Back to the queue, due at ``at`` or after the backoff for its attempts so far.

    ``uncertain`` True: the last send got no answer, so ask the site before sending
    again. None keeps what was known.
    """
    comment = get_comment(conn, comment_uuid)
    when = at or datetime.now(UTC) + timedelta(seconds=backoff(comment.attempts, rng))
    with transaction(conn):
        conn.execute(
            "UPDATE outbox SET state = 'queued', reason = ?, next_attempt_at = ?, "
            "uncertain = coalesce(?, uncertain), updated_at = ? WHERE uuid = ?",
            (reason, _stamp(when), None if uncertain is None else int(uncertain), utc_now(),
             comment_uuid))
    return when


def defer_site(conn: sqlite3.Connection, site_url: str, until: datetime, reason: str) -> None:
    """Every waiting comment of a site found unreachable waits until ``until`` too
    (not counted as attempts): one comment's backoff sets the pace for its site."""
    with transaction(conn):
        conn.execute("UPDATE outbox SET next_attempt_at = ?, reason = ?, updated_at = ? "
                     "WHERE site_url = ? AND state = 'queued' AND "
                     "(next_attempt_at IS NULL OR next_attempt_at < ?)",
                     (_stamp(until), reason, utc_now(), site_url, _stamp(until)))


def release(conn: sqlite3.Connection, comment_uuid: str, reason: str) -> None:
    """Back to the queue as it was, not counted as an attempt (sync was paused:
    signed out, or stopped by the reader)."""
    with transaction(conn):
        conn.execute("UPDATE outbox SET state = 'queued', reason = ?, "
                     "attempts = max(attempts - 1, 0), updated_at = ? WHERE uuid = ? "
                     "AND state = 'sending'", (reason, utc_now(), comment_uuid))


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(attempts - 1, 0))
    spread = (rng or random).uniform(-BACKOFF_JITTER, BACKOFF_JITTER)
    return base * (1 + spread)


def _stamp(moment: datetime) -> str:
    # Sortable as text, with milliseconds: comments are often due seconds apart.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def as_markdown(comments: list[OutboxComment]) -> str:
    """The comments as Markdown, to keep or paste elsewhere (a refused comment's text)."""
    parts = ["# My comments\n"]
    for c in comments:
        parts.append(f"## {c.doc_title}" + (f" — {c.section}" if c.section else ""))
        parts.append(f"*{STATE_WORDS[c.state]}, written {c.created_at}*"
                     + (f" — {c.reason}" if c.reason else ""))
        parts.append(c.body + "\n")
    return "\n\n".join(parts)


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many comments are in each state."""
    found = dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    return {state: found.get(state, 0) for state in STATES}
