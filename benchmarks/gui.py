"""Measure the Casebook window, each figure against a baseline measured in the same run.

    .venv/bin/python -m benchmarks.gui [--quick] [--force-corpus]

1. Start-up to the first frame showing the library, vs a bare PySide6 window.
2. Opening a 500- and a 2,400-page PDF to page 1 painted, vs PyMuPDF opening the same
   bytes and drawing page 1 in-process; a cold ``casebook FILE.pdf`` vs zathura.
3. A page shown while scrolling, vs PyMuPDF's ``get_pixmap`` and ``mutool draw``; the
   longest GUI-thread stall while scrolling 100 pages, vs the same timer when idle.
4. Resident memory after 100 and 300 page turns, vs a bare window and zathura.

It runs on the real xcb platform: on ``$DISPLAY``, or on an Xvfb it starts itself when
``DISPLAY`` is unset. A missing peer (zathura, mutool, xdotool) is skipped, and said so.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pymupdf
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, qVersion
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from benchmarks.gui_corpus import (
    BAND_RECT,
    DIAGRAMS,
    MANUAL_500,
    MANUAL_1000,
    MANUAL_2400,
    ensure_manuals,
)
from benchmarks.gui_probe import RESULT_PREFIX, T0_ENV, rss_mb
from benchmarks.gui_qt import PaintWatch, pause, wait_until
from desktop_app.gui.reader.pdf.pdf_view import PdfView
from desktop_app.gui.reader.pdf.render_service import RenderService
from desktop_app.render.worker import Worker

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The bars the window is held to (see README.md).
STARTUP_BAR_S = 0.8
STARTUP_OVER_BARE_BAR_S = 0.4
OPEN_BARS_MS = {MANUAL_500.name: 150.0, MANUAL_2400.name: 250.0}
COLD_START_BAR_RATIO = 1.2
RENDER_BAR_RATIO = 1.5
STALL_BAR_MS = 50.0
MEMORY_BAR_MB = 300.0
# "Must not keep growing": what the later turns may add, at most.
MEMORY_GROWTH_BAR_MB = 10.0

# About the document area of Casebook's first window (1200 x 800 with the library dock,
# menus, tool and status bars): pages render at about the same scale in both.
HOST_SIZE = (900, 800)
SCREEN = "1280x900x24"
# zathura's window is sized so that, fitting the width, its page 1 is drawn at about
# Casebook's scale (both are checked from the red band's area, see ``band_scale``).
ZATHURA_RC = "set window-width 860\nset window-height 800\nset adjust-open width\n"
# Pure red, 0xAARRGGBB, as the grabbed screen holds it (gui_corpus's cover band).
RED = 0xFFFF0000
BAND_AREA_PT = BAND_RECT.width * BAND_RECT.height
# The band is 72,450 s² pixels at scale s, ~150,000 here: seen from a zoom of 53 % up.
PAGE_SEEN_RED_PIXELS = 20_000
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Settings:
    reps: int  # start-up, open and cold-start repetitions (medians)
    render_pages: int
    scroll_pages: int
    reading_steps: int
    turns: tuple[int, int]  # memory checkpoints: page turns in all


FULL_SETTINGS = Settings(reps=7, render_pages=20, scroll_pages=100, reading_steps=60,
                         turns=(100, 300))
QUICK_SETTINGS = Settings(reps=2, render_pages=5, scroll_pages=20, reading_steps=20,
                          turns=(20, 60))
# Page Down held: X's default key repeat is 25 a second.
READING_STEP_MS = 40


# --- small helpers ------------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tool(name: str) -> str | None:
    return shutil.which(name)


def _first_line(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


# --- the display --------------------------------------------------------------------


@dataclass
class Display:
    name: str
    platform: str  # "xcb", or "offscreen" when there is no X server at all
    xvfb: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.xvfb is not None:
            self.xvfb.terminate()
            self.xvfb.wait(5)


def ensure_display() -> Display:
    """The X display to measure on: $DISPLAY, else an Xvfb started here (stopped at exit).

    Without either, only the in-process figures are possible (Qt's offscreen platform);
    nothing can be compared with another program's window then.
    """
    if os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        return Display(os.environ["DISPLAY"], "xcb")
    xvfb = _tool("Xvfb")
    if xvfb is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return Display("", "offscreen")
    number = next(n for n in range(91, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    # -noreset: the server would otherwise reset whenever its last client leaves, between
    # two runs, and a program starting then would wait for that.
    proc = subprocess.Popen([xvfb, f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp",
                             "-noreset"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_for(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 10):
        proc.kill()
        raise SystemExit("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return Display(f":{number}", "xcb", proc)


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Poll without an event loop (for things outside Qt)."""
    deadline = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- machine ------------------------------------------------------------------------


def machine_context(display: Display) -> dict[str, object]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyside6": pyside_version,
        "qt": qVersion(),
        "pymupdf": pymupdf.__version__,
        "mupdf": pymupdf.VersionFitz,
        "display": f"{display.name} ({'Xvfb started here' if display.xvfb else 'given'})"
                   if display.platform == "xcb" else "none (offscreen)",
        "qt_platform": display.platform,
        "zathura": _first_line(["zathura", "--version"]) if _tool("zathura") else None,
        "mutool": _first_line(["mutool", "-v"]) if _tool("mutool") else None,
        "load_average_1m": round(load[0], 2) if load else None,
    }


# --- libraries ----------------------------------------------------------------------


@dataclass
class Libraries:
    base: Path  # the sample pack installed (`casebook demo --no-window`)
    full: Path  # the same plus the 1,000- and 2,400-page manuals in My documents
    doc_ids: dict[str, str]  # manual name -> doc id in My documents


