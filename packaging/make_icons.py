"""Draw Casebook's icon (an open book) in every size the desktops ask for.

Run once after changing the drawing; the PNGs and the .ico are committed:

    .venv/bin/python packaging/make_icons.py

Drawn as vectors with PyMuPDF and rasterised per size (not scaled down from one
bitmap), so the 16 px icon stays crisp. The Windows .ico holds the same PNGs: the ICO
format allows PNG entries since Vista, so no image library is needed.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
SIZES = (16, 32, 48, 64, 128, 256)
COVER = (0.13, 0.33, 0.55)  # deep blue
PAGE = (1.0, 1.0, 1.0)
LINES = (0.55, 0.62, 0.70)


def draw(size: int) -> bytes:
    """The icon as PNG bytes, size x size pixels, transparent background."""
    doc = pymupdf.open()
    page = doc.new_page(width=256, height=256)
    shape = page.new_shape()
    # The cover: a rounded slab behind both pages.
    shape.draw_rect(pymupdf.Rect(16, 48, 240, 216), radius=0.08)
    shape.finish(color=None, fill=COVER)
    # Two pages, slightly lifted at the outer edges, meeting at the spine.
    for outer, inner in ((28, 124), (228, 132)):
        shape.draw_polyline([(inner, 70), (outer, 58), (outer, 196), (inner, 206)])
        shape.finish(color=None, fill=PAGE, closePath=True)
    # Lines of text; fewer at small sizes, where they would blur into grey.
    count = 2 if size < 32 else 4
    for i in range(count):
        y = 92 + i * (88 // count)
        shape.draw_line((40, y), (110, y + 3))
        shape.draw_line((146, y + 3), (216, y))
    shape.finish(color=LINES, width=max(6.0, 256 / size * 1.2))
    shape.commit()
    pix = page.get_pixmap(matrix=pymupdf.Matrix(size / 256, size / 256), alpha=True)
    return pix.tobytes("png")


def write_ico(target: Path, images: dict[int, bytes]) -> None:
    """A Windows .ico with PNG entries (ICONDIR, one ICONDIRENTRY each, the data)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in sorted(images.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICO format
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    target.write_bytes(header + entries + blobs)


def main() -> None:
    images = {size: draw(size) for size in SIZES}
    for folder in (ROOT / "packaging" / "linux" / "icons", ROOT / "desktop_app" / "resources"
                   / "icons"):
        folder.mkdir(parents=True, exist_ok=True)
        for size, png in images.items():
            (folder / f"casebook-{size}.png").write_bytes(png)
    write_ico(ROOT / "packaging" / "windows" / "casebook.ico", images)
    print(f"Wrote {len(images)} sizes to packaging/linux/icons, desktop_app/resources/icons "
          "and packaging/windows/casebook.ico")


if __name__ == "__main__":
    main()
