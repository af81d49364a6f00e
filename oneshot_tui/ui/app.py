"""The Textual app: runs the orchestrator, shows its events, and turns keys into its commands.

Data flows one way: engine -> bus -> one `Bridge` -> `EngineEvents` (one per batch) -> the
`RunModel` -> the widgets that changed. Commands flow the other way: a key on the main screen
posts a `TaskCommand`, and the app (the only holder of the orchestrator) hands the call to the
engine's thread (`EngineThread.call`). Nothing in the UI touches a process or a task record.

`make_app` is the one factory used by the CLI, the tests and the screenshot script.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from textual import on
from textual.app import App, SystemCommand
from textual.screen import Screen

from oneshot_tui.core.clock import Clock
from oneshot_tui.core.exit_codes import (
    STOP_SIGNALS,
    ExitCode,
    UsageError,
    exit_code_for,
    usage_error,
)
from oneshot_tui.core.report import summary_lines, verdict_line
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator import RunResult
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.store.history_data import RunOrigin
from oneshot_tui.ui.bridge import DEFAULT_FRAME, Bridge
from oneshot_tui.ui.engine import EngineThread
from oneshot_tui.ui.format import short_path
from oneshot_tui.ui.messages import (
    EngineEvents,
    EngineStopped,
    EngineWarning,
    HistoryRequested,
    LiveRequested,
    QuitRequested,
    TaskCommand,
)
from oneshot_tui.ui.model import RunModel
from oneshot_tui.ui.screens.confirm import ConfirmQuit
from oneshot_tui.ui.screens.history import HistoryScreen
from oneshot_tui.ui.screens.main import MainScreen
from oneshot_tui.ui.screens.verdicts import VerdictScreen

_ENGINE_EXIT_MARGIN = 10.0
"""Seconds beyond the longest grace to wait for the engine's cleanup when the app leaves."""
_UI_MIN_PENDING_LINES = 50_000
"""Lines the UI's bus subscription may hold before it drops the oldest (then it shows a gap)."""


