"""End to end: ``pydt-tray relay ...`` against the simulator, the local relay and a real gnome-keyring."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pydt_tray.core.credentials import SERVICE
from pydt_tray.core.relay_store import RELAY_KEY
from tests.e2e.cli_runner import CliRunner, wait_until
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import World

pytestmark = pytest.mark.e2e

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
FOREIGN = "https://chat.example.invalid/hooks/abc/DoNotLeakThisPart"


@pytest.fixture
def signed_in(tmp_path: Path, simulator: InstrumentedSimulator, world: World, secret_service) -> CliRunner:
    cli = CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(secret_service.env))
    result = cli.run("login", "--token-stdin", stdin=world.token + "\n")
    assert result.returncode == EXIT_OK, result.stderr
    return cli


def stored_relay() -> str | None:
    from keyring.backends.SecretService import Keyring

    return Keyring().get_password(SERVICE, RELAY_KEY)


def topic_of(simulator: InstrumentedSimulator, world: World) -> str:
    return simulator.webhook_url(world.me).rsplit("/", 1)[1]


def enable(
    cli: CliRunner, relay: NtfyRelay, *options: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return cli.run("--debug", "relay", "enable", "--server", relay.url, "--keepalive", "1", *options, stdin=stdin)


def assert_topic_hidden(cli: CliRunner, topic: str, *outputs: str) -> None:
    assert len(topic) >= 32
    assert cli.files_containing(topic) == [], "the topic is in a file under the pydt-tray home"
    for output in outputs:
        assert topic not in output


def test_enable_status_disable(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay
) -> None:
    result = enable(signed_in, ntfy_relay)
    assert result.returncode == EXIT_OK, result.stderr
    topic = topic_of(simulator, world)
    assert simulator.webhook_url(world.me) == f"{ntfy_relay.url}/{topic}"
    assert f"{ntfy_relay.url}/{topic[:4]}…" in result.stdout and "checked end to end" in result.stdout
    assert "relay: connected" in result.stderr  # the debug console log was on
    assert json.loads(stored_relay() or "{}")["topic"] == topic
    status = signed_in.run("--debug", "relay", "status", "--json")
    assert status.returncode == EXIT_OK, status.stderr
    data = json.loads(status.stdout)
    assert data["modes"] == ["relay"]
    assert data["relay"]["topic"] == f"…/{topic[:4]}…" and data["relay"]["relay"] == "live"
    assert data["relay"]["webhook"] == "ours" and data["relay"]["lastMessage"] is None
    simulator.advance_turn(world.their_turn_game)
    text = signed_in.run("--debug", "relay", "status")
    assert "Relay: on" in text.stdout and "last message: 20" in text.stdout and "live" in text.stdout
    disable = signed_in.run("--debug", "relay", "disable")
    assert disable.returncode == EXIT_OK, disable.stderr
    assert "webhook in your PYDT profile is cleared" in disable.stdout
    assert simulator.webhook_url(world.me) == "" and stored_relay() is None
    off = signed_in.run("relay", "status", "--json")
    assert json.loads(off.stdout) == {"modes": ["polling"], "relay": None}
    outputs = [r.stdout + r.stderr for r in (result, status, text, disable, off)]
    assert_topic_hidden(signed_in, topic, *outputs)
    assert signed_in.log_file.is_file() and "relay" in signed_in.log_file.read_text()


def test_a_foreign_webhook_needs_replace_and_comes_back(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    refused = enable(signed_in, ntfy_relay)
    assert refused.returncode == EXIT_FAILURE
    assert "chat.example.invalid" in refused.stderr and "--replace" in refused.stderr
    assert simulator.webhook_url(world.me) == FOREIGN and stored_relay() is None
    replaced = enable(signed_in, ntfy_relay, "--replace")
    assert replaced.returncode == EXIT_OK, replaced.stderr
    assert "previous webhook (to chat.example.invalid) is remembered" in replaced.stdout
    topic = topic_of(simulator, world)
    disable = signed_in.run("--debug", "relay", "disable")
    assert disable.returncode == EXIT_OK and "(to chat.example.invalid) is back" in disable.stdout
    assert simulator.webhook_url(world.me) == FOREIGN
    outputs = [r.stdout + r.stderr for r in (refused, replaced, disable)]
    assert_topic_hidden(signed_in, topic, *outputs)
    assert all("DoNotLeakThisPart" not in output for output in outputs)
    assert signed_in.files_containing("DoNotLeakThisPart") == []


@pytest.mark.parametrize("server", ["http://example.org", "http://10.1.2.3:8080", "not-a-url"])
def test_plain_http_to_another_host_is_refused(
    signed_in: CliRunner, simulator: InstrumentedSimulator, server: str
) -> None:
    result = signed_in.run("relay", "enable", "--server", server)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.startswith("pydt-tray: ") and len(result.stderr.strip().splitlines()) == 1
    assert simulator.request_count("getCurrentWithPud") == 0


def test_an_access_token_from_stdin(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    ntfy_relay.protect_all("tk_e2etoken123")
    without = enable(signed_in, ntfy_relay)
    assert without.returncode == EXIT_FAILURE and "wants an access token" in without.stderr
    assert simulator.webhook_url(world.me) == ""
    result = enable(signed_in, ntfy_relay, "--token-stdin", stdin="tk_e2etoken123\n")
    assert result.returncode == EXIT_OK, result.stderr
    assert "tk_e2etoken123" not in result.stdout + result.stderr
    assert signed_in.files_containing("tk_e2etoken123") == []


def test_logout_turns_the_relay_off(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    assert enable(signed_in, ntfy_relay, "--replace").returncode == EXIT_OK
    logout = signed_in.run("logout")
    assert logout.returncode == EXIT_OK, logout.stderr
    assert simulator.webhook_url(world.me) == FOREIGN and stored_relay() is None


def test_status_when_off_needs_no_sign_in(tmp_path: Path, simulator: InstrumentedSimulator, secret_service) -> None:
    cli = CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(secret_service.env))
    result = cli.run("relay", "status")
    assert result.returncode == EXIT_OK, result.stderr
    assert "Real-time push: off" in result.stdout


def test_the_topic_never_leaks_from_a_debug_run_of_the_tray_app(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    enabled = enable(signed_in, ntfy_relay)
    assert enabled.returncode == EXIT_OK, enabled.stderr
    topic = topic_of(simulator, world)
    process = signed_in.start("--hidden", "--debug")
    try:

        def logged(text: str) -> Callable[[], bool]:
            def check() -> bool:
                if process.poll() is not None:
                    pytest.fail(f"pydt-tray exited early with {process.returncode}: {gui_output(signed_in)}")
                return signed_in.log_file.is_file() and text in signed_in.log_file.read_text()

            return check

        wait_until(logged("Relay push connected"), 20, "the relay stream to connect (in the log)")
        proc = Path(f"/proc/{process.pid}")
        assert topic.encode() not in (proc / "cmdline").read_bytes()
        assert topic.encode() not in (proc / "environ").read_bytes()
        simulator.advance_turn(world.their_turn_game)
        wait_until(logged("relay: message"), 20, "the turn to arrive through the relay (in the log)")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == EXIT_OK
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log_text = signed_in.log_file.read_text()
    assert "relay: connected" in log_text and "pydt-tray stopped" in log_text
    assert_topic_hidden(signed_in, topic, gui_output(signed_in), enabled.stdout, enabled.stderr)


def gui_output(cli: CliRunner) -> str:
    return "".join((cli.root / name).read_text(errors="replace") for name in ("gui.stdout", "gui.stderr"))


def test_forget_puts_the_previous_webhook_back_first(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    assert enable(signed_in, ntfy_relay, "--replace").returncode == EXIT_OK
    result = signed_in.run("forget", "--yes")
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert "the webhook pydt-tray set on your PYDT profile" in result.stdout  # listed before it went
    assert "done: your previous webhook (to chat.example.invalid) is back" in result.stdout
    assert simulator.webhook_url(world.me) == FOREIGN and stored_relay() is None


def test_forget_without_the_relay_does_not_mention_it(signed_in: CliRunner) -> None:
    result = signed_in.run("forget", "--yes")
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert "webhook" not in result.stdout


def test_forget_keeps_the_relay_settings_when_the_webhook_cannot_go_back(
    signed_in: CliRunner, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    assert enable(signed_in, ntfy_relay, "--replace").returncode == EXIT_OK
    simulator.fail_next("getCurrentWithPud", 500, count=4)  # every attempt fails
    result = signed_in.run("forget", "--yes")
    assert result.returncode == EXIT_FAILURE
    assert "FAILED: the webhook could not be restored" in result.stdout
    assert "done: the token was removed" in result.stdout  # the other steps still ran
    assert json.loads(stored_relay() or "{}")["previousWebhook"] == FOREIGN  # kept for a later `relay disable`
