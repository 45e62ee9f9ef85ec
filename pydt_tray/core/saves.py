"""Where each game keeps its hotseat saves (docs/pydt-api.md §7.2), and making sure that folder exists.

The folder is built from the game's ``/metadata`` entry at runtime: a base folder (documents, app data or
home) + the platform's prefix + the store's data path + ``savePath``. On Linux the Proton copy wins when it
exists. A per-game setting (``save_dir_<game id in lower case>``) replaces the whole result when set.

The metadata is untrusted (a spoofed or broken reply must not be able to place a file where the system runs
it): a folder built from it must stay below one of the platform's game roots (:func:`game_roots`) also after
following symlinks, its pieces may not climb (``..``) or name a drive, and no save folder, the user's own
choice included, may be or lie in a folder the system runs things from (:data:`FORBIDDEN_FOLDER_NAMES`).
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.models import CivGame, SaveLocation
from pydt_tray.core.settings import Settings

log = logging.getLogger(__name__)

ARCHIVE_DIR_NAME = "pydt-archive"
STORES = ("steam", "epic")  # the service's enum order: auto-detection tries them in this order
PROTON_KEY = "linux-proton"
FOLDERID_DOCUMENTS = "{FDD39AD0-238F-46AF-ADB4-6C85480369C7}"

DocumentsResolver = Callable[[], "str | os.PathLike[str] | None"]

# The save file extensions of the game types PYDT supports (contract §7.1); nothing else is ever written.
SAVE_EXTENSIONS = ("Civ6Save", "Civ7Save", "Civ5Save", "CivBESave", "zip")

# Folders whose files the system starts or trusts (login items, program folders, service definitions).
FORBIDDEN_FOLDER_NAMES = frozenset(
    {
        "autostart",  # XDG autostart
        "startup",  # Windows Start Menu Startup folder
        "start menu",
        "launchagents",  # macOS login agents
        "launchdaemons",
        "startupitems",
        "bin",
        "sbin",
        "applications",  # XDG launchers and handlers
        "systemd",
        "dbus-1",
        "environment.d",
        ".ssh",
        ".gnupg",
    }
)
_BAD_PIECE = re.compile(r"[\x00-\x1f\x7f:]")


class SaveFolderError(PydtTrayError):
    """The save folder cannot be found or created; ``user_message`` says what to do."""


@dataclass(frozen=True)
class BaseDirs:
    """The three base folders a ``saveLocations`` entry can start from."""

    documents: Path
    app_data: Path
    home: Path

    def get(self, base_path: str) -> Path | None:
        """The folder a metadata ``basePath`` value names (``documents``, ``appData``, ``home``)."""
        return {"documents": self.documents, "appData": self.app_data, "home": self.home}.get(base_path)


def platform_key(platform: str = sys.platform) -> str:
    """``win32``, ``darwin`` or ``linux`` (every other Unix counts as Linux)."""
    if platform.startswith("win") or platform == "cygwin":
        return "win32"
    if platform == "darwin":
        return "darwin"
    return "linux"


def _windows_documents() -> Path | None:
    """The Documents known folder (follows OneDrive and other redirection); None if it cannot be read."""
    try:
        import ctypes
        from ctypes import wintypes

        class GUID(ctypes.Structure):
            _fields_ = [
                ("Data1", wintypes.DWORD),
                ("Data2", wintypes.WORD),
                ("Data3", wintypes.WORD),
                ("Data4", wintypes.BYTE * 8),
            ]

        raw = uuid.UUID(FOLDERID_DOCUMENTS).bytes_le
        guid = GUID.from_buffer_copy(raw)
        path_ptr = ctypes.c_wchar_p()
        shell32 = ctypes.windll.shell32  # type: ignore[attr-defined]
        ole32 = ctypes.windll.ole32  # type: ignore[attr-defined]
        result = shell32.SHGetKnownFolderPath(ctypes.byref(guid), 0, None, ctypes.byref(path_ptr))
        try:
            if result != 0 or not path_ptr.value:
                return None
            return Path(path_ptr.value)
        finally:
            ole32.CoTaskMemFree(path_ptr)
    except (AttributeError, OSError, ImportError, ValueError) as error:
        log.info("Could not read the Documents known folder: %s", error)
        return None


def _xdg_documents(environ: Mapping[str, str], home: Path, config_home: Path) -> Path:
    """``XDG_DOCUMENTS_DIR`` from the environment or ``user-dirs.dirs``, else ``~/Documents``."""
    value = environ.get("XDG_DOCUMENTS_DIR", "").strip()
    if not value:
        try:
            text = (config_home / "user-dirs.dirs").read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            match = re.match(r"\s*XDG_DOCUMENTS_DIR\s*=\s*(.*)$", line)
            if match:
                try:
                    parts = shlex.split(match.group(1), comments=True)
                except ValueError:
                    continue
                value = parts[0] if parts else ""
    if value:
        value = value.replace("${HOME}", str(home)).replace("$HOME", str(home))
        if value.startswith("~"):
            value = str(home) + value[1:]
        path = Path(value)
        if path.is_absolute() and path != home:  # a documents dir equal to $HOME means "disabled"
            return path
    return home / "Documents"


def base_dirs(
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    home: str | os.PathLike[str] | None = None,
    documents_resolver: DocumentsResolver | None = None,
) -> BaseDirs:
    """The platform's documents, app-data and home folders, as the game's installer sees them.

    ``documents_resolver`` replaces the Windows known-folder lookup (tests fake OneDrive with it).
    """
    key = platform_key(platform)
    if home is not None:
        home_dir = Path(home)
    elif key == "win32" and environ.get("USERPROFILE"):
        home_dir = Path(environ["USERPROFILE"])
    elif environ.get("HOME"):
        home_dir = Path(environ["HOME"])
    else:
        home_dir = Path.home()
    if key == "win32":
        resolver = documents_resolver or (_windows_documents if sys.platform == "win32" else lambda: None)
        found = resolver()
        documents = Path(found) if found else home_dir / "Documents"
        app_data = Path(environ["APPDATA"]) if environ.get("APPDATA") else home_dir / "AppData" / "Roaming"
        return BaseDirs(documents, app_data, home_dir)
    if key == "darwin":
        return BaseDirs(home_dir / "Documents", home_dir / "Library" / "Application Support", home_dir)
    config_value = environ.get("XDG_CONFIG_HOME", "").strip()
    config_home = Path(config_value) if config_value and Path(config_value).is_absolute() else home_dir / ".config"
    return BaseDirs(_xdg_documents(environ, home_dir, config_home), config_home, home_dir)


def _join(base: Path, *pieces: str) -> Path:
    """``base`` + metadata pieces that start with "/" (either slash), normalised like the official client.

    A piece that climbs (``..``), names a drive or holds control characters is refused: the result always
    lies below ``base``.
    """
    parts = [part for piece in pieces for part in re.split(r"[\\/]+", piece) if part and part != "."]
    for part in parts:
        if part == ".." or _BAD_PIECE.search(part) or part.strip(" .") == "":
            raise SaveFolderError(
                f"The PYDT service describes a save folder pydt-tray will not use ({part!r} in "
                f"{'/'.join(pieces)!r}). Please choose the save folder in the settings."
            )
    return Path(os.path.normpath(base.joinpath(*parts)))


def game_roots(dirs: BaseDirs, platform: str = sys.platform) -> list[Path]:
    """The folders a save folder from the metadata may lie in on this platform: Documents everywhere; on
    macOS Application Support; on Linux the native ports' and Steam's (Proton) data folders and ``~/My Games``."""
    key = platform_key(platform)
    roots = [dirs.documents]
    if key == "darwin":
        roots.append(dirs.app_data)
    elif key == "linux":
        home = dirs.home
        roots += [
            home / ".local" / "share",
            home / "My Games",
            home / ".steam",
            home / ".var" / "app" / "com.valvesoftware.Steam",
        ]
    return roots


def _resolved(path: Path) -> Path:
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        raise SaveFolderError(f"The save folder {path} cannot be resolved (a symlink loop?).") from None


def _forbidden_part(path: Path) -> str | None:
    for part in path.parts:
        if part.strip().lower() in FORBIDDEN_FOLDER_NAMES:
            return part
    return None


def refuse_forbidden_folder(folder: str | os.PathLike[str]) -> Path:
    """``folder`` unless it is, or lies in, a folder the system runs things from (also after following
    symlinks); :class:`SaveFolderError` otherwise. Applies to every save folder, the user's choice included."""
    path = Path(folder)
    for candidate in (path, _resolved(path)):
        part = _forbidden_part(candidate)
        if part is not None:
            raise SaveFolderError(
                f"pydt-tray will not put saves in {path}: the {part!r} folder is where the system starts programs "
                "from. Please choose another save folder in the settings."
            )
    return path


