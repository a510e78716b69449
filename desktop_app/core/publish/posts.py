"""One WordPress post per case study, created or brought up to date over the REST API.

Stock WordPress has no field a client may set to find its post again (post meta must
be registered by a plugin first), so each post carries a marker in an HTML comment,
``<!-- casebook-post:PACK/DOC -->``: WordPress keeps HTML comments, readers of the page
do not see them, and ``?search=`` finds them. The lock file's post id is asked first;
the marker search finds a post whose creation was cut off before its id was recorded,
so a repeated run never makes a second post.

Only what differs is sent: a run over an unchanged pack changes nothing on the site.
A post trashed by hand is brought back (its id and comments are what readers' packs
know); one deleted for good is created again under a new id.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from desktop_app.core.comments.wordpress import AUTH_CODES
from desktop_app.core.net import explain, make_client
from desktop_app.core.publish.plan import PublishError, PublishSignInError

MARKER = "casebook-post:{pack}/{doc}"
# Every status a post can have: a post in the trash or left as a draft is still ours.
_ANY_STATUS = "publish,future,draft,pending,private,trash"

ClientFactory = Callable[..., httpx.Client]


@dataclass(frozen=True)
class PostDraft:
    """The post a case study should have."""

    title: str
    content: str
    slug: str
    marker: str


@dataclass(frozen=True)
class SitePost:
    id: int
    title: str
    content: str
    status: str
    comment_status: str
    link: str

    def differs_from(self, draft: PostDraft) -> bool:
        return (self.title != draft.title or self.content.strip() != draft.content.strip()
                or self.status != "publish" or self.comment_status != "open")


def post_draft(pack_id: str, doc_id: str, title: str, summary: str, pack_title: str,
               version: str, pack_url: str) -> PostDraft:
    """Title, a summary, a link to the pack, and the marker (kses-safe HTML only, so an
    account without ``unfiltered_html`` stores it unchanged)."""
    marker = MARKER.format(pack=pack_id, doc=doc_id)
    link = (f'<a href="{_attr(pack_url)}">{_text(pack_title)} {_text(version)}</a>')
    content = (f"<p>{_text(summary)}</p>\n"
               f"<p>This case study is in {link}. Open it in Casebook to read it and "
               "discuss it here.</p>\n"
               f"<!-- {marker} -->")
    return PostDraft(title, content, slug_for(pack_id, doc_id), marker)


def slug_for(pack_id: str, doc_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{pack_id}-{doc_id}".lower()).strip("-")[:190]


def summary_of(markdown: str, limit: int = 600) -> str:
    """The first plain paragraph of a case study (not a heading, quote, list or table),
    with the Markdown marks taken out."""
    for block in re.split(r"\n\s*\n", markdown):
        text = block.strip()
        if not text or text[0] in "#>|-*+!<`" or re.match(r"\d+[.)]\s", text):
            continue
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
        text = re.sub(r"[*_`]+", "", text)
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return ""


class PostsSite:
    """The publisher's WordPress, signed in with an application password."""

    def __init__(self, site_url: str, user: str, password: str, *,
                 client_factory: ClientFactory = make_client) -> None:
        self.site_url = site_url.rstrip("/")
        self.user = user
        self.client = client_factory(self.site_url, auth=(user, password))

    def __enter__(self) -> PostsSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def check_sign_in(self) -> str:
        """The publisher's display name. ``/users/me`` is the only honest check: with a
        wrong or revoked password WordPress answers public requests as to anyone."""
        answer = self.request("GET", "/wp/v2/users/me", "check the sign-in",
                               params={"context": "edit"})
        data = _json(answer)
        capabilities = data.get("capabilities") or {}
        if isinstance(capabilities, dict) and not capabilities.get("publish_posts", True):
            raise PublishError(
                f"{self.user} may not publish posts on {self.site_url}; the account needs "
                "the Author, Editor or Administrator role.")
        return str(data.get("name") or self.user)

    def find(self, draft: PostDraft, known_id: int | None) -> SitePost | None:
        """Our post for this case study: by the recorded id, else by its marker."""
        if known_id is not None:
            answer = self.request("GET", f"/wp/v2/posts/{known_id}", "look up a post",
                                   params={"context": "edit"}, missing_ok=True)
            if answer is not None:
                return _post(_json(answer))
        answer = self.request("GET", "/wp/v2/posts", "look for a post", params={
            "search": draft.marker, "status": _ANY_STATUS, "context": "edit",
            "per_page": 100, "orderby": "id", "order": "asc"})
        data = answer.json() if _is_json(answer) else []
        for item in data if isinstance(data, list) else []:
            post = _post(item) if isinstance(item, dict) else None
            if post is not None and f"<!-- {draft.marker} -->" in post.content:
                return post
        return None

    def create(self, draft: PostDraft) -> SitePost:
        answer = self.request("POST", "/wp/v2/posts", f"create the post {draft.title!r}",
                               json=_body(draft))
        return self._created(answer, draft)

    def update(self, post_id: int, draft: PostDraft) -> SitePost:
        answer = self.request("POST", f"/wp/v2/posts/{post_id}",
                               f"update post {post_id} ({draft.title!r})", json=_body(draft))
        return self._created(answer, draft)

    def _created(self, answer: httpx.Response, draft: PostDraft) -> SitePost:
        post = _post(_json(answer))
        if post is None:
            raise PublishError(f"{self.site_url} answered the post {draft.title!r} with "
                               "something that is not a post; publish again to check it.")
        return post

    def request(self, method: str, route: str, doing: str, *, missing_ok: bool = False,
                 **kwargs: Any) -> Any:
        try:
            answer = self.client.request(method, f"{self.site_url}/wp-json{route}", **kwargs)
        except httpx.HTTPError as exc:
            raise PublishError(
                f"{explain(exc, self.site_url)} Casebook was about to {doing}. What was done "
                "before is recorded: publish again to complete it.") from exc
        if missing_ok and answer.status_code in (404, 410):
            return None
        if answer.status_code in (200, 201):
            return answer
        raise self._refusal(answer, doing)

    def _refusal(self, answer: httpx.Response, doing: str) -> PublishError:
        status, data = answer.status_code, _json(answer)
        code = str(data.get("code") or "")
        message = html.unescape(re.sub(r"<[^>]+>", "", str(data.get("message") or "")))[:300]
        if status == 401 or code in AUTH_CODES - {"rest_cannot_create"}:
            return PublishSignInError(
                f"{self.site_url} did not accept the application password of {self.user} "
                "(wrong, or revoked on the site). Make a new one in WordPress (Users › "
                "Profile › Application Passwords) and publish again; nothing more was "
                "changed.")
        if status == 403:
            return PublishError(f"{self.site_url} would not let {self.user} {doing}: "
                                f"{message or code}. Publishing needs an Editor or "
                                "Administrator account.")
        if not _is_json(answer):
            return PublishError(f"Something other than WordPress answered at {self.site_url} "
                                f"({status}) when Casebook tried to {doing}: is the address "
                                "the site's own?")
        return PublishError(f"{self.site_url} refused to {doing} ({status}: "
                            f"{message or code}).")


def _body(draft: PostDraft) -> dict[str, str]:
    return {"title": draft.title, "content": draft.content, "slug": draft.slug,
            "status": "publish", "comment_status": "open", "ping_status": "closed"}


def _post(item: dict[str, Any]) -> SitePost | None:
    if not isinstance(item.get("id"), int):
        return None
    title, content = item.get("title") or {}, item.get("content") or {}
    return SitePost(item["id"], str(title.get("raw", "")), str(content.get("raw", "")),
                    str(item.get("status") or ""), str(item.get("comment_status") or ""),
                    str(item.get("link") or ""))


def _is_json(answer: httpx.Response) -> bool:
    return "json" in answer.headers.get("content-type", "")


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")
