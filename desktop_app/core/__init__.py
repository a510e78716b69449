"""Casebook without a screen. Nothing under this package may import Qt."""
