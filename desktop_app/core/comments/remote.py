"""What a comment on the site looks like to Casebook, without the HTTP client: the
window imports this at start-up, and httpx (~60 ms) only when it syncs."""

from __future__ import annotations

from dataclasses import dataclass

MARKER = "casebook:{uuid}"  # inside an HTML comment in the content: finds it again


@dataclass(frozen=True)
class RemoteComment:
    remote_id: int
    post: str
    parent: int
    author_name: str
    date_gmt: str
    html: str
    link: str
    status: str
