"""SIGKILL the real CLI part-way through every kind of write, 200+ times, and check the
store each time: intact, holding the state before or after that write (whole), and
holding every note the CLI had confirmed as saved.

Each kill starts from a copy of a pristine data folder made once, so kills are
independent and the run is repeatable (seeded delays, stratified over the duration
each command measured when run to the end).
"""

from __future__ import annotations

import random
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from desktop_app.core.packs.signing import generate_key
from desktop_app.core.store.db import open_store
from desktop_app.sample import sample_pack
from tests.packfactory import PackFactory
from tests.reliability import crashkit as kit

# About 30 s on 2 cores, so not marked slow.
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

SEED = 7
QUOTES = ["Agree house rules", "Write alt text for every image", "caption your videos",
          "plan their channels", "publish them before you need them"]


@dataclass
class Operation:
    name: str
    pristine: Path
    args: tuple[str | Path, ...]
    kills: int
    seconds: float = 0.0
    startup: float = 0.0
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)  # test hooks for this command


@dataclass
class Tally:
    kills: int = 0
    finished: int = 0
    mid_write: int = 0  # killed with the store open: its WAL was left behind
    landed_after: int = 0  # killed, yet the write had committed
    problems: list[str] = field(default_factory=list)


def _confirmed_note(data_dir: Path, pack: str, doc: str, quote: str, body: str) -> str:
    done = kit.cli(data_dir, "notes", "add", "--pack", pack, "--doc", doc, "--quote", quote,
                   "--note", body)
    assert done.returncode == 0, done.stderr
    return re.search(r"Saved \w+ ([0-9a-f-]{36})", done.stdout)[1]