def check_game_folder(folder: Path, dirs: BaseDirs, platform: str = sys.platform) -> Path:
    """``folder`` (built from the metadata) if it lies below one of :func:`game_roots`, also once symlinks are
    followed, and in no forbidden folder; :class:`SaveFolderError` otherwise."""
    real = _resolved(folder)
    for root in game_roots(dirs, platform):
        if not folder.is_relative_to(root):
            continue
        real_root = _resolved(root)
        if real.is_relative_to(real_root):
            for below in (folder.relative_to(root), real.relative_to(real_root)):
                part = _forbidden_part(below)
                if part is not None:
                    raise SaveFolderError(
                        f"The PYDT service describes a save folder in {part!r}, where the system starts programs "
                        "from; pydt-tray will not use it. Please choose the save folder in the settings."
                    )
            return folder
        raise SaveFolderError(
            f"The save folder {folder} leads outside {root} through a symbolic link; pydt-tray will not use it. "
            "Please choose the save folder in the settings."
        )
    raise SaveFolderError(
        f"The PYDT service describes a save folder outside the places games keep their saves ({folder}); "
        "pydt-tray will not use it. Please choose the save folder in the settings."
    )


def stores_of(civ_game: CivGame) -> list[str]:
    """The stores the game has a data path for: steam, epic, then any newer ones."""
    known = [store for store in STORES if civ_game.data_paths.get(store)]
    return known + [store for store in civ_game.data_paths if store not in STORES and civ_game.data_paths[store]]


