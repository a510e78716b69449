"""A folder that a web server serves: the simplest place for packs and the catalogue.

The publisher names the folder and the address it is served at (``--base-url``); any
web server will do (nginx, Apache, S3 behind a CDN: the files are static). Files are
written to a temporary name and renamed, so a reader never downloads half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from desktop_app.core.packs.manifest import catalogue_url_problem
from desktop_app.core.publish.plan import PublishError


class FolderTarget:
    kind = "folder"

    def __init__(self, folder: Path, base_url: str) -> None:
        self.folder = folder
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        problem = catalogue_url_problem(self.base_url)
        if problem:
            raise PublishError(f"The address readers fetch packs from, {base_url!r}, {problem}.")

    def describe(self) -> str:
        return f"{self.folder} (served at {self.base_url})"

    def url_of(self, name: str) -> str:
        return self.base_url + name

    def read(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PublishError(f"Cannot read {self.folder / name} ({exc.strerror}).") from None

    def has(self, name: str, sha256: str) -> bool:
        data = self.read(name)
        return data is not None and hashlib.sha256(data).hexdigest() == sha256

    def put(self, name: str, data: bytes, media_type: str) -> str:
        """Write ``name`` (atomically); its address."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(temp, 0o644)  # served to anyone: mkstemp makes it private
                os.replace(temp, self.folder / name)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise PublishError(f"Cannot write {self.folder / name} ({exc.strerror}).") from None
        return self.url_of(name)
