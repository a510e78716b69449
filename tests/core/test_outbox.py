"""The outbox in a real store: a comment is kept from the moment it is written, can be
changed or taken back until the site has it, and its retries are spaced out."""

from __future__ import annotations

import random
import socket
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop_app.core.comments import outbox, sync
from desktop_app.core.comments.outbox import CommentError
from desktop_app.core.comments.sites import SiteSessions
from desktop_app.core.packs.install import install_pack
from desktop_app.core.store.db import open_store
from tests.packfactory import PackFactory

PACK = "org.example.sample"


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: a site that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_with_site(store: sqlite3.Connection, packs: PackFactory, url: str | None,
                      version: str = "1.0.0") -> None:
    spec = packs.spec(version=version)
    if url is None:
        del spec.fields["site"]
    else:
        spec.fields["site"]["url"] = url
    install_pack(store, packs.write(spec))


@pytest.fixture
def with_site(store: sqlite3.Connection, packs: PackFactory) -> sqlite3.Connection:
    install_with_site(store, packs, f"http://127.0.0.1:{closed_port()}")
    return store


def test_a_comment_is_in_the_store_as_soon_as_it_is_written(with_site, data_dir: Path) -> None:
    comment = outbox.add_comment(with_site, PACK, "case-one", "  We tried this in Leeds.\r\n ",
                                 section="Results")
    # Another connection (another process, after a crash) sees it at once.
    other = open_store(data_dir / "casebook.sqlite3")
    try:
        row = other.execute("SELECT * FROM outbox").fetchone()
    finally:
        other.close()
    assert row["uuid"] == comment.uuid and row["state"] == "queued"
    assert row["body"] == "  We tried this in Leeds.\r\n "  # exactly as written (issue 13)
    assert (row["post"], row["section"], row["doc_title"]) == ("102", "Results", "Case one")


def test_empty_or_huge_comments_and_documents_without_a_site_are_refused(
        store: sqlite3.Connection, packs: PackFactory) -> None:
    install_with_site(store, packs, None)
    with pytest.raises(CommentError, match="no discussion"):
        outbox.add_comment(store, PACK, "guide", "Hello")
    with pytest.raises(CommentError, match="No installed pack"):
        outbox.add_comment(store, "org.example.other", "guide", "Hello")
    install_with_site(store, packs, "https://community.example.org", version="1.1.0")
    with pytest.raises(CommentError, match="empty"):
        outbox.add_comment(store, PACK, "guide", " \n\t ")
    with pytest.raises(CommentError, match="limit"):
        outbox.add_comment(store, PACK, "guide", "x" * (outbox.MAX_BODY_CHARS + 1))
    assert outbox.list_comments(store) == []


def test_edit_withdraw_and_undo_until_the_site_has_it(with_site) -> None:
    comment = outbox.add_comment(with_site, PACK, "guide", "First thoughts")
    assert outbox.edit_comment(with_site, comment.uuid[:8], "Second thoughts").body == \
        "Second thoughts"
    assert outbox.withdraw_comment(with_site, comment.uuid).state == "withdrawn"
    with pytest.raises(CommentError, match="withdrawn"):
        outbox.edit_comment(with_site, comment.uuid, "Third")
    assert outbox.restore_comment(with_site, comment.uuid).state == "queued"

    outbox.mark_on_site(with_site, comment.uuid, 77, "https://site/c/77", held=False)
    for change in (lambda: outbox.edit_comment(with_site, comment.uuid, "Too late"),
                   lambda: outbox.withdraw_comment(with_site, comment.uuid)):
        with pytest.raises(CommentError, match="already on the site"):
            change()
    assert outbox.get_comment(with_site, comment.uuid).body == "Second thoughts"


def test_a_refused_comment_keeps_its_text_and_can_be_fixed_and_sent_again(with_site) -> None:
    comment = outbox.add_comment(with_site, PACK, "guide", "Closed thread comment")
    outbox.mark_rejected(with_site, comment.uuid, "Comments are closed on this discussion.")
    refused = outbox.get_comment(with_site, comment.uuid)
    assert (refused.state, refused.body) == ("rejected", "Closed thread comment")
    assert "closed" in refused.reason
    assert outbox.retry_comment(with_site, comment.uuid).state == "queued"
    outbox.mark_rejected(with_site, comment.uuid, "closed")
    edited = outbox.edit_comment(with_site, comment.uuid, "Rewritten")
    assert (edited.state, edited.reason) == ("queued", "")


