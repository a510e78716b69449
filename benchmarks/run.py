"""Measure pack install throughput and search latency, each against its baseline.

Every figure is measured next to a baseline in the same run (PyMuPDF extraction alone,
raw FTS5, pdfgrep), because the machine may be busy with other work: the ratios are
what carry over between runs, the absolute figures less so.

    .venv/bin/python -m benchmarks.run [--quick] [--force-corpus]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymupdf

from benchmarks.corpus import FULL, QUICK, Corpus, ensure_corpus
from benchmarks.queries import QUERIES, Query, pdfgrep_pattern
from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import load_public_key
from desktop_app.core.packs.trust import trust_key
from desktop_app.core.search import index_for, search, to_fts_query

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The bars the app is held to (see README.md).
INSTALL_BAR_PAGES_PER_S = 600.0
SEARCH_BAR_P95_MS = 10.0
PDFGREP_BAR_SPEEDUP = 20.0

# The same query the app runs on the same index, minus the joins to
# pages/documents/packs and the Python that parses input and builds hits: what FTS5
# itself costs at best (top 20 by its own rank column, snippets for those only).
RAW_FTS_SQL = """
SELECT rowid, snippet({index}, 0, '[', ']', '…', 24) AS snippet, rank
FROM {index} WHERE {index} MATCH ? ORDER BY rank LIMIT 20
"""


@dataclass
class Settings:
    install_rounds: int
    search_warmup: int
    search_reps: int
    pdfgrep_reps: int


FULL_SETTINGS = Settings(install_rounds=2, search_warmup=2, search_reps=20, pdfgrep_reps=3)
QUICK_SETTINGS = Settings(install_rounds=1, search_warmup=1, search_reps=5, pdfgrep_reps=1)


# --- statistics ---------------------------------------------------------------------


def percentile(samples: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was really measured, never interpolated."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * pct // 100))  # ceiling
    return ordered[int(rank) - 1]


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p95_ms": round(percentile(samples, 95) * 1000, 3),
        "max_ms": round(max(samples) * 1000, 3),
        "samples": len(samples),
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# --- machine ------------------------------------------------------------------------


def machine_context() -> dict[str, object]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pymupdf": pymupdf.__version__,
        "mupdf": pymupdf.VersionFitz,
        "pdfgrep": _pdfgrep_version(),
        # Other work may share the machine: the load says how much, at the start.
        "load_average_1m": round(load[0], 2) if load else None,
    }


def _pdfgrep_version() -> str | None:
    if shutil.which("pdfgrep") is None:
        return None
    out = subprocess.run(["pdfgrep", "--version"], capture_output=True, text=True, check=False)
    # "This is pdfgrep version 2.1.2." -> "2.1.2"
    return out.stdout.split()[4].rstrip(".") if len(out.stdout.split()) > 4 else "?"


# --- install ------------------------------------------------------------------------


@dataclass
class InstallFigures:
    pages: int
    install_s: list[float] = field(default_factory=list)
    extraction_s: list[float] = field(default_factory=list)

    @property
    def install_pages_per_s(self) -> float:
        return self.pages / min(self.install_s)

    @property
    def extraction_pages_per_s(self) -> float:
        return self.pages / min(self.extraction_s)


def extract_all(pdfs: list[bytes]) -> int:
    """The baseline: PyMuPDF's text extraction alone, as the app calls it, nothing stored."""
    pages = 0
    for data in pdfs:
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            for page in doc:
                page.get_text("text")
                pages += 1
    return pages


def install_all(corpus: Corpus, store_file: Path) -> sqlite3.Connection:
    """A fresh store with every corpus pack installed; the connection is left open."""
    conn = open_library(store_file)
    trust_key(conn, load_public_key(corpus.public_key))
    for pack in corpus.packs:
        install_pack(conn, pack)
    return conn


