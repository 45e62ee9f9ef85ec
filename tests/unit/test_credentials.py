from __future__ import annotations

import logging
import stat

import keyring
import keyring.errors
import pytest
from keyring.backends import SecretService, chainer, fail, null
from keyring.compat import properties
from keyrings.alt.file import PlaintextKeyring

from pydt_tray.core import credentials, logs
from pydt_tray.core.credentials import (
    CredentialStoreError,
    KeyringLockedError,
    NoSecureBackendError,
    TokenStore,
    find_secure_backend,
    is_secure_backend,
)

TOKEN = "token-0123456789abcdef"


class MemorySecretService(SecretService.Keyring):
    """A Secret Service backend (so it passes the allow-list) that keeps passwords in memory.

    keyring registers every backend subclass globally; a priority that raises keeps this double out of
    keyring's automatic choice in the rest of the test run.
    """

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test double: never chosen automatically")

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.error = error

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def get_password(self, service, username):
        self._check()
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self._check()
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self._check()
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("No such password!")


def plaintext_keyring(folder):
    backend = PlaintextKeyring()
    backend.file_path = str(folder / "keyring_pass.cfg")
    return backend


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    logs.clear_secrets()


def test_round_trip_through_a_trusted_backend_registers_the_token_for_redaction(tmp_path):
    backend = MemorySecretService()
    store = TokenStore(backend=backend, plaintext_path=tmp_path / "token", allow_plaintext=True)
    assert store.load() is None
    store.save(TOKEN)
    assert backend.store == {("pydt-tray", "pydt-token"): TOKEN}
    assert logs.redact(f"Authorization: {TOKEN}") == "Authorization: <redacted>"
    logs.clear_secrets()
    assert store.load() == TOKEN
    assert logs.redact(TOKEN) == "<redacted>"  # registered again on load
    assert not store.is_plaintext and not (tmp_path / "token").exists()
    assert store.backend_name.endswith("MemorySecretService")
    store.delete()
    store.delete()
    assert store.load() is None


@pytest.mark.parametrize(
    "make_backend",
    [lambda folder: fail.Keyring(), lambda folder: null.Keyring(), lambda folder: plaintext_keyring(folder)],
    ids=["fail", "null", "keyrings.alt-plaintext"],
)
def test_insecure_backends_are_refused_and_nothing_is_stored(tmp_path, make_backend):
    backend = make_backend(tmp_path)
    store = TokenStore(backend=backend, plaintext_path=tmp_path / "token")
    assert store.backend_name == "none (no secure keyring)"
    for action in (lambda: store.save(TOKEN), store.load, store.delete):
        with pytest.raises(NoSecureBackendError) as caught:
            action()
        assert "gnome-keyring" in caught.value.user_message and "KWallet" in caught.value.user_message
    assert list(tmp_path.iterdir()) == []


def chainer_of(*backends):
    """A chainer over exactly ``backends`` (a subclass: the real one computes its list from the machine)."""

    class Chainer(chainer.ChainerBackend):
        @properties.classproperty
        def priority(cls) -> float:
            raise RuntimeError("test double: never chosen automatically")

    Chainer.backends = list(backends)
    return Chainer()


def test_the_chainer_is_unwrapped_to_its_trusted_child():
    secure = MemorySecretService()
    store = TokenStore(backend=chainer_of(PlaintextKeyring(), secure))
    store.save(TOKEN)
    assert secure.store and store.backend_name.endswith("MemorySecretService")

    with pytest.raises(NoSecureBackendError):
        TokenStore(backend=chainer_of(PlaintextKeyring(), fail.Keyring())).save(TOKEN)


def test_allow_list_is_by_class():
    assert is_secure_backend(SecretService.Keyring())
    assert is_secure_backend(MemorySecretService())
    assert not is_secure_backend(PlaintextKeyring())
    assert not is_secure_backend(fail.Keyring())
    assert not is_secure_backend(chainer.ChainerBackend())


