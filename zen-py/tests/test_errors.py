"""Every exception class, each provoked for real through the stand-in."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import zen
from conftest import CHAT, StandIn

# class -> (kind, the builtin it also is, or None)
CLASSES: dict[type[zen.ZenError], tuple[str, type[Exception] | None]] = {
    zen.ConfigError: ("config", ValueError),
    zen.CatalogueError: ("catalogue", ValueError),
    zen.InvalidArgumentsError: ("invalid_arguments", ValueError),
    zen.UnknownToolError: ("unknown_tool", LookupError),
    zen.ModelNotAvailableError: ("model_not_available", LookupError),
    zen.NoProviderError: ("no_provider", None),
    zen.ProviderError: ("provider", None),
    zen.RateLimitedError: ("rate_limited", None),
    zen.ProviderTimeoutError: ("timeout", TimeoutError),
    zen.BusyError: ("busy", None),
    zen.CircuitOpenError: ("circuit_open", None),
    zen.FileRefusedError: ("file_refused", None),
    zen.ConversationNotFoundError: ("conversation_not_found", LookupError),
    zen.ConversationFullError: ("conversation_full", None),
}


def raised(action: Callable[[], object], cls: type[zen.ZenError]) -> zen.ZenError:
    """Runs `action`, which must raise exactly `cls`, and checks what every
    zen error carries."""
    with pytest.raises(cls) as info:
        action()
    err = info.value
    assert type(err) is cls
    kind, builtin = CLASSES[cls]
    assert isinstance(err, zen.ZenError)
    if builtin is not None:
        assert isinstance(err, builtin)
    assert err.kind == kind == cls.kind
    assert isinstance(err.retryable, bool)
    assert str(err)
    assert err.args == (str(err),)
    return err


def test_every_class_is_exported_and_tested() -> None:
    exported = {
        obj
        for name in zen.__all__
        if isinstance(obj := getattr(zen, name), type) and issubclass(obj, zen.ZenError)
    }
    assert exported - {zen.ZenError} == set(CLASSES)
    tested = {
        name.removeprefix("test_")
        for name in globals()
        if name.startswith("test_") and name.endswith("_error")
    }
    assert tested == {camel_to_snake(cls.__name__) for cls in CLASSES}


def camel_to_snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def test_classes_are_distinct_and_in_module_zen() -> None:
    assert len({cls.kind for cls in CLASSES}) == len(CLASSES)
    classes: list[type[zen.ZenError]] = [zen.ZenError, *CLASSES]
    for cls in classes:
        assert cls.__module__ == "zen"
        assert getattr(zen, cls.__name__) is cls
        assert cls.__doc__
    assert zen.ZenError.__bases__ == (Exception,)


def test_config_error() -> None:
    err = raised(lambda: zen.Engine({"MAX_CONVERSATION_TURNS": "x"}), zen.ConfigError)
    assert "MAX_CONVERSATION_TURNS" in str(err)


def test_catalogue_error(standin: StandIn, tmp_path: Path) -> None:
    bad = tmp_path / "openai_models.json"
    bad.write_text("{not json")
    config = standin.config(OPENAI_MODELS_CONFIG_PATH=str(bad))
    err = raised(lambda: zen.Engine(config), zen.CatalogueError)
    assert str(bad) in str(err)


def test_invalid_arguments_error(engine: zen.Engine) -> None:
    err = raised(lambda: engine.call_tool("chat", {**CHAT, "prompt": 1}), zen.InvalidArgumentsError)
    assert "prompt" in str(err)
    assert not err.retryable


def test_unknown_tool_error(engine: zen.Engine) -> None:
    err = raised(lambda: engine.call_tool("no_such_tool", {}), zen.UnknownToolError)
    assert "no_such_tool" in str(err)


def test_model_not_available_error(engine: zen.Engine) -> None:
    raised(lambda: engine.call_tool("chat", {**CHAT, "model": "nope"}), zen.ModelNotAvailableError)


def test_no_provider_error() -> None:
    engine = zen.Engine({})
    raised(lambda: engine.call_tool("chat", CHAT), zen.NoProviderError)


def test_provider_error(engine: zen.Engine, standin: StandIn) -> None:
    standin.script(status=500)
    err = raised(lambda: engine.call_tool("chat", CHAT), zen.ProviderError)
    assert isinstance(err, zen.ProviderError)
    assert err.status == 500
    assert err.retryable


def test_rate_limited_error(engine: zen.Engine, standin: StandIn) -> None:
    standin.script(status=429, retry_after=1)
    err = raised(lambda: engine.call_tool("chat", CHAT), zen.RateLimitedError)
    assert isinstance(err, zen.RateLimitedError)
    assert err.retry_after == 1.0
    assert err.retryable


def test_provider_timeout_error(standin: StandIn) -> None:
    engine = zen.Engine(standin.config(CUSTOM_READ_TIMEOUT="0.5"))
    standin.script(delay_ms=3000)
    err = raised(lambda: engine.call_tool("chat", CHAT), zen.ProviderTimeoutError)
    assert err.retryable


def test_busy_error(standin: StandIn) -> None:
    engine = zen.Engine(
        standin.config(ZEN_MAX_CONCURRENT_OPENAI="1", ZEN_QUEUE_TIMEOUT_SECS="0.2")
    )
    standin.script(delay_ms=3000)

    async def main() -> None:
        # The first call holds the only place while the stand-in waits.
        first = asyncio.ensure_future(engine.call_tool_async("chat", CHAT))
        while not await asyncio.to_thread(standin.requests):
            await asyncio.sleep(0.02)
        busy = raised(lambda: engine.call_tool("chat", CHAT), zen.BusyError)
        assert busy.retryable  # later, there may be room
        await first

    asyncio.run(main())


def test_circuit_open_error(standin: StandIn) -> None:
    engine = zen.Engine(standin.config(ZEN_BREAKER_FAILURES="1"))
    standin.script(status=500)
    raised(lambda: engine.call_tool("chat", CHAT), zen.ProviderError)
    err = raised(lambda: engine.call_tool("chat", CHAT), zen.CircuitOpenError)
    assert isinstance(err, zen.CircuitOpenError)
    assert err.retry_after is not None and err.retry_after > 0
    assert err.retryable  # after retry_after, a trial call goes through
    assert len(standin.requests()) == 1  # the breaker kept the second call home


def test_file_refused_error(engine: zen.Engine, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("a line of the prompt\n" * 60_000)  # over the 1 MiB limit
    args = {**CHAT, "absolute_file_paths": [str(prompt)]}
    err = raised(lambda: engine.call_tool("chat", args), zen.FileRefusedError)
    assert str(prompt) in str(err)


def test_conversation_not_found_error(engine: zen.Engine) -> None:
    missing = str(uuid.uuid4())
    args = {**CHAT, "continuation_id": missing}
    err = raised(lambda: engine.call_tool("chat", args), zen.ConversationNotFoundError)
    assert missing in str(err)


def test_conversation_full_error(standin: StandIn) -> None:
    engine = zen.Engine(standin.config(MAX_CONVERSATION_TURNS="4"))
    first = engine.call_tool("chat", CHAT)["continuation_offer"]["continuation_id"]
    args = {**CHAT, "continuation_id": first}
    last = engine.call_tool("chat", args)  # the second exchange fills the four turns
    assert "continuation_offer" not in last
    raised(lambda: engine.call_tool("chat", args), zen.ConversationFullError)


def test_errors_cross_threads(engine: zen.Engine) -> None:
    """An error raised in another thread is the same class."""
    caught: list[BaseException] = []

    def call() -> None:
        try:
            engine.call_tool("nope", {})
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            caught.append(err)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()
    assert [type(err) for err in caught] == [zen.UnknownToolError]


def test_errors_pickle(engine: zen.Engine, standin: StandIn) -> None:
    """Errors survive pickling (multiprocessing, concurrent.futures)."""
    import pickle

    standin.script(status=429, retry_after=2)
    with pytest.raises(zen.RateLimitedError) as info:
        engine.call_tool("chat", CHAT)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is zen.RateLimitedError
    assert (copy.args, copy.kind, copy.retryable, copy.retry_after) == (
        info.value.args,
        "rate_limited",
        True,
        2.0,
    )
