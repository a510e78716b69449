"""``publish-lock.json`` beside ``pack.toml``: what Casebook put on each site.

The publisher's own ``pack.toml`` is never rewritten (it may be hand-formatted or
under version control); the post ids the site gave each case study live here, with
the version and sha256 last published, so a second run knows what is already there.
The site itself is asked again every time (a post may have been deleted by hand);
the lock only says where to look first. Written atomically after every step.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.core.publish.plan import PublishError

LOCK_NAME = "publish-lock.json"
LOCK_FORMAT = 1


@dataclass
class Published:
    version: str
    sha256: str
    file: str
    posts: dict[str, int]  # the post ids the published pack names

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256, "file": self.file,
                "posts": self.posts}


@dataclass
class SiteRecord:
    posts: dict[str, int] = field(default_factory=dict)  # doc id -> post id
    published: Published | None = None
    pack: str = ""  # the pack id these posts are for

    def as_json(self) -> dict[str, Any]:
        return {"pack": self.pack, "posts": self.posts,
                "published": self.published.as_json() if self.published else None}


@dataclass
class PublishLock:
    path: Path
    sites: dict[str, SiteRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, source: Path) -> PublishLock:
        path = source / LOCK_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise PublishError(f"{path} cannot be read ({exc}); move it aside to start "
                               "again (posts already on the site are found again).") from None
        try:
            if raw.get("format") != LOCK_FORMAT:
                raise ValueError("unknown format")
            sites = {url: _site(item) for url, item in raw["sites"].items()}
        except (AttributeError, KeyError, TypeError, ValueError):
            raise PublishError(f"{path} is not a Casebook publish lock; move it aside to start "
                               "again (posts already on the site are found again).") from None
        return cls(path, sites)

    def site(self, url: str, pack_id: str) -> SiteRecord:
        """What was published to ``url``; refused when it was another pack (a changed id
        in pack.toml), whose post ids must not be taken over."""
        record = self.sites.setdefault(url, SiteRecord(pack=pack_id))
        if record.pack and record.pack != pack_id:
            raise PublishError(
                f"{self.path} says {record.pack} was published to {url}, but pack.toml now "
                f"names {pack_id}. To publish it as a new pack, move {self.path.name} aside "
                "(the old pack's posts are left as they are).")
        record.pack = pack_id
        return record

    def save(self) -> None:
        data = {"format": LOCK_FORMAT,
                "sites": {url: record.as_json() for url, record in sorted(self.sites.items())}}
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".publish-lock-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _site(item: dict[str, Any]) -> SiteRecord:
    posts = {str(doc): int(post) for doc, post in item.get("posts", {}).items()}
    published = item.get("published")
    pack = str(item.get("pack") or "")
    if published is None:
        return SiteRecord(posts, None, pack)
    return SiteRecord(posts, Published(
        str(published["version"]), str(published["sha256"]), str(published["file"]),
        {str(doc): int(post) for doc, post in published["posts"].items()}), pack)
