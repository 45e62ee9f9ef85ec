"""Reading and clicking the tray menu the way a user does: by the text shown on its entries."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from pydt_tray.ui.tray import Tray


def shown_text(action_text: str) -> str:
    """What an entry shows: the menu doubles a literal "&" so it does not mark a shortcut."""
    return action_text.replace("&&", "&")


def _submenu(action: QAction) -> list[QAction]:
    menu = action.menu()
    return list(menu.actions()) if isinstance(menu, QMenu) else []


def menu_texts(tray: Tray) -> list[str]:
    """The menu as shown: top-level entries, each followed by its submenu's entries indented by two spaces."""
    texts: list[str] = []
    for action in tray.menu.actions():
        if action.isSeparator():
            continue
        texts.append(shown_text(action.text()))
        texts.extend("  " + shown_text(sub.text()) for sub in _submenu(action))
    return texts


def click(tray: Tray, text_prefix: str) -> bool:
    """Click the first enabled entry (submenus included) whose shown text starts with ``text_prefix``."""
    for action in tray.menu.actions():
        for candidate in [action, *_submenu(action)]:
            if shown_text(candidate.text()).startswith(text_prefix) and candidate.isEnabled():
                candidate.trigger()
                return True
    return False
