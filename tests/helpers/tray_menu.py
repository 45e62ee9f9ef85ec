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
    """The menu as shown: each entry followed by its submenu's entries, indented two spaces per level."""
    texts: list[str] = []

    def walk(actions: list[QAction], indent: str) -> None:
        for action in actions:
            if action.isSeparator():
                continue
            texts.append(indent + shown_text(action.text()))
            walk(_submenu(action), indent + "  ")

    walk(list(tray.menu.actions()), "")
    return texts


def click(tray: Tray, text_prefix: str) -> bool:
    """Click the first enabled entry (in submenus too; not one that only opens a submenu) whose shown text
    starts with ``text_prefix``."""

    def walk(actions: list[QAction]) -> bool:
        for action in actions:
            submenu = _submenu(action)
            if not submenu and shown_text(action.text()).startswith(text_prefix) and action.isEnabled():
                action.trigger()
                return True
            if submenu and walk(submenu):
                return True
        return False

    return walk(list(tray.menu.actions()))
