from __future__ import annotations

import json
import logging

import pytest

from pydt_tray.core import logs
from pydt_tray.core.environment import (
    DEFAULT_API_URL,
    ENVIRONMENT_VARIABLES,
    Endpoints,
    EnvironmentConfigError,
    resolve_endpoints,
)
from pydt_tray.core.settings import Settings

PROD_HOST = "a21s639tnrshxf-ats.iot.us-east-1.amazonaws.com"


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    logs.clear_secrets()


@pytest.fixture
def no_file(tmp_path):
    return tmp_path / "absent.json"


@pytest.fixture
def build_file(tmp_path):
    def write(data):
        path = tmp_path / "_build_defaults.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    return write


def test_defaults_are_production(no_file):
    endpoints = resolve_endpoints(None, {}, no_file)
    assert endpoints == Endpoints()
    assert endpoints.api_url == DEFAULT_API_URL == "https://api.playyourdamnturn.com"
    assert (endpoints.stage, endpoints.iot_endpoint, endpoints.iot_port) == ("prod", PROD_HOST, 443)
    assert endpoints.iot_region == "us-east-1" and endpoints.iot_ca_file is None
    assert not endpoints.has_push_credentials
    assert endpoints.topic_for("76561190000000001") == "/pydt/prod/user/76561190000000001/gameupdate"


def test_precedence_environment_over_settings_over_build_defaults(build_file):
    built = build_file({"iot_endpoint": "built.example", "iot_port": 8443, "iot_region": "eu-west-1", "stage": "dev"})
    settings = Settings()
    assert resolve_endpoints(settings, {}, built).iot_endpoint == "built.example"  # over the built-in default

    settings.set("iot_endpoint", "settings.example")
    settings.set("iot_ca_file", "/etc/ca.pem")
    resolved = resolve_endpoints(settings, {}, built)
    assert (resolved.iot_endpoint, resolved.iot_port, resolved.iot_region) == ("settings.example", 8443, "eu-west-1")
    assert resolved.iot_ca_file == "/etc/ca.pem" and resolved.stage == "dev"

    environ = {
        "PYDT_IOT_ENDPOINT": "env.example",
        "PYDT_IOT_PORT": "9001",
        "PYDT_IOT_REGION": "us-west-2",
        "PYDT_IOT_CA_FILE": "/tmp/ca.crt",
        "PYDT_STAGE": "PROD",
        "PYDT_API_URL": "http://127.0.0.1:8080/",
    }
    resolved = resolve_endpoints(settings, environ, built)
    assert resolved.iot_endpoint == "env.example" and resolved.iot_port == 9001 and resolved.iot_region == "us-west-2"
    assert resolved.iot_ca_file == "/tmp/ca.crt" and resolved.stage == "prod"
    assert resolved.api_url == "http://127.0.0.1:8080"
    assert resolved.topic_for("42") == "/pydt/prod/user/42/gameupdate"


def test_empty_environment_variables_count_as_unset(no_file):
    assert resolve_endpoints(None, {"PYDT_STAGE": "", "PYDT_IOT_PORT": " "}, no_file) == Endpoints()


def test_credentials_come_as_a_pair_from_one_source(build_file, no_file):
    built = build_file({"iot_access_key_id": "BUILTKEY", "iot_secret_access_key": "built-secret-value"})
    from_build = resolve_endpoints(None, {}, built)
    assert from_build.has_push_credentials
    assert (from_build.iot_access_key_id, from_build.iot_secret_access_key) == ("BUILTKEY", "built-secret-value")

    environ = {"PYDT_IOT_ACCESS_KEY_ID": "ENVKEY", "PYDT_IOT_SECRET_ACCESS_KEY": "env-secret-value"}
    from_env = resolve_endpoints(None, environ, built)
    assert (from_env.iot_access_key_id, from_env.iot_secret_access_key) == ("ENVKEY", "env-secret-value")
    assert "env-secret-value" not in repr(from_env)
    assert logs.redact("key env-secret-value") == "key <redacted>"

    with pytest.raises(EnvironmentConfigError, match="PYDT_IOT_ACCESS_KEY_ID is set but PYDT_IOT_SECRET_ACCESS_KEY"):
        resolve_endpoints(None, {"PYDT_IOT_ACCESS_KEY_ID": "ENVKEY"}, no_file)
    half = build_file({"iot_secret_access_key": "only-the-secret"})
    with pytest.raises(EnvironmentConfigError, match=r"'iot_secret_access_key' is set but .*'iot_access_key_id'"):
        resolve_endpoints(None, {}, half)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PYDT_STAGE": "foo"}, "PYDT_STAGE: must be one of prod, dev, got 'foo'"),
        ({"PYDT_IOT_PORT": "abc"}, "PYDT_IOT_PORT: must be a port number 1..65535, got 'abc'"),
        ({"PYDT_IOT_PORT": "70000"}, "PYDT_IOT_PORT: must be a port number"),
        ({"PYDT_API_URL": "ftp://example.org"}, "PYDT_API_URL: must be an http:// or https:// URL"),
        ({"PYDT_API_URL": "api.playyourdamnturn.com"}, "PYDT_API_URL: must be an http"),
        ({"PYDT_API_URL": "http://api.playyourdamnturn.com"}, "PYDT_API_URL: plain http:// would send your token"),
        ({"PYDT_API_URL": "http://10.0.0.5:8080"}, "PYDT_API_URL: plain http:// would send your token"),
        ({"PYDT_API_URL": "http://localhost.example.org"}, "PYDT_API_URL: plain http:// would send your token"),
    ],
)
def test_bad_environment_values_name_the_variable(environ, expected, no_file):
    with pytest.raises(EnvironmentConfigError) as caught:
        resolve_endpoints(None, environ, no_file)
    assert expected in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_bad_build_default_values_name_the_file_key(build_file):
    with pytest.raises(EnvironmentConfigError, match=r"_build_defaults\.json key 'iot_port'"):
        resolve_endpoints(None, {}, build_file({"iot_port": "many"}))


@pytest.mark.parametrize("content", ["{broken", "[1]"])
def test_a_broken_build_defaults_file_is_ignored_with_a_warning(build_file, caplog, content):
    path = build_file(content)
    with caplog.at_level(logging.WARNING, logger="pydt_tray.core.environment"):
        assert resolve_endpoints(None, {}, path) == Endpoints()
    assert "Ignoring the bundled defaults" in caplog.text


def test_topic_refuses_wildcards_and_empty_ids():
    for bad in ("", "a/b", "+", "#", "x\n"):
        with pytest.raises(ValueError):
            Endpoints().topic_for(bad)
    assert Endpoints(stage="dev").topic_for("7") == "/pydt/dev/user/7/gameupdate"


def test_every_variable_read_is_documented():
    names = {name for name, meaning in ENVIRONMENT_VARIABLES if meaning}
    expected = {"PYDT_TRAY_HOME", "PYDT_API_URL", "PYDT_STAGE", "PYDT_IOT_ENDPOINT", "PYDT_IOT_PORT"}
    expected |= {"PYDT_IOT_REGION", "PYDT_IOT_CA_FILE", "PYDT_IOT_ACCESS_KEY_ID", "PYDT_IOT_SECRET_ACCESS_KEY"}
    expected |= {"PYDT_RELEASE_FEED_URL"}
    assert names == expected


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://127.5.6.7", "http://localhost:9000/api", "http://[::1]:8080", "https://10.0.0.5"],
)
def test_plain_http_is_allowed_only_to_this_computer(url, no_file):
    assert resolve_endpoints(None, {"PYDT_API_URL": url}, no_file).api_url == url.rstrip("/")
