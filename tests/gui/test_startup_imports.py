"""The window's start-up does not pay for what only a sync, an update check, an export
or a CLI command needs: ``casebook FILE.pdf`` is measured against zathura."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.packfactory import make_pdf

# Each costs 10-60 ms to import; none is needed before the first frame.
NOT_AT_START = ("desktop_app.cli", "httpx", "keyring", "truststore", "ssl", "cryptography",
                "desktop_app.core.export", "rapidfuzz", "desktop_app.gui.community.sign_in_dialog")

PROBE = """
import os, sys
from PySide6.QtCore import QTimer
import desktop_app.gui.window.main_window as mw

shown = mw.MainWindow.show
def show_and_report(window):
    shown(window)
    def report():
        loaded = sorted(m for m in {names!r} if m in sys.modules)
        print("loaded:", loaded, "tabs:", window.tabs.count(), flush=True)
        os._exit(0)
    QTimer.singleShot(0, report)
mw.MainWindow.show = show_and_report
from desktop_app.__main__ import main
main(sys.argv[1:])
"""


def test_starting_the_window_on_a_pdf_loads_none_of_the_cli_network_or_export_code(
        tmp_path: Path) -> None:
    pdf = tmp_path / "guide.pdf"
    pdf.write_bytes(make_pdf(["Planning guidance, chapter one."]))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=NOT_AT_START),
         "--data-dir", str(tmp_path / "library"), str(pdf)],
        capture_output=True, text=True, timeout=60, env=env)
    assert "loaded: [] tabs: 1" in done.stdout, done.stdout + done.stderr
