"""The PDF reader: a render worker process, the service that talks to it, and the page view.

This package's ``__init__`` imports nothing, so the worker (``render_worker``) can be
started as ``python -m desktop_app.gui.pdf.render_worker`` without loading Qt.
"""
