"""What every command shares: the program name, exit-code help, the data dir."""

from __future__ import annotations

from pathlib import Path

PROG = "oneshot-tui"

EXIT_CODES_HELP = """exit codes:
  0    every task completed
  1    a task failed or was interrupted
  2    usage or configuration error (nothing was started)
  129  stopped by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM; every child is gone first
"""


MIN_FREE_BYTES = 4 * 1024 * 1024
"""Less free space than this in the data dir refuses a run: its logs would fail at once."""


def resolve_data_dir(explicit: Path | None) -> Path:
    """The data dir, created user-only and checked writable (and not full) before anything
    starts: a full disk is a clear error now, not a crash mid-run."""
    import os
    import tempfile

    from oneshot_tui.config import ConfigError
    from oneshot_tui.store.paths import default_data_dir, ensure_private_dir

    path = (explicit or default_data_dir()).expanduser()
    try:
        ensure_private_dir(path)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise ConfigError(f"data dir {path} is not writable: {exc.strerror or exc}") from None
    stats = os.statvfs(path)
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        raise ConfigError(f"data dir {path} is full: {free // 1024} KiB free")
    return path
