"""The data directory and the files of a run: `DATA_DIR/runs/RUN_ID/TASK[.N].log`, and worktree
tasks' checkouts in `DATA_DIR/worktrees/RUN_ID/TASK`."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

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


def new_run_id(now: float | None = None) -> str:
    """Sortable by time, unique enough to type a short prefix: 20261129-061502-3fa9."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{stamp}-{os.urandom(2).hex()}"  # secrets.token_hex(2), without importing secrets


def run_dir(data_dir: Path, run_id: str) -> Path:
    return data_dir / "runs" / run_id


def worktrees_root(data_dir: Path) -> Path:
    """Where every worktree task's checkout lives; nothing else is ever removed from here."""
    return data_dir / "worktrees"


def worktree_dir(data_dir: Path, run_id: str, stem: str) -> Path:
    """A worktree task's checkout (`stem` is the task's unique file stem in its run)."""
    return worktrees_root(data_dir) / run_id / stem


def safe_file_stem(name: str) -> str:
    """A file name made from a task name: unsafe characters become '_'."""
    stem = _UNSAFE.sub("_", name).strip("._")[:80]
    return stem or "task"


def log_file_name(stem: str, attempt: int) -> str:
    return f"{stem}.log" if attempt <= 1 else f"{stem}.{attempt}.log"


def history_db_path(data_dir: Path) -> Path:
    """The run history (SQLite), shared by every run that uses this data dir."""
    return data_dir / "history.db"
