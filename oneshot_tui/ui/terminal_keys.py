"""Keys as a terminal sends them: what input mode types into a PTY task for each key pressed."""

from __future__ import annotations

LEAVE_KEY = "ctrl+a"
"""Leaves input mode (as in mprocs): the one key a task in input mode never gets."""

_SEQUENCES = {
    "enter": "\r",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "backspace": "\x7f",
    "escape": "\x1b",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "insert": "\x1b[2~",
    "delete": "\x1b[3~",
    "pageup": "\x1b[5~",
    "pagedown": "\x1b[6~",
    **{f"f{n}": f"\x1bO{c}" for n, c in zip(range(1, 5), "PQRS", strict=True)},
}


def key_bytes(key: str, character: str | None) -> str:
    """What a terminal sends for a key ("" for one it would not send anything for)."""
    sequence = _SEQUENCES.get(key)
    if sequence is not None:
        return sequence
    if character:
        return character  # printable text, and ctrl+letter as its control character
    return ""
