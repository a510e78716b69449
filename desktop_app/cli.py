"""The command line: one face of the core, the GUI being the other.

Exit status: 0 done, 1 refused or failed with a message on stderr, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from desktop_app import __version__, cli_catalogue, cli_publish, cli_site, cli_updates
from desktop_app.cli_output import (
    emit,
    inert_output,
    install_event,
    json_progress,
    one_line,
    print_notes_moved,
    text_progress,
    unfiltered,
    user_text,
)
from desktop_app.core import my_documents
from desktop_app.core import search as search_core
from desktop_app.core.annotations import store as notes_core
from desktop_app.core.annotations.model import COLOURS, STATES, Annotation
from desktop_app.core.errors import CasebookError, StoreCorruptError, StoreError
from desktop_app.core.export import FORMATS as EXPORT_FORMATS
from desktop_app.core.inert_text import inert, inert_json
from desktop_app.core.library import active_document, list_documents, list_packs, open_library
from desktop_app.core.packs import install as installer
from desktop_app.core.packs import trust
from desktop_app.core.packs.reader import extract_documents, read_pack
from desktop_app.core.packs.signing import (
    generate_key,
    load_public_key,
    load_secret_key,
    write_key_pair,
)
from desktop_app.core.store import backups as store_backups
from desktop_app.launch import has_display
from desktop_app.logs import setup_logging
from desktop_app.paths import AppPaths, resolve_paths
from desktop_app.sample import BUNDLED_KEYS, sample_pack

log = logging.getLogger(__name__)


class Context:
    """What a command needs: the resolved folders, and the store opened on first use."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.paths: AppPaths = resolve_paths(args.data_dir)
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_library(self.paths.store_file, BUNDLED_KEYS)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casebook", description="Read and annotate guidance and case studies offline."
    )
    parser.add_argument("--version", action="version", version=f"Casebook {__version__}")
    parser.add_argument("--data-dir", help="keep the library in this folder")
    parser.add_argument("--verbose", action="store_true", help="log more detail")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation on a temporary library, without a "
                             "screen, and exit (0 if it works)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="install the sample pack and open it")
    demo.add_argument("--query", default="accessible", help="the example search to run")
    demo.add_argument("--no-window", action="store_true",
                      help="show the library and a search as text instead of opening the window")
    demo.set_defaults(handler=cmd_demo)

    pack = commands.add_parser("pack", help="build, check and install content packs")
    packs = pack.add_subparsers(dest="pack_command", metavar="ACTION", required=True)

    p = packs.add_parser("build", help="build a pack from a source folder")
    p.add_argument("source", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="folder for the .cbpack")
    p.add_argument("--edition", help="build the edition in SOURCE/editions/EDITION")
    p.add_argument("--key", type=Path, help="sign with this secret key file")
    p.set_defaults(handler=cmd_pack_build)

    p = packs.add_parser("sign", help="sign a pack with a publisher's secret key")
    p.add_argument("pack", type=Path)
    p.add_argument("--key", type=Path, required=True)
    p.set_defaults(handler=cmd_pack_sign)

    p = packs.add_parser("verify", help="check a pack without installing it")
    p.add_argument("pack", type=Path)
    p.add_argument("--key", type=Path, help="check against this public key, not the library's")
    p.set_defaults(handler=cmd_pack_verify)

    p = packs.add_parser("install", help="install or update a pack")
    p.add_argument("pack", type=Path)
    p.add_argument("--allow-unsigned", action="store_true",
                   help="accept a pack that is unsigned or signed by an unknown publisher")
    p.add_argument("--progress", choices=["text", "json"], default="text",
                   help="json: one JSON object per line on stdout, for the GUI")
    p.set_defaults(handler=cmd_pack_install)

    p = packs.add_parser("list", help="list installed packs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_pack_list)

    p = packs.add_parser("remove", help="remove a pack (your notes are kept)")
    p.add_argument("pack_id")
    p.set_defaults(handler=cmd_pack_remove)

    p = packs.add_parser("rollback", help="go back to the version installed before")
    p.add_argument("pack_id")
    p.set_defaults(handler=cmd_pack_rollback)

    p = packs.add_parser("keygen", help="make a publisher key pair (STEM.key and STEM.pub)")
    p.add_argument("--name", required=True, help="the publisher's name, shown to readers")
    p.add_argument("-o", "--output", type=Path, required=True, help="file stem")
    p.set_defaults(handler=cmd_pack_keygen)

    keys = commands.add_parser("keys", help="publisher keys this library trusts")
    key_actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    p = key_actions.add_parser("list", help="list trusted keys")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_keys_list)
    p = key_actions.add_parser("add", help="trust a publisher's public key file")
    p.add_argument("key_file", type=Path)
    p.set_defaults(handler=cmd_keys_add)
    p = key_actions.add_parser("remove", help="stop trusting a key")
    p.add_argument("key_id")
    p.set_defaults(handler=cmd_keys_remove)

    docs = commands.add_parser("docs", help='"My documents": PDF and Markdown files you add')
    doc_actions = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    p = doc_actions.add_parser("add", help="add a PDF or Markdown file")
    p.add_argument("file", type=Path)
    p.add_argument("--progress", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_docs_add)
    p = doc_actions.add_parser("remove", help="remove a document you added")
    p.add_argument("doc_id")
    p.set_defaults(handler=cmd_docs_remove)

    p = commands.add_parser("search", help="search everything installed")
    p.add_argument("query", help='words, "a phrase", prefix*, OR, -excluded')
    p.add_argument("--pack", help="only this pack (its id)")
    p.add_argument("--doc", help="only this document (its id)")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)

    notes = commands.add_parser("notes", help="your highlights and notes")
    note_actions = notes.add_subparsers(dest="notes_command", metavar="ACTION", required=True)
    p = note_actions.add_parser("add", help="highlight a passage, with an optional note")
    p.add_argument("--pack", required=True, help="the pack's id")
    p.add_argument("--doc", required=True, help="the document's id")
    p.add_argument("--quote", required=True, help="the exact text to highlight")
    p.add_argument("--note", default="", help="your note (Markdown allowed); - reads it "
                   "from standard input")
    p.add_argument("--note-file", metavar="FILE",
                   help="read the note from FILE (- for standard input), exactly as written")
    p.add_argument("--colour", choices=COLOURS, default="yellow")
    p.add_argument("--tag", action="append", default=[], help="a tag (repeat for more)")
    p.set_defaults(handler=cmd_notes_add)
    p = note_actions.add_parser("list", help="list highlights and notes in reading order")
    p.add_argument("--pack", help="only this pack (its id)")
    p.add_argument("--doc", help="only this document (its id)")
    p.add_argument("--state", choices=STATES, help="only those anchored, fuzzy or orphaned")
    p.add_argument("--deleted", action="store_true", help="include deleted ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_notes_list)
    p = note_actions.add_parser("delete", help="delete a note (undo with 'notes undelete')")
    p.add_argument("uuid")
    p.set_defaults(handler=cmd_notes_delete)
    p = note_actions.add_parser("undelete", help="bring back a deleted note")
    p.add_argument("uuid")
    p.set_defaults(handler=cmd_notes_undelete)
    p = note_actions.add_parser(
        "export", help="export notes: Word, Markdown, HTML, an annotated PDF or W3C JSON-LD")
    p.add_argument("--pack", help="the notes of this pack (its id)")
    p.add_argument("--doc", help="the notes of this document (its id)")
    p.add_argument("--uuid", action="append", default=[], help="this note (repeat for more)")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="pdf: a copy of one PDF with the notes on it (needs --doc, or a "
                        "pack with one PDF)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    p.set_defaults(handler=cmd_notes_export)
    p = note_actions.add_parser("import", help="import notes from a W3C annotation file")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_notes_import)

    store = commands.add_parser("store", help="the library file: its backups, and restoring one")
    store_actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    p = store_actions.add_parser("backups", help="list the backups, newest first")
    p.set_defaults(handler=cmd_store_backups)
    p = store_actions.add_parser("restore", help="put a backup in place of the library "
                                 "(the current file is kept beside it)")
    p.add_argument("backup", nargs="?", type=Path, help="default: the newest backup")
    p.set_defaults(handler=cmd_store_restore)

    p = commands.add_parser("library", help="show the installed packs and their documents")
    p.set_defaults(handler=cmd_library)
    cli_site.add_commands(commands)
    cli_updates.add_commands(commands)
    cli_publish.add_commands(commands)
    cli_catalogue.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with inert_output():  # no control or bidi character from a pack reaches the terminal
        return _run(list(sys.argv[1:] if argv is None else argv))


