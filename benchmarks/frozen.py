"""Issue 6's start-up bar: the frozen build against ``python -m desktop_app``, each
from process start to page 1 of a PDF on screen (Xvfb), alternating in one run.

    .venv/bin/python -m benchmarks.frozen [--reps 7] [--build]

Uses dist/casebook (``python packaging/build.py``; ``--build`` builds it first) and
the GUI benchmark's corpus and screen watching (benchmarks/gui.py). Bar: frozen no
slower than Python + 20 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from benchmarks.gui import (
    REPO,
    ScreenWatch,
    child_env,
    clean_copy,
    compile_bytecode,
    ensure_display,
    launch_and_watch,
    prepare_libraries,
)
from benchmarks.gui_corpus import MANUAL_500, ensure_manuals

BAR_RATIO = 1.2
FROZEN = REPO / "dist" / "casebook" / "casebook"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--build", action="store_true", help="build dist/casebook first")
    args = parser.parse_args(argv)
    if args.build or not FROZEN.exists():
        subprocess.run([sys.executable, str(REPO / "packaging" / "build.py")], check=True)
    display = ensure_display()
    if display.platform != "xcb":
        print("Needs a screen (Xvfb) to watch windows from outside.", file=sys.stderr)
        return 1
    manuals = ensure_manuals()
    app = QApplication(sys.argv[:1])
    compile_bytecode()  # the frozen build has its bytecode; so does a pip install
    watch = ScreenWatch(app)
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="cbfrozen") as tmp:
        libraries = prepare_libraries(Path(tmp), manuals)
        pdf = manuals[MANUAL_500.name]
        programs = {"python": [sys.executable, "-m", "desktop_app"], "frozen": [str(FROZEN)]}
        copies = iter(range(1_000_000))

        def command(program: list[str]) -> list[str]:
            library = clean_copy(libraries.full, Path(tmp) / f"run-{next(copies)}")
            return [*program, "--data-dir", str(library), str(pdf)]

        for program in programs.values():  # one untimed round: warm disk caches
            launch_and_watch(watch, command(program), env)
        runs: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(args.reps):
            for name, program in programs.items():
                launch = launch_and_watch(watch, command(program), env)
                if launch.page_s is None:
                    raise SystemExit(f"{name}: page 1 never showed")
                runs[name].append(launch.page_s)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    ratio = medians["frozen"] / medians["python"]
    print(json.dumps({"runs_s": runs, "median_s": medians}, indent=2))
    print(f"\nStart to page 1 of {pdf.name} (already in My documents), median of {args.reps}:")
    print(f"  python -m desktop_app: {medians['python']:.3f} s   frozen: {medians['frozen']:.3f} s"
          f"   ratio {ratio:.2f} (bar {BAR_RATIO}: {'PASS' if ratio <= BAR_RATIO else 'FAIL'})")
    display.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
