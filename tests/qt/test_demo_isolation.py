"""The demo stays inside its temporary home: no login items, and stale demo homes are cleared."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydt_tray.core.settings import Settings
from pydt_tray.platform.autostart import XdgAutostart
from pydt_tray.sandbox.demo import HOME_PREFIX, OWNER_FILE, clear_stale_demo_homes
from pydt_tray.ui.services import DEMO_AUTOSTART_REASON, AutostartService
from pydt_tray.ui.tray import Tray, TrayModel


def test_a_sandboxed_autostart_never_writes_and_explains_why(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.toml")
    service = AutostartService(settings, XdgAutostart(home=tmp_path / "home", command=["pydt-tray", "--hidden"]))
    service.sandbox()
    assert not service.available and "demo" in service.menu_text()
    settings.set("start_at_login", True)
    service.apply()
    assert not (tmp_path / "home").exists(), "nothing was written in the real home"
    assert service.problem == DEMO_AUTOSTART_REASON
    settings.set("start_at_login", False)
    service.apply()
    assert service.problem == "" and service.in_step()


def test_a_real_autostart_service_still_writes_the_entry(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.toml")
    service = AutostartService(settings, XdgAutostart(home=tmp_path / "home", command=["pydt-tray", "--hidden"]))
    settings.set("start_at_login", True)
    service.apply()
    assert (tmp_path / "home" / ".config" / "autostart" / "pydt-tray.desktop").exists()
    assert service.available and service.menu_text() == "✓ Start at login"


def test_a_disabled_tray_action_is_shown_greyed_out(qapp) -> None:
    tray = Tray()
    tray.render(
        TrayModel(
            extra_actions=(("settings", "Settings…"), ("autostart", "Start at login (off in the demo)")),
            disabled_actions=frozenset({"autostart"}),
        )
    )
    actions = {action.text(): action.isEnabled() for action in tray.menu.actions() if not action.isSeparator()}
    assert actions["Start at login (off in the demo)"] is False and actions["Settings…"] is True


def make_home(folder: Path, name: str, owner: int | None, age: float = 0.0) -> Path:
    home = folder / (HOME_PREFIX + name)
    (home / "certs").mkdir(parents=True)
    (home / "certs" / "demo-server.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    if owner is not None:
        (home / OWNER_FILE).write_text(f"{owner}\n")
    if age:
        os.utime(home, (time.time() - age, time.time() - age))
    return home


def test_stale_demo_homes_are_cleared_and_live_ones_kept(tmp_path: Path) -> None:
    running = {111}
    dead = make_home(tmp_path, "dead", 222)
    live = make_home(tmp_path, "live", 111)
    mine = make_home(tmp_path, "mine", os.getpid())
    starting = make_home(tmp_path, "starting", None)  # no owner file yet: a demo that is starting up
    abandoned = make_home(tmp_path, "abandoned", None, age=2 * 24 * 3600)
    other = tmp_path / "not-a-demo"
    other.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / (HOME_PREFIX + "link")).symlink_to(target, target_is_directory=True)
    removed = clear_stale_demo_homes(tmp_path, is_running=running.__contains__)
    assert sorted(removed) == sorted([dead, abandoned])
    assert not dead.exists() and not abandoned.exists()
    assert live.exists() and mine.exists() and starting.exists() and other.exists() and target.exists()
