"""TokenStore against a real gnome-keyring Secret Service on a private bus."""

from __future__ import annotations

import gc
import subprocess
import sys
import warnings

import pytest

from pydt_tray.core import secret_service as secret_service_reader
from pydt_tray.core.credentials import SERVICE, USERNAME, KeyringLockedError, TokenStore
from pydt_tray.core.secret_service import SECRET_SERVICE_BACKEND

pytestmark = pytest.mark.integration

TOKEN = "integration-token-0123456789abcdef"


def test_token_round_trip_with_the_automatically_chosen_secret_service(secret_service, tmp_path):
    store = TokenStore(plaintext_path=tmp_path / "token", allow_plaintext=True)
    assert store.backend_name == "keyring.backends.SecretService.Keyring"
    assert not store.is_plaintext

    assert store.load() is None
    store.save(TOKEN)
    assert store.load() == TOKEN
    assert TokenStore().load() == TOKEN  # a second store (a later run) finds it
    assert not (tmp_path / "token").exists()  # the plain file was never needed

    store.delete()
    assert store.load() is None
    store.delete()  # deleting nothing is fine


def test_a_child_process_with_the_fixture_env_sees_the_token(secret_service):
    TokenStore().save(TOKEN)
    code = "from pydt_tray.core.credentials import TokenStore; print(TokenStore().load())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**secret_service.env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == TOKEN
    TokenStore().delete()


def test_a_locked_keyring_gives_a_helpful_locked_error(locked_secret_service, tmp_path):
    store = TokenStore(plaintext_path=tmp_path / "token", allow_plaintext=True)
    assert store.backend_name == "keyring.backends.SecretService.Keyring"

    with pytest.raises(KeyringLockedError) as caught:
        store.save(TOKEN)
    message = caught.value.user_message
    assert "locked" in message and "unlock your login keyring" in message
    assert not (tmp_path / "token").exists()  # a locked keyring never falls back to a plain file

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(KeyringLockedError):
            store.load()
        gc.collect()
    assert [str(item.message) for item in seen if issubclass(item.category, ResourceWarning)] == []


def test_the_token_is_read_without_loading_keyrings_backends(secret_service):
    TokenStore().save(TOKEN)
    code = (
        "import sys; from pydt_tray.core.credentials import TokenStore; print(TokenStore().load()); "
        "print(TokenStore(username='nobody').load()); "
        "loaded = ('secretstorage', 'cryptography', 'keyring.backends.SecretService'); "
        "print(sorted(m for m in loaded if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**secret_service.env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines() == [TOKEN, "None", "[]"]  # an entry that is not there: a sure answer too
    assert secret_service_reader.read_token(SERVICE, USERNAME) == TOKEN
    TokenStore().delete()
    assert secret_service_reader.read_token(SERVICE, USERNAME) == ""
    assert TokenStore().load() is None


def test_a_locked_keyring_is_left_to_keyring(locked_secret_service, tmp_path):
    assert secret_service_reader.read_token(SERVICE, USERNAME) is None
    with pytest.raises(KeyringLockedError):
        TokenStore(plaintext_path=tmp_path / "token", allow_plaintext=True).load()


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, "linux", True),
        ({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x", "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND}, "linux", True),
        ({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
         "linux", False),
        ({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x", "XDG_CURRENT_DESKTOP": "KDE"}, "linux", False),
        ({}, "linux", False),
        ({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, "win32", False),
    ],
)  # fmt: skip
def test_the_direct_read_is_used_only_where_keyring_would_pick_the_secret_service(environ, platform, expected):
    assert secret_service_reader.keyring_would_pick_secret_service(environ, platform) is expected
