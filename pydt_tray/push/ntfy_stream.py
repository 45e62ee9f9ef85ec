"""The relay push path: PYDT's webhook posts to a secret ntfy topic, and this streams that topic.

``GET <server>/<topic>/json`` is a newline-delimited JSON stream of ``open``, ``keepalive`` and
``message`` events. A ``message`` is treated like the IoT "Hello!": only a hint to reload from the API.
The stream is declared dead when nothing (keepalives included) arrives for twice the server's
keepalive interval; every reconnect resumes with ``since=<last message id>`` so nothing published in
between is lost, and message ids already seen are dropped so nothing arrives twice. The listener gets
the same calls as from the IoT link (:class:`pydt_tray.push.config.PushListener`), from this module's
own thread; its ``on_push_connected`` is the cue for a catch-up fetch.

The topic is a secret (anyone who knows it can post to it): it is never logged and never handed to the
listener, which sees the placeholder :data:`RELAY_TOPIC_LABEL` instead.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import random
import socket
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from pydt_tray.push.backoff import Backoff
from pydt_tray.push.config import PushListener
from pydt_tray.push.ntfy_config import BACKOFF, CONNECTED, CONNECTING, PROBE_PREFIX, STOPPED, RelayConfig
from pydt_tray.push.ntfy_http import describe_status, error_detail, open_connection, request_headers, stream_path
from pydt_tray.push.relay import ListenerRelay

log = logging.getLogger(__name__)

SEEN_IDS_KEPT = 512

ProbeCallback = Callable[[str], None]


class _StreamEnded(Exception):
    """Why one stream ended (the text goes to the listener and the log)."""


class RelaySubscriber:
    """Keeps the topic's stream open on its own thread; reconnects until :meth:`stop`.

    ``probe`` receives the text of messages that start with :data:`PROBE_PREFIX` (the end-to-end check
    of the setup); those never reach the listener. :meth:`start` may be called again after :meth:`stop`.
    """

    def __init__(
        self,
        config: RelayConfig,
        listener: PushListener,
        *,
        probe: ProbeCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._listener = listener
        self._probe = probe
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._gate: ListenerRelay | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._restart = False
        self._state = STOPPED
        self._last_id: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.last_message_time: float | None = None  # the relay's unix time of the last turn message

    @property
    def state(self) -> str:
        """``stopped``, ``connecting``, ``connected`` or ``backoff``."""
        return self._state

    # --- control (any thread) ----------------------------------------------------------------------

    def start(self) -> None:
        """Begin streaming in the background; does nothing if already running."""
        with self._lock:
            if self._thread is not None:
                return
            self._stopping.clear()
            self._wake.clear()
            self._restart = False
            self._state = CONNECTING
            gate = ListenerRelay(self._listener)
            self._gate = gate
            thread = threading.Thread(target=self._run, args=(gate,), name="pydt-relay", daemon=True)
            self._thread = thread
        log.info("relay: connecting to %s", self.config.server)
        thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and wait for the thread. True when it ended within ``timeout`` seconds.

        Either way ``on_push_stopped`` has been delivered when this returns and nothing follows it.
        """
        with self._lock:
            thread, gate = self._thread, self._gate
            self._thread = None
            self._stopping.set()
            self._wake.set()
            self._cut_locked()
        if thread is None:
            return True
        thread.join(timeout)
        done = not thread.is_alive()
        if gate is not None:
            gate.stopped()
        log.info("relay: stopped" if done else "relay: stop timed out")
        return done

    def reconnect_now(self) -> None:
        """Drop the current stream (or skip the backoff wait) and connect again at once."""
        with self._lock:
            if self._thread is None:
                return
            self._restart = True
            self._wake.set()
            self._cut_locked()
        log.info("relay: reconnecting now")

    def _cut_locked(self) -> None:
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    # --- the stream thread -------------------------------------------------------------------------

    def _run(self, gate: ListenerRelay) -> None:
        backoff = Backoff(self.config.min_reconnect_seconds, self.config.max_reconnect_seconds, self._rng)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    self._stream_once(gate, backoff)
                    reason = "the relay ended the stream"
                except _StreamEnded as ended:
                    reason = str(ended)
                if self._stopping.is_set():
                    break
                with self._lock:
                    restart, self._restart = self._restart, False
                    self._state = CONNECTING if restart else BACKOFF
                log.info("relay: disconnected (%s)", reason)
                gate.disconnected(reason)
                if restart:
                    continue
                delay = backoff.next_delay()
                log.debug("relay: next attempt in %.1f s", delay)
                self._wake.wait(delay)
        except Exception:  # a bug: the listener must still hear that we stopped
            log.exception("relay: the stream thread failed")
        finally:
            self._state = STOPPED
            gate.stopped()

    def _stream_once(self, gate: ListenerRelay, backoff: Backoff) -> None:
        config = self.config
        path = f"{stream_path(config)}/json"
        if self._last_id:
            path += "?since=" + quote(self._last_id, safe="")
        conn = open_connection(config, config.connect_timeout)
        with self._lock:
            if self._stopping.is_set():
                return
            self._state = CONNECTING
            self._conn = conn
        opened = False
        try:
            try:
                conn.connect()
            except TimeoutError:
                raise _StreamEnded(f"could not connect to the relay within {config.connect_timeout:g} s") from None
            with self._lock:  # a stop or restart while connecting found no socket to cut: honour it now
                if self._stopping.is_set() or self._restart:
                    raise _StreamEnded("reconnecting")
            assert conn.sock is not None
            conn.sock.settimeout(config.dead_after_seconds)
            conn.request("GET", path, headers={**request_headers(config), "Accept": "application/x-ndjson"})
            response = conn.getresponse()
            if response.status != 200:
                raise _StreamEnded(describe_status(response.status, error_detail(response)))
            opened = True
            self._read_events(response, gate, backoff)
        except TimeoutError:
            if opened:
                raise _StreamEnded(
                    f"no event from the relay for {config.dead_after_seconds:g} s: the stream is dead"
                ) from None
            raise _StreamEnded("the relay did not answer in time") from None
        except ssl.SSLError as error:
            raise _StreamEnded(f"the TLS connection to the relay failed ({error.reason or 'error'})") from None
        except (OSError, http.client.HTTPException) as error:
            if self._stopping.is_set() or self._restart:
                raise _StreamEnded("reconnecting") from None
            raise _StreamEnded(f"the connection to the relay failed ({type(error).__name__})") from None
        finally:
            with self._lock:
                self._conn = None
            conn.close()

    def _read_events(self, response: http.client.HTTPResponse, gate: ListenerRelay, backoff: Backoff) -> None:
        limit = self.config.max_line_bytes
        while not self._stopping.is_set():
            line = response.readline(limit + 1)
            if not line:
                if self._restart:
                    raise _StreamEnded("reconnecting")
                raise _StreamEnded("the relay closed the stream")
            if len(line) > limit and not line.endswith(b"\n"):
                log.warning("relay: skipped a line longer than %d bytes", limit)
                while line and not line.endswith(b"\n"):
                    line = response.readline(limit)
                continue
            self._handle_line(line, gate, backoff)

    def _handle_line(self, line: bytes, gate: ListenerRelay, backoff: Backoff) -> None:
        text = line.strip()
        if not text:
            return
        try:
            event = json.loads(text)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            log.warning("relay: skipped a line that is not a JSON object (%d bytes)", len(line))
            return
        kind = event.get("event")
        if kind == "open":
            with self._lock:
                if self._stopping.is_set():
                    return
                self._state = CONNECTED
            backoff.reset()
            log.info("relay: connected (resuming: %s)", "yes" if self._last_id else "no")
            gate.connected(False)
        elif kind == "message":
            self._handle_message(event, gate)
        elif kind != "keepalive":
            log.debug("relay: ignored a %r event", str(kind)[:32])

    def _handle_message(self, event: dict[str, Any], gate: ListenerRelay) -> None:
        message_id = event.get("id")
        if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
            log.info("relay: skipped a message without a usable id")
            return
        label = self.config.label_of(str(event.get("topic")))
        if label is None:
            log.debug("relay: skipped a message for another topic")
            return
        if message_id in self._seen:
            log.debug("relay: message %s seen before; dropped", message_id)
            return
        self._seen[message_id] = None
        while len(self._seen) > SEEN_IDS_KEPT:
            self._seen.popitem(last=False)
        self._last_id = message_id
        sent = event.get("time")
        if isinstance(sent, int | float) and not isinstance(sent, bool):
            self.last_message_time = float(sent)
        body = event.get("message")
        text = body if isinstance(body, str) else ""
        payload = text.encode("utf-8", errors="replace")
        if len(payload) > self.config.max_message_bytes:
            log.info("relay: message %s is %d bytes; only its start is kept", message_id, len(payload))
            payload = payload[: self.config.max_message_bytes]
        if text.startswith(PROBE_PREFIX):
            log.info("relay: the end-to-end check message arrived (not a turn)")
            if self._probe is not None:
                try:
                    self._probe(text)
                except Exception:
                    log.exception("relay: the probe callback failed")
            return
        log.info("relay: message %s", message_id)
        gate.message(label, payload)
