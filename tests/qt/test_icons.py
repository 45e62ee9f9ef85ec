"""The painted tray icons and the app icon."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QImage

from pydt_tray.ui import icon_painter, icons
from pydt_tray.ui.icons import TRAY_SIZES, TrayStatus, app_icon, count_label, tray_icon


def pixels(icon: QIcon, size: int = 64) -> QImage:
    image = icon.pixmap(QSize(size, size)).toImage()
    assert image.size() == QSize(size, size)
    return image.convertToFormat(QImage.Format.Format_ARGB32)


@pytest.mark.parametrize("status", list(TrayStatus))
def test_each_status_has_all_sizes(qapp, status):
    icon = tray_icon(status, 3)
    assert not icon.isNull()
    assert sorted(s.width() for s in icon.availableSizes()) == list(TRAY_SIZES)
    assert all(s.width() == s.height() for s in icon.availableSizes())
    image = pixels(icon, 16)
    assert image.pixelColor(8, 8).alpha() == 255  # the token is painted in the middle
    assert image.pixelColor(0, 0).alpha() == 0  # corners stay transparent


def test_statuses_look_different(qapp):
    images = [pixels(tray_icon(status, 0)) for status in TrayStatus]
    for i, first in enumerate(images):
        for second in images[i + 1 :]:
            assert first != second


def test_your_turn_shows_the_count(qapp):
    one, two = pixels(tray_icon(TrayStatus.YOUR_TURN, 1)), pixels(tray_icon(TrayStatus.YOUR_TURN, 2))
    assert one != two
    assert pixels(tray_icon(TrayStatus.YOUR_TURN, 0)) != one  # no badge without turns
    for size in TRAY_SIZES:  # readable at every size, not only the largest
        assert pixels(tray_icon(TrayStatus.YOUR_TURN, 1), size) != pixels(tray_icon(TrayStatus.YOUR_TURN, 2), size)


def test_counts_above_nine_render_as_nine_plus(qapp):
    def rendered(count: int) -> QImage:  # painted afresh, not a cached icon
        image = icon_painter.render_icon_image(TrayStatus.YOUR_TURN, count_label(count), 64)
        return image.convertToFormat(QImage.Format.Format_ARGB32)

    twelve, ten, nine = rendered(12), rendered(10), rendered(9)
    assert twelve == ten
    assert twelve != nine
    assert count_label(12) == "9+"
    assert [count_label(n) for n in (-1, 0, 1, 9, 10)] == ["", "", "1", "9", "9+"]


def test_count_is_ignored_outside_your_turn(qapp):
    assert pixels(tray_icon(TrayStatus.IDLE, 5)) == pixels(tray_icon(TrayStatus.IDLE, 0))


def test_returned_icons_do_not_share_state_with_the_cache(qapp):
    icon = tray_icon(TrayStatus.ERROR)
    icon.addPixmap(tray_icon(TrayStatus.IDLE).pixmap(48, 48))
    assert 48 in [s.width() for s in icon.availableSizes()]
    assert 48 not in [s.width() for s in tray_icon(TrayStatus.ERROR).availableSizes()]


def test_app_icon_loads_the_packaged_pngs_without_an_svg_renderer(qapp, caplog):
    with caplog.at_level(logging.WARNING, logger="pydt_tray.ui.icons"):
        icon = app_icon()
    assert not icon.isNull()
    assert caplog.records == []  # the packaged PNGs were used, not the fallback
    assert {16, 64, 256} <= {s.width() for s in icon.availableSizes()}
    assert icon.pixmap(64, 64).toImage().pixelColor(32, 32).alpha() > 0
    assert not [lib for lib in _loaded_libraries() if "svg" in Path(lib).name.lower()]


def _loaded_libraries() -> list[str]:
    return [line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "/" in line]


@pytest.mark.parametrize("broken", ["missing", "wrong size"])
def test_app_icon_falls_back_to_painting(qapp, monkeypatch, caplog, tmp_path, broken):
    files = {size: tmp_path / f"{size}.png" for size in icons.APP_ICON_SIZES}
    for size, path in files.items():
        if broken == "wrong size":
            QImage(size + 1, size + 1, QImage.Format.Format_ARGB32).save(str(path))
    monkeypatch.setattr(icons, "_app_icon_files", lambda: files)
    with caplog.at_level(logging.WARNING, logger="pydt_tray.ui.icons"):
        icon = app_icon()
    assert not icon.isNull()
    assert "could not be loaded" in caplog.text
    assert pixels(icon) == pixels(tray_icon(TrayStatus.IDLE))


def _share(image: QImage, test) -> float:
    """The share of the image's opaque pixels whose colour passes ``test(r, g, b)``."""
    hits = total = 0
    for y in range(image.height()):
        for x in range(image.width()):
            color = image.pixelColor(x, y)
            if color.alpha() < 200:
                continue
            total += 1
            hits += bool(test(color.red(), color.green(), color.blue()))
    return hits / total


