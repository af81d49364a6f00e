"""The Textual app: a client of a live run. It shows the run's events and turns keys into its
commands, all through the run's control socket (docs/protocol.md), so a run started here and a
run attached to from another terminal are the same to it.

Data flows one way: the run's socket -> one `RunConnection` (its own thread) -> `EngineEvents`
(one per batch) -> the `RunModel` -> the widgets that changed. Commands flow the other way: a key
on the main screen posts a `TaskCommand`, and the app sends the command over the connection.
Nothing in the UI touches a process or a task record.

`make_app` (tests, screenshots) serves the run on a thread of this process; `run_tui` forks a
server process first (so the run can outlive the terminal: detach), `attach_tui` joins one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.filter import ANSIToTruecolor
from textual.screen import Screen

from oneshot_tui.control.protocol import Served
from oneshot_tui.core.clock import Clock, SystemClock
from oneshot_tui.core.events import RunResult
from oneshot_tui.core.exit_codes import STOP_SIGNALS, ExitCode, for_signal
from oneshot_tui.core.report import summary_lines, verdict_line
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui import preferences
from oneshot_tui.ui.bridge import DEFAULT_FRAME
from oneshot_tui.ui.connection import RunConnection
from oneshot_tui.ui.format import short_path
from oneshot_tui.ui.keys import MAIN_BINDINGS
from oneshot_tui.ui.messages import (
    CommandRefused,
    ConnectionEnded,
    Detached,
    DetachRequested,
    EngineEvents,
    EngineWarning,
    HistoryRequested,
    LiveRequested,
    MergeRequested,
    PaneResized,
    QuitRequested,
    TaskCommand,
)
from oneshot_tui.ui.model import Changes, RunModel
from oneshot_tui.ui.screens.confirm import ConfirmQuit
from oneshot_tui.ui.screens.main import MainScreen
from oneshot_tui.ui.screens.verdicts import VerdictScreen

if TYPE_CHECKING:
    from oneshot_tui.orchestrator import Orchestrator
    from oneshot_tui.orchestrator.server import ServerThread
    from oneshot_tui.store.history_data import RunOrigin

log = logging.getLogger(__name__)

TASK_COMMANDS = ("interrupt", "kill", "restart", "continue", "seen")
"""Keys' commands that act on the selected task, sent as the protocol's commands of that name."""
_TEXTUAL_COMMANDS_LEFT_OUT = frozenset({"Keys", "Screenshot", "Maximize", "Minimize"})
_SERVER_EXIT_MARGIN = 10.0
"""Seconds beyond the longest grace to wait for an in-process server when the app leaves."""


class OneshotApp(App[int]):
    """Watch and steer one live run. The app's return value is the run's exit code (0 when it
    detached: the run goes on)."""

    CSS_PATH = "app.tcss"
    TITLE = "oneshot-tui"
    AUTO_FOCUS = None
    """Nothing takes focus on its own: the keys belong to the main screen, and a focused search
    field would swallow them."""

    def __init__(
        self,
        served: Served,
        *,
        data_dir: Path,
        owner: bool = True,
        handle_signals: bool = False,
        frame: float = DEFAULT_FRAME,
        clock: Clock | None = None,
        local: ServerThread | None = None,
        key_latency: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self._key_latency = key_latency
        """Told how long each key took to show, in seconds (the otel metric), if set."""
        # Task output is drawn in the user's own terminal palette: an SGR 31 stays colour 1 of
        # the terminal. Textual's filter would turn every ANSI colour into its theme's
        # truecolour (red and magenta both into colour 197 on a 256-colour terminal). Only
        # task output has ANSI colours (the app's own are truecolour from the theme), so the
        # filter goes; `ansi_color=True` would do it too, but restyles every widget (`:ansi`).
        self._filters = [f for f in self._filters if not isinstance(f, ANSIToTruecolor)]
        self.served = served
        self.data_dir = data_dir
        self.owner = owner
        """This TUI started the run: quitting stops it (or detaches), losing it stops it."""
        self.clock: Clock = clock or SystemClock()
        self.local = local
        """The run's server when it lives in this process (tests reach into its engine)."""
        self._handle_signals = handle_signals
        self.stopping = False
        self.detaching = False
        self.detached = False
        """The app left the run going on (detach): its exit code is 0."""
        self.ended_early = ""
        """Why the connection ended before the run finished (its process died), if it did."""
        self._signalled = False
        self.model = RunModel()
        self.connection = RunConnection(served.socket, self.post_message, owner=owner, frame=frame)
        self._main = MainScreen(self.model, self.clock.time, self._data_dir_label())
        self._pty_size: tuple[int, int] | None = None
        self._theme_loaded = False
        """The saved theme has been applied: a theme change from now on is the user's."""
        """The size last told to the run for its PTY tasks (the output pane's)."""

    @property
    def orch(self) -> Orchestrator:
        """The run's orchestrator, for tests of a run served in this process."""
        assert self.local is not None, "the run is served by another process"
        return self.local.orch

    @property
    def result(self) -> RunResult | None:
        """The run's result, once it has finished (what the summary shows)."""
        finished = self.model.finished
        if finished is None or self.connection.alive:
            return None
        log_dir = Path(self.model.log_dir or self.served.log_dir)
        return RunResult(
            finished.run_id, finished.exit_code, finished.results, finished.signal, log_dir
        )

    def command(self, cmd: str, **fields: Any) -> None:
        """Send a command to the run (its effects come back as events)."""
        self.connection.command(cmd, **fields)

    def _data_dir_label(self) -> str:
        return short_path(str(self.data_dir), os.path.expanduser("~"))

    # -- life ----------------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if (driver.__module__, driver.__name__) == ("textual.drivers.linux_driver", "LinuxDriver"):
            # Not Windows, nor a driver chosen with TEXTUAL_DRIVER: leave without a timeout.
            from oneshot_tui.ui.driver import QuickExitDriver

            return QuickExitDriver
        return driver

    def get_default_screen(self) -> Screen[None]:
        return self._main

    def on_mount(self) -> None:
        # The theme chosen last time (the palette's "Theme"), if this Textual still has it.
        chosen = preferences.load(self.data_dir).get("theme")
        if chosen and chosen in self.available_themes and chosen != self.theme:
            self.theme = chosen
        self._theme_loaded = True
        # The run's state as it is now, shown in the first frame; live events once it is drawn.
        changes = self.model.apply(self.connection.start())
        self.call_after_refresh(self._begin, changes)
        self.set_interval(1.0, self._main.tick, name="clock")
        self.app_resume_signal.subscribe(self, self._repaint_all)
        if self._handle_signals:
            # Ctrl-C in the terminal arrives as a key (Textual turns ISIG off); these are the
            # signals other processes send. The TUI that started the run stops it the way a
            # headless run stops (exit 128+N; a second signal kills every task now); an
            # attached one just leaves.
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, self._on_signal, signum)

    def watch_theme(self, theme: str) -> None:
        if not self._theme_loaded:
            return  # Textual's default at start, or the saved one being applied
        data_dir = self.data_dir

        def keep() -> None:
            choices = preferences.load(data_dir)
            choices["theme"] = theme
            try:
                preferences.save(data_dir, choices)
            except OSError as exc:  # a read-only home: the choice lasts this session only
                log.warning("cannot keep the theme: %s", exc)

        # A file write: in a thread, never on the event loop.
        self.run_worker(keep, thread=True, group="preferences", exit_on_error=False)

    def _repaint_all(self, _app: App[int | None]) -> None:
        """Back from Ctrl+Z (SIGCONT): the terminal shows whatever ran meanwhile, and Textual
        redraws only what changes next; so the whole screen is drawn again, at once."""
        screen = self.screen
        screen.refresh(screen.region, layout=True)

    def _begin(self, changes: Changes) -> None:
        self._main.apply(changes, self.model.in_use, self._phase())
        self.connection.go()

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self.owner:
            self._signalled = True
            self.exit(for_signal(signum), return_code=for_signal(signum))
            return
        if self._signalled:
            self.command("stop", reason=f"received {name} again", now=True)
            return
        self._signalled = True
        if signum == signal.SIGHUP:  # the run's `on_hangup` says: stop, or detach
            self.detaching = True
            self.connection.hang_up(f"received {name}")
            return
        self.stopping = self._main.stopping = True
        self.command("stop", reason=f"received {name}", signal=signum)
        self._main.apply_phase(self._phase())

    @on(Detached)
    def _detached(self, message: Detached) -> None:
        self.detached = True

    @on(ConnectionEnded)
    def _connection_ended(self, message: ConnectionEnded) -> None:
        if self.detached:
            self.exit(ExitCode.OK, return_code=ExitCode.OK)
            return
        finished = self.model.finished
        if message.finished and finished is not None:
            self.exit(finished.exit_code, return_code=finished.exit_code)
            return
        self.ended_early = message.error or "the run's process ended before the run finished"
        self.exit(None, return_code=ExitCode.FAILED)

    async def on_event(self, event: events.Event) -> None:
        if (
            self._key_latency is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
        ):
            arrived, record = event.time, self._key_latency  # Message.time: time.monotonic()
            # After the refresh that follows the key's handling (it is forwarded to the screen
            # from here, then the screen redraws what changed).
            self.call_after_refresh(lambda: record(time.monotonic() - arrived))
        await super().on_event(event)

    async def on_unmount(self) -> None:
        """Leave the run: an in-process server gets the same graceful stop a quit gives."""
        if self._handle_signals:
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        local = self.local
        if local is not None and local.alive and not self.detached:
            local.call(local.orch.shutdown, "the app closed")
            grace = max((t.spec.policy.grace for t in local.orch.tasks.values()), default=0.0)
            await asyncio.to_thread(local.join, grace + _SERVER_EXIT_MARGIN)
        self.connection.close()
        await asyncio.to_thread(self.connection.join, 5.0)

    # -- events from the run -------------------------------------------------------------------

    @on(EngineEvents)
    def _engine_events(self, message: EngineEvents) -> None:
        try:
            changes = self.model.apply(message.events)
            self._main.apply(changes, self.model.in_use, self._phase())
        finally:
            message.ack()
        if changes.run:
            self._alert(message.events)
        screen = self.screen
        if isinstance(screen, VerdictScreen) and screen.task_id in changes.rows:
            screen.refresh_content()
        if isinstance(self.screen, ConfirmQuit) and not self._live_tasks():
            self.screen.dismiss("stop")  # they all ended while we asked: nothing left to stop

    def _alert(self, events: Sequence[object]) -> None:
        """Ring this terminal for a task that needs you and for the run's end, as the run's
        `notify` says (live events only: the snapshot an attach starts with never rings)."""
        from oneshot_tui.core.notify import alert_for, terminal_sequence

        hello = self.connection.hello
        configured = hello.get("notify")
        run_id = str(hello.get("run") or self.served.run_id)
        for event in events:
            alert = alert_for(event, run_id)
            if alert is None:
                continue
            sequence = terminal_sequence(alert, configured, os.environ)
            driver = self._driver
            if sequence and driver is not None:
                # App.bell() is this same write; OSC has no API of its own (nor has OSC 52).
                driver.write(sequence)

    def on_engine_warning(self, message: EngineWarning) -> None:
        self.notify(message.text, severity="warning", timeout=10)

    @on(CommandRefused)
    def _command_refused(self, message: CommandRefused) -> None:
        self.notify(f"{message.command}: {message.error}", severity="warning", timeout=6)

    def _phase(self) -> str:
        if self.detaching:
            return "detaching…"
        if self.stopping:
            live = sum(1 for t in self.model.tasks.values() if t.state.active)
            return f"stopping {live} task{'s' if live != 1 else ''}…" if live else "stopping…"
        finished = self.model.finished
        if finished is not None and not self._live_tasks():
            return f"finished · exit {finished.exit_code} · s summary · q quits"
        return ""

    def _live_tasks(self) -> int:
        return sum(
            1 for t in self.model.tasks.values() if t.state.active or t.state is TaskState.CREATED
        )

    # -- commands from the screens ---------------------------------------------------------------

    @on(TaskCommand)
    def _task_command(self, message: TaskCommand) -> None:
        task_id = message.task_id
        if message.command == "interrupt_idle":
            count = sum(1 for t in self.model.tasks.values() if t.state is TaskState.IDLE)
            self.command("interrupt", idle=True)
            self.notify(f"interrupting {count} idle task{'s' if count != 1 else ''}")
        elif message.command == "send" and task_id is not None:
            self.command("send", task=task_id, text=message.text)
        elif message.command == "input" and task_id is not None:
            self.command("input", task=task_id, text=message.text)
        elif message.command == "add" and message.table is not None:
            self.command("add", tasks=[message.table], cwd=os.getcwd(), source="<tui>")
        elif task_id is not None and message.command in TASK_COMMANDS:
            self.command(message.command, tasks=[task_id])

    @on(MergeRequested)
    def _merge_requested(self, message: MergeRequested) -> None:
        self.notify(f"merging {message.worktree.branch}…", timeout=3)
        self.run_worker(lambda: self._merge(message), thread=True, group="merge", exclusive=False)

    def _merge(self, message: MergeRequested) -> None:
        from oneshot_tui.ui.merging import merge_task  # the git layer: on first use

        ok, text = merge_task(self.data_dir, self.model.run_id, message.task_id, message.worktree)
        self.call_from_thread(
            self.notify, text, severity="information" if ok else "warning", timeout=10
        )

    @on(PaneResized)
    def _pane_resized(self, message: PaneResized) -> None:
        size = (message.rows, message.cols)
        if size != self._pty_size and self.screen is self._main:
            self._pty_size = size
            self.command("resize", rows=message.rows, cols=message.cols)

    @on(QuitRequested)
    def _quit_requested(self, message: QuitRequested) -> None:
        self.request_quit()

    @on(DetachRequested)
    def _detach_requested(self, message: DetachRequested) -> None:
        self.detach()

    # -- the history (read-only; the live run goes on underneath) --------------------------------

    @on(HistoryRequested)
    def _history_requested(self, message: HistoryRequested) -> None:
        from oneshot_tui.ui.screens.history import HistoryScreen  # on first use (~10% of start)

        if any(isinstance(s, HistoryScreen) for s in self.screen_stack):
            return
        self.push_screen(
            HistoryScreen(
                self.data_dir,
                self._data_dir_label(),
                self.clock.time,
                live_run=self.served.run_id,
            )
        )

    @on(LiveRequested)
    def _live_requested(self, message: LiveRequested) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self._main:
            self.pop_screen()

    def request_quit(self) -> None:
        """Leave the run. With tasks still live, ask first: stop them (and quit), or detach (the
        run goes on). With nothing live, the TUI that started the run ends it; an attached one
        leaves it as it is. Asked again while stopping, it kills every task at once."""
        if self.stopping:
            self.command("stop", reason="killed: quit again while stopping", now=True)
            self.notify("killing every task now")
            return
        running = sum(1 for t in self.model.tasks.values() if t.state.active)
        queued = sum(1 for t in self.model.tasks.values() if t.state is TaskState.CREATED)
        if not running and not queued:
            if self.owner:
                self._stop("quit")
            else:
                self.detach()
            return
        if isinstance(self.screen, ConfirmQuit):
            return

        def answered(answer: str | None) -> None:
            if answer == "stop":
                self._stop("stopped on quit")
            elif answer == "detach":
                self.detach()

        self.push_screen(ConfirmQuit(running, queued), callback=answered)

    def detach(self) -> None:
        """Leave the run going on in the background (`oneshot-tui attach` finds it)."""
        if self.detaching or self.stopping:
            return
        self.detaching = True
        self._main.apply_phase(self._phase())
        self.connection.detach()

    def _stop(self, reason: str) -> None:
        self.stopping = True
        self._main.stopping = True
        self.command("stop", reason=reason)
        self._main.apply_phase(self._phase())

    def action_quit(self) -> None:  # type: ignore[override]  # ctrl+q and the palette's "Quit"
        self.request_quit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own: Quit and Theme (kept across runs: watch_theme) stay; Keys (a panel that
        # squeezes the layout: `?` is ours), Screenshot and Maximize are not this app's.
        for command in super().get_system_commands(screen):
            if command.title not in _TEXTUAL_COMMANDS_LEFT_OUT:
                yield command
        if screen is not self._main:
            return
        # The title is the key's own name (footer, help and palette say the same).
        names = {b.action: b.description for b in MAIN_BINDINGS if isinstance(b, Binding)}
        for help_text, action in (
            ("Stop the selected task with the ladder (i)", "interrupt"),
            ("SIGKILL the selected task's process group (x)", "kill"),
            ("Start the selected task anew; a loop as a new loop (r)", "restart"),
            ("Go on with the selected agent or loop in its session (c)", "continue_task"),
            ("Interrupt every idle task (I)", "interrupt_idle"),
            ("Add a command or an agent task to the run (a)", "add_task"),
            ("Leave the run going on in the background (D)", "detach"),
            ("Show the selected pane full screen (z)", "zoom"),
            ("Select the next failed task (e)", "next_failed"),
            ("List only the tasks in one state, the next at each press (F)", "filter_state"),
            ("The run's summary, once every task has ended (s)", "summary"),
            ("Search the selected task's output (/)", "search"),
            ("The selected loop task's verdicts and feedback (v)", "verdicts"),
            ("What the selected worktree task changed (d)", "diff"),
            ("Past runs, read-only (h)", "history"),
            ("Toggle following the newest output (f)", "follow"),
            ("Wrap long lines, or cut them and scroll sideways (w)", "toggle_wrap"),
            ("Select lines with the keyboard: arrows extend, y copies (V)", "select_lines"),
            ("Copy the selection, else the agent's last result, via OSC 52 (y)", "copy"),
            ("Every key (?)", "help"),
        ):
            title = names[action]
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
    key_latency: Callable[[float], None] | None = None,
) -> OneshotApp:
    """The app on a fresh run of `specs` served on a thread of this process (the clock and run
    id are injectable: tests and screenshots). With an `origin`, the run is recorded."""
    from oneshot_tui.orchestrator.server import ServerThread
    from oneshot_tui.orchestrator.session import RunSession

    session = RunSession(
        specs, settings, data_dir=data_dir, origin=origin, clock=clock, run_id=run_id
    )
    local = ServerThread(session, stay_open=not exit_on_finish)
    local.start()
    if local.error is not None:
        raise local.error
    return OneshotApp(
        local.served,
        data_dir=data_dir,
        handle_signals=handle_signals,
        frame=frame,
        clock=clock,
        local=local,
        key_latency=key_latency,
    )


