"""A small MQTT broker for the demo: amqtt over WebSocket on 127.0.0.1, in a thread of its own.

amqtt speaks MQTT 3.1.1 only, so clients must use the ``mqtt311`` push protocol. awsiotsdk's SigV4
websocket builder always wraps the connection in TLS, so the app's push client needs ``tls=True``
(wss with a throwaway certificate authority made here at run time with ``cryptography``). amqtt is an
optional dependency (the ``demo`` extra): importing this module does not need it, starting a broker does.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydt_tray.core.errors import PydtTrayError

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_SECONDS = 0.5  # awscrt never answers a websocket close frame; the library default waits 10 s
SubscribeListener = Callable[[str, str], None]  # (client id, topic filter)


class DemoBrokerError(PydtTrayError, RuntimeError):
    """The demo broker could not start (amqtt missing, no port, bad certificates...)."""


@dataclass(frozen=True)
class DemoCerts:
    """PEM files of a throwaway CA and a server certificate for ``localhost`` and ``127.0.0.1``."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_demo_certs(folder: Path) -> DemoCerts:
    """Write a fresh CA and server certificate (EC P-256, valid 7 days) into ``folder``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as error:
        raise DemoBrokerError("the demo needs the 'cryptography' package for its TLS certificate") from error

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pydt-tray demo CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    certs = DemoCerts(folder / "demo-ca.crt", folder / "demo-server.crt", folder / "demo-server.key")
    certs.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certs.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    certs.key_file.touch(mode=0o600)
    certs.key_file.write_bytes(key_pem)
    return certs


def _quiet_library_loggers() -> None:
    """amqtt, its state machine and websockets log every connection at INFO; keep their warnings only."""
    for name in ("amqtt", "transitions", "websockets"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _broker_class() -> type:
    """amqtt's Broker with short websocket close timeouts and a hook on every new subscription."""
    import websockets
    from amqtt.broker import Broker
    from amqtt.contexts import ListenerType

    class _DemoAmqttBroker(Broker):
        subscribe_listener: SubscribeListener | None = None

        async def _create_server_instance(self, listener_name, listener_type, address, port, ssl_context):
            if listener_type != ListenerType.WS:
                return await super()._create_server_instance(listener_name, listener_type, address, port, ssl_context)
            return await websockets.serve(
                lambda ws: self.ws_connected(ws, listener_name=listener_name),
                address,
                port,
                ssl=ssl_context,
                subprotocols=[websockets.Subprotocol("mqtt")],
                close_timeout=CLOSE_TIMEOUT_SECONDS,
            )

        async def add_subscription(self, subscription: tuple[str, int], session: Any) -> int:
            result = await super().add_subscription(subscription, session)
            if self.subscribe_listener is not None and result < 0x80:
                try:
                    self.subscribe_listener(str(session.client_id), subscription[0])
                except Exception:
                    log.exception("demo broker: a subscribe listener failed")
            return result

    return _DemoAmqttBroker


class DemoBroker:
    """MQTT over WebSocket (wss with ``tls=True``) on ``host``; anonymous clients welcome."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False, cert_dir: Path | None = None
    ) -> None:
        """``cert_dir``: where the TLS files go (the caller deletes it); default a temp folder removed by stop()."""
        self.host = host
        self.tls = tls
        self._requested_port = port
        self._given_cert_dir = cert_dir
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._cert_dir: Path | None = None
        self.certs: DemoCerts | None = None
        self._listeners: list[SubscribeListener] = []
        self._listeners_lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> DemoBroker:
        """Start listening; returns once the port is bound. Raises :class:`DemoBrokerError`."""
        if self._thread is not None:
            return self
        try:
            broker_class = _broker_class()
        except ImportError as error:
            raise DemoBrokerError("the demo broker needs amqtt: pip install 'pydt-tray[demo]'") from error
        _quiet_library_loggers()
        if self.tls:
            if self._given_cert_dir is not None:
                self.certs = make_demo_certs(self._given_cert_dir)
            else:
                self._cert_dir = Path(tempfile.mkdtemp(prefix="pydt-demo-certs-"))
                self.certs = make_demo_certs(self._cert_dir)
        loop = asyncio.new_event_loop()
        started: Future = Future()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run, args=(loop, broker_class, started), name="pydt-demo-broker", daemon=True
        )
        self._thread.start()
        try:
            self._port = started.result(timeout)
        except Exception as error:
            self.stop()
            raise DemoBrokerError(f"the demo broker did not start: {error}") from error
        self._forget_private_key()
        log.info("demo broker listening on %s", self.ws_url)
        return self

    def _forget_private_key(self) -> None:
        """The listener has loaded the key into its TLS context: no copy of it stays on disk, so a demo that is
        killed or crashes cannot leave it behind. The public certificates stay (clients read the CA file)."""
        if self.certs is None:
            return
        try:
            self.certs.key_file.unlink(missing_ok=True)
        except OSError as error:
            log.warning("demo broker: could not delete its private key file %s: %s", self.certs.key_file, error)

    def stop(self, timeout: float = 5.0) -> None:
        """Close every client connection and the listener, end the thread, delete the certificates."""
        loop, thread, broker = self._loop, self._thread, self._broker
        self._loop = self._thread = self._broker = None
        if loop is not None and thread is not None and thread.is_alive():
            if broker is not None:
                future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
                try:
                    future.result(timeout)
                except Exception:
                    log.warning("demo broker: shutdown failed", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        if self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)
            self._cert_dir = None
        self.certs = None
        self._port = None

    def __enter__(self) -> DemoBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, loop: asyncio.AbstractEventLoop, broker_class: type, started: Future) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_broker(broker_class, started))
            if started.exception() is None:
                loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _start_broker(self, broker_class: type, started: Future) -> None:
        listener: dict[str, Any] = {"type": "ws", "bind": f"{self.host}:{self._requested_port}"}
        if self.certs is not None:
            listener |= {"ssl": True, "certfile": str(self.certs.cert_file), "keyfile": str(self.certs.key_file)}
        config = {
            "listeners": {"default": listener},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        try:
            broker = broker_class(config)
            broker.subscribe_listener = self._on_subscribe
            await broker.start()
            server = broker._servers["default"].instance
            port = server.sockets[0].getsockname()[1]
        except Exception as error:
            started.set_exception(error)
            return
        self._broker = broker
        started.set_result(port)

    # --- use -------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the demo broker is not running")
        return self._port

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}/mqtt"

    @property
    def ca_file(self) -> str | None:
        """The CA certificate clients must trust (``tls=True`` only)."""
        return str(self.certs.ca_file) if self.certs is not None else None

    def publish(self, topic: str, payload: bytes, timeout: float = 5.0) -> None:
        """Send ``payload`` to the subscribers of ``topic`` at QoS 0. Safe from any thread."""
        loop, broker = self._loop, self._broker
        if loop is None or broker is None:
            raise RuntimeError("the demo broker is not running")
        future = asyncio.run_coroutine_threadsafe(broker.internal_message_broadcast(topic, payload, 0), loop)
        if threading.current_thread() is not self._thread:
            future.result(timeout)

    def add_subscribe_listener(self, listener: SubscribeListener) -> None:
        """``listener(client_id, topic)`` after each accepted subscription; runs on the broker thread."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def _on_subscribe(self, client_id: str, topic: str) -> None:
        log.debug("demo broker: %s subscribed to %s", client_id, topic)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(client_id, topic)
            except Exception:
                log.exception("demo broker: a subscribe listener failed")
