# ruff: noqa
"""Names the dead-code check (vulture, run by scripts/test.sh) must not report, each with the reason it stays.

Vulture reads this file as if it were code using these names. Anything unused that is not listed here
fails the lint step: remove it, or use it, or add it here with a reason.
"""

# --- called by a framework, not by our code ------------------------------------------------------------------
# http.server request handlers and server options (core/turn_api.py, sandbox/server.py)
daemon_threads
allow_reuse_address
block_on_close
protocol_version
sys_version
disable_nagle_algorithm
_.handle_error
_.version_string
_.log_message
_.send_error
explain
_.close_connection
_.request_version
_.do_GET
_.do_POST
_.do_PUT
_.do_DELETE
do_CONNECT
do_HEAD
do_OPTIONS
do_PATCH
do_TRACE
do_DELETE
do_POST
do_PUT
# requests calls Session.rebuild_auth on every redirect (core/api.py: never netrc credentials)
_.rebuild_auth
# logging's FileHandler opens (and, after each rotation, reopens) its file through _open (core/logs.py: 0600)
_._open
# Qt: a native event filter override (platform/wake.py)
_.nativeEventFilter
# awscrt callback argument (push/mqtt311_link.py)
return_code
# the push listener protocol (push/config.py) and its Qt implementation (ui/bridge.py), called by push/relay.py
_.on_push_message
_.on_push_connected
_.on_push_disconnected
_.on_push_stopped
# PYDT simulator routes, dispatched by name from the request path (sandbox/simulator.py)
_._api_getCurrent
_._api_games
_._api_steamProfile
_._api_steamProfiles
_._api_metadata
_._api_game
_._api_getTurn
_._api_startSubmit
_._api_finishSubmit
_._api_getCurrentWithPud
_._api_setWebhookUrl
_._api_setUserInformation

# --- data read from the PYDT API, kept so the models mirror the service's replies (core/models.py) ------------
civ_type
is_dead
substitution_requested
created_by_steam_id
created_at
discourse_topic_id
latest_discourse_post_number
latest_discourse_post_user
description
dlc
vacation_mode
profile_url
avatar_medium

# --- the typed settings snapshot has one field per row of the settings table (core/settings_table.py) ------------
notifications_enabled
poll_interval_seconds
iot_keepalive_seconds
mqtt_protocol
launch_game
auto_download
auto_submit
save_dir_civ6
save_dir_civ7
save_dir_civ5
save_dir_beyond_earth
save_dir_old_world
store_civ6
store_old_world

# --- read-only state a part offers as its public API (what the part is doing now); tests and benchmarks read it
_.running  # core/turn_api.py: whether the /turns server is listening
_.server_name  # platform/single_instance.py: the address a second start connects to
_.grace_over  # core/save_watch.py: a save written from now on is reported
_.watching  # core/turn_player.py: waiting for the user's save
_.empty_label  # ui/games_window.py: what the window shows while there is no list
_.empty_button  # ui/games_window.py: its Retry or Sign in button
_.reconnect_policy  # push/connection.py: the running link's reconnect counters
_.streak  # push/reconnect.py: losses since the last stable connection
_.attempts_in_last  # push/reconnect.py: attempts per time window
_.outage_seconds  # core/poll_schedule.py: how long no push path has been live
_.silence_menu  # ui/game_card.py: a card's snooze/mute choices

# --- attributes read by libraries -------------------------------------------------------------------------------
_.trust_env  # core/updates.py: requests takes no proxy or .netrc from the environment for the release feed

# --- the secret registry is process-wide: each test that registers secrets starts again from none ------------------
clear_secrets

# --- the PYDT simulator's control surface, driven by tests and the demo (sandbox/simulator.py) -------------------
_.set_current_player
_.set_turn_save
_.complete_game
_.uploaded
_.post_smack_talk

# --- read by the tests of the game list: whether a card shows the unread smack talk mark (ui/game_card.py) ------
_.unread_smack

# --- urllib3 reads these: the connection class of a pool, the pool classes of a pool manager (core/deadline.py) --
_.ConnectionCls
_.pool_classes_by_scheme

# --- used by scripts/render_tray_icons.py, which writes the shipped tray PNGs (ui/icons.py, ui/icon_painter.py) --
_.tray_variants
