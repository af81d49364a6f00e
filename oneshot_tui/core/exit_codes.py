"""The exit codes of every command, in one place (documented in the README)."""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every task completed."""
    FAILED = 1
    """Some task failed or was interrupted (or, for `oneshot`, the auditor never said DONE)."""
    USAGE = 2
    """A usage or configuration error: nothing was started."""
    SIGHUP = 128 + signal.SIGHUP
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM
