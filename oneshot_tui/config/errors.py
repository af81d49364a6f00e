"""Configuration errors that name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

from oneshot_tui.core.exit_codes import UsageError


class ConfigError(UsageError):
    """A problem in a task file, a config file or a flag, said the way a person can fix it."""

    def __init__(
        self, message: str, *, path: Path | str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"