def _run(argv: list[str]) -> int:
    parser = build_parser()
    options, files = _split_window_arguments(argv, parser)
    if files is not None:
        args = parser.parse_args(options)
        args.files = [Path(f) for f in files]
        args.handler = cmd_window
    else:
        args = parser.parse_args(argv)
    if args.self_test:  # before Context: it must not touch the user's folders or logs
        from desktop_app.self_test import main as self_test_main

        return self_test_main()
    handler: Callable[[Context], int] = getattr(args, "handler", cmd_library)
    ctx = Context(args)
    log_file = setup_logging(ctx.paths.log_dir, args.verbose)
    try:
        return handler(ctx)
    except CasebookError as exc:
        log.info("Refused: %s", exc)
        hint = (" To put the newest backup in its place (the damaged file is kept): "
                "casebook store restore" if isinstance(exc, StoreCorruptError) and exc.backup
                else "")
        _fail(ctx, str(exc) + hint)
        return 1
    except KeyboardInterrupt:
        _fail(ctx, "Interrupted; nothing was changed by the unfinished step.")
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``casebook search … | head``): stop
        # quietly, as any Unix tool killed by SIGPIPE does. Point stdout at nothing, so
        # the interpreter's last flush cannot fail again on the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for such a tool
    except Exception as exc:
        log.exception("Unexpected error")
        where = f" Details are in {log_file}." if log_file else ""
        _fail(ctx, f"Unexpected error: {exc.__class__.__name__}: {exc}.{where}")
        return 1
    finally:
        ctx.close()


