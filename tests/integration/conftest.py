"""Fixtures of the integration tests."""

from tests.integration.app_harness import app_factory  # noqa: F401  (fixture)
