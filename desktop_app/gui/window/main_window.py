"""The main window: library sidebar, documents in tabs, find bar, library search, menus."""

from __future__ import annotations

import base64
import logging
import sqlite3
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app import __version__
from desktop_app.core.annotations.model import COLOURS, Annotation
from desktop_app.core.annotations.store import create_annotation, list_annotations
from desktop_app.core.errors import CasebookError
from desktop_app.core.inert_text import isolate
from desktop_app.core.library import active_document, list_packs
from desktop_app.core.search import SearchHit
from desktop_app.core.settings import get_setting, set_setting
from desktop_app.gui.community.community_actions import Community
from desktop_app.gui.errors import show_error
from desktop_app.gui.library.library_panel import LibraryPanel
from desktop_app.gui.library.pack_import import (
    AddDocument,
    CliJob,
    PackImport,
    ask_to_allow_unsigned,
)
from desktop_app.gui.library.pack_updates import PackUpdates
from desktop_app.gui.notes.notes_panel import NotesPanel, swatch
from desktop_app.gui.reader.document_tab import DocumentTab, FailedTab
from desktop_app.gui.reader.find_bar import FindBar
from desktop_app.gui.reader.outline_panel import OutlinePanel
from desktop_app.gui.reader.pdf.pdf_view import PdfView
from desktop_app.gui.reader.pdf.render_service import RenderService
from desktop_app.gui.search.search_panel import SearchPanel
from desktop_app.gui.window.session import SessionKeeper
from desktop_app.gui.window.shutdown import shutdown_requested
from desktop_app.gui.window.themes import THEMES, apply_theme
from desktop_app.paths import AppPaths

log = logging.getLogger(__name__)
STATE_KEY = "gui.window"

# A file larger than My documents accepts (core.my_documents.MAX_FILE_BYTES, not
# imported here: it brings python-markdown) is not shown from disk first.
MAX_PREVIEW_BYTES = 512 * 1024 * 1024
# Adding a file opened from disk waits at most this long for its first page to show.
FIRST_PAGE_WAIT_MS = 1000
EXTERNAL_SCHEMES = {"http", "https", "mailto"}
EMPTY_LIBRARY = ("Your library is empty.\n\nGet packs from a publisher's catalogue with File › "
                 "Get packs…, import a content pack with File › Import pack… (Ctrl+Shift+O), "
                 "open a PDF with File › Open… (Ctrl+O), or drop a file here.")
CHOOSE_DOCUMENT = ("Choose a document in the library to start reading.\n\n"
                   "Ctrl+Shift+F searches everything installed.")


