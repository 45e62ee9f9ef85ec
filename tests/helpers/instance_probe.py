"""A tiny program for the single-instance tests: ``python -m tests.helpers.instance_probe KEY``.

With ``--start-when PATH`` it waits (after ``READY``) until that file exists before acquiring, so several
probes released together race for the key.
Prints ``READY`` once Qt is up, then ``FIRST <socket>`` or ``SECOND <milliseconds acquire took>``. A second
instance exits 0 at once. A first instance prints ``SHOWN`` for every show request and exits 0 when its
standard input closes (or after a safety timeout, with exit code 3).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSocketNotifier, QTimer

from pydt_tray.platform.single_instance import SingleInstance

SAFETY_TIMEOUT_MS = 60_000


def main(argv: list[str]) -> int:
    key = argv[1]
    start_file = argv[argv.index("--start-when") + 1] if "--start-when" in argv else None
    app = QCoreApplication(argv[:1])
    print("READY", flush=True)
    if start_file is not None:
        deadline = time.monotonic() + 60
        while not os.path.exists(start_file) and time.monotonic() < deadline:
            time.sleep(0.002)  # a starting gate shared by racing probes
    instance = SingleInstance(key)
    started = time.monotonic()
    first = instance.acquire()
    elapsed_ms = (time.monotonic() - started) * 1000
    if not first:
        print(f"SECOND {elapsed_ms:.0f}", flush=True)
        return 0
    print(f"FIRST {instance.server_name}", flush=True)
    instance.show_requested.connect(lambda: print("SHOWN", flush=True))

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 1024):
            notifier.setEnabled(False)
            app.exit(0)

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(on_stdin)
    QTimer.singleShot(SAFETY_TIMEOUT_MS, lambda: app.exit(3))
    code = app.exec()
    instance.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
