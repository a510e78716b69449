"""Highlights and notes on pack documents, and keeping them anchored across updates.

- ``model``: the Annotation and its W3C Web Annotation form
- ``text``: a document's text as positions count it, normalised for matching
- ``describe``: selectors (quote, position, page and rectangles or section) for a span
- ``geometry``: highlight rectangles on PDF pages (PyMuPDF)
- ``anchoring``: finding a quote again in a new version (Hypothesis's algorithm)
- ``store``: create, read, list, edit, soft delete
- ``reanchor``: moving a pack's annotations onto a new or rolled-back version
"""
