"""A hidden app that is connected, synced and has shown a turn notification has loaded nothing that only a
window, a played turn, a command or the relay needs, and has never built the enums of Qt's namespace (about
1 MB for good, see pydt_tray/platform/qt_light.py). It runs in its own process: this one has Qt loaded fully."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.helpers.mosquitto import push_env

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from pydt_tray.app import TrayApp
    from pydt_tray.core.context import load_context

    qapp = QApplication([])
    app = TrayApp(qapp, load_context(dict(os.environ)), show_window=False)
    notified = []
    app.notified.connect(notified.append)

    def ready():
        engine = app.session.engine
        return app.push.state.live and engine is not None and not engine.busy and notified

    def check():
        if ready():
            poll.stop()
            report = {
                "qt_namespace": "Qt" in vars(sys.modules["PySide6.QtCore"]),
                "modules": sorted(sys.modules),
                "notified": notified[0].title,
            }
            print(json.dumps(report), flush=True)
            app.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(20)
    QTimer.singleShot(20_000, lambda: (print("timeout", flush=True), qapp.exit(3)))
    app.start(token=os.environ["LIGHT_START_TOKEN"])
    sys.exit(qapp.exec())
    """
)

ONLY_WHEN_USED = {
    "pydt_tray.ui.games_window",  # the window and its parts
    "pydt_tray.ui.game_card",
    "pydt_tray.ui.play_turn_panel",
    "pydt_tray.ui.icon_painter",  # the tray icons are shipped PNGs
    "pydt_tray.ui.settings_window",
    "pydt_tray.ui.sign_in_dialog",
    "pydt_tray.core.turn_player",  # playing a turn
    "pydt_tray.core.transfer",
    "pydt_tray.core.saves",
    "pydt_tray.core.save_watch",
    "pydt_tray.core.turn_api_http",  # the local turn API, off by default
    "pydt_tray.cli_common",  # commands
    "pydt_tray.push.ntfy_stream",  # the relay, not set up here
    "pydt_tray.core.forget",
    "PySide6.QtNetwork",  # replaced by a Unix socket and NetworkManager over D-Bus
    "PySide6.QtDBus",  # logind and NetworkManager signals are read with jeepney
    "logging.handlers",  # the log rotates by our own handler (logging.handlers brings pickle and sockets)
    "html",  # the tooltip is escaped by our own code
    "PySide6.QtSvg",  # the icons are PNGs
}


def test_a_hidden_app_stays_light_through_its_first_turn_notification(
    simulator, world, mosquitto, notification_server, tmp_path
):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYDT_IOT_")}
    env.update(
        PYDT_TRAY_HOME=str(tmp_path / "home"),
        PYDT_API_URL=simulator.base_url,
        LIGHT_START_TOKEN=world.token,
        QT_QPA_PLATFORM="offscreen",
        **push_env(mosquitto),
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["notified"]  # the notification path ran
    assert len(notification_server.notifications) >= 1
    assert "pydt_tray.app" in report["modules"] and "pydt_tray.ui.tray" in report["modules"]
    assert sorted(ONLY_WHEN_USED & set(report["modules"])) == []
    assert report["qt_namespace"] is False
