"""The game list window: order, texts, badges, countdowns and buttons, rendered from a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGuiNamespace
from PySide6.QtWidgets import QLabel

from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.ui.game_card import ago, time_text
from pydt_tray.ui.games_window import GamesWindow
from pydt_tray.ui.tray import Tray, TrayModel
from tests.helpers.tray_menu import click, menu_texts

ME, ALICE, BOB = "1001", "1002", "1003"
NOW = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
NAMES = {ALICE: "Alice", BOB: "Bob"}


def game(game_id: str, current: str, *, minutes_ago: float = 60, turn: int = 5, **fields) -> Game:
    moment = NOW - timedelta(minutes=minutes_ago)
    base = dict(
        game_id=game_id,
        display_name=f"Game {game_id}",
        current_player_steam_id=current,
        in_progress=True,
        round=turn + 10,
        game_turn_range_key=turn,
        updated_at=moment,
        last_turn_end_date=moment if turn > 1 else None,
    )
    base.update(fields)
    return Game(**base)


@pytest.fixture
def window(qtbot):
    widget = GamesWindow("games")
    qtbot.addWidget(widget)
    return widget


def snapshot() -> Snapshot:
    return Snapshot.build(
        ME,
        [
            game("old-mine", ME, minutes_ago=600),
            game("theirs", ALICE, minutes_ago=5),
            game("congress", ME, minutes_ago=900, flags=("CIV6_CONGRESS_TURN",)),
            game("first", ME, minutes_ago=1, turn=1),
            game("timer", BOB, minutes_ago=30, turn_timer_minutes=120, game_type="CIV7"),
            game("late", BOB, minutes_ago=300, turn_timer_minutes=60),
        ],
    )


def test_order_texts_and_badges(window):
    window.update_view(snapshot(), "3 turns waiting · live", NAMES.get, now=NOW)
    rows = window.rows()
    assert [row[0] for row in rows] == [
        "Game congress",  # mine, more flags first
        "Game first",  # mine, most recently updated
        "Game old-mine",
        "Game theirs",  # then the others, most recently updated first
        "Game timer",
        "Game late",
    ]
    assert rows[0] == ["Game congress", "CIV6", "Round 15", "your turn", "last turn 15 hours ago", "congress turn"]
    assert rows[1][4:] == ["no save uploaded yet", "upload the first save on the website"]
    assert rows[3][3:5] == ["Alice's turn", "last turn 5 minutes ago"]
    assert rows[4][1:5] == ["CIV7", "Round 15", "Bob's turn", "timer expires in 1 hour and 30 minutes"]
    assert rows[5][4] == "timer expires soon"
    assert window.status.text() == "3 turns waiting · live"


def test_buttons_and_signals(window, qtbot):
    window.update_view(snapshot(), "", NAMES.get, now=NOW)
    texts = {card.game_id: [b.text() for b in card.buttons] for card in window.cards}
    assert texts["congress"] == ["Play turn", "Open game page"]
    assert texts["first"] == ["Open game page"]  # turn 1: the save is uploaded on the website
    assert texts["theirs"] == ["Open game page"]
    with qtbot.waitSignal(window.play_requested, timeout=1000) as played:
        window.card("old-mine").button("Play turn").click()
    assert played.args == ["old-mine"]
    with qtbot.waitSignal(window.open_game, timeout=1000) as opened:
        window.card("theirs").button("Open game page").click()
    assert opened.args == ["theirs"]
    with qtbot.waitSignal(window.refresh_requested, timeout=1000):
        window.refresh_button.click()


def test_sections_and_highlight(window):
    window.update_view(snapshot(), "", NAMES.get, now=NOW)
    from PySide6.QtWidgets import QLabel

    sections = [label.text() for label in window.list_widget.findChildren(QLabel, "section")]
    assert sections == ["Your turn (3)", "Other games (3)"]
    assert [card.property("mine") for card in window.cards] == ["true"] * 3 + ["false"] * 3


def test_type_names_and_unknown_player(window):
    snap = Snapshot.build(ME, [game("x", "9999", game_type="CIV6")])
    window.update_view(snap, "", NAMES.get, now=NOW)
    assert window.rows()[0][1:4] == ["CIV6", "Round 15", "9999's turn"]
    window.set_type_names({"CIV6": "Civilization 6"})
    assert window.rows()[0][1] == "Civilization 6"


@pytest.mark.parametrize(
    ("snap", "status", "expected"),
    [
        (None, "signed out", "Sign in to see your games."),
        (None, "loading games…", "Loading your games…"),
        (Snapshot.build(ME, []), "no turns waiting", "You have no games."),
    ],
)
def test_empty_states(window, snap, status, expected):
    from PySide6.QtWidgets import QLabel

    window.update_view(snap, status, NAMES.get, now=NOW)
    assert window.rows() == []
    assert [label.text() for label in window.list_widget.findChildren(QLabel, "empty")] == [expected]


def test_rerender_replaces_the_cards(window, qtbot):
    window.update_view(snapshot(), "", NAMES.get, now=NOW)
    window.update_view(Snapshot.build(ME, [game("only", ALICE)]), "", NAMES.get, now=NOW)
    assert [row[0] for row in window.rows()] == ["Game only"]
    qtbot.waitUntil(lambda: len(window.list_widget.findChildren(type(window.cards[0]))) == 1, timeout=2000)


def listed_widgets(window: GamesWindow) -> list[object]:
    """The widgets of the list, in layout order (the closing stretch left out)."""
    layout = window.list_layout
    return [layout.itemAt(i).widget() for i in range(layout.count()) if layout.itemAt(i).widget() is not None]


def test_a_render_keeps_the_cards_of_unchanged_games_and_updates_their_time(window, qtbot):
    window.update_view(snapshot(), "", NAMES.get, now=NOW)
    before = {card.game_id: card for card in window.cards}
    items = {card.game_id: window.list_layout.itemAt(window.list_layout.indexOf(card)) for card in window.cards}
    changed = [g if g.game_id != "theirs" else game("theirs", ME, minutes_ago=1, turn=6) for g in snapshot().games]
    later = NOW + timedelta(hours=2)
    window.update_view(Snapshot.build(ME, changed), "", NAMES.get, now=later)
    after = {card.game_id: card for card in window.cards}
    assert after.keys() == before.keys()
    assert all(after[key] is before[key] for key in before), "every card is updated in place"
    theirs = after["theirs"]
    assert theirs.whose == "your turn" and theirs.property("mine") == "true" and "Round" in theirs.detail.text()
    assert theirs.button("Play turn") is not None and not theirs.button("Play turn").isHidden()
    unmoved = [key for key in before if key != "theirs" and before[key].mine]
    assert all(window.list_layout.itemAt(window.list_layout.indexOf(after[k])) is items[k] for k in unmoved), (
        "cards that did not move keep their layout item (no re-layout of the whole list)"
    )
    assert after["old-mine"].time == "last turn 12 hours ago" and "12 hours ago" in after["old-mine"].detail.text()
    listed = Snapshot.build(ME, changed)
    assert [row[0] for row in window.rows()] == [g.display_name for g in (*listed.my_turns(), *listed.others())]
    assert [w for w in listed_widgets(window) if w in window.cards] == window.cards, "the layout order follows"
    qtbot.waitUntil(lambda: len(window.list_widget.findChildren(type(window.cards[0]))) == len(after), timeout=2000)

    back = [g if g.game_id != "theirs" else game("theirs", ALICE, minutes_ago=1, turn=7) for g in changed]
    window.update_view(Snapshot.build(ME, back), "", NAMES.get, now=later)
    assert window.card("theirs") is theirs and theirs.property("mine") == "false"
    assert theirs.button("Play turn") is None and theirs.whose != "your turn"
    listed = Snapshot.build(ME, back)
    assert [card.game_id for card in window.cards] == [g.game_id for g in (*listed.my_turns(), *listed.others())]
    assert [w for w in listed_widgets(window) if w in window.cards] == window.cards


def test_a_card_with_other_badges_is_built_anew_in_its_place(window, qtbot):
    window.update_view(snapshot(), "", NAMES.get, now=NOW)
    old = window.card("theirs")
    congress = game("theirs", ALICE, flags=("CIV6_CONGRESS_TURN",))
    flagged = [g if g.game_id != "theirs" else congress for g in snapshot().games]
    window.update_view(Snapshot.build(ME, flagged), "", NAMES.get, now=NOW)
    new = window.card("theirs")
    assert new is not old and new.badges == ["congress turn"]
    assert [w for w in listed_widgets(window) if w in window.cards] == window.cards
    qtbot.waitUntil(lambda: old not in window.list_widget.findChildren(type(new)), timeout=2000)


def test_time_texts():
    assert ago(None, NOW) == "never"
    assert ago(NOW - timedelta(seconds=30), NOW) == "just now"
    assert ago(NOW - timedelta(days=3, hours=4, minutes=5), NOW) == "3 days and 4 hours ago"
    assert ago(NOW - timedelta(days=400), NOW) == "1 year and 1 month ago"
    assert time_text(game("a", ME, minutes_ago=0.5), NOW) == "last turn just now"
    no_dates = Game(game_id="b", display_name="b", updated_at=None)
    assert time_text(no_dates, NOW) == "no turn played yet"
    timer = game("c", ME, minutes_ago=10, turn_timer_minutes=24 * 60)
    assert time_text(timer, NOW) == "timer expires in 23 hours and 50 minutes"
    # without lastTurnEndDate the timer runs from updatedAt
    from_update = game("d", ME, minutes_ago=10, turn_timer_minutes=20, last_turn_end_date=None)
    assert time_text(from_update, NOW) == "timer expires in 10 minutes"


HOSTILE = "<b>Big</b> <img src='file:///etc/passwd'> <a href='https://example.org'>click</a>"


def test_service_text_is_shown_as_plain_text_never_rich_text(window):
    hostile = Snapshot.build(
        ME,
        [
            game("mine", ME, display_name=HOSTILE, flags=("CIV6_CONGRESS_TURN", "<i>FLAG</i>")),
            game("theirs", ALICE, display_name="<h1>Theirs</h1>"),
        ],
    )
    window.update_view(hostile, "signed in · <u>The service said: no</u>", {ALICE: "<b>Alice</b>"}.get, now=NOW)
    labels = window.findChildren(QLabel)
    shown = {label.text(): label.textFormat() for label in labels if QtGuiNamespace.mightBeRichText(label.text())}
    assert HOSTILE in shown and "<i>FLAG</i>" in shown and "signed in · <u>The service said: no</u>" in shown
    assert any("<b>Alice</b>'s turn" in text for text in shown)
    rich = {text: form for text, form in shown.items() if form != Qt.TextFormat.PlainText}
    assert rich == {}


def test_menu_entries_show_service_names_as_they_are(qapp):
    tray = Tray()
    rock = game("rock", ME, display_name="Rock & Roll")
    other = game("other", ALICE, display_name="Salt & Pepper")
    tray.render(TrayModel(signed_in=True, my_turns=(rock,), others=(other,)))
    entries = [action for action in tray.menu.actions() if not action.isSeparator()]
    sub = next(action.menu() for action in entries if action.menu() is not None)
    shown = [action.iconText() for action in entries] + [action.iconText() for action in sub.actions()]
    assert any(text.startswith("▶ Rock & Roll") for text in shown), shown
    assert any(text.startswith("Salt & Pepper") for text in shown), shown
    assert any(text.startswith("▶ Rock & Roll") for text in menu_texts(tray))
    assert click(tray, "▶ Rock & Roll")


def test_a_failed_first_load_shows_the_error_and_a_retry_button(window, qtbot):
    from PySide6.QtWidgets import QLabel

    window.update_view(None, "loading games… · checking every 90 s", NAMES.get, now=NOW, error="No connection.")
    assert window.list_widget.findChildren(QLabel, "empty") == []
    [label] = window.list_widget.findChildren(QLabel, "loadError")
    assert label.text() == "Your games could not be loaded: No connection."
    assert window.empty_button is not None and window.empty_button.text() == "Retry"
    with qtbot.waitSignal(window.refresh_requested, timeout=2000):
        window.empty_button.click()
    window.update_view(Snapshot.build(ME, [game("only", ALICE)]), "", NAMES.get, now=NOW)
    assert window.empty_button is None and len(window.rows()) == 1


def test_the_signed_out_window_has_a_sign_in_button(window, qtbot):
    window.update_view(None, "signed out", NAMES.get, now=NOW)
    assert window.empty_button is not None and window.empty_button.text() == "Sign in…"
    with qtbot.waitSignal(window.sign_in_requested, timeout=2000):
        window.empty_button.click()


def test_a_notice_is_plain_text_and_goes_away_when_hidden(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    window.show_notice("No web browser could be opened. <b>x</b>")
    assert window.notice.isVisible() and window.notice.textFormat() == Qt.TextFormat.PlainText
    window.hide()
    assert not window.notice.isVisible() and window.notice.text() == ""


@pytest.mark.parametrize("name", ["<b>Big</b> game", "<img src=x>", "Rock & Roll <3", "two\n<i>lines</i>", "A & B"])
def test_the_tray_tooltip_shows_service_text_literally(qapp, name):
    from PySide6.QtGui import QTextDocument

    from pydt_tray.ui.tray import tooltip_text

    text = f"pydt-tray: 1 turn waiting · {name}"
    shown = tooltip_text(text)
    if QtGuiNamespace.mightBeRichText(shown):
        document = QTextDocument()
        document.setHtml(shown)
        shown = document.toPlainText().replace("\u2029", "\n").replace("\u2028", "\n")
    assert shown == text


SMACK_ENTRIES = (("smack:open:theirs", "Open smack talk"), ("smack:read:theirs", "Mark read"))


def test_unread_smack_talk_shows_on_the_card_and_its_buttons_emit_keys(window, qtbot):
    window.game_smack = lambda g: SMACK_ENTRIES if g.game_id == "theirs" else ()
    post = game("theirs", ALICE, latest_discourse_post_number=4, latest_discourse_post_user="bob")
    window.update_view(Snapshot.build(ME, [post, game("old-mine", ME)]), "ok", NAMES.get, now=NOW)
    card = window.card("theirs")
    assert card.unread_smack and not window.card("old-mine").unread_smack
    assert card.smack_label.text() == "New smack talk by bob"
    keys: list[str] = []
    window.action_requested.connect(keys.append)
    qtbot.mouseClick(card.button("Open smack talk"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(card.button("Mark read"), Qt.MouseButton.LeftButton)
    assert keys == ["smack:open:theirs", "smack:read:theirs"]
    window.game_smack = lambda g: ()
    window.update_view(Snapshot.build(ME, [post, game("old-mine", ME)]), "ok", NAMES.get, now=NOW)
    assert not window.card("theirs").unread_smack and window.card("theirs").button("Mark read") is None


def test_no_sideways_scrolling_at_520_px(window, qtbot):
    from PySide6.QtWidgets import QScrollArea

    window.game_actions = lambda g: (("daily:mute:" + g.game_id, "Mute this game"),)
    window.game_smack = lambda g: SMACK_ENTRIES
    window.update_view(snapshot(), "ok", NAMES.get, now=NOW)
    window.resize(520, 500)
    window.show()
    qtbot.waitExposed(window)
    bar = window.findChild(QScrollArea).horizontalScrollBar()
    qtbot.waitUntil(lambda: all(card.width() <= window.width() for card in window.cards))
    assert not bar.isVisible() and bar.maximum() == 0
