"""What every command shares: the program name and the exit-code help."""

from __future__ import annotations

PROG = "oneshot-tui"

EXIT_CODES_HELP = """exit codes:
  0    every task completed
  1    a task failed or was interrupted
  2    usage or configuration error (nothing was started)
  129  stopped by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM; every child is gone first
"""
