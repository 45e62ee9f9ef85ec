"""Leaving cleanly: everything pydt-tray keeps about the user on this computer, removed on request.

``pydt-tray forget``, the settings window's "Forget me on this computer" button, the Windows uninstaller
and the Debian package's removal notice all come here. In order:

1. the PYDT webhook is put back if the relay replaced it (needs the token, so it comes first);
2. the token is deleted from the keyring (and the plain-file token, if one was chosen);
3. the start-at-login entry is removed and ``start_at_login`` set to false, so nothing recreates it;
4. the state, logs and cache are deleted.

``settings.toml`` is kept (no secrets in it; the message names it). Every step runs even when an earlier one
failed, and each reports what it did. No Qt here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydt_tray.core.paths import AppPaths

if TYPE_CHECKING:
    from pydt_tray.core.context import AppContext

log = logging.getLogger(__name__)


class TokenStoreLike(Protocol):
    def load(self) -> str | None: ...
    def delete(self) -> None: ...


class AutostartLike(Protocol):
    def disable(self) -> None: ...
    def describe(self) -> str: ...


# Given the token (or None), put back the webhook the relay set and say what was done; raises on failure.
WebhookRestorer = Callable[[str | None], str]


@dataclass(frozen=True)
class Outcome:
    """One step: what it was about, whether it worked, and a sentence for the user."""

    what: str
    ok: bool
    message: str


def remove_tree_except(folder: Path, keep: Iterable[Path] = ()) -> list[Path]:
    """Delete ``folder`` and everything in it except the paths in ``keep`` (and the folders leading to them).

    Symbolic links are removed, never followed. Returns what could not be removed (empty on success);
    a missing folder is fine.
    """
    folder = Path(folder)
    kept = [Path(k) for k in keep]
    if not folder.exists() and not folder.is_symlink():
        return []
    if folder in kept:
        return []
    if folder.is_symlink() or not folder.is_dir():
        try:
            folder.unlink()
        except OSError:
            return [folder]
        return []
    failed: list[Path] = []
    try:
        children = list(folder.iterdir())
    except OSError:
        return [folder]
    for child in children:
        failed += remove_tree_except(child, kept)
    if not any(folder in k.parents for k in kept):
        try:
            folder.rmdir()
        except OSError:
            failed.append(folder)
    return failed


class Forgetter:
    """The steps of forgetting, with narrow dependencies so each can be checked on its own."""

    def __init__(
        self,
        *,
        paths: AppPaths,
        token_store: TokenStoreLike,
        autostart: AutostartLike,
        turn_off_start_at_login: Callable[[], None] | None = None,
        restore_webhook: WebhookRestorer | None = None,
    ) -> None:
        self.paths = paths
        self.token_store = token_store
        self.autostart = autostart
        self.turn_off_start_at_login = turn_off_start_at_login
        # The relay hook: once the relay can replace the user's PYDT webhook, it passes the function that
        # puts the original back. None = nothing to restore.
        self.restore_webhook = restore_webhook

    def folders(self) -> list[Path]:
        """The folders whose contents go (the settings folder itself is kept)."""
        unique: list[Path] = []
        for folder in (self.paths.state_dir, self.paths.log_dir, self.paths.cache_dir):
            if folder not in unique:
                unique.append(folder)
        return unique

    def describe(self) -> list[str]:
        """What :meth:`forget_account` and :meth:`forget_files` remove, one line each, for the confirmation."""
        lines = []
        if self.restore_webhook is not None:
            lines.append("the webhook pydt-tray set on your PYDT profile (the previous one is put back)")
        lines += [
            "your PYDT tokens (every account) from the system keyring (and plain-file tokens, if you chose them)",
            f"the start-at-login entry ({self.autostart.describe()})",
        ]
        lines += [f"{folder}" for folder in self.folders()]
        return lines

    # --- the steps --------------------------------------------------------------------------------------

    def forget_account(self) -> list[Outcome]:
        """Webhook, token and start at login: what lives outside pydt-tray's own folders."""
        outcomes: list[Outcome] = []
        token: str | None = None
        if self.restore_webhook is not None:
            try:
                token = self.token_store.load()
            except Exception:  # a locked or missing keyring: the restorer decides what it can do without
                log.warning("Could not read the token to restore the webhook", exc_info=True)
            try:
                outcomes.append(Outcome("webhook", True, self.restore_webhook(token)))
            except Exception as error:  # keep going: the token and files still go
                log.warning("Could not restore the webhook", exc_info=True)
                outcomes.append(Outcome("webhook", False, f"the webhook could not be restored: {_text(error)}"))
        try:
            self.token_store.delete()
            outcomes.append(Outcome("token", True, "the token was removed from the keyring (every account's)"))
        except Exception as error:
            outcomes.append(Outcome("token", False, f"the token could not be removed: {_text(error)}"))
        try:
            self.autostart.disable()
            if self.turn_off_start_at_login is not None:
                self.turn_off_start_at_login()
            outcomes.append(Outcome("autostart", True, "pydt-tray no longer starts at login"))
        except Exception as error:
            outcomes.append(Outcome("autostart", False, f"the start-at-login entry stays: {_text(error)}"))
        return outcomes

    def forget_files(self) -> list[Outcome]:
        """State, logs and cache (stop logging to the log folder first)."""
        outcomes = []
        keep = [self.paths.config_dir]
        for folder in self.folders():
            failed = remove_tree_except(folder, keep)
            if failed:
                outcomes.append(Outcome("files", False, f"could not remove {', '.join(map(str, failed[:3]))}"))
            else:
                outcomes.append(Outcome("files", True, f"removed {folder}"))
        return outcomes


def _text(error: BaseException) -> str:
    return getattr(error, "user_message", "") or str(error) or type(error).__name__


def webhook_restorer(ctx: AppContext) -> WebhookRestorer | None:
    """THE hook for the relay: how to put back the PYDT webhook it replaced, or None when it set none.

    Both ``pydt-tray forget`` and the settings window's button use it (see ``core/relay_setup.py``).
    """
    from pydt_tray.core.relay_setup import relay_webhook_restorer

    return relay_webhook_restorer(ctx.paths.config_dir, ctx.make_client)


def forgetter_for(ctx: AppContext, autostart: AutostartLike) -> Forgetter:
    """The :class:`Forgetter` of an app context (settings, token store, paths) and its autostart backend."""

    from pydt_tray.core.accounts import EveryToken

    def turn_off_start_at_login() -> None:
        ctx.settings.set("start_at_login", False)
        ctx.settings.save()

    return Forgetter(
        paths=ctx.paths,
        token_store=EveryToken(ctx.account_book()),
        autostart=autostart,
        turn_off_start_at_login=turn_off_start_at_login,
        restore_webhook=webhook_restorer(ctx),
    )
