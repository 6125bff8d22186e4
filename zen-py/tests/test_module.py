"""The module itself: version, engine construction, listings, metrics."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import zen
from conftest import CHAT, StandIn


def test_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", zen.__version__)
    assert zen.__version__ == importlib.metadata.version("zen-engine")


def test_package_is_typed() -> None:
    package = Path(zen.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_zen.pyi").is_file()


def test_engine_from_a_mapping(standin: StandIn) -> None:
    engine = zen.Engine(standin.config())
    assert "openai" in repr(engine)
    metrics = engine.metrics()
    assert [p["provider"] for p in metrics["providers"]] == ["openai"]


def test_engine_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, standin: StandIn
) -> None:
    monkeypatch.chdir(tmp_path)  # the .env read is the one written here
    (tmp_path / ".env").write_text("DEFAULT_MODEL=o3\n")
    for name, value in standin.config().items():
        monkeypatch.setenv(name, value)
    engine = zen.Engine()
    # DEFAULT_MODEL from .env picks the model when the call names none.
    args = {k: v for k, v in CHAT.items() if k != "model"}
    out = engine.call_tool("chat", args)
    assert out["metadata"]["model_used"] == "o3"


def test_engine_config_must_be_str_to_str() -> None:
    with pytest.raises(TypeError, match="OPENAI_API_KEY"):
        zen.Engine({"OPENAI_API_KEY": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="mapping"):
        zen.Engine(["OPENAI_API_KEY"])  # type: ignore[arg-type]


def test_engine_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError):
        type("Sub", (zen.Engine,), {})


def test_list_tools(engine: zen.Engine) -> None:
    tools = {tool["name"]: tool for tool in engine.list_tools()}
    assert {"chat", "version", "listmodels"} <= tools.keys()
    chat = tools["chat"]
    assert type(chat["input_schema"]) is dict
    assert "prompt" in chat["input_schema"]["properties"]
    assert chat["description"]


def test_disabled_tools_are_not_listed(standin: StandIn) -> None:
    engine = zen.Engine(standin.config(DISABLED_TOOLS="chat"))
    assert "chat" not in {tool["name"] for tool in engine.list_tools()}
    with pytest.raises(zen.UnknownToolError, match="DISABLED_TOOLS"):
        engine.call_tool("chat", CHAT)


def test_list_models(engine: zen.Engine) -> None:
    models = engine.list_models()
    o3 = [m for m in models if m["api_name"] == "o3"]
    assert o3 and o3[0]["provider"] == "openai"
    assert isinstance(o3[0]["spec"]["context_window"], int)


def test_metrics(engine: zen.Engine) -> None:
    engine.call_tool("chat", CHAT)
    metrics = engine.metrics()
    assert metrics["version"] == zen.__version__
    assert metrics["conversations"]["threads"] == 1
    assert metrics["tools"]["chat"]["calls"] == 1
