"""A reproducible benchmark corpus: real PDFs of guide-like English text, and signed packs.

The text is seeded random: the same spec gives the same words on the same pages, so
figures from different runs and machines are comparable. Generated files are cached
in ``benchmarks/corpus/<name>/`` (git-ignored) and rebuilt only when missing, when
the spec or generator changed, or with ``--force``.

    .venv/bin/python -m benchmarks.corpus [--quick] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
import zipfile
from bisect import bisect_left
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from itertools import accumulate
from pathlib import Path

import pymupdf

from benchmarks.vocabulary import RARE_WORDS, TOPICS, zipf_vocabulary
from desktop_app.core.packs.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    manifest_bytes,
    parse_manifest,
)
from desktop_app.core.packs.signing import (
    generate_key,
    load_secret_key,
    sign_manifest,
    write_key_pair,
)

# Bump when the generated text or layout changes, so cached corpora are rebuilt.
GENERATOR_VERSION = 1
CORPUS_ROOT = Path(__file__).resolve().parent / "corpus"
KEY_STEM = "benchmark-publisher"

A4_WIDTH, A4_HEIGHT = 595, 842
MARGIN = 56
HEADING_RECT = pymupdf.Rect(MARGIN, MARGIN, A4_WIDTH - MARGIN, MARGIN + 24)
BODY_RECT = pymupdf.Rect(MARGIN, MARGIN + 30, A4_WIDTH - MARGIN, A4_HEIGHT - MARGIN - 10)
BODY_FONT_SIZES = (10.5, 9.5, 8.5)  # smaller only when a long page would overflow

WORDS_PER_PAGE = (300, 500)
WORDS_PER_SENTENCE = (7, 26)
SENTENCES_PER_PARAGRAPH = (2, 7)
TOPIC_RATE = 0.08  # share of a page's words drawn from its topics
HEADING_RATE = 0.35
# How often a page is about each topic: council and residents run through everything.
TOPIC_WEIGHTS = {
    "council": 3.0, "residents": 3.0, "media": 2.0, "moderation": 1.0,
    "accessibility": 1.0, "consultation": 1.0, "budget": 1.0, "governance": 0.5,
}


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    pdfs: int
    pages: int
    packs: int
    seed: int = 2026

    @property
    def total_pages(self) -> int:
        return self.pdfs * self.pages


FULL = CorpusSpec("full", pdfs=20, pages=500, packs=4)
QUICK = CorpusSpec("quick", pdfs=2, pages=100, packs=2)


@dataclass(frozen=True)
class Corpus:
    spec: CorpusSpec
    root: Path
    pdfs: tuple[Path, ...]
    packs: tuple[Path, ...]
    public_key: Path

    @property
    def pdf_dir(self) -> Path:
        return self.root / "pdfs"


# --- text -------------------------------------------------------------------------


class TextModel:
    """Draws words: Zipf-distributed over the vocabulary, mixed with a page's topics."""

    def __init__(self, seed: int) -> None:
        self.words = zipf_vocabulary(seed)
        # Zipf with s = 1: the word of rank r has weight 1/r.
        self.cum_weights = list(accumulate(1.0 / rank for rank in range(1, len(self.words) + 1)))
        self.topic_names = list(TOPIC_WEIGHTS)
        self.topic_weights = list(TOPIC_WEIGHTS.values())
        # Within a topic the first entries are the most used, again roughly Zipf.
        self.topic_cum = {
            name: list(accumulate(1.0 / (i + 1) ** 0.7 for i in range(len(TOPICS[name]))))
            for name in TOPICS
        }

    def topic_word(self, rng: random.Random, topic: str) -> str:
        cum = self.topic_cum[topic]
        return TOPICS[topic][bisect_left(cum, rng.random() * cum[-1])]

    def sentence(self, rng: random.Random, topics: list[str]) -> str:
        count = rng.randint(*WORDS_PER_SENTENCE)
        words = rng.choices(self.words, cum_weights=self.cum_weights, k=count)
        for i in range(count):
            if rng.random() < TOPIC_RATE:
                words[i] = self.topic_word(rng, rng.choice(topics))
        if count > 12 and rng.random() < 0.5:
            words[rng.randint(4, count - 4)] += ","
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def page(self, rng: random.Random) -> tuple[str | None, list[str]]:
        """One page: an optional section heading and paragraphs of 300-500 words."""
        topics = rng.choices(self.topic_names, self.topic_weights, k=rng.choice((1, 2)))
        target = rng.randint(*WORDS_PER_PAGE)
        paragraphs: list[str] = []
        written = 0
        while written < target:
            sentences = [
                self.sentence(rng, topics)
                for _ in range(rng.randint(*SENTENCES_PER_PARAGRAPH))
            ]
            paragraph = " ".join(sentences)
            paragraphs.append(paragraph)
            written += paragraph.count(" ") + 1
        for word, chance in RARE_WORDS.items():
            if rng.random() < chance:
                paragraphs = _insert_word(rng, paragraphs, word)
        heading = self.heading(rng, topics) if rng.random() < HEADING_RATE else None
        return heading, paragraphs

    def heading(self, rng: random.Random, topics: list[str]) -> str:
        words = [self.topic_word(rng, rng.choice(topics)) for _ in range(rng.randint(2, 4))]
        number = f"{rng.randint(1, 12)}.{rng.randint(1, 9)}"
        return f"{number} " + " and ".join(dict.fromkeys(words)).capitalize()


