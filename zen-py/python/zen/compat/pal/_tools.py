"""The ``tools`` part: the tools named in ZEN_PAL_TOOLS answered by zen.

PAL lists those tools with zen's description and input schema and hands
their calls to zen's engine whole (continuation, files, model choice, the
model call); every other tool stays PAL's. A zen tool PAL does not have
(``metrics``, for one) may be named too, and is then added to PAL's list.
"""

from __future__ import annotations

import json
from typing import Any

import zen

from . import _patch


class ZenTool:
    """Stands in PAL's tool table for a tool zen answers. Anything PAL asks
    of it beyond the listing falls through to PAL's own tool, if any."""

    def __init__(self, spec: dict[str, Any], pal_tool: Any) -> None:
        self.name: str = spec["name"]
        self.description: str = spec["description"]
        self._schema: dict[str, Any] = spec["input_schema"]
        self._annotations: dict[str, Any] = spec.get("annotations") or {}
        self._pal_tool = pal_tool

    def get_input_schema(self) -> dict[str, Any]:
        return self._schema

    def get_annotations(self) -> dict[str, Any]:
        return self._annotations

    def __getattr__(self, name: str) -> Any:
        if self._pal_tool is None:
            raise AttributeError(name)
        return getattr(self._pal_tool, name)


def install(engine: zen.Engine, names: list[str]) -> None:
    import server
    from mcp.types import TextContent
    from tools.shared.exceptions import ToolExecutionError

    specs = {spec["name"]: spec for spec in engine.list_tools()}
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(
            f"ZEN_PAL_TOOLS names {', '.join(unknown)}, which zen does not offer; "
            f"zen's tools are {', '.join(sorted(specs))}"
        )
    before = dict(server.TOOLS)
    for name in names:
        server.TOOLS[name] = ZenTool(specs[name], server.TOOLS.get(name))

    def undo() -> None:
        server.TOOLS.clear()
        server.TOOLS.update(before)

    _patch.on_restore(undo)
    served = set(names)
    pal_dispatch = server._dispatch_tool_call

    async def dispatch(name: str, arguments: dict[str, Any], request_context: Any = None) -> list[Any]:
        if name not in served:
            return list(await pal_dispatch(name, arguments, request_context))
        try:
            output = await engine.call_tool_async(name, arguments)
        except zen.ZenError as err:
            payload = {
                "status": "error",
                "content": str(err),
                "content_type": "text",
                "metadata": {"tool_name": name, "error_kind": type(err).__name__},
            }
            raise ToolExecutionError(json.dumps(payload)) from err
        return [TextContent(type="text", text=json.dumps(output, ensure_ascii=False))]

    _patch.replace(server, "_dispatch_tool_call", dispatch)
