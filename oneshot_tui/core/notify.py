"""Notifications: what is worth telling a user who is not looking, and the terminal's ways of
saying it.

Two moments notify: a task needs its user (an `attention` mark), and the whole run ended. Never a
line of output. Four notifiers: `bell` (BEL, which tmux and every terminal show), `osc` (OSC 9
and OSC 777, which iTerm2, kitty, WezTerm, foot, Windows Terminal and others turn into desktop
notifications; wrapped for tmux so it passes them on), `desktop` (`notify-send`, where installed)
and `command` (the user's `notify_command`, the alert as JSON on its stdin). By default only the
bell rings, and only when a task needs you.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from oneshot_tui.core.events import AttentionChanged, RunFinished
from oneshot_tui.core.record import record
from oneshot_tui.core.spec import NOTIFIERS

__all__ = ["NOTIFIERS", "Alert", "alert_for", "terminal_sequence", "wanted"]
TERMINAL_NOTIFIERS = frozenset({"bell", "osc"})
"""Those written to the terminal: by whoever owns it (the TUI, or a headless run on a tty)."""
DEFAULT_NOTIFY: tuple[str, ...] = ("bell",)
"""With no `notify` setting: the bell, and only when a task needs you."""

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f;]")
"""Controls could end the sequence early; `;` separates OSC 777's fields."""


@record
class Alert:
    """One notification: a task needs you (`attention`), or the run ended (`finished`)."""

    kind: str
    run_id: str
    ts: float
    title: str
    body: str
    task: str | None = None
    exit_code: int | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "event": self.kind,
                "run": self.run_id,
                "ts": self.ts,
                "task": self.task,
                "title": self.title,
                "body": self.body,
                "exit_code": self.exit_code,
            }
        )


def alert_for(event: object, run_id: str) -> Alert | None:
    """The alert an event is worth, if any."""
    if isinstance(event, AttentionChanged) and event.needed:
        title = f"{event.task_id} needs you"
        return Alert("attention", run_id, event.ts, title, event.reason, task=event.task_id)
    if isinstance(event, RunFinished):
        failed = sum(1 for r in event.results if r.state == "failed")
        body = f"exit {event.exit_code}" + (f", {failed} failed" if failed else "")
        return Alert(
            "finished", run_id, event.ts, f"run {run_id} ended", body, exit_code=event.exit_code
        )
    return None


def wanted(alert: Alert, notifier: str, configured: Sequence[str] | None) -> bool:
    """Does `notifier` speak for this alert? Unset: only the bell, only for attention."""
    if configured is None:
        return notifier in DEFAULT_NOTIFY and alert.kind == "attention"
    return notifier in configured


def terminal_sequence(
    alert: Alert, configured: Sequence[str] | None, env: Mapping[str, str]
) -> str:
    """What to write to the terminal for this alert ("" for nothing). Inside tmux, OSC goes in
    a DCS passthrough (tmux drops unknown OSC otherwise; `allow-passthrough` must be on)."""
    out = ""
    if wanted(alert, "bell", configured):
        out += "\a"
    if wanted(alert, "osc", configured):
        title, body = _clean(alert.title), _clean(alert.body)
        osc = f"\x1b]9;{title}: {body}\x07\x1b]777;notify;{title};{body}\x07"
        if env.get("TMUX"):
            osc = "\x1bPtmux;" + osc.replace("\x1b", "\x1b\x1b") + "\x1b\\"
        out += osc
    return out


def _clean(text: str, limit: int = 200) -> str:
    return _UNPRINTABLE.sub(" ", text)[:limit]