def print_summary(result: RunResult, out: TextIO) -> None:
    """The same table as the headless summary, after the app has left the screen."""
    lines = summary_lines(result.results)
    lines.append(verdict_line(result.run_id, result.exit_code, result.signal))
    out.write("\n".join(lines) + "\n")
    out.flush()


def run_app(app: OneshotApp) -> int:
    """Run the app until it leaves the run; print what happened; return the exit code."""
    app.run()
    served = app.served
    try:
        if app.detached:
            print(
                f"detached: run {served.run_id} goes on (oneshot-tui attach {served.run_id})",
                file=sys.stderr,
            )
            return ExitCode.OK
        result = app.result
        if result is not None:
            print_summary(result, sys.stderr)
            return result.exit_code
        if app.ended_early:
            print(f"oneshot-tui: {app.ended_early} (see {served.output})", file=sys.stderr)
    except OSError:
        pass  # the terminal is gone: nobody to tell
    return int(app.return_code or ExitCode.FAILED)


def run_tui(served: Served, data_dir: Path, *, owner: bool = True, otel: bool = False) -> int:
    """The TUI on a served run: the one this command started (`owner`), or one it attaches to.
    With `otel`, its key latency goes out as a metric (oneshot-tui[otel], the OTEL_* vars)."""
    metrics = None
    if otel:
        from oneshot_tui.otel.tui_metrics import KeyLatency

        metrics = KeyLatency()
    app = OneshotApp(
        served,
        data_dir=data_dir,
        owner=owner,
        handle_signals=True,
        key_latency=metrics.record if metrics is not None else None,
    )
    try:
        return run_app(app)
    finally:
        if metrics is not None:
            metrics.finish()
