"""How many terminal cells a string takes: wide (East Asian) characters take two, combining marks
and zero-width characters none. For plain-text tables outside the UI, which may not import Rich
(`ui` measures with Rich's `cell_len`)."""

from __future__ import annotations

import unicodedata


def cell_width(text: str) -> int:
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `width` cells (on the left when `right`-aligned)."""
    fill = " " * max(width - cell_width(text), 0)
    return fill + text if right else text + fill
