"""File › Get packs…: what a publisher's catalogue offers, and installing from it (as
Kiwix's library browser lists what a catalogue offers).

The catalogue is read off the GUI thread (``core.packs.first_use.browse_with_question``, its own
read-only connection); installing runs ``casebook catalogue install`` as a child
process with a progress bar and Cancel, exactly as a file import does: the download
resumes where a broken one stopped, and the pack goes through every check of an import.
The address comes from an installed pack, a ``.cbcat`` link file, or the reader.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from desktop_app.gui.library.pack_import import CliJob, ask_to_allow_unsigned

if TYPE_CHECKING:
    from desktop_app.core.packs.browse import CatalogueListing, OfferedPack
    from desktop_app.core.packs.first_use import KeyQuestion
    from desktop_app.gui.window.main_window import MainWindow

COLUMNS = ("Title", "Version", "Size", "Date", "Signed by", "In your library")
REMEMBERED = "get_packs.addresses"  # settings key: catalogues the reader opened before


class GetPacksDialog(QDialog):
    listed = Signal(object)  # CatalogueListing, once shown
    installed = Signal(bool, str)  # an install finished: ok, message
    key_decided = Signal(bool)  # the reader answered the question about a key
    _answer = Signal(str, object, str, object)  # address, listing or None, problem, question

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.listing: CatalogueListing | None = None
        self.job: CliJob | None = None
        self.key_box: QMessageBox | None = None
        self.setWindowTitle("Get packs")
        self.setAccessibleName("Get packs")
        self.resize(820, 460)

        self.address = QComboBox(self)
        self.address.setEditable(True)
        self.address.setAccessibleName("Catalogue address")
        self.address.lineEdit().setPlaceholderText("https://… a publisher's catalogue.json")
        self.address.lineEdit().returnPressed.connect(self.load)
        show = QPushButton("&Show packs", self)
        show.clicked.connect(self.load)
        link = QPushButton("Open &link file…", self)
        link.setToolTip("A .cbcat file from the publisher")
        link.clicked.connect(self.choose_link_file)
        top = QHBoxLayout()
        top.addWidget(QLabel("&Catalogue:", self, buddy=self.address))
        top.addWidget(self.address, 1)
        top.addWidget(show)
        top.addWidget(link)

        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.heading.setAccessibleName("Catalogue")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search packs")
        self.search.setAccessibleName("Search packs")
        self.search.textChanged.connect(self._fill)
        self.table = QTreeWidget(self)
        self.table.setAccessibleName("Packs offered")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setColumnWidth(0, 300)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemActivated.connect(lambda *_: self.install_selected())
        self.install_button = QPushButton("&Install", self)
        self.install_button.setEnabled(False)
        self.install_button.clicked.connect(self.install_selected)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Get packs status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.install_button)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.heading)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self._answer.connect(self._show)
        self._fill_addresses()

    # --- where catalogues come from ---------------------------------------------------
    def _fill_addresses(self) -> None:
        from desktop_app.core.packs.browse import known_catalogues
        from desktop_app.core.settings import get_setting

        known = [url for url, _names in known_catalogues(self.window.conn)]
        for url in [*known, *get_setting(self.window.conn, REMEMBERED, [])]:
            if self.address.findText(url) < 0:
                self.address.addItem(url)

    def choose_link_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a catalogue link", str(Path.home()),
                                              "Casebook catalogue links (*.cbcat)")
        if name:
            self.open_link_file(Path(name))

    def open_link_file(self, path: Path) -> None:
        from desktop_app.core.errors import CasebookError
        from desktop_app.core.packs.browse import read_link_file

        try:
            url = read_link_file(path)
        except CasebookError as exc:
            self.status.setText(str(exc))
            return
        self.load(url)

    # --- listing ------------------------------------------------------------------------
    @Slot()
    def load(self, address: str | None = None) -> None:
        """Read the catalogue at ``address`` (default: the one typed) off the GUI thread."""
        address = (address if isinstance(address, str) else self.address.currentText()).strip()
        if not address:
            self.status.setText("Type a catalogue's address, or open a link file from the "
                                "publisher.")
            return
        self.address.setEditText(address)
        self.status.setText(f"Reading {address}…")
        store_file = self.window.paths.store_file

        def read() -> None:
            from desktop_app.core.errors import CasebookError
            from desktop_app.core.packs.first_use import browse_with_question

            try:
                listing, question, problem = browse_with_question(store_file, address)
            except CasebookError as exc:
                self._answer.emit(address, None, str(exc), None)
                return
            self._answer.emit(address, listing, problem, question)

        threading.Thread(target=read, name="get-packs", daemon=True).start()

    @Slot(str, object, str, object)
    def _show(self, address: str, listing: CatalogueListing | None, problem: str,
              question: KeyQuestion | None) -> None:
        if listing is None:
            self.status.setText(problem)
            return
        self.listing = listing
        self._remember(address)
        catalogue = listing.catalogue
        count = len(listing.packs)
        self.heading.setText(f"{catalogue.publisher}: {count} pack{'s' if count != 1 else ''}"
                             f", {listing.signature_words} (made {catalogue.generated}). "
                             "Each pack's own signature is checked when it is installed.")
        self.status.setText(problem)
        self._fill()
        self.listed.emit(listing)
        if question is not None and not self.window._read_only:
            self.ask_about_key(question)

    def ask_about_key(self, question: KeyQuestion) -> QMessageBox:
        """Once per key: trust it, or not (and stop asking). Window-modal, not blocking."""
        box = QMessageBox(QMessageBox.Icon.Question, "A publisher key you do not know",
                          question.words, QMessageBox.StandardButton.No, self)
        box.setAccessibleName("Trust this publisher key?")
        trust = box.addButton("Trust this key", QMessageBox.ButtonRole.YesRole)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._decided(question,
                                                           box.clickedButton() is trust))
        self.key_box = box
        box.open()
        return box

    def _decided(self, question: KeyQuestion, trusted: bool) -> None:
        from desktop_app.core.packs.first_use import answer

        self.key_box = None
        answer(self.window.conn, question, trusted)
        self.key_decided.emit(trusted)
        if trusted:
            self.load(question.catalogue_url)
        else:
            self.status.setText("Not trusted; you will not be asked about this key again "
                                "(File › Publisher keys… to change that).")

    def _remember(self, address: str) -> None:
        from desktop_app.core.settings import get_setting, set_setting

        if self.window._read_only:
            return
        remembered = [url for url in get_setting(self.window.conn, REMEMBERED, [])
                      if url != address]
        set_setting(self.window.conn, REMEMBERED, [address, *remembered][:10])
        if self.address.findText(address) < 0:
            self.address.addItem(address)

    @Slot()
    def _fill(self) -> None:
        from desktop_app.core.packs.browse import STATE_WORDS, UPDATE, size_words

        self.table.clear()
        if self.listing is None:
            return
        text = self.search.text()
        shown = self.listing.search(text) if text.strip() else list(self.listing.packs)
        for offered in shown:
            entry = offered.entry
            state = STATE_WORDS[offered.state]
            if offered.state == UPDATE:
                state += f" (you have {offered.installed_version})"
            item = QTreeWidgetItem([entry.title, str(entry.version), size_words(entry.size),
                                    entry.date or "", self._signer(), state])
            item.setData(0, Qt.ItemDataRole.UserRole, entry.id)
            self.table.addTopLevelItem(item)
        if shown:
            self.table.setCurrentItem(self.table.topLevelItem(0))
        self._selection_changed()

    def _signer(self) -> str:
        assert self.listing is not None
        catalogue = self.listing.catalogue
        return catalogue.signed_by or ("unknown key" if catalogue.key_id else "not signed")

    def selected(self) -> OfferedPack | None:
        item = self.table.currentItem()
        if item is None or self.listing is None:
            return None
        return self.listing.find(item.data(0, Qt.ItemDataRole.UserRole))

    @Slot()
    def _selection_changed(self) -> None:
        from desktop_app.core.packs.browse import NOT_INSTALLED, UPDATE

        offered = self.selected()
        can = (offered is not None and offered.state in (NOT_INSTALLED, UPDATE)
               and self.job is None and not self.window._read_only)
        self.install_button.setEnabled(can)
        self.install_button.setText("&Update" if offered is not None
                                    and offered.state == UPDATE else "&Install")

    # --- installing ---------------------------------------------------------------------
    @Slot()
    def install_selected(self, allow_unsigned: bool = False) -> CliJob | None:
        offered = self.selected()
        if offered is None or self.listing is None or self.job is not None:
            return None
        entry = offered.entry
        command = ["catalogue", "install", self.listing.catalogue.url, entry.id]
        if allow_unsigned:
            command.append("--allow-unsigned")
        self.job = CliJob(command, self.window.paths.data_dir,
                          f"Installing {entry.title} {entry.version}…", self)
        self.job.finished.connect(lambda ok, message: self._installed(entry.id, ok, message))
        self.status.setText(f"Downloading {entry.title} {entry.version}…")
        self._selection_changed()
        self.job.start()
        return self.job

    def _installed(self, pack_id: str, ok: bool, message: str) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self.status.setText(message)
        if ok:
            self.window.library.refresh()
            self.window._update_welcome()
            self.load(self.listing.catalogue.url if self.listing else None)
        elif "--allow-unsigned" in message:
            ask_to_allow_unsigned(self, message,
                                  lambda: self.install_selected(allow_unsigned=True))
        self._selection_changed()
        self.installed.emit(ok, message)
