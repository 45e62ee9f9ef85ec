"""The running desktop app's parts, each with one job, wired together by :mod:`pydt_tray.app`.

They are Qt objects (signals, timers) but hold no widgets of their own: ``session`` (the signed-in account
and its sync engine), ``push_supervisor`` (the push connection and the backstop poll), ``notices`` (turn
notifications and reminders), ``presenter`` (tray, window and status text from the latest snapshot),
``reactions`` (what a changed setting does) and ``daily`` (pause, "I'm away", snooze and mute, turn-timer
warnings, the update notice).
"""
