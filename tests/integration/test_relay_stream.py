"""The relay subscriber against the local ntfy-compatible relay: real HTTP streams on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from pydt_tray.push.ntfy_config import PROBE_PREFIX, RELAY_TOPIC_LABEL, RelayConfig, RelayError
from pydt_tray.push.ntfy_http import fetch_cached, publish
from pydt_tray.push.ntfy_stream import BACKOFF, CONNECTED, STOPPED, RelaySubscriber
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.push_recorder import PushRecorder

TOPIC = "pydtTestTopic0123456789abcdefABCDEF"


def make_config(relay: NtfyRelay, **changes: object) -> RelayConfig:
    values: dict = {
        "server": relay.url,
        "topic": TOPIC,
        "keepalive_seconds": relay.keepalive,
        "min_reconnect_seconds": 0.05,
        "max_reconnect_seconds": 0.2,
        "connect_timeout": 2.0,
    }
    values.update(changes)
    return RelayConfig(**values)


@pytest.fixture
def recorder() -> PushRecorder:
    return PushRecorder()


@pytest.fixture
def subscriber(ntfy_relay: NtfyRelay, recorder: PushRecorder) -> Iterator[RelaySubscriber]:
    sub = RelaySubscriber(make_config(ntfy_relay), recorder)
    yield sub
    sub.stop()


def payloads(recorder: PushRecorder) -> list[bytes]:
    return [event[2] for event in recorder.of("message")]


def test_messages_arrive_as_push_messages_without_the_topic(
    ntfy_relay: NtfyRelay, recorder: PushRecorder, subscriber: RelaySubscriber
) -> None:
    subscriber.start()
    recorder.wait_for("connected")
    assert subscriber.state == CONNECTED
    ntfy_relay.publish(TOPIC, "It's Me's turn in Game (Round 3)")
    ntfy_relay.publish("someone-else", "not ours")
    recorder.wait_for("message")
    assert recorder.of("message") == [("message", RELAY_TOPIC_LABEL, b"It's Me's turn in Game (Round 3)")]
    assert all(TOPIC not in repr(event) for event in recorder.events)
    assert subscriber.last_message_time == ntfy_relay.messages(TOPIC)[0]["time"]
    assert subscriber.stop() is True
    assert recorder.events[-1] == ("stopped",)
    assert subscriber.state == STOPPED


def test_half_open_stream_is_declared_dead_and_resumes_without_loss_or_duplicates(
    ntfy_relay: NtfyRelay, recorder: PushRecorder, subscriber: RelaySubscriber
) -> None:
    subscriber.start()
    recorder.wait_for("connected")
    ntfy_relay.publish(TOPIC, "turn 1")
    recorder.wait_for("message")
    ntfy_relay.go_half_open()
    started = time.monotonic()
    ntfy_relay.publish(TOPIC, "turn 2")  # published while the stream is silent
    reason = recorder.wait_for("disconnected", timeout=10)[1]
    silent_for = time.monotonic() - started
    assert "no event from the relay for 2 s" in reason
    assert 1.5 <= silent_for < 6  # 2 x the 1 s keepalive, not sooner and not much later
    recorder.wait_for("connected", count=2)
    recorder.wait_for("message", count=2)
    last_subscribe = ntfy_relay.subscribes()[-1]
    assert last_subscribe.query["since"] == [ntfy_relay.messages(TOPIC)[0]["id"]]
    ntfy_relay.publish(TOPIC, "turn 3")
    recorder.wait_for("message", count=3)
    assert payloads(recorder) == [b"turn 1", b"turn 2", b"turn 3"]


def test_relay_restart_loses_nothing_and_duplicates_nothing(
    ntfy_relay: NtfyRelay, recorder: PushRecorder, subscriber: RelaySubscriber
) -> None:
    subscriber.start()
    recorder.wait_for("connected")
    for n in range(3):
        ntfy_relay.publish(TOPIC, f"before {n}")
    recorder.wait_for("message", count=3)
    ntfy_relay.restart(downtime=0.3, publish_while_down=[(TOPIC, "while down 1"), (TOPIC, "while down 2")])
    recorder.wait_for("disconnected")
    recorder.wait_for("connected", count=2, timeout=10)
    recorder.wait_for("message", count=5)
    ntfy_relay.drop_streams()
    recorder.wait_for("connected", count=3, timeout=10)
    ntfy_relay.publish(TOPIC, "after")
    recorder.wait_for("message", count=6)
    assert payloads(recorder) == [
        b"before 0", b"before 1", b"before 2", b"while down 1", b"while down 2", b"after",
    ]  # fmt: skip
    ids = [s.query.get("since", [None])[0] for s in ntfy_relay.subscribes()]
    assert ids[0] is None and all(ids[1:])


@pytest.mark.parametrize(("status", "words"), [(429, "too many requests"), (503, "HTTP 503"), (500, "HTTP 500")])
def test_error_answers_back_off_and_retry(
    ntfy_relay: NtfyRelay, recorder: PushRecorder, subscriber: RelaySubscriber, status: int, words: str
) -> None:
    ntfy_relay.fail_next(status, count=2, kind="subscribe")
    subscriber.start()
    first = recorder.wait_for("disconnected")[1]
    assert words in first
    recorder.wait_for("connected")
    assert len(recorder.of("disconnected")) == 2
    assert [r.status for r in ntfy_relay.requests("GET")][:3] == [status, status, 200]


def test_bearer_token_for_a_protected_topic(ntfy_relay: NtfyRelay, recorder: PushRecorder) -> None:
    ntfy_relay.protect(TOPIC, "tk_good")
    refused = RelaySubscriber(make_config(ntfy_relay), recorder)
    refused.start()
    try:
        assert "wants an access token" in recorder.wait_for("disconnected")[1]
    finally:
        refused.stop()
    second = PushRecorder()
    allowed = RelaySubscriber(make_config(ntfy_relay, token="tk_good"), second)
    allowed.start()
    try:
        second.wait_for("connected")
        publish(make_config(ntfy_relay, token="tk_good"), "hello")
        second.wait_for_message(b"hello")
        assert ntfy_relay.subscribes()[-1].headers["authorization"] == "Bearer tk_good"
    finally:
        allowed.stop()
    with pytest.raises(RelayError, match="refused the access token"):
        publish(make_config(ntfy_relay, token="tk_bad"), "x")


def test_bad_lines_are_logged_and_skipped(
    ntfy_relay: NtfyRelay, recorder: PushRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    sub = RelaySubscriber(make_config(ntfy_relay, max_line_bytes=1024), recorder)
    sub.start()
    try:
        recorder.wait_for("connected")
        ntfy_relay.wait_for_streams(1)
        with caplog.at_level(logging.INFO, logger="pydt_tray.push.ntfy_stream"):
            ntfy_relay.write_raw(b"<html>not json</html>")
            ntfy_relay.write_raw(b'"a json string, not an object"')
            long_event = {"id": "x" * 10, "event": "message", "topic": TOPIC, "message": "y" * 5000}
            ntfy_relay.write_raw(json.dumps(long_event).encode())
            ntfy_relay.publish(TOPIC, "good one")
            recorder.wait_for("message")
        assert payloads(recorder) == [b"good one"]
        texts = [r.getMessage() for r in caplog.records]
        assert sum("not a JSON object" in t for t in texts) == 2
        assert any("longer than 1024 bytes" in t for t in texts)
        assert sub.state == CONNECTED and len(recorder.of("connected")) == 1  # the stream survived
    finally:
        sub.stop()


def test_oversized_messages_are_cut_and_duplicates_dropped(ntfy_relay: NtfyRelay, recorder: PushRecorder) -> None:
    sub = RelaySubscriber(make_config(ntfy_relay, max_message_bytes=10), recorder)
    sub.start()
    try:
        recorder.wait_for("connected")
        ntfy_relay.wait_for_streams(1)
        event = ntfy_relay.publish(TOPIC, "0123456789abcdef")
        recorder.wait_for("message")
        ntfy_relay.write_raw(json.dumps(event).encode())  # the same id again
        ntfy_relay.publish(TOPIC, "next")
        recorder.wait_for("message", count=2)
        assert payloads(recorder) == [b"0123456789", b"next"]
    finally:
        sub.stop()


def test_probe_messages_never_reach_the_listener(ntfy_relay: NtfyRelay, recorder: PushRecorder) -> None:
    seen: list[str] = []
    arrived = threading.Event()

    def probe(text: str) -> None:
        seen.append(text)
        arrived.set()

    sub = RelaySubscriber(make_config(ntfy_relay), recorder, probe=probe)
    sub.start()
    try:
        recorder.wait_for("connected")
        publish(make_config(ntfy_relay), PROBE_PREFIX + "nonce123")
        assert arrived.wait(5)
        ntfy_relay.publish(TOPIC, "a turn")
        recorder.wait_for("message")
        assert seen == [PROBE_PREFIX + "nonce123"] and payloads(recorder) == [b"a turn"]
    finally:
        sub.stop()


def test_reconnect_now_skips_the_backoff_wait(ntfy_relay: NtfyRelay, recorder: PushRecorder) -> None:
    sub = RelaySubscriber(make_config(ntfy_relay, min_reconnect_seconds=60, max_reconnect_seconds=60), recorder)
    ntfy_relay.stop()
    sub.start()
    try:
        recorder.wait_for("disconnected")
        assert sub.state == BACKOFF
        ntfy_relay.start()
        started = time.monotonic()
        sub.reconnect_now()  # as on wake or network return
        recorder.wait_for("connected", timeout=5)
        assert time.monotonic() - started < 5
        sub.reconnect_now()  # while connected: the stream is dropped and opened again at once
        recorder.wait_for("connected", count=2, timeout=5)
    finally:
        sub.stop()


def test_stop_while_streaming_is_prompt_and_final(ntfy_relay: NtfyRelay, recorder: PushRecorder) -> None:
    sub = RelaySubscriber(make_config(ntfy_relay, keepalive_seconds=30), recorder)
    sub.start()
    recorder.wait_for("connected")
    started = time.monotonic()
    assert sub.stop(timeout=5) is True
    assert time.monotonic() - started < 2
    ntfy_relay.publish(TOPIC, "too late")
    time.sleep(0.2)  # give a wrongly delivered message the chance to show up
    assert recorder.events[-1] == ("stopped",) and not recorder.of("message")
    sub.start()  # and it can run again
    recorder.wait_for("connected", count=2)
    sub.stop()


def test_fetch_cached_lists_the_topic_messages(ntfy_relay: NtfyRelay) -> None:
    ntfy_relay.publish(TOPIC, "one")
    ntfy_relay.publish("other", "two")
    assert [m["message"] for m in fetch_cached(make_config(ntfy_relay))] == ["one"]


def test_https_with_the_servers_ca_and_a_clear_failure_without_it(tmp_path, recorder: PushRecorder) -> None:
    from tests.helpers.mosquitto import make_certs

    certs = make_certs(tmp_path / "certs")
    with NtfyRelay(keepalive=1.0, tls=(certs.cert_file, certs.key_file)) as relay:
        assert relay.url.startswith("https://")
        trusted = RelaySubscriber(make_config(relay, ca_file=str(certs.ca_file)), recorder)
        trusted.start()
        try:
            recorder.wait_for("connected")
            publish(make_config(relay, ca_file=str(certs.ca_file)), "over tls")
            recorder.wait_for_message(b"over tls")
        finally:
            trusted.stop()
        untrusted_events = PushRecorder()
        untrusted = RelaySubscriber(make_config(relay), untrusted_events)  # the system store lacks the test CA
        untrusted.start()
        try:
            reason = untrusted_events.wait_for("disconnected")[1]
            assert "TLS connection to the relay failed" in reason and "CERTIFICATE_VERIFY_FAILED" in reason
        finally:
            untrusted.stop()
