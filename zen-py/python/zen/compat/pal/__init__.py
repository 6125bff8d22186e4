"""Run the Python PAL MCP server with parts of it served by zen.

Teams on the Python PAL server (PyPI ``pal-mcp-server``) can move onto zen a
part at a time, with the same client and the same settings::

    ZEN_PAL_PARTS=storage,memory python -m zen.compat.pal

or, from code that starts PAL itself, before it serves::

    import zen.compat.pal
    zen.compat.pal.install(parts=["storage", "providers"])

The parts, each usable alone:

``storage``
    PAL's conversation storage backend is zen's conversation store.
``memory``
    PAL's ``utils.conversation_memory`` functions (threads, turns, chains,
    file and image lists, the history text) are zen's; includes ``storage``.
``files``
    PAL's file reading, path expansion, token estimates and total-size
    check are zen's, with zen's stricter path refusals.
``providers``
    PAL's model calls go through zen's providers: limits, retries, circuit
    breakers, metrics.
``tools``
    The tools named in ``ZEN_PAL_TOOLS`` (or ``install(tools=[...])``) are
    answered by zen's engine; the rest by PAL.

All parts share one :class:`zen.Engine`, configured from the same environment
PAL reads. :func:`metrics` tells what zen served; with ``ZEN_PAL_METRICS_FILE``
set, it is also written to that file as JSON while the server runs and when
it exits.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

import zen
from zen._zen import PalBridge

from . import _patch

__all__ = ["PARTS", "install", "installed_parts", "metrics", "uninstall"]

PARTS = ("storage", "memory", "files", "providers", "tools")

logger = logging.getLogger("zen.compat.pal")


class _State:
    engine: zen.Engine | None = None
    bridge: PalBridge | None = None
    parts: list[str] = []
    tools: list[str] = []
    writer: threading.Thread | None = None
    stop = threading.Event()


def _names(raw: str | Iterable[str] | None, variable: str) -> list[str]:
    if raw is None:
        raw = os.environ.get(variable, "")
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [item.strip() for item in items if item.strip()]


def _parts(raw: str | Iterable[str] | None) -> list[str]:
    parts = [p.lower() for p in _names(raw, "ZEN_PAL_PARTS")]
    if "all" in parts:
        return list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(
            f"unknown zen.compat.pal part(s): {', '.join(unknown)}; "
            f"choose from {', '.join(PARTS)} (or all)"
        )
    if not parts:
        raise ValueError(
            "no parts to install: pass parts=[...] or set ZEN_PAL_PARTS to a comma list of "
            + ", ".join(PARTS)
        )
    return [p for p in PARTS if p in parts]


def _require_pal() -> None:
    try:
        import utils.conversation_memory  # noqa: F401
        import utils.storage_backend  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "zen.compat.pal serves parts of the Python PAL server, which this interpreter "
            "can't import (" + str(err) + "); install it with `pip install pal-mcp-server`"
        ) from err


# zen's variable for each provider's catalogue file, and PAL's shipped file.
_CATALOGUES = {
    "GEMINI_MODELS_CONFIG_PATH": "gemini_models.json",
    "OPENAI_MODELS_CONFIG_PATH": "openai_models.json",
    "AZURE_MODELS_CONFIG_PATH": "azure_models.json",
    "XAI_MODELS_CONFIG_PATH": "xai_models.json",
    "DIAL_MODELS_CONFIG_PATH": "dial_models.json",
    "CUSTOM_MODELS_CONFIG_PATH": "custom_models.json",
    "OPENROUTER_MODELS_CONFIG_PATH": "openrouter_models.json",
}


# Settings PAL reads with a fallback where zen would refuse the value: under
# PAL, zen takes the same fallback (with a warning) instead of stopping the
# server. An empty value means zen's own default, which is PAL's.
_PAL_FALLBACKS = {
    "MAX_CONVERSATION_TURNS": "50",
    "CONVERSATION_TIMEOUT_HOURS": "3",
    "DEFAULT_THINKING_MODE_THINKDEEP": "high",
    "LOG_LEVEL": "",
    "MAX_MCP_OUTPUT_TOKENS": "",
    "DISABLED_TOOLS": "",
}


def _refused_setting(err: zen.ConfigError) -> str | None:
    """The setting a ``ConfigError`` names, if it is one PAL tolerates."""
    import re

    found = re.match(r"configuration error in ([A-Z0-9_]+):", str(err))
    return found.group(1) if found and found.group(1) in _PAL_FALLBACKS else None


def _without_unknown_tool(message: str, value: str) -> str | None:
    """``DISABLED_TOOLS``'s value without the name zen's error says is no tool."""
    import re

    found = re.search(r"`([^`]+)` is not a tool", message)
    if not found:
        return None
    kept = [t for t in value.split(",") if t.strip() and t.strip().lower() != found.group(1)]
    return ",".join(kept)


def _engine_for_pal() -> zen.Engine:
    """``zen.Engine()`` from PAL's environment, knowing the models PAL knows:
    where the user named no catalogue file, zen reads the one PAL ships, so
    a model name means the same model to both. A value PAL tolerates but zen
    would refuse gets PAL's fallback, with a warning."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("conf")
    folders = list(spec.submodule_search_locations or []) if spec else []
    added: dict[str, str] = {}
    for variable, file_name in _CATALOGUES.items():
        if os.environ.get(variable):
            continue
        for folder in folders:
            path = Path(folder) / file_name
            if path.is_file():
                added[variable] = str(path)
                break
    previous = {variable: os.environ.get(variable) for variable in _PAL_FALLBACKS}
    os.environ.update(added)
    try:
        for _ in range(32):  # each pass settles one setting (or one unknown tool)
            try:
                return zen.Engine()
            except zen.ConfigError as err:
                refused = _refused_setting(err)
                fallback = _PAL_FALLBACKS.get(refused or "")
                if refused == "DISABLED_TOOLS":
                    # PAL ignores the names it doesn't know and keeps the rest.
                    fallback = _without_unknown_tool(str(err), os.environ.get(refused, ""))
                if refused is None or fallback is None or os.environ.get(refused) == fallback:
                    raise
                logger.warning(
                    "%s; as PAL does, zen goes on with %s=%s",
                    err,
                    refused,
                    fallback or "(its default)",
                )
                os.environ[refused] = fallback
        return zen.Engine()
    finally:
        for variable in added:
            os.environ.pop(variable, None)
        for variable, value in previous.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def install(
    parts: str | Iterable[str] | None = None,
    *,
    tools: str | Iterable[str] | None = None,
    engine: zen.Engine | None = None,
) -> list[str]:
    """Serves ``parts`` of the PAL server from zen and returns the parts now on.

    ``parts`` defaults to ``ZEN_PAL_PARTS`` and ``tools`` to ``ZEN_PAL_TOOLS``
    (both comma lists). ``engine`` defaults to a ``zen.Engine`` configured from the
    environment, reading PAL's shipped model catalogues where the user named
    none. Call it after PAL's modules are imported (the launcher
    does) and before the server starts serving; installing again adds parts.
    """
    wanted = _parts(parts)
    names = _names(tools, "ZEN_PAL_TOOLS")
    if tools is not None and names and "tools" not in wanted + _State.parts:
        raise ValueError(
            f"tools {', '.join(names)} were named, but answering them needs the tools part: "
            "add `tools` to the parts"
        )
    if "tools" in wanted and "tools" not in _State.parts and not names:
        # Checked before any part goes in, so a mistake installs nothing.
        raise ValueError(
            "the tools part needs the tools zen should answer: set ZEN_PAL_TOOLS "
            "(e.g. chat,thinkdeep) or pass tools=[...]"
        )
    asked_tools = tools is not None or "tools" in wanted
    if asked_tools and names and "tools" in _State.parts and sorted(names) != sorted(_State.tools):
        raise ValueError(
            f"zen already answers the tools {', '.join(_State.tools)}; uninstall() first "
            "to change them"
        )
    _require_pal()
    if _State.engine is None:
        _State.engine = engine if engine is not None else _engine_for_pal()
        _State.bridge = PalBridge(_State.engine)
    elif engine is not None and engine is not _State.engine:
        raise ValueError("zen.compat.pal is already installed with another engine; uninstall() first")
    bridge = _State.bridge
    assert bridge is not None
    from . import _files, _memory, _providers, _storage, _tools

    for part in wanted:
        if part in _State.parts:
            continue
        if part == "storage":
            _storage.install(bridge)
        elif part == "memory":
            _storage.install(bridge)
            _memory.install(bridge)
        elif part == "files":
            _files.install(bridge)
        elif part == "providers":
            _providers.install(bridge)
        elif part == "tools":
            _tools.install(_State.engine, names)
            _State.tools = names
        _State.parts.append(part)
    logger.info("zen serves these parts of PAL: %s", ", ".join(_State.parts))
    _start_writer()
    return list(_State.parts)


