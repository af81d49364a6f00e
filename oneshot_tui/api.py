"""The public Python API: run tasks, one agent, or a worker/auditor loop from a script or a
notebook, on the engine the command line uses (the run session: same logs, history, stop ladder).

Tasks are given as the `[[task]]` tables of a task file (a mapping with the same keys, checked the
same way; a plain string is a shell command), run settings as keyword arguments with the `[run]`
keys. Everything is `async` (anyio: asyncio or trio for the engine; the TUI is not involved).

    import anyio
    import oneshot_tui as ot

    async def main() -> None:
        result = await ot.run_tasks(["make test", {"name": "lint", "command": ["ruff", "check"]}])
        print(result.exit_code)

        answer = await ot.run_agent("summarise CHANGELOG.md", agent="claude")
        print(answer.text, answer.totals)

        loop = await ot.run_oneshot("fix the failing test", worker="claude", auditor="codex")
        print(loop.ok, [v.verdict for v in loop.verdicts])

        async with ot.open_run(["./server", "pytest -x"], max_concurrent=2) as run:
            async for event in run.events():       # every event, as `run --json` reports them
                ...

    anyio.run(main)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from oneshot_tui.core.activity import AgentTotals, FinalResult, SessionStarted, from_data
from oneshot_tui.core.events import Activity, Event, LoopVerdict, RunFinished, TaskResult
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator import RunResult
from oneshot_tui.orchestrator.session import RunSession

Task = str | Mapping[str, Any]
"""A shell command, or a `[[task]]` table: `{"name": ..., "command": ...}`, `{"agent": "claude",
"prompt": ...}`, with any key a task file takes (cwd, env, timeout, grace, worktree, ...). One
without a name is named as `run -c` names a command, from its words (`make test`: `make-test`)."""

PENDING_LINES = 100_000
"""Output lines `Run.events` may fall behind by before it skips some (an `output_missed` says how
many; the log files keep everything). Other events are never skipped."""


@dataclass(frozen=True, slots=True)
class AgentResult:
    """How one agent task went: its final answer and what it used."""

    ok: bool
    """It completed (the agent exited cleanly with a result that is not an error)."""
    text: str
    """The agent's final answer ("" if it gave none)."""
    state: TaskState
    reason: str
    totals: AgentTotals | None
    session_id: str | None
    """The agent's own session id, where the CLI has one (to continue it by hand)."""
    log_path: str | None
    run_id: str


@dataclass(frozen=True, slots=True)
class Verdict:
    iteration: int
    verdict: str
    """"DONE", "RETRY" or "IMPOSSIBLE"."""
    feedback: str
    well_formed: bool


@dataclass(frozen=True, slots=True)
class LoopResult:
    """How a worker/auditor loop went: DONE is `ok`; every verdict, in order."""

    ok: bool
    state: TaskState
    reason: str
    verdicts: tuple[Verdict, ...]
    oneshot_id: str | None
    """The loop's id: `oneshot --resume ID` continues it."""
    totals: AgentTotals | None
    run_id: str


class Run:
    """A run started by `open_run`: its events, its commands, its result."""

    def __init__(self, session: RunSession) -> None:
        self._session = session
        self._events = session.bus.subscribe("api", max_pending_lines=PENDING_LINES)
        self._done = anyio.Event()
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    @property
    def id(self) -> str:
        return self._session.run_id

    @property
    def log_dir(self) -> Path:
        return self._session.orchestrator.log_dir

    @property
    def tasks(self) -> list[str]:
        return list(self._session.orchestrator.tasks)

    async def events(self) -> AsyncIterator[Event]:
        """Every event from the run's start to its `RunFinished` (inclusive), in order. One
        reader at a time; an `Output` with `missed` set says how many lines were skipped."""
        while True:
            try:
                batch = await self._events.receive_batch()
            except anyio.EndOfStream:
                return
            for event in batch:
                yield event
                if type(event) is RunFinished:
                    return

    def interrupt(self, task: str) -> bool:
        """Stop a task with the ladder (SIGINT, SIGTERM, SIGKILL); False if it is not live."""
        return self._session.orchestrator.interrupt(task)

    def kill(self, task: str) -> bool:
        return self._session.orchestrator.kill(task)

    def restart(self, task: str) -> bool:
        return self._session.orchestrator.restart(task)

    def stop(self, reason: str = "stopped by the script") -> None:
        """Stop the whole run gracefully (queued tasks never start)."""
        self._session.orchestrator.shutdown(reason)

    async def wait(self) -> RunResult:
        """The run's result once every task has ended (raises what stopped the run, if any)."""
        await self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    async def _run(self) -> None:
        try:
            self._result = await self._session.run()
        except Exception as exc:  # raised to whoever waits for the result
            self._error = exc
        finally:
            self._events.close()
            self._done.set()


