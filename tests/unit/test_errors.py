"""One family of user-facing errors: every module's error derives from PydtTrayError and keeps its exit code."""

from __future__ import annotations

import pytest

from pydt_tray.core.api_errors import ApiError, AuthError, NetworkError, PydtError
from pydt_tray.core.credentials import CredentialError, KeyringLockedError, NoSecureBackendError
from pydt_tray.core.environment import EnvironmentConfigError
from pydt_tray.core.errors import EXIT_AUTH, EXIT_FAILURE, EXIT_NETWORK, EXIT_USAGE, PydtTrayError
from pydt_tray.core.saves import SaveFolderError
from pydt_tray.core.settings_table import SettingsError
from pydt_tray.core.transfer import TransferError
from pydt_tray.core.turn_api import TurnApiError
from pydt_tray.platform.autostart import AutostartError
from pydt_tray.push.config import PushConfigError

FAMILY = [
    ApiError,
    AuthError,
    NetworkError,
    PydtError,
    CredentialError,
    KeyringLockedError,
    NoSecureBackendError,
    EnvironmentConfigError,
    SaveFolderError,
    SettingsError,
    TransferError,
    TurnApiError,
    AutostartError,
    PushConfigError,
]


@pytest.mark.parametrize("error_class", FAMILY, ids=lambda cls: cls.__name__)
def test_every_error_is_caught_by_the_base_with_its_message(error_class: type[PydtTrayError]) -> None:
    with pytest.raises(PydtTrayError) as caught:
        raise error_class("Something went wrong.")
    assert caught.value.user_message == "Something went wrong."
    assert str(caught.value) == "Something went wrong."


def test_detail_goes_to_str_not_to_the_user_message() -> None:
    error = CredentialError("The keyring is locked.", "dbus timeout")
    assert error.user_message == "The keyring is locked."
    assert str(error) == "The keyring is locked. (dbus timeout)"


def test_exit_codes_follow_the_kind_of_failure() -> None:
    assert AuthError().exit_code == EXIT_AUTH
    assert NetworkError("timed out").exit_code == EXIT_NETWORK
    assert SettingsError("key 'x': bad").exit_code == EXIT_USAGE
    assert TransferError("no room").exit_code == EXIT_FAILURE
    assert ApiError("Game not found", 404).exit_code == EXIT_FAILURE


def test_value_errors_stay_value_errors_for_callers_that_catch_those() -> None:
    for error_class in (SettingsError, EnvironmentConfigError, PushConfigError):
        assert issubclass(error_class, ValueError)
