"""The errors the core raises. Each message is written for the person using Casebook."""

from __future__ import annotations


class CasebookError(Exception):
    """Root of every error the core raises on purpose; its text is shown to the user as is."""


class StoreError(CasebookError):
    """The local store cannot be opened or used."""


class StoreTooNewError(StoreError):
    """The store was written by a newer Casebook than this one."""


class PackError(CasebookError):
    """A content pack was refused; nothing in the store was changed."""


class SignatureError(PackError):
    """A pack's signature is missing, unknown, forged or broken."""


class DocumentError(PackError):
    """A document inside a pack cannot be used (not a PDF, encrypted, unreadable...)."""


class NotInstalledError(CasebookError):
    """The pack or document asked for is not in the library."""


class KeyFileError(CasebookError):
    """A publisher key file cannot be read."""


class StoreFullError(StoreError):
    """The disk holding the store is full; the write was rolled back."""


class StoreReadOnlyError(StoreError):
    """The store is on a read-only disk or folder; nothing can be changed."""


class StoreCorruptError(StoreError):
    """The store file is damaged. It is never written to; a backup can replace it."""

    def __init__(self, message: str, store_file: object = None, backup: object = None) -> None:
        super().__init__(message)
        # Path | None each; typed loosely so this module stays free of imports.
        self.store_file = store_file
        self.backup = backup
