#!/usr/bin/env python3
"""Generate the illustrative diagrams used by the Local by Social content pack.

Run from the pack folder:

    ../../.venv/bin/python tools/make_images.py

Each diagram is drawn on a PyMuPDF page with simple shapes and text, then
rendered to PNG in ``media/``. The output is deterministic: running the
script again produces the same images.
"""

from __future__ import annotations

import math
import pathlib
import sys

import pymupdf

PACK_DIR = pathlib.Path(__file__).resolve().parent.parent
MEDIA_DIR = PACK_DIR / "media"

# Page width in points; rendered at DPI 144 this gives 1000 px wide images.
PAGE_W = 500
DPI = 144

# A small, calm palette (RGB floats).
INK = (0.13, 0.16, 0.22)
MUTED = (0.38, 0.42, 0.48)
LINE = (0.55, 0.59, 0.65)
WHITE = (1, 1, 1)
BG = (0.985, 0.985, 0.975)
TEAL = (0.16, 0.47, 0.50)
TEAL_LIGHT = (0.86, 0.93, 0.93)
BLUE = (0.20, 0.36, 0.62)
BLUE_LIGHT = (0.87, 0.91, 0.97)
AMBER = (0.78, 0.52, 0.10)
AMBER_LIGHT = (0.99, 0.94, 0.83)
RED = (0.70, 0.22, 0.20)
RED_LIGHT = (0.98, 0.88, 0.86)
GREEN = (0.22, 0.50, 0.28)
GREEN_LIGHT = (0.88, 0.95, 0.88)
PLUM = (0.45, 0.28, 0.52)
PLUM_LIGHT = (0.93, 0.89, 0.95)

FONT = "helv"
FONT_BOLD = "hebo"


class Overflow(RuntimeError):
    """Raised when text does not fit in its box, so layouts stay tidy."""


def new_page(height: float, title: str, subtitle: str | None = None,
             illustrative: bool = False):
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=height)
    page.draw_rect(page.rect, color=None, fill=BG)
    page.insert_text((24, 34), title, fontname=FONT_BOLD, fontsize=15, color=INK)
    if subtitle:
        page.insert_text((24, 52), subtitle, fontname=FONT, fontsize=9.5, color=MUTED)
    if illustrative:
        tag = pymupdf.Rect(PAGE_W - 104, 20, PAGE_W - 24, 38)
        page.draw_rect(tag, color=AMBER, fill=AMBER_LIGHT, width=0.8, radius=0.3)
        centred_text(page, tag, "ILLUSTRATIVE", size=8, bold=True, color=AMBER)
    return doc, page


def text_height(text: str, size: float, width: float, bold: bool = False) -> float:
    """Rough height of wrapped text, used to centre text vertically."""
    font = pymupdf.Font(FONT_BOLD if bold else FONT)
    lines = 0
    for para in text.split("\n"):
        words = para.split()
        if not words:
            lines += 1
            continue
        current = ""
        for word in words:
            trial = f"{current} {word}".strip()
            if font.text_length(trial, fontsize=size) <= width - 4:
                current = trial
            else:
                lines += 1
                current = word
        lines += 1
    return lines * size * 1.2


def centred_text(page, rect, text, size=9.0, bold=False, color=INK, align=1):
    """Insert text centred vertically (and by default horizontally) in rect."""
    h = text_height(text, size, rect.width, bold)
    top = rect.y0 + max(0.0, (rect.height - h) / 2) - 1
    box = pymupdf.Rect(rect.x0, top, rect.x1, rect.y1 + size)
    rc = page.insert_textbox(box, text, fontname=FONT_BOLD if bold else FONT,
                             fontsize=size, color=color, align=align)
    if rc < 0:
        raise Overflow(f"text does not fit: {text!r}")


