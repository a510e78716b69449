"""Can Qt open a window here? Asked of a child process, because a Qt that cannot load
its platform plugin aborts the whole process (qFatal), and then says "xcb" when the
missing piece is a library such as libxcb-icccm4.

Used by ``casebook demo``: a first run must show something, so on failure it falls
back to the text view and names what to install.
"""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

# The libraries PySide6's X11 plugin (libqxcb.so) links that Debian/Ubuntu do not
# always install, as (library, Debian package); from `ldd` of the plugin.
X11_LIBRARIES = (
    ("xcb-cursor", "libxcb-cursor0"), ("xcb-icccm", "libxcb-icccm4"),
    ("xcb-keysyms", "libxcb-keysyms1"), ("xcb-image", "libxcb-image0"),
    ("xcb-render-util", "libxcb-render-util0"), ("xcb-shape", "libxcb-shape0"),
    ("xcb-randr", "libxcb-randr0"), ("xcb-xkb", "libxcb-xkb1"),
    ("xkbcommon-x11", "libxkbcommon-x11-0"), ("xkbcommon", "libxkbcommon0"),
    ("X11-xcb", "libx11-xcb1"), ("EGL", "libegl1"), ("GL", "libgl1"),
    ("fontconfig", "libfontconfig1"), ("dbus-1", "libdbus-1-3"),
)
_PROBE = "from PySide6.QtWidgets import QApplication; QApplication(['casebook-probe'])"


def qt_problem() -> str | None:
    """None if Qt starts here; otherwise what to tell the user, in one paragraph."""
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True,
                               text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Qt could not be started to check the screen ({exc})."
    if probe.returncode == 0:
        return None
    missing = missing_packages()
    if missing:
        return ("The window cannot start: Qt needs system libraries that are not "
                f"installed. On Debian or Ubuntu: sudo apt-get install {' '.join(missing)}")
    last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
    return f"The window cannot start here (Qt said: {last[:300]})."


def missing_packages() -> list[str]:
    """Debian packages of the libraries Qt's X11 plugin needs that cannot be found."""
    if not sys.platform.startswith("linux"):
        return []
    return [package for library, package in X11_LIBRARIES
            if ctypes.util.find_library(library) is None]