def bench_install(corpus: Corpus, work_dir: Path, rounds: int) -> tuple[InstallFigures, Path]:
    """Alternate extraction and install rounds so both see the same machine load;
    the best round of each counts (the least disturbed by other work)."""
    pdf_bytes = [path.read_bytes() for path in corpus.pdfs]
    figures = InstallFigures(pages=corpus.spec.total_pages)
    store_file = work_dir / "store-0.sqlite3"
    for round_number in range(rounds):
        gc.collect()
        seconds, pages = timed(lambda: extract_all(pdf_bytes))
        assert pages == figures.pages, f"extracted {pages} pages, expected {figures.pages}"
        figures.extraction_s.append(seconds)
        store_file = work_dir / f"store-{round_number}.sqlite3"
        gc.collect()
        seconds, conn = timed(lambda file=store_file: install_all(corpus, file))
        stored = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
        conn.close()
        assert stored == figures.pages, f"installed {stored} pages, expected {figures.pages}"
        figures.install_s.append(seconds)
        _log(f"  round {round_number + 1}: extraction {pages / figures.extraction_s[-1]:.0f} "
             f"pages/s, install {pages / seconds:.0f} pages/s")
    return figures, store_file


# --- search -------------------------------------------------------------------------


@dataclass
class QueryFigures:
    query: Query
    fts: str
    hits: int
    casebook_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    pdfgrep_s: list[float] = field(default_factory=list)
    pdfgrep_pattern: str | None = None
    pdfgrep_exact: bool | None = None
    pdfgrep_matches: int | None = None


def raw_search(conn: sqlite3.Connection, fts: str) -> list:
    return conn.execute(RAW_FTS_SQL.format(index=index_for(fts)), (fts,)).fetchall()


def bench_search(conn: sqlite3.Connection, queries: Iterable[Query],
                 settings: Settings) -> list[QueryFigures]:
    figures = []
    for query in queries:
        fts = to_fts_query(query.text)
        assert fts is not None, query
        hits = conn.execute(
            "SELECT count(*) FROM pages_fts WHERE pages_fts MATCH ?", (fts,)
        ).fetchone()[0]
        figures.append(QueryFigures(query, fts, hits))
    for _ in range(settings.search_warmup):
        for item in figures:
            search(conn, item.query.text, limit=20)
            raw_search(conn, item.fts)
    for rep in range(settings.search_reps):
        for item in figures:
            # Alternate which goes first, so neither always finds the cache warmer.
            runs = [(item.casebook_s, lambda q=item.query.text: search(conn, q, limit=20)),
                    (item.raw_s, lambda f=item.fts: raw_search(conn, f))]
            for samples, fn in runs if rep % 2 == 0 else reversed(runs):
                samples.append(timed(fn)[0])
    return figures


# --- pdfgrep ------------------------------------------------------------------------


def run_pdfgrep(pattern: str, pdf_dir: Path, env: dict[str, str]) -> tuple[float, int]:
    """Time one cached pdfgrep search over the corpus PDFs; returns (seconds, matches)."""
    command = ["pdfgrep", "--cache", "-i", "-c", "-r", pattern, str(pdf_dir)]
    seconds, done = timed(
        lambda: subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    )
    if done.returncode not in (0, 1):  # 1: no match
        raise RuntimeError(f"pdfgrep failed ({done.returncode}): {done.stderr.strip()}")
    matches = sum(int(line.rsplit(":", 1)[1]) for line in done.stdout.splitlines() if ":" in line)
    return seconds, matches


def bench_pdfgrep(corpus: Corpus, figures: list[QueryFigures], settings: Settings) -> bool:
    """Time pdfgrep on each query it can express; False if pdfgrep is not installed."""
    if shutil.which("pdfgrep") is None:
        return False
    # Keep pdfgrep's cache beside the corpus it describes, out of the user's home.
    env = {**os.environ, "XDG_CACHE_HOME": str(corpus.root / "pdfgrep-cache")}
    run_pdfgrep("warm the cache", corpus.pdf_dir, env)
    for item in figures:
        grep = pdfgrep_pattern(item.query.text)
        if grep is None:
            continue
        item.pdfgrep_pattern, item.pdfgrep_exact = grep.pattern, grep.exact
        for _ in range(settings.pdfgrep_reps):
            seconds, item.pdfgrep_matches = run_pdfgrep(grep.pattern, corpus.pdf_dir, env)
            item.pdfgrep_s.append(seconds)
    return True


# --- report -------------------------------------------------------------------------


