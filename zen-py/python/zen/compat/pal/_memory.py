"""The ``memory`` part: PAL's ``utils.conversation_memory`` served by zen.

Threads live in zen's store (so this part includes what ``storage`` does),
turns are appended in one atomic step (PAL reads, changes and rewrites the
whole thread, so two turns added at once can lose one), and the history text
is zen's, headed by PAL's marker so PAL's tools recognise it. Callers get
PAL's own ``ThreadContext`` and ``ConversationTurn`` objects back.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import zen
from zen._zen import PalBridge

from . import _patch


def _token_allocation(model_context: Any) -> Any:
    """The file and history budgets PAL would use for this model."""
    if model_context is None:
        from config import DEFAULT_MODEL, IS_AUTO_MODE
        from utils.model_context import ModelContext

        name = DEFAULT_MODEL
        if IS_AUTO_MODE and name.lower() == "auto":
            from providers.registry import ModelProviderRegistry

            name = ModelProviderRegistry.get_preferred_fallback_model()
        model_context = ModelContext(name)
    return model_context.calculate_token_allocation()


def install(bridge: PalBridge) -> None:
    import utils.conversation_memory as memory
    from utils import transcripts

    ThreadContext = memory.ThreadContext
    ConversationTurn = memory.ConversationTurn

    def create_thread(
        tool_name: str, initial_request: dict[str, Any], parent_thread_id: str | None = None
    ) -> str:
        request = json.dumps(initial_request, default=str)
        thread_id = bridge.create_thread(tool_name, request, parent_thread_id)
        now = datetime.now(timezone.utc).isoformat()
        transcripts.record_thread_created(thread_id, parent_thread_id, tool_name, now)
        return thread_id

    def get_thread(thread_id: str) -> Any:
        if not thread_id:
            return None
        try:
            found = bridge.thread_get(thread_id)
        except zen.ZenError as err:
            raise memory.ConversationMemoryStorageError(
                f"zen's conversation store failed to read thread {thread_id}: {err}"
            ) from err
        return None if found is None else ThreadContext.model_validate_json(found)

    def add_turn(
        thread_id: str,
        role: str,
        content: str,
        files: list[str] | None = None,
        images: list[str] | None = None,
        tool_name: str | None = None,
        model_provider: str | None = None,
        model_name: str | None = None,
        model_metadata: dict[str, Any] | None = None,
    ) -> bool:
        turn = ConversationTurn(
            role=role,
            content=content,
            timestamp=datetime.now(timezone.utc).isoformat(),
            files=files,
            images=images,
            tool_name=tool_name,
            model_provider=model_provider,
            model_name=model_name,
            model_metadata=model_metadata,
        )
        try:
            added = bridge.add_turn(thread_id, turn.model_dump_json(), memory.MAX_CONVERSATION_TURNS)
        except zen.ZenError as err:
            raise memory.ConversationMemoryStorageError(
                f"zen's conversation store failed to add a turn to thread {thread_id}: {err}"
            ) from err
        if added:
            transcripts.record_turn(thread_id, turn)
        return added

    def get_thread_chain(thread_id: str, max_depth: int = 20) -> list[Any]:
        return [ThreadContext.model_validate_json(t) for t in bridge.thread_chain(thread_id, max_depth)]

    def get_conversation_file_list(context: Any) -> list[str]:
        return bridge.file_list(context.model_dump_json())

    def get_conversation_image_list(context: Any) -> list[str]:
        return bridge.image_list(context.model_dump_json())

    def _history(context: Any, model_context: Any) -> tuple[str, int, list[str]]:
        budget = _token_allocation(model_context)
        return bridge.history(
            context.model_dump_json(),
            budget.file_tokens,
            budget.history_tokens,
            memory.CONVERSATION_HISTORY_MARKER,
        )

    def build_conversation_history(
        context: Any, model_context: Any = None, read_files_func: Any = None
    ) -> tuple[str, int]:
        # read_files_func is PAL's hook for its own unit tests; zen reads the
        # files itself, with its path checks.
        text, tokens, _ = _history(context, model_context)
        return text, tokens

    def get_history_embedded_files(context: Any, model_context: Any) -> list[str]:
        return _history(context, model_context)[2]

    for name, function in [
        ("create_thread", create_thread),
        ("get_thread", get_thread),
        ("add_turn", add_turn),
        ("get_thread_chain", get_thread_chain),
        ("get_conversation_file_list", get_conversation_file_list),
        ("get_conversation_image_list", get_conversation_image_list),
        ("build_conversation_history", build_conversation_history),
        ("get_history_embedded_files", get_history_embedded_files),
    ]:
        if hasattr(memory, name):
            _patch.replace(memory, name, function)
