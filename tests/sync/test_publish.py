"""``casebook publish`` against the real WordPress on 127.0.0.1: one post per case study,
the signed pack and catalogue in a folder a web server serves, and every way a run can
be cut short or repeated. The reader's side reads what was published with the same core
it uses for any catalogue."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from desktop_app import cli
from desktop_app.core.packs.catalogue import fetch_catalogue
from desktop_app.core.packs.signing import SecretKey, load_secret_key, write_key_pair
from desktop_app.core.publish.lock import LOCK_NAME
from desktop_app.core.publish.plan import PublishError, PublishReport, PublishSignInError
from desktop_app.sample import SAMPLE_KEY, SAMPLE_SOURCE
from tests.helpers import direct_connections, served_folder
from tests.sync.publishing import (
    CASES,
    casebook_posts,
    publish_as_editor,
    publishing_plugin,
    small_source,
)
from tests.sync.wordpress_site import WordPressSite

SAMPLE_CASES = ("kent-digital-technology", "devon-digital-engagement", "brent-social-media")
POSTS = "POST /wp-json/wp/v2/posts"
# A first run: the posts, the pack, then the catalogue, its link file and the public key.
FIRST_RUN = ["created"] * 3 + ["uploaded", "wrote", "wrote", "wrote"]


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    direct_connections(monkeypatch)


@pytest.fixture
def web(tmp_path: Path):
    """The publisher's web folder and the address it is served at."""
    folder = tmp_path / "www"
    with served_folder(folder) as base_url:
        yield folder, base_url


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE_SOURCE, tmp_path / "local-by-social"))


@pytest.fixture(scope="module")
def sample_key() -> SecretKey:
    return load_secret_key(SAMPLE_KEY)


@dataclass
class Publisher:
    """One publisher's source, published to the test site and to ``folder`` (served at
    ``base_url``) or, when ``folder`` is None, to the site's media library."""

    site: WordPressSite
    source: Path
    folder: Path | None
    base_url: str
    key: SecretKey
    uploads: Path | None = None  # the media library's Casebook folder on the site's disk

    def publish(self, **options) -> PublishReport:
        return publish_as_editor(self.site, self.source, self.folder, self.base_url, self.key,
                                 **options)

    def check(self, **options) -> dict[str, int]:
        return assert_consistent(self.site, self.base_url, self.key, **options)

    def files(self) -> dict[str, bytes]:
        where = self.folder or self.uploads
        assert where is not None
        return {path.name: path.read_bytes() for path in where.glob("*")} if where.is_dir() else {}

    def set_version(self, version: str) -> None:
        toml = self.source / "pack.toml"
        toml.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"',
                               toml.read_text()))


@pytest.fixture
def small(site, web, tmp_path: Path, publisher_key: SecretKey) -> Publisher:
    """The small three-case source for a served folder, not published yet."""
    folder, base_url = web
    return Publisher(site, small_source(tmp_path / "src"), folder, base_url, publisher_key)


@pytest.fixture
def small_media(site, tmp_path: Path, publisher_key: SecretKey) -> Iterator[Publisher]:
    """The small source for the site's media library (the publishing plugin installed)."""
    with publishing_plugin(site) as uploads:
        yield Publisher(site, small_source(tmp_path / "src"), None,
                        f"{site.url}/wp-content/uploads/casebook/", publisher_key, uploads)


def download(url: str) -> bytes:
    with httpx.Client(trust_env=False) as client:
        answer = client.get(url)
    assert answer.status_code == 200, url
    return answer.content


def manifest_of(pack: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(pack)) as zf:
        return json.loads(zf.read("manifest.json"))


def assert_consistent(site, base_url: str, key: SecretKey, cases=CASES,
                      site_url: str | None = None) -> dict[str, int]:
    """What a reader would check: the signed catalogue offers a file that is there with
    its sha256; the pack names the site and one live, open post per case study; each post
    links to that file. Returns the posts by doc id."""
    catalogue = fetch_catalogue(base_url + "catalogue.json", {key.public.key_id: key.public})
    assert catalogue.signed_by == key.name
    (entry,) = catalogue.packs
    pack = download(entry.url)
    assert hashlib.sha256(pack).hexdigest() == entry.sha256 and len(pack) == entry.size
    manifest = manifest_of(pack)
    assert str(manifest["version"]) == str(entry.version)
    assert manifest["site"] == {"kind": "wordpress", "url": site_url or site.url}
    assert manifest["catalogue"] == base_url + "catalogue.json"
    posts = {doc["id"]: doc["post"] for doc in manifest["documents"] if "post" in doc}
    assert sorted(posts) == sorted(cases)
    on_site = casebook_posts(site)
    assert len(on_site) == len(cases)  # never a duplicate
    assert sorted(p["id"] for p in on_site) == sorted(posts.values())
    for post in on_site:
        assert (post["status"], post["comment_status"]) == ("publish", "open")
        assert f'href="{entry.url}"' in post["content"]
    return posts


def post_requests(site) -> list[str]:
    return [line for line in site.request_log() if "POST " in line]


