"""Each real CLI's offline world: the environment and the files in `$HOME` that point it at
the mock model server and skip what needs an account (`../shared/PROVIDER-FACTS.md`).

`prepare(provider, home, url, workspace=…, trusted=…)` writes a CLI's files into a fresh
HOME and returns the environment the agent needs. With `trusted=False` the folder-trust
record is left out, so the CLI shows its real trust dialog for `workspace`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

API_KEY = "sk-ant-mock-0123456789abcdefghijklmnop"  # any key: the mock checks none
MODEL_CODEX = "gpt-5-codex"
MODEL_CHAT = "gpt-4.1"


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))


def _claude(home: Path, url: str, workspace: Path, trusted: bool) -> dict[str, str]:
    state: dict[str, object] = {
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
    }
    if trusted:
        state["projects"] = {str(workspace): {"hasTrustDialogAccepted": True}}
    _write(home / ".claude.json", state)
    _write(home / ".claude" / "settings.json", {"theme": "dark"})
    return {
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": API_KEY,
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def _codex(home: Path, url: str, workspace: Path, trusted: bool) -> dict[str, str]:
    config = (
        f'model = "{MODEL_CODEX}"\n'
        'model_provider = "mock"\n'
        "check_for_update_on_startup = false\n"
        "[model_providers.mock]\n"
        'name = "mock"\n'
        f'base_url = "{url}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "MOCK_API_KEY"\n'
    )
    if trusted:
        config += f'[projects."{workspace}"]\ntrust_level = "trusted"\n'
    _write(home / ".codex" / "config.toml", config)
    return {"MOCK_API_KEY": API_KEY}


def _gemini(home: Path, url: str, workspace: Path, trusted: bool) -> dict[str, str]:
    _write(
        home / ".gemini" / "settings.json",
        {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "general": {"disableAutoUpdate": True},
        },
    )
    if trusted:
        _write(home / ".gemini" / "trustedFolders.json", {str(workspace): "TRUST_FOLDER"})
    return {"GEMINI_API_KEY": API_KEY, "GOOGLE_GEMINI_BASE_URL": url}


def _copilot(home: Path, url: str, workspace: Path, trusted: bool) -> dict[str, str]:
    if trusted:  # the key Copilot 1.0.102 itself writes for "2. Yes, and remember this folder"
        _write(home / ".copilot" / "config.json", {"trustedFolders": [str(workspace)]})
    return {
        "COPILOT_PROVIDER_BASE_URL": f"{url}/v1",
        "COPILOT_PROVIDER_API_KEY": API_KEY,
        "COPILOT_MODEL": MODEL_CHAT,
        "COPILOT_OFFLINE": "true",
        "COPILOT_AUTO_UPDATE": "false",
    }


def _opencode(home: Path, url: str, workspace: Path, trusted: bool) -> dict[str, str]:
    _write(
        home / ".config" / "opencode" / "opencode.json",
        {
            "$schema": "https://opencode.ai/config.json",
            "provider": {
                "mock": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "mock",
                    "options": {"baseURL": f"{url}/v1", "apiKey": API_KEY},
                    "models": {MODEL_CHAT: {"name": MODEL_CHAT}},
                }
            },
            "model": f"mock/{MODEL_CHAT}",
            "permission": {"bash": "ask"},
            "autoupdate": False,
        },
    )
    return {
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    }


PREPARERS: dict[str, Callable[[Path, str, Path, bool], dict[str, str]]] = {
    "claude": _claude,
    "codex": _codex,
    "gemini": _gemini,
    "copilot": _copilot,
    "opencode": _opencode,
}


def prepare(
    provider: str, home: Path, url: str, *, workspace: Path, trusted: bool = True
) -> dict[str, str]:
    """Write `provider`'s files under `home`; the environment its agent needs."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), **PREPARERS[provider](home, url, workspace.resolve(), trusted)}
