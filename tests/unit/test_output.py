"""Line splitting: whole lines, nothing lost, long lines in pieces, any chunking gives the same."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from oneshot_tui.runner.output import LineSplitter, LineView, OutputLog


def split_all(chunks: list[bytes], cap: int) -> list[str]:
    splitter = LineSplitter(cap)
    lines: list[str] = []
    for chunk in chunks:
        text, count = splitter.feed(chunk)
        got = text.split("\n") if count else []
        assert len(got) == count
        lines.extend(got)
    text, count = splitter.flush()
    lines.extend(text.split("\n") if count else [])
    return lines


def reference(data: bytes, cap: int) -> list[str]:
    """The obvious, slow model of what the splitter must produce."""
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # a trailing newline ends the last line; it does not start a new one
    out: list[str] = []
    for line in raw_lines:
        pieces = []
        while len(line) > cap:
            cut = cap
            while cut > cap - 3 and (line[cut] & 0xC0) == 0x80:
                cut -= 1
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
        if pieces[-1].endswith(b"\r"):
            pieces[-1] = pieces[-1][:-1]
        out.extend(p.replace(b"\r\n", b"\n").decode("utf-8", "replace") for p in pieces)
    return out


def test_lines_are_whole_across_chunks() -> None:
    assert split_all([b"hel", b"lo\nwor", b"ld\n"], 64) == ["hello", "world"]


def test_crlf_is_folded_and_a_lone_cr_is_kept() -> None:
    assert split_all([b"a\r\nb\r", b"\nc\rd\n"], 64) == ["a", "b", "c\rd"]


def test_the_unfinished_last_line_is_flushed_at_the_end() -> None:
    assert split_all([b"one\ntwo"], 64) == ["one", "two"]


def test_invalid_utf8_is_replaced_for_display() -> None:
    assert split_all([b"ok \xff\xfe end\n"], 64) == ["ok \ufffd\ufffd end"]


def test_a_line_longer_than_the_cap_comes_in_pieces_without_splitting_a_character() -> None:
    euro = "€".encode()  # three bytes
    lines = split_all([b"ab" + euro * 3 + b"\n"], 4)
    assert lines == ["ab", "€", "€", "€"]


def test_a_huge_line_without_newline_keeps_memory_bounded() -> None:
    splitter = LineSplitter(64 * 1024)
    pieces = 0
    for _ in range(160):  # 10 MiB in 64 KiB chunks
        _, count = splitter.feed(b"y" * 65536)
        pieces += count
        assert splitter.pending <= 64 * 1024
    _, count = splitter.flush()
    assert pieces + count == 160


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    cap=st.integers(min_value=4, max_value=40),
)
def test_any_chunking_gives_the_reference_lines(data: bytes, cuts: list[int], cap: int) -> None:
    positions = sorted({c for c in cuts if c <= len(data)})
    chunks = [data[a:b] for a, b in zip([0, *positions], [*positions, len(data)], strict=True)]
    assert split_all(chunks, cap) == reference(data, cap)


def test_line_view_keeps_only_recent_lines() -> None:
    view = LineView(scrollback=100)
    for i in range(50):
        view.add("\n".join(f"{i}-{j}" for j in range(10)), 10)
    lines = view.lines()
    assert len(lines) == 100
    assert lines[-1] == "49-9"
    assert lines[0] == "40-0"
    assert view.total_lines == 500
    assert sum(count for _, count in view._blocks) <= 110


def test_output_log_is_private_and_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    with OutputLog(path) as log:
        log.write(b"\xff\x00raw\r\n")
        log.write(b"more")
    assert path.read_bytes() == b"\xff\x00raw\r\nmore"
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_log_keeps_each_streams_lines_whole() -> None:
    """A warning on stderr waits while stdout has a line open, then goes in between lines."""
    from oneshot_tui.runner.output import StreamMux

    log = bytearray()
    mux = StreamMux(log.extend)
    seen: list[tuple[str, bytes]] = []
    seen += mux.write("stdout", b'{"type": "assistant", ')
    seen += mux.write("stderr", b"warning: deprecated\nand a par")
    seen += mux.write("stdout", b'"x": 1}\n{"type": "user"')
    seen += mux.write("stderr", b"tial line\n")
    seen += mux.write("stdout", b"}\n")
    seen += mux.flush()
    assert bytes(log).splitlines() == [
        b'{"type": "assistant", "x": 1}',
        b"warning: deprecated",
        b'{"type": "user"}',
        b"and a partial line",
    ]
    # Readers see exactly what went to the log, in its order.
    assert b"".join(data for _, data in seen) == bytes(log)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["stdout", "stderr"]), st.binary(max_size=40)), max_size=30)
)
def test_the_log_loses_nothing_and_keeps_each_streams_order(
    writes: list[tuple[str, bytes]],
) -> None:
    from oneshot_tui.runner.output import StreamMux

    log = bytearray()
    mux = StreamMux(log.extend, hold_limit=64)
    seen: list[tuple[str, bytes]] = []
    for stream, data in writes:
        seen += mux.write(stream, data)
    seen += mux.flush()
    assert b"".join(d for _, d in seen) == bytes(log)
    for name in ("stdout", "stderr"):
        wrote = b"".join(d for s, d in writes if s == name)
        assert b"".join(d for s, d in seen if s == name) == wrote
