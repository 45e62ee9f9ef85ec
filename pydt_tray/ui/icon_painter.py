"""The drawings of the tray icons, painted so the turn count can be drawn.

The motif is a round token with an hourglass. Each status has its own colour and mark:

- IDLE: teal token.
- YOUR_TURN: amber token with a blue badge holding the number of waiting turns ("9+" above nine).
- POLLING: dimmed grey token with a broken-link mark (push is down, the app is polling).
- SIGNED_OUT: grey token with a crossed-out key.
- SMACK: amber token with a speech bubble (unread smack talk, no turn waiting).
- ERROR: a red warning triangle (not a token) with a white "!".

At tray size (16 px) a turn badge "1" must never pass for the error "!": the badge is blue, never red, its
"1" has a foot, and the error is the only icon that is not round.

Digits are drawn as strokes rather than with a font, so they look the same everywhere and stay legible at
16 px. Everything is drawn on a 64-unit square and scaled to each size. The running app loads the PNGs made
from these drawings (see :mod:`pydt_tray.ui.icons`); this module is imported only when they are missing.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen

from pydt_tray.ui.icons import TrayStatus

_TOKEN = {
    TrayStatus.IDLE: ("#2b8a99", "#1b5d68", "#ffffff"),
    TrayStatus.YOUR_TURN: ("#f2a31b", "#b06f00", "#4a2f00"),
    TrayStatus.POLLING: ("#9aa0a6", "#6b7075", "#e8eaed"),
    TrayStatus.SIGNED_OUT: ("#9aa0a6", "#6b7075", "#e8eaed"),
    TrayStatus.ERROR: ("#d32f2f", "#8e1b1b", "#ffffff"),
    TrayStatus.SMACK: ("#f2a31b", "#b06f00", "#4a2f00"),
}
_BADGE = QColor("#1e4fc2")  # blue: red is kept for the error and the crossed-out key
_SLASH = QColor("#d62828")
_MARK_INK = QColor("#3c4043")

# Stroke glyphs on a unit box (x right, y down); each glyph is a list of polylines.
_GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "0": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "1": [[(0.15, 0.25), (0.55, 0), (0.55, 1)], [(0.15, 1), (0.95, 1)]],
    "2": [[(0, 0), (1, 0), (1, 0.5), (0, 0.5), (0, 1), (1, 1)]],
    "3": [[(0, 0), (1, 0), (1, 1), (0, 1)], [(0.25, 0.5), (1, 0.5)]],
    "4": [[(0, 0), (0, 0.55), (1, 0.55)], [(0.8, 0), (0.8, 1)]],
    "5": [[(1, 0), (0, 0), (0, 0.5), (1, 0.5), (1, 1), (0, 1)]],
    "6": [[(1, 0), (0, 0), (0, 1), (1, 1), (1, 0.5), (0, 0.5)]],
    "7": [[(0, 0), (1, 0), (0.35, 1)]],
    "8": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0, 0.5), (1, 0.5)]],
    "9": [[(1, 0.5), (0, 0.5), (0, 0), (1, 0), (1, 1), (0, 1)]],
    "+": [[(0.5, 0.2), (0.5, 0.8)], [(0, 0.5), (1, 0.5)]],
}


def render_icon_image(status: TrayStatus, label: str, size: int) -> QImage:
    """Paint one icon: ``label`` is the badge text (see :func:`pydt_tray.ui.icons.count_label`)."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(size / 64.0, size / 64.0)
        fill, rim, ink = (QColor(c) for c in _TOKEN[status])
        if status is TrayStatus.ERROR:
            _draw_warning(painter, fill, rim, ink)
        else:
            _draw_token(painter, fill, rim)
            _draw_hourglass(painter, ink)
        if status is TrayStatus.YOUR_TURN and label:
            _draw_badge(painter, label)
        elif status is TrayStatus.POLLING:
            _draw_broken_link(painter)
        elif status is TrayStatus.SIGNED_OUT:
            _draw_key_slash(painter)
        elif status is TrayStatus.SMACK:
            _draw_speech_bubble(painter)
    finally:
        painter.end()
    return image


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _draw_token(p: QPainter, fill: QColor, rim: QColor) -> None:
    p.setPen(_pen(rim, 5))
    p.setBrush(QBrush(fill))
    p.drawEllipse(QPointF(32, 32), 28, 28)