def _insert_word(rng: random.Random, paragraphs: list[str], word: str) -> list[str]:
    index = rng.randrange(len(paragraphs))
    words = paragraphs[index].split(" ")
    words.insert(rng.randint(1, len(words) - 1), word)
    return [*paragraphs[:index], " ".join(words), *paragraphs[index + 1 :]]


# --- PDFs -------------------------------------------------------------------------


def build_pdf(spec: CorpusSpec, index: int) -> bytes:
    """PDF number ``index`` of the corpus: ``spec.pages`` A4 pages, same bytes every time."""
    # A string seed is hashed deterministically (unlike hash() of a tuple).
    rng = random.Random(f"{spec.seed}-{GENERATOR_VERSION}-pdf-{index}")
    model = TextModel(spec.seed)
    doc = pymupdf.open()
    for number in range(spec.pages):
        heading, paragraphs = model.page(rng)
        _write_page(doc.new_page(width=A4_WIDTH, height=A4_HEIGHT), number, heading, paragraphs)
    doc.set_metadata({"title": f"Benchmark guide {index + 1:02d}", "producer": "PyMuPDF"})
    # Deflated like a real publisher's PDF, so extraction pays for inflating streams.
    data = doc.tobytes(garbage=1, deflate=True, no_new_id=True)
    doc.close()
    return data


def _write_page(
    page: pymupdf.Page, number: int, heading: str | None, paragraphs: list[str]
) -> None:
    if heading:
        page.insert_textbox(HEADING_RECT, heading, fontsize=14, fontname="hebo")
    body = "\n\n".join(paragraphs)
    for size in BODY_FONT_SIZES:
        # A negative result means the text did not fit and nothing was written.
        if page.insert_textbox(BODY_RECT, body, fontsize=size, fontname="helv") >= 0:
            break
    else:
        raise RuntimeError(f"page {number + 1}: {len(body)} characters do not fit")
    page.insert_text((A4_WIDTH / 2 - 6, A4_HEIGHT - MARGIN / 2), str(number + 1),
                     fontsize=9, fontname="helv")


def _build_pdf_task(args: tuple[CorpusSpec, int]) -> bytes:
    return build_pdf(*args)