def pooled(figures: list[QueryFigures], attr: str, only_pdfgrep: bool = False) -> list[float]:
    chosen = [f for f in figures if f.pdfgrep_s] if only_pdfgrep else figures
    return [s for f in chosen for s in getattr(f, attr)]


def results_json(corpus: Corpus, context: dict, install: InstallFigures,
                 figures: list[QueryFigures], pdfgrep_ran: bool) -> dict:
    casebook, raw = summary_ms(pooled(figures, "casebook_s")), summary_ms(pooled(figures, "raw_s"))
    result: dict = {
        "machine": context,
        "corpus": {**asdict(corpus.spec), "total_pages": corpus.spec.total_pages},
        "install": {
            "pages": install.pages,
            "install_pages_per_s": round(install.install_pages_per_s, 1),
            "extraction_pages_per_s": round(install.extraction_pages_per_s, 1),
            "ratio_install_to_extraction": round(
                install.install_pages_per_s / install.extraction_pages_per_s, 3),
            "install_rounds_s": [round(s, 3) for s in install.install_s],
            "extraction_rounds_s": [round(s, 3) for s in install.extraction_s],
            "bar_pages_per_s": INSTALL_BAR_PAGES_PER_S,
            "pass": install.install_pages_per_s >= INSTALL_BAR_PAGES_PER_S,
        },
        "search": {
            "casebook": casebook, "raw_fts5": raw,
            "ratio_p50": round(casebook["p50_ms"] / raw["p50_ms"], 3),
            "ratio_p95": round(casebook["p95_ms"] / raw["p95_ms"], 3),
            "bar_p95_ms": SEARCH_BAR_P95_MS,
            "pass": casebook["p95_ms"] < SEARCH_BAR_P95_MS,
            "queries": [_query_json(f) for f in figures],
        },
        "pdfgrep": None,
    }
    if pdfgrep_ran:
        grep = summary_ms(pooled(figures, "pdfgrep_s"))
        same = summary_ms(pooled(figures, "casebook_s", only_pdfgrep=True))
        speedup_p50 = grep["p50_ms"] / same["p50_ms"]
        result["pdfgrep"] = {
            "pdfgrep": grep, "casebook_same_queries": same,
            "speedup_p50": round(speedup_p50, 1),
            "speedup_p95": round(grep["p95_ms"] / same["p95_ms"], 1),
            "bar_speedup": PDFGREP_BAR_SPEEDUP,
            "pass": speedup_p50 >= PDFGREP_BAR_SPEEDUP,
        }
    return result


def _query_json(item: QueryFigures) -> dict:
    out = {
        "query": item.query.text, "kind": item.query.kind, "fts": item.fts, "hits": item.hits,
        "casebook": summary_ms(item.casebook_s), "raw_fts5": summary_ms(item.raw_s),
    }
    if item.pdfgrep_s:
        out["pdfgrep"] = {**summary_ms(item.pdfgrep_s), "pattern": item.pdfgrep_pattern,
                          "exact": item.pdfgrep_exact, "matching_lines": item.pdfgrep_matches}
    return out


