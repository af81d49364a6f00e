"""The README's table of keys is the help screen's table."""

from __future__ import annotations

from pathlib import Path

from oneshot_tui.ui.keys import HELP_ROWS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_key_as_the_help_screen_does() -> None:
    text = README.read_text()
    for keys, what in HELP_ROWS:
        assert f"| `{keys}` | {what} |" in text