def casebook_command() -> list[str]:
    """The ``casebook`` command of this environment, as a user would start it."""
    script = Path(sys.executable).with_name("casebook")
    return [str(script)] if script.exists() else [sys.executable, "-m", "desktop_app"]


def child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}


def compile_bytecode() -> None:
    """Casebook's own modules compiled, as pip does when it installs a wheel and as a
    first run leaves them: with PYTHONDONTWRITEBYTECODE set (some CI and container
    images set it) every start would compile them again, ~50 ms no user pays."""
    compileall.compile_dir(REPO / "desktop_app", quiet=1)


def clean_copy(library: Path, target: Path) -> Path:
    """A copy of ``library`` as a user's is after a normal Quit: closed cleanly (so the
    next start does not check it page by page) and with no window state (so every
    run opens the same tabs: none but the file it is given)."""
    shutil.copytree(library, target)
    env = {k: v for k, v in child_env().items() if k != "DISPLAY"}
    subprocess.run([*casebook_command(), "--data-dir", str(target), "library"], env=env,
                   check=True, capture_output=True)
    return target


def prepare_libraries(work: Path, manuals: dict[str, Path]) -> Libraries:
    """Build the data folders once, with the CLI, as a user would."""
    base, full = work / "library-base", work / "library-full"
    env = {k: v for k, v in child_env().items() if k != "DISPLAY"}  # demo: no window
    subprocess.run([*casebook_command(), "--data-dir", str(base), "demo", "--no-window"],
                   env=env, check=True, capture_output=True)
    shutil.copytree(base, full)
    doc_ids = {}
    for spec in (MANUAL_1000, MANUAL_2400):
        done = subprocess.run([*casebook_command(), "--data-dir", str(full), "docs", "add",
                               str(manuals[spec.name]), "--progress", "json"],
                              env=env, check=True, capture_output=True, text=True)
        event = json.loads(done.stdout.strip().splitlines()[-1])
        doc_ids[spec.name] = event["doc"]
    return Libraries(base, full, doc_ids)


# --- child probes -------------------------------------------------------------------


