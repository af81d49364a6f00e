"""Making task output safe and pretty for a pane: SGR colours kept, every other control dropped.

A task's bytes must never drive the terminal we draw on. Window titles, cursor moves, the alternate
screen, OSC 52 clipboard writes, bells and stray C1 controls are removed; only SGR sequences
(colours and text attributes) survive, and those are turned into Rich styles, never written raw.
"""

from __future__ import annotations

import re

from rich.ansi import AnsiDecoder
from rich.text import Text

from oneshot_tui.runner.output import latest_state

last_segment = latest_state
"""What a terminal finally shows of a `\\r`-rewritten line (a progress bar): the one rule the
engine's live lines use too (runner/output.py)."""

# Every escape sequence we know how to skip over, longest forms first. A string sequence (OSC,
# DCS, SOS, PM, APC) may be cut by the end of the line: then the rest of the line is dropped.
_ESCAPE = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                     # CSI ... final byte (SGR ends in "m")
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)          # OSC ... BEL or ST (titles, links, OSC 52)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\|$)               # DCS / SOS / PM / APC strings
    | \x1b[ -/]*[0-~]                              # two-byte and nF escapes (charset, RIS, ...)
    | \x1b                                         # a lone ESC
    """,
    re.VERBOSE,
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
# C0 controls other than TAB, DEL and the C1 range (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _keep_sgr(match: re.Match[str]) -> str:
    seq = match.group()
    return seq if _SGR.fullmatch(seq) else ""


def sanitize(line: str) -> str:
    """The line with SGR sequences kept and every other escape or control character removed."""
    if not _CONTROL.search(line):
        return line
    line = last_segment(line)
    if "\x1b" in line:
        # Split around the SGR sequences we keep so the control filter cannot touch their ESC.
        line = _ESCAPE.sub(_keep_sgr, line)
        parts = _SGR.split(line)
        seqs = _SGR.findall(line)
        out = [_CONTROL.sub("", parts[0])]
        for seq, part in zip(seqs, parts[1:], strict=True):
            out.append(seq)
            out.append(_CONTROL.sub("", part))
        return "".join(out)
    return _CONTROL.sub("", line)


def plain(line: str) -> str:
    """The visible characters only (for search and widths), tabs expanded the way the pane
    draws them: by cells, so a wide character before a tab counts two (str.expandtabs counts
    one, and search columns would drift from the screen)."""
    visible = _SGR.sub("", sanitize(line))
    if "\t" not in visible:
        return visible
    text = Text(visible)
    text.expand_tabs(8)
    return text.plain


def to_text(line: str) -> Text:
    """A Rich Text for one stored line: colours from SGR, tabs expanded, nothing else."""
    clean = sanitize(line)
    # A new decoder per line: colour state does not leak between lines rendered out of order.
    text = AnsiDecoder().decode_line(clean) if "\x1b" in clean else Text(clean)
    text.no_wrap = True
    if "\t" in text.plain:
        text.expand_tabs(8)
    return text