def _draw_hourglass(p: QPainter, ink: QColor) -> None:
    glass = QPainterPath()
    glass.moveTo(21, 17)
    glass.lineTo(43, 17)
    glass.lineTo(32, 32)
    glass.lineTo(43, 47)
    glass.lineTo(21, 47)
    glass.lineTo(32, 32)
    glass.closeSubpath()
    p.setPen(_pen(ink, 4))
    p.setBrush(QBrush(ink))
    p.drawPath(glass)
    p.drawLine(QPointF(18, 15), QPointF(46, 15))
    p.drawLine(QPointF(18, 49), QPointF(46, 49))


def _draw_warning(p: QPainter, fill: QColor, rim: QColor, ink: QColor) -> None:
    triangle = QPainterPath()
    triangle.moveTo(32, 4)
    triangle.lineTo(61, 57)
    triangle.lineTo(3, 57)
    triangle.closeSubpath()
    p.setPen(_pen(rim, 5))
    p.setBrush(QBrush(fill))
    p.drawPath(triangle)
    p.setPen(_pen(ink, 8))
    p.drawLine(QPointF(32, 22), QPointF(32, 37))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(ink))
    p.drawEllipse(QPointF(32, 48), 5, 5)


def _draw_badge(p: QPainter, label: str) -> None:
    p.setPen(_pen(QColor("#ffffff"), 3))
    p.setBrush(QBrush(_BADGE))
    p.drawEllipse(QPointF(43, 21), 20, 20)
    height, gap = 18.0, 3.0
    widths = [9.0 if ch.isdigit() else 8.0 for ch in label]
    total = sum(widths) + gap * (len(widths) - 1)
    x = 43 - total / 2
    p.setPen(_pen(QColor("#ffffff"), 4))
    p.setBrush(Qt.BrushStyle.NoBrush)
    for ch, width in zip(label, widths, strict=True):
        _draw_glyph(p, ch, QRectF(x, 21 - height / 2, width, height))
        x += width + gap


def _draw_glyph(p: QPainter, ch: str, box: QRectF) -> None:
    for line in _GLYPHS[ch]:
        points = [QPointF(box.x() + gx * box.width(), box.y() + gy * box.height()) for gx, gy in line]
        p.drawPolyline(points)


def _mark_disc(p: QPainter) -> None:
    p.setPen(_pen(_MARK_INK, 2.5))
    p.setBrush(QBrush(QColor("#ffffff")))
    p.drawEllipse(QPointF(46, 46), 17, 17)


def _draw_broken_link(p: QPainter) -> None:
    _mark_disc(p)
    p.setPen(_pen(_MARK_INK, 4))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.save()
    p.translate(46, 46)
    p.rotate(-45)
    p.drawRoundedRect(QRectF(-16, -4.5, 12, 9), 4.5, 4.5)  # two chain links, pulled apart
    p.drawRoundedRect(QRectF(4, -4.5, 12, 9), 4.5, 4.5)
    p.setPen(_pen(_MARK_INK, 2.5))
    p.drawLine(QPointF(-2, -7), QPointF(-3, -12))  # break marks
    p.drawLine(QPointF(2, 7), QPointF(3, 12))
    p.restore()


def _draw_key_slash(p: QPainter) -> None:
    _mark_disc(p)
    p.setPen(_pen(_MARK_INK, 3.5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(39, 46), 5, 5)  # bow
    p.drawPolyline([QPointF(44, 46), QPointF(57, 46)])  # shaft
    p.drawPolyline([QPointF(53, 46), QPointF(53, 51)])  # bit
    p.setPen(_pen(_SLASH, 4))
    p.drawLine(QPointF(36, 56), QPointF(56, 36))


def _draw_speech_bubble(p: QPainter) -> None:
    bubble = QPainterPath()
    bubble.addRoundedRect(QRectF(26, 26, 34, 24), 8, 8)
    tail = QPainterPath()
    tail.moveTo(34, 48)
    tail.lineTo(30, 60)
    tail.lineTo(44, 48)
    tail.closeSubpath()
    p.setPen(_pen(_MARK_INK, 2.5))
    p.setBrush(QBrush(QColor("#ffffff")))
    p.drawPath(bubble.united(tail))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(_BADGE))
    for x in (35, 43, 51):
        p.drawEllipse(QPointF(x, 38), 3, 3)
