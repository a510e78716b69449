"""Cut the power part-way through every kind of write, and check what the disk then holds.

The data folder sits on LazyFS (tests/reliability/lazyfs.py), which forgets at the cut
every write not made durable by fsync/fdatasync and every create, rename and unlink not
made durable by an fsync of its folder. The real CLI runs on it; at a seeded random
moment it is stopped and killed, the volatile layer is thrown away, and the store left
on disk is checked: intact (PRAGMA integrity_check, the full-text indexes), each
operation's outcome whole (the state before it or after it, never a mix, and *after*
once the command had told the user it was done), and every note and queued comment the
CLI had confirmed still there.

Each cut starts from a copy of a pristine data folder, except the notes and comments
series, which goes on in one library from cut to cut, as a reader's would.

The suite runs ``CUTS_IN_SUITE`` cuts (about a minute on 2 cores);
``CASEBOOK_POWER_CUTS=240`` runs that many, shared out the same way.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop_app.core.packs.signing import generate_key
from desktop_app.core.store import backups
from desktop_app.core.store.db import open_store
from desktop_app.sample import sample_pack
from tests.packfactory import PackFactory
from tests.reliability import crashkit as kit
from tests.reliability import lazyfs
from tests.reliability.powercut import Cut, run_and_cut, run_to_end

SEED = 13
CUTS_IN_SUITE = 48
QUOTES = ["Agree house rules", "Write alt text for every image", "caption your videos",
          "plan their channels", "publish them before you need them"]
SMALL = "org.example.small"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module", autouse=True)
def fuse_available() -> None:
    lazyfs.require_fuse()


def _total_cuts() -> int:
    return int(os.environ.get("CASEBOOK_POWER_CUTS") or CUTS_IN_SUITE)


@dataclass
class Tally:
    cuts: int = 0
    finished: int = 0  # cut after the command had exited (and said so)
    in_transaction: int = 0  # cut with an SQLite write lock held
    lost_writes: int = 0  # cuts where LazyFS threw away un-synced data of the store
    landed_after: int = 0  # killed, yet the outcome was already durable
    problems: list[str] = field(default_factory=list)

    def count(self, cut: Cut, after: bool) -> None:
        self.cuts += 1
        self.finished += cut.finished
        self.in_transaction += cut.in_transaction
        self.lost_writes += any(name in (kit.STORE, kit.STORE + "-wal")
                                for name in cut.lost.get("unsynced_files", []))
        self.landed_after += after and not cut.finished


@dataclass
class Operation:
    """One command cut again and again, each time on a fresh copy of ``pristine``.

    ``judge(work, cut)`` says what is wrong with the data folder after a cut, and
    whether the operation's outcome had landed (True) or not (False).
    """

    name: str
    pristine: Path
    args: tuple[str | Path, ...]
    share: float  # of the total number of cuts
    judge: Callable[[Path, Cut], tuple[list[str], bool]] | None = None
    steps: int = 0  # changes and syncs it makes on the disk, run to the end


def _ok(data_dir: Path, *args: str | Path) -> str:
    done = kit.cli(data_dir, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _old_backups(data_dir: Path, count: int = 1) -> None:
    """Leave ``count`` copies of the folder's newest backup, dated 2, 3... days ago (the
    next start takes the day's backup, and past five retires the oldest)."""
    folder = data_dir / "backups"
    found = backups.list_backups(folder)
    now = datetime.now(UTC)
    for n in range(count):
        stamp = (now - timedelta(days=2 + n)).strftime(backups.STAMP)
        shutil.copyfile(found[0].path, folder / f"{backups.AUTO_PREFIX}{stamp}.sqlite3")
    for old in found:
        old.path.unlink()