def installed_parts() -> list[str]:
    """The parts zen serves now."""
    return list(_State.parts)


def metrics() -> dict[str, Any]:
    """What zen served: the parts on, a count per kind of request the parts
    passed to zen, and the engine's own metrics (model calls per provider and
    model, conversations held, …)."""
    if _State.engine is None or _State.bridge is None:
        return {"parts": [], "tools": [], "served": {}, "engine": None}
    return {
        "parts": list(_State.parts),
        "tools": list(_State.tools),
        "served": _State.bridge.counters(),
        "engine": _State.engine.metrics(),
    }


def _write_metrics(path: str) -> bool:
    """Replaces the file at ``path`` with :func:`metrics`; False if it can't."""
    try:
        partial = path + ".tmp"
        with open(partial, "w", encoding="utf-8") as out:
            json.dump(metrics(), out)
        os.replace(partial, path)
        return True
    except OSError as err:
        logger.warning("can't write ZEN_PAL_METRICS_FILE %s: %s", path, err)
        return False


def _start_writer() -> None:
    """With ZEN_PAL_METRICS_FILE set, rewrites that file with :func:`metrics`
    four times a second, and once more when the process exits."""
    path = os.environ.get("ZEN_PAL_METRICS_FILE")
    if not path or _State.writer is not None:
        return
    _State.stop.clear()

    def write() -> None:
        while _write_metrics(path) and not _State.stop.wait(0.25):
            pass

    def final() -> None:
        if _State.engine is not None:
            _write_metrics(path)

    atexit.register(final)
    _State.writer = threading.Thread(target=write, name="zen-pal-metrics", daemon=True)
    _State.writer.start()


def uninstall() -> None:
    """Gives every part back to PAL and forgets the engine."""
    _patch.restore_all()
    _State.stop.set()
    if _State.writer is not None:
        _State.writer.join(timeout=2)
    _State.writer = None
    _State.engine = None
    _State.bridge = None
    _State.parts = []
    _State.tools = []
