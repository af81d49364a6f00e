"""Text from outside (task names, reasons, commands) made safe to print on one line.

A task name is the user's, or a file's, or a peer's over the control socket: it may hold a
newline or an escape sequence (`\\e]2;TITLE\\a` retitles the terminal). Wherever we show one,
on stdout, stderr or in the TUI, control and other unprintable characters are shown escaped,
the way Python writes them in a string (`\\x1b`, `\\n`), and a name stays on its line.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    """`text` with every unprintable character escaped (`\\n`, `\\x1b`, `\\u202e`); printable
    text, the common case, is returned as it is. Idempotent: escaped text is printable."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
