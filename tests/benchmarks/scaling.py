"""Cost as the number of games grows: CPU per push, the games window's render time, and memory.

A push costs: parsing the pollUrl reply, building the snapshot, the diff against the previous one, and the
presenter's update of the tray (and of the window when it is open). Each size is measured in a fresh child
process, so the RSS column is what that many games cost a running Qt process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ME = "76561190000000001"
PUSHES = 40


def player_id(index: int) -> str:
    return f"7656119{index:010d}"


def game_json(index: int, players: int, turn: int, current: str) -> dict:
    ids = [ME] + [player_id(100 + index * 12 + n) for n in range(players - 1)]
    return {
        "gameId": f"game-{index:04d}",
        "displayName": f"Game number {index}",
        "createdBy": ids[1 % len(ids)],
        "inProgress": True,
        "completed": False,
        "gameType": "CIV6",
        "currentPlayerSteamId": current,
        "gameTurnRangeKey": turn,
        "round": turn // max(1, players) + 1,
        "turnTimerMinutes": 1440,
        "updatedAt": "2026-08-02T12:34:56.789Z",
        "players": [{"steamId": sid, "civType": f"LEADER_{n}", "hasSurrendered": False} for n, sid in enumerate(ids)],
    }


def reply(games: int, step: int) -> bytes:
    """The pollUrl body for ``games`` games after ``step`` turns were played in game ``step % games``."""
    rows = []
    for index in range(games):
        players = 2 + index % 11  # 2..12 players
        turn = 10 + (step // games if index != step % games else step // games + 1)
        current = ME if (index + turn) % 3 == 0 else player_id(100 + index * 12)
        rows.append(game_json(index, players, turn, current))
    return json.dumps(rows).encode()


@dataclass
class FakeSession:
    snap: object = None
    signed_in: bool = True
    last_error: str = ""
    auth_failed: bool = False

    def snapshot(self):
        return self.snap

    def name_of(self, steam_id: str) -> str | None:
        return f"Player {steam_id[-4:]}"


def measure(games: int) -> dict[str, float]:
    """In this process: CPU per push with the window hidden and open, window open time, RSS."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from pydt_tray.core.diff import Snapshot, diff_snapshots
    from pydt_tray.core.limits import loads_json
    from pydt_tray.core.models import parse_games
    from pydt_tray.core.push_state import OFF
    from pydt_tray.desktop.presenter import Presenter
    from pydt_tray.ui.tray import Tray

    qapp = QApplication.instance() or QApplication([])
    session = FakeSession()
    tray = Tray()
    presenter = Presenter(tray, session, lambda: OFF, lambda: (), lambda: ("Start at login", True), lambda w: w)
    bodies = [reply(games, step) for step in range(PUSHES + 1)]

    def push(body: bytes) -> None:
        snapshot = Snapshot.build(ME, parse_games(loads_json(body)))
        diff_snapshots(session.snap, snapshot)
        session.snap = snapshot
        presenter.render()
        qapp.processEvents()
        qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # as the event loop would: replaced cards go

    push(bodies[0])
    hidden = []
    for body in bodies[1 : PUSHES // 2 + 1]:
        started = time.process_time()
        push(body)
        hidden.append(time.process_time() - started)
    started = time.perf_counter()
    window = presenter.window
    window.show()
    qapp.processEvents()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    open_ms = (time.perf_counter() - started) * 1000
    shown = []
    for body in bodies[PUSHES // 2 + 1 :]:
        started = time.process_time()
        push(body)
        shown.append(time.process_time() - started)
    rss = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    window.close()
    return {
        "push_ms": statistics.median(hidden) * 1000,
        "push_open_ms": statistics.median(shown) * 1000,
        "open_ms": open_ms,
        "rss_mb": rss,
    }


def bench_scaling(sizes: list[int]) -> None:
    print(f"[7] cost by number of games (2..12 players each; medians over {PUSHES // 2} pushes per column):")
    print(f"    {'games':>6} {'CPU/push hidden':>16} {'CPU/push window':>16} {'window opens':>13} {'RSS':>9}")
    for games in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.scaling", str(games)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        if out.returncode != 0:
            raise RuntimeError(f"scaling run for {games} games failed: {out.stderr[-2000:]}")
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"    {games:>6} {row['push_ms']:>13.1f} ms {row['push_open_ms']:>13.1f} ms "
            f"{row['open_ms']:>10.0f} ms {row['rss_mb']:>6.1f} MB"
        )
    print("    goals at 200 games: < 20 ms CPU per push, window opens < 300 ms")


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
