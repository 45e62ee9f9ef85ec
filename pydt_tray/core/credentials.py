"""The PYDT token, kept only in a secure OS keyring.

Only the backends in :data:`SECURE_BACKENDS` are trusted (or subclasses of them); the keyring chainer is
unwrapped to its trusted children; anything else (the fail and null backends, keyrings.alt's plain or
"encrypted" files) is refused with :class:`NoSecureBackendError`. A plain 0600 file is used only when the
user explicitly allowed it (``allow_plaintext=True``).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from pydt_tray.core import secret_service
from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.logs import register_secret

log = logging.getLogger(__name__)

SERVICE = "pydt-tray"
USERNAME = "pydt-token"

SECURE_BACKENDS: tuple[str, ...] = (
    "keyring.backends.SecretService.Keyring",
    "keyring.backends.libsecret.Keyring",
    "keyring.backends.kwallet.DBusKeyring",
    "keyring.backends.kwallet.DBusKeyringKWallet4",
    "keyring.backends.kwallet.DBusKeyringQt5",
    "keyring.backends.kwallet.DBusKeyringQt6",
    "keyring.backends.macOS.Keyring",
    "keyring.backends.Windows.WinVaultKeyring",
)
_CHAINER = "keyring.backends.chainer.ChainerBackend"


class CredentialError(PydtTrayError):
    """Storing or reading the token failed; ``user_message`` says what to do about it."""


class NoSecureBackendError(CredentialError):
    """No trusted keyring is available."""


class KeyringLockedError(CredentialError):
    """The keyring exists but is locked, or the unlock prompt was dismissed."""


class CredentialStoreError(CredentialError):
    """Any other keyring failure."""


def _qualified_names(obj: object) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(obj).__mro__}


def is_secure_backend(backend: object) -> bool:
    """True for a trusted backend class or a subclass of one."""
    return bool(_qualified_names(backend) & set(SECURE_BACKENDS))


def _unwrap(backend: object) -> list[object]:
    if _CHAINER in _qualified_names(backend):
        try:
            return list(backend.backends)  # type: ignore[attr-defined]
        except Exception:
            return []
    return [backend]


def find_secure_backend() -> KeyringBackend | None:
    """The keyring's own choice if it is trusted; otherwise a fresh look for a viable trusted backend.

    The fresh look matters because keyring remembers its first choice, while a keyring daemon may have
    started since.
    """
    with contextlib.suppress(Exception):
        for candidate in _unwrap(keyring.get_keyring()):
            if is_secure_backend(candidate):
                return candidate  # type: ignore[return-value]
    viable: list[type[KeyringBackend]] = []
    for name in SECURE_BACKENDS:
        module_name, _, class_name = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            if cls.viable:
                viable.append(cls)
        except Exception:  # not on this platform, or a broken optional dependency
            continue
    for cls in sorted(viable, key=lambda item: item.priority, reverse=True):
        with contextlib.suppress(Exception):
            return cls()
    return None


def _close_abandoned_connections(error: BaseException) -> None:
    """Close D-Bus connections a backend opened and dropped when it raised.

    keyring's Secret Service backend opens a connection before checking the lock and does not close it
    when the collection stays locked; left to the garbage collector it would leak a socket per attempt.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            for value in list(tb.tb_frame.f_locals.values()):
                if type(value).__module__.startswith("jeepney.io") and hasattr(value, "close"):
                    with contextlib.suppress(Exception):
                        value.close()
            tb = tb.tb_next
        current = current.__cause__ or current.__context__


def _install_hint() -> str:
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return "install and start a Secret Service keyring such as gnome-keyring, or KWallet, then log in again"
    if sys.platform == "darwin":
        return "the macOS Keychain must be available to this user"
    if sys.platform == "win32":
        return "the Windows Credential Manager must be available to this user"
    return "install a system keyring supported by the Python 'keyring' package"


def _unlock_hint(backend_name: str) -> str:
    if "kwallet" in backend_name.lower():
        where = "open KWallet Manager and unlock your wallet"
    elif sys.platform == "darwin":
        where = "unlock your login keychain in Keychain Access"
    elif sys.platform == "win32":
        where = "log in to Windows normally so the Credential Manager is available"
    else:
        where = "unlock your login keyring (for example in 'Passwords and Keys'/Seahorse, or by logging in again)"
    return f"The system keyring ({backend_name}) is locked or the unlock prompt was dismissed: {where}, then try again."


