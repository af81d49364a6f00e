"""The data directory and the files of a run: `DATA_DIR/runs/RUN_ID/TASK[.N].log`, and worktree
tasks' checkouts in `DATA_DIR/worktrees/RUN_ID/TASK`."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from oneshot_tui.core.exit_codes import UsageError

ENV_HOME = "ONESHOT_TUI_HOME"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_data_dir() -> Path:
    """`$ONESHOT_TUI_HOME`, else the user data dir (e.g. ~/.local/share/oneshot-tui)."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    from oneshot_tui.core.userdirs import user_dir

    return user_dir("data")


def ensure_private_dir(path: Path) -> Path:
    """Create a directory, and any missing parents, readable by the user only.

    `mkdir(parents=True, mode=...)` applies the mode to the last directory only; the parents it
    creates would get the umask's default (often world-readable).
    """
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    return path


def new_run_id(now: float | None = None, random_bytes: int = 2) -> str:
    """Sortable by time, unique enough to type a short prefix: 20261129-061502-3fa9."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{stamp}-{os.urandom(random_bytes).hex()}"  # secrets.token_hex, without its import


def run_dir(data_dir: Path, run_id: str) -> Path:
    return data_dir / "runs" / run_id


SHORT_ID_TRIES = 8
"""Ids taken in a row before a run's id gets 32 random bits instead of 16."""


def create_run_dir(data_dir: Path, now: float) -> tuple[str, Path]:
    """A new run's id and its directory, made by this call and no other: the id is a directory
    that did not exist (`mkdir` without exist_ok is atomic, so two runs started in the same
    second with the same 16 random bits cannot share logs and a history row); on a collision
    another id is tried."""
    runs = ensure_private_dir(data_dir / "runs")
    for attempt in range(64):
        run_id = new_run_id(now, 2 if attempt < SHORT_ID_TRIES else 4)
        path = runs / run_id
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return run_id, path
    raise FileExistsError(f"no free run id in {runs} after 64 tries")


def worktrees_root(data_dir: Path) -> Path:
    """Where every worktree task's checkout lives; nothing else is ever removed from here."""
    return data_dir / "worktrees"


def worktree_dir(data_dir: Path, run_id: str, stem: str) -> Path:
    """A worktree task's checkout (`stem` is the task's unique file stem in its run)."""
    return worktrees_root(data_dir) / run_id / stem


def safe_file_stem(name: str) -> str:
    """A file name made from a task name: unsafe characters become '_', and a stem never ends
    in `.N` (that is how a later attempt's log is named: `x.2` gets `x_2`)."""
    stem = _UNSAFE.sub("_", name).strip("._")[:80].rstrip("._")
    return _ATTEMPT_LIKE.sub(r"_\1", stem) or "task"


_ATTEMPT_LIKE = re.compile(r"\.([0-9]+)$")


def log_file_name(stem: str, attempt: int) -> str:
    """`STEM.log`, then `STEM.N.log` for attempt N. No two (stem, attempt) pairs share a name:
    stems are unique in a run and never end in `.N`, so the last `.N` before `.log` is always
    the attempt's."""
    return f"{stem}.log" if attempt <= 1 else f"{stem}.{attempt}.log"


def history_db_path(data_dir: Path) -> Path:
    """The run history (SQLite), shared by every run that uses this data dir."""
    return data_dir / "history.db"


MIN_FREE_BYTES = 4 * 1024 * 1024
"""Less free space than this in the data dir refuses a run: its logs would fail at once."""


class DataDirError(UsageError):
    """The data dir cannot take a run (not writable, full): nothing was started."""


def prepare_data_dir(explicit: Path | None) -> Path:
    """The data dir, created user-only and checked writable (and not full) before anything
    starts: a full disk is a clear error now, not a crash mid-run."""
    path = (explicit or default_data_dir()).expanduser()
    try:
        ensure_private_dir(path)
        # A file made and removed, as tempfile would (importing tempfile costs every run ~2 ms).
        probe = path / f".write-check-{os.getpid()}-{os.urandom(4).hex()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise DataDirError(f"data dir {path} is not writable: {exc.strerror or exc}") from None
    stats = os.statvfs(path)
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        raise DataDirError(f"data dir {path} is full: {free // 1024} KiB free")
    return path
