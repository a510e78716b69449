"""Manual-like PDFs for the GUI benchmarks, cached in ``benchmarks/corpus/gui/``.

The manuals are A4 text pages written with the search corpus's seeded text model (so
the same words land on the same pages on every machine), an outline of one entry per
section (every 8 pages, chapters every 40), and a cover page with a solid pure-red
title band. The band is how the cold-start comparison sees, from outside the process,
that page 1 has really been drawn: no window chrome, placeholder or "loading" text of
either viewer is pure red, and a 1:1 render of a filled rectangle keeps its exact
colour in MuPDF and in poppler alike.

A short PDF of diagram pages (60 long vector curves each) adds pages whose drawing,
not their transport to the window, takes most of the time.

    .venv/bin/python -m benchmarks.gui_corpus [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from benchmarks.corpus import A4_HEIGHT, A4_WIDTH, CORPUS_ROOT, MARGIN, TextModel, _write_page

# Bump when the generated text or layout changes, so cached PDFs are rebuilt.
GENERATOR_VERSION = 1
GUI_CORPUS = CORPUS_ROOT / "gui"
SEED = 2026
SECTION_PAGES = 8
CHAPTER_PAGES = 40
# Pure red, exactly: the cover band the external page detector counts.
BAND_RGB = (1.0, 0.0, 0.0)
BAND_RECT = pymupdf.Rect(MARGIN, MARGIN, A4_WIDTH - MARGIN, MARGIN + 150)
TITLE_RECT = pymupdf.Rect(MARGIN, MARGIN + 170, A4_WIDTH - MARGIN, MARGIN + 390)


@dataclass(frozen=True)
class ManualSpec:
    name: str
    pages: int
    # Printed page labels (roman front matter, then arabic), as many real manuals
    # have: the worker's describe() reads one label per page when a PDF has them.
    front_matter: int = 0

    @property
    def file_name(self) -> str:
        return f"{self.name}.pdf"


MANUAL_500 = ManualSpec("manual-500", 500)
MANUAL_1000 = ManualSpec("manual-1000", 1000)
MANUAL_2400 = ManualSpec("manual-2400", 2400, front_matter=8)
SPECS = (MANUAL_500, MANUAL_1000, MANUAL_2400)
DIAGRAMS = "diagrams-40"
DIAGRAM_PAGES = 40
CURVES_PER_DIAGRAM = 60


def build_manual(spec: ManualSpec) -> bytes:
    """The PDF for ``spec``: the same bytes every time."""
    rng = random.Random(f"{SEED}-{GENERATOR_VERSION}-gui-{spec.name}")
    model = TextModel(SEED)
    doc = pymupdf.open()
    toc: list[list[object]] = []
    for number in range(spec.pages):
        page = doc.new_page(width=A4_WIDTH, height=A4_HEIGHT)
        if number == 0:
            _write_cover(page, spec)
            toc.append([1, "Cover", 1])
            continue
        _, paragraphs = model.page(rng)
        heading = None
        if number % SECTION_PAGES == 0:
            heading = model.heading(rng, ["council", "residents"])
            level = 1 if number % CHAPTER_PAGES == 0 else 2
            toc.append([level, heading, number + 1])
        _write_page(page, number, heading, paragraphs)
    doc.set_toc(toc)
    if spec.front_matter:
        doc.set_page_labels([
            {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
            {"startpage": spec.front_matter, "prefix": "", "style": "D", "firstpagenum": 1},
        ])
    doc.set_metadata({"title": f"Benchmark {spec.name.replace('-', ' ')}", "producer": "PyMuPDF"})
    data = doc.tobytes(garbage=1, deflate=True, no_new_id=True)
    doc.close()
    return data


def build_diagrams(pages: int = DIAGRAM_PAGES) -> bytes:
    """Pages of seeded random Bezier curves, like dense technical drawings: MuPDF spends
    ~25 ms on each at screen size, where a text page takes ~2 ms."""
    rng = random.Random(f"{SEED}-{GENERATOR_VERSION}-diagrams")
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page(width=A4_WIDTH, height=A4_HEIGHT)
        shape = page.new_shape()
        for _ in range(CURVES_PER_DIAGRAM):
            points = [pymupdf.Point(rng.uniform(MARGIN, A4_WIDTH - MARGIN),
                                    rng.uniform(MARGIN, A4_HEIGHT - MARGIN)) for _ in range(4)]
            shape.draw_bezier(*points)
        shape.finish(color=(0, 0, 0.4), width=0.3)
        shape.commit()
        page.insert_text((MARGIN, MARGIN - 12), f"Figure {number + 1}", fontsize=12,
                         fontname="hebo")
    data = doc.tobytes(garbage=1, deflate=True, no_new_id=True)
    doc.close()
    return data


def _build(name: str) -> bytes:
    if name == DIAGRAMS:
        return build_diagrams()
    return build_manual(next(spec for spec in SPECS if spec.name == name))


def _write_cover(page: pymupdf.Page, spec: ManualSpec) -> None:
    page.draw_rect(BAND_RECT, color=BAND_RGB, fill=BAND_RGB, width=0)
    page.insert_textbox(TITLE_RECT, f"Operating manual ({spec.pages} pages)",
                        fontsize=24, fontname="hebo")
    rng = random.Random(f"{SEED}-cover-{spec.name}")
    _, paragraphs = TextModel(SEED).page(rng)
    page.insert_textbox(pymupdf.Rect(MARGIN, 300, A4_WIDTH - MARGIN, A4_HEIGHT - MARGIN),
                        "\n\n".join(paragraphs)[:1800], fontsize=10, fontname="helv")


def _stamp() -> dict:
    return {"generator": GENERATOR_VERSION, "specs": [spec.__dict__ for spec in SPECS],
            "diagrams": [DIAGRAM_PAGES, CURVES_PER_DIAGRAM]}


def ensure_manuals(force: bool = False, root: Path = GUI_CORPUS) -> dict[str, Path]:
    """Every PDF, keyed by name (a manual's spec name, or DIAGRAMS); built now if missing
    or out of date."""
    paths = {spec.name: root / spec.file_name for spec in SPECS}
    paths[DIAGRAMS] = root / f"{DIAGRAMS}.pdf"
    record = root / "corpus.json"
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    intact = recorded.get("stamp") == _stamp() and all(
        path.is_file() and path.stat().st_size == recorded.get("sizes", {}).get(name)
        for name, path in paths.items())
    if intact and not force:
        return paths
    print(f"Generating the GUI benchmark PDFs in {root} ...", file=sys.stderr, flush=True)
    root.mkdir(parents=True, exist_ok=True)
    # The biggest first, so two cores finish together.
    ordered = [spec.name for spec in sorted(SPECS, key=lambda s: -s.pages)] + [DIAGRAMS]
    with ProcessPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, len(paths)))) as pool:
        for name, data in zip(ordered, pool.map(_build, ordered), strict=True):
            paths[name].write_bytes(data)
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    record.write_text(json.dumps({"stamp": _stamp(), "sizes": sizes}, indent=2) + "\n")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    for name, path in ensure_manuals(force=args.force).items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
