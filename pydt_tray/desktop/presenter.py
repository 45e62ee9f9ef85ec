"""From state to screen: the tray, the games window and the status line, rendered from the session's latest
snapshot and the push state. This is where the push state and the problems are put into words."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import SignalInstance

from pydt_tray.core.account_view import MergedSnapshot, account_name_of, sign_out_text
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.push_state import PushMode, PushPath, PushState
from pydt_tray.ui.icons import TrayStatus
from pydt_tray.ui.tray import Tray, TrayModel

if TYPE_CHECKING:
    from pydt_tray.ui.games_window import GamesWindow

log = logging.getLogger(__name__)

PATH_NAMES = {PushPath.IOT: "AWS IoT", PushPath.RELAY: "relay"}
HOW_TO_TURN_ON = "turn it on in Settings → Real-time push"
SMACK_NOTE = "new smack talk"


class SessionView(Protocol):
    @property
    def signed_in(self) -> bool: ...

    @property
    def last_error(self) -> str: ...

    @property
    def auth_failed(self) -> bool: ...

    def snapshot(self) -> Snapshot | None: ...

    def name_of(self, steam_id: str) -> str | None: ...

    def request(self, reason: str, *, full: bool = False) -> None: ...  # ask for a load (the window's Refresh)


class DailyView(Protocol):
    """What the everyday controls add to the tray and the window (``pydt_tray.desktop.daily.DailyController``)."""

    def tray_actions(self) -> tuple[tuple[str, str], ...]: ...

    def game_actions(self, game: Game) -> tuple[tuple[str, str], ...]: ...

    def status_lines(self) -> list[str]: ...

    def game_note(self, game: Game, steam_id: str, *, countdown: bool = True) -> str: ...


class SmackView(Protocol):
    """Unread smack talk (``pydt_tray.desktop.smack.SmackTalk``): marks and entries for the tray and window; its
    ``changed`` signal re-renders, its ``handle`` carries out the entries' keys."""

    changed: SignalInstance

    def handle(self, key: str) -> bool: ...

    def unread_ids(self) -> frozenset[str]: ...

    def game_actions(self, game: Game) -> tuple[tuple[str, str], ...]: ...

    def tray_actions(self) -> tuple[tuple[str, str], ...]: ...


def every(seconds: int) -> str:
    """An interval in plain words: 90 s, 5 min, 1 h 30 min."""
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


def push_wording(state: PushState, poll_seconds: int | None = None) -> str:
    """The push part of the status line: "Live (AWS IoT)", "Live (relay)", or how often we check instead
    ("Checking every 90 s: live push is off (turn it on in Settings → Real-time push)")."""
    mode = state.mode
    if mode is PushMode.LIVE:
        return "Live (" + " + ".join(PATH_NAMES[path] for path in state.live_paths) + ")"
    checking = f"Checking every {every(poll_seconds)}" if poll_seconds else "Checking now and then"
    if mode is PushMode.CONNECTING:
        return f"{checking}: live push connecting…"
    if mode is PushMode.RECONNECTING:
        return f"{checking}: live push reconnecting…"  # not an error: the link retries within seconds
    if mode is PushMode.FAILED:
        return f"{checking}: live push off: {state.reason}"
    return f"{checking}: live push is off ({HOW_TO_TURN_ON})"


def turns_wording(snapshot: Snapshot | None) -> str:
    if snapshot is None:
        return "loading games…"
    count = len(snapshot.my_turns())
    return f"{count} turn{'s' if count != 1 else ''} waiting" if count else "no turns waiting"


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the user's web browser; False when there is none to open."""
    import webbrowser  # only when a link is opened: a resident app does not keep it loaded

    try:
        return webbrowser.open(url)
    except webbrowser.Error as error:
        log.info("Opening a web browser failed: %s", error)
        return False


