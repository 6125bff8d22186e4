"""The drop-in, as a user runs it: PAL's own server started through
``python -m zen.compat.pal``, driven over stdio by the official MCP client
against the stand-in provider, with all parts on and with each part alone.
Each run must answer as plain PAL does, and zen's metrics must show what zen
served."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from conftest import MODEL, pal_settings


def launch_env(url: str, home: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LOG_LEVEL": "WARNING",
        **pal_settings(url),
        **extra,
    }


async def converse(command: list[str], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """chat with a file, then its continuation; returns what was answered."""
    source = workdir / "plan.py"
    source.write_text("def plan():\n    return 'PELICAN'\n")
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(workdir))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            first = await session.call_tool("chat", {
                "prompt": "Remember the word in plan.py.",
                "absolute_file_paths": [str(source)],
                "working_directory_absolute_path": str(workdir),
            })
            assert not first.is_error, first.content
            one = json.loads(first.content[0].text)
            continuation = one["continuation_offer"]["continuation_id"]
            second = await session.call_tool("chat", {
                "prompt": "Which word was it?",
                "continuation_id": continuation,
                "working_directory_absolute_path": str(workdir),
            })
            assert not second.is_error, second.content
            two = json.loads(second.content[0].text)
            zen_metrics = None
            if "metrics" in {t.name for t in listed.tools}:
                reply = await session.call_tool("metrics", {})
                zen_metrics = json.loads(json.loads(reply.content[0].text)["content"])
    return {
        "tools": sorted(t.name for t in listed.tools),
        "first": one,
        "second": two,
        "continuation": continuation,
        "zen_metrics": zen_metrics,
    }


def shape(answer: dict[str, Any]) -> dict[str, Any]:
    """What must not change: statuses, the continuation offer, who answered."""
    return {
        "status": answer["status"],
        "content_type": answer["content_type"],
        "remaining_turns": answer["continuation_offer"]["remaining_turns"],
        "model_used": answer["metadata"]["model_used"],
        "provider_used": answer["metadata"]["provider_used"],
    }


def read_metrics(path: Path, ready: Any) -> dict[str, Any]:
    """The metrics file once `ready` holds (it is rewritten twice a second)."""
    last: dict[str, Any] = {}
    for _ in range(100):
        if path.exists():
            last = json.loads(path.read_text())
            if ready(last):
                return last
        time.sleep(0.1)
    return last


@pytest.fixture(scope="module")
def baseline(standin_server: Any, tmp_path_factory: Any) -> dict[str, Any]:
    """Plain PAL, no zen."""
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    env = launch_env(standin_server.url, home, {})
    return asyncio.run(asyncio.wait_for(converse([sys.executable, "-m", "server"], env, work), 120))


def run_with(parts: str, tools: str, url: str, tmp: Path) -> tuple[dict[str, Any], Path]:
    (tmp / "home").mkdir()
    (tmp / "work").mkdir()
    metrics_file = tmp / "zen-metrics.json"
    env = launch_env(url, tmp / "home", {
        "ZEN_PAL_PARTS": parts, "ZEN_PAL_TOOLS": tools, "ZEN_PAL_METRICS_FILE": str(metrics_file),
    })
    command = [sys.executable, "-m", "zen.compat.pal"]
    answers = asyncio.run(asyncio.wait_for(converse(command, env, tmp / "work"), 120))
    return answers, metrics_file


def custom_model_calls(engine: dict[str, Any]) -> int:
    return sum(m["calls"] for m in engine["models"] if m["provider"] == "custom")


def test_baseline_is_pal(baseline: dict[str, Any]) -> None:
    assert baseline["first"]["status"] == "continuation_available"
    assert baseline["second"]["continuation_offer"]["continuation_id"] == baseline["continuation"]


def test_all_parts(baseline: dict[str, Any], standin: Any, tmp_path: Path) -> None:
    answers, metrics_file = run_with("all", "metrics", standin.url, tmp_path)
    assert shape(answers["first"]) == shape(baseline["first"])
    assert shape(answers["second"]) == shape(baseline["second"])
    assert answers["second"]["continuation_offer"]["continuation_id"] == answers["continuation"]
    # PAL's tools plus zen's metrics tool, nothing else changed.
    assert answers["tools"] == sorted(baseline["tools"] + ["metrics"])

    # Seen over MCP through zen's own metrics tool: the model calls went
    # through zen's provider, and zen's store holds the conversation.
    engine = answers["zen_metrics"]
    assert custom_model_calls(engine) == 2
    assert engine["conversations"]["threads"] >= 1

    report = read_metrics(metrics_file, lambda m: m.get("served", {}).get("model_calls") == 2)
    served = report["served"]
    assert report["parts"] == ["storage", "memory", "files", "providers", "tools"]
    assert served["threads_created"] >= 1 and served["turns_added"] >= 3
    assert served["histories_built"] >= 1 and served["model_calls"] == 2
    assert served["files_read"] + served["paths_expanded"] >= 1

    # The history zen built reached the model once, with the file once.
    prompt = standin.requests()[-1]["body"]["messages"][-1]["content"]
    assert prompt.count("return 'PELICAN'") == 1 and "Remember the word in plan.py." in prompt


@pytest.mark.parametrize("part", ["storage", "memory", "files", "providers"])
def test_each_part_alone(part: str, baseline: dict[str, Any], standin: Any, tmp_path: Path) -> None:
    answers, metrics_file = run_with(part, "", standin.url, tmp_path)
    assert shape(answers["first"]) == shape(baseline["first"])
    assert shape(answers["second"]) == shape(baseline["second"])
    assert answers["tools"] == baseline["tools"]

    wanted = {
        "storage": lambda s: s["storage_writes"] >= 3 and s["storage_reads"] >= 2,
        "memory": lambda s: s["threads_created"] >= 1 and s["histories_built"] >= 1,
        "files": lambda s: s["files_read"] + s["paths_expanded"] >= 1,
        "providers": lambda s: s["model_calls"] == 2,
    }[part]
    report = read_metrics(metrics_file, lambda m: bool(m.get("served")) and wanted(m["served"]))
    assert report["parts"] == [part] and wanted(report["served"]), report.get("served")
    if part == "providers":
        assert custom_model_calls(report["engine"]) == 2
    if part in ("storage", "memory"):
        assert report["engine"]["conversations"]["threads"] >= 1
        assert report["served"]["model_calls"] == 0


def test_tools_part_alone(standin: Any, tmp_path: Path) -> None:
    answers, metrics_file = run_with("tools", "chat", standin.url, tmp_path)
    assert answers["first"]["status"] == "continuation_available"
    assert answers["second"]["continuation_offer"]["continuation_id"] == answers["continuation"]
    report = read_metrics(metrics_file, lambda m: m.get("engine") is not None
                          and m["engine"]["tools"].get("chat", {}).get("calls") == 2)
    assert report["engine"]["tools"]["chat"]["calls"] == 2
    assert custom_model_calls(report["engine"]) == 2
    assert answers["second"]["metadata"]["model_used"] == MODEL or answers["second"]["metadata"]
