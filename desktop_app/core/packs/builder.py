"""Building a pack from a publisher's source folder, and signing packs.

A source folder holds ``pack.toml``, the documents (a folder of Markdown chapters
becomes one PDF, rendered with PyMuPDF's Story; a ``.md`` file stays Markdown; a
``.pdf`` is copied) and ``media/``. ``editions/<version>/`` may hold a partial
``pack.toml`` and replacement files: the same sources then build a later edition.
Builds are reproducible: the same sources give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf

from desktop_app.core.documents.markdown_html import markdown_to_safe_html
from desktop_app.core.errors import PackError
from desktop_app.core.packs.archive import Limits
from desktop_app.core.packs.manifest import (
    FORMAT,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    manifest_bytes,
    parse_manifest,
)
from desktop_app.core.packs.signing import SecretKey, sign_manifest

A4 = pymupdf.paper_rect("a4")
MARGIN = 64
# The text area; the bottom margin leaves room for the page number.
BODY = pymupdf.Rect(MARGIN, MARGIN, A4.width - MARGIN, A4.height - MARGIN - 18)
GUIDE_CSS = """
body { font-family: sans-serif; font-size: 11pt; line-height: 1.4; }
h1 { font-size: 20pt; margin-bottom: 12pt; }
h2 { font-size: 15pt; margin-top: 14pt; }
h3 { font-size: 12.5pt; margin-top: 10pt; }
p, li { text-align: left; }
blockquote { margin-left: 14pt; font-style: italic; }
table { border-collapse: collapse; }
th, td { border: 1px solid #777; padding: 3pt; font-size: 10pt; }
th { background-color: #e8e8e8; }
code, pre { font-family: monospace; font-size: 9.5pt; }
img { width: 100%; }
"""


@dataclass(frozen=True)
class SourceFolder:
    root: Path
    edition: Path | None

    def path(self, relative: str) -> Path:
        """The file to use: the edition's replacement if it has one."""
        if self.edition is not None and (self.edition / relative).exists():
            return self.edition / relative
        return self.root / relative

    def config(self) -> dict[str, Any]:
        config = _load_toml(self.root / "pack.toml")
        if self.edition is not None and (self.edition / "pack.toml").exists():
            config.update(_load_toml(self.edition / "pack.toml"))
        return config


def build_pack(
    source: Path, out_dir: Path, *, edition: str | None = None, key: SecretKey | None = None,
    overrides: dict[str, Any] | None = None, posts: dict[str, int | None] | None = None,
) -> Path:
    """Build ``<id>-<version>.cbpack`` in ``out_dir`` and return its path.

    ``overrides`` replaces top-level ``pack.toml`` keys (``site``, ``catalogue``) and
    ``posts`` sets documents' discussion posts by doc id (None: no post): what ``casebook publish``
    knows only once the site has the posts, without writing into the publisher's files.
    """
    folder = source_folder(source, edition)
    config = {**folder.config(), **(overrides or {})}
    files: dict[str, bytes] = {}
    documents = []
    for doc in config.get("documents", []):
        path, media_type, data = _build_document(folder, config, doc)
        files[path] = data
        documents.append({
            "id": doc["id"], "kind": doc["kind"], "title": doc["title"], "path": path,
            "media_type": media_type, **_post_of(doc, posts),
        })
    media_root = source / "media"
    if media_root.is_dir():
        for item in sorted(media_root.rglob("*")):
            if item.is_file():
                relative = item.relative_to(source).as_posix()
                files[relative] = folder.path(relative).read_bytes()

    raw = {
        key_name: config[key_name]
        for key_name in ("id", "version", "title", "subtitle", "publisher", "date",
                         "language", "licence", "site", "catalogue")
        if key_name in config
    }
    raw["format"] = FORMAT
    raw["documents"] = documents
    raw["files"] = [
        {"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for p, d in sorted(files.items())
    ]
    manifest = manifest_bytes(raw)
    parsed = parse_manifest(manifest)  # the builder must never write a pack it would refuse
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{parsed.id}-{parsed.version}.cbpack"
    signature = sign_manifest(manifest, key) if key else None
    _write_zip(target, manifest, signature, files, parsed.date)
    return target


def source_folder(source: Path, edition: str | None = None) -> SourceFolder:
    """The source folder, with its edition overlay when ``edition`` is given."""
    edition_dir = source / "editions" / edition if edition else None
    if edition_dir is not None and not edition_dir.is_dir():
        raise PackError(f"{source} has no edition {edition!r} (no folder {edition_dir}).")
    return SourceFolder(source, edition_dir)


def _post_of(doc: dict, posts: dict[str, int | None] | None) -> dict[str, int]:
    if posts is not None and doc["id"] in posts:
        post = posts[doc["id"]]
        return {} if post is None else {"post": post}
    return {"post": doc["post"]} if "post" in doc else {}


def sign_pack(pack: Path, key: SecretKey) -> None:
    """Add (or replace) ``manifest.sig`` in an existing pack, atomically."""
    try:
        with zipfile.ZipFile(pack) as zf:
            manifest = zf.read(MANIFEST_NAME)
            entries = {
                info.filename: zf.read(info)
                for info in zf.infolist()
                if info.filename not in (MANIFEST_NAME, SIGNATURE_NAME)
            }
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise PackError(f"{pack} is not a pack that can be signed ({exc}).") from None
    date = parse_manifest(manifest).date
    _write_zip(pack, manifest, sign_manifest(manifest, key), entries, date)


def _build_document(folder: SourceFolder, config: dict, doc: dict) -> tuple[str, str, bytes]:
    source = folder.root / doc["source"]
    if source.is_dir():
        pdf = render_guide_pdf(folder, config, doc, sorted(source.glob("*.md")))
        return f"documents/{doc['id']}.pdf", "application/pdf", pdf
    data = folder.path(doc["source"]).read_bytes()
    if source.suffix.lower() == ".pdf":
        return f"documents/{doc['id']}.pdf", "application/pdf", data
    if source.suffix.lower() == ".md":
        return f"documents/{doc['id']}.md", "text/markdown", data
    raise PackError(f"Document source {doc['source']!r} is not a folder, .md or .pdf file.")


def render_guide_pdf(folder: SourceFolder, config: dict, doc: dict, chapters: list[Path]) -> bytes:
    """Markdown chapters -> one A4 PDF with a title page, outline and page numbers."""
    title_html = (
        f"<h1>{_escape(doc['title'])}</h1>"
        f"<p>{_escape(config.get('subtitle', ''))}</p>"
        f"<p>{_escape(config['publisher'])}<br/>Version {_escape(config['version'])}, "
        f"{_escape(config['date'])}</p>"
    )
    parts = [(title_html, False)]
    for chapter in chapters:
        relative = chapter.relative_to(folder.root).as_posix()
        text = folder.path(relative).read_text(encoding="utf-8")
        parts.append((markdown_to_safe_html(text, relative), True))

    archive = pymupdf.Archive(str(folder.root))
    output = pymupdf.open()
    toc: list[list] = []
    for html, in_outline in parts:
        chapter_doc, headings = _render_chapter(html, archive)
        offset = output.page_count
        output.insert_pdf(chapter_doc)
        chapter_doc.close()
        if in_outline:
            toc.extend([level, text, page + offset] for level, text, page in headings)
    _number_pages(output)
    output.set_toc(toc)
    stamp = "D:" + config["date"].replace("-", "") + "000000Z"
    output.set_metadata({
        "title": doc["title"], "author": config["publisher"], "subject": config.get("subtitle", ""),
        "creator": "Casebook pack builder", "producer": "PyMuPDF",
        "creationDate": stamp, "modDate": stamp,
    })
    data = output.tobytes(garbage=3, deflate=True, no_new_id=True)
    output.close()
    return data


def _render_chapter(html: str, archive: pymupdf.Archive) -> tuple[pymupdf.Document, list]:
    story = pymupdf.Story(html=html, user_css=GUIDE_CSS, archive=archive)
    headings: list[tuple[int, str, int]] = []

    def rect_for(rect_num: int, filled: pymupdf.Rect) -> tuple:
        return A4, BODY, pymupdf.Identity

    def record(position: Any) -> None:
        if position.heading in (1, 2) and position.open_close & 1 and position.text:
            # page_num counts from 1 within this chapter.
            headings.append((position.heading, position.text.strip(), position.page_num))

    document = story.write_with_links(rect_for, positionfn=record)
    return document, headings


def _number_pages(doc: pymupdf.Document) -> None:
    for page in doc:
        if page.number == 0:
            continue
        label = f"{page.number + 1}"
        page.insert_text((A4.width / 2 - 6, A4.height - MARGIN / 2), label, fontsize=9,
                         fontname="helv", color=(0.3, 0.3, 0.3))


def _write_zip(target: Path, manifest: bytes, signature: bytes | None,
               files: dict[str, bytes], date: str) -> None:
    stamp = (int(date[:4]), int(date[5:7]), int(date[8:10]), 0, 0, 0)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_name, "w", zipfile.ZIP_DEFLATED) as zf:
            entries = [(MANIFEST_NAME, manifest)]
            if signature is not None:
                entries.append((SIGNATURE_NAME, signature))
            entries.extend(sorted(files.items()))
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = _compression(data)
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _compression(data: bytes) -> int:
    """Deflate, unless the file compresses so well that readers would take it for a zip
    bomb (archive.Limits): a long, repetitive but genuine file is stored as it is."""
    limits = Limits()
    if len(data) > limits.ratio_floor_bytes:
        deflated = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        size = len(deflated.compress(data)) + len(deflated.flush())
        if len(data) > limits.ratio * size:
            return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise PackError(f"Cannot read {path} ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{path} is not valid TOML ({exc}).") from None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