def box(page, rect, text, fill, border, size=9.0, bold=False, color=INK, radius=0.12):
    rect = pymupdf.Rect(rect)
    page.draw_rect(rect, color=border, fill=fill, width=1.0, radius=radius)
    inner = pymupdf.Rect(rect.x0 + 5, rect.y0 + 3, rect.x1 - 5, rect.y1 - 3)
    centred_text(page, inner, text, size=size, bold=bold, color=color)
    return rect


def titled_box(page, rect, heading, body, fill, border, size=8.0):
    """A box with a coloured heading strip and body text beneath it."""
    rect = pymupdf.Rect(rect)
    page.draw_rect(rect, color=border, fill=fill, width=1.0, radius=0.08)
    strip = pymupdf.Rect(rect.x0, rect.y0, rect.x1, rect.y0 + 20)
    page.draw_rect(strip, color=border, fill=border, width=1.0, radius=0.25)
    page.draw_rect(pymupdf.Rect(strip.x0, strip.y0 + 10, strip.x1, strip.y1),
                   color=None, fill=border)
    centred_text(page, strip, heading, size=9, bold=True, color=WHITE)
    body_rect = pymupdf.Rect(rect.x0 + 6, strip.y1 + 5, rect.x1 - 6, rect.y1 + 40)
    rc = page.insert_textbox(body_rect, body, fontname=FONT, fontsize=size,
                             color=INK, align=0)
    if rc < 40:  # must fit inside the visible part of the box
        raise Overflow(f"body does not fit: {heading!r}")
    return rect


def arrow(page, p1, p2, color=LINE, width=1.4, head=6.0):
    p1, p2 = pymupdf.Point(p1), pymupdf.Point(p2)
    angle = math.atan2(p2.y - p1.y, p2.x - p1.x)
    base = pymupdf.Point(p2.x - head * math.cos(angle), p2.y - head * math.sin(angle))
    page.draw_line(p1, base, color=color, width=width)
    left = pymupdf.Point(base.x + head * 0.55 * math.sin(angle),
                         base.y - head * 0.55 * math.cos(angle))
    right = pymupdf.Point(base.x - head * 0.55 * math.sin(angle),
                          base.y + head * 0.55 * math.cos(angle))
    page.draw_polyline([left, p2, right, left], color=color, fill=color, width=0.5,
                       closePath=True)


def label(page, point, text, size=8.0, color=MUTED, bold=False):
    page.insert_text(point, text, fontname=FONT_BOLD if bold else FONT,
                     fontsize=size, color=color)


def footer(page, text):
    label(page, (24, page.rect.height - 14), text, size=7.5)


def save(doc, page, name):
    out = MEDIA_DIR / name
    pix = page.get_pixmap(dpi=DPI, alpha=False)
    pix.save(str(out))
    doc.close()
    size_kb = out.stat().st_size / 1024
    print(f"{name}: {pix.width}x{pix.height}px, {size_kb:.1f} KB")
    if size_kb >= 150:
        raise SystemExit(f"{name} is larger than 150 KB")


# ---------------------------------------------------------------------------
# Guide diagrams
# ---------------------------------------------------------------------------

