"""Reading the token straight from the Secret Service (Linux), without loading keyring's backends.

Working out keyring's backend imports every backend it knows, and its Secret Service backend needs
``secretstorage`` and ``cryptography``: about 6 MB a running tray app would carry for one read at start.
When keyring would pick the Secret Service anyway (Linux, no other backend configured, not a KDE session
where KWallet comes first), :func:`read_token` asks the service over D-Bus with ``jeepney`` (a "plain"
session on the private session bus, as the specification allows) for the item keyring stored: the same
collection (the default one) and the same attributes. Anything unusual (no default collection, a locked one,
more than one item, any D-Bus error) returns None and the caller goes the usual keyring way, which also
deals with unlock prompts and errors. No item at all in the unlocked default collection is a sure answer
(nothing stored, as for an account without a relay), so keyring's backends stay unloaded then too.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.secrets"
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
TIMEOUT_SECONDS = 2.0


def keyring_would_pick_secret_service(environ: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """True when keyring's own choice on this system is the Secret Service (so reading it directly is the same)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux") or not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    if env.get("PYTHON_KEYRING_BACKEND", SECRET_SERVICE_BACKEND) != SECRET_SERVICE_BACKEND:
        return False
    if "KDE" in env.get("XDG_CURRENT_DESKTOP", "").upper():
        return False
    from keyring.util import platform_

    return not (Path(platform_.config_root()) / "keyringrc.cfg").exists()


def read_token(service: str, username: str) -> str | None:
    """The secret keyring stored for (service, username) in the default collection; "" when the unlocked default
    collection holds no such item (keyring's answer would be None too); None when unsure."""
    try:
        return _read(service, username)
    except Exception as error:  # jeepney's D-Bus errors, a closed bus, an unexpected reply shape
        log.debug("Secret Service read skipped (%s); using keyring", error)
        return None


def _read(service: str, username: str) -> str | None:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import unwrap_msg

    secrets = DBusAddress("/org/freedesktop/secrets", bus_name=BUS_NAME, interface="org.freedesktop.Secret.Service")
    with open_dbus_connection(bus="SESSION") as connection:

        def call(
            address: DBusAddress, method: str, signature: str | None = None, body: tuple[Any, ...] = ()
        ) -> tuple[Any, ...]:
            message = new_method_call(address, method, signature, body)
            return tuple(unwrap_msg(connection.send_and_get_reply(message, timeout=TIMEOUT_SECONDS)))

        (collection_path,) = call(secrets, "ReadAlias", "s", ("default",))
        if collection_path == "/":
            return None
        collection = DBusAddress(collection_path, bus_name=BUS_NAME, interface="org.freedesktop.Secret.Collection")
        properties = DBusAddress(collection_path, bus_name=BUS_NAME, interface="org.freedesktop.DBus.Properties")
        ((_signature, locked),) = call(properties, "Get", "ss", ("org.freedesktop.Secret.Collection", "Locked"))
        if locked:
            return None
        (items,) = call(collection, "SearchItems", "a{ss}", ({"username": username, "service": service},))
        if not items:
            return ""  # nothing stored: what keyring's search in the same collection would find too
        if len(items) != 1:
            return None
        _output, session_path = call(secrets, "OpenSession", "sv", ("plain", ("s", "")))
        session = DBusAddress(session_path, bus_name=BUS_NAME, interface="org.freedesktop.Secret.Session")
        try:
            (found,) = call(secrets, "GetSecrets", "aoo", (items, session_path))
        finally:
            call(session, "Close")
        _session, _parameters, value, _content_type = found[items[0]]
        return bytes(value).decode("utf-8") or None
