"""The WordPress REST API (``/wp-json/wp/v2/``) as Casebook needs it: check a
sign-in, post a comment, ask whether a comment arrived, read a post's thread.

Each answer is turned into what it *means* for the comment (an :class:`Outcome`),
from the behaviour of a real WordPress recorded in docs/sync.md: a wrong
application password looks like an anonymous visitor (401
``rest_comment_login_required``), a repeated comment is 409 ``comment_duplicate``,
a second comment within 15 s is 400 ``comment_flood``, and so on.

Stock WordPress has no idempotency key, so each comment carries its uuid in an HTML
comment inside its content (kept by WordPress's filters, invisible on the page);
:meth:`WordPressSite.find_comment` looks for it among the user's own comments.
"""

from __future__ import annotations

import email.utils
import html
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from desktop_app.core.comments.remote import MARKER, RemoteComment
from desktop_app.core.net import NetworkError, explain

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # WordPress's maximum per_page
PROBE_SIZE = 10  # the first look at a thread already fetched: new comments come first
FLOOD_SECONDS = 15  # WordPress's comment flood interval for non-moderators

# Codes that mean "these credentials do not let you in". On 6.1 a wrong application
# password is not reported as such: the request just continues as anonymous.
AUTH_CODES = {"rest_comment_login_required", "rest_not_logged_in", "incorrect_password",
              "invalid_username", "invalid_email", "rest_forbidden", "rest_cannot_create",
              "application_passwords_disabled", "application_passwords_disabled_for_user",
              "rest_cannot_read"}
_PARAM_REFUSED = {"rest_invalid_param", "rest_forbidden_param", "rest_forbidden_context"}
POST_GONE_CODES = {"rest_comment_invalid_post_id", "rest_post_invalid_id"}


# --- What an answer means ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    reason: str = ""


@dataclass(frozen=True)
class OnSite(Outcome):
    """The site has the comment."""

    remote_id: int = 0
    link: str = ""
    held: bool = False  # awaiting moderation


@dataclass(frozen=True)
class Duplicate(Outcome):
    """409: the site already has a comment with this exact text (an earlier attempt)."""


@dataclass(frozen=True)
class Refused(Outcome):
    """Refused for good (comments closed, post gone, text not allowed)."""


@dataclass(frozen=True)
class SignInNeeded(Outcome):
    """The credentials are missing, wrong or revoked; nothing will work until the
    reader signs in again."""


@dataclass(frozen=True)
class Later(Outcome):
    """Not now: try again later. ``not_before`` seconds from now when the site said."""

    not_before: float | None = None
    flood: bool = False  # paced: one comment per 15 s
    offline: bool = False  # the site could not be reached at all


@dataclass(frozen=True)
class NoAnswer(Outcome):
    """The request may have reached the site, but no answer came back: ask before
    sending again."""


