"""Task output is shown with its colours, and nothing in it can drive our terminal."""

from __future__ import annotations

import pytest
from rich.color import Color

from oneshot_tui.ui.ansi import last_segment, plain, sanitize, to_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b]0;evil title\x07after", "after"),  # window title (BEL)
        ("\x1b]2;title\x1b\\after", "after"),  # window title (ST)
        ("\x1b]52;c;ZXZpbA==\x07copied?", "copied?"),  # OSC 52 clipboard write
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlink
        ("\x1b[?1049hALT\x1b[?1049l", "ALT"),  # alternate screen
        ("\x1b[2J\x1b[H\x1b[10;5Hmoved", "moved"),  # clear screen, cursor moves
        ("\x1b[2Kerased", "erased"),
        ("\x1bcreset", "reset"),  # RIS (full reset)
        ("\x1b(0lqk\x1b(B", "lqk"),  # charset switch
        ("\x1bP1$qm\x1b\\dcs", "dcs"),  # DCS string
        ("bell\x07 back\x08space", "bell backspace"),
        ("c1 \x9b31m csi", "c1 31m csi"),  # a one-byte CSI must not survive
        ("unterminated \x1b]0;title", "unterminated "),
        ("lone \x1b", "lone "),
        ("10%\r20%\r30%", "30%"),
        ("done\r", "done"),
    ],
)
def test_every_control_but_sgr_is_removed(raw: str, shown: str) -> None:
    assert plain(raw) == shown
    clean = sanitize(raw)
    assert "\x1b" not in clean.replace("\x1b[", "")  # only CSI starts remain ...
    assert all(seq.endswith("m") for seq in clean.split("\x1b[")[1:] if seq)  # ... and SGR only
    rendered = to_text(raw)
    assert rendered.plain == shown
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in rendered.plain)


def test_sgr_colours_become_styles_not_raw_codes() -> None:
    text = to_text(
        "\x1b[1;31mred bold\x1b[0m plain \x1b[38;5;208morange\x1b[0m \x1b[38;2;1;2;3mrgb"
    )
    assert text.plain == "red bold plain orange rgb"
    styles = {text.plain[span.start : span.end]: span.style for span in text.spans}
    red = styles["red bold"]
    assert not isinstance(red, str) and red.bold and red.color == Color.from_ansi(1)
    orange = styles["orange"]
    assert not isinstance(orange, str) and orange.color == Color.from_ansi(208)
    rgb = styles["rgb"]
    assert not isinstance(rgb, str) and rgb.color is not None
    assert rgb.color.triplet is not None and tuple(rgb.color.triplet) == (1, 2, 3)


def test_sgr_survives_next_to_stripped_sequences() -> None:
    assert sanitize("\x1b]0;t\x07\x1b[32mok\x1b[0m\x07") == "\x1b[32mok\x1b[0m"


def test_tabs_are_expanded() -> None:
    assert to_text("a\tb").plain == "a       b"
    assert plain("\x1b[1ma\x1b[0m\tb") == "a       b"


def test_last_segment_of_a_progress_line() -> None:
    assert last_segment("no carriage return") == "no carriage return"
    assert last_segment("a\rb\r") == "b"
    assert last_segment("\r\r") == ""