def print_report(result: dict, figures: list[QueryFigures]) -> None:
    machine, spec = result["machine"], result["corpus"]
    print(f"\nCasebook benchmarks: {spec['pdfs']} PDFs x {spec['pages']} pages = "
          f"{spec['total_pages']:,} pages in {spec['packs']} packs")
    print(f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, SQLite "
          f"{machine['sqlite']}, PyMuPDF {machine['pymupdf']}, pdfgrep {machine['pdfgrep']}, "
          f"load {machine['load_average_1m']} at start\n")
    _print_per_query(figures)
    install, searched, grep = result["install"], result["search"], result["pdfgrep"]
    rows = [
        ("Install (pages/s)", f"{install['install_pages_per_s']:.0f}",
         f"{install['extraction_pages_per_s']:.0f} PyMuPDF extraction",
         f"{install['ratio_install_to_extraction']:.2f}x",
         f">= {INSTALL_BAR_PAGES_PER_S:.0f}", install["pass"]),
        ("Search p50 (ms)", f"{searched['casebook']['p50_ms']:.2f}",
         f"{searched['raw_fts5']['p50_ms']:.2f} raw FTS5", f"{searched['ratio_p50']:.2f}x", "",
         None),
        ("Search p95 (ms)", f"{searched['casebook']['p95_ms']:.2f}",
         f"{searched['raw_fts5']['p95_ms']:.2f} raw FTS5", f"{searched['ratio_p95']:.2f}x",
         f"< {SEARCH_BAR_P95_MS:.0f} ms", searched["pass"]),
    ]
    if grep:
        same = grep["casebook_same_queries"]
        rows += [
            ("pdfgrep p50 (ms)", f"{same['p50_ms']:.2f} Casebook",
             f"{grep['pdfgrep']['p50_ms']:.0f} pdfgrep", f"{grep['speedup_p50']:.0f}x faster",
             f">= {PDFGREP_BAR_SPEEDUP:.0f}x", grep["pass"]),
            ("pdfgrep p95 (ms)", f"{same['p95_ms']:.2f} Casebook",
             f"{grep['pdfgrep']['p95_ms']:.0f} pdfgrep", f"{grep['speedup_p95']:.0f}x faster",
             "", None),
        ]
    _print_table(("Measure", "Casebook", "Baseline", "Ratio", "Bar", "Result"),
                 [(*row[:5], "" if row[5] is None else "PASS" if row[5] else "FAIL")
                  for row in rows])
    slowest = sorted(searched["queries"], key=lambda q: -q["casebook"]["p95_ms"])[:3]
    print("\nSlowest Casebook queries by p95: " + ", ".join(
        f"{q['query']} {q['casebook']['p95_ms']:.1f} ms ({q['hits']:,} pages)" for q in slowest))
    if not grep:
        print("\npdfgrep is not installed, so it was not compared; install it with "
              "'apt-get install pdfgrep' (Debian/Ubuntu) and run again.")


def _print_per_query(figures: list[QueryFigures]) -> None:
    rows = []
    for item in figures:
        cb, raw = summary_ms(item.casebook_s), summary_ms(item.raw_s)
        grep = f"{percentile(item.pdfgrep_s, 50) * 1000:.0f}" if item.pdfgrep_s else "-"
        if item.pdfgrep_s and not item.pdfgrep_exact:
            grep += " ~"
        rows.append((item.query.text, item.query.kind, f"{item.hits:,}",
                     f"{cb['p50_ms']:.2f}", f"{cb['p95_ms']:.2f}",
                     f"{raw['p50_ms']:.2f}", f"{raw['p95_ms']:.2f}", grep))
    _print_table(("Query", "Kind", "Pages", "Casebook p50", "p95", "Raw FTS5 p50", "p95",
                  "pdfgrep p50"), rows)
    print("(ms; pages = pages matching; ~ = pdfgrep runs a looser pattern: it cannot AND "
          "terms across a page or exclude)\n")


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
              .rstrip())


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- main ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a 2 x 100 page corpus and few repetitions: a smoke check")
    parser.add_argument("--force-corpus", action="store_true",
                        help="regenerate the corpus even if it is cached")
    args = parser.parse_args(argv)
    spec, settings = (QUICK, QUICK_SETTINGS) if args.quick else (FULL, FULL_SETTINGS)

    context = machine_context()
    corpus = ensure_corpus(spec, force=args.force_corpus)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    # The store lives on the same disk as a real library would, not in a RAM /tmp.
    with tempfile.TemporaryDirectory(dir=RESULTS_DIR, prefix="stores-") as work:
        _log(f"Install: {settings.install_rounds} round(s) of extraction and install ...")
        install, store_file = bench_install(corpus, Path(work), settings.install_rounds)
        _log(f"Search: {len(QUERIES)} queries x {settings.search_reps} ...")
        # A new connection, as the app has when it opens the library after installs.
        conn = open_library(store_file)
        try:
            figures = bench_search(conn, QUERIES, settings)
        finally:
            conn.close()
    _log("pdfgrep ...")
    pdfgrep_ran = bench_pdfgrep(corpus, figures, settings)

    result = results_json(corpus, context, install, figures, pdfgrep_ran)
    out = RESULTS_DIR / ("latest-quick.json" if args.quick else "latest.json")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_report(result, figures)
    print(f"\nResults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
