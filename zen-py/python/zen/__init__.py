"""zen: consult other AI models from Python, through the zen engine.

>>> import zen
>>> engine = zen.Engine({"OPENAI_API_KEY": "sk-..."})
>>> reply = engine.call_tool("chat", {"prompt": "Is this plan sound?",
...                                   "working_directory_absolute_path": "/tmp"})
>>> reply["content"]

``await engine.call_tool_async(...)`` is the same call for asyncio code.
Every error is a ``zen.ZenError``; each kind has its own subclass.
"""

from zen._zen import (
    BusyError,
    CatalogueError,
    CircuitOpenError,
    ConfigError,
    ConversationFullError,
    ConversationNotFoundError,
    Engine,
    FileRefusedError,
    InvalidArgumentsError,
    ModelNotAvailableError,
    NoProviderError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnknownToolError,
    ZenError,
    __version__,
)

__all__ = [
    "BusyError",
    "CatalogueError",
    "CircuitOpenError",
    "ConfigError",
    "ConversationFullError",
    "ConversationNotFoundError",
    "Engine",
    "FileRefusedError",
    "InvalidArgumentsError",
    "ModelNotAvailableError",
    "NoProviderError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "UnknownToolError",
    "ZenError",
    "__version__",
]
