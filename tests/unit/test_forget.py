"""Forgetting: token, start at login, state, logs and cache go; settings stay; every step runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring

from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.forget import Forgetter, remove_tree_except
from pydt_tray.core.paths import app_paths
from pydt_tray.platform.autostart import AutostartError, XdgAutostart

# The token sits in the opted-in plain file here, and the token store warns about that each time (by design).
PLAINTEXT_WARNS = pytest.mark.expect_warning_logs


def filled_home(tmp_path: Path):
    paths = app_paths({"PYDT_TRAY_HOME": str(tmp_path / "home")}).ensure()
    paths.settings_file.write_text("start_at_login = true\n")
    paths.state_file.write_text("{}")
    (paths.log_dir / "pydt-tray.log").write_text("log line\n")
    (paths.cache_dir / "metadata.json").write_text("{}")
    return paths


def plaintext_store(tmp_path: Path, token: str | None = "tok-123") -> TokenStore:
    store = TokenStore(plaintext_path=tmp_path / "home" / "config" / "token.plaintext", allow_plaintext=True)
    if token:
        store.save(token)
    return store


def test_remove_tree_except_keeps_the_settings_folder_inside_a_shared_folder(tmp_path: Path) -> None:
    # macOS and Windows put settings and state under one folder: the settings must survive.
    shared = tmp_path / "Application Support" / "pydt-tray"
    (shared / "Logs").mkdir(parents=True)
    (shared / "Logs" / "pydt-tray.log").write_text("x")
    (shared / "state.json").write_text("{}")
    settings = shared / "settings.toml"
    settings.write_text("a = 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    (shared / "link").symlink_to(outside)
    assert remove_tree_except(shared, [shared]) == []
    assert remove_tree_except(shared / "Logs", [shared]) == []
    assert not (shared / "Logs").exists()
    assert remove_tree_except(shared.parent, [settings]) == []
    assert sorted(p.name for p in shared.iterdir()) == ["settings.toml"]
    assert (outside / "precious").read_text() == "keep", "a symlink is removed, never followed"
    assert remove_tree_except(tmp_path / "absent", []) == []


@PLAINTEXT_WARNS
def test_forgetting_removes_everything_but_the_settings(tmp_path: Path) -> None:
    paths = filled_home(tmp_path)
    store = plaintext_store(tmp_path)
    autostart = XdgAutostart(config_dir=tmp_path / "xdg", command=["pydt-tray", "--hidden"])
    autostart.enable()
    turned_off: list[bool] = []
    forgetter = Forgetter(
        paths=paths, token_store=store, autostart=autostart, turn_off_start_at_login=lambda: turned_off.append(True)
    )
    described = "\n".join(forgetter.describe())
    assert str(autostart.path) in described and str(paths.log_dir) in described
    assert "webhook" not in described  # nothing to restore without the relay

    outcomes = forgetter.forget_account() + forgetter.forget_files()
    assert all(o.ok for o in outcomes), outcomes
    assert [o.what for o in outcomes] == ["token", "autostart", "files", "files", "files"]
    assert store.load() is None and not (paths.config_dir / "token.plaintext").exists()
    assert not autostart.path.exists() and turned_off == [True]
    for folder in (paths.state_dir, paths.log_dir, paths.cache_dir):
        assert not folder.exists()
    assert paths.settings_file.read_text() == "start_at_login = true\n"


@PLAINTEXT_WARNS
def test_the_webhook_is_restored_with_the_token_before_it_is_deleted(tmp_path: Path) -> None:
    paths = filled_home(tmp_path)
    store = plaintext_store(tmp_path)
    seen: list[str | None] = []

    def restore(token: str | None) -> str:
        seen.append(token)
        return "the previous webhook is back"

    forgetter = Forgetter(
        paths=paths, token_store=store, autostart=XdgAutostart(config_dir=tmp_path / "x"), restore_webhook=restore
    )
    assert "webhook" in forgetter.describe()[0]
    outcomes = forgetter.forget_account()
    assert seen == ["tok-123"]
    assert outcomes[0].what == "webhook" and outcomes[0].ok and outcomes[0].message == "the previous webhook is back"


class BrokenAutostart:
    def disable(self) -> None:
        raise AutostartError("Could not remove the start-at-login entry: permission denied.")

    def describe(self) -> str:
        return "a read-only entry"


def test_a_failing_step_is_reported_and_the_others_still_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    paths = filled_home(tmp_path)
    store = TokenStore(backend=PlaintextKeyring())  # not a secure keyring: deleting is refused

    def broken_webhook(_token: str | None) -> str:
        raise OSError("PYDT unreachable")

    forgetter = Forgetter(paths=paths, token_store=store, autostart=BrokenAutostart(), restore_webhook=broken_webhook)
    outcomes = {o.what: o for o in forgetter.forget_account() + forgetter.forget_files()}
    assert not outcomes["webhook"].ok and "PYDT unreachable" in outcomes["webhook"].message
    assert not outcomes["token"].ok and "keyring" in outcomes["token"].message
    assert not outcomes["autostart"].ok and "permission denied" in outcomes["autostart"].message
    assert outcomes["files"].ok and not paths.state_dir.exists() and not paths.cache_dir.exists()
    assert {r.message for r in caplog.records} == {
        "Could not read the token to restore the webhook",
        "Could not restore the webhook",
    }