def _red(r: int, g: int, b: int) -> bool:
    return r > 150 and g < 100 and b < 100


def _opaque(image: QImage) -> set[tuple[int, int]]:
    return {(x, y) for y in range(image.height()) for x in range(image.width()) if image.pixelColor(x, y).alpha() > 127}


@pytest.mark.parametrize("size", [16, 22])
def test_a_one_turn_badge_cannot_pass_for_the_error_at_tray_size(qapp, size):
    one = pixels(tray_icon(TrayStatus.YOUR_TURN, 1), size)
    error = pixels(tray_icon(TrayStatus.ERROR), size)
    # colour: the error is red all over; the turn icon has no red at all (its badge is blue)
    assert _share(error, _red) > 0.4
    assert _share(one, _red) < 0.02
    assert _share(one, lambda r, g, b: b > 150 and r < 100) > 0.1
    # shape: the error is a triangle, the turn icon round; their silhouettes differ in many pixels
    differing = _opaque(one) ^ _opaque(error)
    assert len(differing) > 0.15 * size * size
    top_corners = [(1, 2), (size - 2, 2)]  # outside a triangle's apex, inside a round token's badge or rim
    assert all(error.pixelColor(x, y).alpha() < 60 for x, y in top_corners)


def test_the_shipped_tray_pngs_are_what_the_painter_draws(qapp):
    """resources/tray holds every variant at every tray size, pixel for pixel (scripts/render_tray_icons.py)."""
    variants = icons.tray_variants()
    assert len(variants) == len(TrayStatus) - 1 + 11  # YOUR_TURN without a badge, 1..9, 9+
    for status, label in variants:
        files = icons._resource_files(icons.TRAY_ICON_PNG, TRAY_SIZES, name=icons.tray_icon_name(status, label))
        for size, path in files.items():
            shipped = QImage(str(path))
            assert not shipped.isNull(), f"{path} is missing: run scripts/render_tray_icons.py"
            painted = icon_painter.render_icon_image(status, label, size).convertToFormat(QImage.Format.Format_ARGB32)
            assert shipped.convertToFormat(QImage.Format.Format_ARGB32) == painted, path


def test_tray_icons_come_from_the_files_and_are_painted_only_without_them(qapp, monkeypatch, tmp_path):
    painted: list[tuple[TrayStatus, str, int]] = []
    real_render = icon_painter.render_icon_image

    def counting_render(status, label, size):
        painted.append((status, label, size))
        return real_render(status, label, size)

    monkeypatch.setattr(icon_painter, "render_icon_image", counting_render)
    icons._cached_icon.cache_clear()
    try:
        from_files = tray_icon(TrayStatus.YOUR_TURN, 12)
        assert painted == []  # the packaged "9+" PNGs were used
        monkeypatch.setattr(icons, "_resource_files", lambda *args, **kwargs: {16: tmp_path / "missing.png"})
        icons._cached_icon.cache_clear()
        fallback = tray_icon(TrayStatus.YOUR_TURN, 12)
        assert [size for *_, size in painted] == list(TRAY_SIZES)
        for size in TRAY_SIZES:
            assert pixels(fallback, size) == pixels(from_files, size)
    finally:
        icons._cached_icon.cache_clear()
