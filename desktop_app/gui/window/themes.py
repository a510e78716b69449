"""Light, dark and high-contrast themes; "system" follows the desktop's colour scheme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = {"system": "Follow system", "light": "Light", "dark": "Dark",
          "high-contrast": "High contrast"}

_ROLES = QPalette.ColorRole
_PALETTES: dict[str, dict[QPalette.ColorRole, str]] = {
    "light": {
        _ROLES.Window: "#f3f3f3", _ROLES.WindowText: "#1b1b1b", _ROLES.Base: "#ffffff",
        _ROLES.AlternateBase: "#f0f0f0", _ROLES.Text: "#1b1b1b", _ROLES.Button: "#e9e9e9",
        _ROLES.ButtonText: "#1b1b1b", _ROLES.Highlight: "#1f5fbf",
        _ROLES.HighlightedText: "#ffffff", _ROLES.Link: "#1a4fa0", _ROLES.ToolTipBase: "#ffffdc",
        _ROLES.ToolTipText: "#1b1b1b", _ROLES.PlaceholderText: "#6b6b6b", _ROLES.Mid: "#c8c8c8",
    },
    "dark": {
        _ROLES.Window: "#262626", _ROLES.WindowText: "#e6e6e6", _ROLES.Base: "#1c1c1c",
        _ROLES.AlternateBase: "#2b2b2b", _ROLES.Text: "#e6e6e6", _ROLES.Button: "#333333",
        _ROLES.ButtonText: "#e6e6e6", _ROLES.Highlight: "#4a86e8",
        _ROLES.HighlightedText: "#ffffff", _ROLES.Link: "#8ab4f8", _ROLES.ToolTipBase: "#333333",
        _ROLES.ToolTipText: "#e6e6e6", _ROLES.PlaceholderText: "#9a9a9a", _ROLES.Mid: "#4a4a4a",
    },
    # Black on white is not enough for high contrast: yellow focus/selection on black
    # is the pattern Windows' own contrast themes use.
    "high-contrast": {
        _ROLES.Window: "#000000", _ROLES.WindowText: "#ffffff", _ROLES.Base: "#000000",
        _ROLES.AlternateBase: "#101010", _ROLES.Text: "#ffffff", _ROLES.Button: "#000000",
        _ROLES.ButtonText: "#ffffff", _ROLES.Highlight: "#ffff00",
        _ROLES.HighlightedText: "#000000", _ROLES.Link: "#00ffff", _ROLES.ToolTipBase: "#000000",
        _ROLES.ToolTipText: "#ffffff", _ROLES.PlaceholderText: "#c0c0c0", _ROLES.Mid: "#ffffff",
        # Fusion draws frames, scroll bar grooves and handles from these.
        _ROLES.Dark: "#ffffff", _ROLES.Light: "#ffffff", _ROLES.Shadow: "#ffffff",
        _ROLES.Midlight: "#ffffff",
    },
}
# A visible keyboard focus in every theme (WCAG 2.4.7), which Fusion draws faintly.
_FOCUS_CSS = {
    "light": "QAbstractItemView:focus, QLineEdit:focus, QAbstractScrollArea:focus "
             "{ border: 2px solid #1f5fbf; }",
    "dark": "QAbstractItemView:focus, QLineEdit:focus, QAbstractScrollArea:focus "
            "{ border: 2px solid #8ab4f8; }",
    "high-contrast": "QLineEdit { border: 1px solid #ffffff; padding: 2px; } "
                     "QScrollBar::handle { background: #ffffff; } "
                     "QAbstractItemView:focus, QLineEdit:focus, QAbstractScrollArea:focus, "
                     "QPushButton:focus, QToolButton:focus { border: 3px solid #ffff00; }",
}


def resolve_theme(name: str) -> str:
    """The concrete theme for a setting; "system" asks the platform."""
    if name in _PALETTES:
        return name
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, name: str) -> str:
    """Apply a theme to the whole application; returns the concrete theme applied."""
    concrete = resolve_theme(name)
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _PALETTES[concrete].items():
        palette.setColor(role, QColor(colour))
    disabled = QColor(_PALETTES[concrete][_ROLES.PlaceholderText])
    for role in (_ROLES.WindowText, _ROLES.Text, _ROLES.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    app.setStyleSheet(_FOCUS_CSS[concrete])
    app.setProperty("casebook_theme", concrete)
    return concrete
