"""``pydt-tray relay enable|disable|status``: real-time turns through PYDT's webhook and an ntfy relay.

The topic is a secret: nothing here prints it (``…/<first 4 characters>…`` at most), and the relay's
access token is only ever read from standard input, never from the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from pydt_tray.cli_common import EXIT_OK, EXIT_USAGE, fail, run_signed_in
from pydt_tray.push.ntfy_config import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_SERVER

log = logging.getLogger(__name__)


def add_relay_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``relay`` with its three actions (``relay_command`` is set to the handler)."""
    relay = subparsers.add_parser(
        "relay", help="real-time turns without AWS keys: PYDT's webhook through an ntfy relay"
    )
    actions = relay.add_subparsers(dest="relay_action", metavar="ACTION", required=True)
    enable = actions.add_parser("enable", help="point your PYDT webhook at a new secret topic and check it")
    enable.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        metavar="URL",
        help=f"the ntfy server (https://; http:// only on this machine); default {DEFAULT_SERVER}",
    )
    enable.add_argument(
        "--token-stdin", action="store_true", help="read an access token for a protected topic from standard input"
    )
    enable.add_argument(
        "--replace",
        action="store_true",
        help="replace a webhook your PYDT profile already has (`relay disable` puts it back)",
    )
    enable.add_argument(
        "--keepalive",
        type=float,
        default=DEFAULT_KEEPALIVE_SECONDS,
        metavar="SECONDS",
        help=f"the server's keepalive interval if it is not ntfy's default {DEFAULT_KEEPALIVE_SECONDS:g} s",
    )
    actions.add_parser("disable", help="put your previous PYDT webhook back and forget the topic")
    status = actions.add_parser("status", help="whether the relay is on and working (never shows the topic)")
    status.add_argument("--json", action="store_true", help="print JSON")
    relay.set_defaults(relay_command=cmd_relay)


def cmd_relay(ctx: Any, args: argparse.Namespace) -> int:
    action = args.relay_action
    if action == "enable":
        return _enable(ctx, args)
    if action == "disable":
        return _disable(ctx)
    return _status(ctx, as_json=args.json)


def _setup(ctx: Any, client: Any) -> Any:
    from pydt_tray.core.relay_setup import RelaySetup
    from pydt_tray.core.relay_store import relay_store

    return RelaySetup(client, relay_store(ctx.paths.config_dir))


def _enable(ctx: Any, args: argparse.Namespace) -> int:
    from pydt_tray.core.credentials import CredentialError
    from pydt_tray.core.relay_setup import ForeignWebhookError, RelaySetupError
    from pydt_tray.push.ntfy_config import RelayConfigError, check_server_url

    try:
        server = check_server_url(args.server)
    except RelayConfigError as error:
        return fail(str(error), EXIT_USAGE)
    if not args.keepalive > 0:
        return fail("--keepalive must be a positive number of seconds", EXIT_USAGE)
    token: str | None = None
    if args.token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            return fail("--token-stdin was given but no token arrived on standard input", EXIT_USAGE)

    def action(client: Any) -> int:
        try:
            result = _setup(ctx, client).enable(
                server, token=token, replace=args.replace, keepalive_seconds=args.keepalive
            )
        except ForeignWebhookError as error:
            return fail(str(error))
        except RelaySetupError as error:
            return fail(str(error))
        except CredentialError as error:
            return fail(error.user_message)
        print(
            f"Real-time push through the relay is on: PYDT now posts your turns to {result.record.hint} "
            f"(checked end to end in {result.check_ms:.0f} ms)."
        )
        if result.replaced_host:
            print(
                f"Your previous webhook (to {result.replaced_host}) is remembered; "
                "`pydt-tray relay disable` puts it back."
            )
        print("A running pydt-tray uses it after a restart.")
        return EXIT_OK

    return run_signed_in(ctx, action)