class SiteAnswerError(Exception):
    """Carries an outcome out of a read (lookup or thread fetch)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


# --- The site ------------------------------------------------------------------------


class WordPressSite:
    """One WordPress site, reached through ``client`` (see core.net.make_client),
    signed in as the client's Basic auth (a user name and an application password)."""

    def __init__(self, client: httpx.Client, site_url: str) -> None:
        self.client = client
        self.site_url = site_url.rstrip("/")

    # Paths: pretty permalinks give /wp-json/; every site also answers ?rest_route=.
    def _url(self, route: str) -> str:
        return f"{self.site_url}/wp-json{route}"

    def check_sign_in(self) -> str:
        """The signed-in user's display name; :class:`SiteAnswerError` if the
        credentials do not work (``/wp/v2/users/me`` is the only honest check)."""
        answer = self._get("/wp/v2/users/me", {"context": "view"})
        if answer.status_code == 200:
            return str(_json(answer).get("name") or "")
        raise SiteAnswerError(self._meaning(answer, "sign-in"))

    def post_comment(self, post: str, body: str, comment_uuid: str) -> Outcome:
        """One attempt to create the comment; never retried here."""
        payload = {"post": int(post) if post.isdigit() else post,
                   "content": content_with_marker(body, comment_uuid)}
        try:
            answer = self.client.post(self._url("/wp/v2/comments"), json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            # The request never left: nothing can have arrived.
            return Later(str(explain(exc, self.site_url)), offline=True)
        except httpx.HTTPError as exc:
            return NoAnswer(str(explain(exc, self.site_url)))
        if answer.status_code == 201:
            data = _json(answer)
            if isinstance(data, dict) and isinstance(data.get("id"), int):
                return OnSite(remote_id=data["id"], link=str(data.get("link") or ""),
                              held=data.get("status") != "approved")
            # 201 without a comment: something between us and the site answered.
            return NoAnswer("The site's answer was not a comment; checking later "
                            "whether it arrived.")
        return self._meaning(answer, "comment")

    def find_comment(self, post: str, comment_uuid: str) -> OnSite | None:
        """The comment carrying ``comment_uuid`` among the signed-in user's comments on
        ``post`` (held ones included), or None if the site does not have it."""
        params = {"post": post, "search": comment_uuid, "status": "all",
                  "per_page": PAGE_SIZE, "context": "view"}
        answer = self._get("/wp/v2/comments", params)
        if answer.status_code in (400, 401, 403) and _code(answer) in _PARAM_REFUSED:
            # Only users who may edit posts can ask for held comments (status=all); for
            # a Subscriber the approved ones are all there is to look through.
            params.pop("status")
            answer = self._get("/wp/v2/comments", params)
        if answer.status_code != 200:
            meaning = self._meaning(answer, "lookup")
            if isinstance(meaning, Refused):
                # A refused question is not a refused comment: it may be on the site,
                # so it stays uncertain and is asked about again later.
                meaning = Later(f"The site would not say whether it has the comment "
                                f"({meaning.reason}); asking again later.")
            raise SiteAnswerError(meaning)
        marker = MARKER.format(uuid=comment_uuid)
        for item in _json_list(answer):
            content = item.get("content") or {}
            text = f"{content.get('raw', '')} {content.get('rendered', '')}"
            if marker in text:
                return OnSite(remote_id=int(item["id"]), link=str(item.get("link") or ""),
                              held=item.get("status") not in ("approved", "approve"))
        return None

    def comment_status(self, remote_id: int) -> OnSite | None:
        """A comment of the user's, by id: approved yet? None if it is gone."""
        answer = self._get(f"/wp/v2/comments/{remote_id}", {"context": "view"})
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise SiteAnswerError(self._meaning(answer, "lookup"))
        item = _json(answer)
        return OnSite(remote_id=remote_id, link=str(item.get("link") or ""),
                      held=item.get("status") not in ("approved", "approve"))

    def thread(self, post: str, known_ids: set[int] | None
               ) -> tuple[list[RemoteComment], int, bool]:
        """The approved comments of ``post``, newest first: (comments, total, complete).

        With ``known_ids`` (the ids stored from the last fetch) a short first page is
        read: new comments come first, so when it and the store account for the
        site's whole total, that one small request is all a sync costs (``complete``
        False: the caller keeps what it has). An old comment approved late, or one
        deleted, changes the total without showing on that page: then every page is
        read (``complete`` True, and the caller drops what the site no longer has).
        """
        if known_ids is not None:
            items, total = next(self._pages(post, PROBE_SIZE))
            if len(known_ids | {c.remote_id for c in items}) == total:
                return items, total, False
        comments: list[RemoteComment] = []
        total = 0
        for items, page_total in self._pages(post, PAGE_SIZE):
            comments += items
            total = page_total
        return comments, total, True

    def _pages(self, post: str, size: int) -> Iterator[tuple[list[RemoteComment], int]]:
        page = 1
        while True:
            answer = self._get("/wp/v2/comments", {
                "post": post, "per_page": size, "page": page, "orderby": "date_gmt",
                "order": "desc", "context": "view"})
            if answer.status_code == 400 and _code(answer) == "rest_comment_invalid_page_number":
                return
            if answer.status_code != 200:
                raise SiteAnswerError(self._meaning(answer, "thread"))
            items = [_remote(item, post) for item in _json_list(answer)]
            total = int(answer.headers.get("X-WP-Total", len(items)))
            pages = int(answer.headers.get("X-WP-TotalPages", 1))
            yield items, total
            if page >= pages or not items:
                return
            page += 1

    def _get(self, route: str, params: dict) -> httpx.Response:
        try:
            return self.client.get(self._url(route), params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            raise SiteAnswerError(Later(str(explain(exc, self.site_url)), offline=True)
                                  ) from exc
        except httpx.HTTPError as exc:
            raise SiteAnswerError(Later(str(explain(exc, self.site_url)))) from exc

    def _meaning(self, answer: httpx.Response, what: str) -> Outcome:
        """What a non-success answer means (see docs/sync.md for the table)."""
        status, code = answer.status_code, _code(answer)
        message = _message(answer)
        if status == 409 and code == "comment_duplicate":
            return Duplicate(message)
        if status == 400 and code == "comment_flood":
            return Later("The site allows one comment every 15 seconds; pacing.",
                         not_before=FLOOD_SECONDS + 1, flood=True)
        if status == 429:
            wait = retry_after(answer.headers.get("Retry-After"))
            return Later(f"The site asked Casebook to slow down{_for(wait)}.",
                         not_before=60.0 if wait is None else wait)
        if status == 401 or (status == 403 and code in AUTH_CODES):
            return SignInNeeded("The site did not accept your sign-in (user name or "
                                "application password). Sign in again; nothing is lost.")
        if code == "rest_comment_closed":
            return Refused("Comments are closed on this discussion.")
        if code in POST_GONE_CODES or (status in (404, 410) and what == "comment"):
            return Refused("The discussion no longer exists on the site (its post was "
                           "deleted or moved).")
        if status >= 500 or status == 408:
            return Later(f"The site had a problem ({status}); trying again later.")
        if status in (301, 302, 303, 307, 308):
            return Later(f"The site moved to {answer.headers.get('Location', '?')}; "
                         "its publisher needs to update the pack.")
        if 400 <= status < 500 and code:
            return Refused(f"The site refused it: {message or code}")
        # Not a WordPress answer at all: a captive portal or a proxy's page.
        return Later(f"Something other than the site answered ({status}): a wifi sign-in "
                     "page or a proxy, perhaps.")


def content_with_marker(body: str, comment_uuid: str) -> str:
    """The comment as sent: the reader's text (shown as typed, not as HTML) and the
    invisible marker that lets Casebook find it again."""
    return f"{html.escape(body, quote=False)} <!-- {MARKER.format(uuid=comment_uuid)} -->"


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at
    an hour: a site cannot park the queue for days."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), 3600.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), 3600.0)


def _for(seconds: float | None) -> str:
    return f" for {seconds:.0f} s" if seconds else ""


def _json(answer: httpx.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json_list(answer: httpx.Response) -> list[dict]:
    try:
        data = answer.json()
    except ValueError as exc:
        raise SiteAnswerError(Later("The site's answer was not JSON.")) from exc
    if not isinstance(data, list):
        raise SiteAnswerError(Later("The site's answer was not a list of comments."))
    return [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), int)]


def _code(answer: httpx.Response) -> str:
    return str(_json(answer).get("code") or "")


def _message(answer: httpx.Response) -> str:
    # WordPress messages carry HTML entities ("you&#8217;ve") and sometimes tags.
    raw = str(_json(answer).get("message") or "")
    return html.unescape(re.sub(r"<[^>]+>", "", raw)).strip()[:300]


def _remote(item: dict, post: str) -> RemoteComment:
    content = item.get("content") or {}
    return RemoteComment(
        remote_id=int(item["id"]), post=str(item.get("post") or post),
        parent=int(item.get("parent") or 0),
        author_name=str(item.get("author_name") or "")[:200],
        date_gmt=str(item.get("date_gmt") or item.get("date") or ""),
        html=str(content.get("rendered") or ""), link=str(item.get("link") or ""),
        status=str(item.get("status") or "approved"))


def monotonic() -> float:
    return time.monotonic()


__all__ = ["Duplicate", "Later", "NetworkError", "NoAnswer", "OnSite", "Outcome", "Refused",
           "RemoteComment", "SignInNeeded", "SiteAnswerError", "WordPressSite",
           "content_with_marker", "retry_after"]