class Presenter:
    """Renders on demand (``render()``); builds the games window on first use only."""

    def __init__(
        self,
        tray: Tray,
        session: SessionView,
        push_state: Callable[[], PushState],
        problems: Callable[[], Sequence[str]],
        autostart_entry: Callable[[], tuple[str, bool]],
        window_title: Callable[[str], str],
        *,
        title_suffix: str = "",
        poll_seconds: Callable[[], int] | None = None,
        on_window_built: Callable[[GamesWindow], None] = lambda _window: None,
        daily: DailyView | None = None,
        smack: SmackView | None = None,
    ) -> None:
        self.tray = tray
        self.session = session
        self._push_state = push_state
        self._problems = problems
        self._autostart_entry = autostart_entry  # the menu text and whether the entry can be used
        self._window_title = window_title
        self.title_suffix = title_suffix
        self._poll_seconds = poll_seconds or (lambda: 0)
        self._on_window_built = on_window_built
        self.daily = daily
        self.smack = smack
        if smack is not None:
            smack.changed.connect(self.render)
            tray.action_requested.connect(smack.handle)
        self._window: GamesWindow | None = None
        self.closed = False

    @property
    def window(self) -> GamesWindow:
        if self._window is None:
            from pydt_tray.ui.games_window import GamesWindow  # only when first shown: a hidden app stays light

            self._window = GamesWindow(self._window_title("games"))
            daily = self.daily
            if daily is not None:
                self._window.game_note = lambda game: daily.game_note(game, self._steam_id(game), countdown=False)
                self._window.game_actions = daily.game_actions
            if self.smack is not None:
                self._window.game_smack = self.smack.game_actions
                self._window.action_requested.connect(self.smack.handle)
            self._window.refresh_requested.connect(lambda: self.session.request("user refresh", full=True))
            self._window.open_game.connect(self.open_game_page)
            self._on_window_built(self._window)
            self._window.update_view(
                self.session.snapshot(), self.status_text(), self.session.name_of, error=self.session.last_error
            )
        return self._window

    def _steam_id(self, game: Game) -> str:
        """The account ``game`` is seen by: with several accounts, the one whose turn it is."""
        snapshot = self.session.snapshot()
        if isinstance(snapshot, MergedSnapshot) and (owner := snapshot.owner_of(game.game_id)) is not None:
            return owner.steam_id
        return snapshot.steam_id if snapshot is not None else ""

    def close(self) -> None:
        """Quitting: close the window and hide the tray icon."""
        self.closed = True
        if self._window is not None:
            self._window.close()
        self.tray.hide()

    def status_text(self) -> str:
        session = self.session
        if not session.signed_in:
            return "signed out — " + session.last_error if session.last_error else "signed out"
        snapshot = session.snapshot()
        games = "games not loaded" if snapshot is None and session.last_error else turns_wording(snapshot)
        text = f"{games} · {self.connection_text()}"
        for line in self.daily.status_lines() if self.daily is not None else ():
            text += f" · {line}"
        for problem in (session.last_error, *self._problems()):
            if problem:
                text += f" · {problem}"
        return text

    def connection_text(self) -> str:
        return push_wording(self._push_state(), self._poll_seconds())

    def show_games(self) -> None:
        log.info("Showing the game list")
        self.window.bring_to_front()

    def open_game_page(self, game_id: str) -> None:
        """The game's page on the website, if the game is still in the list."""
        snapshot = self.session.snapshot()
        game = snapshot.by_id().get(game_id) if snapshot else None
        if game is None:
            log.info("Game %s is not in the game list any more", game_id)
            return
        self.open_page(game.web_url)

    def open_page(self, url: str) -> None:
        """Open ``url`` in the web browser; without one, say so in the window, with the address to copy."""
        if open_in_browser(url):
            return
        log.warning("No web browser could be opened for %s", url)
        self.window.show_notice(f"No web browser could be opened. The game's page is {url}")
        self.window.bring_to_front()

    def tray_status(self) -> TrayStatus:
        session = self.session
        snapshot = session.snapshot()
        if not session.signed_in:
            return TrayStatus.ERROR if session.auth_failed else TrayStatus.SIGNED_OUT
        if session.last_error:
            return TrayStatus.ERROR
        if snapshot is not None and snapshot.my_turns():
            return TrayStatus.YOUR_TURN
        if self.smack is not None and self.smack.unread_ids():
            return TrayStatus.SMACK
        if not self._push_state().live:
            return TrayStatus.POLLING
        return TrayStatus.IDLE

    def render(self) -> None:
        if self.closed:
            return
        snapshot = self.session.snapshot()
        status_text = self.status_text()
        daily, signed_in = self.daily, self.session.signed_in
        games = snapshot.games if snapshot is not None and daily is not None and signed_in else ()
        notes = {g.game_id: note for g in games if daily and (note := daily.game_note(g, self._steam_id(g)))}
        smack = self.smack if signed_in and snapshot is not None else None
        unread_ids = smack.unread_ids() if smack is not None else frozenset()
        unread = [game for game in snapshot.games if game.game_id in unread_ids] if snapshot is not None else []
        for game in unread:
            notes[game.game_id] = " · ".join(filter(None, (SMACK_NOTE, notes.get(game.game_id))))
        for game in snapshot.games if snapshot is not None and signed_in else ():
            if account := account_name_of(snapshot, game.game_id):  # several accounts: each game names its own
                notes[game.game_id] = f"{account} · {notes[game.game_id]}" if game.game_id in notes else account
        autostart_text, autostart_usable = self._autostart_entry()
        self.tray.render(
            TrayModel(
                status=self.tray_status(),
                tooltip="pydt-tray" + self.title_suffix + ": " + status_text,
                my_turns=tuple(snapshot.my_turns()) if snapshot else (),
                others=tuple(snapshot.others()) if snapshot else (),
                signed_in=self.session.signed_in,
                sign_out_text=sign_out_text(len(snapshot.parts) if isinstance(snapshot, MergedSnapshot) else 1),
                connection=self.connection_text(),
                status_lines=tuple(daily.status_lines()) if daily is not None else (),
                game_notes=notes,
                game_menus=tuple((game.display_name, daily.game_actions(game)) for game in games if daily),
                smack_menus=tuple((game.display_name, smack.game_actions(game)) for game in unread if smack),
                extra_actions=(
                    *(smack.tray_actions() if smack is not None else ()),
                    *(daily.tray_actions() if daily is not None and signed_in else ()),
                    ("settings", "Settings…"),
                    ("autostart", autostart_text),
                ),
                disabled_actions=frozenset() if autostart_usable else frozenset({"autostart"}),
            )
        )
        if self._window is not None:
            self._window.update_view(snapshot, status_text, self.session.name_of, error=self.session.last_error)