def _store_problems(work: Path, confirmed_notes: set[str]) -> list[str]:
    store = work / kit.STORE
    if not store.exists():
        return ["the library file is gone"]
    problems = kit.integrity_problems(store)
    if problems:
        return problems
    notes = kit.notes(store)
    lost = [u for u in confirmed_notes if u not in notes or notes[u][4]]
    if lost:
        problems.append(f"confirmed notes lost: {lost}")
    try:
        open_store(store).close()  # and Casebook itself opens it, reporting no damage
    except Exception as exc:
        problems.append(f"Casebook cannot open the library: {exc}")
    return problems


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("power")
    factory = PackFactory(root / "packs", generate_key("Power Publisher"))
    small = factory.write(factory.spec(pack_id=SMALL), sign=False)
    sample_old = sample_pack(root / "sample" / "1.0.0", edition=None)
    sample_new = sample_pack(root / "sample" / "1.1.0", edition="1.1.0")

    empty = root / "empty"
    _ok(empty, "pack", "list")
    _ok(empty, "pack", "list")  # the second start takes the day's backup

    small_store = kit.copy_data_dir(empty, root / "small")
    _ok(small_store, "pack", "install", small, "--allow-unsigned")
    small_notes = {UUID.search(_ok(small_store, "notes", "add", "--pack", SMALL, "--doc",
                                   "guide", "--quote", q, "--note", f"mine {i}"))[0]
                   for i, q in enumerate(QUOTES[:3])}

    sample_store = kit.copy_data_dir(empty, root / "sample-store")
    _ok(sample_store, "pack", "install", sample_old)
    sample_id = "org.casebook.sample.local-by-social"
    sample_notes = {UUID.search(_ok(sample_store, "notes", "add", "--pack", sample_id,
                                    "--doc", "guide", "--quote", quote, "--note", "kept"))[0]
                    for quote in ("Local by Social", "social media", "residents")}

    # Backups: five old scheduled ones, so the day's backup also retires the oldest.
    backup_due = kit.copy_data_dir(small_store, root / "backup-due")
    _old_backups(backup_due, count=5)

    # Restore: the newest backup holds the small pack and three notes; two more notes
    # were written after it, and the library file has them.
    restorable = kit.copy_data_dir(small_store, root / "restorable")
    _old_backups(restorable)
    _ok(restorable, "pack", "list")
    for i in range(2):
        _ok(restorable, "notes", "add", "--pack", SMALL, "--doc", "guide", "--quote",
            QUOTES[3 + i], "--note", f"after the backup {i}")
    newest = backups.list_backups(restorable / "backups")[0].path

    return {"root": root, "small": small, "sample_new": sample_new, "empty": empty,
            "small_store": small_store, "small_notes": small_notes,
            "sample_store": sample_store, "sample_notes": sample_notes,
            "backup_due": backup_due, "restorable": restorable,
            "restorable_state": kit.state(restorable / kit.STORE),
            "backup_state": kit.state(newest)}


# --- What each operation must leave ---------------------------------------------------


def _store_now(work: Path, confirmed: set[str]) -> tuple[list[str], dict | None]:
    """What is wrong with the library, and (if nothing) what it holds."""
    problems = _store_problems(work, confirmed)
    return problems, None if problems else kit.state(work / kit.STORE)


def _whole_change(before: dict, after: dict, confirmed: set[str]):
    """Judge for a command whose outcome is a change of the store: before or after."""
    def judge(work: Path, cut: Cut) -> tuple[list[str], bool]:
        problems, now = _store_now(work, confirmed)
        if now is None:
            return problems, False
        if cut.finished and now != after:
            problems.append("the command said it was done, and after the cut it is not")
        elif now not in (before, after):
            problems.append(f"a state that is neither before nor after: {now}")
        return problems, now == after
    return judge


def _backup_judge(pristine: Path, before: dict, confirmed: set[str]):
    old = {b.path.name for b in backups.list_backups(pristine / "backups")}

    def judge(work: Path, cut: Cut) -> tuple[list[str], bool]:
        # Backups first: opening the store (in _store_problems) takes the day's backup.
        found = backups.list_backups(work / "backups")
        new = [b for b in found if b.path.name not in old]
        problems = []
        for backup in found:
            # A backup that looks whole must be whole: it is what a restore puts back.
            damage = kit.integrity_problems(backup.path)
            if damage:
                problems.append(f"backup {backup.path.name} is damaged: {damage}")
            elif backup in new and kit.state(backup.path) != before:
                problems.append(f"backup {backup.path.name} does not hold the library")
        store_problems, now = _store_now(work, confirmed)
        problems += store_problems
        if now is not None and now != before:
            problems.append("taking a backup changed the library")
        if cut.finished and not new:
            problems.append("the day's backup was taken, and the cut lost it")
        if len(new) > 1:
            problems.append(f"more than one new backup: {new}")
        return problems, bool(new)
    return judge