def test_retries_back_off_exponentially_with_bounded_jitter() -> None:
    rng = random.Random(1)
    waits = [outbox.backoff(n, rng) for n in range(1, 12)]
    for n, wait in enumerate(waits, start=1):
        base = min(outbox.BACKOFF_CAP, outbox.BACKOFF_FIRST * 2 ** (n - 1))
        assert base * 0.75 <= wait <= base * 1.25
    assert waits[-1] <= outbox.BACKOFF_CAP * 1.25
    assert len({round(w, 6) for w in waits}) == len(waits)  # jittered, not lock-step


def test_a_comment_left_sending_by_a_crash_is_due_at_once(with_site) -> None:
    first = outbox.add_comment(with_site, PACK, "guide", "Left sending")
    later = outbox.add_comment(with_site, PACK, "guide", "Backed off")
    outbox.mark_sending(with_site, first.uuid)
    outbox.mark_sending(with_site, later.uuid)
    outbox.mark_later(with_site, later.uuid, "offline",
                      at=datetime.now(UTC) + timedelta(minutes=5))
    due = outbox.due_comments(with_site)
    assert [c.uuid for c in due] == [first.uuid]
    assert outbox.next_due_at(with_site) <= datetime.now(UTC)
    in_ten = datetime.now(UTC) + timedelta(minutes=10)
    assert {c.uuid for c in outbox.due_comments(with_site, in_ten)} == {first.uuid, later.uuid}


def test_a_site_that_is_down_leaves_the_comment_queued_for_later(with_site) -> None:
    comment = outbox.add_comment(with_site, PACK, "guide", "Written on the train")
    second = outbox.add_comment(with_site, PACK, "case-one", "And another")
    site_url = comment.site_url
    with SiteSessions(with_site, timeout=5) as sites:
        started = time.monotonic()
        report = sync.deliver(with_site, sites.anonymous)  # a real refused connection
        assert time.monotonic() - started < 5
    after = outbox.get_comment(with_site, comment.uuid)
    assert report.offline == {site_url} and report.waiting == 2
    assert "2 waiting — offline" in report.summary()
    assert (after.state, after.attempts, after.uncertain) == ("queued", 1, False)
    assert "Cannot reach" in after.reason
    # One attempt sets the pace for the whole site: the other waits as long, untried.
    untried = outbox.get_comment(with_site, second.uuid)
    assert untried.attempts == 0 and untried.next_attempt_at == after.next_attempt_at
    assert report.next_due == outbox.parse_stamp(after.next_attempt_at) > datetime.now(UTC)


def test_without_a_sign_in_nothing_is_sent_and_the_report_says_so(with_site) -> None:
    comment = outbox.add_comment(with_site, PACK, "guide", "Waiting for a sign-in")
    report = sync.deliver(with_site, lambda url: None)
    assert report.sign_in_needed == {comment.site_url}
    assert outbox.get_comment(with_site, comment.uuid).attempts == 0
    assert "sign-in needed" in report.summary()
    assert report.next_due is None  # nothing to retry by itself until the reader signs in


def test_two_deliveries_at_once_do_not_both_send(with_site, data_dir: Path) -> None:
    """The window's sync and a 'casebook sync' in a terminal share one outbox: while
    one run holds the lease, the other sends nothing."""
    from desktop_app.core.comments.lease import Lease

    comment = outbox.add_comment(with_site, PACK, "guide", "Only one run may send me")
    other = open_store(data_dir / "casebook.sqlite3")
    try:
        held = Lease(other)
        assert held.take()
        report = sync.deliver(with_site, lambda url: None)
        assert report.busy and "Another Casebook" in report.problems[0]
        assert outbox.get_comment(with_site, comment.uuid).attempts == 0
        held.release()
        assert not sync.deliver(with_site, lambda url: None).busy
    finally:
        other.close()


def test_a_lease_left_by_a_killed_sync_does_not_block_the_next(with_site) -> None:
    import socket
    import subprocess
    import sys

    from desktop_app.core.comments import lease
    from desktop_app.core.settings import set_setting

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    set_setting(with_site, lease.KEY, {"owner": f"{socket.gethostname()}:{dead}:x",
                                       "until": time.time() + 100})
    assert not sync.deliver(with_site, lambda url: None).busy  # the dead owner's is taken
    assert with_site.execute("SELECT count(*) FROM settings WHERE key = ?",
                             (lease.KEY,)).fetchone()[0] == 0  # and given back