def _location(civ_game: CivGame, key: str) -> SaveLocation | None:
    return civ_game.save_locations.get(key)


def _data_path(civ_game: CivGame, location: SaveLocation, dirs: BaseDirs, store: str) -> Path:
    base = dirs.get(location.base_path)
    if base is None:
        raise SaveFolderError(
            f"The PYDT service describes the {civ_game.display_name} save folder in a way pydt-tray does not "
            f"understand (base {location.base_path!r}). Please choose the save folder in the settings."
        )
    data = location.data_path_overrides.get(store) or civ_game.data_paths.get(store, "")
    return _join(base, location.prefix, data)


def _existing_data_path(civ_game: CivGame, dirs: BaseDirs, key: str, store: str) -> Path | None:
    """The data path the game really uses on this platform (Proton first on Linux), or None."""
    native = _location(civ_game, key)
    if native is None:
        return None
    if key == "linux":
        proton = _location(civ_game, PROTON_KEY)
        if proton is not None:
            proton_path = _data_path(civ_game, proton, dirs, store)
            if proton_path.exists():
                return proton_path
    return _data_path(civ_game, native, dirs, store)


def detect_store(civ_game: CivGame, dirs: BaseDirs, platform: str = sys.platform, choice: str = "auto") -> str:
    """The store whose copy of the game to use: ``choice`` if the game has it, else the first store whose
    data folder exists (steam before epic), else the first store the game lists."""
    stores = stores_of(civ_game)
    if choice in stores:
        return choice
    key = platform_key(platform)
    for store in stores:
        try:
            path = _existing_data_path(civ_game, dirs, key, store)
        except SaveFolderError:
            continue
        if path is not None and path.exists():
            return store
    return stores[0] if stores else STORES[0]


def default_save_dir(civ_game: CivGame, dirs: BaseDirs, platform: str = sys.platform, store: str = "steam") -> Path:
    """The game's hotseat save folder for ``store`` when the user has not chosen one (§7.2 steps 4-6)."""
    key = platform_key(platform)
    data = _existing_data_path(civ_game, dirs, key, store)
    if data is None:
        raise SaveFolderError(
            f"pydt-tray does not know where {civ_game.display_name} keeps its saves on this system. "
            "Please choose the save folder in the settings."
        )
    return check_game_folder(_join(data, civ_game.save_path), dirs, platform)


def save_dir_for(
    civ_game: CivGame, settings: Settings, dirs: BaseDirs | None = None, platform: str = sys.platform
) -> Path:
    """The folder turns of this game are placed in and saves are watched in.

    The user's ``save_dir_<game>`` setting, when set, is used exactly (no ``savePath`` appended).
    A game without such settings uses the automatic folder and store.
    """
    current = settings.snapshot()
    override = current.per_game("save_dir", civ_game.id) or ""
    if override.strip():
        return refuse_forbidden_folder(Path(override.strip()).expanduser())
    dirs = dirs or base_dirs(platform)
    store = detect_store(civ_game, dirs, platform, current.per_game("store", civ_game.id) or "auto")
    return default_save_dir(civ_game, dirs, platform, store)


def ensure_save_dir(path: str | os.PathLike[str], platform: str = sys.platform) -> Path:
    """Create the save folder and its ``pydt-archive`` subfolder if missing; returns the folder.

    A folder the system starts programs from is refused before anything is created (:func:`refuse_forbidden_folder`).
    """
    folder = refuse_forbidden_folder(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ARCHIVE_DIR_NAME).mkdir(exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
    except OSError as error:
        reason = error.strerror or str(error)
        message = f"The save folder {folder} cannot be created or used ({reason})."
        if platform_key(platform) == "win32":
            message += (
                ' If your Documents folder is kept in OneDrive with "Files On-Demand", OneDrive may be hiding it:'
                ' mark the folder "Always keep on this device", or choose another save folder in the settings.'
            )
        else:
            message += " Please check the folder's permissions, or choose another save folder in the settings."
        raise SaveFolderError(message) from error
    return folder
