"""The command line's catalogue browsing: what a publisher's catalogue offers, and
installing from it (the window's File › Get packs… over the same core)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from desktop_app.cli_output import (
    emit,
    install_event,
    json_progress,
    print_notes_moved,
    text_progress,
)
from desktop_app.cli_updates import _progress_amount
from desktop_app.core.errors import CasebookError
from desktop_app.core.packs import browse, first_use
from desktop_app.core.packs.download import downloads_dir

if TYPE_CHECKING:
    from desktop_app.cli import Context

_ADDRESS_HELP = "the catalogue's address, or a .cbcat link file from its publisher"


def add_commands(commands: argparse._SubParsersAction) -> None:
    catalogue = commands.add_parser("catalogue", help="browse a publisher's catalogue and "
                                    "install packs from it")
    actions = catalogue.add_subparsers(dest="catalogue_command", metavar="ACTION",
                                       required=True)
    p = actions.add_parser("list", help="what a catalogue offers (without an address: the "
                           "catalogues your installed packs name)")
    p.add_argument("address", nargs="?", help=_ADDRESS_HELP)
    p.add_argument("--search", default="", help="only packs whose title or id has these words")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_catalogue_list)

    p = actions.add_parser("trust", help="trust (or --refuse) the key a catalogue is signed "
                           "with, after comparing its fingerprint with the publisher's")
    p.add_argument("address", help=_ADDRESS_HELP)
    p.add_argument("--refuse", action="store_true", help="do not trust it, and stop asking")
    p.set_defaults(handler=cmd_catalogue_trust)

    p = actions.add_parser("install", help="download a pack the catalogue offers and install "
                           "it (checked exactly as a file import is)")
    p.add_argument("address", help=_ADDRESS_HELP)
    p.add_argument("pack_id", metavar="PACK_ID")
    p.add_argument("--allow-unsigned", action="store_true",
                   help="accept a pack that is unsigned or signed by an unknown publisher")
    p.add_argument("--progress", choices=["text", "json"], default="text",
                   help="json: one JSON object per line on stdout, for the GUI")
    p.set_defaults(handler=cmd_catalogue_install)


def cmd_catalogue_list(ctx: Context) -> int:
    if not ctx.args.address:
        known = browse.known_catalogues(ctx.conn)
        if ctx.args.json:
            print(json.dumps([{"catalogue": url, "named_by": names} for url, names in known],
                             indent=2, ensure_ascii=False))
        for url, names in [] if ctx.args.json else known:
            print(f"{url}  (named by {names})")
        if not known and not ctx.args.json:
            print("No installed pack names a catalogue. Give one: casebook catalogue list "
                  "ADDRESS (or a .cbcat file from the publisher).")
        return 0
    listing = browse.browse(ctx.conn, ctx.args.address)
    shown = listing.search(ctx.args.search) if ctx.args.search else list(listing.packs)
    if ctx.args.json:
        data = listing.as_json()
        data["packs"] = [offered.as_json() for offered in shown]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    catalogue = listing.catalogue
    print(f"{catalogue.publisher}: {len(listing.packs)} pack"
          f"{'s' if len(listing.packs) != 1 else ''} ({listing.signature_words}; made "
          f"{catalogue.generated})")
    for offered in shown:
        entry = offered.entry
        have = (f" (you have {offered.installed_version})"
                if offered.state in (browse.UPDATE, browse.NEWER_INSTALLED) else "")
        date = f", {entry.date}" if entry.date else ""
        print(f"  {entry.title}  {entry.version}{date}, {browse.size_words(entry.size)}  "
              f"[{browse.STATE_WORDS[offered.state]}{have}]  {entry.id}")
    if ctx.args.search and not shown:
        print(f"  Nothing matches {ctx.args.search!r}.")
    question = first_use.key_question(ctx.conn, listing)
    if question is not None:
        print(f"\n{question.words}\nTo trust it: casebook catalogue trust {ctx.args.address}"
              f"\n(or say no, and stop being asked: casebook catalogue trust "
              f"{ctx.args.address} --refuse)")
    return 0


def cmd_catalogue_trust(ctx: Context) -> int:
    listing = browse.browse(ctx.conn, ctx.args.address)
    catalogue = listing.catalogue
    if catalogue.signed_by:
        print(f"The catalogue is signed by {catalogue.signed_by}, whom you trust already.")
        return 0
    first_use.forget_refusal(ctx.conn, catalogue.key_id or "")  # asked on purpose now
    question = first_use.key_question(ctx.conn, listing)
    if question is None:
        why = ("not signed" if not catalogue.key_id else "signed, but its publisher's key is "
               f"not published beside it ({first_use.KEY_NAME})")
        raise CasebookError(f"The catalogue {catalogue.url} is {why}; there is no key to "
                            "trust.")
    print(question.words)
    first_use.answer(ctx.conn, question, trust=not ctx.args.refuse)
    print(f"Not trusting {question.key.key_id}; you will not be asked again."
          if ctx.args.refuse else
          f"Now trusting {question.key.name} ({question.key.key_id}); casebook keys remove "
          f"{question.key.key_id} undoes it.")
    return 0


def cmd_catalogue_install(ctx: Context) -> int:
    from desktop_app import cli as base

    as_json = ctx.args.progress == "json"
    progress = json_progress if as_json else text_progress(_progress_amount)
    listing = browse.browse(ctx.conn, ctx.args.address)
    done = browse.install_offered(ctx.conn, listing, ctx.args.pack_id,
                                  downloads_dir(ctx.paths.cache_dir), progress=progress,
                                  allow_unsigned=ctx.args.allow_unsigned)
    if as_json:
        emit(install_event(done))
        return 0
    verb = "Updated" if done.previous_version else "Installed"
    since = f" (was {done.previous_version})" if done.previous_version else ""
    print(f"{verb} {done.pack_id} {done.version}{since}; "
          f"{base._trust_words(done.trust, done.signer_name)}.")
    print_notes_moved(done)
    return 0
