"""Comment text kept exactly as written, read from a file or standard input, and
``casebook sync`` exit statuses that scripts can tell apart (issue 13).

Against the real WordPress on 127.0.0.1 (tests/sync/wordpress_site.py), through the
real CLI in a child process, as a script would run it.
"""

from __future__ import annotations

import json
import sys

import pytest

from desktop_app.cli_site import SYNC_REFUSED, SYNC_SIGN_IN_NEEDED
from tests.sync import test_cli_and_crashes
from tests.sync.library import PACK
from tests.sync.test_cli_and_crashes import cli

data_dir_for = test_cli_and_crashes.data_dir_for  # a library whose pack names the site

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the CLI helper is POSIX")

# CRLF line endings, trailing spaces, a tab, a blank line: what a reader may paste.
WRITTEN = "Dear all,  \r\n\r\n\tThe rota works.\r\nThanks   "


def sign_in(site, data) -> None:
    login = cli(data, "site", "login", site.url, "--user", site.author_user,
                stdin=site.author_password + "\n")
    assert login.returncode == 0, login.stderr


def outbox(data) -> list[dict]:
    return json.loads(cli(data, "outbox", "--json").stdout)


def test_a_comment_from_a_file_is_kept_exactly_and_delivered(site, data_dir_for, tmp_path):
    data = data_dir_for
    text_file = tmp_path / "comment.txt"
    text_file.write_bytes(WRITTEN.encode())
    added = cli(data, "comment", "add", "--pack", PACK, "--doc", "guide",
                "--text-file", str(text_file))
    assert added.returncode == 0, added.stderr
    assert [c["body"] for c in outbox(data)] == [WRITTEN]
    sign_in(site, data)
    synced = cli(data, "sync", "--wait", "0", "--no-fetch", env_password=site.author_password)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert [c["body"] for c in outbox(data)] == [WRITTEN]  # our copy, unchanged by sending
    [on_site] = site.comments(post=site.open_posts[0])
    # WordPress stores what it is sent: the same bytes, then the delivery marker.
    assert on_site["content"].startswith(WRITTEN + " <!-- casebook:")


def test_a_comment_from_standard_input_keeps_its_line_endings(site, data_dir_for):
    added = cli(data_dir_for, "comment", "add", "--pack", PACK, "--doc", "guide", "-",
                stdin_bytes=WRITTEN.encode())
    assert added.returncode == 0, added.stderr
    assert [c["body"] for c in outbox(data_dir_for)] == [WRITTEN]


def test_a_comment_holding_nul_is_refused_in_words(site, data_dir_for, tmp_path):
    text_file = tmp_path / "comment.txt"
    text_file.write_bytes(b"half\x00way")
    added = cli(data_dir_for, "comment", "add", "--pack", PACK, "--doc", "guide",
                "--text-file", str(text_file))
    assert added.returncode == 1
    assert "holds a NUL character" in added.stderr and "Traceback" not in added.stderr
    assert outbox(data_dir_for) == []


def test_sync_says_sign_in_needed_with_its_own_status(site, data_dir_for):
    data = data_dir_for
    assert cli(data, "comment", "add", "--pack", PACK, "--doc", "guide", "Hello").returncode == 0
    synced = cli(data, "sync", "--wait", "0", "--no-fetch")
    assert synced.returncode == SYNC_SIGN_IN_NEEDED, synced.stdout + synced.stderr
    assert "Sign-in needed for" in synced.stdout


def test_sync_says_a_comment_was_refused_with_its_own_status(site, data_dir_for):
    data = data_dir_for
    assert cli(data, "comment", "add", "--pack", PACK, "--doc", "guide", "Hello").returncode == 0
    site.set_comments_open(site.open_posts[0], False)
    try:
        sign_in(site, data)
        synced = cli(data, "sync", "--wait", "0", "--no-fetch",
                     env_password=site.author_password)
    finally:
        site.set_comments_open(site.open_posts[0], True)
    assert synced.returncode == SYNC_REFUSED, synced.stdout + synced.stderr
    assert "1 refused by the site" in synced.stdout
    assert [c["state"] for c in outbox(data)] == ["rejected"]
