"""The stream redactor against every way a stream can be cut."""

from __future__ import annotations

from oneshot_tui.core.redact import REDACTED, Redactor

SECRETS = ("sk-abcdefgh0123", "sk-abcdefgh", "hunter2-longer", "xxxxyyyyzz")


def _through(redactor: Redactor, chunks: list[bytes]) -> bytes:
    stream = redactor.stream()
    return b"".join(stream.feed(c) for c in chunks) + stream.flush()


def test_every_single_cut_gives_the_same_result_as_no_cut() -> None:
    redactor = Redactor(SECRETS)
    data = (
        b"a sk-abcdefgh0123 b sk-abcdefgh! hunter2-longer sk-abc xxxxxxxyyyyzz "
        b"sk-abcdefgh0123sk-abcdefgh0123 end sk-abcdefgh012"
    )
    whole = _through(redactor, [data])
    assert whole == (
        b"a [R] b [R]! [R] sk-abc xxx[R] [R][R] end [R]012".replace(b"[R]", REDACTED.encode())
    )
    for i in range(len(data) + 1):
        assert _through(redactor, [data[:i], data[i:]]) == whole, i
    for i in range(0, len(data) + 1, 3):
        for j in range(i, len(data) + 1, 5):
            assert _through(redactor, [data[:i], data[i:j], data[j:]]) == whole, (i, j)


def test_one_byte_at_a_time_never_lets_a_secret_through() -> None:
    redactor = Redactor(SECRETS)
    data = b"key=sk-abcdefgh0123\nother=hunter2-longer\n"
    out = _through(redactor, [data[i : i + 1] for i in range(len(data))])
    assert out == b"key=[REDACTED]\nother=[REDACTED]\n"


def test_only_a_possible_start_of_a_secret_is_held() -> None:
    stream = Redactor(SECRETS).stream()
    assert stream.feed(b"Password: ") == b"Password: "
    assert stream.held == 0
    assert stream.feed(b"token sk-abc") == b"token "
    assert stream.held == len(b"sk-abc")
    assert stream.feed(b"!") == b"sk-abc!"
    assert stream.held == 0


def test_secrets_added_later_are_found_by_a_stream_made_before() -> None:
    redactor = Redactor()
    stream = redactor.stream()
    assert stream.feed(b"before hunter2-") == b"before hunter2-"
    redactor.add(["hunter2-longer"])
    assert stream.feed(b"x hunter2-") == b"x "
    assert stream.feed(b"longer\n") + stream.flush() == REDACTED.encode() + b"\n"
