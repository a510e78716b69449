"""The command line against a real WordPress, and ``casebook sync`` killed with SIGKILL
at random points: every comment must end on the site exactly once."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys

import pytest

from desktop_app.core.comments import outbox
from desktop_app.core.store.db import open_store
from tests.packfactory import PackFactory
from tests.reliability import crashkit as kit
from tests.sync.library import PACK, markers

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def cli(data_dir, *args, stdin: str = "", env_password: str | None = None,
        stdin_bytes: bytes | None = None):
    """The real CLI in a child process; ``stdin_bytes`` is sent as it is (``stdin``
    goes through text mode)."""
    env = kit._env()
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env.pop("CASEBOOK_SITE_PASSWORD", None)
    if env_password:
        env["CASEBOOK_SITE_PASSWORD"] = env_password
    done = subprocess.run(kit._command(data_dir, args),
                          input=stdin.encode() if stdin_bytes is None else stdin_bytes,
                          capture_output=True, cwd=kit.ROOT, env=env, timeout=300)
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode(errors="replace"),
                                       done.stderr.decode(errors="replace"))


@pytest.fixture
def data_dir_for(site, packs: PackFactory, tmp_path):
    spec = packs.spec()
    spec.fields["site"]["url"] = site.url
    spec.documents[0]["post"] = site.open_posts[0]
    spec.documents[1]["post"] = site.open_posts[1]
    pack = packs.write(spec)
    data = tmp_path / "data"
    done = cli(data, "pack", "install", pack, "--allow-unsigned")
    assert done.returncode == 0, done.stderr
    return data


def test_the_command_line_signs_in_queues_syncs_and_shows_the_thread(site, data_dir_for):
    data = data_dir_for
    wrong = cli(data, "site", "login", site.url, "--user", site.author_user,
                stdin="abcd efgh ijkl mnop qrst uvwx\n")
    assert wrong.returncode == 1 and "did not accept" in wrong.stderr
    login = cli(data, "site", "login", site.url, "--user", site.author_user,
                stdin=site.author_password + "\n")
    assert login.returncode == 0, login.stderr
    assert "no keyring" in login.stdout  # none on this machine: said, not hidden

    added = cli(data, "comment", "add", "--pack", PACK, "--doc", "guide", "-",
                stdin="Written on the 07:12 to Leeds.\nSecond line.")
    assert added.returncode == 0 and "Queued comment" in added.stdout
    site.add_comment_as(site.editor_user, site.open_posts[0], "Welcome to the thread")

    # No keyring: the password is asked for again in each session, here from the variable.
    synced = cli(data, "--verbose", "sync", "--wait", "0", env_password=site.author_password)
    assert synced.returncode == 0, synced.stderr
    assert "1 sent" in synced.stdout and "1 new from others" in synced.stdout
    listed = json.loads(cli(data, "outbox", "--json").stdout)
    assert [c["state"] for c in listed] == ["held"] and listed[0]["remote_id"]
    assert markers(site.comments()) == [listed[0]["uuid"]]

    shown = cli(data, "comments", "show", "--pack", PACK, "--doc", "guide")
    assert "Welcome to the thread" in shown.stdout
    assert "Written on the 07:12 to Leeds." in shown.stdout

    secret = site.author_password.replace(" ", "").encode()
    for path in data.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), f"the password is in {path}"


def test_sync_killed_anywhere_delivers_every_comment_exactly_once(site, data_dir_for,
                                                                  monkeypatch):
    site.set_comment_previously_approved(False)
    data = data_dir_for
    store = data / kit.STORE
    # The password reaches the child processes by the variable (no keyring here).
    monkeypatch.setenv("CASEBOOK_SITE_PASSWORD", site.author_password)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    assert cli(data, "site", "login", site.url, "--user", site.author_user,
               env_password=site.author_password).returncode == 0

    rng = random.Random(11)
    written: set[str] = set()

    def queue(n: int) -> None:
        conn = open_store(store)
        try:
            for _ in range(n):
                written.add(outbox.add_comment(conn, PACK, rng.choice(["guide", "case-one"]),
                                               f"Comment {len(written)} before a crash").uuid)
        finally:
            conn.close()

    startup = 0.9 * min(kit.run_and_kill(data, ("outbox",), 60).seconds for _ in range(2))
    queue(20)
    measured = kit.run_and_kill(data, ("sync", "--wait", "30", "--no-fetch"), 120)
    assert measured.returncode == 0
    per_comment = max((measured.seconds - startup) / 20, 0.01)
    kills = mid_send = 0
    for _ in range(60):
        queue(6)
        delay = startup + rng.random() * per_comment * 8
        run = kit.run_and_kill(data, ("sync", "--wait", "30", "--no-fetch"), delay)
        kills += run.killed
        conn = sqlite3.connect(store)
        try:
            mid_send += conn.execute(
                "SELECT count(*) FROM outbox WHERE state = 'sending'").fetchone()[0]
        finally:
            conn.close()
        assert kit.integrity_problems(store) == []
    final = cli(data, "sync", "--wait", "60", "--no-fetch", env_password=site.author_password)
    assert final.returncode == 0, final.stderr

    on_site = markers(site.comments())
    print(f"\n{kills} kills, {mid_send} left a comment 'sending'; {len(written)} comments")
    assert kills >= 40, kills
    assert mid_send >= 5, f"only {mid_send} kills landed between the POST and its record"
    assert sorted(on_site) == sorted(written)  # every one there, none twice
    conn = open_store(store)
    try:
        assert outbox.counts(conn)["sent"] == len(written)
    finally:
        conn.close()
