"""Which adapter serves which `provider:` name of the spec."""

from __future__ import annotations

from collections.abc import Mapping

from controllers.providers.base import Provider
from controllers.providers.local import FakeProvider, ShellProvider

_SHELL: Provider = ShellProvider()
_FAKE: Provider = FakeProvider()
PROVIDERS: Mapping[str, Provider] = {"shell": _SHELL, "fake": _FAKE}


def provider_for(name: str) -> Provider | None:
    """The adapter for `name`, or None for a provider this version cannot run yet."""
    return PROVIDERS.get(name)
