"""Messages from the user to agent tasks ("also update the docs"): kept, then delivered as the
next turn of the agent's own session.

A message is appended to `RUN_DIR/messages.ndjson` (fsync'd) before anything else happens to it,
so a message that was acknowledged is never lost or cut, whatever happens next. It then waits in
its task's inbox: a task whose turn has ended starts the next turn at once; a running one gets it
when its turn ends (or at once with `now`, which interrupts the turn).
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

MESSAGES_FILE = "messages.ndjson"


@dataclass(frozen=True, slots=True)
class Message:
    message_id: int
    text: str


@dataclass
class Inbox:
    """A task's messages not yet delivered, oldest first."""

    waiting: deque[Message] = field(default_factory=deque)

    def __bool__(self) -> bool:
        return bool(self.waiting)

    def put(self, message: Message) -> None:
        self.waiting.append(message)

    def take(self) -> list[Message]:
        """Every waiting message (delivered together, as one turn)."""
        messages = list(self.waiting)
        self.waiting.clear()
        return messages


def store(run_dir: Path, task_id: str, message: Message, ts: float) -> None:
    """Keep the message on disk, durably, before it is acknowledged."""
    line = json.dumps(
        {"ts": ts, "task": task_id, "id": message.message_id, "text": message.text},
        ensure_ascii=False,
    )
    fd = os.open(run_dir / MESSAGES_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        data = (line + "\n").encode("utf-8", "surrogateescape")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def joined(messages: list[Message]) -> str:
    """What the agent is told in its next turn: the messages, in the order they were sent."""
    return "\n\n".join(m.text for m in messages)
