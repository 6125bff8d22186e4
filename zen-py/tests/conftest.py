"""Fixtures: the stand-in provider (the `zen-standin` binary) and engines
configured to talk to it."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zen

REPO = Path(__file__).resolve().parents[2]

# Arguments of a chat call that the stand-in answers.
CHAT = {
    "prompt": "Is this plan sound?",
    "model": "o3",
    "working_directory_absolute_path": "/tmp",
}


def standin_binary() -> Path:
    """$ZEN_STANDIN, else zen-standin in the cargo target directory."""
    if os.environ.get("ZEN_STANDIN"):
        return Path(os.environ["ZEN_STANDIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "zen-standin"


class StandIn:
    """A running stand-in provider, driven over its /_standin endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _post(self, path: str, body: Any) -> None:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def script(self, **behaviour: Any) -> None:
        """Queues a behaviour (delay_ms, status, retry_after, times, always…)."""
        self._post("/_standin/script", behaviour)

    def reset(self) -> None:
        self._post("/_standin/reset", {})

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/_standin/requests", timeout=10) as response:
            data: list[dict[str, Any]] = json.load(response)
            return data

    def config(self, **extra: str) -> dict[str, str]:
        """Settings for an engine whose OpenAI provider is this stand-in. Retries
        are off so that a scripted failure is seen as it is."""
        return {
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": self.url + "/v1",
            "ZEN_MAX_RETRIES": "0",
            **extra,
        }


@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandIn]:
    binary = standin_binary()
    if not binary.exists():
        pytest.fail(
            f"{binary} is missing: build it with `cargo build -p zen-testkit` "
            "or point ZEN_STANDIN at it"
        )
    # --exit-on-eof: the server goes away with this process, however it ends.
    process = subprocess.Popen(
        [str(binary), "--exit-on-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        pytest.fail(f"zen-standin printed {url!r} instead of its URL")
    try:
        yield StandIn(url)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def standin(standin_server: StandIn) -> StandIn:
    """The stand-in, with no scripted behaviour and no recorded requests."""
    standin_server.reset()
    return standin_server


@pytest.fixture
def engine(standin: StandIn) -> zen.Engine:
    return zen.Engine(standin.config())
