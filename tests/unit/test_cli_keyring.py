"""``pydt-tray games`` while the system keyring shows its password prompt: it says so, then gives up."""

from __future__ import annotations

import threading
import time

import pytest
from keyring.backends import SecretService
from keyring.compat import properties

from pydt_tray import cli, cli_common
from pydt_tray.core import credentials, logs
from pydt_tray.core.logs import teardown_logging


class PromptingSecretService(SecretService.Keyring):
    """A Secret Service (so it is trusted) whose read waits like an unanswered unlock prompt."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test double: never chosen automatically")

    def __init__(self, answered: threading.Event) -> None:
        super().__init__()
        self.answered = answered
        self.asked = threading.Event()

    def get_password(self, service, username):
        self.asked.set()
        self.answered.wait(60)
        return "token-after-the-prompt"


@pytest.fixture
def prompting(monkeypatch, tmp_path):
    answered = threading.Event()
    backend = PromptingSecretService(answered)
    monkeypatch.setattr(credentials, "find_secure_backend", lambda: backend)
    monkeypatch.setenv("PYDT_TRAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYDT_API_URL", "http://127.0.0.1:9")
    try:
        yield backend
    finally:
        answered.set()
        teardown_logging()
        logs.clear_secrets()


def run_main(argv: list[str], limit: float) -> tuple[int | None, float]:
    """``cli.main(argv)`` on a thread; (its exit code or None if it had not returned by ``limit``, seconds)."""
    result: list[int] = []
    started = time.monotonic()
    thread = threading.Thread(target=lambda: result.append(cli.main(argv)), daemon=True)
    thread.start()
    thread.join(limit)
    return (result[0] if result else None), time.monotonic() - started


def test_games_says_the_keyring_is_asking_then_gives_up(prompting, monkeypatch, capsys, caplog) -> None:
    monkeypatch.setattr(cli_common, "KEYRING_GIVE_UP_SECONDS", 2.5, raising=False)
    code, elapsed = run_main(["games"], limit=10)
    assert code == cli_common.EXIT_FAILURE, "pydt-tray games hung on the keyring prompt"
    assert prompting.asked.is_set()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "pydt-tray: the system keyring is asking for its password (look for its window) ..."
    assert lines[-1].startswith("pydt-tray: the system keyring did not answer within 2 seconds")
    assert 2.0 <= elapsed < 8
    assert "the system keyring did not answer within 2 s" in caplog.text


def test_a_prompt_answered_in_time_goes_on(prompting, capsys) -> None:
    timer = threading.Timer(1.5, prompting.answered.set)
    timer.start()
    try:
        token = cli_common.load_token_waiting(
            lambda: credentials.TokenStore(backend=prompting).load(), give_up_after=10
        )
    finally:
        timer.cancel()
    assert token == "token-after-the-prompt"


def test_a_quick_keyring_says_nothing() -> None:
    said: list[str] = []
    assert cli_common.load_token_waiting(lambda: "tok", say=said.append) == "tok"
    assert said == []


def test_errors_of_the_keyring_reach_the_caller() -> None:
    def broken() -> str:
        raise credentials.KeyringLockedError("locked")

    with pytest.raises(credentials.KeyringLockedError):
        cli_common.load_token_waiting(broken)
