"""Opening `history.db` and writing to it in short transactions that wait for other writers.

Several oneshot-tui processes may share one data dir. SQLite in WAL mode lets readers go on while
one connection writes; every write here is a short `BEGIN IMMEDIATE` transaction (the write lock is
taken up front, so two writers never deadlock upgrading a read), SQLite's busy handler waits for
the lock, and a transaction that still finds it busy is tried again.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

BUSY_TIMEOUT = 5.0
"""Seconds SQLite waits for another connection's lock before reporting "database is locked"."""
WRITE_TRIES = 6
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_FULL = 13


class HistoryError(Exception):
    """The history database cannot be used; the message says why, for a person."""


def is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def is_full(exc: sqlite3.Error) -> bool:
    """The disk (or the database's size limit) is full: space may come back."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF == _SQLITE_FULL
    return "disk is full" in str(exc)


def explain(path: Path, exc: BaseException) -> str:
    """A sentence a person can act on, for an error met while using the history file."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return f"{path} is damaged ({text}); move it aside to start a new history"
    if isinstance(exc, sqlite3.Error) and is_busy(exc):
        return f"{path} stayed locked by another oneshot-tui ({text})"
    if isinstance(exc, OSError):
        return f"cannot open {path}: {exc.strerror or exc}"
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return f"cannot open {path} ({text}): check that it is a file you may read and write"
    return f"{path}: {text}"


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open the history file (WAL, busy timeout, foreign keys) or raise HistoryError.

    The connection is in autocommit mode: callers group writes with `write_transaction`. It may
    be used from another thread, one thread at a time (the recorder's worker thread).
    """
    try:
        if create:
            # Created user-only; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        elif not path.exists():
            raise HistoryError(f"{path} does not exist")
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except OSError as exc:
        raise HistoryError(explain(path, exc)) from None
    except sqlite3.Error as exc:
        raise HistoryError(explain(path, exc)) from None
    try:
        with_retries(lambda: _configure(conn))
    except sqlite3.Error as exc:
        conn.close()
        raise HistoryError(explain(path, exc)) from None
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL").fetchone()
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a process crash loses nothing
    conn.execute("PRAGMA foreign_keys = ON")


def with_retries(fn: Callable[[], T], tries: int = WRITE_TRIES) -> T:
    """Call `fn`, again after a short pause while SQLite reports the database busy."""
    for attempt in range(tries):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def write_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn` in one `BEGIN IMMEDIATE` transaction, tried again while the database is busy.

    `fn` may run more than once, so it must not change anything outside the database.
    """

    def once() -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    return with_retries(once)
