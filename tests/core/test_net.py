"""The network as council laptops meet it, with real servers on 127.0.0.1: a TLS
certificate the computer does not trust (an inspecting proxy), a proxy named by the
environment, a site that accepts and never answers, a port where nothing listens."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from desktop_app.core.net import NetworkError, TlsError, explain, make_client, route_for


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Inspecting Proxy CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def untrusted_tls_site(tmp_path: Path) -> Iterator[str]:
    cert, key = _self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_site() -> Iterator[str]:
    """Accepts connections and never answers (a hung site, a black-holing proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_certificate_the_computer_does_not_trust_is_explained(untrusted_tls_site) -> None:
    with make_client(untrusted_tls_site) as client, pytest.raises(httpx.HTTPError) as failed:
        client.get("/")
    error = explain(failed.value, untrusted_tls_site)
    assert isinstance(error, TlsError)
    assert "does not trust the certificate" in str(error)
    assert "inspects secure connections" in str(error) and "trust store" in str(error)


def test_a_site_that_never_answers_times_out_with_a_message(silent_site) -> None:
    with make_client(silent_site, timeout=0.5) as client, \
            pytest.raises(httpx.TimeoutException) as failed:
        client.get("/")
    error = explain(failed.value, silent_site)
    assert type(error) is NetworkError and "did not answer in time" in str(error)


def test_a_site_that_is_down_is_named(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with make_client(url) as client, pytest.raises(httpx.ConnectError) as failed:
        client.get("/")
    assert f"Cannot reach {url}" in str(explain(failed.value, url))


def test_the_proxy_comes_from_the_environment_and_no_proxy_is_honoured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.council.example:8080")
    monkeypatch.setenv("no_proxy", "intranet.council.example")
    assert route_for("https://community.example.org").proxy == \
        "http://proxy.council.example:8080"
    assert route_for("https://intranet.council.example/x").proxy is None
    assert "proxy.council.example:8080" in route_for("https://a.example").describe()
    assert "trust store" in route_for("https://a.example").trust


def test_requests_go_through_the_named_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real forward proxy on 127.0.0.1 sees the request for the far site."""
    seen: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        with make_client("http://community.example.org") as client:
            assert client.get("/wp-json/").text == "ok"
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["http://community.example.org/wp-json/"]


def test_doctor_says_what_is_in_use_and_which_sites_fail(untrusted_tls_site, tmp_path,
                                                         capsys) -> None:
    from desktop_app.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    code = main(["--data-dir", str(tmp_path / "data"), "doctor", untrusted_tls_site, down])
    out = capsys.readouterr().out
    assert code == 1
    assert "proxy: none (direct)" in out and "trust store" in out and "Keyring:" in out
    assert "does not trust the certificate" in out
    assert f"Cannot reach {down}" in out
