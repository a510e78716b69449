"""The window's start-up does not pay for what only a sync or an update check needs."""

from __future__ import annotations

import subprocess
import sys


def test_opening_the_window_code_does_not_load_the_network_stack() -> None:
    # httpx and keyring cost ~60 ms of start-up; they load when the reader syncs.
    code = ("import sys, desktop_app.gui.main_window, desktop_app.gui.app; "
            "print(sorted(m for m in ('httpx', 'keyring', 'truststore', 'ssl') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
