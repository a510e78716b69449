"""A pack's images are what their names say.

The media type of a pack file comes from its name (``diagram.png``), and exports and
viewers trust that type; so the bytes must agree: an HTML page or a script named
``.png`` is refused. SVG is XML that can carry scripts and fetch other files, so an
SVG is accepted only as a plain drawing: no scripts, no event handlers, no
references outside itself, no DTD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from desktop_app.core.errors import PackError

# The first bytes each raster type starts with (its "magic number").
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/bmp": (b"BM",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/vnd.microsoft.icon": (b"\x00\x00\x01\x00",),
    "image/x-icon": (b"\x00\x00\x01\x00",),
}
SVG = "image/svg+xml"
# Elements that run code or pull in other documents.
_ACTIVE_ELEMENTS = frozenset({"script", "foreignobject", "iframe", "embed", "object",
                              "handler", "listener"})
# <set attributeName="href" to="javascript:…"> rewrites a link once the drawing runs.
_ANIMATIONS = frozenset({"set", "animate"})
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def check_media(path: str, media_type: str, data: bytes) -> None:
    """Raise :class:`PackError` when an image's bytes are not of its declared type."""
    if not media_type.startswith("image/"):
        return
    if media_type == SVG:
        _check_svg(path, data)
        return
    if media_type == "image/webp":
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return
    elif media_type in _MAGIC:
        if data.startswith(_MAGIC[media_type]):
            return
    else:
        shown = ", ".join(sorted({*_MAGIC, "image/webp", SVG}))
        raise PackError(f"{path} is an image of type {media_type}, which Casebook does not "
                        f"show (it shows {shown}).")
    raise PackError(f"{path} is named as {media_type} but its contents are not that kind of "
                    f"image{_what_it_is(data)}: the pack is damaged or hostile.")


def _what_it_is(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<script")):
        return " (it is HTML)"
    if head.startswith((b"<?xml", b"<svg")):
        return " (it is XML or SVG)"
    for media_type, starts in _MAGIC.items():
        if data.startswith(starts):
            return f" (it is {media_type})"
    return ""


def _check_svg(path: str, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PackError(f"{path} is an SVG that is not UTF-8 text.") from None
    lowered = text.lower()
    # A DTD can define entities that expand a billion-fold or name files to read;
    # a stylesheet instruction fetches one.
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise PackError(f"{path} is an SVG with a DTD (<!DOCTYPE or <!ENTITY>), which "
                        "Casebook does not accept in a pack image.")
    if "<?xml-stylesheet" in lowered:
        raise PackError(f"{path} is an SVG that loads an outside stylesheet.")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise PackError(f"{path} is an SVG that is not well-formed XML ({exc}).") from None
    if _local(root.tag) != "svg":
        raise PackError(f"{path} is named as an SVG image but holds <{_local(root.tag)}>.")
    for element in root.iter():
        tag = _local(element.tag)
        if tag in _ACTIVE_ELEMENTS:
            raise PackError(f"{path} is an SVG holding <{tag}>, which can run scripts or "
                            "load other documents; such images are refused.")
        if tag == "style" and (_EXTERNAL_URL.search(element.text or "")
                               or "@import" in (element.text or "").lower()):
            raise PackError(f"{path} is an SVG whose style loads an outside resource.")
        target = _local(element.attrib.get("attributeName", ""))
        if tag in _ANIMATIONS and (target == "href" or target.startswith("on")):
            raise PackError(f"{path} is an SVG that animates its {target} attribute, which "
                            "can turn into a script; such images are refused.")
        for name, value in element.attrib.items():
            attribute = _local(name)
            if attribute.startswith("on"):
                raise PackError(f"{path} is an SVG with an event handler ({attribute}), "
                                "which would run a script; such images are refused.")
            if attribute == "href" and not value.strip().startswith("#"):
                raise PackError(f"{path} is an SVG referring to {value[:80]!r} outside "
                                "itself; such images are refused.")
            if _EXTERNAL_URL.search(value):
                raise PackError(f"{path} is an SVG whose {attribute} loads an outside "
                                "resource; such images are refused.")


def _local(name: str) -> str:
    """``{namespace}tag`` -> ``tag``, lowercased."""
    return name.rsplit("}", 1)[-1].lower()
