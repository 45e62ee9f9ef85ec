"""Where the relay lives and how to reach it: the server URL rules, the topic, the optional access token.

The topic is a secret (anyone who knows it can post to it): :class:`RelayConfig` keeps it and the token
out of ``repr``, and :func:`topic_hint` is the only way it is shown (its first four characters).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydt_tray.core.errors import EXIT_NETWORK, EXIT_USAGE, PydtTrayError

DEFAULT_SERVER = "https://ntfy.sh"
DEFAULT_KEEPALIVE_SECONDS = 45.0  # ntfy's default keepalive-interval
MAX_LINE_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 4096  # ntfy's own message limit; anything longer is cut before the listener sees it
MAX_ERROR_BYTES = 2048

RELAY_TOPIC_LABEL = "relay"
PROBE_PREFIX = "pydt-tray relay check "
TOPIC_PATTERN = re.compile(r"[-_A-Za-z0-9]{1,64}")
VERIFY_TIMEOUT = 15.0  # how long turning the relay on waits for its check message to come back

# The subscriber's states (push/ntfy_stream.py), named here so that whoever only reads them need not import it.
STOPPED = "stopped"
CONNECTING = "connecting"
CONNECTED = "connected"
BACKOFF = "backoff"


class RelayConfigError(PydtTrayError, ValueError):
    """The relay settings cannot work; the message says which one and why."""

    exit_code = EXIT_USAGE


class RelayError(PydtTrayError):
    """Talking to the relay failed; ``str()`` is one line for the user (never the topic)."""

    exit_code = EXIT_NETWORK


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and for loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """The relay's base URL without a trailing slash; :class:`RelayConfigError` when it is not acceptable.

    Only ``https://`` is accepted, except plain ``http://`` to this machine (loopback), because the
    topic travels in the URL and must not cross a network in the clear.
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise RelayConfigError(f"{text!r} is not a valid relay URL ({error})") from None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in ("https", "http") or not host:
        raise RelayConfigError(f"{text!r} is not a relay URL: it must start with https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise RelayConfigError("the relay URL must not contain a user name or password (use an access token)")
    if parts.query or parts.fragment:
        raise RelayConfigError("the relay URL must not have a query (?...) or fragment (#...)")
    if scheme == "http" and not is_loopback_host(host):
        raise RelayConfigError(
            f"plain http:// is only allowed for a relay on this machine, not for {host}: use https://{host}"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def topic_hint(topic: str) -> str:
    """How a topic may be shown: its first four characters only."""
    return f"…/{topic[:4]}…"


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """Where the topic lives and how to stream it. Neither the topic nor the token appears in ``repr``."""

    server: str
    topic: str = field(repr=False)
    extra_topics: tuple[str, ...] = field(default=(), repr=False)  # other accounts' topics on the same stream
    token: str | None = field(default=None, repr=False)
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    connect_timeout: float = 10.0
    min_reconnect_seconds: float = 1.0
    max_reconnect_seconds: float = 120.0
    max_line_bytes: int = MAX_LINE_BYTES
    max_message_bytes: int = MAX_MESSAGE_BYTES
    ca_file: str | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            if check_server_url(self.server) != self.server:
                problems.append("the server URL is not in its checked form (use check_server_url)")
        except RelayConfigError as error:
            problems.append(str(error))
        if not all(TOPIC_PATTERN.fullmatch(topic or "") for topic in self.topics):
            problems.append("the topic must be 1 to 64 letters, digits, '-' or '_'")
        if self.token is not None and (not self.token or not self.token.isascii() or not self.token.isprintable()):
            problems.append("the access token must be one line of printable ASCII")
        if not self.keepalive_seconds > 0 or not self.connect_timeout > 0:
            problems.append("the keepalive and connect timeout must be positive")
        if not 0 < self.min_reconnect_seconds <= self.max_reconnect_seconds:
            problems.append("reconnect delays must satisfy 0 < min <= max")
        if self.max_line_bytes < 256 or self.max_message_bytes < 1:
            problems.append("the line and message limits are too small")
        if problems:
            raise RelayConfigError("invalid relay settings: " + "; ".join(problems))

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the stream carries, ``topic`` first, each once."""
        return tuple(dict.fromkeys((self.topic, *self.extra_topics)))

    def label_of(self, topic: str) -> str | None:
        """What the listener is told instead of the (secret) topic: ``relay`` for the first, ``relay#N`` after."""
        if topic not in self.topics:
            return None
        index = self.topics.index(topic)
        return RELAY_TOPIC_LABEL if index == 0 else f"{RELAY_TOPIC_LABEL}#{index}"

    @property
    def dead_after_seconds(self) -> float:
        """Silence (keepalives included) after which the stream counts as dead."""
        return 2 * self.keepalive_seconds

    @property
    def webhook_url(self) -> str:
        """The URL PYDT posts to: the topic on the server."""
        return f"{self.server}/{self.topic}"

    @property
    def hint(self) -> str:
        return f"{self.server}/{self.topic[:4]}…"
