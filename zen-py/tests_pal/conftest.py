"""Fixtures for the PAL drop-in tests: the stand-in provider (shared with the
module's tests), and PAL's settings pointing its custom provider at it.

These tests need the Python PAL server (`pip install pal-mcp-server`) in the
interpreter; tests/python/run.sh installs it into its own venv.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_shared = Path(__file__).resolve().parents[1] / "tests" / "conftest.py"
_spec = importlib.util.spec_from_file_location("zen_standin_fixtures", _shared)
assert _spec is not None and _spec.loader is not None
fixtures = importlib.util.module_from_spec(_spec)
sys.modules["zen_standin_fixtures"] = fixtures
_spec.loader.exec_module(fixtures)

StandIn = fixtures.StandIn
standin_server = fixtures.standin_server
standin = fixtures.standin

# A model PAL's shipped custom catalogue knows; zen learns it from
# CUSTOM_MODEL_NAME.
MODEL = "local-llama"


def pal_settings(url: str) -> dict[str, str]:
    """What a PAL user with one local OpenAI-compatible endpoint sets."""
    return {
        "CUSTOM_API_URL": url + "/v1",
        "CUSTOM_MODEL_NAME": MODEL,
        "DEFAULT_MODEL": MODEL,
        "ZEN_MAX_RETRIES": "0",
    }


@pytest.fixture(scope="session")
def pal(standin_server: Any) -> Iterator[Any]:
    """PAL's server module, imported in this process with its settings."""
    for name, value in pal_settings(standin_server.url).items():
        os.environ[name] = value
    import server

    server.configure_providers()
    yield server


@pytest.fixture
def compat(pal: Any, standin: Any) -> Iterator[Any]:
    """zen.compat.pal, uninstalled again after each test."""
    from zen.compat import pal as compat_pal

    yield compat_pal
    compat_pal.uninstall()
