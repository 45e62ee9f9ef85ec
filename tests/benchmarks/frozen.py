"""Memory against the floor on the frozen (PyInstaller) build.

The floor script of :mod:`tests.benchmarks.footprint` is frozen too, with the same Python and the same
libraries, and its executable is placed beside the app's in a hard-linked copy of the bundle, so both run
on the very same ``_internal`` files (shared pages count as they would for the source install). Nothing is
added to ``dist/`` itself. The floor build takes about 20 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.footprint import FLOOR_SCRIPT, Memory, memory_of, stop

FLOOR_NAME = "pydt-tray-floor"
# the floor imports these; PyInstaller would not see the ones its script only names in strings
FLOOR_HIDDEN = ("awscrt.mqtt", "awscrt.mqtt5", "awsiot.mqtt_connection_builder", "jeepney.io.blocking")


def build_floor(work: Path) -> Path:
    """Freeze the floor script into ``work``; returns its one-folder bundle."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))
    from bundle_rules import EXCLUDED_MODULES

    script = work / "floor.py"
    script.write_text(FLOOR_SCRIPT)
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--onedir", "--log-level", "ERROR",
        "--name", FLOOR_NAME, "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
        "--specpath", str(work), "--strip",
        *(f"--hidden-import={name}" for name in FLOOR_HIDDEN),
        *(f"--exclude-module={name}" for name in EXCLUDED_MODULES),
        str(script),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    return work / "dist" / FLOOR_NAME


def side_by_side(bundle: Path, floor: Path, work: Path) -> tuple[Path, list[str]]:
    """A hard-linked copy of ``bundle`` with the floor's executable beside the app's; returns the copy and the
    floor's files the app's bundle lacks. Those are added to the copy, except the Qt plugins and libraries the
    app's build leaves out (the floor loads none of them: it runs on the same platform plugin)."""
    target = work / "side-by-side"
    shutil.copytree(bundle, target, copy_function=os.link)
    shutil.copy2(floor / FLOOR_NAME, target / FLOOR_NAME)
    added = []
    for path in sorted((floor / "_internal").rglob("*")):
        relative = path.relative_to(floor / "_internal")
        there = target / "_internal" / relative
        if not path.is_file() or there.exists() or relative.parts[:1] == ("PySide6",):
            continue
        added.append(str(relative))
        there.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, there)
    return target, added


def start_frozen(program: Path, stack, env: dict[str, str], *, wait_subscribe: bool) -> subprocess.Popen:
    if not wait_subscribe:
        process = subprocess.Popen(
            [str(program)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the frozen floor process did not start")
        return process
    subscribes = stack.broker.log_text().count("Received SUBSCRIBE")
    process = subprocess.Popen(
        [str(program), "--hidden"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while stack.broker.log_text().count("Received SUBSCRIBE") <= subscribes:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the frozen app did not subscribe within 30 s")
        time.sleep(0.01)
    return process


def bench_frozen_footprint(stack, env: dict[str, str], bundle: Path, runs: int, settle_seconds: float) -> None:
    if not (bundle / "pydt-tray").exists():
        print(f"[3f] frozen build: no bundle at {bundle} (bash scripts/build.sh makes it); skipped")
        return
    app_mem: list[Memory] = []
    floor_mem: list[Memory] = []
    with tempfile.TemporaryDirectory(prefix="pydt-frozen-floor-", dir=bundle.parent) as folder:
        work = Path(folder)  # beside dist/: hard links need the same file system
        started = time.monotonic()
        floor_bundle = build_floor(work)
        copy, added = side_by_side(bundle, floor_bundle, work)
        print(f"[3f] frozen build ({bundle}), floor frozen in {time.monotonic() - started:.0f} s")
        if added:
            print(f"    the floor brought {len(added)} files the app's bundle lacks: {', '.join(added[:8])}")
        for _ in range(runs):
            floor = start_frozen(copy / FLOOR_NAME, stack, env, wait_subscribe=False)
            app = start_frozen(copy / "pydt-tray", stack, env, wait_subscribe=True)
            try:
                time.sleep(settle_seconds)
                app_mem.append(memory_of(app.pid))
                floor_mem.append(memory_of(floor.pid))
            finally:
                stop(floor)
                stop(app)

    def median(values: list[Memory], attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in values)

    a_rss, f_rss = median(app_mem, "rss_mb"), median(floor_mem, "rss_mb")
    a_pss, f_pss = median(app_mem, "pss_mb"), median(floor_mem, "pss_mb")
    print(f"    medians of {runs} side-by-side starts ({settle_seconds:g} s after subscribing):")
    print(f"    floor RSS {f_rss:.1f} MB, PSS {f_pss:.1f} MB")
    print(f"    app   RSS {a_rss:.1f} MB, PSS {a_pss:.1f} MB")
    print(f"    gap   RSS {a_rss - f_rss:+.1f} MB, PSS {a_pss - f_pss:+.1f} MB (goal <= 8 MB)")
