"""Casebook: read and annotate guidance and case studies offline."""

__version__ = "0.1.0"
