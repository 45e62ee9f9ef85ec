"""The push state value: which paths run, which are live, and the overall mode the app acts on."""

from pydt_tray.core.push_state import OFF, PathMode, PushMode, PushPath, PushState


def test_no_path_is_off_and_not_live() -> None:
    assert OFF.mode is PushMode.OFF and not OFF.live and OFF.live_paths == () and OFF.reason == ""


def test_one_path_through_its_life() -> None:
    state = OFF.with_path(PushPath.IOT, PathMode.CONNECTING)
    assert state.mode is PushMode.CONNECTING and not state.live
    state = state.with_path(PushPath.IOT, PathMode.LIVE)
    assert state.mode is PushMode.LIVE and state.live_paths == (PushPath.IOT,)
    assert len(state.paths) == 1, "setting a path again replaces it"
    state = state.with_path(PushPath.IOT, PathMode.RECONNECTING)
    assert state.mode is PushMode.RECONNECTING and not state.live
    assert state.without(PushPath.IOT) == OFF


def test_any_live_path_makes_the_app_live() -> None:
    state = PushState().with_path(PushPath.IOT, PathMode.RECONNECTING).with_path(PushPath.RELAY, PathMode.LIVE)
    assert state.live and state.mode is PushMode.LIVE and state.live_paths == (PushPath.RELAY,)
    both = state.with_path(PushPath.IOT, PathMode.LIVE)
    assert both.live_paths == (PushPath.IOT, PushPath.RELAY)


def test_a_failed_path_says_why_unless_another_is_live() -> None:
    failed = OFF.with_path(PushPath.IOT, PathMode.FAILED, "the CA file does not exist")
    assert failed.mode is PushMode.FAILED and failed.reason == "the CA file does not exist"
    retrying = failed.with_path(PushPath.RELAY, PathMode.RECONNECTING)
    assert retrying.mode is PushMode.RECONNECTING, "a path that retries beats one that gave up"
    live = failed.with_path(PushPath.RELAY, PathMode.LIVE)
    assert live.mode is PushMode.LIVE and live.reason == ""