def _split_window_arguments(argv: list[str], parser: argparse.ArgumentParser
                            ) -> tuple[list[str], list[str] | None]:
    """``casebook [OPTIONS] [FILE...]`` opens the window; a command name runs the CLI.

    Returns (options, files) for the window, or (argv, None) for a command.
    """
    # The parser's own command names: a hand-kept list here fell behind twice.
    commands = next(action.choices for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    options: list[str] = []
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        options.append(option)
        if option == "--data-dir" and rest:
            options.append(rest.pop(0))
        if option in ("-h", "--help", "--version"):
            return argv, None
    if rest and rest[0] in commands:
        return argv, None
    return options, rest


def cmd_window(ctx: Context, open_doc: tuple[str, str] | None = None) -> int:
    if not has_display():
        print("No screen is available here, so the window cannot open; showing the library "
              "as text. (Commands: casebook --help)")
        return cmd_library(ctx)
    from desktop_app.gui.app import run  # Qt is imported only when a window is wanted

    ctx.close()  # the window opens the library itself
    return run(ctx.paths, ctx.args.files if hasattr(ctx.args, "files") else [], open_doc)


def _fail(ctx: Context, message: str) -> None:
    if getattr(ctx.args, "progress", None) == "json":
        emit({"event": "error", "message": message})
    print(f"casebook: {message}", file=sys.stderr)




def cmd_demo(ctx: Context) -> int:
    pack = sample_pack(ctx.paths.cache_dir / "sample")
    result = installer.install_pack(ctx.conn, pack, progress=text_progress())
    print(f"{result.pack_id} {result.version}: {result.outcome}.")
    if not ctx.args.no_window and has_display():
        from desktop_app.qt_probe import qt_problem

        problem = qt_problem()
        if problem is None:
            return cmd_window(ctx, open_doc=(result.pack_id, "guide"))
        print(f"{problem}\nShowing the library as text instead.\n")
    cmd_library(ctx)
    print(f'\nSearch for "{ctx.args.query}":')
    _print_hits(search_core.search(ctx.conn, ctx.args.query, limit=5))
    print(f"\nTry: casebook search \"your words\"   (library in {ctx.paths.data_dir})")
    return 0


def cmd_library(ctx: Context) -> int:
    packs = list_packs(ctx.conn)
    if not packs:
        print("The library is empty. Install a pack with: casebook pack install FILE.cbpack")
        return 0
    for info in packs:
        print(f"{info.title}  ({info.pack_id} {info.version}, {info.publisher}, "
              f"{_trust_words(info.trust, info.signer_name)})")
        for doc in list_documents(ctx.conn, info.pack_id):
            unit = "pages" if doc.media_type == "application/pdf" else "sections"
            print(f"  - {doc.title}  [{doc.doc_id}, {doc.page_count} {unit}]")
    return 0


def cmd_pack_build(ctx: Context) -> int:
    from desktop_app.core.packs.builder import build_pack  # PyMuPDF: only for building

    key = load_secret_key(ctx.args.key) if ctx.args.key else None
    target = build_pack(ctx.args.source, ctx.args.output, edition=ctx.args.edition, key=key)
    print(target)
    return 0


def cmd_pack_sign(ctx: Context) -> int:
    from desktop_app.core.packs.builder import sign_pack

    sign_pack(ctx.args.pack, load_secret_key(ctx.args.key))
    print(f"Signed {ctx.args.pack}.")
    return 0


def cmd_pack_verify(ctx: Context) -> int:
    if ctx.args.key:
        key = load_public_key(ctx.args.key)
        keys = {key.key_id: key}
    else:
        keys = trust.trusted_keys(ctx.conn)
    pack = read_pack(ctx.args.pack, keys)
    extracted = extract_documents(pack)
    manifest = pack.manifest
    pages = sum(len(doc.units) for doc in extracted.values())
    signature = pack.signature
    print(f"{manifest.id} {manifest.version}: {len(manifest.files)} files and "
          f"{len(manifest.documents)} documents ({pages} pages or sections) check out; "
          f"{_trust_words(signature.trust, signature.signer_name, signature.key_id)}.")
    return 0


def cmd_pack_install(ctx: Context) -> int:
    as_json = ctx.args.progress == "json"
    progress = json_progress if as_json else text_progress()
    result = installer.install_pack(
        ctx.conn, ctx.args.pack, allow_unsigned=ctx.args.allow_unsigned, progress=progress
    )
    if as_json:
        emit(install_event(result))
        return 0
    verb = {"installed": "Installed", "updated": "Updated", "restored": "Restored",
            "already-installed": "Already installed:"}[result.outcome]
    since = f" (was {result.previous_version})" if result.previous_version else ""
    print(f"{verb} {result.pack_id} {result.version}{since}: {result.documents} documents, "
          f"{result.pages} pages and sections; {_trust_words(result.trust, result.signer_name)}.")
    print_notes_moved(result)
    return 0


def cmd_pack_list(ctx: Context) -> int:
    packs = list_packs(ctx.conn)
    if ctx.args.json:
        print(json.dumps([info.as_json() for info in packs], indent=2))
        return 0
    if not packs:
        print("No packs installed.")
    for info in packs:
        previous = f", previous {info.previous_version} kept" if info.previous_version else ""
        print(f"{info.pack_id}  {info.version}  {info.title} — {info.publisher}; "
              f"{info.documents} documents; {_trust_words(info.trust, info.signer_name)}"
              f"{previous}")
    return 0


def cmd_pack_remove(ctx: Context) -> int:
    versions = installer.remove_pack(ctx.conn, ctx.args.pack_id)
    print(f"Removed {ctx.args.pack_id} ({', '.join(versions)}).")
    return 0


def cmd_pack_rollback(ctx: Context) -> int:
    before, after = installer.rollback_pack(ctx.conn, ctx.args.pack_id)
    print(f"Rolled {ctx.args.pack_id} back from {before} to {after}.")
    return 0


def cmd_pack_keygen(ctx: Context) -> int:
    secret, public = write_key_pair(generate_key(ctx.args.name), ctx.args.output)
    print(f"Secret key: {secret} (keep it safe; it signs your packs)\nPublic key: {public} "
          "(give it to readers: casebook keys add FILE.pub)")
    return 0


def cmd_keys_list(ctx: Context) -> int:
    keys = trust.list_keys(ctx.conn)
    if ctx.args.json:
        print(json.dumps([key.__dict__ for key in keys], indent=2))
        return 0
    for key in keys:
        print(f"{key.key_id}  {key.name}  ({key.origin}, since {key.added_at})")
    return 0


def cmd_keys_add(ctx: Context) -> int:
    key = load_public_key(ctx.args.key_file)
    added = trust.trust_key(ctx.conn, key)
    print(f"{'Now trusting' if added else 'Already trusted:'} {key.name} ({key.key_id}).")
    return 0


def cmd_keys_remove(ctx: Context) -> int:
    trust.untrust_key(ctx.conn, ctx.args.key_id)
    print(f"No longer trusting {ctx.args.key_id}.")
    return 0


def cmd_docs_add(ctx: Context) -> int:
    record = my_documents.add_document(ctx.conn, ctx.args.file)
    if ctx.args.progress == "json":
        emit({"event": "done", "outcome": "added", "pack": record.pack_id,
               "doc": record.doc_id, "title": record.title})
    else:
        print(f"Added {record.title} to My documents as {record.doc_id}.")
    return 0


def cmd_docs_remove(ctx: Context) -> int:
    my_documents.remove_document(ctx.conn, ctx.args.doc_id)
    print(f"Removed {ctx.args.doc_id} from My documents.")
    return 0


def cmd_store_backups(ctx: Context) -> int:
    # Never ctx.conn here: the library file may be the damaged thing being looked at.
    found = store_backups.list_backups(ctx.paths.backup_dir)
    print("\n".join(backup.describe() for backup in found) or "No backups yet.")
    return 0


def cmd_store_restore(ctx: Context) -> int:
    found = store_backups.list_backups(ctx.paths.backup_dir)
    backup = ctx.args.backup or (found[0].path if found else None)
    if backup is None:
        raise StoreError(f"There is no backup in {ctx.paths.backup_dir} to restore.")
    aside = store_backups.restore_backup(ctx.paths.store_file, backup)
    print(f"Restored the library from {backup}; the previous file is kept as {aside}.")
    return 0


def cmd_search(ctx: Context) -> int:
    hits = search_core.search(
        ctx.conn, ctx.args.query, pack_id=ctx.args.pack, doc_id=ctx.args.doc,
        limit=max(1, min(ctx.args.limit, 500)), include_notes=True,
    )
    # Pages that could not be read are not in the index: say so, or a reader would
    # take "No matches" for "not in the document".
    unsearched = search_core.unsearched_pages(ctx.conn, pack_id=ctx.args.pack,
                                              doc_id=ctx.args.doc)
    if ctx.args.json:
        print(inert_json([hit.as_json() for hit in hits], indent=2))
        for gap in unsearched:
            print(gap.sentence(), file=sys.stderr)
        return 0
    if not hits:
        print("No matches.")
    _print_hits(hits)
    for gap in unsearched:
        print(gap.sentence())
    return 0


def cmd_notes_add(ctx: Context) -> int:
    record = active_document(ctx.conn, ctx.args.pack, ctx.args.doc)
    body = (user_text(ctx.args.note, ctx.args.note_file, "note", "--note-file")
            if ctx.args.note or ctx.args.note_file else "")
    note = notes_core.annotate_quote(ctx.conn, record, ctx.args.quote, body=body,
                                     colour=ctx.args.colour, tags=ctx.args.tag)
    print(f"Saved {note.kind} {note.uuid} on {record.title}, {_where(note)}.")
    return 0


def cmd_notes_list(ctx: Context) -> int:
    notes = notes_core.list_annotations(
        ctx.conn, pack_id=ctx.args.pack, doc_id=ctx.args.doc, state=ctx.args.state,
        include_deleted=ctx.args.deleted,
    )
    if ctx.args.json:
        print(inert_json([note.as_json() for note in notes], indent=2))
        return 0
    if not notes:
        print("No notes or highlights.")
    for note in notes:
        state = {"anchored": "", "fuzzy": "  [moved text: check]",
                 "orphaned": f"  [not found since {note.doc_version}]"}[note.anchor_state]
        deleted = "  [deleted]" if note.deleted else ""
        tags = f"  #{' #'.join(note.tags)}" if note.tags else ""
        print(f"{note.uuid}  {note.pack_id}/{note.doc_id}, {_where(note)}{state}{deleted}")
        print(f'    "{one_line(note.quote, 100)}"{tags}')
        if note.body:
            print(f"    {one_line(note.body, 200)}")
    return 0


def cmd_notes_delete(ctx: Context) -> int:
    note = notes_core.delete_annotation(ctx.conn, ctx.args.uuid)
    print(f"Deleted {note.kind} {note.uuid}. (Undo: casebook notes undelete {note.uuid})")
    return 0


def cmd_notes_undelete(ctx: Context) -> int:
    note = notes_core.undelete_annotation(ctx.conn, ctx.args.uuid)
    print(f"Brought back {note.kind} {note.uuid} ({_where(note)}).")
    return 0


def cmd_notes_export(ctx: Context) -> int:
    from desktop_app.core.export import export_notes  # python-docx etc.: only when exporting

    result = export_notes(ctx.conn, ctx.args.format, ctx.args.output, pack_id=ctx.args.pack,
                          doc_id=ctx.args.doc, uuids=ctx.args.uuid or None)
    print(f"Exported {result.notes} notes and highlights from {result.documents} "
          f"document{'s' if result.documents != 1 else ''} to {result.path}.")
    if result.not_placed:
        print(f"{result.not_placed} not found in this version of the document are listed "
              "on the last page, \"Notes not placed\".")
    return 0


def cmd_notes_import(ctx: Context) -> int:
    from desktop_app.core.export.jsonld import import_annotations, read_import_file

    report = import_annotations(ctx.conn, read_import_file(ctx.args.file))
    if ctx.args.json:
        print(json.dumps(report.as_json()))
        return 0
    print(f"Imported {report.added} notes and highlights; {report.skipped_duplicates} "
          "already here were skipped.")
    if report.orphaned:
        print(f"{report.orphaned} could not be placed in the installed packs and are kept as "
              "not found (casebook notes list --state orphaned); installing their pack "
              "places them.")
    if report.refused:
        print(f"{report.refused} were not Casebook annotations (not on a pack document) "
              "and were left out.")
    return 0


def _where(note: Annotation) -> str:
    if note.page_label is not None:
        return f"page {note.page_label}"
    return f"§ {note.section}" if note.section else "no page"




def _print_hits(hits: list[search_core.SearchHit]) -> None:
    bold = sys.stdout.isatty()
    for hit in hits:
        where = f"page {hit.label}" if hit.page is not None else f"§ {hit.section}"
        mine = f"Your note {hit.note_uuid} on " if hit.is_note else ""
        print(f"{mine}{hit.doc_title} — {where}  ({hit.pack_id}/{hit.doc_id}, "
              f"score {hit.score:.2f})")
        # Made inert piece by piece, so that only the bold marks are escapes.
        print(f"    {_highlight(hit.snippet, hit.highlights, bold)}", file=unfiltered(sys.stdout))


def _highlight(text: str, spans: tuple[tuple[int, int], ...], bold: bool) -> str:
    start_mark, end_mark = ("\033[1m", "\033[0m") if bold else ("[", "]")
    out, last = [], 0
    for start, end in spans:
        out += [inert(text[last:start]), start_mark, inert(text[start:end]), end_mark]
        last = end
    out.append(inert(text[last:]))
    return "".join(out)


def _trust_words(trust_state: str, signer: str | None, key_id: str | None = None) -> str:
    if trust_state == "signed":
        return f"signed by {signer}" if signer else "signed by a trusted publisher"
    if trust_state == "local":
        return "your own files"
    if trust_state == "unknown-signer":
        return f"signed by an unknown key{f' ({key_id})' if key_id else ''}: not verified"
    return "UNSIGNED: not verified"



