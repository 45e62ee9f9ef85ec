"""Composition root: builds the parts, wires their signals and owns the Qt event loop. No rules live here."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from pydt_tray.core.context import AppContext
from pydt_tray.core.poll_schedule import PollSchedule
from pydt_tray.desktop.accounts import Accounts
from pydt_tray.desktop.daily import DailyController, rules_for
from pydt_tray.desktop.notices import SIGN_IN_KEY, notices_for, smack_for
from pydt_tray.desktop.presenter import Presenter
from pydt_tray.desktop.push_supervisor import PushSupervisor
from pydt_tray.desktop.reactions import SettingsReactions, forget_with
from pydt_tray.desktop.relay_controls import RelayControls
from pydt_tray.desktop.session import save_state
from pydt_tray.desktop.turns import turn_player_factory
from pydt_tray.desktop.type_names import TypeNamesLoader
from pydt_tray.platform.notifications import pick_notifier, set_windows_app_user_model_id
from pydt_tray.platform.termination import TerminationSignals
from pydt_tray.platform.wake import WakeMonitor, WakeSource
from pydt_tray.ui.account import AccountFlow
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker, stop_workers
from pydt_tray.ui.icons import app_icon
from pydt_tray.ui.play_turn import ExtraAction, TurnView
from pydt_tray.ui.services import AutostartService, TurnApiService
from pydt_tray.ui.tray import Tray

if TYPE_CHECKING:
    from pydt_tray.ui.games_window import GamesWindow

log = logging.getLogger(__name__)


class TrayApp(QObject):
    """The running application. ``start()`` signs every stored account in."""

    notified = Signal(object)  # a Notification, after it was handed to the notifier
    synced = Signal(object)  # a SyncResult, after the tray and window were updated

    def __init__(
        self,
        qapp: QApplication,
        ctx: AppContext,
        *,
        show_window: bool,
        title_suffix: str = "",
        wake_sources: list[WakeSource] | None = None,
        waiting_actions: Mapping[str, ExtraAction] | None = None,
    ) -> None:
        super().__init__()
        self.qapp, self.ctx, self.title_suffix = qapp, ctx, title_suffix
        self.show_window_at_start = show_window
        self._quitting = False
        set_windows_app_user_model_id()
        qapp.setQuitOnLastWindowClosed(False)
        qapp.setWindowIcon(app_icon())
        settings = ctx.settings
        self.invoker = MainThreadInvoker(self)
        self.worker, self.sync_worker = BackgroundWorker(), BackgroundWorker("pydt-sync")  # network lanes
        threads = {"run_in_background": self.worker.submit, "call_soon": self.invoker.call_soon}
        sync_threads = {**threads, "run_in_background": self.sync_worker.submit}  # a transfer never delays a load
        schedule = PollSchedule(live_interval=lambda: settings.snapshot().poll_interval_seconds)
        self.session = session = Accounts(ctx, schedule, **sync_threads, parent=self)  # one session per account
        self.backstop = backstop = session.backstop
        self.push = PushSupervisor(ctx, session.request, backstop, self, **threads, dispatch=session.request_for)
        session.relay_accounts, session.live = (lambda: self.push.relay_accounts), self.push.account_live
        self.tray = Tray(self)
        self.turn_api = TurnApiService(settings)
        self.autostart = AutostartService(settings)
        self.notifier = pick_notifier(self.tray.icon, self)
        log.info("Notifications through %s", self.notifier.name)
        self.rules = rules_for(ctx)  # quiet hours, mute, snooze, away: the gate the notification policy asks
        self.notices = notices_for(ctx, self.notifier, self.rules.silence, session, self.save_state, self)
        self.notices.actions_for = DailyController.notification_actions
        self.daily = DailyController(self.rules, session, self.notices.show, threads, parent=self)
        self.presenter = Presenter(
            self.tray,
            session,
            lambda: self.push.state,
            lambda: (self.turn_api.problem, self.autostart.problem),
            lambda: (self.autostart.menu_text(), self.autostart.available),
            self.window_title,
            title_suffix=title_suffix,
            poll_seconds=self.backstop.usual_seconds,
            on_window_built=self._attach_window,
            daily=self.daily,
            smack=smack_for(ctx, session, self.notices.show, self.rules.silence, self.turn_api, self),
        )
        self.show_games = self.presenter.show_games
        self.relay = RelayControls(self.push, session, ctx.make_client, self.presenter.connection_text, self.notifier)
        self.account = AccountFlow(session, title=self.window_title("sign in"), **threads, parent=self)
        make_player = turn_player_factory(session, settings, self, **threads)
        self.turn_view = TurnView(
            make_player, self.notifier, self.show_games, waiting_actions=waiting_actions, parent=self
        )
        self.type_names = TypeNamesLoader(session.client, self.turn_view.set_type_names, **threads)
        self.reactions = SettingsReactions(
            ctx,
            self.turn_api,
            self.autostart,
            restart_push=self.push.restart,
            rearm_backstop=lambda: self.backstop.arm() if session.signed_in else None,
            render=self.presenter.render,
            window_title=self.window_title,
            forget=forget_with(ctx, self.autostart, self.quit),
            on_window_built=(self.account.attach, self.relay.attach),
        )
        self.wake = WakeMonitor(sources=wake_sources, parent=self)
        self.termination = TerminationSignals(self)
        self._wire()

    def _wire(self) -> None:
        session, tray, render = self.session, self.tray, self.presenter.render
        session.changed.connect(render)
        session.user_known.connect(self.push.ensure_started)
        session.left.connect(self.push.remove)
        session.token_refused.connect(self.notices.sign_in_again)
        session.token_refused.connect(lambda _message: self.turn_api.update(session.snapshot()))
        session.token_refused.connect(lambda _message: None if session.signed_in else self.account.show())
        session.synced.connect(self.notices.on_synced)
        session.synced.connect(self.daily.on_synced)
        session.synced.connect(lambda _result: self.turn_api.update(session.snapshot()))
        session.synced.connect(lambda _result: render())
        session.synced.connect(lambda _result: self.turn_view.on_synced())
        session.synced.connect(lambda _result: self.type_names.load())
        session.synced.connect(self.synced)
        self.notices.notified.connect(self.notified)
        self.push.state_changed.connect(lambda _state: render())
        self.wake.woke.connect(self.push.on_wake)
        show = self.daily.or_else(lambda key: self.account.show() if key == SIGN_IN_KEY else self.show_games())
        self.notifier.activated.connect(show)
        self.daily.away_failed.connect(self.notices.vacation_not_changed)
        self.daily.changed.connect(self.save_state)
        self.daily.changed.connect(render)
        self.ctx.settings.add_listener(self.daily.on_setting_changed)
        tray.show_window.connect(self.show_games)
        tray.refresh_requested.connect(lambda: session.request("user refresh", full=True))
        tray.open_game.connect(lambda game_id: self.turn_view.open_game(game_id, self.presenter.open_game_page))
        tray.sign_in_requested.connect(self.account.show)
        tray.action_requested.connect(self.daily.or_else(self.reactions.on_tray_action))
        tray.sign_out_requested.connect(session.sign_out)
        tray.quit_requested.connect(self.quit)
        self.termination.received.connect(self.quit)

    def _attach_window(self, window: GamesWindow) -> None:
        window.action_requested.connect(self.daily.handle)
        window.sign_in_requested.connect(self.account.show)
        self.turn_view.attach_window(window)

    turn_player = property(lambda self: self.turn_view.player)  # made on first use (see TurnView)

    def window_title(self, what: str) -> str:
        return f"pydt-tray — {what}{self.title_suffix}"

    def start(self, token: str | None = None) -> None:
        """Sign in with ``token``, or with the stored one when none is given."""
        self.wake.start()
        self.notices.start()
        self.daily.start()
        self.turn_api.apply()
        if not self.autostart.in_step():
            self.autostart.apply()
        signed_in = self.session.resume(token)
        self.presenter.render()
        if not signed_in and (self.show_window_at_start or not self.tray.available):
            self.account.show()
        elif self.show_window_at_start:
            self.show_games()

    def quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        log.info("Quitting")
        self.notices.stop()
        self.daily.stop()
        self.backstop.stop()
        self.wake.stop()
        self.session.close()
        self.presenter.close()
        self.push.stop(0.5)  # with the lanes' 1 s: Quit returns within 2 s whatever the network does
        self.turn_api.stop()
        self.turn_view.cancel()
        stop_workers([self.sync_worker, self.worker], 1.0)  # then what still runs is abandoned
        self.save_state()
        self.notifier.close()
        self.account.close()
        self.reactions.close()
        self.qapp.quit()

    def save_state(self) -> None:
        save_state(self.ctx)