def _ok(data_dir: Path, *args: str | Path) -> None:
    done = kit.cli(data_dir, *args)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The pristine data folders and files every kill starts from."""
    root = tmp_path_factory.mktemp("crash")
    factory = PackFactory(root / "packs", generate_key("Crash Publisher"))
    small = factory.write(factory.spec(pack_id="org.example.small"), sign=False)
    small_next = factory.write(factory.spec(
        pack_id="org.example.small", version="1.1.0",
        guide_pages=[p + " Revised." for p in ["Intro.", *QUOTES]]), sign=False)
    sample_dir = root / "sample"
    sample_old = sample_pack(sample_dir / "1.0.0", edition=None)
    sample_new = sample_pack(sample_dir / "1.1.0", edition="1.1.0")
    markdown = root / "my-notes.md"
    markdown.write_text("\n\n".join(f"# Part {n}\n\n" + "Some words of my own. " * 40
                                    for n in range(200)))

    empty = root / "empty"
    _ok(empty, "pack", "list")
    _ok(empty, "pack", "list")  # the second start takes the day's backup, as a user's would

    small_store = kit.copy_data_dir(empty, root / "small")
    _ok(small_store, "pack", "install", small, "--allow-unsigned")
    confirmed = {_confirmed_note(small_store, "org.example.small", "guide", q, f"mine {i}")
                 for i, q in enumerate(QUOTES[:3])}

    exported = root / "notes.jsonld"
    with_many = kit.copy_data_dir(small_store, root / "with-many")
    for i in range(20):
        _confirmed_note(with_many, "org.example.small", "guide", QUOTES[i % 5], f"to import {i}")
    _ok(with_many, "notes", "export", "--format", "jsonld", "-o", exported)
    no_notes = kit.copy_data_dir(empty, root / "no-notes")
    _ok(no_notes, "pack", "install", small, "--allow-unsigned")

    two_versions = kit.copy_data_dir(small_store, root / "two-versions")
    _ok(two_versions, "pack", "install", small_next, "--allow-unsigned")

    sample_store = kit.copy_data_dir(empty, root / "sample-store")
    _ok(sample_store, "pack", "install", sample_old)
    sample_id = "org.casebook.sample.local-by-social"
    sample_notes = set()
    for quote in ("Local by Social", "social media", "residents"):
        done = kit.cli(sample_store, "notes", "add", "--pack", sample_id, "--doc", "guide",
                       "--quote", quote, "--note", "kept through updates")
        if done.returncode == 0:
            sample_notes.add(re.search(r"([0-9a-f-]{36})", done.stdout)[1])
    assert sample_notes, "no quote found in the sample guide"

    # Import, remove and rollback write for milliseconds at the very end of their run:
    # a test hook holds their transactions open 0.3 s before COMMIT, so most kills land
    # inside them. The others run unaltered (their kills land before, in and after).
    operations = [
        Operation("pack install", empty, ("pack", "install", small, "--allow-unsigned"), 30),
        Operation("pack update + re-anchoring", sample_store,
                  ("pack", "install", sample_new), 30),
        Operation("docs add", small_store, ("docs", "add", markdown), 25),
        Operation("notes import", no_notes, ("notes", "import", exported), 25,
                  env=kit.pause_before_commit(0.3)),
        Operation("pack remove", two_versions, ("pack", "remove", "org.example.small"), 20,
                  env=kit.pause_before_commit(0.3)),
        Operation("pack rollback", two_versions, ("pack", "rollback", "org.example.small"), 20,
                  env=kit.pause_before_commit(0.3)),
    ]
    return {"root": root, "operations": operations, "small_store": small_store,
            "confirmed": {empty: set(), small_store: confirmed, no_notes: set(),
                          two_versions: confirmed, sample_store: sample_notes}}


def _check(work: Path, expected: list[dict], confirmed: set[str]) -> list[str]:
    store = work / kit.STORE
    problems = kit.integrity_problems(store)
    if problems:
        return problems
    now = kit.state(store)
    if now not in expected:
        problems.append(f"a state that is neither before nor after: {now}")
    missing = [uuid for uuid in confirmed if now["notes"].get(uuid, (0,) * 5)[4] is not False]
    if missing:
        problems.append(f"confirmed notes lost: {missing}")
    open_store(store).close()  # and Casebook itself opens it (no damage reported)
    return problems


def _kill_operation(op: Operation, confirmed: set[str], scratch: Path, seed: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    seconds = op.seconds
    attempt = 0
    # Aim until the kills are had: on a loaded machine more runs finish before their
    # kill (each one shortens the aim), so a fixed number of tries fell short (197/200).
    while tally.kills < op.kills and attempt < op.kills * 30:
        # Stratified: the i-th kill lands in the i-th slice of the part of the run after
        # start-up (Python, imports, opening the store), where the writing happens.
        # Commands that are over within their start-up (remove, rollback, import) get the
        # last fifth of their run instead: their writes sit right at the end.
        slot = attempt % op.kills
        start = min(op.startup, 0.8 * seconds)
        delay = start + (seconds - start) * (slot + rng.random()) / op.kills
        attempt += 1
        work = kit.copy_data_dir(op.pristine, scratch)
        run = kit.run_and_kill(work, op.args, delay, op.env)
        if run.killed:
            tally.kills += 1
            tally.mid_write += (work / (kit.STORE + "-wal")).exists()
            tally.landed_after += kit.state(work / kit.STORE) == op.after
        elif run.returncode == 0:
            tally.finished += 1
            # On a busy machine the measuring run can be slow and aim every kill past
            # the end; a run that finished sooner shows the command's real length.
            seconds = min(seconds, run.seconds)
        else:
            tally.problems.append(f"{op.name} failed on its own: {run.returncode}")
        tally.problems += [f"{op.name} @{delay:.2f}s: {p}"
                           for p in _check(work, [op.before, op.after], confirmed)]
    return tally


def _kill_note_edits(world: dict, scratch: Path, kills: int, seed: int) -> Tally:
    """One library through a series of note adds and deletes and comments queued,
    some finished, some killed: every note and comment the CLI confirmed must
    outlive every later kill."""
    rng = random.Random(seed)
    work = kit.copy_data_dir(world["small_store"], scratch)
    store = work / kit.STORE
    confirmed = dict.fromkeys(world["confirmed"][world["small_store"]], False)  # -> deleted
    queued: dict[str, str] = {}  # comments confirmed queued -> their text
    tally = Tally()
    first = kit.run_and_kill(work, ("notes", "add", "--pack", "org.example.small", "--doc",
                                    "guide", "--quote", QUOTES[0], "--note", "timed"), 60)
    seconds = first.seconds
    confirmed[re.search(r"([0-9a-f-]{36})", first.stdout)[1]] = False
    step = 0
    while tally.kills < kills and step < kills * 3:
        step += 1
        before = kit.notes(store)
        live = [u for u, deleted in confirmed.items() if not deleted]
        roll = rng.random()
        comment = ""
        if len(live) > 3 and roll < 0.3:
            target = rng.choice(live)
            args: tuple[str, ...] = ("notes", "delete", target)
            after_ok = [before, {**before, target: (*before[target][:4], True,
                                                     *before[target][5:])}]
        elif roll < 0.55:
            # A comment queued for the community site: kept like a note once confirmed.
            target, comment = "", f"comment at step {step}"
            args = ("comment", "add", "--pack", "org.example.small", "--doc", "guide",
                    comment)
            after_ok = [before]
        else:
            target, quote = "", rng.choice(QUOTES)
            args = ("notes", "add", "--pack", "org.example.small", "--doc", "guide",
                    "--quote", quote, "--note", f"step {step}")
            after_ok = [before]
        startup = world["startup"]
        run = kit.run_and_kill(work, args, startup + max(seconds - startup, 0.02) * rng.random())
        tally.kills += run.killed
        tally.mid_write += run.killed and (work / (kit.STORE + "-wal")).exists()
        if not run.killed:
            seconds = min(seconds, run.seconds)
            if run.returncode != 0:
                tally.problems.append(f"{args} failed on its own: {run.returncode}")
            elif target:
                confirmed[target] = True
            elif comment:
                queued[re.search(r"([0-9a-f-]{36})", run.stdout)[1]] = comment
            else:
                confirmed[re.search(r"([0-9a-f-]{36})", run.stdout)[1]] = False
        now = kit.notes(store)
        if run.killed and target and target in now:
            # A killed delete may have committed: from now on the note is expected as it is.
            confirmed[target] = now[target][4]
        problems = kit.integrity_problems(store)
        added = set(now) - set(before)
        if not target and len(added) <= 1 and all(now.get(u) == v for u, v in before.items()):
            pass  # an add: nothing else changed, and the new note arrived whole or not at all
        elif now not in after_ok:
            problems.append(f"notes are neither before nor after {args[:2]}")
        for uuid, deleted in confirmed.items():
            if uuid not in now or now[uuid][4] != deleted:
                problems.append(f"confirmed note {uuid} lost or its deletion undone")
        outbox_now = kit.comments(store)
        for uuid, body in queued.items():
            if outbox_now.get(uuid, (None, None, None, None))[2:] != (body, "queued"):
                problems.append(f"queued comment {uuid} lost or changed")
        unknown = {u: c for u, c in outbox_now.items() if u not in queued}
        if run.killed and comment and len(unknown) == 1:
            # A killed add may have committed: whole, and from now on it must stay.
            (uuid, (_, _, body, state)), = unknown.items()
            if (body, state) != (comment, "queued"):
                problems.append(f"a half-written comment: {body!r} {state}")
            queued[uuid] = body
        elif unknown:
            problems.append(f"comments appeared that were never written: {unknown}")
        tally.problems += [f"notes step {step}: {p}" for p in problems]
    return tally


def test_killed_writes_leave_the_store_whole_and_confirmed_notes_kept(world: dict) -> None:
    root: Path = world["root"]
    # How long a command takes to start and open the store: kills before that would
    # only test Python's start-up, so they are aimed after it (a little before, to
    # cover the open itself).
    opened = kit.copy_data_dir(world["small_store"], root / "startup")
    world["startup"] = 0.9 * min(kit.run_and_kill(opened, ("pack", "list"), 60).seconds
                                 for _ in range(3))
    for op in world["operations"]:
        op.startup = world["startup"]
        op.before = kit.state(op.pristine / kit.STORE)
        runs = []
        for _ in range(2):  # the shorter of two: one slow start must not set the aim
            finished = kit.copy_data_dir(op.pristine, root / "measure")
            runs.append(kit.run_and_kill(finished, op.args, 120, op.env))
            assert runs[-1].returncode == 0, f"{op.name} does not work without a kill"
        op.seconds = min(run.seconds for run in runs)
        op.after = kit.state(finished / kit.STORE)
        assert op.after != op.before, f"{op.name} changed nothing"

    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {op.name: pool.submit(_kill_operation, op, world["confirmed"][op.pristine],
                                     root / f"work-{i}", SEED + i)
                for i, op in enumerate(world["operations"])}
        jobs["notes add / delete"] = pool.submit(_kill_note_edits, world, root / "work-notes",
                                                 50, SEED + 100)
        tallies = {name: job.result() for name, job in jobs.items()}

    report = {name: (t.kills, t.mid_write, t.landed_after, t.finished)
              for name, t in tallies.items()}
    print("\n(kills, kills with the store open, kills after the commit, runs that finished "
          "first) per operation:", report)
    problems = [p for t in tallies.values() for p in t.problems]
    assert not problems, "\n".join(problems[:20])
    for op in world["operations"]:
        assert tallies[op.name].kills >= op.kills * 0.8, report
    assert sum(t.kills for t in tallies.values()) >= 200, report
    # The kills must reach the writes, not just Python's start-up. A floor well below
    # what a quiet machine shows, for a busy one.
    assert sum(t.mid_write for t in tallies.values()) >= 80, report
    for name in ("notes import", "pack remove", "pack rollback"):  # held open by the hook
        assert tallies[name].mid_write >= tallies[name].kills // 2, report
