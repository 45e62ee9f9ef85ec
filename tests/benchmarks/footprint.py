"""Memory against the floor, and what the app does while idle.

The floor is the least a tray program on the same stack can cost: a bare ``QApplication`` with a
``QSystemTrayIcon`` that imports the same runtime libraries as the app (QtWidgets, awscrt/awsiot, requests,
keyring, jeepney). It runs beside the real app, connected and idle, in the same run, so both see the same
machine, the same shared libraries and the same Qt platform plugin.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FLOOR_SCRIPT = """
import awscrt.mqtt, awscrt.mqtt5, awsiot.mqtt_connection_builder, jeepney, jeepney.io.blocking, keyring, requests
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
app = QApplication([])
app.setQuitOnLastWindowClosed(False)
pixmap = QPixmap(32, 32)
pixmap.fill()
tray = QSystemTrayIcon(QIcon(pixmap))
tray.show()
print("ready", flush=True)
app.exec()
"""


@dataclass(frozen=True)
class Memory:
    rss_mb: float
    pss_mb: float


def memory_of(pid: int) -> Memory:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name.strip()] = int(value.split()[0]) / 1024
    return Memory(fields.get("Rss", 0.0), fields.get("Pss", 0.0))


def cpu_seconds(pid: int) -> float:
    """CPU time of the whole process (every thread, living or ended), in clock ticks (10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_ns(pid: int) -> dict[str, int]:
    """Run time in nanoseconds per living thread (schedstat): finer than the process's clock ticks."""
    times: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[task.name] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return times


def wakeups(pid: int) -> dict[str, int]:
    """Voluntary context switches per living thread (name/tid -> count): each one is a sleep that ended."""
    counts: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        counts[f"{values['Name'].strip()}/{task.name}"] = int(values["voluntary_ctxt_switches"])
    return counts


def start_floor(env: dict[str, str]) -> subprocess.Popen[str]:
    floor = subprocess.Popen(
        [sys.executable, "-c", FLOOR_SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert floor.stdout is not None
    if floor.stdout.readline().strip() != "ready":
        raise RuntimeError("the floor process did not start")
    return floor


def start_app(stack, env: dict[str, str]) -> subprocess.Popen[bytes]:
    program = shutil.which("pydt-tray")
    if program is None:
        raise RuntimeError("pydt-tray is not installed: pip install -e .")
    subscribes = stack.broker.log_text().count("Received SUBSCRIBE")
    process = subprocess.Popen(
        [program, "--hidden"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while stack.broker.log_text().count("Received SUBSCRIBE") <= subscribes:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the app did not subscribe within 20 s")
        time.sleep(0.01)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bench_footprint(stack, env: dict[str, str], runs: int, settle_seconds: float, idle_minutes: float) -> None:
    """``runs`` side-by-side starts (memory medians), then the last app's idle behaviour over ``idle_minutes``."""
    app_mem: list[Memory] = []
    floor_mem: list[Memory] = []
    app = None
    for attempt in range(runs):
        floor = start_floor(env)
        app = start_app(stack, env)
        try:
            time.sleep(settle_seconds)  # start-up work (first loads, names, metadata) ends
            app_mem.append(memory_of(app.pid))
            floor_mem.append(memory_of(floor.pid))
        finally:
            stop(floor)
            if attempt < runs - 1:
                stop(app)
    assert app is not None

    def median(values: list[Memory], attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in values)

    a_rss, f_rss = median(app_mem, "rss_mb"), median(floor_mem, "rss_mb")
    a_pss, f_pss = median(app_mem, "pss_mb"), median(floor_mem, "pss_mb")
    print(f"[3] memory, medians of {runs} side-by-side starts ({settle_seconds:g} s after subscribing):")
    print(f"    floor RSS {f_rss:.1f} MB, PSS {f_pss:.1f} MB")
    print(f"    app   RSS {a_rss:.1f} MB, PSS {a_pss:.1f} MB")
    print(f"    gap   RSS {a_rss - f_rss:+.1f} MB, PSS {a_pss - f_pss:+.1f} MB (goal <= 8 MB)")
    gaps = [f"{a.rss_mb - f.rss_mb:+.1f}" for a, f in zip(app_mem, floor_mem, strict=True)]
    print("    runs (app-floor RSS): " + ", ".join(gaps))
    try:
        seconds = idle_minutes * 60
        before, cpu0, ns0 = wakeups(app.pid), cpu_seconds(app.pid), thread_cpu_ns(app.pid)
        time.sleep(seconds)
        after, cpu1, ns1 = wakeups(app.pid), cpu_seconds(app.pid), thread_cpu_ns(app.pid)
        threads_ns = sum(ns1[tid] - ns0.get(tid, 0) for tid in ns1)
        deltas = {name: after[name] - before.get(name, 0) for name in after}
        total = sum(deltas.values())
        per_minute = total * 60 / seconds
        print(
            f"[5] idle {idle_minutes:g} min, push connected, no window: {per_minute:.1f} wake-ups/min "
            f"(goal <= 6), CPU {threads_ns / 1e9 * 60 / seconds:.4f} s/min (goal <= 0.02), all threads"
        )
        print(f"    CPU by clock ticks (10 ms steps, ended threads too): {(cpu1 - cpu0) * 60 / seconds:.3f} s/min")
        busiest = sorted(((count, name) for name, count in deltas.items() if count), reverse=True)[:6]
        print("    by thread: " + (", ".join(f"{name} {count}" for count, name in busiest) or "none"))
        print(f"    RSS after idle {memory_of(app.pid).rss_mb:.1f} MB")
    finally:
        stop(app)
