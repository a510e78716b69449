"""The command line's publisher commands: ``publish`` (posts on the community site, the
pack and its catalogue where readers fetch them)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.core.errors import CasebookError
from desktop_app.core.packs.signing import load_secret_key

if TYPE_CHECKING:
    from desktop_app.cli import Context
    from desktop_app.core.publish.plan import PublishReport

PASSWORD_VARIABLE = "CASEBOOK_PUBLISH_PASSWORD"
_VERBS = {"created": "Created", "updated": "Updated", "restored": "Restored from the trash:",
          "uploaded": "Uploaded", "wrote": "Wrote", "rebuilt": "Rebuilt"}
_PLANNED = {"created": "Would create", "updated": "Would update",
            "restored": "Would restore from the trash:", "uploaded": "Would upload",
            "wrote": "Would write", "rebuilt": "Would rebuild"}


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "publish", help="for publishers: one post per case study on the community site, "
        "then the signed pack and catalogue where readers fetch them")
    p.add_argument("source", type=Path, help="the pack's source folder (with pack.toml)")
    p.add_argument("--site", required=True, help="the WordPress site, e.g. https://community."
                   "example.org")
    p.add_argument("--user", required=True, help="a WordPress user who may publish posts")
    p.add_argument("--key", type=Path, required=True, help="the publisher's secret key")
    p.add_argument("--edition", help="publish the edition in SOURCE/editions/EDITION")
    p.add_argument("--folder", type=Path, help="put the pack and catalogue in this folder, "
                   "which a web server serves at --base-url (default: the site's media "
                   "library, which needs packaging/wordpress/casebook-publishing.php)")
    p.add_argument("--base-url", help="the address --folder is served at")
    p.add_argument("--dry-run", action="store_true", help="show what would change; change "
                   "nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_publish)


def cmd_publish(ctx: Context) -> int:
    from desktop_app.core.publish.folder import FolderTarget  # only for publishers
    from desktop_app.core.publish.run import publish

    args = ctx.args
    if bool(args.folder) != bool(args.base_url):
        raise CasebookError("--folder and --base-url go together: the folder, and the address "
                            "a web server serves it at.")
    target = FolderTarget(args.folder, args.base_url) if args.folder else None
    password = _password()
    report = publish(args.source, target, load_secret_key(args.key), site_url=args.site,
                     user=args.user, password=password, edition=args.edition,
                     dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
        return 0
    _print_report(report)
    return 0


def _print_report(report: PublishReport) -> None:
    verbs = _PLANNED if report.dry_run else _VERBS
    head = "Dry run: nothing was changed." if report.dry_run else ""
    if head:
        print(head)
    for step in report.changes:
        detail = f": {step.detail}" if step.detail else ""
        print(f"{verbs[step.kind]} {step.what}{detail}")
    if not report.changes:
        print(f"{report.pack_id} {report.version} is published and up to date; nothing "
              "changed.")
    unchanged = len(report.steps) - len(report.changes)
    if unchanged and report.changes:
        print(f"({unchanged} already up to date.)")
    if not report.dry_run:
        print(f"Readers get it from the catalogue {report.catalogue_url}")


def _password() -> str:
    """The application password: from the environment, else standard input (never an
    argument, which other users of the computer can read in the process list)."""
    from_env = os.environ.get(PASSWORD_VARIABLE)
    if from_env:
        password = from_env
    elif sys.stdin.isatty():
        password = getpass.getpass("Application password: ")
    else:
        password = sys.stdin.readline()
    password = password.strip().replace(" ", "")
    if not password:
        raise CasebookError("No application password given (standard input or "
                            f"{PASSWORD_VARIABLE}).")
    return password