class TokenStore:
    """Load, save and delete the PYDT token."""

    def __init__(
        self,
        *,
        backend: KeyringBackend | None = None,
        plaintext_path: Path | None = None,
        allow_plaintext: bool = False,
        service: str = SERVICE,
        username: str = USERNAME,
    ) -> None:
        if allow_plaintext and plaintext_path is None:
            raise ValueError("allow_plaintext needs a plaintext_path")
        self._forced = backend
        self._plaintext_path = Path(plaintext_path) if plaintext_path is not None else None
        self._allow_plaintext = allow_plaintext
        self._service = service
        self._username = username
        self._resolved = False
        self._backend: KeyringBackend | None = None
        self._warned = False

    # --- which store ----------------------------------------------------------------------------------

    def _resolve(self) -> KeyringBackend | None:
        if not self._resolved:
            if self._forced is not None:
                trusted = [item for item in _unwrap(self._forced) if is_secure_backend(item)]
                self._backend = trusted[0] if trusted else None  # type: ignore[assignment]
            else:
                self._backend = find_secure_backend()
            self._resolved = True
        return self._backend

    @property
    def is_plaintext(self) -> bool:
        return self._resolve() is None and self._allow_plaintext

    @property
    def backend_name(self) -> str:
        backend = self._resolve()
        if backend is not None:
            cls = type(backend)
            return f"{cls.__module__}.{cls.__qualname__}"
        if self._allow_plaintext:
            return f"plain file {self._plaintext_path}"
        return "none (no secure keyring)"

    def _secure(self) -> KeyringBackend | None:
        """The trusted backend, None for the opted-in plain file; NoSecureBackendError otherwise."""
        backend = self._resolve()
        if backend is None and not self._allow_plaintext:
            refused = type(self._forced).__name__ if self._forced is not None else "none found"
            raise NoSecureBackendError(
                f"No secure keyring is available to store your PYDT token: {_install_hint()}.", f"refused: {refused}"
            )
        return backend

    # --- operations ----------------------------------------------------------------------------------

    def load(self) -> str | None:
        if self._forced is None and not self._resolved and secret_service.keyring_would_pick_secret_service():
            token = secret_service.read_token(self._service, self._username)  # keyring's backends stay unloaded
            if token == "":
                return None  # surely nothing stored
            if token:
                register_secret(token)
                return token
        backend = self._secure()
        if backend is None:
            token = self._read_plaintext()
        else:
            with self._translate_errors(backend):
                token = backend.get_password(self._service, self._username)
        register_secret(token)
        return token or None

    def save(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip() or any(ch in token for ch in "\r\n\0"):
            raise ValueError("a token must be one line of non-empty text")
        register_secret(token)
        backend = self._secure()
        if backend is None:
            self._write_plaintext(token)
            return
        with self._translate_errors(backend):
            backend.set_password(self._service, self._username, token)
        self._remove_plaintext_copy()

    def _remove_plaintext_copy(self) -> None:
        """Once the token is in a keyring, an earlier plain-file copy must not stay on disk."""
        path = self._plaintext_path
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("The token is in the keyring now; the old plain file %s could not be deleted: %s", path, error)
            return
        log.info("Removed the plain-file token copy %s now that the keyring holds the token", path)

    def delete(self) -> None:
        """Forget the token (no error when there is none)."""
        backend = self._secure()
        if backend is not None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError), self._translate_errors(backend):
                backend.delete_password(self._service, self._username)
        if self._plaintext_path is not None and self._allow_plaintext:
            try:
                self._plaintext_path.unlink(missing_ok=True)
            except OSError as error:
                raise CredentialStoreError(f"Could not delete {self._plaintext_path}.", str(error)) from error

    # --- helpers ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate_errors(self, backend: KeyringBackend) -> Iterator[None]:
        name = type(backend).__name__
        try:
            yield
        except keyring.errors.PasswordDeleteError:
            raise
        except (keyring.errors.KeyringLocked, keyring.errors.InitError) as error:
            _close_abandoned_connections(error)
            raise KeyringLockedError(_unlock_hint(self.backend_name), str(error)) from error
        except keyring.errors.NoKeyringError as error:
            raise NoSecureBackendError(f"No secure keyring answered: {_install_hint()}.", str(error)) from error
        except CredentialError:
            raise
        except Exception as error:
            _close_abandoned_connections(error)
            text = str(error)
            if "dismissed" in text.lower() or "locked" in text.lower():
                raise KeyringLockedError(_unlock_hint(self.backend_name), text) from error
            raise CredentialStoreError(
                f"The system keyring ({name}) failed: {text or type(error).__name__}.", repr(error)
            ) from error

    def _warn_plaintext(self) -> None:
        if not self._warned:
            log.warning("No secure keyring: the PYDT token is kept in a plain file at %s", self._plaintext_path)
            self._warned = True

    def _read_plaintext(self) -> str | None:
        assert self._plaintext_path is not None
        self._warn_plaintext()
        try:
            text = self._plaintext_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise CredentialStoreError(f"Could not read {self._plaintext_path}.", str(error)) from error
        return text or None

    def _write_plaintext(self, token: str) -> None:
        assert self._plaintext_path is not None
        self._warn_plaintext()
        try:
            self._plaintext_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(self._plaintext_path, token + "\n", mode=0o600)
        except OSError as error:
            raise CredentialStoreError(f"Could not write {self._plaintext_path}.", str(error)) from error
