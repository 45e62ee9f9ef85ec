"""The relay stream's settings: which servers are accepted, and that secrets stay out of ``repr``."""

from __future__ import annotations

import pytest

from pydt_tray.push.ntfy_config import RelayConfig, RelayConfigError, check_server_url, is_loopback_host, topic_hint

TOPIC = "pydtAbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://ntfy.sh", "https://ntfy.sh"),
        ("https://ntfy.sh/", "https://ntfy.sh"),
        ("HTTPS://Relay.Example.org:8443/ntfy/", "https://relay.example.org:8443/ntfy"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.5.0.1", "http://127.5.0.1"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
        ("http://localhost:9000", "http://localhost:9000"),
    ],
)
def test_accepted_servers(given: str, expected: str) -> None:
    assert check_server_url(given) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("http://ntfy.sh", "only allowed for a relay on this machine"),
        ("http://192.168.1.10:80", "only allowed for a relay on this machine"),
        ("http://10.0.0.1", "https://10.0.0.1"),
        ("ftp://ntfy.sh", "must start with https://"),
        ("ntfy.sh", "must start with https://"),
        ("https://", "must start with https://"),
        ("https://user:pw@ntfy.sh", "user name or password"),
        ("https://ntfy.sh/?x=1", "query"),
        ("https://ntfy.sh:99999", "not a valid relay URL"),
    ],
)
def test_refused_servers(given: str, words: str) -> None:
    with pytest.raises(RelayConfigError, match=words.replace("?", r"\?").replace(".", r"\.")):
        check_server_url(given)


def test_loopback_detection() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("LOCALHOST")
    assert not is_loopback_host("128.0.0.1") and not is_loopback_host("localhost.example.org")


def test_config_hides_topic_and_token() -> None:
    config = RelayConfig(server="https://ntfy.sh", topic=TOPIC, token="tk_secretvalue")
    assert TOPIC not in repr(config) and "tk_secretvalue" not in repr(config)
    assert config.webhook_url == f"https://ntfy.sh/{TOPIC}"
    assert config.hint == "https://ntfy.sh/pydt…" and topic_hint(TOPIC) == "…/pydt…"
    assert config.dead_after_seconds == 90


@pytest.mark.parametrize(
    "changes",
    [
        {"topic": "has space"},
        {"topic": "a" * 65},
        {"topic": ""},
        {"server": "https://ntfy.sh/"},  # not normalised
        {"server": "http://ntfy.sh"},
        {"token": "two\nlines"},
        {"token": ""},
        {"keepalive_seconds": 0},
        {"min_reconnect_seconds": 5, "max_reconnect_seconds": 1},
    ],
)
def test_config_refuses_bad_values(changes: dict) -> None:
    values = {"server": "https://ntfy.sh", "topic": TOPIC, **changes}
    with pytest.raises(RelayConfigError):
        RelayConfig(**values)
