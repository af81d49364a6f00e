"""The summary table of a run (headless, and after the TUI): the log directory once, and columns
aligned by terminal cells."""

from __future__ import annotations

from oneshot_tui.core.events import TaskResult
from oneshot_tui.core.report import cell_width, summary_lines
from oneshot_tui.core.states import TaskState


def result(name: str, log: str, state: TaskState = TaskState.COMPLETED) -> TaskResult:
    return TaskResult(name, state, 0 if state is TaskState.COMPLETED else 1, None, 1, 2.0, log)


def test_the_log_directory_is_printed_once_and_rows_fit_80_columns() -> None:
    logs = "/home/someone/.local/share/oneshot-tui/runs/20260101-120000-abcd"
    results = [result(f"task-{n}", f"{logs}/task-{n}.log") for n in range(30)]
    lines = summary_lines(results)
    assert lines[-1] == f"logs in {logs}/"
    rows = lines[1:-1]
    assert len(rows) == 30 and all(len(row) <= 80 for row in rows)
    assert rows[0].split()[-1] == "task-0.log"


def test_logs_in_different_directories_keep_their_paths() -> None:
    lines = summary_lines([result("a", "/one/a.log"), result("b", "/two/b.log")])
    assert lines[1].endswith("/one/a.log") and lines[2].endswith("/two/b.log")
    assert not any(line.startswith("logs in") for line in lines)


def test_a_wide_emoji_in_a_name_does_not_shift_its_row() -> None:
    assert cell_width("🚀") == 2 and cell_width("ビルド") == 6 and cell_width("e\u0301") == 1
    lines = summary_lines([result("🚀-deploy", "/l/a.log"), result("lint", "/l/b.log")])
    # The STATE column starts at the same cell on every row.
    starts = [cell_width(line[: line.index("completed")]) for line in lines[1:3]]
    assert starts[0] == starts[1]
    assert cell_width(lines[0][: lines[0].index("STATE")]) == starts[0]
