"""The command line's pack-update commands: check the publishers' catalogues, download
and install what they offer, and (for publishers) write a catalogue."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.cli_output import (
    emit,
    install_event,
    json_progress,
    print_notes_moved,
    text_progress,
)
from desktop_app.core.errors import CasebookError
from desktop_app.core.inert_text import inert_json
from desktop_app.core.packs.catalogue import (
    CATALOGUE_NAME,
    SIGNATURE_SUFFIX,
    UpdateCheck,
    build_catalogue,
    check_updates,
    sign_catalogue,
)
from desktop_app.core.packs.download import downloads_dir, install_update
from desktop_app.core.packs.signing import load_secret_key

if TYPE_CHECKING:
    from desktop_app.cli import Context


def add_commands(commands: argparse._SubParsersAction) -> None:
    updates = commands.add_parser("updates", help="check for and install newer versions of "
                                  "packs from their publishers' catalogues")
    actions = updates.add_subparsers(dest="updates_command", metavar="ACTION", required=True)

    p = actions.add_parser("check", help="ask each pack's catalogue for a newer version")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_updates_check)

    p = actions.add_parser("install", help="download and install the offered updates "
                           "(all of them, or the packs named)")
    p.add_argument("pack_id", nargs="*", metavar="PACK_ID")
    p.add_argument("--allow-unsigned", action="store_true",
                   help="accept an update that is unsigned or signed by an unknown publisher "
                        "(never for a pack that was installed signed)")
    p.add_argument("--progress", choices=["text", "json"], default="text",
                   help="json: one JSON object per line on stdout, for the GUI")
    p.set_defaults(handler=cmd_updates_install)

    p = actions.add_parser("catalogue", help="for publishers: write catalogue.json listing "
                           "the .cbpack files in a folder")
    p.add_argument("folder", type=Path)
    p.add_argument("--publisher", required=True)
    p.add_argument("--base-url", default="",
                   help="prefix for each file's address (default: beside the catalogue)")
    p.add_argument("--key", type=Path, help="also write catalogue.json.sig with this secret key")
    p.set_defaults(handler=cmd_updates_catalogue)


def cmd_updates_check(ctx: Context) -> int:
    result = check_updates(ctx.conn)
    if ctx.args.json:
        print(inert_json(result.as_json(), indent=2))
        return 1 if result.problems else 0
    for offer in result.offers:
        print(f"{offer.title}: {offer.version} is available (you have "
              f"{offer.installed_version}; {_amount(offer.size)}). "
              f"casebook updates install {offer.pack_id}")
    if not result.offers and not result.problems:
        print("Every pack that names an update catalogue is up to date."
              if result.catalogues_checked else "No installed pack names an update catalogue.")
    _report(result)
    return 1 if result.problems else 0


def cmd_updates_install(ctx: Context) -> int:
    from desktop_app import cli as base

    as_json = ctx.args.progress == "json"
    progress = json_progress if as_json else text_progress(_progress_amount)
    result = check_updates(ctx.conn)
    _report(result)
    offers = {offer.pack_id: offer for offer in result.offers}
    wanted = ctx.args.pack_id or list(offers)
    missing = [pack_id for pack_id in wanted if pack_id not in offers]
    if not wanted and not result.problems:
        print("Nothing to update: every pack is up to date.")
    failed = 0
    for pack_id in missing:
        failed += 1
        _fail(ctx, f"No update is offered for {pack_id} (it is up to date, it names no "
                   "catalogue, or its catalogue could not be read).")
    for pack_id in wanted:
        if pack_id not in offers:
            continue
        offer = offers[pack_id]
        try:
            done = install_update(ctx.conn, offer, downloads_dir(ctx.paths.cache_dir),
                                  progress=progress, allow_unsigned=ctx.args.allow_unsigned)
        except CasebookError as exc:
            failed += 1
            _fail(ctx, f"{offer.title} {offer.version} was not installed: {exc}")
            continue
        if as_json:
            emit(install_event(done, title=f"{offer.title} {done.version}"))
            continue
        since = f" (was {done.previous_version})" if done.previous_version else ""
        print(f"Updated {done.pack_id} to {done.version}{since}; "
              f"{base._trust_words(done.trust, done.signer_name)}.")
        print_notes_moved(done)
    return 1 if failed or (result.problems and not offers) else 0


def cmd_updates_catalogue(ctx: Context) -> int:
    folder: Path = ctx.args.folder
    packs = sorted(folder.glob("*.cbpack"))
    if not packs:
        raise CasebookError(f"There are no .cbpack files in {folder}.")
    data = build_catalogue(packs, ctx.args.publisher, dt.date.today(), ctx.args.base_url)
    target = folder / CATALOGUE_NAME
    target.write_bytes(data)
    print(f"Wrote {target} listing {len(packs)} pack file{'s' if len(packs) != 1 else ''}.")
    if ctx.args.key:
        signature = folder / (CATALOGUE_NAME + SIGNATURE_SUFFIX)
        signature.write_bytes(sign_catalogue(data, load_secret_key(ctx.args.key)))
        print(f"Signed it: {signature}.")
    return 0


def _report(result: UpdateCheck) -> None:
    for message in result.messages:
        print(f"casebook: {message}", file=sys.stderr)


def _fail(ctx: Context, message: str) -> None:
    from desktop_app import cli as base

    base._fail(ctx, message)


def _amount(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _progress_amount(what: str, done: int, total: int) -> str:
    return (f"{_amount(done)} of {_amount(total)}" if what.startswith("Download")
            else f"{done}/{total}")
