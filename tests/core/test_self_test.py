"""``casebook --self-test`` from the source tree: passes, prints one line, names a failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app import self_test
from desktop_app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_self_test_passes_with_one_summary_line_and_leaves_no_library(
    tmp_path: Path,
) -> None:
    home = Path.home()  # a temporary HOME (conftest): nothing may appear in it
    done = subprocess.run([sys.executable, "-m", "desktop_app", "--self-test"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Self-test passed"), done.stdout
    assert "org.casebook.sample.local-by-social" in lines[0]
    assert "exported as md, html, docx, jsonld, pdf" in lines[0]
    assert not list(home.rglob("casebook.sqlite3"))


def test_a_failing_step_is_named_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(run: self_test.Run) -> None:
        raise OSError("disk full")

    steps = [(name, broken if name == "search" else step) for name, step in self_test.STEPS]
    monkeypatch.setattr(self_test, "STEPS", steps)
    assert main(["--self-test"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "Self-test FAILED at 'search': disk full"


def test_a_missing_render_worker_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop_app.__main__ as entry

    monkeypatch.setattr(entry, "render_worker_command",
                        lambda: [sys.executable, "-c", "import sys; sys.exit(3)"])
    ok, line = self_test.run_self_test()
    assert not ok
    assert line.startswith("Self-test FAILED at 'render a page in the worker process'")
    assert "exit 3" in line
