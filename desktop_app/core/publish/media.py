"""The site's media library as the place for packs and the catalogue.

Stock WordPress refuses ``.cbpack`` and ``.json`` uploads, files them by month and
renames some dotted names, any of which would move the catalogue's address away from
the one every published pack names. So this target needs the small plugin
``packaging/wordpress/casebook-publishing.php``: it allows the three file types for
users who may publish, keeps their names, puts them in ``uploads/casebook/`` and says
where that is (``GET /wp-json/casebook/v1/uploads``), which is also how Casebook knows
it is there.

A file is found again by its address (``source_url``), and a pack's upload carries its
sha256 in the attachment's description, so an upload whose answer was lost is
recognised rather than repeated. The REST API cannot replace an attachment's file, so
the catalogue is replaced by deleting the old attachment and uploading the new one
under the same name: a reader who checks in between finds no catalogue and is told so;
the next check finds the new one.
"""

from __future__ import annotations

import hashlib

import httpx

from desktop_app.core.net import explain
from desktop_app.core.publish.plan import PublishError
from desktop_app.core.publish.posts import PostsSite

_SHA_NOTE = "casebook-sha256:"
PLUGIN = "packaging/wordpress/casebook-publishing.php"


class MediaTarget:
    kind = "media"

    def __init__(self, site: PostsSite) -> None:
        self.site = site
        answer = site.request("GET", "/casebook/v1/uploads", "ask where Casebook's files go",
                              missing_ok=True)
        data = answer.json() if answer is not None else {}
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise PublishError(
                f"{site.site_url} cannot take Casebook's files in its media library yet: its "
                f"administrator needs to install the Casebook publishing plugin ({PLUGIN}, "
                "copied into wp-content/mu-plugins/). Or publish to a folder a web server "
                "serves: --folder FOLDER --base-url URL.")
        self.base_url = data["url"] if data["url"].endswith("/") else data["url"] + "/"

    def describe(self) -> str:
        return f"the media library of {self.site.site_url} ({self.base_url})"

    def url_of(self, name: str) -> str:
        return self.base_url + name

    def _attachments(self, name: str) -> list[dict]:
        stem = name.rsplit(".", 1)[0]
        answer = self.site.request("GET", "/wp/v2/media", f"look for {name} in the media "
                                   "library", params={"search": stem, "context": "edit",
                                                      "per_page": 100})
        data = answer.json()
        return [item for item in data if isinstance(data, list) and isinstance(item, dict)
                and item.get("source_url") == self.url_of(name)]

    def read(self, name: str) -> bytes | None:
        if not self._attachments(name):
            return None
        try:
            answer = self.site.client.get(self.url_of(name))
        except httpx.HTTPError as exc:
            raise PublishError(f"{explain(exc, self.site.site_url)} Casebook was reading "
                               f"{name}; publish again to complete it.") from exc
        return answer.content if answer.status_code == 200 else None

    def has(self, name: str, sha256: str) -> bool:
        return any(_SHA_NOTE + sha256 in str((item.get("description") or {}).get("raw", ""))
                   for item in self._attachments(name))

    def put(self, name: str, data: bytes, media_type: str) -> str:
        for item in self._attachments(name):
            self.site.request("DELETE", f"/wp/v2/media/{item['id']}",
                              f"replace {name} in the media library", params={"force": "true"})
        answer = self.site.request(
            "POST", "/wp/v2/media", f"upload {name} to the media library",
            params={"description": _SHA_NOTE + hashlib.sha256(data).hexdigest()},
            content=data, headers={"Content-Type": media_type,
                                   "Content-Disposition": f'attachment; filename="{name}"'})
        address = str(answer.json().get("source_url") or "")
        if address != self.url_of(name):
            raise PublishError(
                f"{self.site.site_url} put {name} at {address or 'an unknown address'}, not "
                f"{self.url_of(name)} where the packs expect it; is the Casebook publishing "
                "plugin active?")
        return address