def channel_choice():
    doc, page = new_page(330, "Choosing a channel: three questions first",
                         "Start with purpose, audience and capacity; the channel follows.")
    qs = [
        ("Purpose", "What do we need people to know, do or tell us?", TEAL, TEAL_LIGHT),
        ("Audience", "Who needs this, and where do they already spend time?", BLUE, BLUE_LIGHT),
        ("Capacity", "Can we keep this channel staffed, answered and moderated?", PLUM, PLUM_LIGHT),
    ]
    x, y, w, h = 24, 70, 140, 62
    for i, (head, body, border, fill) in enumerate(qs):
        titled_box(page, (x, y + i * (h + 12), x + w, y + i * (h + 12) + h), head, body,
                   fill, border, size=8.5)
    # Funnel into the decision
    decide = pymupdf.Rect(196, 140, 296, 200)
    box(page, decide, "Match the message to the channel", WHITE, INK, size=9, bold=True)
    for i in range(3):
        cy = y + i * (h + 12) + h / 2
        arrow(page, (x + w + 2, cy), (decide.x0 - 2, decide.y0 + 30 + (i - 1) * 14))
    channels = [
        ("Website", "The lasting, authoritative record", GREEN, GREEN_LIGHT),
        ("Email and SMS", "Opted-in updates and reminders", BLUE, BLUE_LIGHT),
        ("Social feeds", "Quick news, alerts, conversation", TEAL, TEAL_LIGHT),
        ("Community groups", "Trusted local spaces and partners", AMBER, AMBER_LIGHT),
        ("Offline routes", "Phone, print, libraries, face to face", PLUM, PLUM_LIGHT),
    ]
    cx, cy0, cw, ch = 326, 66, 150, 40
    for i, (head, body, border, fill) in enumerate(channels):
        r = pymupdf.Rect(cx, cy0 + i * (ch + 8), cx + cw, cy0 + i * (ch + 8) + ch)
        page.draw_rect(r, color=border, fill=fill, width=1.0, radius=0.15)
        page.draw_rect(pymupdf.Rect(r.x0, r.y0, r.x0 + 5, r.y1), color=None, fill=border)
        label(page, (r.x0 + 11, r.y0 + 16), head, size=9, color=INK, bold=True)
        label(page, (r.x0 + 11, r.y0 + 29), body, size=7.5, color=MUTED)
        arrow(page, (decide.x1 + 2, decide.y0 + 30), (r.x0 - 2, (r.y0 + r.y1) / 2))
    footer(page, "Most messages use more than one route. The website remains the place "
                 "every post should point back to.")
    save(doc, page, "channel-choice.png")


def edge_point(centre, towards, half_w, half_h, gap=4.0):
    """Point where the line from centre towards another point leaves a box."""
    d = towards - centre
    tx = half_w / abs(d.x) if d.x else float("inf")
    ty = half_h / abs(d.y) if d.y else float("inf")
    t = min(tx, ty)
    length = math.hypot(d.x, d.y)
    return centre + d * (t + gap / length)


def engagement_cycle():
    doc, page = new_page(370, "The engagement cycle",
                         "A repeating loop, not a one-off campaign.")
    centre = pymupdf.Point(250, 207)
    rx, ry = 150, 112
    steps = [
        ("Listen", "Hear what residents are already saying", TEAL, TEAL_LIGHT),
        ("Plan", "Agree the aim, audience and message", BLUE, BLUE_LIGHT),
        ("Share", "Post clearly, in plain English", GREEN, GREEN_LIGHT),
        ("Respond", "Answer, signpost, thank", AMBER, AMBER_LIGHT),
        ("Learn", "Review what worked and feed it back", PLUM, PLUM_LIGHT),
    ]
    n = len(steps)
    pts = []
    for i in range(n):
        ang = -math.pi / 2 + i * 2 * math.pi / n
        pts.append(pymupdf.Point(centre.x + rx * math.cos(ang),
                                 centre.y + ry * math.sin(ang)))
    bw, bh = 112, 50
    for (head, body, border, fill), p in zip(steps, pts):
        r = pymupdf.Rect(p.x - bw / 2, p.y - bh / 2, p.x + bw / 2, p.y + bh / 2)
        page.draw_rect(r, color=border, fill=fill, width=1.2, radius=0.2)
        centred_text(page, pymupdf.Rect(r.x0, r.y0 + 4, r.x1, r.y0 + 18), head,
                     size=10, bold=True, color=border)
        centred_text(page, pymupdf.Rect(r.x0 + 6, r.y0 + 19, r.x1 - 6, r.y1 - 3), body,
                     size=7.5, color=INK)
    # ring arrows between the edges of neighbouring boxes
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        start = edge_point(a, b, bw / 2, bh / 2)
        end = edge_point(b, a, bw / 2, bh / 2)
        arrow(page, start, end, color=MUTED, width=1.6, head=7)
    hub = pymupdf.Rect(centre.x - 52, centre.y - 20, centre.x + 52, centre.y + 20)
    box(page, hub, "Residents at the centre", WHITE, INK, size=9, bold=True, radius=0.4)
    footer(page, "Each turn of the loop should change something: a page, a service, "
                 "or the next message.")
    save(doc, page, "engagement-cycle.png")


