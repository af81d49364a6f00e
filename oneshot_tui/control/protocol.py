"""The control protocol of a live run (docs/protocol.md): newline-delimited JSON over a Unix socket
in the run's directory. The server speaks first (`hello`); a client sends commands
`{"cmd": ..., "id": N, ...}` and gets one reply each (`{"reply": N, "ok": ...}`); after `subscribe`
the same connection also carries events, in the wire schema of `core/wire.py`.

This module is shared by the server (orchestrator/control_server.py) and every client; it imports
nothing but the standard library.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1
"""Bumped on a change an old client could misread; additions (commands, events, keys) keep it."""

SOCKET_NAME = "control.sock"
MAX_LINE = 1 << 20
"""The longest line a server reads (1 MiB): a client sending more is told so and dropped."""
SUN_PATH_MAX = 107
"""Bytes of a Unix socket path the kernel takes (108 with the NUL)."""


SERVER_OUTPUT = "server.out"
"""A forked server's stdout and stderr, in its run dir (never `*.log`: those are the tasks')."""


@dataclass(frozen=True, slots=True)
class Served:
    """A run being served: where to reach it."""

    run_id: str
    pid: int
    log_dir: Path

    @property
    def socket(self) -> Path:
        return socket_path(self.log_dir)

    @property
    def output(self) -> Path:
        """What a forked server printed (a crash's traceback)."""
        return self.log_dir / SERVER_OUTPUT


class ProtocolError(Exception):
    """The other side broke the protocol (not JSON, a line too long, an unexpected reply)."""


def socket_path(run_dir: Path) -> Path:
    return run_dir / SOCKET_NAME


@contextmanager
def reachable(path: Path) -> Iterator[str]:
    """A path the kernel accepts for `path`'s socket: itself, or for a path too long for a Unix
    socket address, the same file through an `O_PATH` descriptor of its directory
    (`/proc/self/fd/N/control.sock`), valid while the block runs."""
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def line(obj: Mapping[str, Any]) -> bytes:
    """One protocol line."""
    return (_dumps(obj) + "\n").encode("utf-8", "surrogateescape")


def parse(raw: bytes) -> dict[str, Any]:
    """One received line as an object; ProtocolError if it is not one."""
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("not a JSON object")
    return obj
