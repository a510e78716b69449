"""HTTP for council laptops: the operating system's trust store (so a corporate
TLS-inspecting proxy's certificate, installed by IT, is trusted as the browser
trusts it), the system's proxy settings, a timeout on every request, and errors
in words a reader can act on.

Nothing here runs unless the reader syncs or checks for updates: Casebook makes no
network request on its own otherwise (tests/packaging proves it).
"""

from __future__ import annotations

import logging
import ssl
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from desktop_app import __version__
from desktop_app.core.errors import CasebookError

log = logging.getLogger(__name__)

USER_AGENT = f"Casebook/{__version__} (+https://casebook.example.org)"
# Connecting is quick or it is not happening; a slow site gets longer to answer.
TIMEOUT = httpx.Timeout(20.0, connect=8.0)


class NetworkError(CasebookError):
    """The site could not be reached, or the connection broke; trying later may work."""


class TlsError(NetworkError):
    """The site's certificate is not trusted by this computer."""


@dataclass(frozen=True)
class Route:
    """How a request to one address leaves this computer."""

    proxy: str | None
    trust: str

    def describe(self) -> str:
        return f"proxy: {self.proxy or 'none (direct)'}; certificates: {self.trust}"


def route_for(url: str) -> Route:
    """The proxy the system names for ``url`` (environment variables first, then the
    Windows registry or macOS settings, as ``urllib`` reads them), and the trust store."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        proxy = None
    return Route(proxy, trust_store_name())


def trust_store_name() -> str:
    return "the operating system's trust store" if _truststore_context() else (
        "Python's certifi bundle (the system trust store is not available)")


def _truststore_context() -> ssl.SSLContext | None:
    try:
        import truststore
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        return None
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def make_client(base_url: str, *, timeout: httpx.Timeout | float = TIMEOUT,
                auth: tuple[str, str] | None = None) -> httpx.Client:
    """A client for one site. The caller closes it (``with make_client(...) as c``)."""
    route = route_for(base_url)
    context = _truststore_context()
    return httpx.Client(
        base_url=base_url, auth=auth, timeout=timeout, proxy=route.proxy,
        verify=context if context is not None else True,
        # Proxies come from route_for, which also reads the environment; httpx must
        # not read a .netrc or add credentials of its own.
        trust_env=False, follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


def explain(exc: httpx.HTTPError, site: str) -> NetworkError:
    """A transport failure in words; keeps the original as the cause."""
    cause = exc.__context__ or exc.__cause__
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__context__ or cause.__cause__
    if isinstance(cause, ssl.SSLCertVerificationError) or (
            isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc)):
        return TlsError(
            f"Casebook does not trust the certificate of {site}. If your organisation's "
            "network inspects secure connections, its certificate must be installed in "
            "this computer's trust store (ask IT); Casebook uses the same store as your "
            f"browser. ({_short(cause or exc)})")
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"{site} did not answer in time.")
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(f"The proxy refused the connection to {site}: {_short(exc)}.")
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(f"Cannot reach {site} (offline, or the site is down): "
                            f"{_short(exc)}.")
    return NetworkError(f"The connection to {site} broke: {_short(exc)}.")


def _short(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return text if len(text) < 200 else text[:197] + "..."
