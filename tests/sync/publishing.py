"""Pieces the publishing tests share: a small pack source with three case studies,
publishing it, the publishing plugin on the test site, and the site's view of
Casebook's posts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from desktop_app.core.packs.signing import SecretKey
from desktop_app.core.publish.folder import FolderTarget
from desktop_app.core.publish.plan import PublishReport
from desktop_app.core.publish.run import publish
from tests.sync.wordpress_site import WordPressSite

CASES = ("harbour-app", "library-chat", "roads-live")
PLUGIN = Path(__file__).resolve().parents[2] / "packaging" / "wordpress" / "casebook-publishing.php"


def small_source(root: Path, pack_id: str = "org.example.small", version: str = "1.0.0"
                 ) -> Path:
    """A pack source of three short Markdown case studies: quick to build."""
    (root / "cases").mkdir(parents=True, exist_ok=True)
    documents = []
    for number, doc_id in enumerate(CASES, 1):
        (root / "cases" / f"{doc_id}.md").write_text(
            f"# Case {number}: {doc_id}\n\nWhat council {number} did with {doc_id}, in short."
            "\n\n## Lessons\n\n- Listen first.\n", encoding="utf-8")
        documents.append(f'[[documents]]\nid = "{doc_id}"\nkind = "case-study"\n'
                         f'title = "Case {number}"\nsource = "cases/{doc_id}.md"\n')
    (root / "pack.toml").write_text(
        f'format = 1\nid = "{pack_id}"\nversion = "{version}"\ntitle = "Small pack"\n'
        'publisher = "Test Publisher"\ndate = "2026-11-01"\nlanguage = "en-GB"\n'
        'licence = "CC BY 4.0"\n\n' + "\n".join(documents), encoding="utf-8")
    return root


def publish_as_editor(site: WordPressSite, source: Path, folder: Path | None, base_url: str,
                      key: SecretKey, *, site_url: str | None = None,
                      **options: Any) -> PublishReport:
    """Publish as the site's Editor, to ``folder`` (served at ``base_url``) or, with no
    folder, to the site's media library."""
    target = FolderTarget(folder, base_url) if folder is not None else None
    return publish(source, target, key, site_url=site_url or site.url,
                   user=site.editor_user, password=site.editor_password, **options)


@contextmanager
def publishing_plugin(site: WordPressSite) -> Iterator[Path]:
    """The Casebook publishing plugin on the site; yields the folder its files go to.
    Afterwards the plugin and the files are gone again (``reset()`` restores only the
    database), so each test starts with an empty media folder."""
    plugin = site.state / "wp-content" / "mu-plugins" / PLUGIN.name
    uploads = site.state / "wp-content" / "uploads" / "casebook"
    shutil.copyfile(PLUGIN, plugin)
    try:
        yield uploads
    finally:
        plugin.unlink(missing_ok=True)
        shutil.rmtree(uploads, ignore_errors=True)


def casebook_posts(site: WordPressSite, status: str = "publish,draft,trash"
                   ) -> list[dict[str, Any]]:
    """Every post carrying a Casebook marker, as the site's admin sees it, oldest first."""
    code, _, posts = site.rest("GET", "/wp/v2/posts", query={
        "context": "edit", "per_page": 100, "status": status, "orderby": "id", "order": "asc"})
    assert code == 200, posts
    return [{"id": p["id"], "title": p["title"]["raw"], "content": p["content"]["raw"],
             "status": p["status"], "comment_status": p["comment_status"], "link": p["link"]}
            for p in posts if "casebook-post:" in p["content"]["raw"]]
