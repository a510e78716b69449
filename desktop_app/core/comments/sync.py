"""Delivery of the outbox to the community sites, exactly once, and the fetching of
their threads.

One comment at a time per run, oldest first: WordPress's duplicate check is a SELECT
then an INSERT, so two copies sent together can both land. Before a comment whose
last attempt got no answer (or that a crash left ``sending``) is sent again, the
site is asked whether it has it (its uuid is in the content). The run never sleeps
longer than the caller allows, and a ``stop`` event ends any wait at once.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from desktop_app.core.comments import outbox, threads
from desktop_app.core.comments.discussion import EXAMPLE_SITE_SQL, example_sites
from desktop_app.core.comments.lease import Lease
from desktop_app.core.comments.outbox import OutboxComment
from desktop_app.core.comments.wordpress import (
    FLOOD_SECONDS,
    Duplicate,
    Later,
    NoAnswer,
    OnSite,
    Outcome,
    Refused,
    SignInNeeded,
    SiteAnswerError,
    WordPressSite,
)

log = logging.getLogger(__name__)

SiteOpener = Callable[[str], WordPressSite | None]
"""Gives the site for a URL, signed in; None when the reader has not signed in."""


@dataclass
class SyncReport:
    sent: int = 0
    held: int = 0
    rejected: int = 0
    fetched: int = 0  # others' comments new in the store
    offline: set[str] = field(default_factory=set)  # sites that could not be reached
    sign_in_needed: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    waiting: int = 0  # still in the queue at the end
    next_due: datetime | None = None
    busy: bool = False  # another process was delivering: nothing was sent by this run

    def summary(self) -> str:
        parts = []
        if self.sent or self.held:
            held = f" ({self.held} awaiting moderation)" if self.held else ""
            parts.append(f"{self.sent + self.held} sent{held}")
        if self.rejected:
            parts.append(f"{self.rejected} refused by the site (kept in the outbox)")
        if self.fetched:
            parts.append(f"{self.fetched} new from others")
        if self.waiting:
            why = (" — offline" if self.offline else " — sign-in needed"
                   if self.sign_in_needed else "")
            parts.append(f"{self.waiting} waiting{why}")
        if not parts:
            parts.append("nothing to send")
        return "; ".join(parts) + "."


@dataclass
class _SiteState:
    not_before: float = 0.0  # time.monotonic()
    paced: bool = False  # comment_flood seen: one comment per FLOOD_SECONDS
    unreachable: bool = False
    paused: str = ""  # sign-in needed: nothing more this run


class Delivery:
    """One sync run's delivery of the outbox."""

    def __init__(self, conn: sqlite3.Connection, open_site: SiteOpener, *,
                 stop: threading.Event | None = None, wait_limit: float = 0.0,
                 on_change: Callable[[OutboxComment], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.conn = conn
        self.open_site = open_site
        self.stop = stop or threading.Event()
        self.wait_limit = wait_limit
        self.on_change = on_change or (lambda comment: None)
        self.rng = rng or random.Random()
        self.sites: dict[str, _SiteState] = {}
        self._opened: dict[str, WordPressSite | None] = {}
        self.report = SyncReport()
        for url in example_sites(conn):  # it does not exist: its comments stay queued
            self.sites[url] = _SiteState(paused="an example site")

    def run(self) -> SyncReport:
        lease = Lease(self.conn)
        try:
            if lease.take():
                self._send_until(time.monotonic() + self.wait_limit, lease)
            else:
                self.report.busy = True
                self.report.problems.append(
                    "Another Casebook window or command is sending comments; this one "
                    "left them to it.")
        finally:
            lease.release()
        waiting = outbox.list_comments(self.conn, states=("queued", "sending"))
        self.report.waiting = len(waiting)
        self.report.next_due = self._next_due(waiting)
        return self.report

    def _send_until(self, deadline: float, lease: Lease) -> None:
        while not self.stop.is_set():
            comment, wait = self._next()
            if comment is None:
                if wait is None or time.monotonic() + wait > deadline:
                    return
                self.stop.wait(wait)
                continue
            if not lease.take():  # renewed before each comment; lost only if it expired
                return
            self._deliver(comment)

    def _next_due(self, waiting: list[OutboxComment]) -> datetime | None:
        """When another run could achieve something: not for sites waiting for a
        sign-in (only signing in changes that)."""
        now = datetime.now(UTC)
        times = [outbox.parse_stamp(c.next_attempt_at) if c.next_attempt_at else now
                 for c in waiting if not self._state(c.site_url).paused]
        return min(times, default=None)

    def _state(self, site_url: str) -> _SiteState:
        return self.sites.setdefault(site_url, _SiteState())

    def _site(self, site_url: str) -> WordPressSite | None:
        if site_url not in self._opened:
            self._opened[site_url] = self.open_site(site_url)
        return self._opened[site_url]

    def _next(self) -> tuple[OutboxComment | None, float | None]:
        """The comment to try now, or how long until one may be tried (None: none)."""
        now_wall = datetime.now(UTC)
        now = time.monotonic()
        waits = []
        for comment in outbox.list_comments(self.conn, states=("queued", "sending")):
            state = self._state(comment.site_url)
            if state.paused or state.unreachable:
                continue
            due_in = 0.0
            if comment.state == "queued" and comment.next_attempt_at:
                due_in = (outbox.parse_stamp(comment.next_attempt_at) - now_wall).total_seconds()
            due_in = max(due_in, state.not_before - now)
            if due_in <= 0:
                return comment, None
            waits.append(due_in)
        return None, (min(waits) if waits else None)

    def _deliver(self, comment: OutboxComment) -> None:
        state = self._state(comment.site_url)
        site = self._site(comment.site_url)
        if site is None:
            state.paused = "Sign-in needed"
            self.report.sign_in_needed.add(comment.site_url)
            return
        try:
            if comment.state == "sending" or comment.uncertain:
                # The last attempt may have landed: ask before sending again.
                found = site.find_comment(comment.post, comment.uuid)
                if found is not None:
                    self._on_site(comment, found)
                    return
            outbox.mark_sending(self.conn, comment.uuid)
            outcome = site.post_comment(comment.post, self._text(comment), comment.uuid)
            if isinstance(outcome, Duplicate):
                outcome = self._after_duplicate(site, comment, outcome)
        except SiteAnswerError as exc:
            outcome = exc.outcome
        self._apply(comment, outcome)

    @staticmethod
    def _text(comment: OutboxComment) -> str:
        return (f"On “{comment.section}”:\n\n{comment.body}" if comment.section
                else comment.body)

    def _after_duplicate(self, site: WordPressSite, comment: OutboxComment,
                         outcome: Duplicate) -> Outcome:
        found = site.find_comment(comment.post, comment.uuid)
        if found is not None:
            return found
        # The duplicate check matched this comment's own text, uuid included, so the
        # site has it; a user who may not list held comments (a Subscriber) just
        # cannot see it until a moderator approves it. Never send it again.
        return OnSite(remote_id=0, link="", held=True,
                      reason="The site has it but does not show it to you yet "
                             "(awaiting moderation).")

    def _apply(self, comment: OutboxComment, outcome: Outcome) -> None:
        state = self._state(comment.site_url)
        uuid = comment.uuid
        if isinstance(outcome, OnSite):
            self._on_site(comment, outcome)
            return
        if isinstance(outcome, Refused):
            outbox.mark_rejected(self.conn, uuid, outcome.reason)
            self.report.rejected += 1
            self.report.problems.append(f"{comment.doc_title}: {outcome.reason}")
        elif isinstance(outcome, SignInNeeded):
            outbox.release(self.conn, uuid, outcome.reason)
            state.paused = outcome.reason
            self.report.sign_in_needed.add(comment.site_url)
        elif isinstance(outcome, NoAnswer):
            outbox.mark_later(self.conn, uuid, outcome.reason, uncertain=True, rng=self.rng)
        elif isinstance(outcome, Later):
            if outcome.flood:
                state.paced = True
            if outcome.not_before is not None:
                # The site's own pacing: not a failure of this comment.
                state.not_before = time.monotonic() + outcome.not_before
                outbox.release(self.conn, uuid, outcome.reason)
                outbox.mark_later(self.conn, uuid, outcome.reason, at=datetime.now(UTC)
                                  + timedelta(seconds=outcome.not_before))
            else:
                when = outbox.mark_later(self.conn, uuid, outcome.reason, rng=self.rng)
                if outcome.offline:
                    state.unreachable = True
                    self.report.offline.add(comment.site_url)
                    outbox.defer_site(self.conn, comment.site_url, when, outcome.reason)
        self.on_change(outbox.get_comment(self.conn, uuid))

    def _on_site(self, comment: OutboxComment, found: OnSite) -> None:
        outbox.mark_on_site(self.conn, comment.uuid, found.remote_id or None, found.link,
                            found.held, found.reason)
        state = self._state(comment.site_url)
        if state.paced:
            state.not_before = time.monotonic() + FLOOD_SECONDS + 1
        if found.held:
            self.report.held += 1
        else:
            self.report.sent += 1
        self.on_change(outbox.get_comment(self.conn, comment.uuid))


def deliver(conn: sqlite3.Connection, open_site: SiteOpener, **options) -> SyncReport:
    """Send what is due (see :class:`Delivery` for the options)."""
    return Delivery(conn, open_site, **options).run()


def refresh_held(conn: sqlite3.Connection, open_site: SiteOpener) -> int:
    """Ask the site about comments awaiting moderation; returns how many were approved."""
    approved = 0
    for comment in outbox.list_comments(conn, states=("held",)):
        site = open_site(comment.site_url)
        if site is None or not comment.remote_id:
            continue
        try:
            status = site.comment_status(comment.remote_id)
        except SiteAnswerError:
            continue
        if status is not None and not status.held:
            outbox.mark_on_site(conn, comment.uuid, comment.remote_id, status.link, held=False)
            approved += 1
    return approved


def fetch_threads(conn: sqlite3.Connection, open_site: SiteOpener,
                  anonymous_site: Callable[[str], WordPressSite], *,
                  full: bool = False, stop: threading.Event | None = None,
                  skip: set[str] | frozenset[str] = frozenset(),
                  progress: Callable[[int, int], None] | None = None
                  ) -> tuple[int, list[str]]:
    """Bring down the threads of every installed document that has one.

    Returns (new comments, problems). Threads are public: a site the reader has not
    signed in to is read anonymously. Sites in ``skip`` (found offline a moment ago)
    are not tried.
    """
    targets = conn.execute(
        "SELECT DISTINCT json_extract(p.manifest, '$.site.url') AS site, d.post "
        "FROM documents d JOIN packs p ON p.pack_id = d.pack_id AND "
        "p.version = d.pack_version WHERE p.active = 1 AND d.post IS NOT NULL AND "
        "json_extract(p.manifest, '$.site.url') IS NOT NULL AND NOT "
        f"{EXAMPLE_SITE_SQL} ORDER BY 1, 2").fetchall()  # an example site does not exist
    new, problems, unreachable = 0, [], set(skip)
    for done, row in enumerate(targets):
        if stop is not None and stop.is_set():
            break
        site_url = row["site"].rstrip("/")
        if site_url in unreachable:
            continue
        site = open_site(site_url) or anonymous_site(site_url)
        try:
            known = None if full else threads.known_ids(conn, site_url, row["post"])
            comments, total, complete = site.thread(row["post"], known)
        except SiteAnswerError as exc:
            if isinstance(exc.outcome, Later) and exc.outcome.offline:
                unreachable.add(site_url)
            problems.append(f"{site_url}: {exc.outcome.reason}")
            continue
        new += threads.store_thread(conn, site_url, row["post"], comments, total, complete)
        if progress is not None:
            progress(done + 1, len(targets))
    return new, problems
