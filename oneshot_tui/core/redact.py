"""Keeping secrets out of everything we write: logs, displayed lines, NDJSON, history, titles.

A secret is the value of an environment variable whose name contains KEY, TOKEN, SECRET or
PASSWORD (from our own environment or a task's `env`), or a value a config names as a secret
(an API key). Values shorter than 8 characters are left alone: redacting "1" or "true" would
mangle output and protect nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


class Redactor:
    """Replaces known secret values with [REDACTED], in text and in raw bytes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._texts: list[str] = []
        self._bytes: list[bytes] = []
        self._compiled: tuple[list[bytes], re.Pattern[bytes]] | None = None
        self._names: dict[str, str] = {}
        """Secret value -> the variable it came from, for what we store (`stored`)."""
        self.add(secrets)

    @classmethod
    def from_env(cls, *envs: Mapping[str, str]) -> Redactor:
        redactor = cls()
        for env in envs:
            redactor.add_env(env)
        return redactor

    def add(self, secrets: Iterable[str]) -> None:
        known = set(self._texts)
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH and secret not in known:
                known.add(secret)
                self._texts.append(secret)
        # Longest first, so a secret that contains another is replaced whole.
        self._texts.sort(key=len, reverse=True)
        self._bytes = [s.encode("utf-8", "surrogateescape") for s in self._texts]

    def add_env(self, env: Mapping[str, str]) -> None:
        secrets = {name: value for name, value in env.items() if is_secret_name(name)}
        for name, value in secrets.items():
            self._names.setdefault(value, name)
        self.add(secrets.values())

    def __bool__(self) -> bool:
        return bool(self._texts)

    def text(self, value: str) -> str:
        for secret in self._texts:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        for secret in self._bytes:
            if secret in value:
                value = value.replace(secret, REDACTED.encode())
        return value

    def stored(self, value: str) -> str:
        """Text to store (history): each secret named by the variable it came from, as
        `[REDACTED:NAME]`, so a rerun can take the value back from the environment
        (`restore_named`)."""
        for secret in self._texts:
            if secret in value:
                name = self._names.get(secret)
                value = value.replace(secret, f"[REDACTED:{name}]" if name else REDACTED)
        return value

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """An environment for display or storage: secret-named values hidden."""
        return {k: (REDACTED if is_secret_name(k) else self.text(v)) for k, v in env.items()}

    def stream(self) -> StreamRedactor:
        """A redactor for one byte stream read in chunks (it sees the secrets added later)."""
        return StreamRedactor(self)

    def _pattern(self) -> re.Pattern[bytes]:
        if self._compiled is None or self._compiled[0] is not self._bytes:
            # Longest first: at each position the longest secret that matches wins.
            alternatives = b"|".join(re.escape(s) for s in self._bytes)
            self._compiled = (self._bytes, re.compile(alternatives))
        return self._compiled[1]


class StreamRedactor:
    """Redacts a byte stream that arrives cut anywhere: a secret split across two reads is found.

    Whole secrets in what has arrived are replaced at once; then the shortest tail that could
    still be the start of a secret (at most the longest secret's length - 1 bytes) is held back
    until the next chunk, or `flush` at the end. Only such a tail waits: output that cannot start
    a secret, a prompt without a newline included, goes on at once.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._tail = b""

    @property
    def held(self) -> int:
        """Bytes held back, waiting to see whether they start a secret."""
        return len(self._tail)

    def feed(self, data: bytes) -> bytes:
        secrets = self._redactor._bytes
        if not secrets:
            out, self._tail = self._tail + data, b""
            return out
        buf = self._tail + data if self._tail else data
        replacement = REDACTED.encode()
        pieces: list[bytes] = []
        start = 0
        held = _unfinished_secret_start(buf, 0, secrets)
        if any(s in buf for s in secrets):
            for match in self._redactor._pattern().finditer(buf):
                if match.start() >= held:
                    break  # may be the start of a longer secret still to come: it waits whole
                pieces.append(buf[start : match.start()])
                pieces.append(replacement)
                start = match.end()
        cut = held if held >= start else _unfinished_secret_start(buf, start, secrets)
        pieces.append(buf[start:cut])
        self._tail = buf[cut:]
        return b"".join(pieces)

    def flush(self) -> bytes:
        """At the end of the stream: the held tail, with the secrets it holds whole replaced."""
        tail, self._tail = self._tail, b""
        if not tail or not self._redactor._bytes:
            return tail
        return self._redactor._pattern().sub(REDACTED.encode(), tail)


_NAMED = re.compile(r"\[REDACTED:([A-Za-z_][A-Za-z0-9_]*)\]")


class MissingSecret(ValueError):
    """Stored text held a secret that history does not keep, and the environment lacks it."""


def restore_named(value: str, environ: Mapping[str, str], where: str) -> str:
    """Stored text back as it was: each `[REDACTED:NAME]` (see `Redactor.stored`) becomes the
    value of NAME in `environ`; MissingSecret, naming the variable, when it is not set."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise MissingSecret(
                f"{where}: it holds the value of {name}, a secret history does not keep; "
                f"set {name} in the environment to rerun"
            )
        return environ[name]

    return _NAMED.sub(value_of, value) if "[REDACTED:" in value else value


def _unfinished_secret_start(buf: bytes, start: int, secrets: list[bytes]) -> int:
    """Where the longest tail of `buf[start:]` that is the beginning of a secret begins
    (`len(buf)` if there is none)."""
    cut = len(buf)
    for secret in secrets:
        window_start = max(start, len(buf) - len(secret) + 1)
        first = secret[:1]
        at = buf.find(first, window_start)
        while at != -1 and at < cut:
            if buf.startswith(secret[: len(buf) - at], at):  # buf[at:] begins the secret
                cut = at
                break
            at = buf.find(first, at + 1)
    return cut