def test_publishing_the_sample_makes_three_posts_and_a_catalogue_then_changes_nothing(
        site, web, sample, sample_key) -> None:
    folder, base_url = web
    report = publish_as_editor(site, sample, folder, base_url, sample_key)
    assert [step.kind for step in report.changes] == FIRST_RUN
    posts = assert_consistent(site, base_url, sample_key, SAMPLE_CASES)
    titles = {p["id"]: p["title"] for p in casebook_posts(site)}
    assert titles[posts["kent-digital-technology"]].startswith("Kent County Council")
    manifest = manifest_of((folder / "org.casebook.sample.local-by-social-1.0.0.cbpack"
                            ).read_bytes())
    assert manifest["site"] == {"kind": "wordpress", "url": site.url}
    assert manifest["catalogue"] == base_url + "catalogue.json"
    guide = next(doc for doc in manifest["documents"] if doc["id"] == "guide")
    assert "post" not in guide  # pack.toml's 101 is a post on the example site, not here
    assert json.loads((sample / LOCK_NAME).read_text())["sites"][site.url]["posts"] == posts
    assert (sample / "pack.toml").read_bytes() == (SAMPLE_SOURCE / "pack.toml").read_bytes()

    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    before = len(post_requests(site))
    again = publish_as_editor(site, sample, folder, base_url, sample_key)
    assert again.changes == []
    assert len(post_requests(site)) == before  # nothing sent to the site
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == files


def test_a_new_edition_updates_the_same_posts_and_the_catalogue(small) -> None:
    small.publish()
    first = small.check()
    small.set_version("1.1.0")
    report = small.publish()
    assert [step.kind for step in report.changes] == ["updated"] * 3 + ["uploaded", "wrote"]
    assert small.check() == first  # the same ids
    assert all("Small pack 1.1.0" in post["content"] for post in casebook_posts(small.site))
    assert small.publish().changes == []

    small.set_version("1.0.1")
    with pytest.raises(PublishError, match="1.1.0 is already published"):
        small.publish()
    toml = small.source / "pack.toml"
    toml.write_text(toml.read_text().replace("org.example.small", "org.example.other"))
    with pytest.raises(PublishError, match="move publish-lock.json aside"):
        small.publish()  # another pack must not take over these posts


def test_a_post_deleted_by_hand_is_made_again_and_one_in_the_trash_is_restored(
        site, small) -> None:
    small.publish()
    first = small.check()
    site.delete_post(first["harbour-app"])
    site.trash_post(first["library-chat"])

    report = small.publish()
    kinds = {step.what.split(" for ")[-1]: step.kind for step in report.changes}
    assert kinds["harbour-app"] == "created" and kinds["library-chat"] == "restored"
    assert "rebuilt" in [step.kind for step in report.changes]
    now = small.check()
    assert now["library-chat"] == first["library-chat"]  # its comments stay with it
    assert now["roads-live"] == first["roads-live"]
    assert now["harbour-app"] not in first.values()
    lock = json.loads((small.source / LOCK_NAME).read_text())["sites"][site.url]
    assert lock["posts"] == now == lock["published"]["posts"]
    assert small.publish().changes == []


def test_a_revoked_application_password_is_refused_before_anything_changes(
        site, small) -> None:
    small.publish()
    files, posts = small.files(), casebook_posts(site)
    status, _, _ = site.rest("DELETE", f"/wp/v2/users/{site.accounts['editor'].id}"
                             "/application-passwords")
    assert status == 200

    small.set_version("1.1.0")
    with pytest.raises(PublishSignInError, match="revoked"):
        small.publish()
    assert casebook_posts(site) == posts
    assert small.files() == files


def test_the_same_version_with_changed_sources_is_refused(site, small) -> None:
    small.publish()
    case = small.source / "cases" / "roads-live.md"
    case.write_text(case.read_text() + "\nA late addition.\n")
    before = len(post_requests(site))
    with pytest.raises(PublishError, match="give this edition a new version"):
        small.publish()
    assert len(post_requests(site)) == before