def moderation_flow():
    doc, page = new_page(400, "Handling a comment: a simple moderation flow",
                         "Apply the published house rules consistently; record what you remove and why.")
    start = box(page, (165, 66, 305, 94), "New comment or message", WHITE, INK,
                size=9, bold=True)
    q1 = box(page, (150, 114, 320, 146),
             "Is anyone at risk of harm, or is it unlawful?", RED_LIGHT, RED, size=8.5)
    arrow(page, (235, start.y1 + 1), (235, q1.y0 - 1))
    urgent = box(page, (346, 110, 478, 150),
                 "Escalate now: safeguarding lead, police or emergency services",
                 RED, RED, size=7.5, color=WHITE, bold=True)
    arrow(page, (q1.x1 + 1, 130), (urgent.x0 - 1, 130), color=RED)
    label(page, (q1.x1 + 7, 123), "Yes", size=7.5, color=RED, bold=True)

    q2 = box(page, (150, 172, 320, 204),
             "Does it break the house rules?", AMBER_LIGHT, AMBER, size=8.5)
    arrow(page, (235, q1.y1 + 1), (235, q2.y0 - 1))
    label(page, (239, q1.y1 + 16), "No", size=7.5, color=MUTED, bold=True)
    hide = box(page, (346, 168, 478, 208),
               "Hide or remove, log it, explain if appropriate", AMBER_LIGHT, AMBER,
               size=7.5)
    arrow(page, (q2.x1 + 1, 188), (hide.x0 - 1, 188), color=AMBER)
    label(page, (q2.x1 + 7, 181), "Yes", size=7.5, color=AMBER, bold=True)

    q3 = box(page, (150, 230, 320, 262),
             "Is it a question, complaint or service request?", BLUE_LIGHT, BLUE,
             size=8.5)
    arrow(page, (235, q2.y1 + 1), (235, q3.y0 - 1))
    label(page, (239, q2.y1 + 16), "No", size=7.5, color=MUTED, bold=True)
    route = box(page, (346, 226, 478, 266),
                "Answer or route to the service; move personal details to private",
                BLUE_LIGHT, BLUE, size=7.5)
    arrow(page, (q3.x1 + 1, 246), (route.x0 - 1, 246), color=BLUE)
    label(page, (q3.x1 + 7, 239), "Yes", size=7.5, color=BLUE, bold=True)

    q4 = box(page, (150, 288, 320, 320),
             "Is it criticism or debate within the rules?", GREEN_LIGHT, GREEN, size=8.5)
    arrow(page, (235, q3.y1 + 1), (235, q4.y0 - 1))
    label(page, (239, q3.y1 + 16), "No", size=7.5, color=MUTED, bold=True)
    leave = box(page, (346, 284, 478, 324),
                "Leave it up; reply with facts if it helps others", GREEN_LIGHT, GREEN,
                size=7.5)
    arrow(page, (q4.x1 + 1, 304), (leave.x0 - 1, 304), color=GREEN)
    label(page, (q4.x1 + 7, 297), "Yes", size=7.5, color=GREEN, bold=True)

    other = box(page, (150, 342, 320, 370),
                "Otherwise: note it, watch for patterns", WHITE, LINE, size=8.5)
    arrow(page, (235, q4.y1 + 1), (235, other.y0 - 1))

    side = pymupdf.Rect(24, 114, 136, 290)
    titled_box(page, side, "Remember",
               "Criticism is not abuse.\n\nDo not argue in public.\n\n"
               "Check the facts before you reply.\n\nDuring elections, take "
               "extra care with anything political.\n\nIf unsure, ask a colleague "
               "before acting.", WHITE, INK, size=8)
    footer(page, "A starting point only: adapt it to your council's own policy, "
                 "safeguarding procedures and legal advice.")
    save(doc, page, "moderation-flow.png")


