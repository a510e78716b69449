"""The local SQLite store: opening it, its schema and its migrations."""

from desktop_app.core.store.db import open_store, transaction

__all__ = ["open_store", "transaction"]
