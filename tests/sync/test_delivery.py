"""Comments delivered to a real WordPress on 127.0.0.1, once each, whatever it answers."""

from __future__ import annotations

import html
import sqlite3
import time

import pytest

from desktop_app.core.comments import credentials, outbox, sync, threads
from desktop_app.core.comments.sites import check_sign_in
from desktop_app.core.comments.wordpress import SignInNeeded, SiteAnswerError
from tests.packfactory import PackFactory
from tests.sync.library import PACK, install_for, markers, sessions, sign_in, use_file_keyring


@pytest.fixture
def library(store: sqlite3.Connection, packs: PackFactory, site, tmp_path, monkeypatch):
    use_file_keyring(monkeypatch, tmp_path)
    install_for(store, packs, site.url, site.open_posts[0], site.open_posts[1])
    sign_in(store, site.url, site.author_user, site.author_password)
    return store


def deliver(store: sqlite3.Connection, wait_limit: float = 0.0, timeout: float = 10.0):
    with sessions(store, timeout) as sites:
        return sync.deliver(store, sites.signed_in, wait_limit=wait_limit)


def test_queued_comments_arrive_once_each_with_their_id(library, site) -> None:
    written = [outbox.add_comment(library, PACK, doc, text) for doc, text in [
        ("guide", "We tried this in Leeds & it worked <really>."),
        ("case-one", "Our residents asked for captions."),
        ("guide", "A second thought on the guide.")]]
    report = deliver(library)
    assert report.sent + report.held == 3 and report.waiting == 0

    on_site = site.comments()
    assert sorted(markers(on_site)) == sorted(c.uuid for c in written)
    for comment in written:
        after = outbox.get_comment(library, comment.uuid)
        row = next(c for c in on_site if c["id"] == after.remote_id)
        assert after.state in ("sent", "held")
        assert row["post"] == int(comment.post) and row["author"] == site.author_user
        # The reader's text arrives as typed, not as HTML.
        assert html.escape(comment.body, quote=False) in row["content"]
        assert after.remote_link.startswith(site.url)

    assert deliver(library).sent == 0  # a second sync sends nothing again
    assert len(site.comments()) == 3


def test_a_held_comment_becomes_sent_once_a_moderator_approves_it(library, site) -> None:
    comment = outbox.add_comment(library, PACK, "guide", "Please approve me.")
    deliver(library)
    held = outbox.get_comment(library, comment.uuid)
    assert held.state == "held"  # stock WordPress holds a first comment
    site.approve(held.remote_id)
    with sessions(library) as sites:
        assert sync.refresh_held(library, sites.signed_in) == 1
    assert outbox.get_comment(library, comment.uuid).state == "sent"


def test_sign_in_is_checked_and_a_wrong_password_loses_nothing(library, site) -> None:
    assert check_sign_in(site.url, site.author_user, site.author_password) != ""
    with pytest.raises(SiteAnswerError) as refused:
        check_sign_in(site.url, site.author_user, "abcd efgh ijkl mnop qrst uvwx")
    assert isinstance(refused.value.outcome, SignInNeeded)

    comment = outbox.add_comment(library, PACK, "guide", "Kept through a bad password.")
    sign_in(library, site.url, site.author_user, "abcd efgh ijkl mnop qrst uvwx")
    report = deliver(library)
    after = outbox.get_comment(library, comment.uuid)
    assert report.sign_in_needed == {site.url}
    assert (after.state, after.attempts, after.body) == ("queued", 0, comment.body)
    assert "Sign in again" in after.reason
    assert site.comments() == []

    sign_in(library, site.url, site.author_user, site.author_password)
    assert deliver(library).waiting == 0
    assert markers(site.comments()) == [comment.uuid]


def test_closed_comments_and_a_deleted_post_keep_the_text_and_say_why(
        library, site, packs: PackFactory) -> None:
    gone = site.create_post("Soon deleted")
    install_for(library, packs, site.url, site.closed_post, gone, version="1.1.0")
    closed = outbox.add_comment(library, PACK, "guide", "On a closed thread.")
    orphan = outbox.add_comment(library, PACK, "case-one", "On a deleted post.")
    site.delete_post(gone)
    report = deliver(library)
    assert report.rejected == 2
    after_closed = outbox.get_comment(library, closed.uuid)
    after_orphan = outbox.get_comment(library, orphan.uuid)
    assert (after_closed.state, after_closed.body) == ("rejected", "On a closed thread.")
    assert "closed" in after_closed.reason
    assert after_orphan.state == "rejected" and "no longer exists" in after_orphan.reason
    assert site.comments() == []


