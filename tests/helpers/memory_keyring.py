"""A trusted keyring backend that keeps its entries in memory, for tests of what is stored where."""

from __future__ import annotations

import keyring.errors
from keyring.backends import SecretService
from keyring.compat import properties


class MemoryKeyring(SecretService.Keyring):
    """A Secret Service backend (trusted by the allow-list) that keeps entries in memory."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test double: never chosen automatically")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("none")
