"""Pack updates in the window: ask the publishers' catalogues off the GUI thread,
mark the packs that have a newer version, and install one the way a file import
is installed (a child process with a progress bar and Cancel).

A check runs when the reader asks (File › Check for pack updates) and after each
comment sync, which is when the reader has said Casebook may go online; never on
its own otherwise.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from desktop_app.gui.library.pack_import import CliJob

if TYPE_CHECKING:
    from desktop_app.core.packs.catalogue import UpdateCheck, UpdateOffer
    from desktop_app.gui.window.main_window import MainWindow


class PackUpdates(QObject):
    checked = Signal(object)  # UpdateCheck, on the GUI thread
    _result = Signal(object, bool)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.offers: list[UpdateOffer] = []
        self._checking = False
        self._result.connect(self._show)

    def has_catalogue(self) -> bool:
        """Whether any installed pack names a catalogue (else there is nothing to ask)."""
        row = self.window.conn.execute(
            "SELECT 1 FROM packs WHERE active = 1 AND "
            "json_extract(manifest, '$.catalogue') IS NOT NULL LIMIT 1").fetchone()
        return row is not None

    def check(self, asked: bool = True) -> bool:
        """Start a check; False if one is running or (when not asked) nothing to ask."""
        if self._checking or (not asked and not self.has_catalogue()):
            return False
        self._checking = True
        if asked:
            self.window.statusBar().showMessage("Checking for pack updates…")
        store_file = self.window.paths.store_file

        def ask() -> None:
            # httpx and the catalogue code load here, on first use, not at start-up.
            from desktop_app.core.packs.catalogue import check_updates_in

            self._result.emit(check_updates_in(store_file), asked)

        threading.Thread(target=ask, name="pack-updates", daemon=True).start()
        return True

    @Slot(object, bool)
    def _show(self, result: UpdateCheck, asked: bool) -> None:
        self._checking = False
        self.offers = list(result.offers)
        self.window.library.set_updates(result.versions())
        self.checked.emit(result)
        if not asked and not self.offers:
            return
        if self.offers:
            names = ", ".join(f"{o.title} {o.version}" for o in self.offers)
            message = f"Update available: {names}. File › Install pack updates."
        elif result.catalogues_checked == 0 and not result.messages:
            message = "None of the installed packs names an update catalogue."
        else:
            message = "Every pack is up to date." if not result.problems else ""
        message = " ".join([message, *result.messages]).strip()
        self.window.statusBar().showMessage(message, 15000)

    def install_offered(self) -> list[CliJob]:
        """Install every offer, after the reader agrees (one child process each)."""
        if not self.offers:
            QMessageBox.information(self.window, "Pack updates",
                                    "No update is waiting. Check for pack updates first.")
            return []
        lines = "\n".join(f"• {o.title}: {o.installed_version} → {o.version} "
                          f"({o.size / 1e6:.1f} MB)" for o in self.offers)
        answer = QMessageBox.question(
            self.window, "Install pack updates",
            f"Download and install these updates? Your notes are moved to the new text; "
            f"the previous version is kept for rollback.\n\n{lines}")
        if answer != QMessageBox.StandardButton.Yes:
            return []
        jobs = []
        for offer in self.offers:
            job = CliJob(["updates", "install", offer.pack_id], self.window.paths.data_dir,
                         f"Updating {offer.title}…", self.window)
            jobs.append(self.window._start(job, f"Updating {offer.title}…"))
        self.offers = []
        return jobs
