"""The PYDT simulator with what only tests need: faults per route, latency, recorded requests, refused
submissions and revoked tokens. It plugs into the simulator's extension points."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from pydt_tray.sandbox.routes import S3_ROUTES
from pydt_tray.sandbox.service_api import GENERIC_500, error_reply
from pydt_tray.sandbox.simulator import PydtSimulator, Reply
from pydt_tray.sandbox.storage import s3_error
from pydt_tray.sandbox.webhooks import WebhookDelivery
from pydt_tray.sandbox.world import make_token
from tests.helpers.traffic import RecordedRequest, Traffic

__all__ = ["InstrumentedSimulator", "RecordedRequest"]


def fault_reply(route: str, kind: str, status: int) -> Reply:
    """The reply of an injected fault, shaped like the real service's (or S3's) own errors."""
    if kind == "malformed":
        return Reply(200, b'{"data": [{"gameId": "broken", ')
    if route in S3_ROUTES:
        if kind == "unauthorized":
            return s3_error(403, "AccessDenied", "Access Denied")
        return s3_error(status, "InternalError", "We encountered an internal error. Please try again.")
    if kind == "unauthorized":
        return error_reply(401, "Unauthorized")
    return error_reply(status, GENERIC_500 if status >= 500 else "Not Found" if status == 404 else "Bad Request")


class InstrumentedSimulator(PydtSimulator):
    """A :class:`PydtSimulator` tests can break and watch. Thread-safe, like the simulator."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        download_ttl: float = 60.0,
        upload_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(host, port, download_ttl=download_ttl, upload_ttl=upload_ttl, clock=clock)
        self._traffic = Traffic()
        self._rejections: dict[str, deque[tuple[str, int]]] = {}
        self._rejections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._webhook_log: list[WebhookDelivery] = []

    def start(self) -> InstrumentedSimulator:
        self._stopping.clear()
        super().start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # a request held back by a latency returns now
        super().stop()

    def __enter__(self) -> InstrumentedSimulator:
        return self.start()

    # --- arranging ---------------------------------------------------------------------------

    def fail_next(self, route: str, status: int = 500, count: int = 1) -> None:
        self._traffic.queue_fault(route, "fail", status, count)

    def malformed_next(self, route: str, count: int = 1) -> None:
        self._traffic.queue_fault(route, "malformed", 200, count)

    def unauthorized_next(self, route: str, count: int = 1) -> None:
        self._traffic.queue_fault(route, "unauthorized", 401, count)

    def reject_next_finish(self, game_id: str, message: str, status: int = 400) -> None:
        with self._rejections_lock:
            self._rejections.setdefault(game_id, deque()).append((message, status))

    def set_latency(self, route: str, seconds: float) -> None:
        self._traffic.set_latency(route, seconds)

    def revoke_tokens(self, steam_id: str) -> str:
        """Bump the user's nonce (the website's "regenerate token"): earlier tokens get 401. Returns a new one."""
        with self._lock:
            self._nonces[steam_id] = self._nonces.get(steam_id, 0) + 1
            return make_token(self._secret, steam_id, self._nonces[steam_id])

    # --- observing ---------------------------------------------------------------------------

    def request_count(self, route: str) -> int:
        return self._traffic.count(route)

    def recorded(self, route: str) -> list[RecordedRequest]:
        return self._traffic.recorded(route)

    def reset_counts(self) -> None:
        self._traffic.reset()

    def set_vacation(self, steam_id: str, on: bool = True) -> None:
        """Vacation mode (the website's profile page): a new turn for this user sends nothing at all."""
        with self._lock:
            self._users[steam_id]["vacationMode"] = on

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook POST the service made, in order."""
        with self._rejections_lock:
            return list(self._webhook_log)

    # --- the simulator's extension points ----------------------------------------------------

    def intercept(self, route: str, method: str, path: str, query: str, headers: dict[str, str]) -> Reply | None:
        latency = self._traffic.arrived(RecordedRequest(route, method, path, query, headers))
        if latency > 0:
            self._stopping.wait(latency)
        fault = self._traffic.take_fault(route)
        return fault_reply(route, *fault) if fault else None

    def webhook_sent(self, delivery: WebhookDelivery) -> None:
        super().webhook_sent(delivery)
        with self._rejections_lock:
            self._webhook_log.append(delivery)

    def finish_refusal(self, game_id: str) -> tuple[str, int] | None:
        with self._rejections_lock:
            rejections = self._rejections.get(game_id)
            return rejections.popleft() if rejections else None