def run_probe(args: list[str], timeout_s: float = 120) -> dict:
    """Run ``benchmarks.gui_probe`` with the start time in the environment; its result."""
    env = child_env()
    env[T0_ENV] = repr(time.time())
    done = subprocess.run([sys.executable, "-m", "benchmarks.gui_probe", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise RuntimeError(f"probe {args[0]} gave no result (exit {done.returncode}): "
                       f"{done.stderr.strip()[-800:]}")


def bench_startup(libraries: Libraries, reps: int) -> dict:
    """Process start to the first frame with the library listed, and the bare window,
    alternating so both see the same machine."""
    casebook, bare = [], []
    run_probe(["startup", str(libraries.base)])  # warm the disk cache for both
    run_probe(["bare"])
    for _ in range(reps):
        casebook.append(run_probe(["startup", str(libraries.base)]))
        bare.append(run_probe(["bare"]))
    cb = statistics.median(r["first_paint_s"] for r in casebook)
    base = statistics.median(r["first_paint_s"] for r in bare)
    return {
        "casebook_s": round(cb, 3), "bare_s": round(base, 3),
        "casebook_runs_s": [round(r["first_paint_s"], 3) for r in casebook],
        "bare_runs_s": [round(r["first_paint_s"], 3) for r in bare],
        "python_ready_s": round(statistics.median(r["python_ready_s"] for r in casebook), 3),
        "library_rows": casebook[0]["rows"],
        "casebook_rss_mb": round(statistics.median(r["rss_mb"] for r in casebook), 1),
        "bare_rss_mb": round(statistics.median(r["rss_mb"] for r in bare), 1),
        "ratio": round(cb / base, 2), "over_bare_s": round(cb - base, 3),
        "bar_s": STARTUP_BAR_S, "bar_over_bare_s": STARTUP_OVER_BARE_BAR_S,
        "pass": cb < STARTUP_BAR_S and cb - base <= STARTUP_OVER_BARE_BAR_S,
    }


# --- in-process: a window with PdfViews -----------------------------------------------


@dataclass
class Opened:
    view: PdfView
    watch: PaintWatch
    started: float
    opened_s: float
    rendered_s: float
    painted_s: float


class Host:
    """A plain window holding PdfViews, with one RenderService running, as the main
    window has: the views are made the way DocumentTab makes them."""

    def __init__(self) -> None:
        self.window = QWidget()
        self.window.setWindowTitle("Casebook benchmark host")
        self.window.resize(*HOST_SIZE)
        self.layout = QVBoxLayout(self.window)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.window.show()
        self.service = RenderService(self.window)
        self.opened_at: dict[str, float] = {}
        self.rendered_at: dict[tuple[str, int], float] = {}
        self.service.opened.connect(self._on_opened)
        self.service.rendered.connect(self._on_rendered)

    def _on_opened(self, key: str, _info: object) -> None:
        self.opened_at[key] = time.perf_counter()

    def _on_rendered(self, key: str, page: int, _scale: float, _image: QImage) -> None:
        self.rendered_at.setdefault((key, page), time.perf_counter())

    def open(self, key: str, data: bytes) -> Opened:
        """Make a view of ``data`` and wait until its page 1 has been painted."""
        started = time.perf_counter()
        view = PdfView(self.service, key, data, self.window)
        self.layout.addWidget(view)
        view.show()
        watch = PaintWatch(view.viewport())
        watch.arm(lambda: (key, 0) in self.rendered_at)
        if not wait_until(lambda: watch.painted_at is not None, TIMEOUT_S):
            raise RuntimeError(f"{key}: page 1 was not painted")
        assert watch.painted_at is not None
        return Opened(view, watch, started, self.opened_at[key] - started,
                      self.rendered_at[(key, 0)] - started, watch.painted_at - started)

    def show_page(self, opened: Opened, page: int) -> tuple[float, float]:
        """Scroll to ``page`` (not rendered yet) and wait until it is painted;
        (seconds to its image arriving, seconds to it painted)."""
        key = opened.view.doc_key()
        started = time.perf_counter()
        opened.watch.arm(lambda: (key, page) in self.rendered_at)
        opened.view.go_to_page(page)
        if not wait_until(lambda: opened.watch.painted_at is not None, TIMEOUT_S):
            raise RuntimeError(f"{key}: page {page + 1} was not painted")
        assert opened.watch.painted_at is not None
        return self.rendered_at[(key, page)] - started, opened.watch.painted_at - started

    def close_view(self, opened: Opened) -> None:
        key = opened.view.doc_key()
        self.layout.removeWidget(opened.view)
        opened.view.deleteLater()
        wait_until(lambda: self.service.info(key) is None and self.service.is_idle(), 10)

    def close(self) -> None:
        self.service.close()
        self.window.close()
        self.window.deleteLater()
        pause(0.1)


@contextlib.contextmanager
def host_window() -> Iterator[Host]:
    host = Host()
    try:
        yield host
    finally:
        host.close()


def render_scale(view: PdfView) -> float:
    # The scale the view asks the worker for: zoom x devicePixelRatio, as it paints.
    return view._render_scale()


def bench_open(host: Host, manuals: dict[str, Path], reps: int) -> dict:
    """Construct a PdfView to page 1 painted, for the 500- and 2,400-page manuals, each
    repetition followed by the baseline: PyMuPDF opening the same bytes and drawing
    page 1 at the same scale in this process."""
    results = {}
    warm = host.open("warm-up", manuals[MANUAL_500.name].read_bytes())
    first_open_ms = round(warm.painted_s * 1000, 1)
    scale = render_scale(warm.view)
    host.close_view(warm)
    for spec in (MANUAL_500, MANUAL_2400):
        data = manuals[spec.name].read_bytes()
        runs: list[Opened] = []
        baseline, worker_open = [], []
        for rep in range(reps):
            opened = host.open(f"{spec.name}-{rep}", data)
            runs.append(opened)
            host.close_view(opened)
            baseline.append(_pymupdf_first_page(data, scale))
            worker_open.append(_worker_open(data))
        painted = [r.painted_s for r in runs]
        cb, base = median_ms(painted), median_ms(baseline)
        results[spec.name] = {
            "pages": spec.pages,
            "painted_ms": cb, "opened_ms": median_ms([r.opened_s for r in runs]),
            "rendered_ms": median_ms([r.rendered_s for r in runs]),
            "runs_ms": [round(s * 1000, 1) for s in painted],
            "worker_open_ms": median_ms(worker_open),
            "pymupdf_open_and_page1_ms": base,
            "ratio": round(cb / base, 1), "bar_ms": OPEN_BARS_MS[spec.name],
            "pass": cb < OPEN_BARS_MS[spec.name],
        }
    results["render_scale"] = round(scale, 4)
    results["first_open_in_session_ms"] = first_open_ms
    return results


def _pymupdf_first_page(data: bytes, scale: float) -> float:
    started = time.perf_counter()
    doc = pymupdf.open(stream=data, filetype="pdf")
    doc.load_page(0).get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
    seconds = time.perf_counter() - started
    doc.close()
    return seconds


def _worker_open(data: bytes) -> float:
    """The worker's own share: its open handler (open_pdf + describe), run here."""
    worker = Worker()
    started = time.perf_counter()
    worker.op_open({"op": "open", "id": 1, "doc": "d"}, data)
    seconds = time.perf_counter() - started
    worker.op_close({"op": "close", "id": 2, "doc": "d"}, b"")
    return seconds


def spread_pages(count: int, page_count: int) -> list[int]:
    """Up to ``count`` pages at least 3 apart, from page 5 on: none was drawn ahead
    before it is measured (the view also asks for the pages either side of those it
    shows, and it opened on page 1)."""
    first = 4
    step = max(3, (page_count - first - 1) // count)
    return [first + step * i for i in range(count) if first + step * i < page_count - 1]


def bench_render(host: Host, pdf: Path, pages: int) -> dict:
    """A page scrolled to: request to painted, at the view's zoom x DPR; after each, the
    same page with PyMuPDF in-process and with ``mutool draw`` (a process)."""
    data = pdf.read_bytes()
    opened = host.open(f"render-{pdf.stem}", data)
    scale = render_scale(opened.view)
    doc = pymupdf.open(stream=data, filetype="pdf")
    matrix = pymupdf.Matrix(scale, scale)
    doc.load_page(0).get_pixmap(matrix=matrix, alpha=False)  # fonts loaded, like the worker
    mutool = _tool("mutool")
    casebook, arrived, own, drawn = [], [], [], []
    for page in spread_pages(pages, doc.page_count):
        # Measured alone: nothing else queued with the worker, nothing left to paint.
        wait_until(host.service.is_idle, 10)
        pause(0.02)
        to_image, to_paint = host.show_page(opened, page)
        casebook.append(to_paint)
        arrived.append(to_image)
        # The worker draws the pages either side next: let it finish, so the baselines
        # run alone too.
        wait_until(host.service.is_idle, 10)
        started = time.perf_counter()
        doc.load_page(page).get_pixmap(matrix=matrix, alpha=False)
        own.append(time.perf_counter() - started)
        if mutool:
            # -F pnm: a raw image, so mutool is not charged for PNG compression.
            command = [mutool, "draw", "-q", "-F", "pnm", "-o", "/dev/null",
                       "-r", f"{scale * 72:.3f}", str(pdf), str(page + 1)]
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            drawn.append(time.perf_counter() - started)
    doc.close()
    host.close_view(opened)
    cb, base = median_ms(casebook), median_ms(own)
    return {
        "pdf": pdf.name, "pages": len(casebook), "render_scale": round(scale, 4),
        "dpi": round(scale * 72, 1),
        "casebook_painted_ms": cb, "casebook_image_arrived_ms": median_ms(arrived),
        "casebook_runs_ms": [round(s * 1000, 1) for s in casebook],
        "pymupdf_get_pixmap_ms": base,
        "mutool_draw_ms": median_ms(drawn) if drawn else None,
        "ratio": round(cb / base, 2),
        "ratio_mutool": round(cb / median_ms(drawn), 2) if drawn else None,
        "overhead_ms": round(cb - base, 2),
        "bar_ratio": RENDER_BAR_RATIO, "pass": cb <= RENDER_BAR_RATIO * base,
    }


class FirstPaints(QObject):
    """When each page was first painted with its own image (not a placeholder), each
    time taken in a zero timer after the paint, so it includes the flush to the screen."""

    def __init__(self, view: PdfView, service: RenderService) -> None:
        super().__init__(view)
        self.view, self.service = view, service
        self.painted_at: dict[int, float] = {}
        self._scale = render_scale(view)
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            key = self.view.doc_key()
            shown = [page for page in self.view._visible_pages()
                     if page not in self.painted_at
                     and self.service.cached(key, page, self._scale) is not None]
            if shown:
                QTimer.singleShot(0, lambda: self._done(shown))
        return False

    def _done(self, pages: list[int]) -> None:
        now = time.perf_counter()
        for page in pages:
            self.painted_at.setdefault(page, now)


def bench_reading(host: Host, pdf: Path, steps: int, interval_ms: int) -> dict:
    """Reading on with Page Down held (a scroll-bar page step every ``interval_ms``, key
    repeat's pace): for every page that comes into view, from the step that brought it
    in to the paint that shows its image; against PyMuPDF drawing the same page."""
    data = pdf.read_bytes()
    opened = host.open(f"reading-{pdf.stem}", data)
    view, bar = opened.view, opened.view.verticalScrollBar()
    start = min(200, view.page_count() // 8)  # away from the pages the open drew
    steps = min(steps, view.page_count() - start - 4)
    view.go_to_page(start)
    wait_until(host.service.is_idle, 10)
    pause(0.2)
    paints = FirstPaints(view, host.service)
    seen_at: dict[int, float] = {page: 0.0 for page in view._visible_pages()}
    done = {"steps": 0}

    def step() -> None:
        started = time.perf_counter()
        bar.triggerAction(bar.SliderAction.SliderPageStepAdd)
        for page in view._visible_pages():
            seen_at.setdefault(page, started)
        done["steps"] += 1

    stepper = QTimer()
    stepper.setTimerType(Qt.TimerType.PreciseTimer)
    stepper.setInterval(interval_ms)
    stepper.timeout.connect(step)
    stepper.start()
    wait_until(lambda: done["steps"] >= steps, 120)
    stepper.stop()
    wait_until(lambda: all(p in paints.painted_at for p, t in seen_at.items() if t), 10)
    waits = sorted(paints.painted_at[p] - t for p, t in seen_at.items()
                   if t and p in paints.painted_at)
    scale = render_scale(view)
    view_size = (view.viewport().width(), view.viewport().height())
    doc = pymupdf.open(stream=data, filetype="pdf")
    matrix = pymupdf.Matrix(scale, scale)
    doc.load_page(0).get_pixmap(matrix=matrix, alpha=False)
    own = []
    for page in [p for p, t in seen_at.items() if t][:40]:
        started = time.perf_counter()
        doc.load_page(page).get_pixmap(matrix=matrix, alpha=False)
        own.append(time.perf_counter() - started)
    doc.close()
    host.close_view(opened)
    p50, base = median_ms(waits), median_ms(own)
    p95 = round(waits[int(len(waits) * 0.95)] * 1000, 2)
    return {
        "pdf": pdf.name, "steps": steps, "interval_ms": interval_ms, "pages": len(waits),
        "render_scale": round(scale, 4),
        "shown_in_ms_p50": p50, "shown_in_ms_p95": p95,
        "shown_in_ms_max": round(waits[-1] * 1000, 2),
        "pymupdf_get_pixmap_ms": base, "ratio": round(p50 / base, 2),
        "ratio_p95": round(p95 / base, 2),
        "bar_ratio": RENDER_BAR_RATIO, "pass": p95 <= RENDER_BAR_RATIO * base,
        "paint_floor_ms_p95": paint_floor_ms(host, view_size, steps, interval_ms),
    }


class _ImageStrip(QWidget):
    """The least a viewer can do per scroll step: draw one ready image of the whole
    view at the new offset (no pages, no placeholders, no overlays)."""

    def __init__(self, parent: QWidget, size: tuple[int, int]) -> None:
        super().__init__(parent)
        self.resize(*size)
        self.offset = 0
        self.image = QImage(size[0], size[1] * 3, QImage.Format.Format_RGB888)
        self.image.fill(Qt.GlobalColor.white)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self.image, 0, self.offset % self.height(),
                          self.width(), self.height())
        painter.end()


def paint_floor_ms(host: Host, size: tuple[int, int], steps: int, interval_ms: int) -> float:
    """Step to painted-and-flushed for ``_ImageStrip`` (same window, same method as
    ``bench_reading``): the floor under 'reading on' for any Qt viewer; p95, ms."""
    strip = _ImageStrip(host.window, size)
    strip.show()
    pause(0.1)
    watch = PaintWatch(strip)
    waits: list[float] = []
    for _ in range(steps):
        started = time.perf_counter()
        watch.arm(lambda: True)
        strip.offset += size[1] - 40
        strip.update()
        wait_until(lambda: watch.painted_at is not None, 5)
        if watch.painted_at is not None:
            waits.append(watch.painted_at - started)
        pause(interval_ms / 1000)
    strip.deleteLater()
    waits.sort()
    return round(waits[int(len(waits) * 0.95)] * 1000, 2)


class TickGaps:
    """A 5 ms precise timer on the GUI thread: any gap longer than that between two
    ticks is time the thread spent on something else (a stall)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def summary(self) -> dict:
        ordered = sorted(self.gaps)
        return {"max_ms": round(ordered[-1] * 1000, 1),
                "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 1),
                "over_16ms": sum(g > 0.016 for g in ordered),
                "over_50ms": sum(g > STALL_BAR_MS / 1000 for g in ordered),
                "ticks": len(ordered)}


def bench_scroll(host: Host, pdf: Path, pages: int) -> dict:
    """Scroll ``pages`` pages with scroll-bar page steps every 16 ms (one 60 Hz frame,
    faster than key repeat) while a 5 ms timer measures the GUI thread's gaps; the
    baseline is the same timer for one second with the view idle."""
    opened = host.open("scroll", pdf.read_bytes())
    view, bar = opened.view, opened.view.verticalScrollBar()
    wait_until(host.service.is_idle, 10)
    ticks = TickGaps()
    ticks.start()
    pause(1.0)
    ticks.stop()
    idle = ticks.summary()
    rendered_before = len(host.rendered_at)
    scroller = QTimer()
    scroller.setTimerType(Qt.TimerType.PreciseTimer)
    scroller.setInterval(16)
    scroller.timeout.connect(lambda: bar.triggerAction(bar.SliderAction.SliderPageStepAdd))
    ticks.start()
    started = time.perf_counter()
    scroller.start()
    wait_until(lambda: view.current_page() >= pages, 120)
    scroller.stop()
    scrolled_s = time.perf_counter() - started
    # The stall that matters most may come after the last step: the final pages arrive.
    wait_until(host.service.is_idle, 10)
    pause(0.1)
    ticks.stop()
    busy = ticks.summary()
    host.close_view(opened)
    return {"pages": pages, "scroll_s": round(scrolled_s, 2),
            "pages_drawn": len(host.rendered_at) - rendered_before,
            "scrolling": busy, "idle": idle,
            "bar_ms": STALL_BAR_MS, "pass": busy["max_ms"] <= STALL_BAR_MS}


# --- outside the process: the screen ------------------------------------------------


class ScreenWatch:
    """Watches the whole X screen from this process, the same way for every program:
    when did anything first change (a window was mapped and drawn), and when did page
    1's pure-red band first show (the page was drawn)."""

    def __init__(self, app: QApplication) -> None:
        self.screen = app.primaryScreen()
        self.before = self._thumb(self.grab())

    def grab(self) -> QImage:
        return self.screen.grabWindow(0).toImage()

    def reset(self) -> None:
        self.before = self._thumb(self.grab())

    @staticmethod
    def _thumb(image: QImage) -> bytes:
        # Nearest-pixel thumbnail: cheap to compare, and a window shows in it.
        small = image.scaled(80, 56, Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.FastTransformation)
        return bytes(small.convertToFormat(QImage.Format.Format_RGB32).constBits())

    def changed(self, image: QImage) -> float:
        now = self._thumb(image)
        cells = len(now) // 4
        return sum(now[i:i + 4] != self.before[i:i + 4] for i in range(0, len(now), 4)) / cells

    @staticmethod
    def red_pixels(image: QImage) -> int:
        # A 1-bit mask of the exact colour, counted as bits: ~1 ms for the whole screen.
        mask = image.createMaskFromColor(RED, Qt.MaskMode.MaskInColor)
        return int.from_bytes(bytes(mask.constBits()), "little").bit_count()

    def settle(self, timeout_s: float = 5.0) -> None:
        """Wait until the screen looks as it did before (the last window is gone)."""
        wait_for(lambda: self.changed(self.grab()) < 0.005, timeout_s)


@dataclass
class Launch:
    mapped_s: float | None = None
    page_s: float | None = None
    red_pixels: int = 0
    polls: int = 0
    pid: int = 0


def launch_and_watch(watch: ScreenWatch, command: list[str], env: dict[str, str],
                     then: Callable[[Launch], None] | None = None) -> Launch:
    """Start ``command`` and grab the screen every ~10 ms until page 1 shows; then (after
    ``then``, if given) end its whole process group and wait for its windows to go."""
    result = Launch()
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    result.pid = proc.pid
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            image = watch.grab()
            seen = time.perf_counter() - started
            result.polls += 1
            if result.mapped_s is None and watch.changed(image) > 0.02:
                result.mapped_s = seen
            red = watch.red_pixels(image)
            if red >= PAGE_SEEN_RED_PIXELS:
                result.page_s, result.red_pixels = seen, red
                result.mapped_s = result.mapped_s or seen
                break
            time.sleep(0.008)  # leave the CPUs to the program being measured
        if then is not None and result.page_s is not None:
            then(result)
    finally:
        _end_group(proc)
    watch.settle()
    return result


def _end_group(proc: subprocess.Popen) -> None:
    """End the process we started and its children (the render worker, the CLI job):
    start_new_session made it the leader of its own group, so this touches nothing else."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def band_scale(red_pixels: int) -> float:
    """The scale page 1 was drawn at, from the area of its red band."""
    return round((red_pixels / BAND_AREA_PT) ** 0.5, 3)


def zathura_command(pdf: Path, work: Path, rep: str) -> list[str]:
    config = work / "zathura-config"
    config.mkdir(exist_ok=True)
    (config / "zathurarc").write_text(ZATHURA_RC, encoding="utf-8")
    data = work / f"zathura-data-{rep}"  # no history: every run opens at page 1
    data.mkdir(exist_ok=True)
    return ["zathura", "-c", str(config), "-d", str(data), "--cache-dir", str(data), str(pdf)]


def bench_cold_start(watch: ScreenWatch, libraries: Libraries, pdf: Path, work: Path,
                     reps: int) -> dict:
    """``casebook --data-dir DIR FILE.pdf`` from process start to page 1 on screen: with a
    file new to the library (a fresh copy of it each time) and with one already in My
    documents; and zathura on the same file, measured the same way, alternating."""
    env = child_env()
    runs: dict[str, list[Launch]] = {"new": [], "again": [], "zathura": []}
    zathura = _tool("zathura") is not None
    # One untimed round first: every program then starts from a warm disk cache.
    launch_and_watch(watch, [*casebook_command(), "--data-dir", str(libraries.full), str(pdf)],
                     env)
    if zathura:
        launch_and_watch(watch, zathura_command(pdf, work, "warm"), env)
    for rep in range(reps):
        fresh = clean_copy(libraries.base, work / f"cold-new-{rep}")
        again = clean_copy(libraries.full, work / f"cold-again-{rep}")
        runs["new"].append(launch_and_watch(
            watch, [*casebook_command(), "--data-dir", str(fresh), str(pdf)], env))
        runs["again"].append(launch_and_watch(
            watch, [*casebook_command(), "--data-dir", str(again), str(pdf)], env))
        if zathura:
            runs["zathura"].append(launch_and_watch(watch, zathura_command(pdf, work, str(rep)),
                                                    env))
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(again, ignore_errors=True)
    result: dict = {"pdf": pdf.name, "method": "screen grabs every ~10 ms from outside; page "
                    "shown = page 1's red band on screen", "zathura": None}
    for name, launches in runs.items():
        if not launches:
            continue
        missing = [n for n, r in enumerate(launches) if r.page_s is None]
        if missing:
            raise RuntimeError(f"{name}: page 1 never showed in runs {missing}")
        result[name] = {
            "page_s": round(statistics.median(r.page_s or 0 for r in launches), 3),
            "mapped_s": round(statistics.median(r.mapped_s or 0 for r in launches), 3),
            "runs_s": [round(r.page_s or 0, 3) for r in launches],
            "page_scale": band_scale(statistics.median(r.red_pixels for r in launches)),
            "polls_per_s": round(sum(r.polls for r in launches)
                                 / sum(r.page_s or 1 for r in launches), 1),
        }
    if result["zathura"]:
        peer = result["zathura"]["page_s"]
        for name in ("new", "again"):
            ratio = result[name]["page_s"] / peer
            result[name].update(ratio=round(ratio, 2), bar_ratio=COLD_START_BAR_RATIO,
                                **{"pass": ratio <= COLD_START_BAR_RATIO})
    return result


# --- memory -------------------------------------------------------------------------


def bench_memory(watch: ScreenWatch | None, libraries: Libraries, pdf: Path, work: Path,
                 turns: tuple[int, int]) -> dict:
    """Casebook's real window (a child process) after ``turns`` page turns of the
    1,000-page manual, each page drawn before the next; zathura after the same turns."""
    probe = run_probe(["memory", str(libraries.full), "local.my-documents",
                       libraries.doc_ids[MANUAL_1000.name], *map(str, turns)])
    samples = {s["turns"]: s for s in probe["samples"]}
    first, last = samples[turns[0]], samples[turns[1]]
    gui_growth = last["gui_rss_mb"] - first["gui_rss_mb"]
    worker_growth = last["worker_rss_mb"] - first["worker_rss_mb"]
    result = {
        "pdf": pdf.name, "samples": probe["samples"], "render_scale": probe["render_scale"],
        "viewport": probe["viewport"], "cache_limit_mb": probe["cache_limit_mb"],
        "gui_growth_mb": round(gui_growth, 1), "worker_growth_mb": round(worker_growth, 1),
        "bar_mb": MEMORY_BAR_MB, "bar_growth_mb": MEMORY_GROWTH_BAR_MB,
        "pass": (max(first["gui_rss_mb"], last["gui_rss_mb"]) < MEMORY_BAR_MB
                 and max(first["worker_rss_mb"], last["worker_rss_mb"]) < MEMORY_BAR_MB
                 and gui_growth <= MEMORY_GROWTH_BAR_MB
                 and worker_growth <= MEMORY_GROWTH_BAR_MB),
        "zathura": None,
    }
    if watch is not None and _tool("zathura") and _tool("xdotool"):
        watch.reset()  # the screen as it is now, with the benchmark's own window gone
        result["zathura"] = zathura_memory(watch, pdf, work, turns)
    return result


def zathura_memory(watch: ScreenWatch, pdf: Path, work: Path, turns: tuple[int, int]) -> dict:
    """zathura's resident memory after the same page turns ('J', next page, every 40 ms:
    zathura draws asynchronously, so each page is drawn before the next key)."""
    samples: list[dict] = []

    def turn_pages(launch: Launch) -> None:
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--pid",
                                str(launch.pid)], capture_output=True, text=True, timeout=10)
        window = found.stdout.split()[0]
        subprocess.run(["xdotool", "windowfocus", "--sync", window], check=True, timeout=10)
        samples.append({"turns": 0, "rss_mb": rss_mb(launch.pid)})
        done = 0
        for target in turns:
            keys = ["J"] * (target - done)
            subprocess.run(["xdotool", "key", "--delay", "40", *keys], check=True, timeout=120)
            done = target
            time.sleep(0.5)
            samples.append({"turns": done, "rss_mb": rss_mb(launch.pid)})

    launch_and_watch(watch, zathura_command(pdf, work, "memory"), child_env(), then=turn_pages)
    return {"samples": samples}


# --- report -------------------------------------------------------------------------


def verdict(passed: bool | None) -> str:
    return "" if passed is None else "PASS" if passed else "FAIL"


def summary_rows(result: dict) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    start = result["startup"]
    rows.append(("Start-up to library painted (s)", f"{start['casebook_s']:.3f}",
                 f"{start['bare_s']:.3f} bare PySide6 window",
                 f"{start['ratio']:.1f}x (+{start['over_bare_s']:.2f} s)",
                 f"< {STARTUP_BAR_S} s, <= +{STARTUP_OVER_BARE_BAR_S} s",
                 verdict(start["pass"])))
    opening = result["open"]
    for spec in (MANUAL_500, MANUAL_2400):
        fig = opening[spec.name]
        rows.append((f"Open {spec.pages:,} pages to page 1 painted (ms)",
                     f"{fig['painted_ms']:.1f}",
                     f"{fig['pymupdf_open_and_page1_ms']:.1f} PyMuPDF open + page 1",
                     f"{fig['ratio']:.1f}x", f"< {fig['bar_ms']:.0f} ms", verdict(fig["pass"])))
        rows.append(("  of which the worker's open (ms)", f"{fig['worker_open_ms']:.1f}", "", "",
                     "", ""))
    cold = result["cold_start"]
    if cold is None:
        rows.append(("Cold start vs zathura", "skipped (no X display)", "", "", "", ""))
    else:
        for name, label in (("new", "new file"), ("again", "already in My documents")):
            fig = cold[name]
            peer = cold["zathura"]
            rows.append((f"Cold start to page 1, {label} (s)", f"{fig['page_s']:.3f}",
                         f"{peer['page_s']:.3f} zathura" if peer else "zathura not installed",
                         f"{fig['ratio']:.2f}x" if peer else "",
                         f"<= {COLD_START_BAR_RATIO}x" if peer else "",
                         verdict(fig.get("pass"))))
    for kind, label in (("text", "text page"), ("diagrams", "diagram page")):
        render = result["render"][kind]
        rows.append((f"Page jumped to (go_to_page), {label} (ms)",
                     f"{render['casebook_painted_ms']:.2f}",
                     f"{render['pymupdf_get_pixmap_ms']:.2f} PyMuPDF get_pixmap",
                     f"{render['ratio']:.2f}x", f"<= {RENDER_BAR_RATIO}x",
                     verdict(render["pass"])))
        if render["mutool_draw_ms"] is not None:
            rows.append(("  vs mutool draw, a process (ms)",
                         f"{render['casebook_painted_ms']:.2f}",
                         f"{render['mutool_draw_ms']:.2f} mutool draw",
                         f"{render['ratio_mutool']:.2f}x", "", ""))
    for kind, label in (("text", "text pages"), ("diagrams", "diagram pages")):
        reading = result["reading"][kind]
        rows.append((f"Reading on (Page Down every {reading['interval_ms']} ms), {label}: "
                     "step to page shown, p95 (ms)", f"{reading['shown_in_ms_p95']:.2f}",
                     f"{reading['pymupdf_get_pixmap_ms']:.2f} PyMuPDF get_pixmap",
                     f"{reading['ratio_p95']:.2f}x", f"<= {RENDER_BAR_RATIO}x",
                     verdict(reading["pass"])))
        rows.append(("  vs the paint floor: one ready image drawn per step (ms)",
                     f"{reading['shown_in_ms_p95']:.2f}",
                     f"{reading['paint_floor_ms_p95']:.2f} bare widget",
                     f"{reading['shown_in_ms_p95'] / reading['paint_floor_ms_p95']:.2f}x",
                     "", ""))
    scroll = result["scroll"]
    rows.append((f"Longest GUI stall, {scroll['pages']} pages scrolled (ms)",
                 f"{scroll['scrolling']['max_ms']:.1f}",
                 f"{scroll['idle']['max_ms']:.1f} same timer, idle",
                 f"{scroll['scrolling']['max_ms'] / scroll['idle']['max_ms']:.1f}x",
                 f"<= {STALL_BAR_MS:.0f} ms", verdict(scroll["pass"])))
    rows += _memory_rows(result["memory"], start)
    return rows


def _memory_rows(memory: dict, start: dict) -> list[tuple[str, ...]]:
    samples = {s["turns"]: s for s in memory["samples"]}
    first, last = sorted(samples)[1:3]
    gui = f"{samples[first]['gui_rss_mb']:.0f} / {samples[last]['gui_rss_mb']:.0f}"
    worker = f"{samples[first]['worker_rss_mb']:.0f} / {samples[last]['worker_rss_mb']:.0f}"
    rows = [
        (f"GUI RSS after {first} / {last} turns (MB)", gui,
         f"{start['bare_rss_mb']:.0f} bare window", "", f"< {MEMORY_BAR_MB:.0f} MB, flat",
         verdict(memory["pass"])),
        (f"Worker RSS after {first} / {last} turns (MB)", worker, "", "", "", ""),
    ]
    zathura = memory["zathura"]
    if zathura:
        peer = {s["turns"]: s["rss_mb"] for s in zathura["samples"]}
        total = samples[last]["gui_rss_mb"] + samples[last]["worker_rss_mb"]
        rows.append((f"GUI + worker after {last} turns (MB)", f"{total:.0f}",
                     f"{peer[last]:.0f} zathura ({peer[first]:.0f} after {first})",
                     f"{total / peer[last]:.2f}x", "", ""))
    return rows


def print_report(result: dict) -> None:
    machine = result["machine"]
    print(f"\nCasebook GUI benchmarks ({'quick' if result['quick'] else 'full'} run)")
    print(f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, PySide6 "
          f"{machine['pyside6']} (Qt {machine['qt']}, {machine['qt_platform']} on "
          f"{machine['display']}), PyMuPDF {machine['pymupdf']}, {machine['zathura']}, "
          f"{machine['mutool']}, load {machine['load_average_1m']} at start\n")
    print_table(("Measure", "Casebook", "Baseline", "Ratio", "Bar", "Result"),
                summary_rows(result))
    for note in result["notes"]:
        print(f"\n{note}")


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
              .rstrip())


# --- main ---------------------------------------------------------------------------


def run_all(app: QApplication, display: Display, settings: Settings, manuals: dict[str, Path],
            work: Path) -> tuple[dict, list[str]]:
    notes: list[str] = []
    _log("Preparing the libraries (casebook demo, docs add) ...")
    libraries = prepare_libraries(work, manuals)
    _log(f"Start-up: {settings.reps} x Casebook and a bare window ...")
    startup = bench_startup(libraries, settings.reps)
    external = display.platform == "xcb"
    watch = ScreenWatch(app) if external else None
    cold = None
    if watch is not None:
        _log(f"Cold start: {settings.reps} x casebook FILE.pdf (new, again) and zathura ...")
        cold = bench_cold_start(watch, libraries, manuals[MANUAL_2400.name], work, settings.reps)
    else:
        notes.append("No X display and no Xvfb (apt-get install xvfb): Qt ran offscreen, and the "
                     "cold start and zathura were not measured.")
    if _tool("zathura") is None:
        notes.append("zathura is not installed, so it was not compared; install it with "
                     "'apt-get install zathura' (Debian/Ubuntu) and run again.")
    if _tool("mutool") is None:
        notes.append("mutool is not installed, so it was not compared; install it with "
                     "'apt-get install mupdf-tools' and run again.")
    if _tool("xdotool") is None and _tool("zathura"):
        notes.append("xdotool is not installed: zathura's memory was not measured.")
    with host_window() as host:
        _log(f"Open: {settings.reps} x 500 and 2,400 pages ...")
        opening = bench_open(host, manuals, settings.reps)
        _log(f"Render: {settings.render_pages} pages; scroll {settings.scroll_pages} pages ...")
        render = {"text": bench_render(host, manuals[MANUAL_1000.name], settings.render_pages),
                  "diagrams": bench_render(host, manuals[DIAGRAMS], settings.render_pages)}
        scroll = bench_scroll(host, manuals[MANUAL_1000.name], settings.scroll_pages)
        _log(f"Reading on: {settings.reading_steps} x Page Down, text and diagrams ...")
        reading = {kind: bench_reading(host, manuals[name], settings.reading_steps,
                                       READING_STEP_MS)
                   for kind, name in (("text", MANUAL_1000.name), ("diagrams", DIAGRAMS))}
    _log(f"Memory: {settings.turns[1]} page turns, Casebook and zathura ...")
    memory = bench_memory(watch, libraries, manuals[MANUAL_1000.name], work, settings.turns)
    return {"startup": startup, "open": opening, "cold_start": cold, "render": render,
            "reading": reading, "scroll": scroll, "memory": memory}, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 repetitions and fewer pages: a smoke check (~1 min)")
    parser.add_argument("--force-corpus", action="store_true",
                        help="regenerate the PDFs even if they are cached")
    args = parser.parse_args(argv)
    settings = QUICK_SETTINGS if args.quick else FULL_SETTINGS
    display = ensure_display()
    started = time.perf_counter()
    try:
        context = machine_context(display)
        manuals = ensure_manuals(force=args.force_corpus)
        app = QApplication(sys.argv[:1])
        compile_bytecode()
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        # The libraries live on the same disk as a user's would, not in a RAM /tmp.
        with tempfile.TemporaryDirectory(dir=RESULTS_DIR, prefix="gui-") as work:
            figures, notes = run_all(app, display, settings, manuals, Path(work))
    finally:
        display.stop()
    result = {"machine": context, "quick": args.quick, "settings": asdict(settings),
              **figures, "notes": notes, "total_s": round(time.perf_counter() - started, 1)}
    out = RESULTS_DIR / ("gui-latest-quick.json" if args.quick else "gui-latest.json")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_report(result)
    print(f"\nResults written to {out} ({result['total_s']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
