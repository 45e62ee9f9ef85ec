"""Save folder resolution (docs/pydt-api.md §7.2) for every game, store and platform, on fake disk layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydt_tray.core.models import CivGame, Metadata
from pydt_tray.core.saves import (
    ARCHIVE_DIR_NAME,
    BaseDirs,
    SaveFolderError,
    base_dirs,
    default_save_dir,
    detect_store,
    ensure_save_dir,
    platform_key,
    save_dir_for,
)
from pydt_tray.core.settings import Settings
from pydt_tray.sandbox.world import default_metadata

METADATA = Metadata.from_json({"metadata": default_metadata(), "hash": "x"})
CIV6 = "Sid Meier's Civilization VI"
PROTON = ".local/share/Steam/steamapps/compatdata/{}/pfx/drive_c/users/steamuser/Documents/My Games"


def civ(game_id: str) -> CivGame:
    civ_game = METADATA.civ_game(game_id)
    assert civ_game is not None
    return civ_game


@pytest.fixture
def dirs(tmp_path: Path) -> BaseDirs:
    home = tmp_path / "home"
    return BaseDirs(documents=tmp_path / "Docs", app_data=tmp_path / "AppData", home=home)


# (game, store, relative folder below the base dir), resolved from the table of docs/pydt-api.md §7.1
WINDOWS = [
    ("CIV6", "steam", f"My Games/{CIV6}/Saves/Hotseat"),
    ("CIV6", "epic", f"My Games/{CIV6} (Epic)/Saves/Hotseat"),
    ("CIV7", "steam", "My Games/Sid Meier's Civilization VII/Saves/Hotseat"),
    ("CIV5", "steam", "My Games/Sid Meier's Civilization 5/Saves/hotseat"),
    ("BEYOND_EARTH", "steam", "My Games/Sid Meier's Civilization Beyond Earth/Saves/hotseat"),
    ("OLD_WORLD", "steam", "My Games/OldWorld/Saves/Multiplayer"),
    ("OLD_WORLD", "epic", "My Games/OldWorld/Saves/Multiplayer"),
]
MACOS = [
    ("CIV6", "steam", f"{CIV6}/{CIV6}/Saves/Hotseat"),
    ("CIV6", "epic", f"{CIV6} (Epic)/Saves/Hotseat"),
    ("CIV7", "steam", "Civilization VII/Saves/Hotseat"),
    ("CIV5", "steam", "Sid Meier's Civilization 5/Saves/hotseat"),
    ("BEYOND_EARTH", "steam", "Sid Meier's Civilization Beyond Earth/Saves/hotseat"),
    ("OLD_WORLD", "steam", "OldWorld/Saves/Multiplayer"),
]
LINUX = [
    ("CIV6", "steam", f".local/share/aspyr-media/{CIV6}/Saves/Hotseat"),
    ("CIV7", "steam", "My Games/Sid Meier's Civilization VII/Saves/Hotseat"),
    ("CIV5", "steam", ".local/share/Aspyr/Sid Meier's Civilization 5/Saves/hotseat"),
    ("BEYOND_EARTH", "steam", ".local/share/aspyr-media/Sid Meier's Civilization Beyond Earth/Saves/hotseat"),
    ("OLD_WORLD", "steam", ".local/share/pydt_unknown/OldWorld/Saves/Multiplayer"),
]
PROTON_GAMES = [
    ("CIV6", 289070, f"{CIV6}/Saves/Hotseat"),
    ("CIV7", 1295660, "Sid Meier's Civilization VII/Saves/Hotseat"),
    ("CIV5", 8930, "Sid Meier's Civilization 5/Saves/hotseat"),
    ("BEYOND_EARTH", 65980, "Sid Meier's Civilization Beyond Earth/Saves/hotseat"),
]


@pytest.mark.parametrize(("game", "store", "relative"), WINDOWS)
def test_windows_folders_are_below_documents(dirs: BaseDirs, game: str, store: str, relative: str) -> None:
    assert default_save_dir(civ(game), dirs, "win32", store) == dirs.documents / relative


@pytest.mark.parametrize(("game", "store", "relative"), MACOS)
def test_macos_folders_are_below_application_support(dirs: BaseDirs, game: str, store: str, relative: str) -> None:
    assert default_save_dir(civ(game), dirs, "darwin", store) == dirs.app_data / relative


@pytest.mark.parametrize(("game", "store", "relative"), LINUX)
def test_linux_native_folders_are_below_home(dirs: BaseDirs, game: str, store: str, relative: str) -> None:
    assert default_save_dir(civ(game), dirs, "linux", store) == dirs.home / relative


@pytest.mark.parametrize(("game", "appid", "relative"), PROTON_GAMES)
def test_linux_prefers_the_proton_folder_when_it_exists(dirs: BaseDirs, game: str, appid: int, relative: str) -> None:
    civ_game = civ(game)
    native = default_save_dir(civ_game, dirs, "linux", "steam")
    proton_base = dirs.home / PROTON.format(appid)
    data_folder = (proton_base / relative).parent.parent  # the game's data folder, without Saves/...
    assert native != proton_base / relative
    data_folder.mkdir(parents=True)
    assert default_save_dir(civ_game, dirs, "linux", "steam") == proton_base / relative
    assert default_save_dir(civ_game, dirs, "darwin", "steam") != proton_base / relative  # Linux only


def test_old_world_has_no_proton_location(dirs: BaseDirs) -> None:
    (dirs.home / PROTON.format(597180) / "OldWorld").mkdir(parents=True)
    assert default_save_dir(civ("OLD_WORLD"), dirs, "linux", "steam") == dirs.home / LINUX[-1][2]


def test_platform_keys() -> None:
    assert [platform_key(p) for p in ("win32", "cygwin", "darwin", "linux", "freebsd14")] == [
        "win32",
        "win32",
        "darwin",
        "linux",
        "linux",
    ]


# --- store detection --------------------------------------------------------------------------------------


def test_store_detection_prefers_steam_then_epic_by_folders_on_disk(dirs: BaseDirs) -> None:
    civ6 = civ("CIV6")
    assert detect_store(civ6, dirs, "win32") == "steam"  # nothing installed: the first store
    (dirs.documents / "My Games" / f"{CIV6} (Epic)").mkdir(parents=True)
    assert detect_store(civ6, dirs, "win32") == "epic"
    (dirs.documents / "My Games" / CIV6).mkdir(parents=True)
    assert detect_store(civ6, dirs, "win32") == "steam"
    assert detect_store(civ6, dirs, "win32", choice="epic") == "epic"  # the user's choice wins


def test_store_detection_on_macos_uses_the_steam_override(dirs: BaseDirs) -> None:
    civ6 = civ("CIV6")
    (dirs.app_data / f"{CIV6} (Epic)").mkdir(parents=True)
    assert detect_store(civ6, dirs, "darwin") == "epic"
    (dirs.app_data / CIV6 / CIV6).mkdir(parents=True)
    assert detect_store(civ6, dirs, "darwin") == "steam"


def test_a_store_the_game_lacks_falls_back_to_the_first_store(dirs: BaseDirs) -> None:
    assert detect_store(civ("CIV7"), dirs, "win32", choice="epic") == "steam"
    assert detect_store(civ("CIV7"), dirs, "win32", choice="gog") == "steam"


def test_store_detection_sees_the_proton_folder(dirs: BaseDirs) -> None:
    (dirs.home / PROTON.format(289070) / f"{CIV6} (Epic)").mkdir(parents=True)
    assert detect_store(civ("CIV6"), dirs, "linux") == "epic"


# --- base folders -----------------------------------------------------------------------------------------


def test_windows_documents_come_from_the_known_folder_resolver(tmp_path: Path) -> None:
    onedrive = tmp_path / "OneDrive" / "Documents"
    env = {"APPDATA": str(tmp_path / "Roaming"), "USERPROFILE": str(tmp_path / "user")}
    found = base_dirs("win32", env, documents_resolver=lambda: str(onedrive))
    assert found == BaseDirs(onedrive, tmp_path / "Roaming", tmp_path / "user")
    civ6 = civ("CIV6")
    assert default_save_dir(civ6, found, "win32", "steam") == onedrive / "My Games" / CIV6 / "Saves" / "Hotseat"


def test_windows_without_known_folder_or_appdata(tmp_path: Path) -> None:
    found = base_dirs("win32", {}, home=tmp_path, documents_resolver=lambda: None)
    assert found == BaseDirs(tmp_path / "Documents", tmp_path / "AppData" / "Roaming", tmp_path)


def test_windows_known_folder_lookup_is_skipped_when_not_on_windows(tmp_path: Path) -> None:
    found = base_dirs("win32", {"APPDATA": str(tmp_path / "Roaming")}, home=tmp_path)
    assert found.documents == tmp_path / "Documents"


def test_macos_base_folders(tmp_path: Path) -> None:
    found = base_dirs("darwin", {"HOME": str(tmp_path)})
    assert found == BaseDirs(tmp_path / "Documents", tmp_path / "Library" / "Application Support", tmp_path)


def test_linux_base_folders_follow_xdg(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "user-dirs.dirs").write_text('# written by xdg-user-dirs-update\nXDG_DOCUMENTS_DIR="$HOME/Dokumente"\n')
    found = base_dirs("linux", {"HOME": str(home), "XDG_CONFIG_HOME": str(config)})
    assert found == BaseDirs(home / "Dokumente", config, home)


def test_linux_base_folder_defaults(tmp_path: Path) -> None:
    found = base_dirs("linux", {}, home=tmp_path)
    assert found == BaseDirs(tmp_path / "Documents", tmp_path / ".config", tmp_path)
    env = {"XDG_DOCUMENTS_DIR": str(tmp_path / "docs"), "XDG_CONFIG_HOME": "relative/ignored"}
    assert base_dirs("linux", env, home=tmp_path) == BaseDirs(tmp_path / "docs", tmp_path / ".config", tmp_path)


# --- effective folder and creation ------------------------------------------------------------------------


def test_override_setting_is_used_exactly(dirs: BaseDirs, tmp_path: Path) -> None:
    chosen = tmp_path / "my saves"
    settings = Settings(values={"save_dir_civ6": str(chosen), "save_dir_beyond_earth": str(chosen / "be")})
    assert save_dir_for(civ("CIV6"), settings, dirs, "win32") == chosen  # no "/Saves/Hotseat" appended
    assert save_dir_for(civ("BEYOND_EARTH"), settings, dirs, "linux") == chosen / "be"
    assert save_dir_for(civ("CIV7"), settings, dirs, "win32") == default_save_dir(civ("CIV7"), dirs, "win32", "steam")


def test_store_setting_and_detection_feed_the_default(dirs: BaseDirs) -> None:
    civ6 = civ("CIV6")
    epic = dirs.documents / "My Games" / f"{CIV6} (Epic)" / "Saves" / "Hotseat"
    assert save_dir_for(civ6, Settings(values={"store_civ6": "epic"}), dirs, "win32") == epic
    epic.mkdir(parents=True)
    assert save_dir_for(civ6, Settings(), dirs, "win32") == epic  # auto: only the Epic copy is installed


def test_a_game_without_settings_rows_still_resolves(dirs: BaseDirs) -> None:
    data = {**default_metadata()["civGames"][0], "id": "CIV8", "displayName": "Civilization 8"}
    civ8 = CivGame.from_json(data)
    assert save_dir_for(civ8, Settings(), dirs, "win32") == dirs.documents / "My Games" / CIV6 / "Saves" / "Hotseat"


def test_a_game_without_a_location_for_the_platform_asks_for_a_folder(dirs: BaseDirs) -> None:
    data = dict(default_metadata()["civGames"][0])
    data["saveLocations"] = {"win32": data["saveLocations"]["win32"]}
    with pytest.raises(SaveFolderError, match="choose the save folder"):
        default_save_dir(CivGame.from_json(data), dirs, "darwin", "steam")
    data["saveLocations"] = {"darwin": {"basePath": "somewhere", "prefix": ""}}
    with pytest.raises(SaveFolderError, match="somewhere"):
        default_save_dir(CivGame.from_json(data), dirs, "darwin", "steam")


def test_ensure_creates_the_folder_and_its_archive(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "Saves"
    assert ensure_save_dir(folder) == folder
    assert (folder / ARCHIVE_DIR_NAME).is_dir()
    assert ensure_save_dir(folder) == folder  # again: fine


@pytest.mark.parametrize(("platform", "onedrive"), [("win32", True), ("linux", False), ("darwin", False)])
def test_an_uncreatable_folder_gives_a_clear_message(tmp_path: Path, platform: str, onedrive: bool) -> None:
    blocker = tmp_path / "Documents"
    blocker.write_text("a file where a folder should be")
    folder = blocker / "My Games" / "Saves"
    with pytest.raises(SaveFolderError) as caught:
        ensure_save_dir(folder, platform)
    message = caught.value.user_message
    assert str(folder) in message
    assert ("Files On-Demand" in message) is onedrive
    assert blocker.read_text() == "a file where a folder should be"


# --- untrusted metadata -----------------------------------------------------------------------------------


def hostile(game_id: str = "CIV6", **changes: object) -> CivGame:
    """The game's metadata with fields replaced, as a spoofed or broken reply could send it."""
    data = {**next(g for g in default_metadata()["civGames"] if g["id"] == game_id), **changes}
    return CivGame.from_json(data)


