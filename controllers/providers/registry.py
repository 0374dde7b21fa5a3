"""Which adapter serves which `provider:` name of the spec."""

from __future__ import annotations

from collections.abc import Mapping

from controllers.providers.base import Provider
from controllers.providers.claude import ClaudeProvider
from controllers.providers.codex import CodexProvider
from controllers.providers.copilot import CopilotProvider
from controllers.providers.gemini import GeminiProvider
from controllers.providers.local import FakeProvider, ShellProvider
from controllers.providers.opencode import OpenCodeProvider

_ALL: tuple[Provider, ...] = (
    ShellProvider(),
    FakeProvider(),
    ClaudeProvider(),
    CodexProvider(),
    GeminiProvider(),
    CopilotProvider(),
    OpenCodeProvider(),
)
PROVIDERS: Mapping[str, Provider] = {p.name: p for p in _ALL}


def provider_for(name: str) -> Provider | None:
    """The adapter for `name`, or None for a provider this version cannot run yet."""
    return PROVIDERS.get(name)