# ---------------------------------------------------------------------------
# Case study diagrams
# ---------------------------------------------------------------------------

def kent_timeline():
    doc, page = new_page(268, "A phased approach to digital change",
                         "How a large county council might sequence the work "
                         "(no real dates or figures).", illustrative=True)
    phases = [
        ("Discover", "Map services, channels and pain points with staff and residents",
         TEAL, TEAL_LIGHT),
        ("Pilot", "Try one or two small changes in a single service area", BLUE,
         BLUE_LIGHT),
        ("Learn", "Test with users; keep what helps, drop what does not", AMBER,
         AMBER_LIGHT),
        ("Extend", "Share patterns, training and templates across teams", GREEN,
         GREEN_LIGHT),
        ("Sustain", "Build into budgets, roles and routine reporting", PLUM,
         PLUM_LIGHT),
    ]
    y_line = 110
    x0, x1 = 66, 434
    page.draw_line((x0 - 30, y_line), (x1 + 12, y_line), color=LINE, width=2.5)
    arrow(page, (x1 + 10, y_line), (x1 + 34, y_line), color=LINE, width=2.5, head=9)
    step = (x1 - x0) / (len(phases) - 1)
    w = 84
    for i, (head, body, border, fill) in enumerate(phases):
        cx = x0 + i * step
        page.draw_circle((cx, y_line), 9, color=border, fill=WHITE, width=2.5)
        centred_text(page, pymupdf.Rect(cx - 9, y_line - 8, cx + 9, y_line + 8),
                     str(i + 1), size=8, bold=True, color=border)
        label(page, (cx - 20, y_line - 18), f"Phase {i + 1}", size=7.5)
        bx0 = min(max(cx - w / 2, 20), PAGE_W - 20 - w)
        r = pymupdf.Rect(bx0, 138, bx0 + w, 226)
        page.draw_line((cx, y_line + 10), (cx, r.y0), color=border, width=1)
        titled_box(page, r, head, body, fill, border, size=8)
    footer(page, "Phases overlap in practice, and the loop from Learn back to Pilot "
                 "usually runs more than once.")
    save(doc, page, "kent-phased-approach.png")


def devon_ladder():
    doc, page = new_page(330, "Levels of digital engagement",
                         "Being clear which level a project is aiming for "
                         "helps residents know what to expect.")
    rungs = [
        ("Inform", "Tell people what is happening and why", "Web pages, posts, newsletters",
         TEAL, TEAL_LIGHT),
        ("Consult", "Ask for views on options already drafted",
         "Online surveys, comment maps", BLUE, BLUE_LIGHT),
        ("Involve", "Work through issues with residents as plans develop",
         "Online workshops, forums", AMBER, AMBER_LIGHT),
        ("Collaborate", "Share decisions and shape options together",
         "Co-design groups, community panels", GREEN, GREEN_LIGHT),
    ]
    base_y = 290
    h = 46
    for i, (head, what, tools, border, fill) in enumerate(rungs):
        y1 = base_y - i * (h + 8)
        y0 = y1 - h
        x0 = 30 + i * 22
        r = pymupdf.Rect(x0, y0, x0 + 300, y1)
        page.draw_rect(r, color=border, fill=fill, width=1.1, radius=0.12)
        page.draw_rect(pymupdf.Rect(r.x0, r.y0, r.x0 + 86, r.y1), color=None, fill=border,
                       radius=0.12)
        page.draw_rect(pymupdf.Rect(r.x0 + 40, r.y0, r.x0 + 86, r.y1), color=None,
                       fill=border)
        centred_text(page, pymupdf.Rect(r.x0, r.y0, r.x0 + 86, r.y1), head, size=10,
                     bold=True, color=WHITE)
        label(page, (r.x0 + 94, r.y0 + 19), what, size=8.5, color=INK)
        label(page, (r.x0 + 94, r.y0 + 34), "For example: " + tools, size=7.5,
              color=MUTED)
    # side arrow showing increasing influence
    arrow(page, (428, 292), (428, 72), color=INK, width=1.6, head=8)
    page_text_vertical(page, (450, 290), "More influence for residents", size=8.5,
                       bold=True, color=INK)
    page_text_vertical(page, (463, 290), "and more time needed from both sides",
                       size=7.5)
    footer(page, "No level is better in itself. Pick the one that matches how much "
                 "can genuinely change.")
    save(doc, page, "devon-engagement-levels.png")