class OneshotApp(App[int]):
    """Watch and steer one run. The app's return value is the run's exit code."""

    CSS_PATH = "app.tcss"
    TITLE = "oneshot-tui"
    AUTO_FOCUS = None
    """Nothing takes focus on its own: the keys belong to the main screen, and a focused search
    field would swallow them."""

    def __init__(
        self,
        session: RunSession,
        *,
        exit_on_finish: bool = False,
        handle_signals: bool = False,
        frame: float = DEFAULT_FRAME,
    ) -> None:
        super().__init__()
        self.orch = orch = session.orchestrator
        self.clock: Clock = orch.clock
        self.exit_on_finish = exit_on_finish
        self._handle_signals = handle_signals
        self.result: RunResult | None = None
        """The run's result, once the orchestrator has returned."""
        self.usage_error: UsageError | None = None
        """Why the run could not start (its backend cannot be had): said in one line, exit 2."""
        self.stopping = False
        self._signalled = False
        self.model = RunModel(self._scrollback_of)
        for task in orch.tasks.values():
            self.model.add(task.id, task.spec.display_command, task.spec.kind)
        self.model.run_id = orch.run_id
        self.model.max_concurrent = orch.settings.max_concurrent
        # Subscribe now, before the run publishes anything: the UI sees every event from the start.
        scrollback = sum(t.spec.policy.scrollback for t in orch.tasks.values())
        subscription = orch.bus.subscribe(
            "ui", max_pending_lines=max(scrollback, _UI_MIN_PENDING_LINES)
        )
        bridge = Bridge(subscription, self.post_message, frame, tails=self._tail_of)
        self.engine = EngineThread(session, bridge, self._engine_exited)
        self._main = MainScreen(self.model, self.clock.time, self._data_dir_label())

    def _tail_of(self, task_id: str, attempt: int) -> list[str] | None:
        """(On the engine's thread.) A task's last lines, if `attempt` is its latest, ended."""
        task = self.orch.tasks.get(task_id)
        if task is None or task.attempt != attempt or not task.state.ended:
            return None
        return task.view.lines()

    def on_engine_warning(self, message: EngineWarning) -> None:
        self.notify(message.text, severity="warning", timeout=10)

    def _engine_exited(self, result: RunResult | None, error: BaseException | None) -> None:
        """(On the engine's thread.)"""
        self.post_message(EngineStopped(result, error))

    def command(self, fn: Callable[..., object], *args: object) -> None:
        """Call an orchestrator command on the engine's thread (its effects come as events)."""
        self.engine.call(fn, *args)

    def _scrollback_of(self, task_id: str) -> int:
        task = self.orch.tasks.get(task_id)
        return task.spec.policy.scrollback if task is not None else 10_000

    def _data_dir_label(self) -> str:
        return short_path(str(self.orch.data_dir), os.path.expanduser("~"))

    # -- life ----------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return self._main

    def on_mount(self) -> None:
        # Start the run once the screen is drawn: its widgets must exist when events arrive.
        self.call_after_refresh(self.engine.start)
        self.set_interval(1.0, self._main.tick, name="clock")
        if self._handle_signals:
            # Ctrl-C in the terminal arrives as a key (Textual turns ISIG off); these are the
            # signals other processes send. Same meaning as headless: stop gracefully, exit
            # 128+N; a second one kills every task now.
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._signalled:
            self.command(self.orch.kill_all, f"received {name} again")
            return
        self._signalled = True
        self.stopping = self._main.stopping = True
        self.command(self.orch.shutdown, f"received {name}", signum)
        self._main.apply_phase(self._phase())

    @on(EngineStopped)
    def _engine_stopped(self, message: EngineStopped) -> None:
        if message.error is not None:
            error = message.error
            self.usage_error = usage_error(error)
            if self.usage_error is not None:  # said by the command line, as headless says it
                self.exit(None, return_code=ExitCode.USAGE)
                return
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.exit(None, return_code=exit_code_for(error), message=text)
            return
        result = message.result
        assert result is not None
        self.result = result
        self.exit(result.exit_code, return_code=result.exit_code)

    async def on_unmount(self) -> None:
        """Stop the run and wait for the engine's thread to finish stopping its children.

        Normally the engine has ended already (that is why the app is leaving); but if the app
        leaves first (an error, a test harness), the tasks get the same graceful stop.
        """
        if self._handle_signals:
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        if self.engine.alive:
            self.command(self.orch.shutdown, "the app closed")
            grace = max((t.spec.policy.grace for t in self.orch.tasks.values()), default=0.0)
            await asyncio.to_thread(self.engine.join, grace + _ENGINE_EXIT_MARGIN)

    # -- events from the engine ------------------------------------------------------------------

    @on(EngineEvents)
    def _engine_events(self, message: EngineEvents) -> None:
        try:
            changes = self.model.apply(message.events)
            self._main.apply(changes, self.orch.in_use, self._phase())
        finally:
            message.ack()
        screen = self.screen
        if isinstance(screen, VerdictScreen) and screen.task_id in changes.rows:
            screen.refresh_content()
        if self.exit_on_finish and self.model.finished is not None and not self.stopping:
            self._stop("every task has ended")
        if isinstance(self.screen, ConfirmQuit) and not self._live_tasks():
            self.screen.dismiss(True)  # they all ended while we asked: nothing left to stop

    def _phase(self) -> str:
        if self.stopping:
            live = sum(1 for t in self.model.tasks.values() if t.state.active)
            return f"stopping {live} task{'s' if live != 1 else ''}…" if live else "stopping…"
        finished = self.model.finished
        if finished is not None and not self._live_tasks():
            return f"finished · exit {finished.exit_code} · q quits"
        return ""

    def _live_tasks(self) -> int:
        return sum(
            1 for t in self.model.tasks.values() if t.state.active or t.state is TaskState.CREATED
        )

    # -- commands from the screens ---------------------------------------------------------------

    @on(TaskCommand)
    def _task_command(self, message: TaskCommand) -> None:
        orch, task_id = self.orch, message.task_id
        if message.command == "interrupt_idle":
            count = sum(1 for t in self.model.tasks.values() if t.state is TaskState.IDLE)
            self.command(orch.interrupt_idle)
            self.notify(f"interrupting {count} idle task{'s' if count != 1 else ''}")
        elif task_id is None:
            return
        elif message.command == "interrupt":
            self.command(orch.interrupt, task_id)
        elif message.command == "kill":
            self.command(orch.kill, task_id)
        elif message.command == "restart":
            self.command(orch.restart, task_id)
        elif message.command == "continue":
            self.command(orch.continue_task, task_id)

    @on(QuitRequested)
    def _quit_requested(self, message: QuitRequested) -> None:
        self.request_quit()

    # -- the history (read-only; the live run goes on underneath) --------------------------------

    @on(HistoryRequested)
    def _history_requested(self, message: HistoryRequested) -> None:
        if any(isinstance(s, HistoryScreen) for s in self.screen_stack):
            return
        self.push_screen(
            HistoryScreen(
                self.orch.data_dir,
                self._data_dir_label(),
                self.clock.time,
                live_run=self.orch.run_id,
            )
        )

    @on(LiveRequested)
    def _live_requested(self, message: LiveRequested) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self._main:
            self.pop_screen()

    def request_quit(self) -> None:
        """Quit now if nothing runs; else ask, then stop everything and leave once it has ended.

        Asked again while stopping, it kills every task at once (like a second Ctrl-C headless).
        """
        if self.stopping:
            self.command(self.orch.kill_all, "killed: quit again while stopping")
            self.notify("killing every task now")
            return
        running = sum(1 for t in self.model.tasks.values() if t.state.active)
        queued = sum(1 for t in self.model.tasks.values() if t.state is TaskState.CREATED)
        if not running and not queued:
            self._stop("quit")
            return
        if isinstance(self.screen, ConfirmQuit):
            return

        def answered(stop: bool | None) -> None:
            if stop:
                self._stop("stopped on quit")

        self.push_screen(ConfirmQuit(running, queued), callback=answered)

    def _stop(self, reason: str) -> None:
        self.stopping = True
        self._main.stopping = True
        self.command(self.orch.shutdown, reason)
        self._main.apply_phase(self._phase())

    def action_quit(self) -> None:  # type: ignore[override]  # ctrl+q and the palette's "Quit"
        self.request_quit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is not self._main:
            return
        for title, help_text, action in (
            ("Interrupt task", "Stop the selected task with the ladder (i)", "interrupt"),
            ("Kill task", "SIGKILL the selected task's process group (x)", "kill"),
            ("Fresh start", "Start the selected task anew; a loop as a new loop (r)", "restart"),
            (
                "Continue loop",
                "Continue the selected loop where it stopped, in its sessions (c)",
                "continue_task",
            ),
            ("Interrupt idle tasks", "Interrupt every idle task (I)", "interrupt_idle"),
            ("Zoom", "Show the selected pane full screen (z)", "zoom"),
            ("Search output", "Search the selected task's output (/)", "search"),
            ("Verdicts", "The selected loop task's verdicts and feedback (v)", "verdicts"),
            ("Diff", "What the selected worktree task changed (d)", "diff"),
            ("History", "Past runs, read-only (h)", "history"),
            ("Follow output", "Toggle following the newest output (f)", "follow"),
            ("Help", "Every key (?)", "help"),
        ):
            if self._main.check_action(action, ()) is True:
                yield SystemCommand(title, help_text, getattr(self._main, f"action_{action}"))


