"""An annotation (a highlight or a note) and its W3C Web Annotation form.

The target is described by W3C selectors on the document's extracted text
(see ``text.py``): a ``TextQuoteSelector`` (the quote and 32 code points of
context each side) and a ``TextPositionSelector``; for a PDF also Hypothesis's
``PageSelector`` and a ``PdfRectsSelector`` (highlight rectangles per page, in
PyMuPDF page coordinates: points, origin top-left); for Markdown a
``FragmentSelector`` naming the section's heading anchor.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from desktop_app.core.errors import CasebookError

KINDS = ("highlight", "note")
COLOURS = ("yellow", "green", "blue", "pink", "orange")
STATES = ("anchored", "fuzzy", "orphaned")
CONTEXT_LENGTH = 32  # code points of prefix and suffix, as Hypothesis and W3C suggest

W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
FRAGMENT_CONFORMS_TO = "http://tools.ietf.org/rfc/rfc3986"
_EXTENSION = "casebook"  # key of the fields W3C has no place for


class AnnotationError(CasebookError):
    """An annotation cannot be made or found."""


class QuoteNotFoundError(AnnotationError):
    """The text to annotate is not in the document."""


@dataclass(frozen=True)
class Annotation:
    uuid: str
    pack_id: str
    doc_id: str
    doc_version: str  # the pack version the selectors describe
    kind: str
    selectors: tuple[dict[str, Any], ...]
    extractor: str
    text_sha256: str
    body: str = ""
    colour: str = "yellow"
    tags: tuple[str, ...] = ()
    created: str = ""
    updated: str = ""
    deleted: str | None = None
    anchor_state: str = "anchored"
    anchor_score: float = 1.0
    # Filled in when read from the store: where the document is in its pack (reading order).
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def selector(self, kind: str) -> dict[str, Any] | None:
        return next((s for s in self.selectors if s.get("type") == kind), None)

    @property
    def quote(self) -> str:
        return (self.selector("TextQuoteSelector") or {}).get("exact", "")

    @property
    def prefix(self) -> str:
        return (self.selector("TextQuoteSelector") or {}).get("prefix", "")

    @property
    def suffix(self) -> str:
        return (self.selector("TextQuoteSelector") or {}).get("suffix", "")

    @property
    def start(self) -> int | None:
        position = self.selector("TextPositionSelector")
        return position["start"] if position else None

    @property
    def end(self) -> int | None:
        position = self.selector("TextPositionSelector")
        return position["end"] if position else None

    @property
    def page_index(self) -> int | None:
        """0-based page of a PDF annotation."""
        page = self.selector("PageSelector")
        return page["index"] if page else None

    @property
    def page_label(self) -> str | None:
        page = self.selector("PageSelector")
        return page.get("label") if page else None

    @property
    def section(self) -> str | None:
        """Heading of the Markdown section the annotation starts in."""
        fragment = self.selector("FragmentSelector")
        return fragment.get("title") if fragment else None

    @property
    def section_anchor(self) -> str | None:
        fragment = self.selector("FragmentSelector")
        return (fragment.get("value") or None) if fragment else None

    @property
    def rects(self) -> list[dict[str, Any]]:
        """[{page, rect: [x0, y0, x1, y1]}]: one rectangle per line of the quote."""
        rects = self.selector("PdfRectsSelector")
        return list(rects["rects"]) if rects else []

    @property
    def unit(self) -> int | None:
        """Page index or section index where the annotation starts."""
        if self.page_index is not None:
            return self.page_index
        fragment = self.selector("FragmentSelector")
        return fragment.get("index") if fragment else None

    @property
    def unit_label(self) -> str | None:
        return self.page_label if self.page_index is not None else self.section

    def with_changes(self, **changes: Any) -> Annotation:
        return replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        """Flat JSON for the command line and the GUI."""
        return {
            "uuid": self.uuid, "pack": self.pack_id, "doc": self.doc_id,
            "version": self.doc_version, "kind": self.kind, "quote": self.quote,
            "page": None if self.page_index is None else self.page_index + 1,
            "page_label": self.page_label, "section": self.section,
            "start": self.start, "end": self.end, "body": self.body, "colour": self.colour,
            "tags": list(self.tags), "state": self.anchor_state, "score": self.anchor_score,
            "created": self.created, "updated": self.updated, "deleted": self.deleted,
        }

    def to_w3c(self) -> dict[str, Any]:
        """This annotation as a W3C Web Annotation (JSON-LD)."""
        body: list[dict[str, Any]] = []
        if self.body:
            body.append({"type": "TextualBody", "value": self.body, "format": "text/markdown",
                         "purpose": "commenting"})
        body += [{"type": "TextualBody", "value": tag, "purpose": "tagging"} for tag in self.tags]
        source = f"casebook://pack/{self.pack_id}/{self.doc_id}"
        result: dict[str, Any] = {
            "@context": W3C_CONTEXT,
            "type": "Annotation",
            "id": f"urn:uuid:{self.uuid}",
            "motivation": "commenting" if self.kind == "note" else "highlighting",
            "created": self.created,
            "modified": self.updated,
            "target": {
                "source": source,
                "selector": [dict(s) for s in self.selectors],
                # TimeState-like: which pack version the selectors were made on.
                "state": {"type": "TimeState",
                          "cached": f"casebook://pack/{self.pack_id}@{self.doc_version}/"
                                    f"{self.doc_id}",
                          "version": self.doc_version},
                "styleClass": self.colour,
            },
            _EXTENSION: {
                "kind": self.kind, "extractor": self.extractor,
                "text_sha256": self.text_sha256, "anchor_state": self.anchor_state,
                "anchor_score": self.anchor_score, "deleted": self.deleted,
            },
        }
        if body:
            result["body"] = body
        return result

    @classmethod
    def from_w3c(cls, data: dict[str, Any]) -> Annotation:
        """Read an annotation written by :meth:`to_w3c`."""
        try:
            ident = data["id"]
            target = data["target"]
            source = target["source"]
            prefix = "casebook://pack/"
            if not ident.startswith("urn:uuid:") or not source.startswith(prefix):
                raise ValueError("not a Casebook annotation")
            pack_id, _, doc_id = source[len(prefix):].partition("/")
            extension = data.get(_EXTENSION, {})
            bodies = data.get("body", [])
            if isinstance(bodies, dict):
                bodies = [bodies]
            note = next((b["value"] for b in bodies if b.get("purpose") == "commenting"), "")
            tags = tuple(b["value"] for b in bodies if b.get("purpose") == "tagging")
            kind = extension.get("kind") or ("note" if note else "highlight")
            return cls(
                uuid=ident[len("urn:uuid:"):],
                pack_id=pack_id,
                doc_id=doc_id,
                doc_version=target["state"]["version"],
                kind=kind,
                selectors=tuple(dict(s) for s in target["selector"]),
                extractor=extension.get("extractor", ""),
                text_sha256=extension.get("text_sha256", ""),
                body=note,
                colour=target.get("styleClass", "yellow"),
                tags=tags,
                created=data.get("created", ""),
                updated=data.get("modified", ""),
                deleted=extension.get("deleted"),
                anchor_state=extension.get("anchor_state", "anchored"),
                anchor_score=float(extension.get("anchor_score", 1.0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AnnotationError(f"This is not an annotation Casebook can read ({exc}).") \
                from None
