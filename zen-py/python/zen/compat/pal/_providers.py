"""The ``providers`` part: PAL's model calls go through zen's providers.

Every PAL provider class keeps choosing models and checking parameters as
before; only the call itself is zen's, so it gains zen's concurrency limits,
retries of transient failures (one layer, honouring Retry-After), circuit
breakers and metrics. zen sends the call to the provider it resolves the
model name to, using the same settings (API keys, base URLs) PAL read.
"""

from __future__ import annotations

from typing import Any

from zen._zen import PalBridge

from . import _patch


def _provider_classes(base: type) -> list[type]:
    found: list[type] = []
    pending = [base]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def install(bridge: PalBridge) -> None:
    import providers  # noqa: F401  (loads every provider class)
    from providers.base import ModelProvider
    from providers.shared import ModelResponse

    async def generate_content(
        self: Any,
        prompt: str,
        model_name: str,
        system_prompt: str | None = None,
        temperature: float = 0.3,
        max_output_tokens: int | None = None,
        **kwargs: Any,
    ) -> Any:
        self.validate_parameters(model_name, temperature)
        resolve = getattr(self, "_resolve_model_name", None)
        resolved = resolve(model_name) if callable(resolve) else model_name
        reply = await bridge.generate(
            model_name,
            prompt,
            system_prompt=system_prompt,
            temperature=temperature,
            thinking_mode=kwargs.get("thinking_mode"),
            images=kwargs.get("images") or None,
            max_output_tokens=max_output_tokens,
        )
        return ModelResponse(
            content=reply["content"],
            usage=dict(reply["usage"]),
            model_name=resolved,
            friendly_name=getattr(self, "FRIENDLY_NAME", reply["provider_name"]),
            provider=self.get_provider_type(),
            metadata={"finish_reason": reply["finish_reason"], "served_by": "zen"},
        )

    for cls in _provider_classes(ModelProvider):
        if "generate_content" in cls.__dict__ or cls is ModelProvider:
            _patch.replace_method(cls, "generate_content", generate_content)
