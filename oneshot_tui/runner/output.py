"""Lossless output: the raw log file, incremental line splitting, and a bounded recent view.

Every chunk goes to the log file first, byte for byte, before anything else looks at it. Display
lines are derived from the same bytes: split at newlines (never in the middle of a line), `\\r\\n`
folded to `\\n`, invalid UTF-8 replaced, and a line longer than the cap shown as several pieces
(the file keeps it whole).
"""

from __future__ import annotations

import os
import re
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

DEFAULT_LINE_CAP = 64 * 1024


class OutputLog:
    """An append-only raw log file, created user-only (0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        st = os.fstat(self._fd)
        self._identity = (st.st_dev, st.st_ino)

    def vanished(self) -> bool:
        """Whether `path` no longer names the file written (deleted, or its directory or the
        whole data dir was): writes to an unlinked file succeed and keep nothing anyone can read."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False  # unreadable for another reason: not known to be gone
        return (st.st_dev, st.st_ino) != self._identity

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"log {self.path} is closed")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


HOLD_LIMIT = 1024 * 1024
"""Bytes of a side stream held back, waiting for the main stream to end its line, before they
are written anyway (a main stream that never ends its line must not hold them forever)."""


class StreamMux:
    """Several streams into one log, each stream's lines kept whole.

    The first stream to write is the main one (stdout, or a PTY) and is never held back: its
    bytes go to the log at once. A side stream's (stderr's) bytes wait in memory until they make
    whole lines and the main stream has no line open in the log, then go in between its lines.
    So a warning never lands inside a JSON line and the log can be parsed again. `write` returns
    what went to the log, in order: readers must look at those chunks only, so every byte is in
    the log before anything else happens to it.
    """

    def __init__(self, write: Callable[[bytes], None], hold_limit: int = HOLD_LIMIT) -> None:
        self._write = write
        self._hold_limit = hold_limit
        self._main: str | None = None
        self._open = False
        """The main stream's last written byte was not a newline."""
        self._held: dict[str, bytearray] = {}

    def write(self, stream: str, data: bytes) -> list[tuple[str, bytes]]:
        if self._main is None:
            self._main = stream
        out: list[tuple[str, bytes]] = []
        if stream == self._main:
            end = data.rfind(b"\n")
            if end >= 0 and self._held:
                self._emit(stream, data[: end + 1], out)
                self._open = False
                self._release(out, whole_lines=True)
                data = data[end + 1 :]
            if data:
                self._emit(stream, data, out)
                self._open = not data.endswith(b"\n")
            return out
        held = self._held.setdefault(stream, bytearray())
        held += data
        if not self._open or len(held) > self._hold_limit:
            self._release(out, whole_lines=len(held) <= self._hold_limit, only=stream)
        return out

    def flush(self) -> list[tuple[str, bytes]]:
        """At the end: whatever is still held, as it is."""
        out: list[tuple[str, bytes]] = []
        self._release(out, whole_lines=False)
        return out

    def _release(
        self, out: list[tuple[str, bytes]], *, whole_lines: bool, only: str | None = None
    ) -> None:
        for stream in [only] if only is not None else list(self._held):
            held = self._held.get(stream)
            if not held:
                continue
            cut = held.rfind(b"\n") + 1 if whole_lines else len(held)
            if cut <= 0:
                continue
            chunk = bytes(held[:cut])
            del held[:cut]
            if not held:
                del self._held[stream]
            self._emit(stream, chunk, out)

    def _emit(self, stream: str, data: bytes, out: list[tuple[str, bytes]]) -> None:
        self._write(data)
        out.append((stream, data))


def _utf8_safe_cut(data: bytes, at: int) -> int:
    """Move a cut position back so it does not split a UTF-8 sequence (at most 3 bytes back)."""
    cut = at
    while cut > at - 3 and cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else at


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def _fold_crlf(block: bytes) -> bytes:
    """Whole lines joined by \n: CRLF line ends become LF (a PTY writes CRLF)."""
    if b"\r" not in block:
        return block
    return _strip_cr(block.replace(b"\r\n", b"\n"))


_NOT_PRINTED = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|[\x00-\x1f\x7f]"
)
"""Escape sequences and control characters: what a terminal does not print as text."""


def prompt_text(pending: bytes, limit: int = 80) -> str:
    """An unfinished line as a prompt's text (`Proceed? [y/N]`), escapes and controls removed,
    or "" when there is none; a line rewritten with `\\r` (a progress bar) is not a prompt."""
    if not pending or b"\r" in pending:
        return ""
    text = _NOT_PRINTED.sub(b"", pending[-4 * limit :]).decode("utf-8", "replace")
    return text.strip()[-limit:]


class PromptTail:
    """The bytes after a stream's last newline, bounded: a PTY task's prompt, where a terminal
    emulator (not a splitter) takes its bytes."""

    def __init__(self, keep: int = 1024) -> None:
        self._keep = keep
        self._tail = b""

    def feed(self, data: bytes, limit: int = 80) -> str:
        end = data.rfind(b"\n")
        self._tail = data[end + 1 :] if end != -1 else (self._tail + data)
        self._tail = self._tail[-self._keep :]
        return prompt_text(self._tail, limit)