def location(base: str, prefix: str) -> dict[str, dict[str, str]]:
    return {"basePath": base, "prefix": prefix}  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("platform", "locations", "save_path"),
    [
        ("linux", {"linux": location("home", "/.config/autostart")}, "/"),  # outside every game root
        ("linux", {"linux": location("appData", "/autostart")}, "/"),
        ("linux", {"linux": location("home", "/.local/share/aspyr-media")}, "/../../../.config/autostart"),
        ("linux", {"linux": location("home", "/.local/share/applications")}, "/"),  # a root, but a launcher folder
        ("linux", {"linux": location("home", "/.local/share/x")}, "/bin"),
        ("linux", {"linux": location("home", "/.local/share/systemd/user")}, "/"),
        ("linux", {"linux": location("home", "")}, "/"),  # the home folder itself
        ("darwin", {"darwin": location("home", "/Library/LaunchAgents")}, "/"),
        ("darwin", {"darwin": location("appData", "/..")}, "/LaunchAgents"),
        ("win32", {"win32": location("documents", "/../AppData/Roaming")}, "/Microsoft/Windows/Start Menu"),
        ("win32", {"win32": location("appData", "/Microsoft/Windows/Start Menu/Programs/Startup")}, "/"),
        ("win32", {"win32": location("documents", "/C:/Windows/System32")}, "/"),
        ("win32", {"win32": location("documents", "/My Games/Startup")}, "/"),
    ],
)
def test_metadata_cannot_place_saves_outside_the_game_folders(
    dirs: BaseDirs, platform: str, locations: dict, save_path: str
) -> None:
    civ_game = hostile(saveLocations=locations, savePath=save_path)
    with pytest.raises(SaveFolderError, match="choose the save folder"):
        save_dir_for(civ_game, Settings(), dirs, platform)


