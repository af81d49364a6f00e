"""Fuzzing the pane's escape handling (`oneshot_tui/ui/ansi.py`) with hypothesis: random bytes and
strings never raise, never leave an escape other than SGR, and the visible text around any mix of
escape sequences is kept, character for character."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from oneshot_tui.ui.ansi import plain, sanitize, to_text
from oneshot_tui.ui.buffer import LineBuffer

SGR = re.compile(r"\x1b\[[0-9;:]*m")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

# Text a person sees: printable characters (any script, wide ones too), spaces and tabs.
visible = st.text(
    st.characters(
        exclude_categories=("Cc", "Cs"),  # no controls, no lone surrogates
        include_characters="\t",
    ),
    max_size=30,
)
params = st.lists(st.integers(0, 400).map(str), max_size=4).map(";".join)
payload = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
# Complete escape sequences of every kind the filter knows, as programs write them.
sequences = st.one_of(
    params.map(lambda p: f"\x1b[{p}m"),  # SGR: kept
    st.tuples(st.sampled_from(["", "?", ">"]), params, st.sampled_from("ABCDEFGHJKSTfhlnrsu")).map(
        lambda t: f"\x1b[{t[0]}{t[1]}{t[2]}"
    ),  # cursor moves, erases, modes (alternate screen: ?1049h), scroll regions
    st.tuples(st.sampled_from(["0", "2", "8", "52;c", "1337"]), payload).map(
        lambda t: f"\x1b]{t[0]};{t[1].replace(chr(0x1B), '')}\x07"
    ),  # OSC with BEL: titles, links, clipboard
    payload.map(lambda p: f"\x1b]2;{p}\x1b\\"),  # OSC with ST
    payload.map(lambda p: f"\x1bP{p}\x1b\\"),  # DCS
    st.sampled_from(["\x1bc", "\x1b7", "\x1b8", "\x1b(B", "\x1b=", "\x1b>", "\x1bM", "\x1bD"]),
)


def assert_safe(shown: str) -> None:
    """Only SGR sequences may contain an ESC; no other control character is left."""
    rest = SGR.sub("", shown)
    assert "\x1b" not in rest
    assert not CONTROL.search(rest), repr(rest)


@given(st.binary(max_size=300))
@settings(max_examples=400)
def test_random_bytes_never_raise_and_leave_only_sgr(data: bytes) -> None:
    for line in data.decode("utf-8", "replace").split("\n"):
        assert_safe(sanitize(line))
        text = to_text(line)
        assert "\x1b" not in text.plain and not CONTROL.search(text.plain)
        assert "\x1b" not in plain(line)


@given(st.text(max_size=300))
@settings(max_examples=400)
def test_random_strings_never_raise_and_leave_only_sgr(line: str) -> None:
    assert_safe(sanitize(line))
    assert "\x1b" not in to_text(line).plain
    buffer = LineBuffer(100)
    buffer.append(line.split("\n"))  # the pane's store takes anything too
    assert len(buffer) == line.count("\n") + 1


@given(st.lists(st.one_of(visible, sequences), max_size=12))
@settings(max_examples=400)
def test_the_visible_text_around_escape_sequences_is_kept(pieces: list[str]) -> None:
    line = "".join(pieces)
    expected = "".join(p for p in pieces if not p.startswith("\x1b"))
    assert_safe(sanitize(line))
    # Tabs expand by cells, as a terminal draws them (a wide character is two cells).
    expanded = Text(expected)
    expanded.expand_tabs(8)
    assert plain(line) == expanded.plain
    assert to_text(line).plain == expanded.plain
