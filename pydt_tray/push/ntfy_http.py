"""One-shot HTTP calls to the relay (ntfy's publish and poll) and what they share with the stream."""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
from typing import Any
from urllib.parse import quote, urlsplit

from pydt_tray import APP_NAME, __version__
from pydt_tray.push.ntfy_config import MAX_ERROR_BYTES, MAX_LINE_BYTES, RelayConfig, RelayError


def open_connection(config: RelayConfig, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(config.server)
    host = parts.hostname or ""
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=config.ca_file)
        return http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=context)
    return http.client.HTTPConnection(host, parts.port, timeout=timeout)


def request_headers(config: RelayConfig) -> dict[str, str]:
    headers = {"User-Agent": f"{APP_NAME}/{__version__}"}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    return headers


def topic_path(config: RelayConfig) -> str:
    return urlsplit(config.server).path + "/" + quote(config.topic, safe="")


def stream_path(config: RelayConfig) -> str:
    """The subscription path: every topic of ``config`` in one stream (ntfy takes a comma-separated list)."""
    return urlsplit(config.server).path + "/" + ",".join(quote(topic, safe="") for topic in config.topics)


def error_detail(response: http.client.HTTPResponse) -> str:
    """The relay's short error text (ntfy sends ``{"error": ...}``), or nothing."""
    with contextlib.suppress(Exception):
        body = json.loads(response.read(MAX_ERROR_BYTES))
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, str):
            return ": " + error[:200]
    return ""


def describe_status(status: int, detail: str = "") -> str:
    if status == 401:
        return f"the relay wants an access token for this topic (HTTP 401{detail})"
    if status == 403:
        return f"the relay refused the access token for this topic (HTTP 403{detail})"
    if status == 429:
        return f"the relay says too many requests; trying again later (HTTP 429{detail})"
    return f"the relay answered HTTP {status}{detail}"


def publish(config: RelayConfig, text: str, *, timeout: float = 10.0) -> str:
    """Publish ``text`` to the topic; returns the message id. Raises :class:`RelayError`."""
    conn = open_connection(config, timeout)
    try:
        headers = {**request_headers(config), "Content-Type": "text/plain; charset=utf-8"}
        conn.request("POST", topic_path(config), body=text.encode(), headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RelayError(describe_status(response.status, error_detail(response)))
        body = json.loads(response.read(MAX_LINE_BYTES))
    except (OSError, http.client.HTTPException) as error:
        raise RelayError(f"could not reach the relay at {config.server} ({type(error).__name__})") from error
    except ValueError as error:
        raise RelayError("the relay's answer to a publish was not JSON") from error
    finally:
        conn.close()
    message_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(message_id, str) or not message_id:
        raise RelayError("the relay's answer to a publish had no message id")
    return message_id


def fetch_cached(config: RelayConfig, *, since: str = "all", timeout: float = 10.0) -> list[dict[str, Any]]:
    """The messages the relay still caches for the topic (``poll=1``). Raises :class:`RelayError`."""
    conn = open_connection(config, timeout)
    try:
        conn.request(
            "GET", f"{topic_path(config)}/json?poll=1&since={quote(since, safe='')}", headers=request_headers(config)
        )
        response = conn.getresponse()
        if response.status != 200:
            raise RelayError(describe_status(response.status, error_detail(response)))
        events: list[dict[str, Any]] = []
        while line := response.readline(config.max_line_bytes + 1):
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == "message":
                    events.append(event)
        return events
    except (OSError, http.client.HTTPException) as error:
        raise RelayError(f"could not reach the relay at {config.server} ({type(error).__name__})") from error
    finally:
        conn.close()