class LineSplitter:
    """Turns a byte stream into display lines, incrementally.

    `feed` returns the lines completed by a chunk as `(text, count)`: the lines joined by "\\n".
    Working on whole blocks keeps the per-line cost in C (split, replace, decode), which is what
    lets one core carry a million lines a second.
    """

    def __init__(self, cap: int = DEFAULT_LINE_CAP) -> None:
        if cap < 4:
            raise ValueError("line cap must be at least 4 bytes")
        self.cap = cap
        self._pending = b""

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held back."""
        return len(self._pending)

    def prompt(self, limit: int = 80) -> str:
        """The unfinished line as a prompt's text (see `prompt_text`)."""
        return prompt_text(self._pending, limit)

    def unfinished(self) -> str:
        """The line being written (no newline yet), decoded, as a terminal would show it now."""
        if not self._pending:
            return ""
        return latest_state(_strip_cr(self._pending).decode("utf-8", "replace"))

    def feed(self, data: bytes) -> tuple[str, int]:
        buf = self._pending + data if self._pending else data
        end = buf.rfind(b"\n")
        pieces: list[bytes] = []
        if end == -1:
            self._pending = buf
        else:
            self._pending = buf[end + 1 :]
            block = buf[:end]
            if self._may_hold_a_long_line(block):
                lines = block.split(b"\n")
                if max(map(len, lines)) > self.cap:
                    for line in lines:
                        cut = self._cut(line)
                        cut[-1] = _strip_cr(cut[-1])
                        pieces.extend(cut)
                else:
                    pieces.append(_fold_crlf(block))
            else:
                pieces.append(_fold_crlf(block))
        if len(self._pending) > self.cap:
            # Pieces of a line still going on: never a line end, so a trailing \r stays.
            rest = self._pending
            while len(rest) > self.cap:
                cut_at = _utf8_safe_cut(rest, self.cap)
                pieces.append(rest[:cut_at])
                rest = rest[cut_at:]
            self._pending = rest
        return self._render(pieces)

    def flush(self) -> tuple[str, int]:
        """At end of stream: the unfinished last line, if any, as a line of its own."""
        rest, self._pending = self._pending, b""
        return self._render([_strip_cr(rest)] if rest else [])

    def _may_hold_a_long_line(self, block: bytes) -> bool:
        """A cheap test before the exact one: a line longer than the cap must contain a whole
        aligned window of cap/2 bytes with no newline in it."""
        if len(block) <= self.cap:
            return False
        window = self.cap // 2
        find = block.find
        return any(find(b"\n", i, i + window) == -1 for i in range(0, len(block) - window, window))

    def _cut(self, line: bytes) -> list[bytes]:
        out = []
        while len(line) > self.cap:
            cut = _utf8_safe_cut(line, self.cap)
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
        return out

    @staticmethod
    def _render(pieces: list[bytes]) -> tuple[str, int]:
        if not pieces:
            return "", 0
        block = pieces[0] if len(pieces) == 1 else b"\n".join(pieces)
        return block.decode("utf-8", "replace"), block.count(b"\n") + 1


DEFAULT_VIEW_BYTES = 4 * 1024 * 1024
"""Memory a task's recent lines may take by default (`scrollback_bytes`): lines can be 64 KiB
long (a `\\r` progress loop without a newline makes nothing else), so a bound in lines alone is
no bound on memory."""


def latest_state(line: str) -> str:
    """What a terminal finally shows of a line rewritten with `\\r` (a progress bar): the text
    after the last carriage return that is followed by something."""
    if "\r" not in line:
        return line
    for segment in reversed(line.split("\r")):
        if segment:
            return segment
    return ""


class LineView:
    """The most recent lines of a task, bounded to roughly `scrollback` lines and `max_bytes`
    bytes of memory, whichever is reached first (the newest block is always kept).

    Stores the blocks as they arrive (one append per chunk) and splits them only when read, so a
    task nobody looks at costs almost nothing.
    """

    def __init__(self, scrollback: int, max_bytes: int = DEFAULT_VIEW_BYTES) -> None:
        self.scrollback = scrollback
        self.max_bytes = max_bytes
        self._blocks: deque[tuple[str, int]] = deque()
        self._count = 0
        self._bytes = 0
        self.total_lines = 0

    @property
    def bytes_held(self) -> int:
        """Memory the kept text takes (its strings' sizes, as Python stores them)."""
        return self._bytes

    def add(self, text: str, count: int) -> None:
        if count == 0:
            return
        self._blocks.append((text, count))
        self._count += count
        self._bytes += sys.getsizeof(text)
        self.total_lines += count
        blocks = self._blocks
        while blocks and (
            self._count - blocks[0][1] >= self.scrollback
            or (self._bytes > self.max_bytes and len(blocks) > 1)
        ):
            dropped_text, dropped = blocks.popleft()
            self._count -= dropped
            self._bytes -= sys.getsizeof(dropped_text)

    def lines(self) -> list[str]:
        out: list[str] = []
        for text, _ in self._blocks:
            out.extend(text.split("\n"))
        return out[-self.scrollback :] if self.scrollback else []
