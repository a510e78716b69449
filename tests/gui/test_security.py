"""The window opens links only on a click, only for web and mail addresses."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from desktop_app.gui.window.main_window import MainWindow
from tests.gui.checks import Opened


def test_only_http_https_and_mailto_links_are_handed_to_the_desktop(window: MainWindow) -> None:
    opened = Opened()
    schemes = ("http", "https", "mailto", "file", "javascript", "smb", "data")
    for scheme in schemes:
        QDesktopServices.setUrlHandler(scheme, opened, "open")
    try:
        for url in ("https://example.org/guide", "http://example.org", "mailto:a@b.org",
                    "file:///etc/passwd", "javascript:alert(1)", "smb://host/share",
                    "data:text/html,<script>x</script>"):
            window.open_external_link(QUrl(url))
    finally:
        for scheme in schemes:
            QDesktopServices.unsetUrlHandler(scheme)
    assert opened.urls == ["https://example.org/guide", "http://example.org", "mailto:a@b.org"]
    assert "does not open" in window.statusBar().currentMessage()
