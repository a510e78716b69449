"""The Qt binding itself: a release that corrupts reference counts must never ship."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Source(QObject):
    changed = Signal(int)
    relayed = Signal(int)

app = QCoreApplication([])
source = Source()
source.changed.connect(source.relayed.emit)
source.relayed.connect(lambda value: None)
before = sys.getrefcount(True)
for value in range(5000):
    source.changed.emit(value)
print(sys.getrefcount(True) - before)
"""


def test_emitting_signals_many_times_keeps_python_alive_and_balanced() -> None:
    # PySide6 6.12.0 loses a reference to True per emit: Python 3.11 aborts with
    # "bool_dealloc" after about a thousand. Scrolling a long PDF emits that often.
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=60, env={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-500:]
    assert abs(int(result.stdout.strip())) < 100
