"""The update check against a real local HTTP feed: newer, same, bad JSON, offline."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from pydt_tray.core.updates import (
    PACKAGE_INDEX_FEED,
    UpdateCheck,
    feed_url,
    is_newer,
    parse_feed,
    version_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def checker(url: str, store: dict[str, Any], clock: Clock, *, enabled: bool = True) -> UpdateCheck:
    return UpdateCheck(store, url=url, enabled=lambda: enabled, current_version="1.2.0", clock=clock)


def test_a_newer_version_is_announced_once(feed):
    feed.serve_version("1.3.0")
    store: dict[str, Any] = {}
    check = checker(feed.url, store, Clock())
    assert check.due()
    release = check.check()
    assert release is not None and release.version == "1.3.0"
    assert release.url == "https://example.invalid/pydt-tray/1.3.0/"
    assert feed.requests[0]["user-agent"].startswith("pydt-tray/")
    note = check.notification()
    assert note is not None and note.kind == "update" and "1.3.0" in note.title
    assert note.url == release.url
    assert check.notification() is None
    # a restart remembers the version already announced
    again = checker(feed.url, store, Clock())
    assert again.check() is not None
    assert again.available() is not None and again.notification() is None
    # and a still newer version is announced again
    feed.serve_version("1.4.0rc1")
    assert again.check() is not None
    assert again.notification() is not None


def test_the_same_version_is_silent(feed):
    feed.serve_version("1.2.0")
    check = checker(feed.url, {}, Clock())
    assert check.check() is None
    assert check.available() is None and check.notification() is None


def test_bad_json_is_silent_and_logged(feed, caplog):
    feed.body = b'{"info": {"version": '
    check = checker(feed.url, {}, Clock())
    with caplog.at_level(logging.INFO, logger="pydt_tray.core.updates"):
        assert check.check() is None
    assert check.notification() is None
    assert any("Update check" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    feed.body = b'{"info": {"version": "latest"}}'
    assert check.check() is None and check.notification() is None


def test_http_error_is_silent(feed):
    feed.status = 503
    feed.serve_version("9.0")
    check = checker(feed.url, {}, Clock())
    assert check.check() is None and check.notification() is None


def test_offline_is_silent_and_logged(caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    check = checker(f"http://127.0.0.1:{port}/feed.json", {}, Clock())
    with caplog.at_level(logging.INFO, logger="pydt_tray.core.updates"):
        assert check.check() is None
    assert check.notification() is None
    assert any("Update check" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_checked_at_start_then_once_a_day(feed):
    feed.serve_version("1.2.0")
    clock = Clock()
    store: dict[str, Any] = {"checked_at": clock.now - 60}
    check = checker(feed.url, store, clock)
    assert check.due()  # at start, even if the last run checked a minute ago
    check.check()
    assert not check.due()
    clock.now += 24 * 3600 - 1
    assert not check.due()
    clock.now += 1
    assert check.due()
    assert len(feed.requests) == 1


def test_off_by_setting_or_empty_url(feed):
    assert not checker(feed.url, {}, Clock(), enabled=False).due()
    assert not checker("", {}, Clock()).due()
    store = {"latest": {"version": "9.0", "url": ""}}
    assert checker(feed.url, store, Clock(), enabled=False).available() is None


def test_feed_url_resolution():
    assert feed_url({}, build={}) == PACKAGE_INDEX_FEED
    assert feed_url({"PYDT_RELEASE_FEED_URL": ""}, build={}) == ""
    assert feed_url({"PYDT_RELEASE_FEED_URL": "http://127.0.0.1:1/f"}, build={}) == "http://127.0.0.1:1/f"
    assert feed_url({}, build={"release_feed_url": ""}) == ""
    assert feed_url({}, build={"release_feed_url": "https://example.invalid/feed"}) == "https://example.invalid/feed"
    assert feed_url({}, api_url="http://127.0.0.1:5000", build={}) == ""  # a simulator run asks nobody


def test_versions_and_feed_shapes():
    assert is_newer("1.10", "1.9")
    assert is_newer("2.0", "2.0rc2")
    assert is_newer("v1.2.1", "1.2")
    assert not is_newer("1.2.0", "1.2")
    assert not is_newer("junk", "1.0")
    assert version_key("1.0.dev3") is not None
    assert parse_feed({"version": "3.1", "url": "https://example.invalid/r"}).url == "https://example.invalid/r"
    with pytest.raises(ValueError):
        parse_feed([1, 2])