class MainWindow(QMainWindow):
    def __init__(self, conn: sqlite3.Connection, paths: AppPaths,
                 render_service: RenderService | None = None) -> None:
        super().__init__()
        self.conn = conn
        self.paths = paths
        self.render_service = render_service or RenderService()
        self.render_service.setParent(self)
        self._imports: list[CliJob] = []
        self._theme = "system"
        self._reading_mode = False
        self._read_only = False
        self.setAcceptDrops(True)
        self.setMinimumSize(640, 420)

        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Open documents")
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._current_changed)
        self.welcome = QLabel(self)
        self.welcome.setTextFormat(Qt.TextFormat.PlainText)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.welcome.setAccessibleName("Welcome")
        self.find_bar = FindBar(self)
        self.find_bar.hide()
        self.find_bar.search_changed.connect(self._find)
        self.find_bar.next_requested.connect(lambda: self._with_tab(DocumentTab.find_next))
        self.find_bar.previous_requested.connect(
            lambda: self._with_tab(DocumentTab.find_previous))
        self.find_bar.closed.connect(self._find_closed)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs)
        layout.addWidget(self.welcome)
        layout.addWidget(self.find_bar)
        self.setCentralWidget(central)

        self.library = LibraryPanel(conn, self)
        self.library.document_activated.connect(self.open_document)
        self.library_dock = self._dock("Library", self.library,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.search_panel = SearchPanel(paths.store_file, self)
        self.search_panel.hit_activated.connect(self.open_hit)
        self.search_dock = self._dock("Search", self.search_panel,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.search_dock.hide()
        self.notes_panel = NotesPanel(conn, self)
        self.notes_panel.note_activated.connect(self.open_note)
        self.notes_panel.notes_changed.connect(self._show_annotations)
        self.notes_dock = self._dock("Notes", self.notes_panel,
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.notes_dock.hide()
        self._highlight_colour = "yellow"
        self.outline = OutlinePanel(self)
        self.outline.target_activated.connect(self._go_to_outline_target)
        self.outline_dock = self._dock("Contents", self.outline,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.community = Community(self)  # comments, sync, sign-in
        self.pack_updates = PackUpdates(self)
        self.get_packs: Any = None  # File › Get packs…, made when first opened
        self.community.worker.finished.connect(
            lambda _outcome: self.pack_updates.check(asked=False))
        self.comments_dock = self._dock("Comments", self.community.panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.comments_dock.hide()

        self.position_label = QLabel(self)
        self.position_label.setAccessibleName("Position in document")
        self.statusBar().addPermanentWidget(self.position_label)
        self.statusBar().addPermanentWidget(self.community.status)
        self._build_actions()
        self._update_welcome()
        self._update_title()
        self.session = SessionKeeper(self.save_state, self)
        self.session.failed.connect(lambda reason: self.statusBar().showMessage(
            f"Your open documents could not be saved: {reason}", 10_000))
        self.tabs.currentChanged.connect(self.session.changed)
        self.tabs.tabBar().tabMoved.connect(self.session.changed)
        for dock in (self.library_dock, self.search_dock, self.notes_dock, self.outline_dock,
                     self.comments_dock):
            dock.visibilityChanged.connect(self.session.changed)

    # --- construction -------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        dock.setAccessibleName(f"{title} panel")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts keep working in reading mode, menus hidden
        return action

    def _build_actions(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        self.open_action = self._action("&Open…", self.choose_file, QKeySequence.StandardKey.Open,
                                        "Open a PDF or Markdown file, or import a pack")
        self.import_action = self._action("&Import pack…", self.choose_pack, "Ctrl+Shift+O",
                                          "Install or update a content pack (.cbpack)")
        self.get_packs_action = self._action("&Get packs…", lambda: self.open_get_packs(), None,
                                             "See what a publisher's catalogue offers, and "
                                             "install from it")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.get_packs_action)
        file_menu.addSeparator()
        self.export_action = self._action("&Export notes…", self.export_notes, "Ctrl+E",
                                          "Export this document's or pack's notes")
        file_menu.addAction(self.export_action)
        file_menu.addAction(self._action("Im&port notes…", self.import_notes, None,
                                         "Import notes exported from Casebook (JSON)"))
        file_menu.addSeparator()
        self.sync_action = self._action("S&ync comments now", self.community.sync_now, "F9",
                                        "Send waiting comments and bring down the discussions")
        file_menu.addAction(self.sync_action)
        self.sign_in_action = self._action("Sign in to &community site…",
                                           lambda: self.community.open_sign_in())
        file_menu.addAction(self.sign_in_action)
        file_menu.addAction(self._action("Export my co&mments…", self.community.export_comments,
                                         None, "Save every comment you wrote as Markdown"))
        self.check_updates_action = self._action(
            "Check for pack &updates", lambda: self.pack_updates.check(asked=True), None,
            "Ask the publishers' catalogues for newer versions of the installed packs")
        self.install_updates_action = self._action(
            "Install pack updates…", self.pack_updates.install_offered, None,
            "Download and install the newer versions found")
        file_menu.addAction(self.check_updates_action)
        file_menu.addAction(self.install_updates_action)
        self.keys_action = self._action("Publisher &keys…", self.open_keys, None,
                                        "The publisher keys this library trusts")
        file_menu.addAction(self.keys_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Close tab", self.close_current_tab,
                                         QKeySequence.StandardKey.Close))
        file_menu.addAction(self._action("&Quit", self.close, _quit_keys()))

        edit = menus.addMenu("&Edit")
        self.find_action = self._action("&Find in document…", self.open_find,
                                        QKeySequence.StandardKey.Find)
        edit.addAction(self.find_action)
        edit.addAction(self._action("Find &next", lambda: self._with_tab(DocumentTab.find_next),
                                    QKeySequence.StandardKey.FindNext))
        edit.addAction(self._action("Find &previous",
                                    lambda: self._with_tab(DocumentTab.find_previous),
                                    QKeySequence.StandardKey.FindPrevious))
        self.search_action = self._action("&Search library…", self.open_library_search,
                                          "Ctrl+Shift+F")
        edit.addAction(self.search_action)
        edit.addSeparator()
        undo = self.notes_panel.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.notes_panel.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addActions([undo, redo])

        notes = menus.addMenu("&Notes")
        self.highlight_action = self._action(
            "&Highlight selection", lambda: self.highlight(), "Ctrl+Shift+H",
            "Highlight the selected text, or the current find result")
        self.note_action = self._action(
            "Highlight with &note…", lambda: self.highlight(with_note=True), "Ctrl+Shift+N",
            "Highlight the selected text (or the current find result) and write a note")
        notes.addActions([self.highlight_action, self.note_action])
        colours = notes.addMenu("Highlight &colour")
        self.colour_group = QActionGroup(self)
        for name in COLOURS:
            action = QAction(swatch(name), name.capitalize(), self, checkable=True)
            action.setChecked(name == self._highlight_colour)
            action.triggered.connect(
                lambda _checked, n=name: setattr(self, "_highlight_colour", n))
            self.colour_group.addAction(action)
            colours.addAction(action)
        notes.addSeparator()
        notes.addAction(self.notes_dock.toggleViewAction())
        self.notes_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Shift+M"))

        view = menus.addMenu("&View")
        self.zoom_in_action = self._action("Zoom &in", lambda: self._with_tab(DocumentTab.zoom_in),
                                           [QKeySequence.StandardKey.ZoomIn,
                                            QKeySequence("Ctrl+=")])
        self.zoom_out_action = self._action("Zoom &out",
                                            lambda: self._with_tab(DocumentTab.zoom_out),
                                            QKeySequence.StandardKey.ZoomOut)
        view.addAction(self.zoom_in_action)
        view.addAction(self.zoom_out_action)
        view.addAction(self._action("Fit &width / normal size",
                                    lambda: self._with_tab(DocumentTab.zoom_reset), "Ctrl+0"))
        view.addAction(self._action("Fit &page", lambda: self._with_tab(DocumentTab.fit_page),
                                    "Ctrl+9"))
        view.addSeparator()
        view.addAction(self.library_dock.toggleViewAction())
        self.library_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Shift+L"))
        view.addAction(self.search_dock.toggleViewAction())
        view.addAction(self.outline_dock.toggleViewAction())
        self.outline_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Shift+C"))
        view.addAction(self.comments_dock.toggleViewAction())
        self.comments_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.reading_action = self._action("&Reading mode", self.toggle_reading_mode, "F11",
                                           "Hide everything but the document (F11 or Esc)")
        self.reading_action.setCheckable(True)
        view.addAction(self.reading_action)
        themes = view.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        for key, label in THEMES.items():
            action = QAction(label, self, checkable=True)
            action.setData(key)
            action.triggered.connect(lambda _checked, k=key: self.set_theme(k))
            self.theme_group.addAction(action)
            themes.addAction(action)

        go = menus.addMenu("&Go")
        go.addAction(self._action("Go to &page…", self.ask_page, "Ctrl+G"))
        go.addAction(self._action("Next &tab", lambda: self._step_tab(1),
                                  QKeySequence.StandardKey.NextChild))
        go.addAction(self._action("Previous t&ab", lambda: self._step_tab(-1),
                                  QKeySequence.StandardKey.PreviousChild))
        go.addAction(self._action("&Library", self.focus_library, "Ctrl+L"))

        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self._action("&About Casebook", self.about))

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.setAccessibleName("Main toolbar")
        for action in (self.import_action, self.zoom_out_action, self.zoom_in_action,
                       self.find_action, self.search_action, self.highlight_action,
                       self.note_action, self.reading_action):
            toolbar.addAction(action)
        self.toolbar = toolbar

    # --- documents ----------------------------------------------------------------------
    def tab_at(self, index: int) -> DocumentTab | FailedTab | None:
        widget = self.tabs.widget(index)
        return widget if isinstance(widget, DocumentTab | FailedTab) else None

    def current_tab(self) -> DocumentTab | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, DocumentTab) else None

    def _with_tab(self, method: Any) -> None:
        tab = self.current_tab()
        if tab is not None:
            method(tab)

    def open_document(self, pack_id: str, doc_id: str) -> DocumentTab | None:
        """Open (or switch to) a document of an installed pack."""
        for index in range(self.tabs.count()):
            tab = self.tab_at(index)
            if isinstance(tab, DocumentTab) and (tab.record.pack_id, tab.record.doc_id) == (
                    pack_id, doc_id):
                self.tabs.setCurrentIndex(index)
                return tab
        try:
            record = active_document(self.conn, pack_id, doc_id)
            tab: DocumentTab | FailedTab = DocumentTab(record, self.conn, self.render_service,
                                                       self)
        except CasebookError as exc:
            show_error(self, exc)
            return None
        except Exception as exc:  # a document that fails shows a message, not a crash
            log.exception("Opening %s/%s failed", pack_id, doc_id)
            tab = FailedTab(doc_id, str(exc), self)
        if isinstance(tab, DocumentTab):
            tab.show_annotations(list_annotations(self.conn, pack_id=pack_id, doc_id=doc_id))
        return self._add_tab(tab)

    def _add_tab(self, tab: DocumentTab | FailedTab) -> DocumentTab | None:
        if isinstance(tab, DocumentTab):
            tab.position_changed.connect(self._update_position)
            tab.position_changed.connect(self.session.changed)
            tab.outline_changed.connect(lambda t=tab: self._update_outline(t))
            tab.annotation_clicked.connect(self._annotation_clicked)
            tab.find_counted.connect(lambda total: self.find_bar.show_count(0, total))
            tab.external_link_clicked.connect(self.open_external_link)
            tab.document_link_clicked.connect(
                lambda target, t=tab: self._open_linked(t.record.pack_id, target))
        index = self.tabs.addTab(tab, isolate(_short(tab.title)))
        self.tabs.setTabToolTip(index, isolate(tab.title))
        self.tabs.setCurrentIndex(index)
        self._update_welcome()
        return tab if isinstance(tab, DocumentTab) else None

    def _open_linked(self, pack_id: str, target: str) -> None:
        doc_id = Path(target.split("#", 1)[0]).stem
        if doc_id:
            self.open_document(pack_id, doc_id)

    def open_hit(self, hit: SearchHit) -> None:
        tab = self.open_document(hit.pack_id, hit.doc_id)
        if tab is not None:
            words = [hit.snippet[start:end] for start, end in hit.highlights]
            tab.go_to(hit.unit, hit.anchor, list(dict.fromkeys(words)))
            tab.setFocus()

    def close_tab(self, index: int) -> None:
        self.session.changed()
        widget = self.tabs.widget(index)
        self.tabs.removeTab(index)
        if widget is not None:
            widget.deleteLater()
        self._update_welcome()

    def close_current_tab(self) -> None:
        if self.tabs.count():
            self.close_tab(self.tabs.currentIndex())

    def _step_tab(self, step: int) -> None:
        if self.tabs.count():
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    def _update_outline(self, changed: DocumentTab | None = None) -> None:
        tab = self.current_tab()
        if changed is not None and changed is not tab:
            return
        self.outline.show_entries(tab.outline_entries() if tab else [])

    def _go_to_outline_target(self, target: tuple | None) -> None:
        tab = self.current_tab()
        if tab is not None and target:
            tab.go_to_target(target)

    def _current_changed(self, _index: int) -> None:
        tab = self.current_tab()
        stored = tab if tab is not None and not tab.pending else None
        self.notes_panel.set_context(stored.record.pack_id if stored else None,
                                     stored.record.doc_id if stored else None)
        self.community.set_document(stored)
        self._update_outline()
        self._update_title()
        self._update_position()
        if self.find_bar.isVisible() and self.find_bar.field.text():
            self._find(self.find_bar.field.text())

    def _update_title(self) -> None:
        tab = self.tab_at(self.tabs.currentIndex())
        self.setWindowTitle(f"{isolate(tab.title)} — Casebook" if tab else "Casebook")

    def _update_position(self) -> None:
        tab = self.current_tab()
        self.position_label.setText(tab.position_text() if tab else "")

    def _update_welcome(self) -> None:
        has_tabs = self.tabs.count() > 0
        self.tabs.setVisible(has_tabs)
        self.welcome.setVisible(not has_tabs)
        if not has_tabs:
            empty = self.library.topLevelItemCount() == 0
            self.welcome.setText(EMPTY_LIBRARY if empty else CHOOSE_DOCUMENT)

    def ask_page(self) -> None:
        tab = self.current_tab()
        if tab is None or not tab.record.is_pdf:
            return
        page, ok = QInputDialog.getInt(self, "Go to page", "Page number:",
                                       tab.view.current_page() + 1, 1,
                                       max(tab.view.page_count(), 1))
        if ok:
            tab.go_to_page(page - 1)

    # --- the reader's highlights and notes -----------------------------------------------
    def highlight(self, with_note: bool = False) -> Annotation | None:
        tab = self.current_tab()
        if tab is None:
            return None
        if tab.pending:
            self.statusBar().showMessage(
                "This file is still being added to My documents; highlights and notes "
                "can be made in a moment.", 6000)
            return None
        span = tab.selected_span()
        if span is None:
            self.statusBar().showMessage(
                "Select some text first (or find it with Ctrl+F), then highlight it.", 6000)
            return None
        body = ""
        if with_note:
            body, ok = QInputDialog.getMultiLineText(self, "New note", "Your note:")
            if not ok:
                return None
        try:
            note = create_annotation(self.conn, tab.record, *span, body=body,
                                     colour=self._highlight_colour)
        except CasebookError as exc:
            show_error(self, exc)
            return None
        self.notes_panel.record_created(note)
        self.statusBar().showMessage(f"Highlighted “{note.quote[:60]}”.", 6000)
        return note

    def _show_annotations(self) -> None:
        for index in range(self.tabs.count()):
            tab = self.tab_at(index)
            if isinstance(tab, DocumentTab) and not tab.pending:
                tab.show_annotations(list_annotations(
                    self.conn, pack_id=tab.record.pack_id, doc_id=tab.record.doc_id))

    def show_read_only(self, reason: str) -> None:
        """Reading works; everything that would change the library is switched off."""
        self._read_only = True
        label = QLabel(f"Read-only library ({reason}): notes and packs cannot be changed.", self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setAccessibleName("Read-only library")
        self.statusBar().addWidget(label)
        for action in (self.open_action, self.import_action, self.highlight_action,
                       self.note_action, self.sync_action, self.sign_in_action,
                       self.check_updates_action, self.install_updates_action):
            action.setEnabled(False)
        self.notes_panel.setEnabled(False)
        self.community.set_read_only(reason)

    def export_notes(self) -> None:
        tab = self.current_tab()
        if tab is None or tab.pending:
            self.statusBar().showMessage("Open a document to export its notes.", 6000)
            return
        pack = next((info for info in list_packs(self.conn)
                     if info.pack_id == tab.record.pack_id), None)
        from desktop_app.gui.notes.notes_io import export_from_window  # the exporters: on first use

        try:
            message = export_from_window(self, self.conn, tab.record.pack_id, tab.record.doc_id,
                                         tab.title, pack.title if pack else tab.record.pack_id,
                                         self.notes_panel.current_uuid())
        except CasebookError as exc:
            show_error(self, exc, "Notes not exported")
            return
        if message:
            self.statusBar().showMessage(message, 10000)

    def import_notes(self) -> None:
        from desktop_app.gui.notes.notes_io import describe_import, import_from_window

        try:
            report = import_from_window(self, self.conn)
        except CasebookError as exc:
            show_error(self, exc, "Notes not imported")
            return
        if report is not None:
            self.notes_panel.refresh()
            self._show_annotations()
            self.statusBar().showMessage(describe_import(report), 15000)

    def _annotation_clicked(self, uuid: str) -> None:
        self.notes_dock.show()
        self.notes_panel.select_note(uuid)

    def open_note(self, note: Annotation) -> None:
        tab = self.open_document(note.pack_id, note.doc_id)
        if tab is not None:
            tab.go_to_note(note)

    # --- find and search ----------------------------------------------------------------
    def open_find(self) -> None:
        if self.current_tab() is not None:
            self.find_bar.open()

    def _find(self, text: str) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.find(text)

    def _find_closed(self) -> None:
        self._find("")
        tab = self.current_tab()
        if tab is not None:
            tab.setFocus()

    def open_library_search(self) -> None:
        self.search_dock.show()
        self.search_dock.raise_()
        self.search_panel.focus_search()

    def focus_library(self) -> None:
        self.library_dock.show()
        self.library.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # --- packs --------------------------------------------------------------------------
    def choose_pack(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self, "Import pack", str(Path.home()), "Casebook packs (*.cbpack);;All files (*)")
        if name:
            self.import_pack(Path(name))

    def choose_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self, "Open", str(Path.home()),
            "Documents and packs (*.pdf *.md *.markdown *.cbpack *.cbcat);;All files (*)")
        if name:
            self.open_path(Path(name))

    def open_path(self, path: Path, *, view_key: str | None = None) -> CliJob:
        """A pack is imported; a PDF or Markdown file joins My documents and opens.

        ``view_key``: the render service's key under which this PDF was opened already
        (at start-up, before the window was built).
        """
        if path.suffix.lower() == ".cbpack":
            return self.import_pack(path)
        if path.suffix.lower() == ".cbcat":  # a publisher's catalogue link
            return self.open_get_packs(path)
        preview = self._preview(path, view_key) if path.suffix.lower() == ".pdf" else None
        job = AddDocument(path, self.paths.data_dir, self, preview=preview)
        shown = preview.view if preview is not None and isinstance(preview.view, PdfView) else None
        return self._start(job, f"Adding {path.name} to My documents…", after_first_page=shown)

    def _preview(self, path: Path, view_key: str | None) -> DocumentTab | None:
        """Show a PDF from its file at once; adding it to the library (text extraction
        and indexing: seconds for a long manual) goes on behind it."""
        try:
            if path.stat().st_size > MAX_PREVIEW_BYTES:
                return None  # My documents refuses it: the job says so, nothing is read
        except OSError:
            return None  # the job says what is wrong with the file
        return self._add_tab(DocumentTab.from_file(path, self.conn, self.render_service, self,
                                                   view_key=view_key))

    def _adopt_preview(self, job: AddDocument) -> bool:
        """The added file's preview tab becomes the library's document (not opened twice)."""
        tab = job.preview
        index = self.tabs.indexOf(tab) if tab is not None else -1
        if index < 0:
            return False
        pack, doc = job.done_event["pack"], job.done_event["doc"]
        for other in range(self.tabs.count()):  # it was in My documents, and open, already
            open_tab = self.tab_at(other)
            if isinstance(open_tab, DocumentTab) and not open_tab.pending and (
                    open_tab.record.pack_id, open_tab.record.doc_id) == (pack, doc):
                self.close_tab(index)
                self.tabs.setCurrentIndex(self.tabs.indexOf(open_tab))
                return True
        tab.adopt(active_document(self.conn, pack, doc))
        tab.show_annotations(list_annotations(self.conn, pack_id=pack, doc_id=doc))
        self.tabs.setTabText(index, isolate(_short(tab.title)))
        self.tabs.setTabToolTip(index, isolate(tab.title))
        if index == self.tabs.currentIndex():
            self._current_changed(index)
        return True

    def open_get_packs(self, link_file: Path | None = None) -> Any:
        """File › Get packs… (gui/get_packs_dialog.py), one dialog kept for the session."""
        from desktop_app.gui.library.get_packs_dialog import GetPacksDialog

        if self.get_packs is None:
            self.get_packs = GetPacksDialog(self)
        self.get_packs.show()
        self.get_packs.raise_()
        if link_file is not None:
            self.get_packs.open_link_file(link_file)
        return self.get_packs

    def open_keys(self) -> Any:
        from desktop_app.gui.library.keys_dialog import KeysDialog

        dialog = KeysDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.keys_dialog = dialog
        return dialog

    def import_pack(self, path: Path, allow_unsigned: bool = False) -> PackImport:
        return self._start(PackImport(path, self.paths.data_dir, self, allow_unsigned),
                           f"Importing {path.name}…")

    def _start(self, job: CliJob, status: str, after_first_page: PdfView | None = None) -> Any:
        """Run ``job``; with ``after_first_page``, once that view has drawn its first page
        (or after FIRST_PAGE_WAIT_MS): the job is another Python process, and starting
        it while the page is still being drawn takes CPU from both."""
        self._imports.append(job)
        job.finished.connect(lambda ok, message: self._job_finished(job, ok, message))
        self.statusBar().showMessage(status)
        if after_first_page is None:
            job.start()
            return job
        waiting = [True]

        def start() -> None:
            if waiting[0]:
                waiting[0] = False
                job.start()

        # A zero timer from the signal: it runs once the page's paint is done.
        after_first_page.page_shown.connect(lambda: QTimer.singleShot(0, job, start))
        QTimer.singleShot(FIRST_PAGE_WAIT_MS, job, start)
        return job

    def _job_finished(self, job: CliJob, ok: bool, message: str) -> None:
        self._imports.remove(job)
        job.deleteLater()
        if ok:
            self.library.refresh()
            self._update_welcome()
            self.statusBar().showMessage(message, 8000)
            if isinstance(job, AddDocument) and not self._adopt_preview(job):
                self.open_document(job.done_event["pack"], job.done_event["doc"])
            return
        if isinstance(job, AddDocument):
            if job.preview is not None and self.tabs.indexOf(job.preview) >= 0:
                self.close_tab(self.tabs.indexOf(job.preview))
            show_error(self, message, "Document not opened")
            return
        self.statusBar().showMessage("The pack was not installed.", 8000)
        if "--allow-unsigned" in message:
            ask_to_allow_unsigned(
                self, message, lambda: self.import_pack(job.pack, allow_unsigned=True))
        else:
            show_error(self, message, "Pack not installed")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(_droppable(url.toLocalFile()) for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if _droppable(url.toLocalFile()):
                self.open_path(Path(url.toLocalFile()))

    # --- links --------------------------------------------------------------------------
    def open_external_link(self, url: QUrl) -> None:
        """Only ever after the user's click, and only for web and mail links."""
        if url.scheme().lower() in EXTERNAL_SCHEMES:
            QDesktopServices.openUrl(url)
        else:
            self.statusBar().showMessage(f"Casebook does not open {url.scheme()}: links.", 6000)

    # --- comfort ------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = name
        if hasattr(self, "session"):
            self.session.changed()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        for action in self.theme_group.actions():
            action.setChecked(action.data() == name)

    def toggle_reading_mode(self) -> None:
        self._reading_mode = not self._reading_mode
        self.reading_action.setChecked(self._reading_mode)
        for bar in (self.menuBar(), self.toolbar, self.statusBar()):
            bar.setVisible(not self._reading_mode)
        self.tabs.tabBar().setVisible(not self._reading_mode)
        if self._reading_mode:
            self._docks_before = [d for d in (self.library_dock, self.search_dock,
                                              self.outline_dock, self.notes_dock,
                                              self.comments_dock)
                                  if d.isVisible()]
            for dock in self._docks_before:
                dock.hide()
            self.showFullScreen()
        else:
            for dock in getattr(self, "_docks_before", []):
                dock.show()
            self.showNormal()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self._reading_mode:
            self.toggle_reading_mode()
            return
        super().keyPressEvent(event)

    def about(self) -> None:
        QMessageBox.about(self, "About Casebook",
                          f"Casebook {__version__}\nRead and annotate guidance and case "
                          f"studies offline.\n\nLibrary: {self.paths.data_dir}")

    # --- remembered state ---------------------------------------------------------------
    def save_state(self) -> None:
        tabs = []
        for index in range(self.tabs.count()):
            tab = self.tab_at(index)
            if isinstance(tab, DocumentTab) and not tab.pending:
                tabs.append({"pack": tab.record.pack_id, "doc": tab.record.doc_id,
                             "state": tab.view_state()})
        set_setting(self.conn, STATE_KEY, {
            "geometry": _b64(self.saveGeometry()),
            "window_state": _b64(self.saveState()),
            "theme": self._theme,
            "tabs": tabs,
            "current": self.tabs.currentIndex(),
        })

    def restore_state(self) -> None:
        self.session.enabled = False  # restoring is not a change to save half-way
        try:
            self._restore_state()
        finally:
            self.session.enabled = not self._read_only

    def _restore_state(self) -> None:
        state = get_setting(self.conn, STATE_KEY, {}) or {}
        self.set_theme(state.get("theme", "system"))
        if state.get("geometry"):
            self.restoreGeometry(QByteArray(base64.b64decode(state["geometry"])))
        else:
            self.resize(1200, 800)
            self.resizeDocks([self.library_dock], [300], Qt.Orientation.Horizontal)
        if state.get("window_state"):
            self.restoreState(QByteArray(base64.b64decode(state["window_state"])))
        for saved in state.get("tabs", []):
            tab = self.open_document(saved["pack"], saved["doc"])
            if tab is not None and saved.get("state"):
                tab.restore_state(saved["state"])
        current = state.get("current", -1)
        if 0 <= current < self.tabs.count():
            self.tabs.setCurrentIndex(current)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._reading_mode:
            self.toggle_reading_mode()
        # Child processes first: one installing a pack holds the library's write lock,
        # and the session's save would wait for it, then fail.
        for job in list(self._imports):
            job.cancel()
        if not self._read_only and not self.session.save_now() and not self._close_anyway():
            event.ignore()
            return
        self.session.enabled = False
        self.community.close()
        self.render_service.close()
        super().closeEvent(event)


    def _close_anyway(self) -> bool:
        """The session could not be saved: say so, and let the reader decide. A close
        without a screen to ask on (a logout) goes ahead; the failure is in the log."""
        if not self.isVisible() or shutdown_requested(self):
            return True
        answer = QMessageBox.warning(
            self, "Casebook",
            f"Your open documents and reading places could not be saved "
            f"({self.session.last_error}).\n\nClose anyway? They will not come back at the "
            "next start.",
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Close


def _quit_keys() -> list[QKeySequence]:
    """The platform's Quit key has no binding on Windows (nor on Qt's offscreen
    platform); the README promises Ctrl+Q everywhere."""
    keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
    ctrl_q = QKeySequence("Ctrl+Q")
    return [*keys, ctrl_q] if ctrl_q not in keys else list(keys)


def _short(title: str, limit: int = 42) -> str:
    """Tab text: long case-study titles would push the other tabs out of sight."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _droppable(path: str) -> bool:
    return Path(path).suffix.lower() in (".cbpack", ".cbcat", ".pdf", ".md", ".markdown")


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")
