"""The ``files`` part: PAL's file reading and token estimates served by zen.

zen is deliberately stricter than PAL here: system folders, home-directory
roots and secrets such as ``/proc/self/environ`` are refused (PAL reads some
of them), symlinks are resolved before the checks, binary files are left
out, and a file's block says why it was left out. The text of a file block is
zen's (``--- BEGIN FILE: … ---``/``--- END FILE: … ---``), not PAL's.
"""

from __future__ import annotations

from typing import Any

from zen._zen import PalBridge

from . import _patch


def install(bridge: PalBridge) -> None:
    from utils import file_utils, token_utils

    def read_file_content(
        file_path: str, max_size: int = 1_000_000, *, include_line_numbers: bool | None = None
    ) -> tuple[str, int]:
        # zen caps every file at 1 MB itself; max_size can only lower it.
        return bridge.read_file(file_path, bool(include_line_numbers), max_size)

    def read_files(
        file_paths: list[str],
        code: str | None = None,
        max_tokens: int | None = None,
        reserve_tokens: int = 50_000,
        *,
        include_line_numbers: bool = False,
    ) -> str:
        window = max_tokens if max_tokens is not None else token_utils.DEFAULT_CONTEXT_WINDOW
        budget = max(window - reserve_tokens, 0)
        return bridge.read_files(list(file_paths), code, budget, include_line_numbers)

    def expand_paths(paths: list[str], extensions: set[str] | None = None) -> list[str]:
        found = bridge.expand_paths(list(paths))
        if extensions is None:
            return found
        wanted = {e.lower() for e in extensions}
        return [p for p in found if any(p.lower().endswith(e) for e in wanted)]

    def estimate_tokens(text: str) -> int:
        return bridge.estimate_tokens(text)

    def check_total_file_size(
        files: list[str], model_name: str, remaining_tokens: int | None = None
    ) -> dict[str, Any] | None:
        if not files:
            return None
        if not model_name or model_name.lower() == "auto":
            raise ValueError(
                f"check_total_file_size needs a resolved model name, not {model_name!r}"
            )
        from utils.model_context import ModelContext

        allocation = ModelContext(model_name).calculate_token_allocation()
        limit = allocation.effective_file_budget(remaining_tokens=remaining_tokens)
        sized = bridge.file_tokens(list(files))
        total = sum(tokens for _, tokens in sized)
        if total <= limit:
            return None
        largest = sized[:10]
        bound_by = "conversation_history" if remaining_tokens is not None else "model_file_allocation"
        listing = "\n".join(f"  - {path} (~{tokens:,} tokens)" for path, tokens in largest)
        return {
            "status": "code_too_large",
            "content": (
                f"These files need about {total:,} tokens but {model_name} has room for "
                f"{limit:,} here ({bound_by.replace('_', ' ')}). The largest:\n{listing}\n"
                "Leave out the largest files or name narrower paths, then call the tool again."
            ),
            "content_type": "text",
            "metadata": {
                "total_estimated_tokens": total,
                "limit": limit,
                "overage_tokens": total - limit,
                "bound_by": bound_by,
                "file_count": len(sized),
                "largest_files": [{"path": p, "estimated_tokens": t} for p, t in largest],
                "model_context_window": allocation.total_tokens,
                "model_name": model_name,
            },
        }

    _patch.replace(file_utils, "read_file_content", read_file_content)
    _patch.replace(file_utils, "read_files", read_files)
    _patch.replace(file_utils, "expand_paths", expand_paths)
    _patch.replace(file_utils, "check_total_file_size", check_total_file_size)
    _patch.replace(token_utils, "estimate_tokens", estimate_tokens)
