"""The test relay itself speaks ntfy's documented publish API and JSON stream."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from tests.helpers.ntfy_relay import NtfyRelay


def _connect(relay: NtfyRelay, timeout: float = 5.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", relay.port, timeout=timeout)


def _events(response: http.client.HTTPResponse, count: int) -> list[dict]:
    return [json.loads(response.readline()) for _ in range(count)]


def _publish(relay: NtfyRelay, topic: str, text: str, token: str | None = None) -> tuple[int, dict]:
    conn = _connect(relay)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("POST", f"/{topic}", body=text.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_stream_opens_keeps_alive_and_delivers_messages_of_several_topics(ntfy_relay: NtfyRelay) -> None:
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", "/alpha,beta/json")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("application/x-ndjson")
        opening = json.loads(response.readline())
        assert opening["event"] == "open" and set(opening["topic"].split(",")) == {"alpha", "beta"}
        status, published = _publish(ntfy_relay, "beta", "hello")
        assert status == 200 and published["event"] == "message"
        _publish(ntfy_relay, "gamma", "not for this stream")
        _publish(ntfy_relay, "alpha", "second")
        first, second = _events(response, 2)
        assert (first["id"], first["topic"], first["message"]) == (published["id"], "beta", "hello")
        assert (second["topic"], second["message"]) == ("alpha", "second")
        keepalive = json.loads(response.readline())  # nothing else is published: a keepalive after 1 s
        assert keepalive["event"] == "keepalive"
    finally:
        conn.close()


def test_since_replays_only_what_came_after_that_id(ntfy_relay: NtfyRelay) -> None:
    first = ntfy_relay.publish("t", "one")
    ntfy_relay.publish("t", "two")
    ntfy_relay.publish("t", "three")
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", f"/t/json?since={first['id']}")
        response = conn.getresponse()
        events = _events(response, 3)
        assert [e["event"] for e in events] == ["open", "message", "message"]
        assert [e["message"] for e in events[1:]] == ["two", "three"]
    finally:
        conn.close()
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", "/t/json?poll=1&since=all")
        body = conn.getresponse().read().decode()
        assert [json.loads(line)["message"] for line in body.splitlines()] == ["one", "two", "three"]
    finally:
        conn.close()


def test_protected_topics_need_the_bearer_token(ntfy_relay: NtfyRelay) -> None:
    ntfy_relay.protect("secret", "tk_right")
    assert _publish(ntfy_relay, "secret", "x")[0] == 401
    assert _publish(ntfy_relay, "secret", "x", token="tk_wrong")[0] == 403
    assert _publish(ntfy_relay, "secret", "x", token="tk_right")[0] == 200
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", "/secret/json", headers={"Authorization": "Bearer tk_wrong"})
        response = conn.getresponse()
        assert response.status == 403 and json.loads(response.read())["code"] == 40301
    finally:
        conn.close()


@pytest.mark.parametrize("status", [429, 503])
def test_queued_error_answers(ntfy_relay: NtfyRelay, status: int) -> None:
    ntfy_relay.fail_next(status, kind="subscribe")
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", "/t/json")
        response = conn.getresponse()
        assert response.status == status and json.loads(response.read())["http"] == status
        conn.request("GET", "/t/json")
        assert conn.getresponse().status == 200  # only the next one failed
    finally:
        conn.close()


def test_dropped_and_half_open_streams(ntfy_relay: NtfyRelay) -> None:
    conn = _connect(ntfy_relay, timeout=3.0)
    try:
        conn.request("GET", "/t/json")
        response = conn.getresponse()
        assert json.loads(response.readline())["event"] == "open"
        assert ntfy_relay.go_half_open() == 1
        ntfy_relay.publish("t", "never sent on this stream")
        with pytest.raises(socket.timeout):
            response.readline()  # silent: not even keepalives
    finally:
        conn.close()
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", "/t/json")
        response = conn.getresponse()
        assert json.loads(response.readline())["event"] == "open"
        ntfy_relay.wait_for_streams(1)
        ntfy_relay.drop_streams()
        assert response.readline() == b""  # the connection ended
    finally:
        conn.close()


def test_restart_keeps_the_cache_and_the_port(ntfy_relay: NtfyRelay) -> None:
    port = ntfy_relay.port
    before = ntfy_relay.publish("t", "before")
    ntfy_relay.restart(publish_while_down=[("t", "while down")])
    assert ntfy_relay.port == port
    conn = _connect(ntfy_relay)
    try:
        conn.request("GET", f"/t/json?since={before['id']}&poll=1")
        body = conn.getresponse().read().decode()
        assert [json.loads(line)["message"] for line in body.splitlines()] == ["while down"]
    finally:
        conn.close()