def _disable(ctx: Any) -> int:
    from pydt_tray.core.credentials import CredentialError
    from pydt_tray.core.relay_setup import RelaySetupError
    from pydt_tray.core.relay_store import relay_store

    try:
        if relay_store(ctx.paths.config_dir).load() is None:
            print("The relay is not on.")
            return EXIT_OK
    except CredentialError as error:
        return fail(error.user_message)

    def action(client: Any) -> int:
        try:
            outcome = _setup(ctx, client).disable()
        except RelaySetupError as error:
            return fail(str(error))
        except CredentialError as error:
            return fail(error.user_message)
        print(_disable_text(outcome.outcome, outcome.host))
        return EXIT_OK

    return run_signed_in(ctx, action)


def _disable_text(outcome: str, host: str | None) -> str:
    if outcome == "restored":
        return f"The relay is off; your previous webhook (to {host}) is back."
    if outcome == "cleared":
        return "The relay is off; the webhook in your PYDT profile is cleared."
    if outcome == "left":
        return "The relay is off; your PYDT webhook had been changed elsewhere and is left as it is."
    return "The relay is not on."


def disable_before_sign_out(ctx: Any, steam_id: str | None = None) -> None:
    """On sign-out (of ``steam_id``, or of the only account): turn the relay off with the token that is about
    to go, when the relay was turned on for that account. Problems are printed, not fatal."""
    from pydt_tray.core.credentials import CredentialError, NoSecureBackendError
    from pydt_tray.core.relay_store import relay_store

    try:
        if relay_store(ctx.paths.config_dir).load(steam_id) is None:
            return
    except NoSecureBackendError:
        return  # no secret store at all: no relay settings can exist either
    except CredentialError as error:
        print(f"pydt-tray: could not read the relay settings: {error.user_message}", file=sys.stderr)
        return
    code = _disable(ctx)
    if code != EXIT_OK:
        print(
            "pydt-tray: warning: the relay could not be turned off; your PYDT webhook may still point at it. "
            "Sign in again and run `pydt-tray relay disable`.",
            file=sys.stderr,
        )


def _status(ctx: Any, *, as_json: bool) -> int:
    from pydt_tray.core.credentials import CredentialError
    from pydt_tray.core.relay_setup import RelaySetupError
    from pydt_tray.core.relay_store import relay_store

    iot = bool(ctx.endpoints.has_push_credentials)
    try:
        record = relay_store(ctx.paths.config_dir).load()
    except CredentialError as error:
        return fail(error.user_message)
    if record is None:
        _print_status(as_json, iot, None)
        return EXIT_OK

    def action(client: Any) -> int:
        try:
            status = _setup(ctx, client).status()
        except RelaySetupError as error:
            return fail(str(error))
        _print_status(as_json, iot, status)
        return EXIT_OK

    return run_signed_in(ctx, action)


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _print_status(as_json: bool, iot: bool, status: Any) -> None:
    modes = (["aws-iot"] if iot else []) + (["relay"] if status is not None and status.enabled else [])
    if as_json:
        relay: dict[str, Any] | None = None
        if status is not None:
            relay = {
                "server": status.server,
                "topic": status.topic_hint,
                "webhook": "ours" if status.webhook_ok else "other-account" if status.other_account else "changed",
                "relay": "live" if status.reachable else "down",
                "problem": status.problem,
                "lastMessage": _when(status.last_message_time),
            }
        print(json.dumps({"modes": modes or ["polling"], "relay": relay}, indent=2))
        return
    if not modes:
        from pydt_tray.core.poll_schedule import DOWN_INTERVAL_SECONDS

        print(
            f"Real-time push: off (checking every {DOWN_INTERVAL_SECONDS:g} s). "
            "`pydt-tray relay enable` turns the relay on."
        )
    if iot:
        print("AWS IoT: configured")
    if status is None:
        if iot:
            print("Relay: off")
        return
    print(f"Relay: on, server {status.server}, topic {status.topic_hint}")
    if status.other_account:
        print("  PYDT webhook: the relay was set up for another account")
    else:
        print("  PYDT webhook: " + ("points at the relay" if status.webhook_ok else "changed elsewhere (not ours)"))
    print("  relay: " + ("live" if status.reachable else f"down ({status.problem})"))
    print("  last message: " + (_when(status.last_message_time) or "none cached"))
