"""Type stubs of the compiled module ``zen._zen``; import from ``zen`` instead."""

from collections.abc import Awaitable, Mapping
from typing import Any, final

__all__ = [
    "__version__",
    "Engine",
    "PalBridge",
    "ZenError",
    "ConfigError",
    "CatalogueError",
    "InvalidArgumentsError",
    "UnknownToolError",
    "ModelNotAvailableError",
    "NoProviderError",
    "ProviderError",
    "RateLimitedError",
    "ProviderTimeoutError",
    "BusyError",
    "CircuitOpenError",
    "FileRefusedError",
    "ConversationNotFoundError",
    "ConversationFullError",
]

__version__: str

@final
class Engine:
    """The zen engine: its providers, model catalogue, tools and conversations.

    ``Engine(config)`` takes the settings the MCP server reads from its
    environment (``OPENAI_API_KEY``, ``DEFAULT_MODEL``, ``DISABLED_TOOLS``...)
    as a mapping of names to strings and reads nothing else; ``Engine()``
    reads the environment and the ``.env`` file as the server does.
    """

    def __new__(cls, config: Mapping[str, str] | None = None) -> Engine: ...
    def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Calls a tool and returns its answer; releases the GIL, Ctrl-C interrupts."""

    def call_tool_async(
        self, name: str, arguments: Mapping[str, Any] | None = None
    ) -> Awaitable[dict[str, Any]]:
        """Calls a tool; await the answer. Needs a running asyncio event loop."""

    def list_tools(self) -> list[dict[str, Any]]:
        """The enabled tools: name, description, input_schema and annotations."""

    def list_models(self) -> list[dict[str, Any]]:
        """The models usable now, in provider priority order."""

    def metrics(self) -> dict[str, Any]:
        """Calls, errors and latency per tool and model; breakers; conversations."""

@final
class PalBridge:
    """The engine as ``zen.compat.pal`` needs it to serve parts of the Python
    PAL server; not meant for other use. Threads go in and out as the JSON of
    PAL's ``ThreadContext`` and turns as that of its ``ConversationTurn``."""

    def __new__(cls, engine: Engine) -> PalBridge: ...
    def thread_get(self, thread_id: str) -> str | None: ...
    def thread_put(self, context_json: str) -> None: ...
    def create_thread(
        self, tool_name: str, initial_request_json: str, parent_thread_id: str | None = None
    ) -> str: ...
    def add_turn(self, thread_id: str, turn_json: str, max_turns: int) -> bool: ...
    def thread_chain(self, thread_id: str, max_depth: int = 20) -> list[str]: ...
    def file_list(self, context_json: str) -> list[str]: ...
    def image_list(self, context_json: str) -> list[str]: ...
    def history(
        self, context_json: str, file_tokens: int, history_tokens: int, marker: str
    ) -> tuple[str, int, list[str]]: ...
    def read_file(
        self, path: str, line_numbers: bool = False, max_bytes: int | None = None
    ) -> tuple[str, int]: ...
    def read_files(
        self,
        paths: list[str],
        code: str | None = None,
        budget_tokens: int = 200000,
        line_numbers: bool = False,
    ) -> str: ...
    def expand_paths(self, paths: list[str]) -> list[str]: ...
    def estimate_tokens(self, text: str) -> int: ...
    def file_tokens(self, paths: list[str]) -> list[tuple[str, int]]: ...
    def generate(
        self,
        model: str,
        prompt: str,
        system_prompt: str | None = None,
        temperature: float | None = None,
        thinking_mode: str | None = None,
        images: list[str] | None = None,
        max_output_tokens: int | None = None,
    ) -> Awaitable[dict[str, Any]]: ...
    def counters(self) -> dict[str, int]: ...

class ZenError(Exception):
    """Base class of every error zen raises."""

    kind: str
    """The error kind: ``"invalid_arguments"``, ``"timeout"``..."""
    retryable: bool
    """Whether the same call may succeed if tried again later."""

class ConfigError(ZenError, ValueError):
    """A setting (environment variable, .env line or config entry) is wrong."""

class CatalogueError(ZenError, ValueError):
    """A model catalogue file (*_MODELS_CONFIG_PATH) can't be used."""

class InvalidArgumentsError(ZenError, ValueError):
    """A tool argument is missing or wrong; the message names the field."""

class UnknownToolError(ZenError, LookupError):
    """No enabled tool has this name."""

class ModelNotAvailableError(ZenError, LookupError):
    """The model is unknown, not allowed, or not served by a configured provider."""

class NoProviderError(ZenError):
    """No model provider is configured: set an API key or CUSTOM_API_URL."""

class ProviderError(ZenError):
    """The provider answered with an error or an unusable reply."""

    status: int | None
    """The HTTP status, when the provider answered at all."""

class RateLimitedError(ZenError):
    """The provider is rate limiting requests."""

    retry_after: float | None
    """Seconds the provider asked to wait, if it said."""

class ProviderTimeoutError(ZenError, TimeoutError):
    """The provider did not answer in time (CUSTOM_READ_TIMEOUT)."""

class BusyError(ZenError):
    """Too many calls are waiting: no place came free in time."""

class CircuitOpenError(ZenError):
    """The provider kept failing and its circuit breaker is open."""

    retry_after: float | None
    """Seconds until a trial call will be let through."""

class FileRefusedError(ZenError):
    """A file can't be used: outside what may be read, missing, too large or not text."""

class ConversationNotFoundError(ZenError, LookupError):
    """The continuation_id is unknown or the conversation expired."""

class ConversationFullError(ZenError):
    """The conversation has used all its turns (MAX_CONVERSATION_TURNS)."""
