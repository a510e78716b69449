"""The test harness itself: a real WordPress and the fault proxy, checked with plain urllib."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.message import Message
from typing import Any

import pytest

from tests.sync.fault_proxy import FaultProxy
from tests.sync.wordpress_site import WordPressSite

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method: str, url: str, *, body: dict[str, Any] | None = None,
         auth: tuple[str, str] | None = None, timeout: float = 30) -> tuple[int, Message, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def post_comment(base: str, user: str, password: str, post: int, text: str,
                 timeout: float = 30) -> tuple[int, Message, Any]:
    return call("POST", f"{base}/wp-json/wp/v2/comments", body={"post": post, "content": text},
                auth=(user, password), timeout=timeout)


def author(site: WordPressSite) -> tuple[str, str]:
    return site.author_user, site.author_password


def test_posts_are_listed(site: WordPressSite) -> None:
    status, headers, posts = call("GET", f"{site.url}/wp-json/wp/v2/posts?per_page=100")
    assert status == 200
    assert int(headers["X-WP-Total"]) == len(site.open_posts) + 1
    by_id = {p["id"]: p["comment_status"] for p in posts}
    assert len(site.open_posts) >= 3
    assert all(by_id[i] == "open" for i in site.open_posts)
    assert by_id[site.closed_post] == "closed"


def test_author_comment_is_held_then_duplicate(site: WordPressSite) -> None:
    post = site.open_posts[0]
    status, headers, created = post_comment(site.url, *author(site), post, "First words")
    assert status == 201, created
    assert created["status"] == "hold"
    assert headers["Location"].endswith(f"/wp/v2/comments/{created['id']}")

    status, _, error = post_comment(site.url, *author(site), post, "First words")
    assert (status, error["code"]) == (409, "comment_duplicate")

    assert site.request_log() == ["[201]: POST /wp-json/wp/v2/comments",
                                  "[409]: POST /wp-json/wp/v2/comments"]

    [stored] = site.comments()
    assert stored["id"] == created["id"]
    assert (stored["post"], stored["status"], stored["author"]) == (post, "hold", "author")
    assert stored["content"] == "First words"
    assert site.comments(status="approved") == []


def test_approval_makes_later_comments_approved(site: WordPressSite) -> None:
    post = site.open_posts[1]
    _, _, first = post_comment(site.url, *author(site), post, "One")
    site.approve(first["id"])  # helpers do not show in the request log
    assert site.request_log() == ["[201]: POST /wp-json/wp/v2/comments"]
    status, _, second = post_comment(site.url, *author(site), post, "Two")
    assert status == 201
    assert second["status"] == "approved"
    assert [c["status"] for c in site.comments(post=post)] == ["approved", "approved"]


def test_comment_previously_approved_can_be_switched_off(site: WordPressSite) -> None:
    site.set_comment_previously_approved(False)
    _, _, created = post_comment(site.url, *author(site), site.open_posts[0], "Straight in")
    assert created["status"] == "approved"


def test_wrong_password_is_401(site: WordPressSite) -> None:
    status, _, error = post_comment(site.url, site.author_user, "wrong" * 4 + "abcd",
                                    site.open_posts[0], "Hello")
    assert (status, error["code"]) == (401, "rest_comment_login_required")
    status, _, error = call("GET", f"{site.url}/wp-json/wp/v2/users/me",
                            auth=(site.author_user, "not-the-password"))
    assert (status, error["code"]) == (401, "rest_not_logged_in")
    status, _, me = call("GET", f"{site.url}/wp-json/wp/v2/users/me", auth=author(site))
    assert (status, me["id"]) == (200, site.accounts["author"].id)
    assert site.comments() == []


def test_closed_post_is_403(site: WordPressSite) -> None:
    status, _, error = post_comment(site.url, *author(site), site.closed_post, "Hello")
    assert (status, error["code"]) == (403, "rest_comment_closed")


def test_flood_protection(site: WordPressSite) -> None:
    site.set_flood_protection(True)
    post = site.open_posts[2]
    assert post_comment(site.url, *author(site), post, "Quick one")[0] == 201
    status, _, error = post_comment(site.url, *author(site), post, "Quick two")
    assert (status, error["code"]) == (400, "comment_flood")
    # Editors have moderate_comments: exempt.
    editor = (site.editor_user, site.editor_password)
    assert post_comment(site.url, *editor, post, "Editor one")[0] == 201
    assert post_comment(site.url, *editor, post, "Editor two")[0] == 201
    site.set_flood_protection(False)
    assert post_comment(site.url, *author(site), post, "Quick three")[0] == 201


def test_site_helpers(site: WordPressSite) -> None:
    post = site.create_post("Made by a test")
    closed = site.create_post("Closed by a test", comments_open=False)
    other = site.add_comment_as("commenter", post, "Someone else's <b>view</b>")
    [stored] = site.comments(post=post)
    assert (stored["id"], stored["status"], stored["author"]) == (other, "approved", "commenter")
    assert post_comment(site.url, *author(site), closed, "x")[0] == 403

    site.delete_post(site.open_posts[0])
    assert call("GET", f"{site.url}/wp-json/wp/v2/posts/{site.open_posts[0]}")[0] == 404
    site.reset()
    assert site.comments() == []
    assert call("GET", f"{site.url}/wp-json/wp/v2/posts/{site.open_posts[0]}")[0] == 200
    assert call("GET", f"{site.url}/wp-json/wp/v2/posts/{post}")[0] == 404
    assert site.get_option("casebook_test_flood_protection") == "1"


def test_proxy_passes_requests_through(site: WordPressSite, fault_proxy: FaultProxy) -> None:
    status, headers, posts = call("GET", f"{fault_proxy.url}/wp-json/wp/v2/posts")
    assert {p["id"] for p in posts} == {*site.open_posts, site.closed_post}
    assert status == 200
    assert int(headers["X-WP-Total"]) == len(site.open_posts) + 1
    assert "rel=\"https://api.w.org/\"" in headers["Link"]
    status, _, created = post_comment(fault_proxy.url, *author(site), site.open_posts[0], "Via")
    assert status == 201  # Authorization reached WordPress
    # Several requests on one kept-alive connection, one with a chunked body.
    conn = http.client.HTTPConnection("127.0.0.1", fault_proxy.port, timeout=30)
    try:
        auth = base64.b64encode(f"{site.author_user}:{site.author_password}".encode()).decode()
        body = json.dumps({"post": site.open_posts[1], "content": "Chunked"}).encode()
        conn.request("POST", "/wp-json/wp/v2/comments", body=iter([body[:10], body[10:]]),
                     headers={"Authorization": f"Basic {auth}",
                              "Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 201, response.read()
        response.read()
        conn.request("GET", f"/wp-json/wp/v2/comments/{created['id']}",
                     headers={"Authorization": f"Basic {auth}"})
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["status"] == "hold"
    finally:
        conn.close()
    assert fault_proxy.stats()["seen"] == fault_proxy.forwarded == 4
    assert {c["content"] for c in site.comments()} == {"Via", "Chunked"}


def test_drop_after_forward_lands_but_client_never_learns(
        site: WordPressSite, fault_proxy: FaultProxy) -> None:
    fault_proxy.next("drop_after_forward", match="POST /wp/v2/comments")
    call("GET", f"{fault_proxy.url}/wp-json/wp/v2/posts")  # GET does not match
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        post_comment(fault_proxy.url, *author(site), site.open_posts[0], "Lost answer")
    assert [c["content"] for c in site.comments()] == ["Lost answer"]
    assert (fault_proxy.seen, fault_proxy.forwarded, fault_proxy.dropped) == (2, 2, 1)
    assert fault_proxy.events[-1].upstream_status == 201
    assert fault_proxy.events[-1].status is None
    status, _, error = post_comment(fault_proxy.url, *author(site), site.open_posts[0],
                                    "Lost answer")
    assert (status, error["code"]) == (409, "comment_duplicate")


def test_drop_before_forward_never_lands(site: WordPressSite, fault_proxy: FaultProxy) -> None:
    fault_proxy.next("reset_before_forward", match="POST")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        post_comment(fault_proxy.url, *author(site), site.open_posts[0], "Never sent")
    assert site.comments() == []
    assert (fault_proxy.seen, fault_proxy.forwarded, fault_proxy.dropped) == (1, 0, 1)


def test_delay_lets_the_client_time_out(site: WordPressSite, fault_proxy: FaultProxy) -> None:
    fault_proxy.next("delay", seconds=2)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        post_comment(fault_proxy.url, *author(site), site.open_posts[0], "Slow", timeout=0.5)
    deadline = time.monotonic() + 10
    while not site.comments() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [c["content"] for c in site.comments()] == ["Slow"]


@pytest.mark.parametrize(("fault", "retry_after"), [
    ("status_429", "7"), ("status_503", "120"), ("status_500", None)])
def test_injected_errors(site: WordPressSite, fault_proxy: FaultProxy, fault: str,
                         retry_after: str | None) -> None:
    fault_proxy.next(fault, retry_after=retry_after)
    status, headers, error = post_comment(fault_proxy.url, *author(site), site.open_posts[0], "x")
    assert status == int(fault[7:])
    assert error["data"]["status"] == status
    assert headers["Retry-After"] == retry_after
    assert fault_proxy.forwarded == 0
    assert site.comments() == []
    assert post_comment(fault_proxy.url, *author(site), site.open_posts[0], "x")[0] == 201


def test_status_429_has_a_default_retry_after(site: WordPressSite,
                                              fault_proxy: FaultProxy) -> None:
    fault_proxy.next("status_429")
    status, headers, error = call("GET", f"{fault_proxy.url}/wp-json/wp/v2/posts")
    assert (status, headers["Retry-After"], error["code"]) == (429, "1", "too_many_requests")


def test_drop_rate_with_retries_delivers_everything(
        site: WordPressSite, fault_proxy: FaultProxy) -> None:
    """A naive client that retries dropped POSTs and treats 409 as delivered."""
    fault_proxy.drop_rate(0.2, seed=7)
    editor = (site.editor_user, site.editor_password)
    texts = [f"Comment {i} <!-- sync:{uuid.uuid4()} -->" for i in range(25)]
    for i, text in enumerate(texts):
        post = site.open_posts[i % len(site.open_posts)]
        for _attempt in range(10):
            try:
                status, _, _ = post_comment(fault_proxy.url, *editor, post, text)
            except (http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError):
                continue
            assert status in (201, 409)
            break
        else:
            pytest.fail(f"{text} never got an answer")
    stored = site.comments()
    assert sorted(c["content"] for c in stored) == sorted(texts)
    assert fault_proxy.dropped > 0
    assert fault_proxy.seen == fault_proxy.forwarded == len(texts) + fault_proxy.dropped
