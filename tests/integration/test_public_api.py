"""The public Python API, used only through the names `oneshot_tui` exports: real processes, the
real engine, the real history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

import oneshot_tui as ot
from tests.agents.helpers import FakeAgent
from tests.fakes import fake
from tests.loop_helpers import ScriptedAgents, verdict
from tests.ui.tmux import quiet_pids


async def test_run_tasks_runs_commands_and_tables_and_returns_their_results(
    data_dir: Path, tmp_path: Path
) -> None:
    result = await ot.run_tasks(
        ["echo one", {"name": "two", "command": [sys.executable, "-c", "print(2)"]}, "exit 3"],
        data_dir=data_dir,
        cwd=tmp_path,
        max_concurrent=2,
    )
    assert isinstance(result, ot.RunResult)
    by_name = {r.task_id: r for r in result.results}
    assert set(by_name) == {"echo-one", "two", "exit-3"}  # commands named as `run -c` names them
    assert by_name["two"].state == "completed" and by_name["exit-3"].exit_code == 3
    assert result.exit_code == 1
    assert Path(by_name["echo-one"].log_path or "").read_text() == "one\n"
    assert (data_dir / "history.db").exists()  # recorded like a run from the command line


async def test_open_run_streams_events_and_takes_commands(data_dir: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} waiting"
    async with ot.open_run(
        [{"name": "q", "command": quiet, "grace": "2s"}], data_dir=data_dir
    ) as run:
        assert run.tasks == ["q"]
        names = []
        async for event in run.events():
            names.append(type(event).__name__)
            if getattr(event, "text", "") == "waiting":
                assert run.interrupt("q")
        result = await run.wait()
    assert names[0] == "RunStarted" and names[-1] == "RunFinished"
    assert "StateChanged" in names and "Output" in names
    (task,) = result.results
    assert task.state == "interrupted" and task.reason == "interrupted by user"
    assert run.log_dir.is_dir()


async def test_leaving_the_block_stops_what_still_runs(data_dir: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} left-running"
    async with ot.open_run(
        [{"command": quiet, "grace": "2s"}], data_dir=data_dir, record=False
    ) as run:
        async for event in run.events():
            if getattr(event, "text", "") == "left-running":
                break
    result = await run.wait()
    assert result.results[0].state == "interrupted"
    assert quiet_pids("left-running") == []
    assert not (data_dir / "history.db").exists()


async def test_a_bad_task_is_a_config_error_naming_it(data_dir: Path) -> None:
    with pytest.raises(Exception, match=r'<python>: .*"colour"') as caught:
        await ot.run_tasks([{"command": "true", "colour": "red"}], data_dir=data_dir)
    assert type(caught.value).__name__ == "ConfigError"


async def test_run_agent_returns_the_final_answer_and_totals(
    data_dir: Path, tmp_path: Path
) -> None:
    agent = FakeAgent(tmp_path, "claude", [{"out": "claude-tool.out"}])
    answer = await ot.run_agent("list the files", agent="claude", env=agent.env, data_dir=data_dir)
    assert isinstance(answer, ot.AgentResult)
    assert answer.ok and answer.text and answer.state == "completed"
    assert answer.totals is not None and answer.totals.tool_calls == 1
    assert answer.session_id
    assert ot.call_executor_async is ot.run_agent


async def test_run_oneshot_runs_worker_and_auditor_until_done(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "first try"},
            verdict("RETRY", "add a test"),
            {"result": "second try, with a test"},
            verdict("DONE"),
        ],
    )
    loop = await ot.run_oneshot(
        "fix it", worker="claude", auditor="codex", env=agents.env, data_dir=data_dir, cwd=tmp_path
    )
    assert isinstance(loop, ot.LoopResult)
    assert loop.ok and [v.verdict for v in loop.verdicts] == ["RETRY", "DONE"]
    assert loop.verdicts[0].feedback == "add a test" and loop.oneshot_id
    assert ot.run_oneshot_async is ot.run_oneshot


def test_importing_the_package_stays_cheap() -> None:
    code = "import sys, oneshot_tui; print(sorted(m for m in sys.modules if m.split('.')[0] in ('anyio', 'statemachine', 'textual', 'oneshot_tui')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['oneshot_tui']"


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        ot.no_such_thing  # noqa: B018


async def test_anyio_runs_it_from_a_plain_script(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "import anyio, oneshot_tui as ot\n"
        "async def main():\n"
        "    result = await ot.run_tasks(['echo from-a-script'], record=False)\n"
        "    print(result.exit_code, result.results[0].state)\n"
        "anyio.run(main)\n"
    )
    proc = await anyio.run_process([sys.executable, str(script)], check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "0 completed"
