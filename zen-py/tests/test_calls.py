"""Tool calls against the stand-in provider: blocking and asyncio."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from typing import Any

import pytest

import zen
from conftest import CHAT, StandIn


def assert_chat_answer(out: dict[str, Any]) -> str:
    """Checks a chat answer's shape and returns its continuation id."""
    assert type(out) is dict
    assert out["content"].startswith("Stand-in answer from o3")
    assert out["status"] == "continuation_available"
    offer = out["continuation_offer"]
    assert type(offer) is dict  # nested objects are real dicts
    assert type(out["metadata"]) is dict
    assert out["metadata"]["model_used"] == "o3"
    assert isinstance(out["metadata"]["input_tokens"], int)
    continuation_id = offer["continuation_id"]
    assert isinstance(continuation_id, str)
    return continuation_id


def test_call_tool(engine: zen.Engine, standin: StandIn) -> None:
    assert_chat_answer(engine.call_tool("chat", CHAT))
    [request] = standin.requests()
    assert request["path"].startswith("/v1/")
    assert request["headers"]["authorization"] == "Bearer test-key"


def test_conversation_continues(engine: zen.Engine, standin: StandIn) -> None:
    first = assert_chat_answer(engine.call_tool("chat", CHAT))
    second = engine.call_tool(
        "chat", {**CHAT, "prompt": "And the next step?", "continuation_id": first}
    )
    assert second["continuation_offer"]["continuation_id"] == first
    # The second request carries the first exchange.
    assert "Is this plan sound?" in str(standin.requests()[1]["body"])


def test_tool_without_arguments(engine: zen.Engine) -> None:
    out = engine.call_tool("version")
    assert out["status"] == "success"
    assert zen.__version__ in str(out)


def test_arguments_take_any_mapping_and_tuples(engine: zen.Engine) -> None:
    args: OrderedDict[str, object] = OrderedDict(CHAT)
    args["absolute_file_paths"] = ()  # a tuple is a JSON array
    assert_chat_answer(engine.call_tool("chat", args))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (object(), TypeError),
        (b"bytes", TypeError),
        ({1: "key"}, TypeError),
        (float("nan"), ValueError),
        (2**64, ValueError),
    ],
)
def test_arguments_that_are_not_json(
    engine: zen.Engine, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"arguments\['extra'\]"):
        engine.call_tool("chat", {**CHAT, "extra": value})


def test_arguments_must_be_an_object(engine: zen.Engine) -> None:
    with pytest.raises(zen.InvalidArgumentsError, match="JSON object"):
        engine.call_tool("chat", ["not", "an", "object"])  # type: ignore[arg-type]


def test_call_tool_async(engine: zen.Engine) -> None:
    async def main() -> dict[str, Any]:
        return await engine.call_tool_async("chat", CHAT)

    assert_chat_answer(asyncio.run(main()))


def test_async_error(engine: zen.Engine) -> None:
    async def main() -> None:
        await engine.call_tool_async("nope", {})

    with pytest.raises(zen.UnknownToolError):
        asyncio.run(main())


def test_fifty_calls_in_flight(standin: StandIn) -> None:
    engine = zen.Engine(
        standin.config(ZEN_MAX_CONCURRENT_OPENAI="64", MAX_CONCURRENT_REQUESTS="64")
    )
    calls = 50
    # Each reply waits, so that all the calls are at the stand-in at once.
    standin.script(delay_ms=3000, always=True)

    async def main() -> list[dict[str, Any]]:
        tasks = [
            asyncio.ensure_future(
                engine.call_tool_async("chat", {**CHAT, "prompt": f"question {i}"})
            )
            for i in range(calls)
        ]
        # Every request arrives before any answer comes back.
        while len(await asyncio.to_thread(standin.requests)) < calls:
            assert not any(task.done() for task in tasks)
            await asyncio.sleep(0.05)
        assert not any(task.done() for task in tasks)
        return await asyncio.gather(*tasks)

    outs = asyncio.run(main())
    ids = {assert_chat_answer(out) for out in outs}
    assert len(ids) == calls
    # One request per call, each with its own prompt.
    asked = [re.findall(r"question (\d+)", str(r["body"])) for r in standin.requests()]
    assert sorted(int(n) for [n] in asked) == list(range(calls))


def test_cancelling_the_awaitable(engine: zen.Engine, standin: StandIn) -> None:
    standin.script(delay_ms=5000)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(engine.call_tool_async("chat", CHAT), 0.5)
        # The engine carries on.
        assert_chat_answer(await engine.call_tool_async("chat", CHAT))

    asyncio.run(main())


def test_async_needs_a_running_loop(engine: zen.Engine) -> None:
    with pytest.raises(RuntimeError):
        engine.call_tool_async("chat", CHAT)
