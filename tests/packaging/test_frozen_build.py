"""The PyInstaller build: it builds, and the folder works on its own.

Slow (a build is ~20 s here). Runs with the rest of the suite: the README's test
command and .ci/run run it. The frozen program is run with a clean environment from
outside the source tree, so nothing can come from the checkout or the venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# On Windows casebook.exe is windowed; the console twin answers on stdout.
EXE = "casebook-cli.exe" if sys.platform == "win32" else "casebook"
# Issue 6's bar is 150 MB; the Linux build is ~213 MB today (ICU data and MuPDF's
# built-in fonts are 75 MB of it; docs/packaging.md). This guards against growth
# until the bar is met; lower it as the bundle shrinks.
MAX_MB = 230

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("frozen")
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--dist", str(out / "dist"),
         "--work", str(out / "work"), "--max-mb", str(MAX_MB)],
        capture_output=True, text=True, timeout=900, check=False, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "MB unpacked" in done.stdout
    return out / "dist" / "casebook"


def _clean_env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"))
    return env


def _run(bundle: Path, *args: str, home: Path, prefix: tuple[str, ...] = ()
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, str(bundle / EXE), *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=home, env=_clean_env(home))


def test_frozen_self_test_passes(bundle: Path, tmp_path: Path) -> None:
    done = _run(bundle, "--self-test", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Self-test passed"), done.stdout
    # It used the pack built into the bundle, not the sources (there are none here).
    assert list((bundle / "_internal" / "desktop_app" / "resources" / "packs").glob("*.cbpack"))
    assert not (bundle / "_internal" / "content_packs").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network namespaces: Linux")
def test_frozen_self_test_passes_without_any_network(bundle: Path, tmp_path: Path) -> None:
    # A fresh network namespace has no interfaces but a down loopback: any request fails.
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed for this test"
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    assert probe.returncode == 0, f"cannot make a network namespace: {probe.stderr!r}"
    done = _run(bundle, "--self-test", home=tmp_path, prefix=(unshare, "--net"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Self-test passed"), done.stdout


def test_portable_marker_keeps_data_beside_the_program(bundle: Path, tmp_path: Path) -> None:
    stick = tmp_path / "usb" / "Casebook"
    shutil.copytree(bundle, stick, symlinks=True)
    (stick / "casebook-portable.txt").write_text("Keep my library on this stick.\n")
    home = tmp_path / "home"
    home.mkdir()
    done = _run(stick, "demo", "--no-window", home=home)
    assert done.returncode == 0, done.stderr
    assert (stick / "data" / "casebook.sqlite3").is_file()
    assert (stick / "data" / "logs").is_dir()
    assert not list(home.rglob("casebook.sqlite3")), "portable mode wrote to the home folder"
    listed = _run(stick, "library", home=home)
    assert "org.casebook.sample.local-by-social" in listed.stdout


def test_gui_child_process_command_runs_in_the_frozen_build(
    bundle: Path, tmp_path: Path
) -> None:
    # The window starts long writes as ``sys.executable -m desktop_app ...``; frozen,
    # sys.executable is this program, which must understand that.
    done = _run(bundle, "-m", "desktop_app", "--data-dir", str(tmp_path / "d"), "pack", "list",
                home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "No packs installed." in done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/maps")
def test_the_render_worker_program_loads_mupdf_and_not_qt(bundle: Path, tmp_path: Path) -> None:
    # Qt in the worker cost ~90 ms at every start and restart (PySide6's run-time hook).
    worker = subprocess.Popen([str(bundle / "casebook-render")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, cwd=tmp_path, env=_clean_env(tmp_path))
    maps = Path(f"/proc/{worker.pid}/maps")
    try:
        deadline = time.monotonic() + 30
        loaded = ""
        while "libmupdf" not in loaded and time.monotonic() < deadline:
            time.sleep(0.05)
            loaded = maps.read_text()
        time.sleep(0.3)  # imports done: it waits for its first request
        loaded = maps.read_text()
    finally:
        worker.stdin.close()  # end of requests: it exits
        worker.wait(10)
    assert "libmupdf" in loaded
    assert "libQt6" not in loaded and "pyside6" not in loaded.lower()
    assert worker.returncode == 0
