"""The Linux desktop integration files are valid (by the freedesktop tools themselves)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pymupdf
import pytest

LINUX = Path(__file__).resolve().parents[2] / "packaging" / "linux"
RESOURCES = Path(__file__).resolve().parents[2] / "desktop_app" / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)


def _tool(name: str) -> str:
    # .ci/run installs both; a missing tool is a broken machine, not a reason to skip.
    path = shutil.which(name)
    assert path, f"{name} is not installed (apt-get install desktop-file-utils appstream)"
    return path


def test_desktop_file_validates() -> None:
    done = subprocess.run([_tool("desktop-file-validate"), str(LINUX / "casebook.desktop")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_appstream_metainfo_validates() -> None:
    done = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net",
         str(LINUX / "org.casebook.Casebook.metainfo.xml")],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mime_type_claims_cbpack_and_the_desktop_file_opens_it() -> None:
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(LINUX / "casebook-mime.xml").getroot()
    mime = root.find("m:mime-type", ns)
    assert mime is not None and mime.get("type") == "application/x-casebook-pack"
    assert mime.find("m:glob", ns).get("pattern") == "*.cbpack"
    assert "application/x-casebook-pack;" in (LINUX / "casebook.desktop").read_text()


@pytest.mark.parametrize("folder", [LINUX / "icons", RESOURCES])
@pytest.mark.parametrize("size", SIZES)
def test_icon_exists_in_each_size(folder: Path, size: int) -> None:
    pix = pymupdf.Pixmap(str(folder / f"casebook-{size}.png"))
    assert (pix.width, pix.height) == (size, size)
    assert pix.alpha and not pix.is_unicolor
