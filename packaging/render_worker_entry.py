"""The frozen build's render worker, a program of its own (``casebook-render``).

Every program PyInstaller builds runs the run-time hooks of what it bundles before its
first line, and the PySide6 hook imports QtCore: as ``casebook --render-worker`` the
worker paid ~90 ms for Qt it never uses, at every start and restart. Built from this
script, with PySide6 excluded, it loads PyMuPDF and nothing of Qt.
"""

from desktop_app.render.worker import main

main()
