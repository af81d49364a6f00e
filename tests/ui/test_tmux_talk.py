"""Talking to an agent in a real terminal (tmux), with the real claude CLI against the fake model
server: `m` sends the next turn, `oneshot-tui send` from another shell another; the model sees the
whole conversation, in the agent's own session."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.agents.clis import require_clis, setup
from tests.fakes.model_server import FakeModelServer
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux

pytestmark = [needs_tmux, pytest.mark.contract]


@pytest.mark.timeout(300)
def test_m_and_send_continue_the_agents_session(tmux: Tmux, tmp_path: Path) -> None:
    require_clis()
    with FakeModelServer() as server:
        agent_env, extra = setup("claude", tmp_path / "home", server.url)
        env = {**environment(tmp_path), **agent_env}
        work = tmp_path / "work"
        work.mkdir()
        argv = [*cli_argv(), "run", "-a", "claude", "-p", "say hello FIRST-TURN"]
        argv += ["--model", str(extra["model"]), "--idle-threshold", "off"]
        inner = f"cd {shlex.quote(str(work))} && exec {shlex.join(argv)}"
        tmux.start(f"sh -c {shlex.quote(inner)}", env, size=(120, 30))
        tmux.wait_for(lambda s: "completed" in s and "FAKE_REPLY" in s, timeout=50)
        tmux.keys("m")
        tmux.wait_text("A message to claude")
        tmux.keys("also update the docs SECOND-TURN")
        tmux.keys("Enter")
        screen = tmux.wait_for(lambda s: "turn 2" in s and "completed" in s, timeout=50)
        assert "▶ you: also update the docs SECOND-TURN" in screen
        sent = subprocess.run(
            [*cli_argv(), "send", "last", "claude", "and the changelog THIRD-TURN"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        tmux.wait_for(lambda s: "turn 3" in s and "completed" in s, timeout=50)
        tmux.keys("q")
        assert "EXIT=0" in tmux.wait_text("EXIT=")
        last = json.dumps(server.main_requests()[-1]["body"])
        for turn in ("FIRST-TURN", "SECOND-TURN", "THIRD-TURN"):
            assert turn in last  # one session: the model saw every turn
