"""The command line as a publisher and a reader use it, run in-process on real files."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.cli import main
from tests.packfactory import PackFactory, make_pdf

SOURCE = Path(__file__).resolve().parents[2] / "content_packs" / "local-by-social"


def run(data: Path, *args: str) -> int:
    return main(["--data-dir", str(data), *map(str, args)])


def test_publisher_round_trip_keygen_build_sign_verify_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = tmp_path / "data", tmp_path / "dist"
    assert run(data, "pack", "keygen", "--name", "Agency", "-o", tmp_path / "agency") == 0
    assert run(data, "pack", "build", SOURCE, "-o", out) == 0
    pack = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert pack.name == "org.casebook.sample.local-by-social-1.0.0.cbpack"

    assert run(data, "pack", "sign", pack, "--key", tmp_path / "agency.key") == 0
    assert run(data, "pack", "verify", pack, "--key", tmp_path / "agency.pub") == 0
    assert "signed by Agency" in capsys.readouterr().out

    # The library does not trust Agency yet: install is refused until the key is added.
    assert run(data, "pack", "install", pack) == 1
    assert "does not trust" in capsys.readouterr().err
    assert run(data, "keys", "add", tmp_path / "agency.pub") == 0
    assert run(data, "pack", "install", pack) == 0
    assert "Installed org.casebook.sample.local-by-social 1.0.0" in capsys.readouterr().out


def test_install_progress_as_json_lines_for_the_gui(
    tmp_path: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    path = packs.write(packs.spec(), sign=False)
    assert run(data, "pack", "install", path, "--allow-unsigned", "--progress", "json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["event"] == "progress"
    assert events[-1] == {"event": "done", "pack": "org.example.sample", "version": "1.0.0",
                          "outcome": "installed", "trust": "unsigned", "previous_version": None}


def test_refusal_is_reported_as_a_json_error_event(
    tmp_path: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = packs.write(packs.spec(), sign=False)
    assert run(tmp_path / "data", "pack", "install", path, "--progress", "json") == 1
    captured = capsys.readouterr()
    last = json.loads(captured.out.splitlines()[-1])
    assert last["event"] == "error" and "not signed" in last["message"]
    assert "Traceback" not in captured.err


def test_update_rollback_and_remove_from_the_command_line(
    tmp_path: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    old = packs.write(packs.spec(), sign=False)
    new = packs.write(packs.spec(version="1.1.0", guide_pages=["about podcasts"]), sign=False)
    assert run(data, "pack", "install", old, "--allow-unsigned") == 0
    assert run(data, "pack", "install", new, "--allow-unsigned") == 0
    assert "Updated org.example.sample 1.1.0 (was 1.0.0)" in capsys.readouterr().out

    assert run(data, "pack", "rollback", "org.example.sample") == 0
    assert run(data, "pack", "list", "--json") == 0
    out = capsys.readouterr().out
    listed = json.loads(out[out.index("["):])
    assert [(p["version"], p["trust"]) for p in listed] == [("1.0.0", "unsigned")]

    assert run(data, "pack", "remove", "org.example.sample") == 0
    assert run(data, "pack", "list") == 0
    assert "No packs installed." in capsys.readouterr().out
    assert run(data, "pack", "remove", "org.example.sample") == 1
    assert "No pack with the id" in capsys.readouterr().err


def test_keys_list_shows_the_bundled_sample_publisher(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path / "data", "keys", "list", "--json") == 0
    keys = json.loads(capsys.readouterr().out)
    assert [(k["name"].split(" (")[0], k["origin"]) for k in keys] == [
        ("Casebook Sample Publisher", "bundled")]


def test_a_missing_pack_file_is_a_clear_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path / "data", "pack", "install", tmp_path / "nope.cbpack") == 1
    err = capsys.readouterr().err
    assert "nope.cbpack cannot be read" in err and "Traceback" not in err


def test_without_a_screen_casebook_shows_the_library_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert run(tmp_path / "data") == 0
    out = capsys.readouterr().out
    assert "No screen is available" in out and "The library is empty" in out


def test_docs_add_puts_a_loose_pdf_in_my_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "minutes.pdf"
    pdf.write_bytes(make_pdf(["Gritting routes were agreed."]))
    assert run(tmp_path / "data", "docs", "add", pdf, "--progress", "json") == 0
    done = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (done["event"], done["pack"], done["title"]) == ("done", "local.my-documents",
                                                           "minutes")
    assert run(tmp_path / "data", "search", "gritting", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["doc"] == done["doc"]


def test_a_damaged_library_points_to_store_restore_which_brings_the_backup_back(
    tmp_path: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    path = packs.write(packs.spec(), sign=False)
    assert run(data, "pack", "install", path, "--allow-unsigned") == 0
    assert run(data, "pack", "list") == 0  # the first open of an existing library backs it up
    assert run(data, "store", "backups") == 0
    assert "automatic" in capsys.readouterr().out

    store = data / "casebook.sqlite3"
    damaged = bytearray(store.read_bytes())
    middle = len(damaged) // 2
    damaged[middle:middle + 4096] = b"\xff" * 4096
    store.write_bytes(bytes(damaged))
    assert run(data, "pack", "list") == 1
    err = capsys.readouterr().err
    assert "casebook store restore" in err and "Traceback" not in err

    assert run(data, "store", "restore") == 0
    assert "previous file is kept" in capsys.readouterr().out
    assert run(data, "pack", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["pack"] == "org.example.sample"
    assert list(data.glob("casebook-damaged-*.sqlite3"))


def test_search_piped_into_head_stops_quietly(tmp_path: Path) -> None:
    """`casebook search … | head -1`: the pipe closes after one line; the command stops
    as Unix tools do, with no error message and no traceback in the log."""
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "desktop_app", "--data-dir", str(data), "demo",
                    "--no-window"], check=True, capture_output=True)
    read_end, write_end = os.pipe()
    # A one-page pipe, so the hits cannot all fit before the reader goes away.
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data), "search",
         "the OR social OR council", "--limit", "200"],
        stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert pipe.readline()  # what head does: one line, then close
    _, errors = process.communicate()
    assert process.returncode == 141, errors
    assert b"Error" not in errors and b"Traceback" not in errors
    log = next((data / "logs").glob("*.log")).read_text()
    assert "BrokenPipeError" not in log


def test_demo_falls_back_to_the_text_view_when_qt_cannot_start(tmp_path: Path) -> None:
    """A screen is there but Qt cannot use it (a missing platform library): `casebook
    demo` says so and shows the library as text, instead of aborting."""
    env = {**os.environ, "QT_QPA_PLATFORM": "no-such-platform"}
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(tmp_path / "data"), "demo"],
        capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "The window cannot start" in done.stdout
    assert "Local by Social" in done.stdout and "Search for" in done.stdout
