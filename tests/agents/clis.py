"""The real agent CLIs (pinned in tests/agents/package.json, installed by .ci/run with npm install),
each given a temporary HOME, pointed at the fake model server and set to fail fast."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

BIN = Path(__file__).parent / "node_modules" / ".bin"
CLIS = ("claude", "codex", "gemini", "qwen", "opencode", "cline")
INSTALL = "npm install --prefix tests/agents"


def require_clis() -> Path:
    """The CLIs' bin dir; a skip (a failure in CI) when they are not installed."""
    missing = [name for name in CLIS if not (BIN / name).exists()]
    if missing:
        message = f"agent CLIs not installed ({', '.join(missing)}): run `{INSTALL}`"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the contract tests")
        pytest.skip(message)
    return BIN


def setup(agent: str, home: Path, base: str) -> tuple[dict[str, str], dict[str, Any]]:
    """(env, agent settings) for `agent` with its own HOME, talking to the server at `base`."""
    home.mkdir(parents=True, exist_ok=True)
    env = {"HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}", "TERM": "dumb"}
    extra: dict[str, Any] = {"model": "fake-model"}
    if agent == "claude":
        env |= {
            "ANTHROPIC_BASE_URL": base,
            "ANTHROPIC_API_KEY": "sk-ant-fake",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
    elif agent == "codex":
        codex_home = home / ".codex"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(CODEX_CONFIG.format(base=base))
        env |= {"CODEX_HOME": str(codex_home), "FAKE_API_KEY": "sk-fake"}
        extra = {}  # the config names a model codex knows (an unknown one is an error item)
    elif agent == "gemini":
        write_json(home / ".gemini" / "settings.json", GEMINI_SETTINGS)
        env |= {
            "GEMINI_API_KEY": "fake-key",
            "GOOGLE_GEMINI_BASE_URL": base,
            "GEMINI_SANDBOX": "false",
        }
    elif agent == "qwen":
        write_json(home / ".qwen" / "settings.json", QWEN_SETTINGS)
        env |= {
            "OPENAI_API_KEY": "sk-fake",
            "OPENAI_BASE_URL": f"{base}/v1",
            "OPENAI_MODEL": "fake-model",
        }
        extra["args"] = ("--auth-type", "openai")
    elif agent == "opencode":
        config = home / "opencode.json"
        write_json(config, opencode_config(base))
        env |= {
            "OPENCODE_CONFIG": str(config),
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "npm_config_registry": "http://127.0.0.1:9/",  # plugin installs fail fast, offline
        }
        extra = {"model": "fake/fake-model"}
    elif agent == "cline":
        write_json(
            home / ".cline" / "data" / "settings" / "global-settings.json",
            {"telemetryOptOut": True, "autoUpdateEnabled": False},
        )
        env |= {"CLINE_NO_AUTO_UPDATE": "1"}
        auth = [
            "cline",
            "auth",
            "-p",
            "openai",
            "-k",
            "sk-fake",
            "-m",
            "fake-model",
            "-b",
            f"{base}/v1",
        ]
        subprocess.run(
            auth,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=60,
        )
        extra = {}
    return env, extra


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


CODEX_CONFIG = """\
model = "gpt-5.5"
model_provider = "fake"
check_for_update_on_startup = false
[analytics]
enabled = false
[features]
plugins = false
remote_plugin = false
apps = false
unbounded_connection_retries = false
[model_providers.fake]
name = "Fake local model"
base_url = "{base}/v1"
env_key = "FAKE_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""

GEMINI_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {
        "enableAutoUpdate": False,
        "enableAutoUpdateNotification": False,
        "maxAttempts": 1,
        "retryFetchErrors": False,
    },
    "telemetry": {"enabled": False},
}

QWEN_SETTINGS = {
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"enableAutoUpdate": False},
    "telemetry": {"enabled": False},
    "memory": {"enableManagedAutoMemory": False},
}


def opencode_config(base: str) -> dict[str, Any]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "model": "fake/fake-model",
        "small_model": "fake/fake-model",
        "provider": {
            "fake": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Fake",
                "options": {"baseURL": f"{base}/v1", "apiKey": "sk-fake"},
                "models": {"fake-model": {"name": "Fake Model", "tool_call": True}},
            }
        },
    }
