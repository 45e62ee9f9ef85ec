"""A broker that accepts and kicks at once: for the reconnect tests' "no busy loop" cases.

It speaks just enough MQTT over WSS + TLS for an awscrt client to believe it got in: TLS with the test
certificate, the WebSocket upgrade, a CONNACK (3.1.1 or 5, matching the CONNECT) and, in ``suback``
mode, a SUBACK granting the subscription. Then it closes the socket. Every accepted connection is
timestamped, so a test can count attempts per minute from the server's side.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import threading
import time
from pathlib import Path

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_IO_TIMEOUT = 5.0


class KickServer:
    """Listens on 127.0.0.1; ``kick_after`` is ``"accept"`` (close at once), ``"connack"`` or ``"suback"``."""

    def __init__(self, cert_file: Path, key_file: Path, *, kick_after: str = "suback") -> None:
        if kick_after not in ("accept", "connack", "suback"):
            raise ValueError(kick_after)
        self.kick_after = kick_after
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(str(cert_file), str(key_file))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._accepted: list[float] = []
        self.kicked = 0  # connections that got as far as ``kick_after`` before being closed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kick-server", daemon=True)

    def __enter__(self) -> KickServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._listener.close()

    @property
    def accepted(self) -> list[float]:
        """Monotonic times at which connections were accepted."""
        with self._lock:
            return list(self._accepted)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._accepted.append(time.monotonic())
            threading.Thread(target=self._handle, args=(conn,), name="kick-server-conn", daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(_IO_TIMEOUT)
            if self.kick_after == "accept":
                return
            with self._context.wrap_socket(conn, server_side=True) as tls:
                self._kick(tls)
        except (OSError, ValueError):
            pass  # the client gave up first: fine for a kicker
        finally:
            conn.close()

    def _kick(self, tls: ssl.SSLSocket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = tls.recv(4096)
            if not chunk:
                return
            request += chunk
        headers = {}
        for line in request.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + _WS_GUID).digest())
        reply = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        reply += b"Sec-WebSocket-Accept: " + accept + b"\r\n"
        if "mqtt" in headers.get("sec-websocket-protocol", ""):
            reply += b"Sec-WebSocket-Protocol: mqtt\r\n"
        tls.sendall(reply + b"\r\n")
        connect = _read_ws_frame(tls)
        version = _mqtt_version(connect)
        tls.sendall(_ws_frame(b"\x20\x03\x00\x00\x00" if version == 5 else b"\x20\x02\x00\x00"))
        if self.kick_after == "suback":
            subscribe = _read_ws_frame(tls)
            packet_id = _packet_id(subscribe)
            suback = b"\x90\x04" + packet_id + b"\x00\x00" if version == 5 else b"\x90\x03" + packet_id + b"\x00"
            tls.sendall(_ws_frame(suback))
            time.sleep(0.05)  # let the SUBACK arrive before the close
        with self._lock:
            self.kicked += 1


def _recv_exact(tls: ssl.SSLSocket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = tls.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _read_ws_frame(tls: ssl.SSLSocket) -> bytes:
    """The payload of one (masked, client-to-server) WebSocket frame; pings and the like are skipped."""
    while True:
        first, second = _recv_exact(tls, 2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(_recv_exact(tls, 2), "big")
        elif length == 127:
            length = int.from_bytes(_recv_exact(tls, 8), "big")
        mask = _recv_exact(tls, 4) if second & 0x80 else b"\x00\x00\x00\x00"
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(_recv_exact(tls, length)))
        if first & 0x0F in (0x1, 0x2, 0x0):
            return payload


def _ws_frame(payload: bytes) -> bytes:
    if len(payload) >= 126:
        raise ValueError("only short frames are needed here")
    return bytes([0x82, len(payload)]) + payload


def _skip_remaining_length(packet: bytes) -> int:
    """Index just past an MQTT fixed header."""
    index = 1
    while packet[index] & 0x80:
        index += 1
    return index + 1


def _mqtt_version(connect: bytes) -> int:
    index = _skip_remaining_length(connect)
    name_length = int.from_bytes(connect[index : index + 2], "big")
    return connect[index + 2 + name_length]


def _packet_id(subscribe: bytes) -> bytes:
    index = _skip_remaining_length(subscribe)
    return subscribe[index : index + 2]
