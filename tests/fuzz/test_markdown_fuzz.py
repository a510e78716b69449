"""Markdown rendering on anything an author (or an attacker) writes: the HTML that
reaches the view holds only allowed elements and attributes, no script, no event
handler, no link that runs or fetches anything, and no image from outside the pack;
a document that cannot be shown is refused with a DocumentError."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop_app.core.documents.markdown_html import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    MAX_INDENT,
    MAX_QUOTE_DEPTH,
    render_markdown,
)
from desktop_app.core.errors import DocumentError
from tests.fuzz.strategies import examples

DOC_PATH = "documents/case.md"
LINK_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# What a URL parser ignores before reading the scheme (WHATWG URL): C0 controls and
# spaces at either end, tabs and line breaks anywhere ("java\tscript:" is javascript:).
_URL_EDGES = "".join(map(chr, range(0x21)))
_URL_BREAKS = re.compile(r"[\t\n\r]")


class Collected(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []  # comments, declarations, processing instructions

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.other.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"<![{data}]>")


def scheme(url: str) -> str | None:
    match = _SCHEME.match(_URL_BREAKS.sub("", url.strip(_URL_EDGES)))
    return match.group(1).lower() if match else None


def assert_safe(html: str) -> None:
    parsed = Collected()
    parsed.feed(html)
    parsed.close()
    assert not parsed.other, parsed.other
    for tag, attrs in parsed.elements:
        assert tag in ALLOWED_TAGS, tag  # so no script, iframe, style, svg, object, embed
        allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, set())
        if tag == "a":
            allowed = allowed | {"rel"}  # noopener noreferrer, added by the sanitiser
        for name, value in attrs:
            assert name in allowed, (tag, name)
            assert not name.startswith("on") and name not in ("style", "srcset", "formaction")
            if name == "href":
                assert scheme(value or "") in (None, *LINK_SCHEMES), value
            if name == "src":
                # An image only ever names a file inside the pack: nothing is fetched.
                value = value or ""
                assert scheme(value) is None, value
                assert not value.startswith(("/", "\\")) and "\\" not in value, value
                assert ".." not in value.split("/"), value


def check(text: str) -> None:
    try:
        document = render_markdown(text.encode("utf-8", "surrogatepass"), DOC_PATH)
    except DocumentError as exc:
        assert str(exc)
        return
    assert document.html is not None
    assert_safe(document.html)
    assert document.units  # at least the "Introduction"


DANGEROUS = st.sampled_from([
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<script",
    "<img src=x onerror=alert(1)>", '<img src="http://evil.example/t.png">',
    "![t](http://evil.example/t.png)", "![t](//evil.example/t.png)", "![t](/etc/passwd)",
    "![t](../../../etc/passwd)", "![t](data:image/png;base64,AAAA)", "![t](file:///etc/passwd)",
    "![t](C:\\\\x.png)", "![ok](../media/diagram.png)", '<img srcset="http://e/x 2x">',
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))", "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox)", "[x](mailto:a@b.c)", "[x](https://ok.example)", "<http://a.b>",
    '<a href="javascript:alert(1)">x</a>', '<a href=" javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>", "<style>body{display:none}</style>",
    "<svg onload=alert(1)><circle/></svg>", "<object data=x.swf></object>", "<embed src=x>",
    '<p style="background:url(http://e/x)">s</p>', "<math><mi>x</mi></math>",
    "<form action=http://e><input formaction=x></form>", "<base href=http://evil/>",
    "<meta http-equiv=refresh content=0;url=http://e>", "<link rel=stylesheet href=x>",
    "<!-- comment -->", "<![CDATA[x]]>", "<?php echo 1 ?>", "<!DOCTYPE html>",
    "&lt;script&gt;", "&#60;script&#62;", "&amp;", "&#x6A;avascript:", "&#0;", "&nbsp;",
    "{: onclick=alert(1) }", "{: #id .class style=color:red }", "# Heading {: onmouseover=x }",
    "[^1]", "[^1]: note <script>x</script>", "```\n<script>\n```", "`<script>`",
    "| a | b |\n|---|---|\n| <script> | [x](javascript:y) |", "<div markdown=1>*x*</div>",
    "<", ">", "\"", "'", "`", "*", "_", "[", "]", "(", ")", "!", "#", "-", "|", "\\", "\n",
    "\n\n", "    ", "\t", "\u2028", "\ufeff", "\ue000", "\x00", "\r", "\x0b", "\x0c",
])


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Lists and quotes nested as deep as Casebook allows, and a little deeper."""
    depth = draw(st.integers(0, MAX_QUOTE_DEPTH + 2))
    indent = draw(st.integers(0, MAX_INDENT + 4))
    marker = draw(st.sampled_from(["- ", "* ", "1. ", "> ", ">", "> - "]))
    lines = []
    for level in range(draw(st.integers(1, 6))):
        quote = "> " * min(depth, level * 3)
        lines.append(quote + " " * min(indent, level * 4) + marker + draw(DANGEROUS))
    return "\n".join(lines)


MARKDOWN = st.lists(st.one_of(DANGEROUS, nested(), st.text(max_size=12)), max_size=16
                    ).map("".join)


@settings(max_examples=examples(500), deadline=None)
@given(st.text(max_size=300))
def test_any_text_renders_safely_or_is_refused(text: str) -> None:
    check(text)


@settings(max_examples=examples(750), deadline=None)
@given(MARKDOWN)
@example('<a href="javascript:alert(1)">x</a>[x](java\tscript:alert(1))<svg onload=alert(1)>')
@example("![t](//evil.example/t.png)![t](data:image/png;base64,AAAA)")
def test_dangerous_markdown_renders_safely_or_is_refused(text: str) -> None:
    check(text)


@settings(max_examples=examples(100), deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_render_safely_or_are_refused(data: bytes) -> None:
    try:
        document = render_markdown(data, DOC_PATH)
    except DocumentError:
        return
    assert_safe(document.html or "")
