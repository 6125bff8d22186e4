"""The ``storage`` part: PAL's conversation storage backend, held by zen.

PAL keeps each thread as JSON under ``thread:<uuid>``. zen turns that JSON
into its own thread (every field kept) and holds it in its conversation
store, which is bounded in memory and shared with zen's own tools. How long
an idle thread lives is zen's setting (CONVERSATION_TIMEOUT_HOURS, read the
same way); the TTL PAL passes with each write is that same figure.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from zen._zen import PalBridge

from . import _patch

_PREFIX = "thread:"


class ZenStorage:
    """Answers PAL's storage calls (``setex``, ``set_with_ttl``, ``get``)."""

    def __init__(self, bridge: PalBridge) -> None:
        self._bridge = bridge
        # Keys that are not threads (PAL writes none today) are kept here.
        self._other: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def set_with_ttl(self, key: str, ttl_seconds: int, value: str) -> None:
        if key.startswith(_PREFIX):
            self._bridge.thread_put(value)
            return
        with self._lock:
            self._other[key] = (value, time.monotonic() + ttl_seconds)

    def setex(self, key: str, ttl_seconds: int, value: str) -> None:
        self.set_with_ttl(key, ttl_seconds, value)

    def get(self, key: str) -> str | None:
        if key.startswith(_PREFIX):
            return self._bridge.thread_get(key[len(_PREFIX):])
        with self._lock:
            held = self._other.get(key)
            if held is None:
                return None
            if held[1] <= time.monotonic():
                del self._other[key]
                return None
            return held[0]

    def shutdown(self) -> None:
        """Nothing to stop: zen's store expires threads itself."""


def install(bridge: PalBridge) -> None:
    import utils.storage_backend as backend

    storage = ZenStorage(bridge)

    def get_storage_backend() -> Any:
        return storage

    _patch.replace(backend, "get_storage_backend", get_storage_backend)
