"""Opening the community sites a sync run talks to, signed in where the reader has
signed in, and closing their connections afterwards."""

from __future__ import annotations

import sqlite3
from types import TracebackType

import httpx

from desktop_app.core.comments import credentials
from desktop_app.core.comments.wordpress import WordPressSite
from desktop_app.core.net import TIMEOUT, make_client


class SiteSessions:
    """``with SiteSessions(conn) as sites:`` then ``sites.signed_in(url)`` (None when
    the reader has not signed in to that site) or ``sites.anonymous(url)``."""

    def __init__(self, conn: sqlite3.Connection, timeout: httpx.Timeout | float = TIMEOUT
                 ) -> None:
        self.conn = conn
        self.timeout = timeout
        self._clients: dict[tuple[str, bool], httpx.Client] = {}

    def signed_in(self, site_url: str) -> WordPressSite | None:
        found = credentials.load(self.conn, site_url)
        if found is None:
            return None
        key = (site_url, True)
        if key not in self._clients:
            self._clients[key] = make_client(site_url, timeout=self.timeout,
                                             auth=(found.user, found.password))
        return WordPressSite(self._clients[key], site_url)

    def anonymous(self, site_url: str) -> WordPressSite:
        key = (site_url, False)
        if key not in self._clients:
            self._clients[key] = make_client(site_url, timeout=self.timeout)
        return WordPressSite(self._clients[key], site_url)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> SiteSessions:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def check_sign_in(site_url: str, user: str, password: str,
                  timeout: httpx.Timeout | float = TIMEOUT) -> str:
    """The user's display name if the site accepts these credentials; raises
    :class:`~desktop_app.core.comments.wordpress.SiteAnswerError` if not."""
    with make_client(site_url, timeout=timeout,
                     auth=(user, password.replace(" ", ""))) as client:
        return WordPressSite(client, site_url).check_sign_in()
