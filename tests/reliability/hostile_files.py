"""Hostile PDFs and Markdown, built for real with PyMuPDF or as raw bytes.

Each builder returns the file's bytes. ``url`` arguments name a server the tests run
on 127.0.0.1: anything that fetches from it is caught by the request count.
"""

from __future__ import annotations

import re

import pymupdf

from tests.packfactory import make_pdf

PDF_MAX_POINTS = 14_400  # the biggest page side PDF 1.7 allows (200 inches)


def _save(doc: pymupdf.Document, **options: object) -> bytes:
    data = doc.tobytes(no_new_id=True, **options)
    doc.close()
    return data


def plain_pdf(pages: int = 3) -> bytes:
    return make_pdf([f"Page {n + 1}. Residents shaped the plan." for n in range(pages)])


def truncated_pdf() -> bytes:
    """A ten-page PDF cut in half: no trailer, no xref, pages partly missing."""
    data = make_pdf([f"Page {n + 1}. " + "Some text on the page. " * 40 for n in range(10)])
    return data[: len(data) // 2]


def broken_xref_pdf() -> bytes:
    """Every cross-reference offset and ``startxref`` point at nonsense."""
    data = plain_pdf(4)
    data = re.sub(rb"\d{10} (\d{5}) n", lambda m: b"0000000007 " + m.group(1) + b" n", data)
    return re.sub(rb"startxref\s+\d+", b"startxref\n999999999", data)


def garbage_xref_pdf() -> bytes:
    """The cross-reference table replaced by random-looking bytes."""
    data = plain_pdf(4)
    start = data.rindex(b"xref")
    end = data.rindex(b"trailer")
    return data[:start] + bytes((i * 37 + 11) % 256 for i in range(end - start)) + data[end:]


def encrypted_pdf() -> bytes:
    doc = pymupdf.open(stream=plain_pdf(2), filetype="pdf")
    return _save(doc, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner",
                 user_pw="secret")


def no_pages_pdf() -> bytes:
    """A syntactically valid PDF whose page tree is empty (PyMuPDF refuses to save one)."""
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [] /Count 0 >>"])


def many_pages_pdf(count: int) -> bytes:
    """``count`` tiny pages, each its own content stream with a word of text, in one
    flat page tree, written as raw bytes (PyMuPDF takes ~0.5 ms a page to make them)."""
    first_page = 4
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [%s] >>" % (
            count, b" ".join(b"%d 0 R" % (first_page + 2 * n) for n in range(count))),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for number in range(count):
        content = b"BT /F1 8 Tf 6 36 Td (p%d) Tj ET" % (number + 1)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
                       % (first_page + 2 * number + 1))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    return _raw_pdf(objects)


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF file of these objects (numbered from 1, the first is the catalog)."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def active_content_pdf(url: str, marker: str) -> bytes:
    """JavaScript on open and in a link, a Launch action, an embedded file and a URI
    action, each of which would reach ``url`` or create ``marker`` if anything ran it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), "Nothing here should run.", fontsize=14)
    page.insert_link({"kind": pymupdf.LINK_LAUNCH, "from": pymupdf.Rect(72, 200, 272, 240),
                      "file": f"/bin/sh -c 'touch {marker}'"})
    page.insert_link({"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(72, 300, 272, 340),
                      "uri": f"{url}/clicked-only"})
    doc.embfile_add("payload.sh", f"#!/bin/sh\ntouch {marker}\ncurl {url}/embedded\n".encode(),
                    filename="payload.sh", desc="would run if opened")
    catalog = doc.pdf_catalog()
    js = (f"app.launchURL('{url}/openaction', true); "
          f"this.exportDataObject({{cName: 'payload.sh', nLaunch: 2}});")
    js_xref = doc.get_new_xref()
    doc.update_object(js_xref, f"<< /S /JavaScript /JS ({js}) >>")
    doc.xref_set_key(catalog, "OpenAction", f"{js_xref} 0 R")
    launch_xref = doc.get_new_xref()
    doc.update_object(launch_xref,
                      f"<< /S /Launch /F ({marker}) /Win << /F (cmd.exe) /P (/c calc) >> >>")
    doc.xref_set_key(catalog, "AA", f"<< /WC {launch_xref} 0 R >>")
    doc.xref_set_key(page.xref, "AA", f"<< /O << /S /JavaScript /JS (app.alert('{url}')) >> >>")
    doc.xref_set_key(catalog, "Names/JavaScript",
                     f"<< /Names [(init) << /S /JavaScript /JS (getURL('{url}/names')) >>] >>")
    return _save(doc)


def enormous_page_pdf() -> bytes:
    """One page at the PDF maximum (14,400 x 14,400 pt) with text, and a normal page."""
    doc = pymupdf.open()
    page = doc.new_page(width=PDF_MAX_POINTS, height=PDF_MAX_POINTS)
    page.insert_text((100, 200), "An enormous page.", fontsize=96)
    doc.new_page(width=595, height=842).insert_text((72, 100), "A normal page.")
    return _save(doc)


def huge_mediabox_pdf() -> bytes:
    """A page whose MediaBox is far past the PDF limit (10^9 points a side)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), "A huge MediaBox.")
    doc.xref_set_key(page.xref, "MediaBox", "[0 0 1000000000 1000000000]")
    return _save(doc)


