"""Swapping functions in modules that are already imported.

PAL's modules bind each other's functions by name (``from utils.file_utils
import read_files``), so replacing a function means replacing every such
binding, not only the one in the defining module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

# (module, attribute) -> the value it had before zen replaced it.
_originals: dict[tuple[str, str], Any] = {}


def replace(module: ModuleType, name: str, new: Any) -> None:
    """Points ``module.name``, and every other loaded module's binding of the
    same object, at ``new``. Replacing twice keeps the first original."""
    old = getattr(module, name)
    key = (module.__name__, name)
    _originals.setdefault(key, old)
    setattr(module, name, new)
    for other in list(sys.modules.values()):
        namespace = getattr(other, "__dict__", None)
        if other is module or not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            if value is old:
                _originals.setdefault((other.__name__, attr), old)
                setattr(other, attr, new)


# (class, attribute) -> the method it had before zen replaced it.
_methods: list[tuple[type, str, Any]] = []


def replace_method(cls: type, name: str, new: Any) -> None:
    """Sets ``cls.name`` to ``new``, remembering the method it defined itself."""
    if not any(c is cls and n == name for c, n, _ in _methods):
        _methods.append((cls, name, cls.__dict__.get(name)))
    setattr(cls, name, new)


# Other changes to undo, newest last.
_undo: list[Callable[[], None]] = []


def on_restore(undo: Callable[[], None]) -> None:
    """Runs ``undo`` when everything is put back."""
    _undo.append(undo)


def restore_all() -> None:
    """Puts back everything :func:`replace` and :func:`replace_method` changed."""
    for (module_name, attr), value in _originals.items():
        module = sys.modules.get(module_name)
        if module is not None:
            setattr(module, attr, value)
    _originals.clear()
    for cls, name, method in reversed(_methods):
        if method is None:
            delattr(cls, name)
        else:
            setattr(cls, name, method)
    _methods.clear()
    while _undo:
        _undo.pop()()
