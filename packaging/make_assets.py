"""Build-time assets for the frozen app, made from the repository's own files.

    python packaging/make_assets.py OUT_DIR

Writes into ``OUT_DIR``:

- ``pydt-tray-256.png`` (and 16..1024 px PNGs): the app icon rendered from ``resources/pydt-tray.svg`` with Qt;
- ``pydt-tray.ico``: a Windows icon holding PNG images of 16..256 px;
- ``pydt-tray.icns``: a macOS icon holding PNG images of 16..1024 px;
- ``version_info.txt``: a Windows version resource in PyInstaller's format, from ``pydt_tray.__version__``;
- ``_build_defaults.json`` only when ``PYDT_BUILD_IOT_ACCESS_KEY_ID`` and ``PYDT_BUILD_IOT_SECRET_ACCESS_KEY``
  are set (optional: ``PYDT_BUILD_IOT_ENDPOINT``, ``PYDT_BUILD_IOT_REGION``) or ``PYDT_BUILD_RELEASE_FEED_URL``
  is (the update check's feed; set but empty turns the check off); readable by the owner only and never
  printed.

Rendering needs no display: Qt's offscreen platform is used.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "pydt-tray.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (ic10 is 512@2x, i.e. 1024 px)
ICNS_TYPES = (
    (16, b"icp4"),
    (32, b"icp5"),
    (64, b"icp6"),
    (128, b"ic07"),
    (256, b"ic08"),
    (512, b"ic09"),
    (1024, b"ic10"),
)
BUILD_DEFAULTS_FILE = "_build_defaults.json"
BUILD_ENV = {  # environment variable at build time -> key read by pydt_tray.core.environment
    "PYDT_BUILD_IOT_ACCESS_KEY_ID": "iot_access_key_id",
    "PYDT_BUILD_IOT_SECRET_ACCESS_KEY": "iot_secret_access_key",
    "PYDT_BUILD_IOT_ENDPOINT": "iot_endpoint",
    "PYDT_BUILD_IOT_REGION": "iot_region",
}
FEED_ENV = "PYDT_BUILD_RELEASE_FEED_URL"  # -> "release_feed_url"; kept even when empty (no update check)


class AssetError(Exception):
    """An asset could not be made; the message says why."""


def read_version(root: Path = ROOT) -> str:
    """``__version__`` from ``pydt_tray/__init__.py`` without importing the package."""
    text = (root / "pydt_tray" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not match:
        raise AssertionError("no __version__ in pydt_tray/__init__.py")
    return match.group(1)


def render_pngs(svg: Path, sizes: set[int]) -> dict[int, bytes]:
    """The SVG rendered to PNG bytes at each size (square, transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtGui import QGuiApplication, QImageReader

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    data = svg.read_bytes()
    pngs: dict[int, bytes] = {}
    for size in sorted(sizes):
        source = QBuffer()
        source.setData(QByteArray(data))
        source.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(source, QByteArray(b"svg"))
        reader.setScaledSize(QSize(size, size))
        image = reader.read()
        source.close()
        if image.isNull():
            raise AssetError(f"Qt could not render {svg} at {size} px: {reader.errorString()}")
        target = QBuffer()
        target.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(target, "PNG"):
            raise AssetError(f"Qt could not encode the {size} px icon as PNG")
        pngs[size] = bytes(target.data().data())
        target.close()
    return pngs


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico with one PNG-compressed image per size (Windows Vista and later read these)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = b"", b""
    for size, png in sorted(pngs.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        images += png
        offset += len(png)
    return header + entries + images


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns whose elements are PNG images."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for size, kind in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def version_info_text(version: str) -> str:
    """A Windows VERSIONINFO resource in the Python-literal form PyInstaller's ``version=`` expects."""
    numbers = [int(part) for part in re.findall(r"\d+", version)[:4]]
    numbers += [0] * (4 - len(numbers))
    fixed = tuple(numbers)
    strings = {
        "CompanyName": "pydt-tray",
        "FileDescription": "pydt-tray: Play Your Damn Turn in the system tray",
        "FileVersion": version,
        "InternalName": "pydt-tray",
        "LegalCopyright": "MIT License",
        "OriginalFilename": "pydt-tray.exe",
        "ProductName": "pydt-tray",
        "ProductVersion": version,
    }
    string_structs = ",\n".join(f"          StringStruct({key!r}, {value!r})" for key, value in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={fixed}, prodvers={fixed}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
{string_structs}
      ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def build_defaults(environ: dict[str, str] | os._Environ[str]) -> dict[str, str] | None:
    """The values to bundle from ``PYDT_BUILD_*``, or None when neither a key pair nor a release feed is given.

    Half a key pair is an error (the message names the variables, never their values).
    """
    values = {key: environ.get(name, "").strip() for name, key in BUILD_ENV.items()}
    feed = {"release_feed_url": environ[FEED_ENV].strip()} if FEED_ENV in environ else {}
    key_id, secret = values["iot_access_key_id"], values["iot_secret_access_key"]
    if not key_id and not secret:
        if values["iot_endpoint"] or values["iot_region"]:
            raise AssetError("PYDT_BUILD_IOT_ENDPOINT/REGION need PYDT_BUILD_IOT_ACCESS_KEY_ID and _SECRET_ACCESS_KEY")
        return feed or None
    if not key_id or not secret:
        raise AssetError("set both PYDT_BUILD_IOT_ACCESS_KEY_ID and PYDT_BUILD_IOT_SECRET_ACCESS_KEY, or neither")
    return {**{key: value for key, value in values.items() if value}, **feed}


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only the owner can read."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def make_assets(out: Path, environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, Path]:
    """Make every asset in ``out``; returns name -> path (``build_defaults`` only when bundled)."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = set(ICO_SIZES) | {size for size, _ in ICNS_TYPES}
    pngs = render_pngs(SVG, sizes)
    made: dict[str, Path] = {}
    for size, png in pngs.items():
        (out / f"pydt-tray-{size}.png").write_bytes(png)
    made["png256"] = out / "pydt-tray-256.png"
    made["ico"] = out / "pydt-tray.ico"
    made["ico"].write_bytes(ico_bytes({size: pngs[size] for size in ICO_SIZES}))
    made["icns"] = out / "pydt-tray.icns"
    made["icns"].write_bytes(icns_bytes(pngs))
    made["version_info"] = out / "version_info.txt"
    made["version_info"].write_text(version_info_text(read_version()), encoding="utf-8")
    defaults_path = out / BUILD_DEFAULTS_FILE
    defaults = build_defaults(environ)
    if defaults is None:
        defaults_path.unlink(missing_ok=True)
    else:
        write_private(defaults_path, json.dumps(defaults, indent=2) + "\n")
        made["build_defaults"] = defaults_path
    return made


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        made = make_assets(Path(args[0]))
    except (AssetError, OSError) as error:
        print(f"make_assets: {error}", file=sys.stderr)
        return 1
    for name, path in sorted(made.items()):
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
