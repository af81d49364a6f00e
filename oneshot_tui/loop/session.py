"""A loop's files under the data dir: an atomic state file and an NDJSON activity log.

`DATA_DIR/oneshot/<ID>/state.json` is rewritten (temp file + rename) after every completed step,
so a crash leaves either the old or the new state, never half of one. `activity.ndjson` gets one
line per agent activity: `{ts, oneshot_id, role, iteration, activity}`.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oneshot_tui.loop.policy import LoopState, LoopStatus


class SessionError(Exception):
    """A session that cannot be found or resumed; the message says why."""


def new_oneshot_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(2)}"


def sessions_dir(data_dir: Path) -> Path:
    return data_dir / "oneshot"


@dataclass
class LoopSession:
    directory: Path
    extra_log: Path | None = None
    """Another file that gets every activity line too (the original's `--session-log`)."""

    def also_log_to(self, path: str | Path) -> None:
        self.extra_log = Path(path).expanduser()

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    @property
    def activity_path(self) -> Path:
        return self.directory / "activity.ndjson"

    @classmethod
    def create(cls, data_dir: Path, state: LoopState) -> LoopSession:
        directory = sessions_dir(data_dir) / state.oneshot_id
        directory.mkdir(mode=0o700, parents=True, exist_ok=False)
        session = cls(directory)
        session.save(state)
        return session

    def save(self, state: LoopState, **extra: Any) -> None:
        """Write the state atomically: a crash leaves the old file or the new one."""
        payload = {**state.to_json(), **extra, "saved_at": time.time()}
        tmp = self.state_path.with_name(f".state.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)

    def load(self) -> LoopState:
        try:
            data = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            raise SessionError(f"no state file in {self.directory}") from None
        except (OSError, ValueError) as exc:
            raise SessionError(f"cannot read {self.state_path}: {exc}") from None
        return LoopState.from_json(data)

    def saved_settings(self) -> dict[str, Any]:
        """What the loop ran with (executors, models, cwd), as saved beside its state."""
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError) as exc:
            raise SessionError(f"cannot read {self.state_path}: {exc}") from None
        settings = data.get("settings")
        return settings if isinstance(settings, dict) else {}

    def saved_owner(self) -> dict[str, Any]:
        """Which run last ran the loop ({run, task, attempt}), as saved beside its state."""
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        owner = data.get("owner")
        return owner if isinstance(owner, dict) else {}

    def log_activity(self, state: LoopState, role: str, activity: dict[str, Any]) -> None:
        line = {
            "ts": round(time.time(), 3),
            "oneshot_id": state.oneshot_id,
            "role": role,
            "iteration": state.iteration,
            "activity": activity,
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        for path in (self.activity_path, self.extra_log):
            if path is None:
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as f:
                f.write(text)


def find_session(data_dir: Path, which: str) -> LoopSession:
    """`last`, a full id, or a unique prefix of one."""
    root = sessions_dir(data_dir)
    ids = (
        sorted(p.name for p in root.iterdir() if (p / "state.json").exists())
        if root.is_dir()
        else []
    )
    if not ids:
        raise SessionError(f"no oneshot sessions in {root}")
    if which in ("", "last"):
        # Ids sort by their start second; loops started in the same second by when they were.
        newest = ids[-1][:15]
        same = [i for i in ids if i[:15] == newest]
        latest = max(same, key=lambda i: (root / i / "state.json").stat().st_ctime_ns)
        return LoopSession(root / latest)
    matches = [i for i in ids if i.startswith(which)]
    if not matches:
        raise SessionError(f"no oneshot session matches {which!r}")
    if len(matches) > 1 and which not in matches:
        raise SessionError(f"{which!r} is ambiguous: {', '.join(matches[:5])}")
    return LoopSession(root / (which if which in matches else matches[0]))


def reopen(state: LoopState, force: bool) -> None:
    """Make a saved loop runnable again from its last completed step.

    An interrupted or crashed loop simply continues. A completed one is refused unless forced;
    forced, it runs one more worker iteration. A failed one goes on from where it failed: a
    crashed step runs again; after a final verdict, the worker gets one more iteration.
    """
    if state.status is LoopStatus.COMPLETED and not force:
        raise SessionError(
            f"oneshot {state.oneshot_id} already completed ({state.reason}); "
            "use --force to run it again"
        )
    if state.status in (LoopStatus.COMPLETED, LoopStatus.FAILED):
        judged = [v for v in state.verdicts if v.well_formed and v.iteration == state.iteration]
        audited = bool(judged) and state.verdicts[-1].well_formed
        if audited:  # the last completed step was a verdict: the worker goes again
            state.feedback = judged[-1].feedback or state.reason
            state.iteration += 1
            state.worker_result = None
        # Otherwise a step crashed, or the auditor could not be read: it runs again (the
        # auditor if the worker had finished), asked afresh.
        state.max_iterations = max(state.max_iterations, state.iteration)
    state.reminders = 0
    state.status = LoopStatus.RUNNING
    state.reason = ""
