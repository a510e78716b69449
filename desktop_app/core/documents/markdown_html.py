"""Markdown to sanitised HTML, and the text a reader sees, split into sections.

python-markdown passes raw HTML, event handlers and ``javascript:`` links through,
so its output goes through an allow-list (nh3). Images may only name files inside
the pack: a view must never fetch anything from the network or the disk at large.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

import markdown
import nh3

from desktop_app.core.documents import NORMALISATION, ExtractedDocument, TextUnit, clean_text
from desktop_app.core.errors import DocumentError

EXTENSIONS = ("tables", "fenced_code", "footnotes", "attr_list", "toc")
EXTRACTOR = f"python-markdown-{markdown.__version__}/casebook-sections-1+{NORMALISATION}"
MAX_MARKDOWN_BYTES = 5 * 1024 * 1024
# python-markdown's run time explodes with nesting; real documents stay far below.
MAX_INDENT = 64
MAX_QUOTE_DEPTH = 16
# python-markdown is quadratic in the inline elements of one paragraph or list: a
# 1 MB paragraph of "*a* **b** " takes 68 s, 10,000 "![" 19 s, 20,000 "<http://a"
# 38 s. No line check catches every such shape, so conversion has a deadline instead
# (a 4.9 MB case study of ordinary prose converts in ~1 s): past it, the document is
# refused, well inside the 5 s a hostile document may take.
MAX_CONVERT_SECONDS = 2.5
# nh3 (html5ever) is quadratic in element depth: 100,000 nested <div>s take 31 s to
# sanitise. Markdown within the nesting limits above stays under ~60 levels.
MAX_HTML_DEPTH = 256
# python-markdown's HTML block finder scans from every "<" that opens a tag to the next
# ">" (20,000 "<http://a" without one take 40 s, in one call the deadline cannot
# interrupt), so the characters it would scan are counted first.
MAX_TAG_SCAN = 20_000_000
_TAG_OPEN = re.compile(r"<[A-Za-z/!?]")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
         "param", "source", "track", "wbr"}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
}
LINK_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SPACE_AND_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p", "div", "li", "tr", "pre", "blockquote", "table", "ul", "ol", "dl", "dt", "dd",
    "hr", "caption",
}


def render_markdown(data: bytes, doc_path: str) -> ExtractedDocument:
    """Render a pack's Markdown document; ``doc_path`` is its path inside the pack."""
    text = _decode(data, doc_path)
    html = markdown_to_safe_html(text, doc_path)
    return ExtractedDocument(split_sections(html), EXTRACTOR, html=html)


def markdown_to_safe_html(text: str, doc_path: str) -> str:
    raw_html = _convert(text, doc_path)
    _check_depth(raw_html, doc_path)

    def keep_inside_pack(element: str, attribute: str, value: str) -> str | None:
        if element == "img" and attribute == "src":
            return _pack_media_path(value, doc_path)
        if element == "a" and attribute == "href":
            return _safe_link(value, doc_path)
        return value

    return nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=keep_inside_pack,
        url_schemes=LINK_SCHEMES,
        link_rel="noopener noreferrer",
    )


class _TooSlow(Exception):
    pass


def _convert(text: str, name: str) -> str:
    """python-markdown's HTML, or a DocumentError if it takes too long or nests too deep."""
    md = markdown.Markdown(extensions=list(EXTENSIONS), output_format="html")
    deadline = time.monotonic() + MAX_CONVERT_SECONDS

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if time.monotonic() > deadline:
                raise _TooSlow
            return method(*args, **kwargs)
        return call

    # Checked wherever python-markdown loops: each block processor's test (asked of
    # every block), each inline pattern's regex and match handler (asked for every
    # text and every match, between the string rebuilds that make it quadratic), and
    # every whole-document pass.
    for processor in md.parser.blockprocessors:
        processor.test, processor.run = timed(processor.test), timed(processor.run)
    for pattern in md.inlinePatterns:
        pattern.handleMatch = timed(pattern.handleMatch)
        pattern.getCompiledRegExp = timed(pattern.getCompiledRegExp)
    for registry in (md.preprocessors, md.treeprocessors, md.postprocessors):
        for processor in registry:
            processor.run = timed(processor.run)
    try:
        return md.convert(text)
    except _TooSlow:
        raise DocumentError(
            f"{name} is too complex to display (it did not convert within "
            f"{MAX_CONVERT_SECONDS:g} seconds).") from None
    except RecursionError:
        # Emphasis nested ~1,000 deep builds a tree python-markdown walks recursively.
        raise DocumentError(f"{name} is nested too deeply to display.") from None