def test_automatic_choice_prefers_keyrings_own_trusted_choice(monkeypatch):
    chosen = MemorySecretService()
    monkeypatch.setattr(keyring, "get_keyring", lambda: chosen)
    assert find_secure_backend() is chosen
    assert TokenStore().backend_name.endswith("MemorySecretService")


def test_automatic_choice_finds_nothing_when_no_trusted_backend_is_viable(monkeypatch, tmp_path):
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    monkeypatch.setattr(credentials, "SECURE_BACKENDS", ("keyring.backends.macOS.Keyring",))
    assert find_secure_backend() is None
    with pytest.raises(NoSecureBackendError):
        TokenStore(plaintext_path=tmp_path / "token").save(TOKEN)
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize(
    "error",
    [
        keyring.errors.InitError("Failed to create the collection: Prompt dismissed.."),
        keyring.errors.KeyringLocked("Failed to unlock the collection!"),
        RuntimeError("org.freedesktop.Secret.Error.IsLocked: Cannot get secret of a locked object"),
    ],
)
def test_locked_or_dismissed_keyring_gives_locked_error_naming_what_to_unlock(error, tmp_path):
    store = TokenStore(backend=MemorySecretService(error), plaintext_path=tmp_path / "token", allow_plaintext=True)
    for action in (lambda: store.save(TOKEN), store.load, store.delete):
        with pytest.raises(KeyringLockedError) as caught:
            action()
        assert "unlock your login keyring" in caught.value.user_message
        assert caught.value.__cause__ is error
    assert not (tmp_path / "token").exists()  # a locked keyring never falls back to the plain file


def test_other_backend_failures_are_store_errors(tmp_path):
    store = TokenStore(backend=MemorySecretService(OSError("connection reset")))
    with pytest.raises(CredentialStoreError, match="connection reset") as caught:
        store.load()
    assert "MemorySecretService" in caught.value.user_message
    store = TokenStore(backend=MemorySecretService(keyring.errors.NoKeyringError("gone")))
    with pytest.raises(NoSecureBackendError):
        store.save(TOKEN)


def test_plaintext_only_with_explicit_opt_in_as_a_private_file(tmp_path, caplog):
    path = tmp_path / "config" / "token.plaintext"
    store = TokenStore(backend=fail.Keyring(), plaintext_path=path, allow_plaintext=True)
    assert store.is_plaintext and str(path) in store.backend_name
    with caplog.at_level(logging.WARNING, logger="pydt_tray.core.credentials"):
        assert store.load() is None
        store.save(TOKEN)
    assert "plain file" in caplog.text
    assert path.read_text() == TOKEN + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logs.clear_secrets()
    assert TokenStore(backend=fail.Keyring(), plaintext_path=path, allow_plaintext=True).load() == TOKEN
    assert logs.redact(TOKEN) == "<redacted>"
    store.delete()
    assert not path.exists()


def test_constructor_and_token_checks(tmp_path):
    with pytest.raises(ValueError, match="plaintext_path"):
        TokenStore(allow_plaintext=True)
    store = TokenStore(backend=MemorySecretService())
    for bad in ("", "   ", "two\nlines"):
        with pytest.raises(ValueError):
            store.save(bad)


def test_a_keyring_login_after_a_plaintext_login_removes_the_plain_file(tmp_path, caplog):
    path = tmp_path / "config" / "token.plaintext"
    TokenStore(backend=fail.Keyring(), plaintext_path=path, allow_plaintext=True).save("old-" + TOKEN)
    assert path.exists()
    backend = MemorySecretService()
    # as the app builds it: a plain file on disk keeps the plaintext opt-in alive
    store = TokenStore(backend=backend, plaintext_path=path, allow_plaintext=path.exists())
    store.save(TOKEN)
    assert backend.store == {("pydt-tray", "pydt-token"): TOKEN}
    assert not path.exists()
    assert store.load() == TOKEN
    assert "kept in a plain file" in caplog.text  # the earlier plain-file login warned
