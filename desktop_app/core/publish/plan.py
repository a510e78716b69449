"""What a publish run changes (or, with ``--dry-run``, would change), step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.errors import CasebookError


class PublishError(CasebookError):
    """Publishing stopped. What was done before stays done and is recorded, so the
    next ``casebook publish`` goes on from there."""


class PublishSignInError(PublishError):
    """The site did not accept the publisher's user name and application password."""


@dataclass(frozen=True)
class Change:
    """One thing a run did or would do. ``kind``: created, updated, restored, uploaded,
    wrote, rebuilt, or unchanged (kept for the summary, not printed as a change)."""

    kind: str
    what: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "what": self.what, "detail": self.detail}


@dataclass
class PublishReport:
    dry_run: bool = False
    pack_id: str = ""
    version: str = ""
    steps: list[Change] = field(default_factory=list)
    posts: dict[str, int] = field(default_factory=dict)  # doc id -> post id
    pack_url: str = ""
    catalogue_url: str = ""

    def add(self, kind: str, what: str, detail: str = "") -> None:
        self.steps.append(Change(kind, what, detail))

    @property
    def changes(self) -> list[Change]:
        return [step for step in self.steps if step.kind != "unchanged"]

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "pack": self.pack_id, "version": self.version,
                "changes": [step.as_json() for step in self.changes],
                "unchanged": [step.as_json() for step in self.steps if step.kind == "unchanged"],
                "posts": self.posts, "pack_url": self.pack_url,
                "catalogue_url": self.catalogue_url}
