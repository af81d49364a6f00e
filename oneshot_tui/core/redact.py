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
        self.add(secrets)

    @classmethod
    def from_env(cls, *envs: Mapping[str, str]) -> Redactor:
        return cls(value for env in envs for name, value in env.items() if is_secret_name(name))

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
        self.add(value for name, value in env.items() if is_secret_name(name))

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

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """An environment for display or storage: secret-named values hidden."""
        return {k: (REDACTED if is_secret_name(k) else self.text(v)) for k, v in env.items()}
