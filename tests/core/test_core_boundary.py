"""The core and the command line must work on a machine without the GUI toolkit.

Each check runs in a fresh interpreter, so modules the test session already
imported cannot hide an import. An import hook records every attempt to import
PySide6 (or its shiboken6 runtime), so a guarded ``try: import PySide6`` is caught
even where PySide6 is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import desktop_app

REPO_ROOT = Path(desktop_app.__file__).resolve().parent.parent
GUI_PACKAGES = ("PySide6", "shiboken6")

_PROBE = """
import importlib, json, pkgutil, sys

class RecordGuiImports:
    attempted = []
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {gui!r}:
            self.attempted.append(name)
        return None

spy = RecordGuiImports()
sys.meta_path.insert(0, spy)
imported = []
{body}
print(json.dumps({{
    "imported": imported,
    "attempted": spy.attempted,
    "loaded": sorted(m for m in sys.modules if m.partition(".")[0] in {gui!r}),
}}))
"""

_IMPORT_ALL_OF_CORE = """
import desktop_app.core

def fail(name):
    raise ImportError(f"cannot import {name}")

for info in pkgutil.walk_packages(desktop_app.core.__path__, "desktop_app.core.", onerror=fail):
    importlib.import_module(info.name)
    imported.append(info.name)
"""


def _run_probe(body: str) -> dict[str, list[str]]:
    script = _PROBE.format(body=body, gui=set(GUI_PACKAGES))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_core_module_imports_without_pulling_in_the_gui_toolkit() -> None:
    result = _run_probe(_IMPORT_ALL_OF_CORE)

    # The walk really reached the core, down to its subpackages.
    assert {"desktop_app.core.search", "desktop_app.core.store.db",
            "desktop_app.core.packs.install", "desktop_app.core.documents.pdf"
            } <= set(result["imported"])
    assert result["attempted"] == []
    assert result["loaded"] == []


def test_the_command_line_imports_without_pulling_in_the_gui_toolkit() -> None:
    result = _run_probe("import desktop_app.cli\nimported.append('desktop_app.cli')")

    assert result["imported"] == ["desktop_app.cli"]
    assert result["attempted"] == []
    assert result["loaded"] == []
