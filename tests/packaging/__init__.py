"""Checks of the frozen (PyInstaller) program; run on demand, not collected by pytest."""
