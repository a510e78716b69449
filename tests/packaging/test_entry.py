"""The entry point's routing of child processes in a frozen build (no ``-m`` there)."""

from __future__ import annotations

import sys

import pytest

import desktop_app.__main__ as entry


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)


def test_source_tree_starts_the_worker_with_dash_m() -> None:
    assert entry.render_worker_command() == [sys.executable, "-m", entry.WORKER_MODULE]


@pytest.mark.usefixtures("frozen")
def test_frozen_build_starts_its_qt_free_worker_program(monkeypatch, tmp_path) -> None:
    program = tmp_path / "casebook"
    monkeypatch.setattr(sys, "executable", str(program))
    (tmp_path / "casebook-render").write_bytes(b"")
    assert entry.render_worker_command() == [str(tmp_path / "casebook-render")]


@pytest.mark.usefixtures("frozen")
def test_a_bundle_without_the_worker_program_starts_itself_with_the_hidden_flag(
        monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "casebook"))
    assert entry.render_worker_command() == [str(tmp_path / "casebook"), "--render-worker"]


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(("argv", "expected"), [
    (["-m", "desktop_app", "--data-dir", "D", "pack", "install", "P"],
     ["--data-dir", "D", "pack", "install", "P"]),
    (["-m", "desktop_app.render.worker"], ["--render-worker"]),
    (["-m", "somethingelse"], ["-m", "somethingelse"]),
    (["library"], ["library"]),
])
def test_frozen_build_maps_dash_m_to_its_own_entry_points(
    argv: list[str], expected: list[str]
) -> None:
    assert entry._frozen_module_argv(argv) == expected


def test_dash_m_is_left_alone_when_not_frozen() -> None:
    argv = ["-m", "desktop_app", "library"]
    assert entry._frozen_module_argv(argv) == argv