def page_text_vertical(page, point, text, size=8.0, bold=False, color=MUTED):
    """Write text rotated by 90 degrees (reading bottom to top)."""
    page.insert_text(point, text, fontname=FONT_BOLD if bold else FONT, fontsize=size,
                     color=color, rotate=90)


def brent_day():
    doc, page = new_page(332, "A day on the council's social media desk",
                         "An example rhythm for a small team serving a busy, "
                         "diverse borough.", illustrative=True)
    slots = [
        ("Morning", "Check overnight messages and mentions; flag anything urgent",
         TEAL, TEAL_LIGHT),
        ("Late morning", "Publish planned posts; brief services on live issues",
         BLUE, BLUE_LIGHT),
        ("Midday", "Answer questions; route service requests to the right team",
         GREEN, GREEN_LIGHT),
        ("Afternoon", "Work with community partners on shared messages",
         AMBER, AMBER_LIGHT),
        ("End of day", "Hand over open issues; set out-of-hours message",
         PLUM, PLUM_LIGHT),
    ]
    x, y0, w, h, gap = 24, 70, 290, 38, 8
    for i, (when, what, border, fill) in enumerate(slots):
        y = y0 + i * (h + gap)
        r = pymupdf.Rect(x, y, x + w, y + h)
        page.draw_rect(r, color=border, fill=fill, width=1.0, radius=0.15)
        tag = pymupdf.Rect(r.x0, r.y0, r.x0 + 84, r.y1)
        page.draw_rect(tag, color=None, fill=border, radius=0.15)
        page.draw_rect(pymupdf.Rect(tag.x0 + 40, tag.y0, tag.x1, tag.y1), color=None,
                       fill=border)
        centred_text(page, tag, when, size=8.5, bold=True, color=WHITE)
        centred_text(page, pymupdf.Rect(tag.x1 + 6, r.y0, r.x1 - 6, r.y1), what,
                     size=8, color=INK, align=0)
        if i < len(slots) - 1:
            arrow(page, (x + 42, r.y1), (x + 42, r.y1 + gap), color=LINE, width=1.2,
                  head=5)
    side = pymupdf.Rect(330, 70, 476, 292)
    titled_box(page, side, "Always on",
               "Safeguarding concerns go straight to the duty team.\n\n"
               "Posts in community languages are checked by a fluent colleague.\n\n"
               "Emergency and weather updates can replace the plan at any time.\n\n"
               "Every reply points to an official page or contact.",
               WHITE, INK, size=8)
    footer(page, "A sketch of one possible routine, not a description of any "
                 "council's actual rota.")
    save(doc, page, "brent-social-desk-day.png")


def main() -> int:
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    channel_choice()
    engagement_cycle()
    moderation_flow()
    kent_timeline()
    devon_ladder()
    brent_day()
    return 0


if __name__ == "__main__":
    sys.exit(main())
