"""What a run records about itself as it starts: how it was started, and the states a run can be
in. Apart from the rest of the history's data (history_data.py, which re-exports these) so that
starting a run does not build the readers' record types."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from oneshot_tui.core.record import record


class RunStatus:
    LIVE = "live"
    """Its process is running it (or was, until a crash not yet noticed)."""
    FINISHED = "finished"
    LOST = "lost"
    """Its process died without finishing it (SIGKILL, power loss)."""


LOST_REASON = "lost"
"""The reason given to tasks that were unfinished when their run was lost."""


@record
class RunOrigin:
    """How a run was started, as the command line knows it (recorded with the run)."""

    argv: tuple[str, ...] = ()
    cwd: str = ""
    task_file: str | None = None
    task_file_sha256: str | None = None
    rerun_of: str | None = None

    @classmethod
    def of(
        cls,
        argv: Sequence[str] = (),
        task_file: Path | None = None,
        task_file_text: str | None = None,
        rerun_of: str | None = None,
    ) -> RunOrigin:
        """The origin of a run started now, from here, of this task file (as it was read)."""
        return cls(
            argv=tuple(argv),
            cwd=os.getcwd(),
            task_file=str(task_file.resolve()) if task_file is not None else None,
            task_file_sha256=digest(task_file_text) if task_file_text is not None else None,
            rerun_of=rerun_of,
        )


def digest(text: str) -> str:
    import hashlib  # only for a run of a task file

    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
