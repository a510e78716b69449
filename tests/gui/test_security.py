"""The window opens links only on a click, only for web and mail addresses."""

from __future__ import annotations

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from desktop_app.gui.main_window import MainWindow


class Opened(QObject):
    """Where the desktop would have been asked to open a URL (Qt's own URL-handler hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


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
