"""The exit codes of every command, and the signals that stop a run, in one place (documented in
the README)."""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every task completed."""
    FAILED = 1
    """Some task failed or was interrupted (or, for `oneshot`, the auditor never said DONE); or a
    headless run could not write its stdout or stderr (the run itself went on to its end)."""
    USAGE = 2
    """A usage or configuration error: nothing was started."""
    SIGHUP = 128 + signal.SIGHUP
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM
    SIGPIPE = 128 + signal.SIGPIPE
    """A command whose stdout's reader went away (`| head`) stopped quietly, as SIGPIPE stops a
    program that does not ignore it."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What other processes send to stop a run gracefully (a second one kills every task at once)."""


def for_signal(signum: int) -> int:
    """128 + N: how a run stopped by signal N exits."""
    return 128 + signum


class UsageError(Exception):
    """A usage or configuration problem found before anything started: exit 2, said in one line
    (a config error with its file and line, a backend that cannot be had)."""


def exit_code_for(error: BaseException) -> ExitCode:
    """The one mapping from what ended a command to its exit code."""
    if isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        return exit_code_for(error.exceptions[0])
    if isinstance(error, UsageError):
        return ExitCode.USAGE
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.SIGINT
    return ExitCode.FAILED


def usage_error(error: BaseException) -> UsageError | None:
    """The usage error behind `error` (an exception group of one, as task groups raise), if any."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error if isinstance(error, UsageError) else None
