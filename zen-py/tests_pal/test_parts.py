"""Each zen.compat.pal part, in this process, under PAL's own functions."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import zen
from conftest import MODEL


def served(compat: Any) -> dict[str, int]:
    counts: dict[str, int] = compat.metrics()["served"]
    return counts


def test_install_names_what_is_wrong(compat: Any) -> None:
    with pytest.raises(ValueError, match="unknown zen.compat.pal part.*cache.*choose from"):
        compat.install(["storage", "cache"])
    with pytest.raises(ValueError, match="ZEN_PAL_PARTS"):
        compat.install([])
    with pytest.raises(ValueError, match="ZEN_PAL_TOOLS"):
        compat.install(["tools"], tools=[])
    with pytest.raises(ValueError, match="nosuchtool, which zen does not offer"):
        compat.install(["tools"], tools=["nosuchtool"])
    # A mistake installs nothing, even with other parts asked for first.
    with pytest.raises(ValueError, match="ZEN_PAL_TOOLS"):
        compat.install(["storage", "tools"], tools=[])
    with pytest.raises(ValueError, match="needs the tools part"):
        compat.install(["memory"], tools=["chat"])
    assert compat.installed_parts() == []
    # Part names are not case-sensitive, and `all` may come with others.
    assert compat.install("Storage") == ["storage"]
    assert compat.install("all,files", tools=["chat"]) == list(compat.PARTS)


def test_settings_pal_tolerates_do_not_stop_it(
    compat: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # PAL falls back to 50 turns and 3 hours, and names tools zen lacks.
    monkeypatch.setenv("MAX_CONVERSATION_TURNS", "0")
    monkeypatch.setenv("CONVERSATION_TIMEOUT_HOURS", "0")
    monkeypatch.setenv("DISABLED_TOOLS", "jules,frobnicate")
    with caplog.at_level("WARNING", logger="zen.compat.pal"):
        assert compat.install(["storage"]) == ["storage"]
    said = caplog.text
    assert "MAX_CONVERSATION_TURNS" in said and "CONVERSATION_TIMEOUT_HOURS" in said
    assert os.environ["MAX_CONVERSATION_TURNS"] == "0", "PAL's own reading is untouched"
    # What PAL would refuse too still stops it.
    compat.uninstall()
    monkeypatch.setenv("CUSTOM_API_URL", "localhost:1")
    with pytest.raises(zen.ConfigError, match="CUSTOM_API_URL"):
        compat.install(["storage"])


def test_storage_keeps_every_field(compat: Any) -> None:
    from utils import conversation_memory as memory

    compat.install(["storage"])
    thread_id = memory.create_thread("chat", {"prompt": "hi", "model": "o3", "extra": [1, 2]})
    assert memory.add_turn(
        thread_id, "user", "first", files=["/tmp/a.py"], images=["/tmp/b.png"], tool_name="chat"
    )
    assert memory.add_turn(
        thread_id, "assistant", "second", tool_name="chat", model_provider="custom",
        model_name=MODEL, model_metadata={"usage": {"input_tokens": 3}, "thinking_mode": "low"},
    )
    context = memory.get_thread(thread_id)
    assert context is not None
    assert context.initial_context == {"prompt": "hi", "extra": [1, 2]}
    first, second = context.turns
    assert (first.role, first.content, first.files, first.images) == (
        "user", "first", ["/tmp/a.py"], ["/tmp/b.png"])
    assert second.model_metadata == {"usage": {"input_tokens": 3}, "thinking_mode": "low"}
    assert (second.model_provider, second.model_name) == ("custom", MODEL)
    assert first.timestamp <= second.timestamp and context.created_at <= context.last_updated_at

    # zen's store holds it: the engine counts the thread, and the bridge
    # counts PAL's reads and writes.
    report = compat.metrics()
    assert report["engine"]["conversations"]["threads"] >= 1
    assert served(compat)["storage_writes"] >= 3 and served(compat)["storage_reads"] >= 3
    assert memory.get_thread("not-a-uuid") is None


def test_memory_threads_turns_and_history(compat: Any, tmp_path: Path) -> None:
    from utils import conversation_memory as memory

    compat.install(["memory"])
    code = tmp_path / "app.py"
    code.write_text("print('hello')\n")
    parent = memory.create_thread("analyze", {"prompt": "look"})
    assert memory.add_turn(parent, "user", "look at it", files=[str(code)], tool_name="analyze")
    child = memory.create_thread("chat", {"prompt": "more"}, parent_thread_id=parent)
    assert memory.add_turn(child, "assistant", "it prints hello", tool_name="chat",
                           model_provider="custom", model_name=MODEL)

    chain = memory.get_thread_chain(child)
    assert [t.thread_id for t in chain] == [parent, child]
    context = memory.get_thread(child)
    assert memory.get_conversation_file_list(chain[0]) == [str(code)]
    assert memory.get_conversation_image_list(context) == []

    text, tokens = memory.build_conversation_history(context)
    assert text.startswith(memory.CONVERSATION_HISTORY_MARKER)
    assert text.count("print('hello')") == 1 and "look at it" in text and "it prints hello" in text
    assert tokens > 0
    counts = served(compat)
    assert counts["threads_created"] == 2 and counts["turns_added"] == 2
    assert counts["histories_built"] == 1


def test_memory_turn_limit_and_concurrent_turns(compat: Any, monkeypatch: Any) -> None:
    from utils import conversation_memory as memory

    compat.install(["memory"])
    monkeypatch.setattr(memory, "MAX_CONVERSATION_TURNS", 40)
    thread_id = memory.create_thread("chat", {})
    results: list[bool] = []

    def add(n: int) -> None:
        results.append(memory.add_turn(thread_id, "user", f"turn {n}", tool_name="chat"))

    workers = [threading.Thread(target=add, args=(n,)) for n in range(32)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    # Appends are atomic in zen: none of the 32 concurrent turns is lost.
    context = memory.get_thread(thread_id)
    assert context is not None and len(context.turns) == 32 and all(results)
    for n in range(8):
        assert memory.add_turn(thread_id, "user", f"more {n}")
    assert not memory.add_turn(thread_id, "user", "one too many")
    assert not memory.add_turn("6f1d7c1e-0000-4000-8000-000000000000", "user", "gone")


def test_files_read_by_zen(compat: Any, tmp_path: Path) -> None:
    from utils import file_utils, token_utils

    compat.install(["files"])
    source = tmp_path / "lib.py"
    source.write_text("def f():\n    return 1\n")
    (tmp_path / "notes.md").write_text("notes\n")
    text, tokens = file_utils.read_file_content(str(source), include_line_numbers=True)
    assert "return 1" in text and "2│" in text and tokens > 0
    assert sorted(file_utils.expand_paths([str(tmp_path)])) == sorted(
        [str(source), str(tmp_path / "notes.md")])
    assert file_utils.expand_paths([str(tmp_path)], {".py"}) == [str(source)]
    both = file_utils.read_files([str(tmp_path)], code="x = 1")
    assert "x = 1" in both and "return 1" in both and "notes" in both
    # zen refuses what PAL would read: the process's environment.
    refused, _ = file_utils.read_file_content("/proc/self/environ")
    assert "LEFT OUT" in refused and "CUSTOM_API_URL" not in refused
    assert token_utils.estimate_tokens("abcd" * 10) == 10
    # A smaller max_size is honoured; paths PAL skips are skipped, not errors.
    small, _ = file_utils.read_file_content(str(source), max_size=5)
    assert "LEFT OUT" in small and "max_size of 5" in small and "return 1" not in small
    assert file_utils.expand_paths(["relative/path.py"]) == []
    nothing = file_utils.read_files(["/proc/self/environ", "relative.py"])
    assert "NO FILES FOUND" in nothing and "not an absolute path" in nothing

    big = tmp_path / "big.txt"
    big.write_text("y" * 900_000)
    too_large = file_utils.check_total_file_size([str(big)] * 1, MODEL, remaining_tokens=1000)
    assert too_large is not None and too_large["status"] == "code_too_large"
    assert too_large["metadata"]["largest_files"][0]["path"] == str(big)
    assert file_utils.check_total_file_size([str(source)], MODEL) is None
    assert served(compat)["files_read"] >= 3


def test_providers_call_through_zen(compat: Any, standin: Any) -> None:
    from providers.registry import ModelProviderRegistry

    compat.install(["providers"])
    provider = ModelProviderRegistry.get_provider_for_model(MODEL)
    assert provider is not None
    reply = asyncio.run(provider.generate_content("Say hi", MODEL, system_prompt="Be brief",
                                                  temperature=0.5))
    # The model PAL's own catalogue resolves the alias to, sent as PAL would.
    assert reply.content and reply.model_name == "gemma4:e4b"
    assert reply.usage["total_tokens"] > 0 and reply.metadata["served_by"] == "zen"
    body = standin.requests()[-1]["body"]
    assert body["model"] == "gemma4:e4b"
    assert body["messages"][0] == {"role": "system", "content": "Be brief"}
    engine = compat.metrics()["engine"]
    calls = sum(m["calls"] for m in engine["models"] if m["provider"] == "custom")
    assert calls == 1 and served(compat)["model_calls"] == 1

    # A provider failure is zen's error, after zen's (single) retry layer.
    standin.script(status=400, times=1)
    with pytest.raises(zen.ZenError):
        asyncio.run(provider.generate_content("again", MODEL))


def test_tools_answered_by_zen(compat: Any, pal: Any, tmp_path: Path) -> None:
    compat.install(["tools"], tools=["chat", "metrics"])
    assert type(pal.TOOLS["chat"]).__name__ == "ZenTool" and "metrics" in pal.TOOLS
    assert type(pal.TOOLS["thinkdeep"]).__name__ != "ZenTool"
    arguments = {"prompt": "hello", "working_directory_absolute_path": str(tmp_path)}
    content = asyncio.run(pal._dispatch_tool_call("chat", arguments))
    assert '"continuation_available"' in content[0].text
    engine = compat.metrics()["engine"]
    assert engine["tools"]["chat"]["calls"] == 1
    compat.uninstall()
    assert type(pal.TOOLS["chat"]).__name__ != "ZenTool" and "metrics" not in pal.TOOLS
