"""pydt-tray: a system-tray client for Play Your Damn Turn."""

__version__ = "0.1.0"
APP_NAME = "pydt-tray"