# --- Markdown ------------------------------------------------------------------------------


TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
            "AAAABJRU5ErkJggg==")


def active_markdown(url: str) -> bytes:
    """Scripts, handlers, ``javascript:``/``data:``/``file:`` links, remote and
    file images, iframes, style sheets: every way HTML in Markdown could act or fetch."""
    return f"""# Hostile case study

<script>fetch('{url}/script')</script>
<img src="{url}/remote-html.png" onerror="fetch('{url}/onerror')">
<p onclick="alert(1)" onmouseover="fetch('{url}/hover')" style="background:url({url}/css)">
Text with handlers.</p>
<iframe src="{url}/iframe"></iframe>
<object data="{url}/object"></object>
<link rel="stylesheet" href="{url}/style.css">
<style>@import url('{url}/import.css');</style>
<svg onload="fetch('{url}/svg')"><image href="{url}/svg.png"/></svg>

![remote image]({url}/remote.png)
![protocol-relative]({url.replace('http:', '')}/relative.png)
![file image](file:///etc/passwd)
![data image](data:image/png;base64,{TINY_PNG})

[a javascript link](javascript:fetch('{url}/js'))
[a data link](data:text/html,<script>alert(1)</script>)
[a vbscript link](vbscript:msgbox)
[a web link]({url}/clicked-only)
<a href="JaVaScRiPt:alert(1)">mixed case</a>
<a href="&#106;avascript:alert(1)">entity</a>
<meta http-equiv="refresh" content="0;url={url}/refresh">
""".encode()


def big_markdown(megabytes: int) -> bytes:
    line = b"Residents shaped the plan for the parks, and the council listened. " * 3 + b"\n\n"
    return line * (megabytes * 1024 * 1024 // len(line) + 1)


def nested_list_markdown(depth: int) -> bytes:
    return "".join("    " * level + f"- level {level}\n" for level in range(depth)).encode()


def nested_quote_markdown(depth: int) -> bytes:
    return ("> " * depth + "deep\n").encode()


def nested_quote_packed_markdown(depth: int) -> bytes:
    """Quote markers with no spaces between them (``>>>>>``)."""
    return (">" * depth + " deep\n").encode()


def nested_html_markdown(depth: int) -> bytes:
    """Raw HTML nesting, which the Markdown line checks do not see."""
    return ("<div>" * depth + "deep" + "</div>" * depth + "\n").encode()


def nested_inline_markdown(depth: int) -> bytes:
    """Emphasis and links nested inside each other."""
    return ("*" * depth + "x" + "*" * depth + " " + "[" * depth + "x" + "](y)" * depth
            + "\n").encode()


def _text_page(content_ref: int, parent: int = 2) -> bytes:
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 200 200] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (parent, content_ref))


def _text_stream(words: bytes) -> bytes:
    content = b"BT /F1 12 Tf 10 100 Td (%s) Tj ET" % words
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)


def one_bad_page_pdf() -> bytes:
    """Three pages; the second is a /Pages node whose only kid is itself, so MuPDF
    loads pages 1 and 3 and fails on page 2 with "cycle in page tree"."""
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 3 /Kids [4 0 R 6 0 R 7 0 R] >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        _text_page(5), _text_stream(b"Moderation on the first page"),
        b"<< /Type /Pages /Parent 2 0 R /Count 1 /Kids [6 0 R] >>",
        _text_page(8), _text_stream(b"Moderation on the third page"),
    ])


def page_tree_cycle_pdf() -> bytes:
    """A page tree that loops: its one /Pages kid names the root again."""
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"])


def uncountable_pages_pdf() -> bytes:
    """A /Count of -1: MuPDF raises RuntimeError from ``page_count``."""
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [3 0 R] /Count -1 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>"])


def junk_before_header_pdf() -> bytes:
    """A good PDF after 2 KiB of something else (a mail gateway's banner, say)."""
    return b"X-Scanned-By: gateway\r\n" * 100 + plain_pdf(2)


def versionless_header_pdf() -> bytes:
    """``%PDF`` with no ``-1.7``: a header without a version."""
    data = plain_pdf(2)
    assert data.startswith(b"%PDF-1.7")
    return b"%PDF" + data[len(b"%PDF-1.7"):]
