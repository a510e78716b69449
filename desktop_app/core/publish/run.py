"""``casebook publish``: posts on the site, then the pack, then the catalogue.

Order matters. The posts come first because the pack names their ids; the pack is
built (reproducibly: the same sources and ids give the same bytes) and put where
readers fetch it before the catalogue offers it, so a reader never sees an offer whose
file is missing. The lock is saved after every post, so a run cut off anywhere is
completed by the next; each step first asks whether it is already done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any, Protocol

from desktop_app.core.net import make_client
from desktop_app.core.packs.browse import LINK_SUFFIX, link_file_bytes
from desktop_app.core.packs.builder import build_pack, source_folder
from desktop_app.core.packs.catalogue import (
    CATALOGUE_FORMAT,
    CATALOGUE_NAME,
    SIGNATURE_SUFFIX,
    CatalogueError,
    build_catalogue,
    check_catalogue_signature,
    sign_catalogue,
)
from desktop_app.core.packs.signing import SecretKey, public_key_bytes
from desktop_app.core.packs.version import PackVersion
from desktop_app.core.publish.lock import Published, PublishLock, SiteRecord
from desktop_app.core.publish.media import MediaTarget
from desktop_app.core.publish.plan import PublishError, PublishReport
from desktop_app.core.publish.posts import (
    ClientFactory,
    PostDraft,
    PostsSite,
    post_draft,
    summary_of,
)

PACK_TYPE = "application/vnd.casebook.pack+zip"
CATALOGUE_TYPE = "application/json"
LINK_NAME = "catalogue" + LINK_SUFFIX
KEY_NAME = "publisher.pub"


class Target(Protocol):
    """Where the pack and the catalogue go (``folder.FolderTarget``, ``media.MediaTarget``)."""

    kind: str

    def describe(self) -> str: ...
    def url_of(self, name: str) -> str: ...
    def read(self, name: str) -> bytes | None: ...
    def has(self, name: str, sha256: str) -> bool: ...
    def put(self, name: str, data: bytes, media_type: str) -> str: ...


def publish(source: Path, target: Target | None, key: SecretKey, *, site_url: str, user: str,
            password: str, edition: str | None = None, dry_run: bool = False,
            client_factory: ClientFactory = make_client,
            today: dt.date | None = None) -> PublishReport:
    """Publish the pack in ``source`` (its ``edition``, if given) to ``site_url``, and the
    pack and catalogue to ``target`` (None: the site's media library). Raises
    :class:`PublishError`; everything done before it is kept."""
    site_url = site_url.rstrip("/")
    config = source_folder(source, edition).config()
    version = PackVersion.parse(str(config["version"]))
    with PostsSite(site_url, user, password, client_factory=client_factory) as site:
        site.check_sign_in()  # first: a revoked password changes nothing
        job = _Job(source, edition, key, config, version, site,
                   target if target is not None else MediaTarget(site), dry_run)
        job.check()
        for doc in job.cases:
            _sync_post(site, job.draft(doc), doc["id"], job.record, job.lock, job.report)
        if dry_run:
            return _plan_rest(job.report, job.target, job.name, job.current, job.record)
        job.put_pack_and_catalogue(today or dt.date.today())
    return job.report


class _Job:
    """One run's facts: the pack, where it goes, and what the lock says is there."""

    def __init__(self, source: Path, edition: str | None, key: SecretKey,
                 config: dict[str, Any], version: PackVersion, site: PostsSite,
                 target: Target, dry_run: bool) -> None:
        self.source, self.edition, self.key, self.config = source, edition, key, config
        self.version, self.site, self.target = version, site, target
        self.pack_id = str(config["id"])
        self.report = PublishReport(dry_run, self.pack_id, str(version))
        self.lock = PublishLock.load(source)
        self.record = self.lock.site(site.site_url, self.pack_id)
        self.name = f"{self.pack_id}-{version}.cbpack"
        self.report.pack_url = target.url_of(self.name)
        self.report.catalogue_url = target.url_of(CATALOGUE_NAME)
        self.overrides = {"site": {"kind": "wordpress", "url": site.site_url},
                          "catalogue": self.report.catalogue_url}
        self.cases = [doc for doc in config.get("documents", [])
                      if doc.get("kind") == "case-study"]
        published = self.record.published
        self.same_version = published is not None and published.version == str(version)
        self.current: dict[str, Any] | None = None

    def check(self) -> None:
        """Refusals, before anything on the site or in the target changes."""
        self.current = _read_catalogue(self.target)
        _refuse_older(self.current, self.pack_id, self.version, self.record)
        published = self.record.published
        # Built once first: sources that do not make a pack stop here, not after the
        # posts were made.
        trial = self.build_sha(published.posts if published and self.same_version
                               else self.record.posts)
        if published and self.same_version and trial != published.sha256:
            raise PublishError(
                f"{self.version} is already published, and the sources now make a different "
                "pack. Readers refuse a version whose contents changed: give this edition a "
                "new version in pack.toml (or editions/<version>/pack.toml). Nothing was "
                "changed.")

    def draft(self, doc: dict[str, Any]) -> PostDraft:
        summary = doc.get("summary") or summary_of(source_folder(
            self.source, self.edition).path(doc["source"]).read_text(encoding="utf-8"))
        return post_draft(self.pack_id, doc["id"], doc["title"], summary,
                          str(self.config["title"]), str(self.version), self.report.pack_url)

    def build(self, build_dir: Path, posts: dict[str, int]) -> Path:
        return build_pack(self.source, build_dir, edition=self.edition, key=self.key,
                          overrides=self.overrides,
                          posts=_posts(self.config, posts, self.site.site_url))

    def build_sha(self, posts: dict[str, int]) -> str:
        with tempfile.TemporaryDirectory(prefix="casebook-publish-") as build_dir:
            return hashlib.sha256(self.build(Path(build_dir), posts).read_bytes()).hexdigest()

    def put_pack_and_catalogue(self, today: dt.date) -> None:
        report, published = self.report, self.record.published
        with tempfile.TemporaryDirectory(prefix="casebook-publish-") as build_dir:
            pack = self.build(Path(build_dir), self.record.posts)
            data = pack.read_bytes()
            sha256 = hashlib.sha256(data).hexdigest()
            if published and self.same_version and published.sha256 != sha256:
                report.add("rebuilt", self.name, "a post was made again, so the pack names "
                           "its new id; readers who installed this version before keep the "
                           "old one until the next edition")
            if self.target.has(self.name, sha256):
                report.add("unchanged", self.name, "already there")
            else:
                self.target.put(self.name, data, PACK_TYPE)
                report.add("uploaded", self.name, f"{len(data):,} bytes, to {report.pack_url}")
            entry = json.loads(build_catalogue([pack], str(self.config["publisher"]),
                                               today))["packs"][0]
        publisher = str(self.config["publisher"])
        _write_catalogue(self.target, self.current, entry, publisher, self.key, today, report)
        # What the publisher hands out (a link readers open in Casebook), and the key a
        # reader is shown, with its fingerprint, before trusting it on first use.
        _put_if_changed(self.target, LINK_NAME,
                        link_file_bytes(report.catalogue_url, publisher), report)
        _put_if_changed(self.target, KEY_NAME, public_key_bytes(self.key.public), report)
        self.record.published = Published(str(self.version), sha256, self.name,
                                          dict(self.record.posts))
        self.lock.save()


def _sync_post(site: PostsSite, draft: PostDraft, doc_id: str, record: SiteRecord,
               lock: PublishLock, report: PublishReport) -> None:
    found = site.find(draft, record.posts.get(doc_id))
    if found is None:
        if report.dry_run:
            gone = f" (post {record.posts[doc_id]} is gone)" if doc_id in record.posts else ""
            report.add("created", f"post for {doc_id}", f"{draft.title!r}{gone}")
            return
        post = site.create(draft)
        report.add("created", f"post {post.id} for {doc_id}", post.link)
    elif found.status == "trash" or found.differs_from(draft):
        kind = "restored" if found.status == "trash" else "updated"
        if report.dry_run:
            report.add(kind, f"post {found.id} for {doc_id}", found.link)
            post = found
        else:
            post = site.update(found.id, draft)
            report.add(kind, f"post {post.id} for {doc_id}", post.link)
    else:
        post = found
        report.add("unchanged", f"post {post.id} for {doc_id}", post.link)
    report.posts[doc_id] = post.id
    if record.posts.get(doc_id) != post.id and not report.dry_run:
        record.posts[doc_id] = post.id
        lock.save()  # at once: the next step may be cut off


def _posts(config: dict[str, Any], managed: dict[str, int], site_url: str
           ) -> dict[str, int | None]:
    """Each document's post in the pack: the case studies' from the site; the others'
    from pack.toml only when it names this same site (else the id means nothing here)."""
    same_site = str((config.get("site") or {}).get("url", "")).rstrip("/") == site_url
    posts: dict[str, int | None] = {}
    for doc in config.get("documents", []):
        if doc.get("kind") == "case-study":
            posts[doc["id"]] = managed.get(doc["id"])
        elif not same_site:
            posts[doc["id"]] = None
    return posts


def _read_catalogue(target: Target) -> dict[str, Any] | None:
    data = target.read(CATALOGUE_NAME)
    if data is None:
        return None
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None  # not readable by anyone: replaced by a good one
    if not isinstance(raw, dict) or not isinstance(raw.get("packs"), list):
        return None
    return {**raw, "_bytes": data}


def _refuse_older(current: dict[str, Any] | None, pack_id: str, version: PackVersion,
                  record: SiteRecord) -> None:
    newest = [record.published.version] if record.published else []
    for item in (current or {}).get("packs", []):
        if isinstance(item, dict) and item.get("id") == pack_id:
            newest.append(str(item.get("version")))
    for other in newest:
        try:
            if PackVersion.parse(other) > version:
                raise PublishError(
                    f"{pack_id} {other} is already published; {version} is older, and "
                    "readers never take an older version. Publish a newer one. Nothing was "
                    "changed.")
        except ValueError:
            continue


def _new_packs(current: dict[str, Any] | None, entry: dict[str, Any]) -> list[dict[str, Any]]:
    others = [item for item in (current or {}).get("packs", [])
              if isinstance(item, dict) and item.get("id") != entry["id"]]
    return sorted([*others, entry], key=lambda item: str(item.get("id")))


def _signature_holds(target: Target, data: bytes, key: SecretKey) -> bool:
    signature = target.read(CATALOGUE_NAME + SIGNATURE_SUFFIX)
    if signature is None:
        return False
    try:
        signer = check_catalogue_signature(data, signature, CATALOGUE_NAME,
                                           {key.public.key_id: key.public})
    except CatalogueError:
        return False
    return signer is not None


def _write_catalogue(target: Target, current: dict[str, Any] | None, entry: dict[str, Any],
                     publisher: str, key: SecretKey, today: dt.date,
                     report: PublishReport) -> None:
    packs = _new_packs(current, entry)
    if (current is not None and current.get("packs") == packs
            and current.get("publisher") == publisher
            and _signature_holds(target, current["_bytes"], key)):
        report.add("unchanged", CATALOGUE_NAME, f"{len(packs)} pack(s), signed")
        return
    raw = {"format": CATALOGUE_FORMAT, "publisher": publisher,
           "generated": today.isoformat(), "packs": packs}
    data = (json.dumps(raw, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    # Two files cannot change at once: a reader who reads between the two writes finds
    # a signature that does not match, and ignores the catalogue until the next check.
    target.put(CATALOGUE_NAME, data, CATALOGUE_TYPE)
    target.put(CATALOGUE_NAME + SIGNATURE_SUFFIX, sign_catalogue(data, key), CATALOGUE_TYPE)
    report.add("wrote", CATALOGUE_NAME, f"offering {entry['id']} {entry['version']}, signed, "
               f"at {report.catalogue_url}")


def _put_if_changed(target: Target, name: str, data: bytes, report: PublishReport) -> None:
    if target.read(name) == data:
        report.add("unchanged", name)
        return
    target.put(name, data, CATALOGUE_TYPE)
    report.add("wrote", name, target.url_of(name))


def _plan_rest(report: PublishReport, target: Target, name: str,
               current: dict[str, Any] | None, record: SiteRecord) -> PublishReport:
    """Dry run: the pack cannot be built before its posts exist, so say what follows."""
    published = record.published
    same = published is not None and published.version == report.version
    new_posts = any(step.kind == "created" for step in report.steps)
    if same and published and not new_posts and target.has(name, published.sha256):
        report.add("unchanged", name, "already there")
        offered = [item for item in (current or {}).get("packs", [])
                   if isinstance(item, dict) and item.get("id") == report.pack_id
                   and item.get("version") == report.version]
        if offered:
            report.add("unchanged", CATALOGUE_NAME, "already offers this version")
            return report
    else:
        report.add("uploaded", name, f"built, signed and put at {report.pack_url}")
    report.add("wrote", CATALOGUE_NAME, f"offering {report.pack_id} {report.version}, at "
               f"{report.catalogue_url}")
    return report