@asynccontextmanager
async def open_run(
    tasks: Sequence[Task],
    *,
    data_dir: Path | None = None,
    cwd: Path | None = None,
    record: bool = True,
    **run_keys: Any,
) -> AsyncIterator[Run]:
    """Start a run of `tasks` and yield it while it runs; leaving the block stops whatever still
    runs (gracefully, with the ladder) and waits for it. Raises ConfigError (a UsageError) for a
    bad task or setting, naming it, before anything starts.

    `data_dir` defaults as for the command line ($ONESHOT_TUI_HOME, else the user data dir);
    `record=False` keeps the run out of the history; `cwd` is where tasks without one run."""
    session = _session(tasks, data_dir, cwd, record, run_keys)
    run = Run(session)
    async with anyio.create_task_group() as tg:
        tg.start_soon(run._run)
        try:
            yield run
        finally:
            if not run._done.is_set():
                session.orchestrator.shutdown("the script left the run")
            with anyio.CancelScope(shield=True):
                await run._done.wait()


async def run_tasks(tasks: Sequence[Task], **options: Any) -> RunResult:
    """Run `tasks` to their end and return the results (the options are `open_run`'s)."""
    async with open_run(tasks, **options) as run:
        return await run.wait()


async def run_agent(
    prompt: str, agent: str = "claude", *, model: str | None = None, **options: Any
) -> AgentResult:
    """Run one agent on `prompt` and return its final answer and totals. Other task keys
    (`cwd`, `args`, `max_cost_usd`, `worktree`, ...) and the options of `open_run` may be given."""
    table, options = _split(options)
    table.update(agent=agent, prompt=prompt, **({"model": model} if model else {}))
    text, session_id = "", None
    async with open_run([table], **options) as run:
        async for event in run.events():
            if isinstance(event, Activity):
                activity = from_data(event.data)
                if isinstance(activity, FinalResult):
                    text = activity.text
                elif isinstance(activity, SessionStarted) and activity.session_id:
                    session_id = activity.session_id
        result = await run.wait()
    (task,) = result.results
    return AgentResult(
        task.state is TaskState.COMPLETED,
        text,
        task.state,
        task.reason,
        task.totals,
        session_id,
        task.log_path,
        result.run_id,
    )


async def run_oneshot(
    prompt: str,
    *,
    worker: str = "claude",
    auditor: str | None = None,
    worker_model: str | None = None,
    auditor_model: str | None = None,
    max_iterations: int | None = None,
    **options: Any,
) -> LoopResult:
    """Run a worker/auditor loop on `prompt` (the auditor defaults to the worker's agent) until
    DONE, IMPOSSIBLE or `max_iterations`; the options are `run_agent`'s."""
    table, options = _split(options)
    table.update(agent=worker, prompt=prompt, auditor=auditor or worker)
    for key, value in (
        ("model", worker_model),
        ("auditor_model", auditor_model),
        ("max_iterations", max_iterations),
    ):
        if value is not None:
            table[key] = value
    verdicts: list[Verdict] = []
    oneshot_id: str | None = None
    async with open_run([table], **options) as run:
        async for event in run.events():
            if isinstance(event, LoopVerdict):
                oneshot_id = event.oneshot_id
                verdict = Verdict(event.iteration, event.verdict, event.feedback, event.well_formed)
                verdicts.append(verdict)
        result = await run.wait()
    (task,) = result.results
    return LoopResult(
        task.state is TaskState.COMPLETED,
        task.state,
        task.reason,
        tuple(verdicts),
        oneshot_id,
        task.totals,
        result.run_id,
    )


call_executor_async = run_agent
"""The name the original `oneshot`'s async refactor promised for running one agent."""
run_oneshot_async = run_oneshot
"""The name the original `oneshot`'s async refactor promised for running a loop."""


# -- building the run ------------------------------------------------------------------------------

_OPTIONS = ("data_dir", "cwd", "record")


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword arguments of run_agent/run_oneshot: `open_run`'s own go to the run, everything
    else is a key of the agent's task table (checked by the task-file loader)."""
    table = {k: v for k, v in options.items() if k not in _OPTIONS}
    return table, {k: v for k, v in options.items() if k in _OPTIONS}


def _session(
    tasks: Sequence[Task],
    data_dir: Path | None,
    cwd: Path | None,
    record: bool,
    run_keys: Mapping[str, Any],
) -> RunSession:
    from oneshot_tui.config import load_run_config
    from oneshot_tui.store.history_data import RunOrigin
    from oneshot_tui.store.paths import prepare_data_dir

    tables = [{"command": task} if isinstance(task, str) else dict(task) for task in tasks]
    document = {"run": dict(run_keys), "task": tables}
    config = load_run_config(None, document=document, source="<python>", cwd=cwd)
    origin = RunOrigin.of(("python", "oneshot_tui.api")) if record else None
    return RunSession(
        config.specs, config.settings, data_dir=prepare_data_dir(data_dir), origin=origin
    )


__all__ = [
    "AgentResult",
    "LoopResult",
    "Run",
    "RunResult",
    "Task",
    "TaskResult",
    "Verdict",
    "call_executor_async",
    "open_run",
    "run_agent",
    "run_oneshot",
    "run_oneshot_async",
    "run_tasks",
]
