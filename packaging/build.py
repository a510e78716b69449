"""Build the frozen Casebook folder: ``.venv/bin/python packaging/build.py``.

1. installs PyInstaller into this environment if it is missing (the ``package`` extra),
2. builds and signs the sample pack (the frozen build has no content_packs/ sources),
3. runs PyInstaller on packaging/casebook.spec (one-folder mode),
4. prints the folder, its unpacked size and the build time.

The result is ``dist/casebook/`` (``dist/Casebook.app`` too on macOS). Run it with
``dist/casebook/casebook --self-test``.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "casebook.spec"
# The sample pack is staged under build/, not desktop_app/resources/packs/: in a source
# checkout a pack there would shadow the sources (sample.sample_pack prefers it), and
# the tests would go on using a stale pack after content_packs/ changed.
PACK_DIR = ROOT / "build" / "sample-pack"
SIZE_BAR_MB = 150  # issue 6's bar for the unpacked folder


def ensure_pyinstaller() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        print("Installing PyInstaller (the 'package' extra)…", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyinstaller>=6.10"],
                       check=True)


def build_sample_pack() -> Path:
    """Build and sign the sample pack from content_packs/ (never reuse a bundled one)."""
    sys.path.insert(0, str(ROOT))
    from desktop_app.core.packs.builder import build_pack
    from desktop_app.core.packs.signing import load_secret_key
    from desktop_app.sample import SAMPLE_KEY, SAMPLE_SOURCE

    if not SAMPLE_SOURCE.is_dir():
        raise SystemExit(f"The sample pack's sources are missing: {SAMPLE_SOURCE}")
    shutil.rmtree(PACK_DIR, ignore_errors=True)
    return build_pack(SAMPLE_SOURCE, PACK_DIR, key=load_secret_key(SAMPLE_KEY))


def run_pyinstaller(dist: Path, work: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--clean",
         "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work)],
        check=True, cwd=ROOT,
    )


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's working folder")
    parser.add_argument("--max-mb", type=float,
                        help="fail (exit 1) if the folder is bigger than this many MB")
    args = parser.parse_args(argv)
    started = time.monotonic()
    ensure_pyinstaller()
    pack = build_sample_pack()
    print(f"Sample pack: {pack.name}", flush=True)
    run_pyinstaller(args.dist, args.work)
    bundle = args.dist / "casebook"
    size_mb = folder_size(bundle) / 1e6
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    over = f"; OVER the {SIZE_BAR_MB} MB bar" if size_mb > SIZE_BAR_MB else ""
    print(f"Built {bundle} in {time.monotonic() - started:.0f} s: {size_mb:.1f} MB unpacked "
          f"in {files} files{over}. Check it with: {bundle / 'casebook'} --self-test")
    if args.max_mb is not None and size_mb > args.max_mb:
        print(f"The bundle is over {args.max_mb:g} MB: check what the spec lets in.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
