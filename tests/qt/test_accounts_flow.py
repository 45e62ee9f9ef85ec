"""Adding and removing accounts from the desktop: the sign-in dialog's Add account and the settings window's
Accounts tab, with the real sessions against the simulator and an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from pydt_tray.core.accounts import AccountBook
from pydt_tray.core.context import load_context
from pydt_tray.core.credentials import SERVICE, USERNAME, TokenStore
from pydt_tray.core.poll_schedule import PollSchedule
from pydt_tray.desktop.accounts import Accounts
from pydt_tray.ui.account import AccountFlow
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker
from pydt_tray.ui.settings_window import SettingsWindow
from tests.helpers.memory_keyring import MemoryKeyring

WAIT_MS = 15_000
SECOND = "76561190000000009"


@pytest.fixture
def parts(qapp, simulator, world, tmp_path: Path) -> Iterator[tuple[Accounts, AccountFlow, MemoryKeyring]]:
    keyring = MemoryKeyring()

    def book() -> AccountBook:
        def store(username, plaintext, allow):
            return TokenStore(backend=keyring, username=username, plaintext_path=plaintext, allow_plaintext=allow)

        return AccountBook(tmp_path / "home" / "config", make_store=store)

    ctx = load_context({"PYDT_TRAY_HOME": str(tmp_path / "home"), "PYDT_API_URL": simulator.base_url})
    ctx.account_book = book  # type: ignore[method-assign]
    book().add(world.me, "Me Myself", world.token)
    worker, invoker = BackgroundWorker(), MainThreadInvoker()
    threads = {"run_in_background": worker.submit, "call_soon": invoker.call_soon}
    accounts = Accounts(ctx, PollSchedule(live_interval=lambda: 600), **threads)
    flow = AccountFlow(accounts, title="sign in", **threads)
    try:
        yield accounts, flow, keyring
    finally:
        accounts.close()
        flow.close()
        worker.shutdown()


def test_add_account_in_the_dialog_then_remove_one_in_the_settings_window(qtbot, parts, simulator, world) -> None:
    accounts, flow, keyring = parts
    assert accounts.resume(None)
    qtbot.waitUntil(lambda: accounts.snapshot() is not None, timeout=WAIT_MS)
    second_token = simulator.add_user(SECOND, "Second Me")

    flow.show()
    dialog = flow.dialog
    qtbot.addWidget(dialog)
    assert dialog.pages.currentWidget() is dialog.signed_in_page and "Me Myself" in dialog.signed_in_label.text()
    assert dialog.sign_out_button.text() == "Sign out"
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentWidget() is dialog.signed_out_page and dialog.windowTitle() == "Add a PYDT account"
    qtbot.keyClicks(dialog.token_edit, second_token)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.signed_in_page, timeout=WAIT_MS)
    assert keyring.entries[(SERVICE, f"{USERNAME}:{SECOND}")] == second_token
    assert keyring.entries[(SERVICE, f"{USERNAME}:{world.me}")] == world.token, "the first account stays"
    qtbot.waitUntil(lambda: all(s.snapshot() is not None for s in accounts.sessions), timeout=WAIT_MS)
    assert [s.steam_id for s in accounts.sessions] == [world.me, SECOND]
    assert "Me Myself" in dialog.signed_in_label.text() and "Second Me" in dialog.signed_in_label.text()
    assert dialog.sign_out_button.text() == "Sign out of every account"

    window = SettingsWindow(accounts.ctx.settings)
    qtbot.addWidget(window)
    flow.attach(window)
    section = flow.section
    assert section is not None and len(section.row_texts) == 2 and SECOND in section.row_texts[1]
    qtbot.mouseClick(section.remove_buttons[SECOND], Qt.MouseButton.LeftButton)
    assert [s.steam_id for s in accounts.sessions] == [world.me] and accounts.signed_in
    assert (SERVICE, f"{USERNAME}:{SECOND}") not in keyring.entries
    assert [a.steam_id for a in accounts.book.accounts()] == [world.me]
    assert len(section.row_texts) == 1 and world.me in section.row_texts[0]


@pytest.mark.expect_warning_logs  # the refused token is logged
def test_the_accounts_tab_follows_a_refused_token(qtbot, parts, simulator, world) -> None:
    accounts, flow, _keyring = parts
    assert accounts.resume(None)
    qtbot.waitUntil(lambda: accounts.snapshot() is not None, timeout=WAIT_MS)
    window = SettingsWindow(accounts.ctx.settings)
    qtbot.addWidget(window)
    flow.attach(window)
    section = flow.section
    assert section is not None and "polling" in section.row_texts[0]
    simulator.revoke_tokens(world.me)
    accounts.request("user refresh", full=True)
    qtbot.waitUntil(lambda: "token refused" in section.row_texts[0], timeout=WAIT_MS)
