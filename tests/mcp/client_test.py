"""zen-mcp driven by the official Python MCP SDK client, over stdio and over
streamable HTTP: initialize, list the tools, ask `chat`, then carry the
conversation on with the continuation_id it returned.

Usage: python client_test.py ZEN_MCP_BINARY STANDIN_URL
"""

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client


class Complaints(logging.Handler):
    """Keeps the warnings the SDK logs (such as a failed session end)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def settings(standin: str) -> dict:
    return {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": standin + "/v1",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


async def conversation(session: ClientSession, workdir: str) -> None:
    await session.initialize()
    tools = await session.list_tools()
    names = {tool.name for tool in tools.tools}
    assert {"chat", "thinkdeep", "consensus", "listmodels"} <= names, names

    first = await session.call_tool(
        "chat",
        {"prompt": "Remember the word PELICAN.", "model": "o3",
         "working_directory_absolute_path": workdir},
    )
    assert not first.is_error, first
    output = json.loads(first.content[0].text)
    assert output["status"] == "continuation_available", output
    continuation = output["continuation_offer"]["continuation_id"]

    second = await session.call_tool(
        "chat",
        {"prompt": "Which word was it?", "continuation_id": continuation,
         "working_directory_absolute_path": workdir},
    )
    assert not second.is_error, second
    output = json.loads(second.content[0].text)
    assert output["continuation_offer"]["continuation_id"] == continuation
    assert output["continuation_offer"]["remaining_turns"] == 46
    assert output["metadata"]["model_used"] == "o3"

    bad = await session.call_tool("chat", {"prompt": 5})
    assert bad.is_error and "prompt" in bad.content[0].text


def history_reached_the_model(standin: str) -> None:
    import urllib.request

    with urllib.request.urlopen(standin + "/_standin/requests") as reply:
        requests = json.load(reply)
    last = requests[-1]["body"]["messages"][-1]["content"]
    # The earlier exchange is in the prompt exactly once.
    assert last.count("--- Turn 1:") == 1 and last.count("--- Turn 2:") == 1, last
    assert "--- Turn 3:" not in last, last
    assert last.rstrip().endswith("Which word was it?"), last


async def over_stdio(binary: str, standin: str, workdir: str) -> None:
    params = StdioServerParameters(command=binary, args=[], env=settings(standin), cwd=workdir)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await conversation(session, workdir)
    history_reached_the_model(standin)
    print("stdio: initialize, tools/list, chat and its continuation: ok")


async def over_http(binary: str, standin: str, workdir: str) -> None:
    server = subprocess.Popen(
        [binary, "serve", "--http", "127.0.0.1:0"],
        env=settings(standin), cwd=workdir,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = None
        for _ in range(200):
            line = server.stderr.readline()
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "zen-mcp did not say where it listens"
        complaints = Complaints()
        logging.getLogger("mcp").addHandler(complaints)
        try:
            async with streamable_http_client(url) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await conversation(session, workdir)
        finally:
            logging.getLogger("mcp").removeHandler(complaints)
        # Leaving the block ends the session with DELETE; the SDK logs a
        # warning for any answer but 200 or 204.
        assert not complaints.messages, complaints.messages
        history_reached_the_model(standin)
        print("http: initialize, tools/list, chat and its continuation: ok")
    finally:
        server.terminate()
        server.wait(timeout=30)


async def main() -> None:
    binary, standin = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as workdir:
        await asyncio.wait_for(over_stdio(binary, standin, workdir), 120)
        await asyncio.wait_for(over_http(binary, standin, workdir), 120)


if __name__ == "__main__":
    asyncio.run(main())
