"""Zip the built folder as a portable Casebook: ``python packaging/portable_zip.py``.

The zip holds ``Casebook/`` with the program and a ``casebook-portable.txt`` marker,
so an officer can unzip it onto a USB stick or a home drive and run it without an
installer: with the marker beside the program, the library, notes and logs stay in
``Casebook/data`` (desktop_app/paths.py). Deleting the marker makes it a normal install.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "casebook-portable.txt"
MARKER_TEXT = (
    "Portable Casebook: while this file is beside the program, your library, notes and\n"
    "logs are kept in the 'data' folder here, not in your user profile.\n"
    "Delete this file to keep them in your user profile instead.\n"
)


def make_zip(bundle: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                zf.write(path, Path("Casebook") / path.relative_to(bundle))
        zf.writestr(f"Casebook/{MARKER}", MARKER_TEXT)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "casebook")
    parser.add_argument("-o", "--output", type=Path,
                        default=ROOT / "dist" / f"Casebook-portable-{sys.platform}.zip")
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        raise SystemExit(f"No built folder at {args.bundle}: run packaging/build.py first.")
    target = make_zip(args.bundle, args.output)
    print(f"Wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