def build_pdfs(spec: CorpusSpec, out_dir: Path) -> list[Path]:
    """Write all the corpus PDFs, in parallel: each PDF has its own seed, so order is free."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"guide-{i + 1:02d}.pdf" for i in range(spec.pdfs)]
    workers = max(1, min(os.cpu_count() or 1, spec.pdfs))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        tasks = [(spec, i) for i in range(spec.pdfs)]
        for path, data in zip(paths, pool.map(_build_pdf_task, tasks), strict=True):
            path.write_bytes(data)
    return paths


# --- packs ------------------------------------------------------------------------


def pack_manifest(spec: CorpusSpec, number: int, pdfs: list[Path]) -> dict:
    """A format-1 manifest for pack ``number`` holding ``pdfs`` as guides."""
    documents, files = [], []
    for pdf in pdfs:
        data = pdf.read_bytes()
        path = f"documents/{pdf.name}"
        documents.append({
            "id": pdf.stem, "kind": "guide", "title": f"Benchmark {pdf.stem.replace('-', ' ')}",
            "path": path, "media_type": "application/pdf",
        })
        files.append({"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return {
        "format": 1, "id": f"org.casebook.bench-{spec.name}-{number}", "version": "1.0.0",
        "title": f"Benchmark pack {number}", "publisher": "Casebook benchmarks",
        "date": "2026-01-01", "language": "en-GB", "licence": "CC0",
        "documents": documents, "files": sorted(files, key=lambda f: f["path"]),
    }


def write_pack(target: Path, raw_manifest: dict, pdfs: list[Path], key_file: Path) -> Path:
    """Zip a signed pack the way the builder does (deflated, fixed timestamps)."""
    manifest = manifest_bytes(raw_manifest)
    parse_manifest(manifest)  # fail here, not in the middle of a benchmark
    signature = sign_manifest(manifest, load_secret_key(key_file))
    entries = [(MANIFEST_NAME, manifest), (SIGNATURE_NAME, signature)]
    entries += [(f"documents/{pdf.name}", pdf.read_bytes()) for pdf in pdfs]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return target


def build_packs(spec: CorpusSpec, pdfs: list[Path], out_dir: Path, key_file: Path) -> list[Path]:
    """Split the PDFs into ``spec.packs`` packs of consecutive guides."""
    out_dir.mkdir(parents=True, exist_ok=True)
    per_pack = -(-len(pdfs) // spec.packs)  # ceiling division
    packs = []
    for number in range(1, spec.packs + 1):
        members = pdfs[(number - 1) * per_pack : number * per_pack]
        raw = pack_manifest(spec, number, members)
        packs.append(write_pack(out_dir / f"{raw['id']}-1.0.0.cbpack", raw, members, key_file))
    return packs


# --- cache ------------------------------------------------------------------------


def _stamp(spec: CorpusSpec) -> dict:
    return {"generator": GENERATOR_VERSION, "spec": asdict(spec)}


def _load_cached(spec: CorpusSpec, root: Path) -> Corpus | None:
    """The cached corpus if it was built from this spec and all its files are intact."""
    try:
        recorded = json.loads((root / "corpus.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if recorded.get("stamp") != _stamp(spec):
        return None
    files = {root / name: size for name, size in recorded.get("files", {}).items()}
    if not all(path.is_file() and path.stat().st_size == size for path, size in files.items()):
        return None
    return Corpus(
        spec, root,
        pdfs=tuple(root / p for p in recorded["pdfs"]),
        packs=tuple(root / p for p in recorded["packs"]),
        public_key=root / recorded["public_key"],
    )


def _record(corpus: Corpus) -> None:
    paths = [*corpus.pdfs, *corpus.packs, corpus.public_key]
    rel = corpus.root
    recorded = {
        "stamp": _stamp(corpus.spec),
        "pdfs": [str(p.relative_to(rel)) for p in corpus.pdfs],
        "packs": [str(p.relative_to(rel)) for p in corpus.packs],
        "public_key": str(corpus.public_key.relative_to(rel)),
        "files": {str(p.relative_to(rel)): p.stat().st_size for p in paths},
    }
    (corpus.root / "corpus.json").write_text(json.dumps(recorded, indent=2) + "\n")


def ensure_corpus(spec: CorpusSpec, *, force: bool = False, root: Path | None = None,
                  log: bool = True) -> Corpus:
    """The corpus for ``spec``, built now if the cache does not hold it."""
    root = root or CORPUS_ROOT / spec.name
    if not force and (cached := _load_cached(spec, root)) is not None:
        return cached
    started = time.perf_counter()
    if log:
        print(f"Generating the {spec.name} corpus ({spec.pdfs} PDFs x {spec.pages} pages) "
              f"in {root} ...", file=sys.stderr, flush=True)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    secret_file, public_file = write_key_pair(
        generate_key("Casebook benchmark publisher"), root / KEY_STEM
    )
    pdfs = build_pdfs(spec, root / "pdfs")
    packs = build_packs(spec, pdfs, root / "packs", secret_file)
    corpus = Corpus(spec, root, tuple(pdfs), tuple(packs), public_file)
    _record(corpus)
    if log:
        print(f"Corpus ready in {time.perf_counter() - started:.1f} s.", file=sys.stderr)
    return corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 PDFs x 100 pages")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    corpus = ensure_corpus(QUICK if args.quick else FULL, force=args.force)
    size = sum(p.stat().st_size for p in corpus.pdfs)
    print(f"{len(corpus.pdfs)} PDFs ({corpus.spec.total_pages:,} pages, {size / 1e6:.1f} MB) "
          f"in {corpus.pdf_dir}; {len(corpus.packs)} packs; key {corpus.public_key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