def test_a_dry_run_shows_the_plan_and_changes_nothing(site, small, tmp_path, capsys,
                                                      monkeypatch) -> None:
    key_file = tmp_path / "publisher.key"
    write_key_pair(small.key, key_file.with_suffix(""))
    monkeypatch.setenv("CASEBOOK_PUBLISH_PASSWORD", site.editor_password)
    argv = ["--data-dir", str(tmp_path / "data"), "publish", str(small.source), "--site",
            site.url, "--user", site.editor_user, "--key", str(key_file), "--folder",
            str(small.folder), "--base-url", small.base_url]
    assert cli.main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("Would create post for") == 3
    assert "Would upload org.example.small-1.0.0.cbpack" in out
    assert "Would write catalogue.json" in out
    assert post_requests(site) == [] and small.files() == {}
    assert not (small.source / LOCK_NAME).exists()

    assert cli.main(argv) == 0
    assert cli.main(argv) == 0
    assert "is published and up to date; nothing changed" in capsys.readouterr().out
    assert cli.main([*argv, "--dry-run"]) == 0
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.parametrize(("fault", "match", "skip"), [
    ("drop_before_forward", "GET /wp-json/wp/v2/users/me", 0),  # before anything
    ("drop_after_forward", POSTS, 0),  # the first post was made; its answer is lost
    ("reset_after_forward", POSTS, 2),  # the last post made, the connection reset
    ("drop_before_forward", POSTS, 1),  # the second post never reached the site
    ("reset_after_forward", "GET /wp-json/wp/v2/posts", 1),  # a lookup
])
def test_a_connection_dropped_at_any_step_is_completed_by_publishing_again(
        site, fault_proxy, small, fault, match, skip) -> None:
    fault_proxy.next(fault, match=match, skip=skip)
    with pytest.raises(PublishError, match="publish again"):
        small.publish(site_url=fault_proxy.url)
    assert fault_proxy.dropped == 1
    assert "catalogue.json" not in small.files()  # nothing offered before it is all there
    assert len(casebook_posts(site)) <= 3

    report = small.publish(site_url=fault_proxy.url)
    assert "wrote" in [step.kind for step in report.changes]
    small.check(site_url=fault_proxy.url)


# --- the site's media library --------------------------------------------------------------

MEDIA = "POST /wp-json/wp/v2/media"
MEDIA_FILES = ["catalogue.cbcat", "catalogue.json", "catalogue.json.sig",
               "org.example.small-1.0.0.cbpack", "publisher.pub"]


def attachments(site) -> list[str]:
    """The media library's files, by address (one each, or there is a duplicate)."""
    code, _, items = site.rest("GET", "/wp/v2/media", query={"per_page": 100,
                                                             "context": "edit"})
    assert code == 200, items
    return sorted(item["source_url"] for item in items)


def test_the_media_library_takes_the_pack_and_catalogue_at_fixed_addresses(
        site, small_media) -> None:
    report = small_media.publish()
    assert [step.kind for step in report.changes] == FIRST_RUN
    first = small_media.check()
    base = small_media.base_url
    assert attachments(site) == [base + name for name in MEDIA_FILES]
    before = [line for line in site.request_log() if " GET " not in line]
    assert small_media.publish().changes == []
    assert [line for line in site.request_log() if " GET " not in line] == before

    small_media.set_version("1.1.0")
    small_media.publish()
    assert small_media.check() == first  # same posts; the catalogue at the same address
    assert attachments(site) == sorted(base + name for name in
                                       [*MEDIA_FILES, "org.example.small-1.1.0.cbpack"])


def test_a_site_without_the_publishing_plugin_is_told_so_before_anything_changes(
        site, tmp_path, publisher_key) -> None:
    source = small_source(tmp_path / "src")
    with pytest.raises(PublishError, match="install the Casebook publishing plugin"):
        publish_as_editor(site, source, None, "", publisher_key)
    assert casebook_posts(site) == [] and attachments(site) == []


@pytest.mark.parametrize(("fault", "match", "skip"), [
    ("drop_after_forward", MEDIA, 0),  # the pack landed; its answer is lost
    ("reset_after_forward", MEDIA, 1),  # the catalogue landed, the connection reset
    ("drop_before_forward", MEDIA, 2),  # the signature never reached the site
    ("drop_before_forward", "GET /wp-json/casebook/v1/uploads", 0),
])
def test_a_drop_while_uploading_to_the_media_library_is_completed_by_publishing_again(
        site, fault_proxy, small_media, fault, match, skip) -> None:
    fault_proxy.next(fault, match=match, skip=skip)
    with pytest.raises(PublishError, match="publish again"):
        small_media.publish(site_url=fault_proxy.url)
    assert fault_proxy.dropped == 1
    small_media.publish(site_url=fault_proxy.url)
    small_media.check(site_url=fault_proxy.url)
    base = small_media.base_url
    assert attachments(site) == [base + name for name in MEDIA_FILES]


@pytest.mark.parametrize(("publisher", "match"), [
    ("small", POSTS),  # the second post's update: the answer lost
    ("small_media", MEDIA),  # the new catalogue, after the old one was deleted: the same
])
def test_a_drop_while_a_new_edition_is_published_is_completed_by_publishing_again(
        site, fault_proxy, request, publisher, match) -> None:
    publisher = request.getfixturevalue(publisher)
    publisher.publish(site_url=fault_proxy.url)
    first = publisher.check(site_url=fault_proxy.url)
    publisher.set_version("1.1.0")
    fault_proxy.next("drop_after_forward", match=match, skip=1)
    with pytest.raises(PublishError, match="publish again"):
        publisher.publish(site_url=fault_proxy.url)
    files = publisher.files()
    offered = json.loads(files.get("catalogue.json", b'{"packs": []}'))["packs"]
    for entry in offered:  # whatever is offered meanwhile is there
        assert hashlib.sha256(files[entry["url"]]).hexdigest() == entry["sha256"]

    publisher.publish(site_url=fault_proxy.url)
    assert publisher.check(site_url=fault_proxy.url) == first
    assert all("Small pack 1.1.0" in post["content"] for post in casebook_posts(site))
