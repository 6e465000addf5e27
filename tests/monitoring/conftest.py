"""Fixtures of the monitoring tests: the serving tests' bundle and handler module."""

from __future__ import annotations

from tests.serving.conftest import invoker, serving_bundle  # noqa: F401 (fixtures re-exported)
