"""The command line's community-site commands: sign in, write comments, look at the
outbox, sync, read threads offline, and check the network (``doctor``)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from desktop_app.cli_output import one_line, user_text
from desktop_app.core.comments import credentials, outbox, sync, threads
from desktop_app.core.comments.discussion import example_sites
from desktop_app.core.comments.sites import SiteSessions, check_sign_in
from desktop_app.core.comments.wordpress import SiteAnswerError
from desktop_app.core.errors import CasebookError
from desktop_app.core.inert_text import inert_json
from desktop_app.core.net import explain, make_client, route_for

if TYPE_CHECKING:
    from desktop_app.cli import Context

STATE_WORDS = outbox.STATE_WORDS


def add_commands(commands: argparse._SubParsersAction) -> None:
    site = commands.add_parser("site", help="sign in to a pack's community site")
    actions = site.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    p = actions.add_parser("login", help="check and remember your user name and application "
                           "password (read from standard input or "
                           f"{credentials.PASSWORD_VARIABLE})")
    p.add_argument("url")
    p.add_argument("--user", required=True)
    p.set_defaults(handler=cmd_site_login)
    p = actions.add_parser("logout", help="forget the sign-in for a site")
    p.add_argument("url")
    p.set_defaults(handler=cmd_site_logout)

    comment = commands.add_parser("comment", help="write, change or withdraw a comment")
    actions = comment.add_subparsers(dest="comment_command", metavar="ACTION", required=True)
    p = actions.add_parser("add", help="queue a comment on a document (sent at the next sync)")
    p.add_argument("--pack", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--section", default="", help="the section the comment is about")
    p.add_argument("text", nargs="?", help="the comment; - reads it from standard input")
    p.add_argument("--text-file", metavar="FILE",
                   help="read the comment from FILE (- for standard input), exactly as written")
    p.set_defaults(handler=cmd_comment_add)
    p = actions.add_parser("edit", help="change a comment not sent yet")
    p.add_argument("uuid")
    p.add_argument("text", nargs="?", help="the new text; - reads it from standard input")
    p.add_argument("--text-file", metavar="FILE",
                   help="read the new text from FILE (- for standard input)")
    p.set_defaults(handler=cmd_comment_edit)
    p = actions.add_parser("withdraw", help="take back a comment not sent yet")
    p.add_argument("uuid")
    p.set_defaults(handler=cmd_comment_withdraw)
    p = actions.add_parser("restore", help="bring back a withdrawn comment")
    p.add_argument("uuid")
    p.set_defaults(handler=cmd_comment_restore)
    p = actions.add_parser("retry", help="send a refused comment again")
    p.add_argument("uuid")
    p.set_defaults(handler=cmd_comment_retry)

    p = commands.add_parser("outbox", help="your comments and where each one is")
    p.add_argument("action", nargs="?", choices=["list", "export"], default="list")
    p.add_argument("--json", action="store_true")
    p.add_argument("--state", action="append", choices=outbox.STATES, default=[])
    p.add_argument("-o", "--output", help="export: the Markdown file to write")
    p.set_defaults(handler=cmd_outbox)

    p = commands.add_parser("sync", help="send waiting comments and bring down the threads")
    p.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="wait up to this long for paced or retried comments (default 60)")
    p.add_argument("--no-fetch", action="store_true", help="only send")
    p.add_argument("--full", action="store_true", help="read every thread whole")
    p.set_defaults(handler=cmd_sync)

    comments = commands.add_parser("comments", help="comment threads kept for reading offline")
    actions = comments.add_subparsers(dest="comments_command", metavar="ACTION", required=True)
    p = actions.add_parser("show", help="a document's thread, as stored")
    p.add_argument("--pack", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_comments_show)

    p = commands.add_parser("doctor", help="show the proxy and certificates in use, and "
                            "whether the community sites answer")
    p.add_argument("url", nargs="*", help="sites to try (default: those of installed packs)")
    p.set_defaults(handler=cmd_doctor)


def _text(ctx: Context) -> str:
    return user_text(ctx.args.text, ctx.args.text_file, "comment", "--text-file")


def _password() -> str:
    from_env = os.environ.get(credentials.PASSWORD_VARIABLE)
    if from_env:
        return from_env
    if sys.stdin.isatty():
        return getpass.getpass("Application password: ")
    return sys.stdin.readline().strip()


def cmd_site_login(ctx: Context) -> int:
    url, user = ctx.args.url.rstrip("/"), ctx.args.user
    password = _password()
    if not password:
        raise CasebookError("No application password given (standard input or "
                            f"{credentials.PASSWORD_VARIABLE}).")
    try:
        name = check_sign_in(url, user, password)
    except SiteAnswerError as exc:
        raise CasebookError(f"{url} did not accept the sign-in: {exc.outcome.reason}") from exc
    in_keyring = credentials.save(ctx.conn, url, user, password)
    where = (f"the password is in your keyring ({credentials.keyring_name()})" if in_keyring
             else "no keyring is available on this computer, so the password is not kept: "
             f"give it again next time (or set {credentials.PASSWORD_VARIABLE})")
    print(f"Signed in to {url} as {name or user}; {where}.")
    return 0


def cmd_site_logout(ctx: Context) -> int:
    credentials.forget(ctx.conn, ctx.args.url)
    print(f"Signed out of {ctx.args.url.rstrip('/')}.")
    return 0


def cmd_comment_add(ctx: Context) -> int:
    comment = outbox.add_comment(ctx.conn, ctx.args.pack, ctx.args.doc, _text(ctx),
                                 section=ctx.args.section)
    print(f"Queued comment {comment.uuid} on {comment.doc_title}; it is sent at the next sync.")
    return 0


def cmd_comment_edit(ctx: Context) -> int:
    comment = outbox.edit_comment(ctx.conn, ctx.args.uuid, _text(ctx))
    print(f"Changed comment {comment.uuid}; it is {STATE_WORDS[comment.state]}.")
    return 0


def cmd_comment_withdraw(ctx: Context) -> int:
    comment = outbox.withdraw_comment(ctx.conn, ctx.args.uuid)
    print(f"Withdrew comment {comment.uuid}. (Undo: casebook comment restore {comment.uuid})")
    return 0


def cmd_comment_restore(ctx: Context) -> int:
    comment = outbox.restore_comment(ctx.conn, ctx.args.uuid)
    print(f"Brought back comment {comment.uuid}; it is waiting to send.")
    return 0


def cmd_comment_retry(ctx: Context) -> int:
    comment = outbox.retry_comment(ctx.conn, ctx.args.uuid)
    print(f"Comment {comment.uuid} is waiting to send again.")
    return 0


def cmd_outbox(ctx: Context) -> int:
    comments = outbox.list_comments(ctx.conn, states=tuple(ctx.args.state))
    if ctx.args.action == "export":
        if not ctx.args.output:
            raise CasebookError("outbox export needs -o FILE.")
        Path(ctx.args.output).write_text(outbox.as_markdown(comments), encoding="utf-8")
        print(f"Wrote {len(comments)} comment(s) to {ctx.args.output}.")
        return 0
    if ctx.args.json:
        print(inert_json([c.as_json() for c in comments], indent=2))
        return 0
    if not comments:
        print("The outbox is empty.")
    for c in comments:
        where = f" — {c.section}" if c.section else ""
        print(f"{c.uuid}  {STATE_WORDS[c.state]}  {c.pack_id}/{c.doc_id}{where}")
        print(f"    {one_line(c.body)}")
        if c.reason and c.state != "sent":
            print(f"    ({c.reason})")
        if c.remote_link:
            print(f"    {c.remote_link}")
    return 0




def cmd_sync(ctx: Context) -> int:
    stop = threading.Event()
    with SiteSessions(ctx.conn) as sites:
        report = sync.deliver(ctx.conn, sites.signed_in, stop=stop, wait_limit=ctx.args.wait,
                              on_change=_print_change)
        offline = set(report.offline)  # not asked again in this run
        sync.refresh_held(ctx.conn, lambda url: None if url in offline
                          else sites.signed_in(url))
        if not ctx.args.no_fetch:
            fetched, problems = sync.fetch_threads(ctx.conn, sites.signed_in, sites.anonymous,
                                                   full=ctx.args.full, skip=report.offline)
            report.fetched = fetched
            report.problems += problems
    print(report.summary())
    for problem in report.problems:
        print(f"  {problem}")
    for site in sorted(report.sign_in_needed):
        print(f"  Sign-in needed for {site}: casebook site login {site} --user NAME")
    return sync_status(report)


# Exit statuses of casebook sync, for scripts (docs/sync.md).
SYNC_REFUSED, SYNC_SIGN_IN_NEEDED = 3, 4


def sync_status(report: sync.SyncReport) -> int:
    """0 when nothing needs the reader; SYNC_REFUSED when the site refused a comment in
    this run (it stays in the outbox to edit), else SYNC_SIGN_IN_NEEDED when a site
    needs signing in to before comments can go. Offline is not an error: they wait."""
    if report.rejected:
        return SYNC_REFUSED
    if report.sign_in_needed:
        return SYNC_SIGN_IN_NEEDED
    return 0


def _print_change(comment: outbox.OutboxComment) -> None:
    extra = f": {comment.reason}" if comment.reason and comment.state != "sent" else ""
    print(f"{comment.uuid[:8]} {STATE_WORDS[comment.state]}{extra}", flush=True)


def cmd_comments_show(ctx: Context) -> int:
    entries, fetched = threads.thread_for_document(ctx.conn, ctx.args.pack, ctx.args.doc)
    if ctx.args.json:
        print(inert_json({"fetched_at": fetched, "comments": [e.__dict__ for e in entries]},
                         indent=2))
        return 0
    print(f"Last brought down: {fetched or 'never (run casebook sync when online)'}")
    if not entries:
        print("No comments yet.")
    for e in entries:
        mark = "" if e.state == "on-site" else f"  [{STATE_WORDS[e.state]}]"
        print(f"\n{e.author}, {e.date}{mark}")
        print(f"  {one_line(e.text, 400)}")
    return 0


def cmd_doctor(ctx: Context) -> int:
    urls = ctx.args.url or [r[0].rstrip("/") for r in ctx.conn.execute(
        "SELECT DISTINCT json_extract(manifest, '$.site.url') FROM packs WHERE active = 1 "
        "AND json_extract(manifest, '$.site.url') IS NOT NULL")]
    print(f"Keyring: {credentials.keyring_name() or 'none (passwords asked for each session)'}")
    if not urls:
        print("No community site is named by the installed packs.")
    failed = 0
    examples = example_sites(ctx.conn)
    for url in urls:
        if url in examples and not ctx.args.url:
            print(f"{url}\n  an example site named by a sample pack: it does not exist, "
                  "so it is not tried")
            continue
        route = route_for(url)
        print(f"{url}\n  {route.describe()}")
        user = credentials.signed_in_user(ctx.conn, url)
        print(f"  signed in as: {user or 'nobody'}")
        try:
            with make_client(url, timeout=10.0) as client:
                answer = client.get(f"{url}/wp-json/")
            print(f"  answers: {answer.status_code} {answer.reason_phrase}")
        except httpx.HTTPError as exc:
            failed += 1
            print(f"  does not answer: {explain(exc, url)}")
    return 1 if failed else 0
