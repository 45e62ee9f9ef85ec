"""Qt values a hidden tray app needs without touching ``PySide6.QtCore.Qt``.

The first use of any enum of Qt's namespace (named, or returned by a call) makes PySide6 build every enum of
that namespace as Python classes: about 1 MB that stays for the life of the process. The start-up path uses
these instead; windows and painting, built only when needed, use the namespace freely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

# Qt::QueuedConnection: the slot runs later on the receiver's thread, even when emitted on that thread.
QUEUED_CONNECTION = cast("Qt.ConnectionType", 2)