def _restore_judge(before: dict, restored: dict, confirmed: set[str]):
    def judge(work: Path, cut: Cut) -> tuple[list[str], bool]:
        # The notes confirmed before the backup was taken are in both states.
        problems, now = _store_now(work, confirmed)
        if now is None:
            return problems, False
        kept = sorted(work.glob("casebook-damaged-*.sqlite3"))
        if now == restored:
            # The library it replaced is kept beside it, whole: nothing is lost for good.
            if len(kept) != 1 or kit.integrity_problems(kept[0]) or \
                    kit.state(kept[0]) != before:
                problems.append(f"restored, but the previous library is not kept whole: {kept}")
        elif cut.finished:
            problems.append("the command said it restored the backup; after the cut it has not")
        elif now != before:
            problems.append(f"neither the library nor the backup: {now}")
        elif kept:
            problems.append(f"not restored, yet a copy was set aside: {kept}")
        return problems, now == restored
    return judge


def _operations(world: dict) -> list[Operation]:
    empty = world["empty"]
    return [
        Operation("pack install", empty, ("pack", "install", world["small"],
                                          "--allow-unsigned"), 0.15),
        Operation("pack update + re-anchoring", world["sample_store"],
                  ("pack", "install", world["sample_new"]), 0.2),
        Operation("daily backup", world["backup_due"], ("pack", "list"), 0.15),
        Operation("store restore", world["restorable"], ("store", "restore"), 0.15),
    ]


def _setup_judges(world: dict, ops: list[Operation]) -> None:
    """Run each command once to the end on LazyFS (its steps, and the state after)."""
    root: Path = world["root"]
    for op in ops:
        work = kit.copy_data_dir(op.pristine, root / "measure")
        done, op.steps = run_to_end(work, root / "measure-mnt", op.args)
        assert done.returncode == 0, f"{op.name} does not work on LazyFS: {done.stderr}"
        before = kit.state(op.pristine / kit.STORE)
        confirmed = (world["sample_notes"] if op.pristine == world["sample_store"] else
                     world["small_notes"] if op.pristine != world["empty"] else set())
        if op.name == "daily backup":
            op.judge = _backup_judge(op.pristine, before, confirmed)
        elif op.name == "store restore":
            op.judge = _restore_judge(world["restorable_state"], world["backup_state"],
                                      world["small_notes"])
        else:
            op.judge = _whole_change(before, kit.state(work / kit.STORE), confirmed)
        problems, landed = op.judge(work, Cut(True, 0, done.stdout, False))
        assert not problems and landed, f"{op.name} run to the end: {problems}"


