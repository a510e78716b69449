"""``casebook [FILE...]`` goes to the window without the CLI; everything else to the CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from desktop_app import cli, launch


def _parser_commands() -> set[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_the_shortcut_knows_every_command_the_parser_has() -> None:
    # A command missing here would be opened as a file called "sync" or "updates".
    assert _parser_commands() == launch.COMMANDS


@pytest.mark.parametrize("argv", [
    [], ["guide.pdf"], ["--data-dir", "/tmp/lib", "a.pdf", "b.md"], ["--verbose"],
    ["--data-dir=/tmp/lib", "pack.cbpack"],
])
def test_a_plain_window_request_is_read_the_way_the_cli_reads_it(argv, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    request = launch.window_request(argv)
    options, files = cli._split_window_arguments(argv, cli.build_parser())
    assert request is not None and files is not None
    assert request.files == [Path(f) for f in files]
    parsed = cli.build_parser().parse_args(options)
    assert request.data_dir == parsed.data_dir
    assert request.verbose == parsed.verbose


@pytest.mark.parametrize("argv", [
    ["sync"], ["--data-dir", "/tmp/lib", "library"], ["--help"], ["--version"],
    ["--self-test"], ["--unknown-option", "x.pdf"], ["-v"],
])
def test_commands_help_and_unknown_options_are_left_to_the_cli(argv, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    assert launch.window_request(argv) is None


def test_without_a_screen_the_cli_answers(monkeypatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(launch.sys, "platform", "linux")
    assert launch.window_request(["guide.pdf"]) is None