def make_app(
    specs: Sequence[TaskSpec],
    settings: RunSettings | None = None,
    *,
    data_dir: Path,
    clock: Clock | None = None,
    run_id: str | None = None,
    exit_on_finish: bool = False,
    handle_signals: bool = False,
    frame: float = DEFAULT_FRAME,
    origin: RunOrigin | None = None,
) -> OneshotApp:
    """The app and a fresh run session for `specs` (the clock and run id are injectable).
    With an `origin`, the run is recorded in the history."""
    app: OneshotApp | None = None

    def warn(text: str) -> None:  # on the engine's thread: a problem that stops nothing
        if app is not None:
            app.post_message(EngineWarning(text))

    session = RunSession(
        specs, settings, data_dir=data_dir, origin=origin, clock=clock, run_id=run_id, warn=warn
    )
    app = OneshotApp(
        session, exit_on_finish=exit_on_finish, handle_signals=handle_signals, frame=frame
    )
    return app


def print_summary(result: RunResult, out: TextIO) -> None:
    """The same table as the headless summary, after the app has left the screen."""
    lines = summary_lines(result.results)
    lines.append(verdict_line(result.run_id, result.exit_code, result.signal))
    out.write("\n".join(lines) + "\n")
    out.flush()


def run_tui(
    specs: Sequence[TaskSpec],
    settings: RunSettings,
    data_dir: Path,
    *,
    exit_on_finish: bool = False,
    origin: RunOrigin | None = None,
) -> int:
    """Run in the TUI until the user quits; print the summary; return the headless exit code."""
    app = make_app(
        specs,
        settings,
        data_dir=data_dir,
        exit_on_finish=exit_on_finish,
        handle_signals=True,
        origin=origin,
    )
    app.run()
    if app.usage_error is not None:
        raise app.usage_error  # the command line says it in one line and exits 2
    result = app.result
    if result is None:  # the app failed before the run ended (its error was printed)
        return int(app.return_code or ExitCode.FAILED)
    print_summary(result, sys.stderr)
    return result.exit_code