def _cut_operation(op: Operation, cuts: int, scratch: Path, seed: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    for slot in range(cuts):
        # Stratified over the command's steps, and a little past its end, where the cut
        # falls after the command has said it is done.
        at_step = 1 + int(op.steps * 1.05 * (slot + rng.random()) / cuts)
        work = kit.copy_data_dir(op.pristine, scratch / "data")
        cut = run_and_cut(work, scratch / "mnt", op.args, at_step)
        if cut.finished and cut.returncode != 0:
            tally.problems.append(f"{op.name} failed on its own: {cut.returncode}")
        problems, landed = op.judge(work, cut)
        tally.count(cut, landed)
        tally.problems += [f"{op.name}, cut at step {at_step}: {p}" for p in problems]
    return tally


def _cut_notes_and_comments(world: dict, cuts: int, scratch: Path, seed: int) -> Tally:
    """One library through notes saved and comments queued, each cut somewhere: every
    note and comment the CLI confirmed must outlive every later cut."""
    rng = random.Random(seed)
    work = kit.copy_data_dir(world["small_store"], scratch / "data")
    store = work / kit.STORE
    notes = {uuid: "" for uuid in world["small_notes"]}  # confirmed uuid -> its text
    queued: dict[str, str] = {}  # comments confirmed queued -> their text
    tally = Tally()
    steps = {}  # how many changes and syncs a note add and a comment add make
    for is_note, args in ((True, ("notes", "add", "--pack", SMALL, "--doc", "guide",
                                  "--quote", QUOTES[0])),
                          (False, ("comment", "add", "--pack", SMALL, "--doc", "guide", "x"))):
        trial = kit.copy_data_dir(work, scratch / "trial")
        steps[is_note] = run_to_end(trial, scratch / "mnt", args)[1]
    for step in range(cuts):
        text = f"step {step}" + " words" * rng.randrange(1, 400)
        is_note = rng.random() < 0.5
        args: tuple[str, ...] = (
            ("notes", "add", "--pack", SMALL, "--doc", "guide", "--quote",
             rng.choice(QUOTES), "--note", text) if is_note else
            ("comment", "add", "--pack", SMALL, "--doc", "guide", text))
        at_step = 1 + rng.randrange(int(steps[is_note] * 1.1) + 1)
        notes_before, comments_before = kit.notes(store), kit.comments(store)
        cut = run_and_cut(work, scratch / "mnt", args, at_step)
        if not cut.finished:
            pass
        elif cut.returncode == 0:
            (notes if is_note else queued)[UUID.search(cut.stdout)[0]] = text
        else:
            tally.problems.append(f"{args[:2]} failed on its own: {cut.returncode}")
        problems = _store_problems(work, set(notes))
        if not problems:
            problems += _notes_whole(kit.notes(store), notes_before, notes)
            problems += _comments_whole(kit.comments(store), comments_before, queued)
        new = (set(kit.notes(store)) - set(notes_before) if is_note else
               set(kit.comments(store)) - set(comments_before)) if not problems else set()
        for uuid in new:  # killed, yet saved: from now on it must stay
            (notes if is_note else queued)[uuid] = text
        tally.count(cut, bool(new))
        tally.problems += [f"{args[:2]} #{step}, cut at step {at_step}: {p}"
                           for p in problems]
    return tally


def _notes_whole(now: dict, before: dict, confirmed: dict[str, str]) -> list[str]:
    problems = [f"note {u} changed or lost" for u, v in before.items() if now.get(u) != v]
    problems += [f"confirmed note {u} lost" for u in confirmed if u not in now]
    problems += [f"note {u} saved with the wrong text" for u, text in confirmed.items()
                 if text and u in now and now[u][3] != text]
    if len(set(now) - set(before)) > 1:
        problems.append("more than one note appeared")
    return problems


def _comments_whole(now: dict, before: dict, confirmed: dict[str, str]) -> list[str]:
    problems = [f"comment {u} changed or lost" for u, v in before.items() if now.get(u) != v]
    problems += [f"confirmed comment {u} lost or changed" for u, text in confirmed.items()
                 if now.get(u, (None,) * 4)[2:] != (text, "queued")]
    fresh = [v for u, v in now.items() if u not in before]
    if len(fresh) > 1 or any(state != "queued" or not body.startswith("step ")
                             for _, _, body, state in fresh):
        problems.append(f"a comment appeared half written or twice: {fresh}")
    return problems


def test_power_cuts_leave_the_store_whole_and_confirmed_writes_kept(world: dict) -> None:
    root: Path = world["root"]
    total = _total_cuts()
    ops = _operations(world)
    _setup_judges(world, ops)
    notes_share = 1 - sum(op.share for op in ops)

    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {op.name: pool.submit(_cut_operation, op, max(2, round(total * op.share)),
                                     root / f"work-{i}", SEED + i)
                for i, op in enumerate(ops)}
        jobs["notes saved + comments queued"] = pool.submit(
            _cut_notes_and_comments, world, max(4, round(total * notes_share)),
            root / "work-notes", SEED + 100)
        tallies = {name: job.result() for name, job in jobs.items()}

    report = {name: (t.cuts, t.in_transaction, t.lost_writes, t.landed_after, t.finished)
              for name, t in tallies.items()}
    print("\n(cuts, inside a write transaction, cuts that threw away un-synced writes of "
          "the store, killed after the outcome was durable, after the command finished) "
          "per operation:", report)
    problems = [p for t in tallies.values() for p in t.problems]
    assert not problems, "\n".join(problems[:20])
    assert sum(t.cuts for t in tallies.values()) >= total * 0.95, report
    # The cuts must reach the writes, not only start-up and the time after: some inside
    # transactions, some throwing away writes the store had not yet synced.
    assert sum(t.in_transaction for t in tallies.values()) >= total // 8, report
    assert sum(t.lost_writes for t in tallies.values()) >= total // 8, report
    shutil.rmtree(root / "measure", ignore_errors=True)


def test_the_first_backup_outlives_a_power_cut(world: dict) -> None:
    """The backups folder is made by the first backup: its own name must be made
    durable too (an fsync of the data folder), or a cut takes the folder and every
    backup in it, however well each file was synced."""
    data = kit.copy_data_dir(world["small_store"], world["root"] / "first-backup")
    shutil.rmtree(data / "backups")
    cut = run_and_cut(data, world["root"] / "first-backup-mnt", ("pack", "list"), 10**9)
    assert cut.finished and cut.returncode == 0
    found = backups.list_backups(data / "backups")
    assert len(found) == 1, "the backup Casebook took is gone after the power cut"
    assert not kit.integrity_problems(found[0].path)
    assert kit.state(found[0].path) == kit.state(world["small_store"] / kit.STORE)
