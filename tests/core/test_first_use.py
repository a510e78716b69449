"""Trust on first use of a catalogue's key, made explicit: the reader is shown the key's
fingerprint and the publisher's name, decides once, and can take it back. Real HTTP on
127.0.0.1, real stores and packs; the CLI as a reader would use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app import cli
from desktop_app.core.errors import CasebookError
from desktop_app.core.library import open_library
from desktop_app.core.packs import browse, first_use
from desktop_app.core.packs.signing import generate_key, public_key_bytes
from desktop_app.core.packs.trust import list_keys
from tests.helpers import direct_connections, served_folder, write_catalogue
from tests.packfactory import PackFactory

PUBLISHER = generate_key("Harbour Council Publishing")


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A catalogue and pack signed by a key the reader's library does not know, with
    the key published beside it: (folder, catalogue address)."""
    direct_connections(monkeypatch)
    folder = tmp_path / "www"
    with served_folder(folder) as base:
        factory = PackFactory(tmp_path / "packs", PUBLISHER)
        pack = factory.write(factory.spec(pack_id="org.example.harbour"))
        write_catalogue(folder, [pack], "Harbour Council", PUBLISHER)
        yield folder, base + "catalogue.json"


def run(capsys, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--data-dir", str(data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_reader_is_shown_the_fingerprint_trusts_once_and_can_take_it_back(
        catalogue, tmp_path, capsys) -> None:
    _, address = catalogue
    reader = tmp_path / "reader"
    code, out, _ = run(capsys, reader, "catalogue", "list", address)
    fingerprint = first_use.KeyQuestion(PUBLISHER.public, "", "").fingerprint
    assert code == 0 and "signed by a key you do not trust yet" in out
    assert "Harbour Council Publishing" in out and fingerprint in out
    assert f"casebook catalogue trust {address}" in out
    code, _, err = run(capsys, reader, "catalogue", "install", address, "org.example.harbour")
    assert code == 1 and "--allow-unsigned" in err  # not trusted: refused as an import is

    code, out, _ = run(capsys, reader, "catalogue", "trust", address)
    assert code == 0 and f"Now trusting Harbour Council Publishing ({PUBLISHER.public.key_id})" \
        in out
    code, out, _ = run(capsys, reader, "catalogue", "list", address)
    assert "signed by Harbour Council Publishing" in out and fingerprint not in out
    code, out, _ = run(capsys, reader, "catalogue", "install", address, "org.example.harbour")
    assert code == 0 and "signed by Harbour Council Publishing" in out
    conn = open_library(reader / "casebook.sqlite3")
    try:
        assert (PUBLISHER.public.key_id, "user") in [(k.key_id, k.origin)
                                                     for k in list_keys(conn)]
    finally:
        conn.close()

    assert run(capsys, reader, "keys", "remove", PUBLISHER.public.key_id)[0] == 0
    code, out, _ = run(capsys, reader, "catalogue", "list", address)
    assert fingerprint in out  # asked again


def test_a_refusal_is_remembered_and_an_explicit_trust_still_works(catalogue, store) -> None:
    _, address = catalogue
    listing = browse.browse(store, address)
    question = first_use.key_question(store, listing)
    assert question is not None and question.publisher == "Harbour Council"
    first_use.answer(store, question, trust=False)
    assert first_use.key_question(store, browse.browse(store, address)) is None
    assert PUBLISHER.public.key_id not in {k.key_id for k in list_keys(store)}
    assert first_use.forget_refusal(store, PUBLISHER.public.key_id) is True
    again = first_use.key_question(store, browse.browse(store, address))
    assert again is not None
    first_use.answer(store, again, trust=True)
    assert browse.browse(store, address).catalogue.signed_by == "Harbour Council Publishing"


def test_a_key_that_did_not_sign_the_catalogue_is_never_offered(catalogue, store) -> None:
    folder, address = catalogue
    (folder / "publisher.pub").write_bytes(public_key_bytes(generate_key("Someone").public))
    assert first_use.key_question(store, browse.browse(store, address)) is None


def test_a_catalogue_changed_after_signing_is_not_offered_for_trust(catalogue, store) -> None:
    folder, address = catalogue
    raw = json.loads((folder / "catalogue.json").read_text())
    raw["publisher"] = "Someone Else"
    (folder / "catalogue.json").write_text(json.dumps(raw))
    with pytest.raises(CasebookError, match="does not match"):
        first_use.key_question(store, browse.browse(store, address))