def _check_depth(raw_html: str, name: str) -> None:
    """Refuse HTML nested deeper than MAX_HTML_DEPTH before the sanitiser sees it.

    Counts like a careless parser (every unclosed tag counts), which only overstates.
    """
    depth = 0
    for match in _TAG.finditer(raw_html):
        closing, tag, self_closing = match.groups()
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and tag.lower() not in _VOID:
            depth += 1
            if depth > MAX_HTML_DEPTH:
                raise DocumentError(f"{name} is nested too deeply to display "
                                    f"(more than {MAX_HTML_DEPTH} levels of HTML).")


def _pack_media_path(src: str, doc_path: str) -> str | None:
    """Resolve an image reference to a path inside the pack, or drop it."""
    if _SCHEME.match(src) or src.startswith(("/", "\\")) or "\\" in src:
        return None  # remote, data:, file: or absolute: never loaded
    resolved = _inside_pack(src.split("#", 1)[0].split("?", 1)[0], doc_path)
    return None if resolved == "." else resolved


def _safe_link(href: str, doc_path: str) -> str | None:
    """The link as written when it is safe wherever the HTML ends up, else None.

    Judged on the address as the most lenient reader would see it: browsers drop tabs
    and newlines inside a URL ("java<TAB>script:" is javascript:), so every space and
    control character is removed first. Refused: schemes outside LINK_SCHEMES, UNC
    paths (``\\\\host\\share``, ``//host/share``: Windows would send the login hash),
    any backslash, and relative links that climb out of the pack, percent-encoded or not.
    """
    squeezed = _SPACE_AND_CONTROL.sub("", href)
    if "\\" in squeezed or squeezed.startswith("//"):
        return None
    scheme = _SCHEME.match(squeezed)
    if scheme:
        return href if scheme.group()[:-1].lower() in LINK_SCHEMES else None
    if squeezed.startswith("#"):
        return href
    target = unquote(squeezed.split("#", 1)[0].split("?", 1)[0])
    if "\\" in target or _inside_pack(target, doc_path) is None:
        return None
    return href


def _inside_pack(path: str, doc_path: str) -> str | None:
    """``path``, relative to the document at ``doc_path``, as a pack path; None when it
    is absolute or climbs out of the pack."""
    if path.startswith("/"):
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(doc_path), path))
    if resolved.startswith("../") or resolved == ".." or resolved.startswith("/"):
        return None
    return resolved


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_MARKDOWN_BYTES:
        raise DocumentError(
            f"{name} is {len(data):,} bytes of Markdown; the limit is {MAX_MARKDOWN_BYTES:,}."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name} is not UTF-8 text (byte {exc.start}).") from None
    if "\x00" in text:
        raise DocumentError(f"{name} holds NUL bytes: it is not a Markdown text file.")
    scan, closer = 0, -1
    for match in _TAG_OPEN.finditer(text):
        if closer < match.start():  # the next ">" moves only forward: linear overall
            found = text.find(">", match.start())
            closer = found if found >= 0 else len(text)
        scan += closer - match.start()
        if scan > MAX_TAG_SCAN:
            raise DocumentError(f"{name} has too many unclosed tags to display.")
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        quotes = len(line) - len(line.lstrip(" >"))
        if indent > MAX_INDENT or quotes > 2 * MAX_QUOTE_DEPTH:
            raise DocumentError(f"{name} is nested too deeply to display (line {number}).")
    return text


class _SectionSplitter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[str, str | None, list[str]]] = [("", None, [])]
        self._heading: list[str] | None = None
        self._heading_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self._heading = []
            self._heading_id = dict(attrs).get("id")
            self.sections.append(("", self._heading_id, []))
        if tag in _BLOCKS or tag == "br":
            self._text().append("\n")
        elif tag in ("td", "th"):
            self._text().append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS and self._heading is not None:
            title = " ".join("".join(self._heading).split())
            _, anchor, parts = self.sections[-1]
            self.sections[-1] = (title, anchor, parts)
            self._heading = None
        if tag in _BLOCKS:
            self._text().append("\n")

    def handle_data(self, data: str) -> None:
        self._text().append(data)
        if self._heading is not None:
            self._heading.append(data)

    def _text(self) -> list[str]:
        return self.sections[-1][2]


def split_sections(html: str) -> tuple[TextUnit, ...]:
    """The visible text of sanitised HTML, one unit per heading's section."""
    splitter = _SectionSplitter()
    splitter.feed(html)
    splitter.close()
    units = []
    for title, anchor, parts in splitter.sections:
        text = clean_text(re.sub(r"\n{3,}", "\n\n", "".join(parts)).strip(),
                          printed_lines=False)
        if not text and not title:
            continue
        units.append(TextUnit(len(units), title or "Introduction", text, anchor))
    if not units:
        units.append(TextUnit(0, "Introduction", ""))
    return tuple(units)