def test_a_crash_after_sending_is_resolved_by_asking_the_site_not_by_sending_again(
        library, site) -> None:
    comment = outbox.add_comment(library, PACK, "guide", "Sent just before the crash.")
    # The run that died: 'sending' committed, the POST landed, the answer never recorded.
    outbox.mark_sending(library, comment.uuid)
    with sessions(library) as sites:
        landed = sites.signed_in(site.url).post_comment(comment.post, comment.body,
                                                         comment.uuid)
    report = deliver(library)
    after = outbox.get_comment(library, comment.uuid)
    assert after.remote_id == landed.remote_id and after.state in ("held", "sent")
    assert report.sent + report.held == 1
    assert markers(site.comments()) == [comment.uuid]
    posts = [line for line in site.request_log() if "POST /wp-json/wp/v2/comments" in line]
    assert len(posts) == 1  # the one before the crash; the sync only asked


def test_a_duplicate_the_reader_cannot_see_is_taken_as_arrived(library, site) -> None:
    # A Subscriber may not list held comments, so the lookup cannot find it; WordPress's
    # 409 for the identical text (uuid included) is the proof it is there.
    subscriber = site.create_user("reader", role="subscriber")
    sign_in(library, site.url, subscriber.login, subscriber.password)
    comment = outbox.add_comment(library, PACK, "guide", "Posted, then forgotten.")
    with sessions(library) as sites:
        sites.signed_in(site.url).post_comment(comment.post, comment.body, comment.uuid)
    deliver(library)  # the outbox does not know it arrived: it sends, gets 409
    after = outbox.get_comment(library, comment.uuid)
    assert after.state == "held" and "awaiting moderation" in after.reason
    assert markers(site.comments()) == [comment.uuid]
    deliver(library)
    assert markers(site.comments()) == [comment.uuid]


def test_with_flood_protection_on_a_queue_of_five_is_paced_and_all_arrive(
        library, site) -> None:
    site.set_flood_protection(True)
    written = [outbox.add_comment(library, PACK, "guide", f"Paced comment {n}.")
               for n in range(5)]
    started = time.monotonic()
    report = deliver(library, wait_limit=120)
    elapsed = time.monotonic() - started
    assert report.sent + report.held == 5 and report.waiting == 0
    assert sorted(markers(site.comments())) == sorted(c.uuid for c in written)
    assert elapsed >= 4 * 15  # WordPress allows one every 15 s: paced, not hammered
    floods = [line for line in site.request_log() if line.startswith("[400]")]
    assert len(floods) <= 1  # one refusal teaches the pace


def test_others_comments_are_brought_down_for_reading_offline(library, site) -> None:
    guide_post = site.open_posts[0]
    for n in range(3):
        site.add_comment_as(site.editor_user, guide_post, f"Editor view {n}")
    hidden = site.add_comment_as(site.editor_user, guide_post, "<script>x()</script>Late",
                                 status="hold")
    mine = outbox.add_comment(library, PACK, "guide", "Mine, not sent yet.")
    with sessions(library) as sites:
        new, problems = sync.fetch_threads(library, sites.signed_in, sites.anonymous)
    assert (new, problems) == (3, [])
    entries, fetched = threads.thread_for_document(library, PACK, "guide")
    assert fetched is not None
    assert [e.text for e in entries if e.state == "on-site"] == [
        f"Editor view {n}" for n in range(3)]
    assert [(e.uuid, e.state) for e in entries if e.author == "You"] == [(mine.uuid, "queued")]

    site.approve(hidden)  # an old comment approved late: no newer date, the total grows
    with sessions(library) as sites:
        new, _ = sync.fetch_threads(library, sites.signed_in, sites.anonymous)
    entries, _ = threads.thread_for_document(library, PACK, "guide")
    late = [e for e in entries if e.text.endswith("Late")]
    assert new == 1 and len(late) == 1 and "<script" not in late[0].html


def test_no_password_in_the_store_or_its_logs(library, site, data_dir) -> None:
    outbox.add_comment(library, PACK, "guide", "Checking for secrets.")
    deliver(library)
    library.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    secret = site.author_password.replace(" ", "").encode()
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    found = credentials.load(library, site.url)
    assert found is not None and secret.decode() not in repr(found)
