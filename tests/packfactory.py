"""Builds real pack files for tests: valid ones, and damaged or hostile variants.

A pack is described as a dict of files plus manifest fields; ``write`` signs and
zips it. Hostile variants change the description, the manifest bytes or the zip
itself, each the way an attacker or a broken disk would.
"""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

from desktop_app.core.packs.manifest import manifest_bytes
from desktop_app.core.packs.signing import SecretKey, sign_manifest


def make_pdf(pages: list[str], **save_options: Any) -> bytes:
    """A real PDF with one page per text, made with PyMuPDF; the same texts give the same bytes."""
    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(56, 56, 539, 786), text, fontsize=11)
    data = doc.tobytes(**{"no_new_id": True, **save_options})
    doc.close()
    return data


def make_png(width: int = 40, height: int = 30) -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    pix.clear_with(200)
    return pix.tobytes("png")


GUIDE_PAGES = [
    "Using social media well. This guide helps council staff plan their channels.",
    "Moderation and risk. Agree house rules and publish them before you need them.",
    "Accessibility. Write alt text for every image and caption your videos.",
]
CASE_MARKDOWN = """# A case study

Residents were engaged through a series of **online conversations**.

![A diagram](../media/diagram.png)

## Lessons

- Start small and listen first.
- Publish what you heard.
"""


@dataclass
class PackSpec:
    """What goes in a pack; change any part before writing it."""

    fields: dict[str, Any]
    documents: list[dict[str, Any]]
    files: dict[str, bytes]
    extra_manifest_files: list[dict[str, Any]] = field(default_factory=list)

    def manifest(self) -> dict[str, Any]:
        raw = copy.deepcopy(self.fields)
        raw["documents"] = copy.deepcopy(self.documents)
        raw["files"] = [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in sorted(self.files.items())
        ] + self.extra_manifest_files
        return raw


class PackFactory:
    def __init__(self, folder: Path, key: SecretKey) -> None:
        self.folder = folder
        self.key = key
        folder.mkdir(parents=True, exist_ok=True)

    def spec(self, pack_id: str = "org.example.sample", version: str = "1.0.0",
             guide_pages: list[str] | None = None) -> PackSpec:
        return PackSpec(
            fields={
                "format": 1, "id": pack_id, "version": version, "title": "Sample guidance",
                "publisher": "Test Publisher", "date": "2026-11-01", "language": "en-GB",
                "licence": "CC BY 4.0",
                "site": {"kind": "wordpress", "url": "https://community.example.org"},
            },
            documents=[
                {"id": "guide", "kind": "guide", "title": "The guide",
                 "path": "documents/guide.pdf", "media_type": "application/pdf", "post": 101},
                {"id": "case-one", "kind": "case-study", "title": "Case one",
                 "path": "documents/case-one.md", "media_type": "text/markdown", "post": 102},
            ],
            files={
                "documents/guide.pdf": make_pdf(guide_pages or GUIDE_PAGES),
                "documents/case-one.md": CASE_MARKDOWN.encode(),
                "media/diagram.png": make_png(),
            },
        )

    def write(
        self,
        spec: PackSpec,
        name: str | None = None,
        *,
        sign: bool | SecretKey = True,
        manifest: bytes | None = None,
        signature: bytes | None = None,
        extra_entries: list[tuple[zipfile.ZipInfo | str, bytes]] = (),
        tamper: Callable[[bytes], bytes] | None = None,
    ) -> Path:
        """Zip ``spec``; ``manifest``/``signature`` override the bytes written, and
        ``tamper`` rewrites the finished archive's bytes."""
        raw_manifest = manifest if manifest is not None else manifest_bytes(spec.manifest())
        if signature is None and sign:
            key = sign if isinstance(sign, SecretKey) else self.key
            signature = sign_manifest(raw_manifest, key)
        fields = spec.fields
        target = self.folder / (name or f"{fields.get('id')}-{fields.get('version')}.cbpack")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", raw_manifest)
            if signature is not None:
                zf.writestr("manifest.sig", signature)
            for path, data in sorted(spec.files.items()):
                zf.writestr(path, data)
            for entry, data in extra_entries:
                zf.writestr(entry, data)
        if tamper is not None:
            target.write_bytes(tamper(target.read_bytes()))
        return target

    def build(self, **spec_args: Any) -> Path:
        return self.write(self.spec(**spec_args))


def dump_manifest(raw: Any) -> bytes:
    return json.dumps(raw).encode()
