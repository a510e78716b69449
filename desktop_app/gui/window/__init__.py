"""The main window: its assembly, menus, session, themes and shutdown."""
