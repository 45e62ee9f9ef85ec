"""A real mosquitto broker standing in for AWS IoT: MQTT over WSS + TLS with a throwaway CA.

The broker has two listeners on 127.0.0.1: a plain TCP one (used by the fast test publisher) and a
websockets one with TLS (used by the code under test). Its log goes to a file the tests can read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from awscrt import io as crt_io
from awscrt import mqtt

from tests.helpers.tools import require_tool

_CA_SUBJECT = "/CN=pydt-tray-test-ca"
_STOP_TIMEOUT = 5.0
_PUBLISH_TIMEOUT = 5.0


@dataclass(frozen=True)
class MosquittoCerts:
    """A throwaway CA and a server certificate for ``localhost`` and ``127.0.0.1``."""

    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certs(directory: Path) -> MosquittoCerts:
    """Create the CA and the server certificate in ``directory`` with openssl."""
    openssl = require_tool("openssl", "openssl")
    directory.mkdir(parents=True, exist_ok=True)
    # mosquitto may drop to its own user before reading these: keep the folder readable.
    directory.chmod(0o755)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", _CA_SUBJECT,
        "-keyout", "ca.key", "-out", "ca.crt",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (directory / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "30", "-sha256", "-extfile", "server.ext", "-out", "server.crt",
    )  # fmt: skip
    for name in ("ca.crt", "server.crt", "server.key"):
        (directory / name).chmod(0o644)
    return MosquittoCerts(directory, directory / "ca.crt", directory / "server.crt", directory / "server.key")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mosquitto:
    """One mosquitto process with a plain listener (``mqtt_port``) and a WSS listener (``wss_port``)."""

    def __init__(self, certs: MosquittoCerts, directory: Path) -> None:
        self.program = require_tool("mosquitto", "mosquitto")
        self.certs = certs
        self.directory = directory
        self.mqtt_port = free_port()
        self.wss_port = free_port()
        self.config_file = directory / "mosquitto.conf"
        self.log_file = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._publisher: mqtt.Connection | None = None
        self._publisher_count = 0
        self._publisher_lock = threading.Lock()  # a restart in one thread, publishes in another
        self._write_config()

    @property
    def ca_file(self) -> str:
        return str(self.certs.ca_file)

    def _write_config(self) -> None:
        lines = [
            "per_listener_settings false",
            "user root",
            "allow_anonymous true",
            "persistence false",
            "log_dest stderr",
            "log_type all",
            "connection_messages true",
            f"listener {self.mqtt_port} 127.0.0.1",
            f"listener {self.wss_port} 127.0.0.1",
            "socket_domain ipv4",
            "protocol websockets",
            f"cafile {self.certs.ca_file}",
            f"certfile {self.certs.cert_file}",
            f"keyfile {self.certs.key_file}",
        ]
        self.config_file.write_text("\n".join(lines) + "\n")

    # --- process ---------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker (same ports every time) and wait until both listeners are open."""
        if self.process is not None:
            raise RuntimeError("mosquitto is already running")
        mark = self.log_mark()
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [self.program, "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            self.wait_for_log(" running", timeout, since=mark)
        except TimeoutError:
            self.stop()
            raise
        self._connect_publisher()

    def stop(self) -> None:
        """Stop the publisher and the broker; safe to call twice."""
        self._disconnect_publisher()
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop and start again on the same ports; every session and subscription is lost."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- log -------------------------------------------------------------------------------------

    def log_text(self) -> str:
        """Everything the broker logged so far (all runs of this instance)."""
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """A position in the log text; pass it as ``since`` to look only at what comes later."""
        return len(self.log_text())

    def wait_for_log(self, text: str, timeout: float = 10.0, *, since: int = 0, count: int = 1) -> str:
        """Wait until ``text`` appears ``count`` times in the log after ``since``; return the last such line."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()[since:]
            lines = [line for line in log.splitlines() if text in line]
            if len(lines) >= count:
                return lines[count - 1]
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited ({self.process.returncode}); log:\n{log[-3000:]}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{text!r} x{count} not in the mosquitto log within {timeout}s:\n{log[-3000:]}")
            time.sleep(0.02)

    # --- publishing ------------------------------------------------------------------------------

    def _connect_publisher(self) -> None:
        self._publisher_count += 1
        bootstrap = crt_io.ClientBootstrap.get_or_create_static_default()
        connection = mqtt.Connection(
            client=mqtt.Client(bootstrap, None),
            host_name="127.0.0.1",
            port=self.mqtt_port,
            client_id=f"test-publisher-{os.getpid()}-{self._publisher_count}",
            clean_session=True,
            keep_alive_secs=60,
            disable_metrics=True,
        )
        connection.connect().result(timeout=_PUBLISH_TIMEOUT)
        with self._publisher_lock:
            self._publisher = connection

    def _disconnect_publisher(self) -> None:
        with self._publisher_lock:
            publisher, self._publisher = self._publisher, None
            if publisher is not None and self.running:
                publisher.disconnect().result(timeout=_PUBLISH_TIMEOUT)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 0 over the persistent plain-TCP connection (returns once written).

        Raises at once while the broker is stopped (or being restarted): the message is lost, as it would
        be on AWS IoT for a subscriber that is not connected.
        """
        with self._publisher_lock:
            if self._publisher is None:
                raise RuntimeError("mosquitto is not running")
            future, _ = self._publisher.publish(topic, payload, mqtt.QoS.AT_MOST_ONCE)
            future.result(timeout=_PUBLISH_TIMEOUT)


def push_env(broker: Mosquitto) -> dict[str, str]:
    """The PYDT_IOT_* variables that point a child process at ``broker``."""
    return {
        "PYDT_IOT_ENDPOINT": "localhost",
        "PYDT_IOT_PORT": str(broker.wss_port),
        "PYDT_IOT_REGION": "us-east-1",
        "PYDT_IOT_CA_FILE": broker.ca_file,
        "PYDT_IOT_ACCESS_KEY_ID": "test",
        "PYDT_IOT_SECRET_ACCESS_KEY": "test-secret",
    }


@pytest.fixture(scope="session")
def mosquitto_certs(tmp_path_factory: pytest.TempPathFactory) -> MosquittoCerts:
    """A throwaway CA and server certificate, made once per test run."""
    return make_certs(tmp_path_factory.mktemp("mosquitto-certs"))


@pytest.fixture
def mosquitto_broker(mosquitto_certs: MosquittoCerts, tmp_path_factory: pytest.TempPathFactory):
    """A broker that is configured but NOT started (for tests that start it late); stopped afterwards."""
    broker = Mosquitto(mosquitto_certs, tmp_path_factory.mktemp("mosquitto"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_broker: Mosquitto) -> Mosquitto:
    """A running broker, stopped after the test."""
    mosquitto_broker.start()
    return mosquitto_broker
