"""Each executor's argv: headless flags, the prompt as one element that no CLI reads as a flag,
the model and extra args passed on, and no secret on the command line."""

from __future__ import annotations

import pytest

from oneshot_tui.agents import AgentRequest, executor
from oneshot_tui.core.spec import AGENTS

TRICKY = "--help; rm -rf / $(whoami) 'quoted' \"double\""


@pytest.mark.parametrize("agent", AGENTS)
def test_the_prompt_is_one_argv_element(agent: str) -> None:
    inv = executor(agent).invocation(AgentRequest(TRICKY, model="m", args=("--extra",)))
    holding = [a for a in inv.argv if TRICKY in a]
    assert len(holding) == 1
    element = holding[0]
    # Either a bare element after "--", or glued to its option (--prompt=...): never a flag.
    assert (element == TRICKY and inv.argv[inv.argv.index(element) - 1] in ("--", "--message")) or (
        element == f"--prompt={TRICKY}"
    )
    assert "--extra" in inv.argv
    assert "m" in inv.argv or "--model=m" in inv.argv


@pytest.mark.parametrize(
    ("agent", "flags"),
    [
        ("claude", ["-p", "--output-format", "stream-json", "--verbose", "--allowedTools"]),
        ("codex", ["exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write"]),
        ("gemini", ["--output-format", "stream-json", "--approval-mode", "yolo"]),
        ("qwen", ["-o", "stream-json", "--yolo"]),
        ("opencode", ["run", "--format", "json"]),
        ("cline", ["--json"]),
        ("aider", ["--yes-always", "--no-pretty"]),
    ],
)
def test_headless_flags(agent: str, flags: list[str]) -> None:
    argv = executor(agent).invocation(AgentRequest("hi there")).argv
    assert argv[0] == agent
    for flag in flags:
        assert flag in argv


def test_no_model_means_no_model_flag() -> None:
    argv = executor("claude").invocation(AgentRequest("hi there")).argv
    assert "--model" not in argv


def test_resume_where_the_cli_can() -> None:
    claude = executor("claude").invocation(AgentRequest("go on", resume_session="s1")).argv
    assert claude[claude.index("--resume") + 1] == "s1"
    codex = executor("codex").invocation(AgentRequest("go on", resume_session="t1")).argv
    assert codex[:3] == ("codex", "exec", "resume") and codex[-2:] == ("t1", "go on")


def test_cline_one_word_prompt_is_not_a_subcommand() -> None:
    argv = executor("cline").invocation(AgentRequest("auth")).argv
    assert argv[-1] == "auth\n"


def test_direct_key_goes_in_the_environment_only() -> None:
    inv = executor("direct").invocation(
        AgentRequest("hi", model="llama3", base_url="http://h:1/v1", api_key="sk-secret")
    )
    assert not any("sk-secret" in a for a in inv.argv)
    assert inv.secret_env == {"ONESHOT_DIRECT_API_KEY": "sk-secret"}
    assert "sk-secret" not in repr(inv)


def test_direct_defaults_to_ollama() -> None:
    argv = executor("direct").invocation(AgentRequest("hi", model="llama3")).argv
    assert argv[argv.index("--base-url") + 1] == "http://localhost:11434/v1"
