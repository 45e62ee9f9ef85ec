"""Returning freed heap to the system after loads."""

import sys

import pytest

from pydt_tray.platform.memory import HeapTrimmer, release_free_memory


def test_release_does_nothing_off_linux():
    assert release_free_memory("win32") is False
    assert release_free_memory("darwin") is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_returns_freed_pages_on_linux():
    blocks = [bytearray(64 * 1024) for _ in range(2000)]  # ~128 MB below the mmap threshold: heap pages
    del blocks
    assert release_free_memory() is True


def test_trimmer_trims_once_after_a_burst_of_requests(qtbot):
    trimmer = HeapTrimmer()
    trimmer._timer.setInterval(10)
    for _ in range(5):
        trimmer.soon()
    qtbot.waitUntil(lambda: trimmer.trims == 1, timeout=2000)
    qtbot.wait(50)
    assert trimmer.trims == 1
    trimmer.stop()