def test_a_symlink_leaving_the_game_root_is_refused(dirs: BaseDirs, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    native = dirs.home / ".local" / "share" / "aspyr-media"
    native.mkdir(parents=True)
    (native / CIV6).symlink_to(outside, target_is_directory=True)
    with pytest.raises(SaveFolderError, match="symbolic link"):
        save_dir_for(civ("CIV6"), Settings(), dirs, "linux")
    (native / CIV6).unlink()
    inside = dirs.home / ".local" / "share" / "games-disk"
    inside.mkdir()
    (native / CIV6).symlink_to(inside, target_is_directory=True)  # a link that stays within the root is fine
    assert save_dir_for(civ("CIV6"), Settings(), dirs, "linux") == native / CIV6 / "Saves" / "Hotseat"


def test_a_symlink_into_an_autostart_folder_is_refused_even_for_the_users_choice(dirs: BaseDirs, tmp_path) -> None:
    autostart = dirs.home / ".config" / "autostart"
    autostart.mkdir(parents=True)
    link = dirs.home / ".local" / "share" / "aspyr-media" / CIV6
    link.parent.mkdir(parents=True)
    link.symlink_to(autostart, target_is_directory=True)
    with pytest.raises(SaveFolderError):
        save_dir_for(civ("CIV6"), Settings(), dirs, "linux")
    for chosen in (autostart, tmp_path / "my-link"):
        if chosen != autostart:
            chosen.symlink_to(autostart, target_is_directory=True)
        with pytest.raises(SaveFolderError, match="autostart"):
            save_dir_for(civ("CIV6"), Settings(values={"save_dir_civ6": str(chosen)}), dirs, "linux")
    assert list(autostart.iterdir()) == []


def test_the_users_own_folder_outside_the_game_roots_is_kept(dirs: BaseDirs, tmp_path: Path) -> None:
    chosen = tmp_path / "external disk" / "civ saves"
    assert save_dir_for(civ("CIV6"), Settings(values={"save_dir_civ6": str(chosen)}), dirs, "linux") == chosen


def test_ensure_never_creates_a_folder_in_an_autostart_folder(tmp_path: Path) -> None:
    target = tmp_path / ".config" / "autostart" / "saves"
    with pytest.raises(SaveFolderError, match="autostart"):
        ensure_save_dir(target)
    assert not (tmp_path / ".config").exists()
